"""Snakemake adapter: per-fold classification of one condition (acom.classification.protocol)."""

import pandas as pd

from acom.classification.protocol import evaluate_folds
from acom.io import write_parquet
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    folds = snakemake.params.folds
    train = {f: pd.read_parquet(snakemake.input[f"train{f}"]) for f in folds}
    test = {f: pd.read_parquet(snakemake.input[f"test{f}"]) for f in folds}
    predictions, metrics = evaluate_folds(train, test, snakemake.params.classifier, seed=snakemake.params.seed)
    audio = pd.concat([pd.read_parquet(snakemake.input[f"audio{f}"]) for f in folds])
    kbps = audio.groupby("fold")["actual_kbps"].mean()
    w = snakemake.wildcards
    condition = {
        "model": w.model, "classifier": w.classifier, "train_condition": w.train_condition,
        "filter": w.filter, "codec": w.codec, "nominal_kbps": snakemake.params.nominal_kbps,
    }
    metrics = metrics.assign(**condition, actual_kbps=metrics["fold"].map(kbps))
    predictions = predictions.assign(**condition)
    write_parquet(predictions, snakemake.output.predictions)
    write_parquet(metrics, snakemake.output.metrics)
    log.info("accuracy per fold: %s", dict(zip(metrics["fold"], metrics["accuracy"].round(4))))
