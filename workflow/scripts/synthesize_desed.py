"""Snakemake adapter: DESED-format soundscapes from the ESC-50 copy (acom.data.soundscapes)."""

from acom.data.soundscapes import synthesize_from_esc50
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    labels = synthesize_from_esc50(snakemake.params.esc50_root, folds=snakemake.params.folds,
                                   params=snakemake.params.synthetic, out_root=snakemake.output.root,
                                   clip_seconds=snakemake.params.clip_seconds,
                                   on_bad_clip=snakemake.params.on_bad_clip)
    per_fold = labels.groupby("fold").agg(soundscapes=("filename", "nunique"), events=("filename", "size"))
    log.info("soundscapes and events per fold:\n%s", per_fold.to_string())
    log.info("events per label:\n%s", labels["event_label"].value_counts().sort_index().to_string())
