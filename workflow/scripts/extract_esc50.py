"""Snakemake adapter: unpack the official ESC-50 archive (acom.data.esc50)."""

from acom.data.esc50 import extract_archive
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    root = extract_archive(snakemake.input.archive, snakemake.output.root)
    log.info("extracted %s to %s", snakemake.params.url, root)
