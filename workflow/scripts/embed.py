"""Snakemake adapter: embed every fold of one condition with one model (acom.embed, acom.models)."""

import time

from acom.embed import embed_clips, load_model, model_metadata
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
    metadata = model_metadata(model, name, params)
    for fold, path in zip(snakemake.params.folds, snakemake.output.embeddings, strict=True):
        clips = read_parquet(snakemake.input[f"manifest{fold}"])
        start = time.perf_counter()
        table = embed_clips(model, clips, batch_size=params.get("batch_size", 16), top_k=params.get("top_k", 5),
                            workers=workers)
        elapsed = time.perf_counter() - start
        write_parquet(table, path, metadata=metadata)
        log.info("%s fold %s: %d clips in %.1f s (%.1f clips/s)", name, fold, len(table), elapsed,
                 len(table) / max(elapsed, 1e-9))
