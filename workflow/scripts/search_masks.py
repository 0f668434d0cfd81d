"""Snakemake adapter: best-mask search for one model and one fold (acom.roi.search)."""

import time

from acom.classification.protocol import fit_fold_classifier
from acom.embed import load_model, waveform_embedder
from acom.io import read_fold_tables, read_parquet, write_parquet
from acom.logs import log_to_file
from acom.roi.search import search_masks, search_space
from acom.runtime import configure_torch

with log_to_file(snakemake.log[0]) as log:
    fold, search = int(snakemake.wildcards.fold), snakemake.params.search
    rate = int(search.get("sample_rate", 16000))
    train = read_fold_tables(dict(snakemake.input.items()), "train")
    classifier, _ = fit_fold_classifier(train, fold, snakemake.params.classifier, seed=snakemake.params.seed)
    model = load_model(snakemake.params.model, dict(snakemake.input.items()), cache_dir=snakemake.params.cache_dir,
                       name=snakemake.wildcards.model)
    # On a CPU, clips are searched side by side, one per thread, each torch operation on one thread: two
    # clips at once use two cores better than one clip's small batches split over two threads. A GPU
    # takes one clip's batches at a time.
    workers = 1 if str(getattr(model, "device", "cpu")).startswith("cuda") else snakemake.threads
    configure_torch(snakemake.threads if workers == 1 else 1)
    embed = waveform_embedder(model, rate, batch_size=int(search.get("batch_size", 8)))
    clips = read_parquet(snakemake.input.manifest)
    start = time.perf_counter()
    table = search_masks(clips, embed=embed, classifier=classifier, space=search_space(search), sample_rate=rate,
                         model_name=snakemake.wildcards.model, workers=workers)
    elapsed = time.perf_counter() - start
    write_parquet(table, snakemake.output.masks)
    log.info("fold %d: %d clips searched in %.1f s (%.2f clips/s); best percentage per clip: %s", fold, len(clips),
             elapsed, len(clips) / max(elapsed, 1e-9),
             table[table["best"]]["percentage"].value_counts().sort_index().to_dict())
