"""Snakemake adapter: code one model's embeddings under one feature condition, every test fold with a
quantiser fit on the other folds (acom.features)."""

import numpy as np
from threadpoolctl import threadpool_limits

from acom.embed import embedding_matrix
from acom.features.stage import clip_durations, fit_fold_quantizer, quantization_error, quantize_fold
from acom.io import atomic_output, read_parquet, write_parquet
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log, threadpool_limits(snakemake.threads):  # k-means on the job's threads
    p = snakemake.params
    clean = {fold: read_parquet(snakemake.input[f"clean{fold}"]) for fold in p.folds}
    durations = clip_durations(read_parquet(snakemake.input.manifest))
    for i, fold in enumerate(p.folds):
        quantizer = fit_fold_quantizer(clean, fold, p.feature, p.budget, seed=p.seed)
        table, rates = quantize_fold(clean[fold], quantizer, durations)
        write_parquet(table, snakemake.output.embeddings[i])
        write_parquet(rates, snakemake.output.rates[i])
        with atomic_output(snakemake.output.codebooks[i]) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **quantizer.arrays())
        log.info("%s fold %d: %d bits per clip (%.4f kbps), relative error %.4f", snakemake.wildcards.codec, fold,
                 quantizer.bits_per_vector, rates["actual_kbps"].mean(),
                 quantization_error(embedding_matrix(clean[fold]), embedding_matrix(table)))
