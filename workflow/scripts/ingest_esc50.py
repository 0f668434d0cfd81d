"""Snakemake adapter: check an ESC-50 copy, write its manifest and the list of skipped clips (acom.data.esc50)."""

import os

from acom.data.esc50 import build_manifest, check_folds_have_clips, read_metadata, select_clips
from acom.io import write_csv, write_parquet
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    root = snakemake.params.root
    meta = read_metadata(os.path.join(root, "meta", "esc50.csv"))
    selected = select_clips(
        meta,
        folds=snakemake.params.folds,
        esc10_only=snakemake.params.esc10_only,
        max_clips_per_class_per_fold=snakemake.params.max_clips_per_class_per_fold,
    )
    manifest, skipped = build_manifest(
        root, selected, clip_seconds=snakemake.params.clip_seconds, on_bad_clip=snakemake.params.on_bad_clip
    )
    for rec in skipped.itertuples(index=False):
        log.warning("skipped %s: %s", rec.path, rec.problem)
    write_csv(skipped, snakemake.output.skipped)
    check_folds_have_clips(manifest, snakemake.params.folds, skipped)
    write_parquet(manifest, snakemake.output.manifest)
    log.info("%d clips from %s (%d skipped); per fold: %s", len(manifest), root, len(skipped),
             manifest.groupby("fold").size().to_dict())
