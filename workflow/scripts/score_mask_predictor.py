"""Snakemake adapter: the mask predictor's quality on its held-out fold against the energy and a
random ranking, and its cost per clip on one thread (acom.roi.predictor)."""

import time

import torch

from acom.classification.protocol import fit_fold_classifier
from acom.embed import load_model, waveform_embedder
from acom.io import read_audio, read_fold_tables, read_parquet, write_parquet
from acom.logs import log_to_file
from acom.roi.grids import attenuation_gain, search_grids
from acom.roi.predictor import mask_predictor_from_state, ranking_quality
from acom.runtime import configure_torch

with log_to_file(snakemake.log[0]) as log:
    fold, search = int(snakemake.wildcards.fold), snakemake.params.search
    rate = int(search.get("sample_rate", 16000))
    train = read_fold_tables(dict(snakemake.input.items()), "train")
    classifier, _ = fit_fold_classifier(train, fold, snakemake.params.classifier, seed=snakemake.params.seed)
    state = torch.load(snakemake.input.predictor, map_location="cpu", weights_only=False)  # read once
    predictor = mask_predictor_from_state(state)
    clips = read_parquet(snakemake.input.manifest)
    # Cost per clip on one thread: scores of every clip of the fold, log-mel included.
    configure_torch(1)
    waves = [read_audio(path)[0] for path in clips["path"]]
    start = time.perf_counter()
    for samples in waves:
        predictor.scores(samples, rate)
    ms_per_clip = 1000 * (time.perf_counter() - start) / len(waves)
    configure_torch(snakemake.threads)
    model = load_model(snakemake.params.model, dict(snakemake.input.items()), cache_dir=snakemake.params.cache_dir,
                       name=snakemake.wildcards.model)
    embed = waveform_embedder(model, rate, batch_size=int(search.get("batch_size", 8)))
    grids = search_grids(search)
    table = ranking_quality(clips, read_parquet(snakemake.input.masks), predictor,
                            grids={axis: grids[axis] for axis in search.get("axes", ["time", "freq"])}, embed=embed,
                            classifier=classifier, floor_gain=attenuation_gain(search.get("attenuation_db")),
                            seed=snakemake.params.seed)
    is_predicted = table["ranking"] == "predicted"
    table["model"] = snakemake.wildcards.model
    table["n_parameters"] = predictor.n_parameters
    table["ms_per_clip"] = ms_per_clip
    table["train_s"] = float(state.get("train_s", float("nan")))
    table.loc[~is_predicted, ["n_parameters", "ms_per_clip", "train_s"]] = float("nan")
    write_parquet(table, snakemake.output.quality)
    log.info("fold %d (%.2f ms per clip on one thread):\n%s", fold, ms_per_clip, table.to_string())
