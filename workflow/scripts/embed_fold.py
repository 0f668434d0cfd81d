"""Snakemake adapter: embed one fold of one condition with one model (acom.embed, acom.models)."""

import time

import pandas as pd

from acom.embed import embed_clips, load_model, model_metadata
from acom.io import write_parquet
from acom.logs import log_to_file
from acom.runtime import configure_torch

with log_to_file(snakemake.log[0]) as log:
    configure_torch(snakemake.threads)
    params, name = snakemake.params.model, snakemake.wildcards.model
    model = load_model(params, dict(snakemake.input.items()), cache_dir=snakemake.params.cache_dir, name=name)
    clips = pd.read_parquet(snakemake.input.manifest)
    start = time.perf_counter()
    table = embed_clips(model, clips, batch_size=params.get("batch_size", 16), top_k=params.get("top_k", 5))
    elapsed = time.perf_counter() - start
    write_parquet(table, snakemake.output.embeddings, metadata=model_metadata(model, name, params))
    log.info("%s: %d clips in %.1f s (%.1f clips/s)", name, len(table), elapsed, len(table) / max(elapsed, 1e-9))
