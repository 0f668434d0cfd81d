"""Snakemake adapter: the SED per-fold table and the summary computed from it (acom.sed.protocol)."""

import pandas as pd

from acom.io import read_parquet, write_csv
from acom.logs import log_to_file
from acom.sed.protocol import SED_METRICS, summarize_sed

# scored_classes: the classes scored (cross_corpus: the ESC-50 class map's, not every class of the test corpus).
KEYS = ["protocol", "model", "train_condition", "filter", "codec", "nominal_kbps", "scored_classes", "fold"]

with log_to_file(snakemake.log[0]) as log:
    per_fold = pd.concat([read_parquet(path) for path in snakemake.input.metrics], ignore_index=True)
    per_fold = per_fold[[*KEYS, "n_clips", "n_train_clips", "decoding", "actual_kbps", *SED_METRICS]].sort_values(KEYS).reset_index(drop=True)
    write_csv(per_fold, snakemake.output.per_fold)
    summary = summarize_sed(per_fold)
    write_csv(summary, snakemake.output.summary)
    log.info("summary:\n%s", summary.to_string())
