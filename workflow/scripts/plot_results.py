"""Snakemake adapter: rate-accuracy curves per model, classifier and protocol, and the
rate-distortion plot (acom.report.plots). Figures are saved as <stem>.png and <stem>.svg."""

import pandas as pd

from acom.logs import log_to_file
from acom.report.plots import plot_rate_accuracy, plot_rate_distortion


def stem(png: str) -> str:
    return png[: -len(".png")]


with log_to_file(snakemake.log[0]) as log:
    summary = pd.read_csv(snakemake.input.summary)
    for model, classifier, train_condition in snakemake.params.rate_accuracy:
        png = snakemake.output[f"{model}_{classifier}_{train_condition}_png"]
        plot_rate_accuracy(summary, model, classifier, train_condition, stem(png))
    if "rate_distortion_png" in snakemake.output.keys():
        plot_rate_distortion(pd.read_csv(snakemake.input.quality), stem(snakemake.output.rate_distortion_png))
    log.info("wrote %d figures", len(snakemake.output))
