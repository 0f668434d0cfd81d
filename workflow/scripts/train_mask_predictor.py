"""Snakemake adapter: train the mask predictor for one model and test fold on the other folds'
mask search (acom.roi.predictor)."""

import time

import pandas as pd
import torch

from acom.io import atomic_output, read_parquet
from acom.logs import log_to_file
from acom.roi.grids import search_grids
from acom.roi.predictor import PredictorSettings, train_mask_predictor
from acom.runtime import configure_torch

with log_to_file(snakemake.log[0]) as log:
    configure_torch(snakemake.threads)
    fold, search = int(snakemake.wildcards.fold), snakemake.params.search
    rate = int(search.get("sample_rate", 16000))
    masks = pd.concat([read_parquet(path) for key, path in snakemake.input.items() if key.startswith("masks")],
                      ignore_index=True)
    clips = pd.concat([read_parquet(path) for key, path in snakemake.input.items() if key.startswith("manifest")],
                      ignore_index=True)
    grids = search_grids(search)
    start = time.perf_counter()
    predictor = train_mask_predictor(clips, masks, test_fold=fold, sample_rate=rate,
                                     time_frame_ms=grids["time"].frame_ms, band_edges_hz=grids["freq"].edges(rate),
                                     settings=PredictorSettings(**snakemake.params.settings))
    elapsed = time.perf_counter() - start
    state = predictor.state() | {"train_s": elapsed, "train_folds": sorted(int(f) for f in clips["fold"].unique())}
    with atomic_output(snakemake.output.predictor) as tmp:
        torch.save(state, tmp)
    log.info("fold %d: %d parameters trained on %d clips of folds %s in %.1f s", fold, predictor.n_parameters,
             len(clips), state["train_folds"], elapsed)
