"""Snakemake adapter: check the IRMAS excerpts and labels, downmix them to mono and write the irmas
task manifest (acom.data.irmas)."""

from acom.data.irmas import build_irmas_manifest, find_irmas_items, select_items
from acom.io import write_parquet
from acom.logs import log_to_file

with log_to_file(snakemake.log[0]) as log:
    p = snakemake.params
    items = select_items(find_irmas_items(p.train, p.test), max_train_per_class=p.max_train_per_class,
                         max_test=p.max_test)
    manifest = build_irmas_manifest(items, snakemake.output.audio)
    write_parquet(manifest, snakemake.output.manifest)
    log.info("%d training and %d test excerpts; test excerpts %.1f-%.1f s", int((manifest["fold"] == 1).sum()),
             int((manifest["fold"] == 2).sum()),
             *(manifest.loc[manifest["fold"] == 2, "frames"] / manifest.loc[manifest["fold"] == 2, "sample_rate"])
             .agg(["min", "max"]).fillna(0))
