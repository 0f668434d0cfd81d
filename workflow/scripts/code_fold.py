"""Snakemake adapter: code one fold under one codec condition (acom.coding, acom.codecs)."""

import pandas as pd

from acom.codecs import build_codec, codec_downloads
from acom.coding import code_fold
from acom.download import with_downloaded_files
from acom.io import write_parquet
from acom.logs import log_to_file
from acom.runtime import configure_torch

with log_to_file(snakemake.log[0]) as log:
    configure_torch(snakemake.threads)
    params = with_downloaded_files(snakemake.params.codec, codec_downloads(snakemake.params.codec),
                                   dict(snakemake.input.items()))
    codec = build_codec(params, snakemake.params.nominal_kbps, cache_dir=snakemake.params.cache_dir,
                        full_codes_dir=snakemake.input.get("full_codes"))
    clips = pd.read_parquet(snakemake.input.manifest)
    table = code_fold(clips, codec, condition=snakemake.wildcards.codec, nominal_kbps=snakemake.params.nominal_kbps,
                      out_dir=snakemake.output.audio, batch_size=params.get("batch_size", 16))
    write_parquet(table, snakemake.output.manifest)
