"""Snakemake adapter: multi-label heads and a source counter per fold, fit on one training condition,
and every condition they score (acom.classification.multilabel)."""

import pandas as pd

from acom.classification.multilabel import (
    fit_fold_heads,
    score_fold_heads,
    task_classes,
    with_item_labels,
)
from acom.classification.protocol import tag_condition
from acom.io import read_parquet, write_parquet
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    p, w = snakemake.params, snakemake.wildcards
    manifest = read_parquet(snakemake.input.manifest)
    classes = task_classes(manifest)
    train = {f: with_item_labels(read_parquet(snakemake.input[f"train{f}"]), manifest) for f in p.folds}
    heads = fit_fold_heads(train, classes, p.classifier, seed=p.seed, training_folds=p.training_folds)
    log.info("thresholds chosen on the training folds: %s", {f: h.threshold for f, h in heads.items()})
    for i, ((protocol, filter_name, codec), kbps) in enumerate(zip(p.scored, p.nominal_kbps, strict=True)):
        test = {f: with_item_labels(read_parquet(snakemake.input[f"test{i}_{f}"]), manifest) for f in p.folds}
        predictions, metrics = score_fold_heads(heads, test, classes)
        # Actual kbps of the scored items only (pitch-shifted training copies are not scored).
        audio = pd.concat([read_parquet(snakemake.input[f"audio{i}_{f}"]) for f in p.folds])
        condition = {"model": w.model, "classifier": w.classifier, "train_condition": protocol, "filter": filter_name,
                     "codec": codec, "nominal_kbps": kbps}
        predictions, metrics = tag_condition(predictions, metrics, audio, condition)
        write_parquet(predictions, snakemake.output.predictions[i])
        write_parquet(metrics, snakemake.output.metrics[i])
        log.info("%s %s/%s: mAP per fold %s", protocol, filter_name, codec,
                 dict(zip(metrics["fold"], metrics["map"].round(4))))
