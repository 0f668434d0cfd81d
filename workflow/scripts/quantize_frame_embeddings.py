"""Snakemake adapter: code one model's soundscape frame embeddings under one feature condition, frame
by frame, every test fold with a quantiser fit on the other folds' frames (acom.features)."""

import numpy as np
from threadpoolctl import threadpool_limits

from acom.embed import pool_factor
from acom.features.stage import clip_durations, fit_fold_quantizer, quantize_frames
from acom.io import atomic_output, read_parquet, read_parquet_metadata, write_parquet
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log, threadpool_limits(snakemake.threads):  # k-means on the job's threads
    p = snakemake.params
    clean = {fold: read_parquet(snakemake.input[f"clean{fold}"]) for fold in p.folds}
    durations = clip_durations(read_parquet(snakemake.input.manifest))
    # What is sent is what the SED head sees: frames finer than sed.min_hop_s averaged to it first.
    pool = pool_factor(read_parquet_metadata(snakemake.input[f"clean{p.folds[0]}"])["hop_seconds"], p.min_hop_s)
    for i, fold in enumerate(p.folds):
        quantizer = fit_fold_quantizer(clean, fold, p.feature, p.budget, seed=p.seed, frames=True, pool=pool,
                                       max_train_vectors=p.max_train_vectors)
        table, rates = quantize_frames(clean[fold], quantizer, durations, pool=pool)
        # The frame hop and model metadata travel with the frames (the SED head reads the hop).
        write_parquet(table, snakemake.output.frames[i], metadata=read_parquet_metadata(snakemake.input[f"clean{fold}"]))
        write_parquet(rates, snakemake.output.rates[i])
        with atomic_output(snakemake.output.codebooks[i]) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **quantizer.arrays())
        log.info("%s fold %d: %d bits per frame (frames pooled by %d), %.4f kbps", snakemake.wildcards.codec, fold,
                 quantizer.bits_per_vector, pool, rates["actual_kbps"].mean())
