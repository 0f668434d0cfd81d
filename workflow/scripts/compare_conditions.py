"""Snakemake adapter: accuracy drop against the clean reference and delta rates between curves with
their bootstrap intervals (acom.report.deltarate), computed from the summary and per-clip predictions."""

import pandas as pd

from acom.classification.significance import read_outcomes
from acom.io import write_csv
from acom.logs import log_to_file
from acom.report.deltarate import accuracy_drop, comparison_pairs, delta_rate_table

with log_to_file(snakemake.log[0]) as log:
    summary = pd.read_csv(snakemake.input.summary)
    write_csv(accuracy_drop(summary), snakemake.output.accuracy_drop)
    pairs = comparison_pairs(snakemake.params.filters, snakemake.params.codec_families,
                             filter_codecs=snakemake.params.filter_codecs)
    predictions = read_outcomes(snakemake.input.predictions, snakemake.params.conditions)
    bootstrap = snakemake.params.bootstrap
    table = delta_rate_table(summary, pairs, predictions=predictions, n_resamples=bootstrap["n_resamples"],
                             confidence=bootstrap["confidence"], seed=snakemake.params.seed)
    write_csv(table, snakemake.output.delta_rate)
    log.info("delta rates:\n%s", table.to_string())
