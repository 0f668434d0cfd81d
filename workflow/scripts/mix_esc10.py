"""Snakemake adapter: plan and render the two-source ESC-10 mixtures and write the esc10_mix
manifest (acom.data.mixtures)."""

from acom.data.mixtures import esc10_clips, plan_mixtures, render_mixtures
from acom.io import read_parquet, write_parquet
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    p = snakemake.params.mix
    clips = esc10_clips(read_parquet(snakemake.input.manifest))
    plan = plan_mixtures(clips, n_per_fold=p["n_per_fold"], level_db=p["level_db"], seed=p["seed"],
                         pitch_shift_semitones=p["pitch_shift_semitones"])
    manifest = render_mixtures(plan, snakemake.output.audio, loudness=p["loudness"], target_db=p["target_db"])
    write_parquet(manifest, snakemake.output.manifest)
    log.info("%d items (%d mixtures, %d pitch-shifted training copies) per fold: %s", len(manifest),
             int((manifest["n_sources"] == 2).sum()), int(manifest["augmented"].sum()),
             manifest.groupby("fold").size().to_dict())
