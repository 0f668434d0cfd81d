"""Best-mask search: how much of a clip, and which part, a machine needs.

For each clip the search tries, on each axis (time frames, frequency bands), every percentage of a
grid and every contiguous region of that size on a stride; each candidate is the clip with
everything outside the region attenuated. All candidates of a clip go through the model as batches
(no file or process per mask) and are scored by the fold's clean-trained classifier: ``score`` is
the probability it gives the clip's true class. Per (clip, axis, percentage) the best-scoring
region is kept; the clip's ``best`` mask is the smallest percentage whose region keeps it
correctly classified (ties: higher score, then the time axis first).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from acom.embed import Embedder
from acom.io import read_audio
from acom.roi.grids import MaskGrid, attenuation_gain, search_grids, units_to_keep, window_starts

log = logging.getLogger(__name__)

MASK_COLUMNS = [
    "clip_id", "fold", "model", "target", "axis", "percentage", "region_start", "region_end", "region_unit",
    "units_kept", "n_units", "n_candidates", "score_full", "score_masked", "correct_full", "correct_masked", "best",
]


@dataclass(frozen=True)
class SearchSpace:
    """What the search tries: ``percentages`` of each grid's units, contiguous regions on a stride
    of ``strides[axis]`` units, the rest attenuated to ``floor_gain``."""

    grids: Sequence[MaskGrid]
    percentages: Sequence[float]
    strides: dict[str, int]
    floor_gain: float = 0.0


def search_space(search_params: Mapping[str, Any]) -> SearchSpace:
    """The search space of a ``mask_search`` config section."""
    grids = search_grids(search_params)
    return SearchSpace(
        grids=[grids[axis] for axis in search_params.get("axes", ["time", "freq"])],
        percentages=[float(p) for p in search_params.get("percentages", range(10, 100, 10))],
        strides={"time": int(search_params.get("time", {}).get("stride_frames", 5)),
                 "freq": int(search_params.get("freq", {}).get("stride_bands", 2))},
        floor_gain=attenuation_gain(search_params.get("attenuation_db")),
    )


def candidate_regions(n_units: int, percentages: Sequence[float], stride: int) -> list[tuple[float, int, int]]:
    """(percentage, start, end) of every contiguous region the search tries on one axis."""
    regions = []
    for percentage in sorted(percentages):
        width = units_to_keep(n_units, percentage)
        regions += [(percentage, start, start + width) for start in window_starts(n_units, width, stride)]
    return regions


def class_scores(classifier, embeddings: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
    """(probability of ``target``, predicted class) for each embedding, from a fitted classifier
    with ``predict_proba`` and ``classes_``."""
    proba = classifier.predict_proba(embeddings)
    classes = np.asarray(classifier.classes_)
    predicted = classes[np.argmax(proba, axis=1)]
    column = np.flatnonzero(classes == target)
    scores = proba[:, column[0]] if len(column) else np.zeros(len(proba))
    return scores.astype(np.float64), predicted


def search_clip(samples: np.ndarray, sample_rate: int, target: int, *, embed: Embedder, classifier,
                space: SearchSpace) -> list[dict]:
    """One row per (axis, percentage): the best-scoring region and its score (see module doc)."""
    full_score, full_predicted = class_scores(classifier, embed(samples[None, :]), target)
    rows = []
    for grid in space.grids:
        n_units = grid.n_units(len(samples), sample_rate)
        regions = candidate_regions(n_units, space.percentages, space.strides[grid.axis])
        keep = np.zeros((len(regions), n_units), dtype=bool)
        for row, (_, start, end) in enumerate(regions):
            keep[row, start:end] = True
        scores, predicted = class_scores(classifier, embed(grid.apply(samples, sample_rate, keep, space.floor_gain)),
                                         target)
        percentages = np.array([p for p, _, _ in regions])
        for percentage in sorted(set(percentages)):
            rows_p = np.flatnonzero(percentages == percentage)
            pick = rows_p[np.argmax(scores[rows_p])]  # first maximum: the earliest region on ties
            _, start, end = regions[pick]
            region_start, region_end = grid.region(start, end, sample_rate)
            rows.append({
                "axis": grid.axis, "percentage": float(percentage), "region_start": region_start,
                "region_end": region_end, "region_unit": grid.unit, "units_kept": end - start, "n_units": n_units,
                "n_candidates": len(rows_p), "score_full": float(full_score[0]), "score_masked": float(scores[pick]),
                "correct_full": bool(full_predicted[0] == target), "correct_masked": bool(predicted[pick] == target),
            })
    return rows


def mark_best(rows: pd.DataFrame, axis_order: Sequence[str] = ("time", "freq")) -> pd.Series:
    """``best`` flags for one clip's rows: the correctly classified row with the smallest percentage
    (ties: higher score, then ``axis_order``). No row is flagged when no mask keeps the clip correct."""
    best = pd.Series(False, index=rows.index)
    correct = rows[rows["correct_masked"]]
    if len(correct):
        rank = correct.assign(_axis=correct["axis"].map({a: i for i, a in enumerate(axis_order)}))
        chosen = rank.sort_values(["percentage", "score_masked", "_axis"], ascending=[True, False, True],
                                  kind="stable").index[0]
        best[chosen] = True
    return best


def search_masks(clips: pd.DataFrame, *, embed: Embedder, classifier, space: SearchSpace, sample_rate: int,
                 model_name: str, workers: int = 1) -> pd.DataFrame:
    """Search every clip of a fold manifest (clip_id, fold, target, path at ``sample_rate``).

    ``workers`` > 1 searches that many clips at once on a thread pool (torch and numpy release the GIL):
    with torch limited to one thread per operation, two clips side by side use two cores better than
    one clip's small batches split over two threads, and each clip's result is the one-thread result.

    Returns the mask table (``MASK_COLUMNS``), sorted by clip, axis and percentage.
    """
    def search(rec) -> pd.DataFrame:
        samples, rate = read_audio(rec.path)
        if rate != sample_rate:
            raise ValueError(f"{rec.path}: sample rate {rate} Hz, the search runs at {sample_rate} Hz")
        rows = pd.DataFrame(search_clip(samples, sample_rate, int(rec.target), embed=embed, classifier=classifier,
                                        space=space))
        rows["best"] = mark_best(rows)
        return rows.assign(clip_id=rec.clip_id, fold=int(rec.fold), model=model_name, target=int(rec.target))

    records = list(clips.sort_values("clip_id").itertuples(index=False))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            tables = list(pool.map(search, records))
    else:
        tables = [search(rec) for rec in records]
    table = pd.concat(tables, ignore_index=True)[MASK_COLUMNS]
    log.info("%s: %d clips, %d of them with a mask that keeps them correct", model_name, len(tables),
             int(table.groupby("clip_id")["best"].any().sum()))
    return table


def best_masks(table: pd.DataFrame) -> pd.DataFrame:
    """The flagged rows of a mask table, indexed by clip id (one per clip that has one)."""
    return table[table["best"]].set_index("clip_id")
