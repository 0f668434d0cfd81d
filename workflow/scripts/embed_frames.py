"""Snakemake adapter: frame embeddings of every fold of soundscapes under one condition (acom.embed)."""

import time

from acom.embed import embed_clip_frames, load_model, model_metadata
from acom.io import read_parquet, write_parquet
from acom.logs import log_to_file
from acom.models import MODELS
from acom.runtime import configure_torch

with log_to_file(snakemake.log[0]) as log:
    params, name = snakemake.params.model, snakemake.wildcards.model
    # A model computing on one core (MFCC's numpy) embeds batches side by side on the job's threads and
    # never loads torch; a torch network spreads each batch over them.
    clip_threads = MODELS[params["type"]].clip_threads
    if not clip_threads:
        configure_torch(snakemake.threads)
    workers = snakemake.threads if clip_threads else 1
    model = load_model(params, dict(snakemake.input.items()), cache_dir=snakemake.params.cache_dir, name=name)
    for fold, path in zip(snakemake.params.folds, snakemake.output.frames, strict=True):
        clips = read_parquet(snakemake.input[f"manifest{fold}"])
        start = time.perf_counter()
        table, hop_seconds = embed_clip_frames(model, clips, batch_size=params.get("batch_size", 16), workers=workers,
                                               shifts=snakemake.params.shifts)
        elapsed = time.perf_counter() - start
        metadata = {**model_metadata(model, name, params), "frame_dim": int(model.frame_dim),
                    "hop_seconds": hop_seconds}
        write_parquet(table, path, metadata=metadata)
        log.info("%s fold %s: %d soundscapes, %d frames of %.3f s, in %.1f s", name, fold, len(table),
                 int(table["n_frames"].sum()), hop_seconds, elapsed)
