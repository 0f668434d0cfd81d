"""Snakemake adapter: a multi-label task's per-fold table, its summary and one rate-mAP plot per
model, classifier and training condition (acom.classification.multilabel, acom.report.plots)."""

import os

import pandas as pd

from acom.classification.multilabel import (
    MULTILABEL_PER_FOLD_COLUMNS,
    SOURCE_RECALL_COLUMNS,
    source_recall_by_level,
    summarize_multilabel,
)
from acom.io import read_parquet, write_csv
from acom.logs import log_to_file
from acom.report.plots import plot_rate_accuracy

with log_to_file(snakemake.log[0]) as log:
    per_fold = pd.concat([read_parquet(path) for path in snakemake.input.metrics], ignore_index=True)
    per_fold = per_fold[MULTILABEL_PER_FOLD_COLUMNS].sort_values(MULTILABEL_PER_FOLD_COLUMNS[:7]).reset_index(drop=True)
    write_csv(per_fold, snakemake.output.per_fold)
    summary = summarize_multilabel(per_fold)
    write_csv(summary, snakemake.output.summary)
    # Louder- and quieter-source recall per level-difference bin, per condition (mixtures only).
    keys = MULTILABEL_PER_FOLD_COLUMNS[:6]
    recalls = [source_recall_by_level(predictions, snakemake.params.level_edges).assign(
        **predictions[keys].iloc[0].to_dict()) for predictions in map(read_parquet, snakemake.input.predictions)]
    write_csv(pd.concat(recalls, ignore_index=True)[SOURCE_RECALL_COLUMNS], snakemake.output.source_recall)
    for (model, classifier, train), png in zip(snakemake.params.plots, snakemake.output.plots, strict=True):
        plot_rate_accuracy(summary, model, classifier, train, os.path.splitext(png)[0], metric="map")
    log.info("summary:\n%s", summary.to_string())
