"""Snakemake adapter: frame embeddings of one fold of soundscapes under one condition (acom.embed)."""

import time

import pandas as pd

from acom.embed import embed_clip_frames, load_model, model_metadata
from acom.io import write_parquet
from acom.logs import log_to_file
from acom.runtime import configure_torch

with log_to_file(snakemake.log[0]) as log:
    configure_torch(snakemake.threads)
    params, name = snakemake.params.model, snakemake.wildcards.model
    model = load_model(params, dict(snakemake.input.items()), cache_dir=snakemake.params.cache_dir, name=name)
    clips = pd.read_parquet(snakemake.input.manifest)
    start = time.perf_counter()
    table, hop_seconds = embed_clip_frames(model, clips, batch_size=params.get("batch_size", 16))
    elapsed = time.perf_counter() - start
    metadata = {**model_metadata(model, name, params), "frame_dim": int(model.frame_dim), "hop_seconds": hop_seconds}
    write_parquet(table, snakemake.output.frames, metadata=metadata)
    log.info("%s: %d soundscapes, %d frames of %.3f s, in %.1f s", name, len(table), int(table["n_frames"].sum()),
             hop_seconds, elapsed)
