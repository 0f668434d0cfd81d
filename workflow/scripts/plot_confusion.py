"""Snakemake adapter: the confusion matrix of one condition's predictions (acom.report.plots)."""


from acom.classification.protocol import class_names
from acom.io import read_parquet
from acom.logs import log_to_file
from acom.report.plots import plot_confusion

with log_to_file(snakemake.log[0]) as log:
    predictions, manifest = read_parquet(snakemake.input.predictions), read_parquet(snakemake.input.manifest)
    # Targets are ESC-50's class numbers, not positions (the ESC-10 subset has 0, 1, 10, ...): name them.
    category = manifest.drop_duplicates("target").set_index("target")["category"]
    w = snakemake.wildcards
    title = f"{w.model} / {w.classifier} / {w.train_condition}: filter {w.filter}, codec {w.codec}"
    plot_confusion(predictions["target"].map(category).to_numpy(), predictions["predicted"].map(category).to_numpy(),
                   class_names(manifest), title, snakemake.params.stem)
    log.info("%s: accuracy %.4f over %d clips", title, predictions["correct"].mean(), len(predictions))
