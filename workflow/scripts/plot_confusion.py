"""Snakemake adapter: the confusion matrix of one condition's predictions (acom.plots)."""

import pandas as pd

from acom.logs import log_to_file
from acom.plots import plot_confusion
from acom.report import class_names

with log_to_file(snakemake.log[0]) as log:
    predictions = pd.read_parquet(snakemake.input.predictions)
    names = class_names(pd.read_parquet(snakemake.input.manifest))
    w = snakemake.wildcards
    title = f"{w.model} / {w.classifier} / {w.train_condition}: filter {w.filter}, codec {w.codec}"
    plot_confusion(predictions["target"].to_numpy(), predictions["predicted"].to_numpy(), names, title,
                   snakemake.params.stem)
    log.info("%s: accuracy %.4f over %d clips", title, predictions["correct"].mean(), len(predictions))
