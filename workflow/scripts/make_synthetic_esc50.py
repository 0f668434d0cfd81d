"""Snakemake adapter: generate the synthetic ESC-50-layout corpus (acom.synthetic)."""

from acom.logs import log_to_file
from acom.synthetic import synthesize_esc50_corpus

with log_to_file(snakemake.log[0]) as log:
    synthetic = snakemake.params.synthetic
    meta = synthesize_esc50_corpus(
        snakemake.output.root,
        categories=synthetic["categories"],
        folds=snakemake.params.folds,
        clips_per_class_per_fold=synthetic["clips_per_class_per_fold"],
        sample_rate=synthetic["sample_rate"],
        duration_s=synthetic["duration_s"],
        seed=synthetic["seed"],
    )
    log.info("wrote %d synthetic clips to %s", len(meta), snakemake.output.root)
