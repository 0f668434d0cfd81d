"""Snakemake adapter: per-fold classifiers fit on one training condition, and every condition they
score (acom.classification.protocol)."""

import pandas as pd

from acom.classification.protocol import fit_fold_classifiers, predict_folds, tag_condition
from acom.io import read_parquet, write_parquet
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    p, w = snakemake.params, snakemake.wildcards
    train = {f: read_parquet(snakemake.input[f"train{f}"]) for f in p.folds}
    classifiers = fit_fold_classifiers(train, p.classifier, seed=p.seed)
    for i, ((protocol, filter_name, codec), kbps) in enumerate(zip(p.scored, p.nominal_kbps, strict=True)):
        test = {f: read_parquet(snakemake.input[f"test{i}_{f}"]) for f in p.folds}
        predictions, metrics = predict_folds(classifiers, test)
        audio = pd.concat([read_parquet(snakemake.input[f"audio{i}_{f}"]) for f in p.folds])
        condition = {"model": w.model, "classifier": w.classifier, "train_condition": protocol, "filter": filter_name,
                     "codec": codec, "nominal_kbps": kbps}
        predictions, metrics = tag_condition(predictions, metrics, audio, condition)
        write_parquet(predictions, snakemake.output.predictions[i])
        write_parquet(metrics, snakemake.output.metrics[i])
        log.info("%s %s/%s: accuracy per fold %s", protocol, filter_name, codec,
                 dict(zip(metrics["fold"], metrics["accuracy"].round(4))))
