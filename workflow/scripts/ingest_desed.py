"""Snakemake adapter: check DESED-format data and write the soundscape manifest and labels (acom.data.desed)."""

from acom.data.desed import build_desed_manifest
from acom.io import write_parquet
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    folds = {int(fold): tuple(paths) for fold, paths in snakemake.params.folds.items()}
    manifest, labels = build_desed_manifest(folds, classes=snakemake.params.classes)
    write_parquet(manifest, snakemake.output.manifest)
    write_parquet(labels, snakemake.output.labels)
    log.info("%d soundscapes, %d events; per fold: %s", len(manifest), len(labels),
             manifest.groupby("fold").size().to_dict())
