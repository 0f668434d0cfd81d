"""Snakemake adapter: the mask predictor's held-out quality averaged over folds (acom.roi.predictor)."""

import pandas as pd

from acom.io import read_parquet, write_csv
from acom.logs import log_to_file
from acom.roi.predictor import summarize_quality

with log_to_file(snakemake.log[0]) as log:
    per_fold = pd.concat([read_parquet(path) for path in snakemake.input.quality], ignore_index=True)
    summary = summarize_quality(per_fold)
    write_csv(summary, snakemake.output.summary)
    log.info("mask predictor quality:\n%s", summary.to_string())
