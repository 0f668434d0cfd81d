"""Snakemake adapter: download an official EnCodec checkpoint and verify it (acom.codecs)."""

import os

from acom.codecs.encodec import fetch_checkpoint
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    path = fetch_checkpoint(snakemake.params.codec, os.path.dirname(snakemake.output[0]))
    log.info("saved %s", path)
