"""Snakemake adapter: generate the synthetic ESC-50-layout corpus (acom.data.synthetic)."""

from acom.data.synthetic import synthesize_esc50_corpus
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    meta = synthesize_esc50_corpus(snakemake.output.root, folds=snakemake.params.folds, **snakemake.params.synthetic)
    log.info("wrote %d synthetic clips to %s", len(meta), snakemake.output.root)
