"""Snakemake adapter: the ROI summary from the mask tables and the coded masks (acom.roi.summary)."""

import pandas as pd

from acom.io import read_parquet, write_csv
from acom.logs import log_to_file
from acom.roi.summary import roi_summary

with log_to_file(snakemake.log[0]) as log:
    masks = pd.concat([read_parquet(path) for path in snakemake.input.masks], ignore_index=True)
    rates = pd.concat([read_parquet(path) for path in snakemake.input.rates], ignore_index=True)
    summary = roi_summary(masks, rates)
    write_csv(summary, snakemake.output.summary)
    log.info("ROI summary:\n%s", summary.to_string())
