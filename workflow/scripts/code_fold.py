"""Snakemake adapter: code one fold under one codec condition (acom.coding, acom.codecs)."""

import pandas as pd
import torch

from acom.codecs import build_codec
from acom.coding import code_fold
from acom.io import write_parquet
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    torch.set_num_threads(snakemake.threads)
    params = dict(snakemake.params.codec)
    if "weights" in snakemake.input.keys():  # the checkpoint the workflow downloaded
        params["weights"] = snakemake.input.weights
    codec = build_codec(params, snakemake.params.nominal_kbps, cache_dir=snakemake.params.cache_dir,
                        full_codes_dir=snakemake.input.get("full_codes"))
    clips = pd.read_parquet(snakemake.input.manifest)
    table = code_fold(clips, codec, condition=snakemake.wildcards.codec, nominal_kbps=snakemake.params.nominal_kbps,
                      out_dir=snakemake.output.audio, batch_size=params.get("batch_size", 16))
    write_parquet(table, snakemake.output.manifest)
