"""Snakemake adapter: a multi-label task's per-fold table, its summary and one rate-mAP plot per
model, classifier and training condition (acom.classification.multilabel, acom.report.plots)."""

import os

import pandas as pd

from acom.classification.multilabel import MULTILABEL_PER_FOLD_COLUMNS, summarize_multilabel
from acom.io import read_parquet, write_csv
from acom.logs import log_to_file
from acom.report.plots import plot_rate_accuracy

with log_to_file(snakemake.log[0]) as log:
    per_fold = pd.concat([read_parquet(path) for path in snakemake.input.metrics], ignore_index=True)
    per_fold = per_fold[MULTILABEL_PER_FOLD_COLUMNS].sort_values(MULTILABEL_PER_FOLD_COLUMNS[:7]).reset_index(drop=True)
    write_csv(per_fold, snakemake.output.per_fold)
    summary = summarize_multilabel(per_fold)
    write_csv(summary, snakemake.output.summary)
    for (model, classifier, train), png in zip(snakemake.params.plots, snakemake.output.plots, strict=True):
        plot_rate_accuracy(summary, model, classifier, train, os.path.splitext(png)[0], metric="map")
    log.info("summary:\n%s", summary.to_string())
