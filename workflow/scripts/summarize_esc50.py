"""Snakemake adapter: the per-fold table and the summary computed from it (acom.classification.protocol)."""

import pandas as pd

from acom.classification.protocol import PER_FOLD_COLUMNS, summarize
from acom.io import write_csv
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    per_fold = pd.concat([pd.read_parquet(path) for path in snakemake.input.metrics], ignore_index=True)
    per_fold = per_fold[PER_FOLD_COLUMNS].sort_values(PER_FOLD_COLUMNS[:7]).reset_index(drop=True)
    write_csv(per_fold, snakemake.output.per_fold)
    summary = summarize(per_fold)
    write_csv(summary, snakemake.output.summary)
    log.info("summary:\n%s", summary.to_string())
