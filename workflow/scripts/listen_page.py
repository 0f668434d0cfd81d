"""Snakemake adapter: the static listening page for a handful of clips (acom.report.listen)."""

import pandas as pd

from acom.classification.protocol import class_names
from acom.io import read_parquet
from acom.logs import log_to_file
from acom.report.listen import build_listening_page, listening_clips, listening_rows

with log_to_file(snakemake.log[0]) as log:
    manifest = read_parquet(snakemake.input.manifest)
    listen = snakemake.params.listen
    chosen = listening_clips(manifest, clips=listen.get("clips"), n_clips=int(listen.get("n_clips", 4)))
    conditions = [
        {**condition, "manifest": pd.concat([read_parquet(path) for path in condition["manifests"]])}
        for condition in snakemake.params.conditions
    ]
    predictions = {
        (model, filter_name, codec): read_parquet(path)
        for (model, filter_name, codec), path in zip(snakemake.params.prediction_keys, snakemake.input.predictions)
    }
    rows = listening_rows(chosen, conditions, predictions, class_names(manifest))
    page = build_listening_page(rows, snakemake.output.page_dir, title="acom listening page")
    log.info("%s: %d clips x %d conditions", page, len(chosen), len(conditions))
