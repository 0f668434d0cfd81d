"""Snakemake adapter: per-fold SED of one condition: heads, event lists, sed_eval metrics (acom.sed.protocol)."""

import pandas as pd

from acom.events import write_strong_labels
from acom.io import read_parquet, read_parquet_metadata, write_parquet
from acom.logs import log_to_file
from acom.runtime import configure_torch
from acom.sed.heads import HeadConfig
from acom.sed.protocol import cross_validate_sed, soundscape_files
from acom.sed.scores import write_score_tables

with log_to_file(snakemake.log[0]) as log:
    configure_torch(snakemake.threads)
    p, folds = snakemake.params, snakemake.params.folds
    test = {f: read_parquet(snakemake.input[f"test{f}"]) for f in folds}
    train = {f: read_parquet(snakemake.input[f"train{f}"]) for f in folds}
    hops = {read_parquet_metadata(snakemake.input[f"{kind}{f}"])["hop_seconds"] for kind in ("test", "train") for f in folds}
    if len(hops) != 1:
        raise ValueError(f"frame embeddings of {snakemake.wildcards.model} disagree on the frame hop: {sorted(hops)} s")
    events, metrics, scores = cross_validate_sed(
        test, train, read_parquet(snakemake.input.labels), soundscape_files(read_parquet(snakemake.input.manifest)),
        hop_seconds=hops.pop(), classes=p.classes, head=HeadConfig.from_mapping(p.head), thresholds=p.thresholds,
        median_filter_s=p.median_filter_s, seed=p.seed, scoring=p.scoring, min_hop_s=p.min_hop_s)
    audio = pd.concat([read_parquet(snakemake.input[f"audio{f}"]) for f in folds])
    w = snakemake.wildcards
    metrics = metrics.assign(model=w.model, train_condition=w.train_condition, filter=w.filter, codec=w.codec,
                             nominal_kbps=p.nominal_kbps,
                             actual_kbps=metrics["fold"].map(audio.groupby("fold")["actual_kbps"].mean()))
    write_strong_labels(events, snakemake.output.events)
    write_score_tables(scores, snakemake.output.scores)
    write_parquet(metrics, snakemake.output.metrics)
    log.info("per fold:\n%s", metrics.to_string())
