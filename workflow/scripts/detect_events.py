"""Snakemake adapter: SED of one condition under one protocol: heads, event lists, frame-score tables
and metrics per test fold (acom.sed.protocol: cross_validate_sed, cross_corpus_sed)."""

import pandas as pd

from acom.events import write_strong_labels
from acom.io import read_parquet, read_parquet_metadata, write_parquet
from acom.logs import log_to_file
from acom.runtime import configure_torch
from acom.sed.heads import HeadConfig
from acom.sed.protocol import cross_corpus_sed, cross_validate_sed, soundscape_files
from acom.sed.scores import write_score_tables

with log_to_file(snakemake.log[0]) as log:
    configure_torch(snakemake.threads)
    p, w = snakemake.params, snakemake.wildcards
    test = {f: read_parquet(snakemake.input[f"test{f}"]) for f in p.folds}
    train = {f: read_parquet(snakemake.input[f"train{f}"]) for f in p.train_folds}
    hops = {read_parquet_metadata(path)["hop_seconds"]
            for path in [*(snakemake.input[f"test{f}"] for f in p.folds), *(snakemake.input[f"train{f}"] for f in p.train_folds)]}
    if len(hops) != 1:
        raise ValueError(f"frame embeddings of {w.model} disagree on the frame hop: {sorted(hops)} s")
    settings = {"hop_seconds": hops.pop(), "classes": p.classes, "head": HeadConfig.from_mapping(p.head),
                "thresholds": p.thresholds, "median_filter_s": p.median_filter_s, "seed": p.seed, "scoring": p.scoring,
                "min_hop_s": p.min_hop_s, "tune": p.tune_decoding}
    labels, files = read_parquet(snakemake.input.labels), soundscape_files(read_parquet(snakemake.input.manifest))
    if p.protocol == "cross_corpus":
        # The head sees the training soundscapes only (their own labels and manifest), never the test corpus.
        log.info("training on %d soundscapes of folds %s; testing folds %s", sum(map(len, train.values())),
                 list(p.train_folds), list(p.folds))
        events, metrics, scores = cross_corpus_sed(
            test, train, labels, files, read_parquet(snakemake.input.train_labels),
            soundscape_files(read_parquet(snakemake.input.train_manifest)), **settings)
    else:
        events, metrics, scores = cross_validate_sed(test, train, labels, files, **settings)
    audio = pd.concat([read_parquet(snakemake.input[f"audio{f}"]) for f in p.folds])
    metrics = metrics.assign(protocol=p.protocol, model=w.model, train_condition=w.train_condition, filter=w.filter,
                             codec=w.codec, nominal_kbps=p.nominal_kbps, scored_classes=";".join(p.classes),
                             actual_kbps=metrics["fold"].map(audio.groupby("fold")["actual_kbps"].mean()))
    write_strong_labels(events, snakemake.output.events)
    write_score_tables(scores, snakemake.output.scores)
    write_parquet(metrics, snakemake.output.metrics)
    log.info("per fold:\n%s", metrics.to_string())
    log.info("decoding per fold (label:threshold/median window s):\n%s", metrics.set_index("fold")["decoding"].to_string())
