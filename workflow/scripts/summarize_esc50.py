"""Snakemake adapter: the per-fold table, the summary computed from it with each accuracy's bootstrap
interval and test against the reference, and the tests between conditions of equal nominal rate
(acom.classification.protocol, acom.classification.significance)."""

import pandas as pd

from acom.classification.protocol import PER_FOLD_COLUMNS, summarize
from acom.classification.significance import add_confidence_and_reference_tests, equal_rate_tests, read_outcomes
from acom.conditions import codec_family
from acom.io import read_parquet, write_csv
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    per_fold = pd.concat([read_parquet(path) for path in snakemake.input.metrics], ignore_index=True)
    per_fold = per_fold[PER_FOLD_COLUMNS].sort_values(PER_FOLD_COLUMNS[:7]).reset_index(drop=True)
    write_csv(per_fold, snakemake.output.per_fold)
    predictions = read_outcomes(snakemake.input.predictions, snakemake.params.conditions)
    bootstrap = snakemake.params.bootstrap
    summary = add_confidence_and_reference_tests(summarize(per_fold), predictions,
                                                 n_resamples=bootstrap["n_resamples"],
                                                 confidence=bootstrap["confidence"], seed=snakemake.params.seed)
    write_csv(summary, snakemake.output.summary)
    waveform = ~summary["codec"].map(codec_family).isin(snakemake.params.feature_codecs)
    write_csv(equal_rate_tests(summary[waveform], predictions), snakemake.output.paired_tests)
    log.info("summary:\n%s", summary.to_string())
