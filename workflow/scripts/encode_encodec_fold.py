"""Snakemake adapter: encode one fold once at EnCodec's highest bandwidth (acom.coding)."""

import pandas as pd

from acom.codecs import codec_downloads, load_codec_model
from acom.coding import encode_fold_full_bandwidth
from acom.download import with_downloaded_files
from acom.logs import log_to_file
from acom.runtime import configure_torch

with log_to_file(snakemake.log[0]) as log:
    configure_torch(snakemake.threads)
    params = with_downloaded_files(snakemake.params.codec, codec_downloads(snakemake.params.codec),
                                   dict(snakemake.input.items()))
    model = load_codec_model(params, cache_dir=snakemake.params.cache_dir)
    clips = pd.read_parquet(snakemake.input.manifest)
    n = encode_fold_full_bandwidth(clips, model, name=params["type"], out_dir=snakemake.output.codes,
                                   batch_size=params.get("batch_size", 8))
    log.info("%s: %d clips encoded at the highest bandwidth", snakemake.wildcards.encoder, n)
