"""Best-mask search and occlusion saliency: how much of a clip, and which part, a machine needs.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from acom.io import read_audio
from acom.roi import MaskGrid, attenuation_gain, search_grids, units_to_keep, window_starts

log = logging.getLogger(__name__)

ROI_SUMMARY_COLUMNS = [
    "model", "codec", "nominal_kbps", "axis", "percentage", "n_clips", "n_folds", "share_correct",
    "share_correct_full", "actual_kbps", "actual_kbps_full", "kbps_saving_percent",
]
MASK_COLUMNS = [
    "clip_id", "fold", "model", "target", "axis", "percentage", "region_start", "region_end", "region_unit",
    "units_kept", "n_units", "n_candidates", "score_full", "score_masked", "correct_full", "correct_masked", "best",
]

#: Embeds (K, samples) clips given at the search's sample rate: (K, D) embeddings.
Embedder = Callable[[np.ndarray], np.ndarray]


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
                 model_name: str) -> pd.DataFrame:
    """Search every clip of a fold manifest (clip_id, fold, target, path at ``sample_rate``).

    Returns the mask table (``MASK_COLUMNS``), sorted by clip, axis and percentage.
    """
    tables = []
    for rec in clips.sort_values("clip_id").itertuples(index=False):
        samples, rate = read_audio(rec.path)
        if rate != sample_rate:
            raise ValueError(f"{rec.path}: sample rate {rate} Hz, the search runs at {sample_rate} Hz")
        rows = pd.DataFrame(search_clip(samples, sample_rate, int(rec.target), embed=embed, classifier=classifier,
                                        space=space))
        rows["best"] = mark_best(rows)
        tables.append(rows.assign(clip_id=rec.clip_id, fold=int(rec.fold), model=model_name, target=int(rec.target)))
    table = pd.concat(tables, ignore_index=True)[MASK_COLUMNS]
    log.info("%s: %d clips, %d of them with a mask that keeps them correct", model_name, len(tables),
             int(table.groupby("clip_id")["best"].any().sum()))
    return table


def best_masks(table: pd.DataFrame) -> pd.DataFrame:
    """The flagged rows of a mask table, indexed by clip id (one per clip that has one)."""
    return table[table["best"]].set_index("clip_id")


def occlusion_saliency(samples: np.ndarray, sample_rate: int, grid: MaskGrid, *, embed: Embedder,
                       floor_gain: float = 0.0) -> np.ndarray:
    """Per-unit saliency: the cosine distance between the clip's embedding and that of the clip
    with only this unit attenuated. Needs no labels and no classifier, so it can steer an ROI
    filter without using the test clip's class."""
    n_units = grid.n_units(len(samples), sample_rate)
    occluded = grid.apply(samples, sample_rate, ~np.eye(n_units, dtype=bool), floor_gain)
    full = embed(samples[None, :])[0].astype(np.float64)
    each = embed(occluded).astype(np.float64)
    norms = np.linalg.norm(each, axis=1) * np.linalg.norm(full)
    cosine = np.divide(each @ full, norms, out=np.ones(n_units), where=norms > 0)
    return 1.0 - cosine


def roi_summary(masks: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """Per model, codec condition, axis and percentage: the share of clips still correctly
    classified with their best region of that size (and without a mask), and the mean bitrate
    the codec spends on them masked and unmasked.

    ``masks``: mask tables (``MASK_COLUMNS``); ``rates``: :func:`acom.coding.code_masked_versions`
    tables with ``model``, ``codec`` and ``nominal_kbps`` columns added.
    """
    keys = ["model", "clip_id", "axis", "percentage"]
    full = rates[rates["axis"] == "none"][["model", "codec", "clip_id", "actual_kbps"]]
    masked = rates[rates["axis"] != "none"].merge(masks[keys + ["correct_masked", "correct_full"]], on=keys,
                                                  how="left", validate="many_to_one")
    missing = masked["correct_masked"].isna()
    if missing.any():
        raise ValueError(f"{int(missing.sum())} coded masks have no row in the mask tables "
                         f"(e.g. {masked.loc[missing, keys].iloc[0].to_dict()})")
    masked = masked.merge(full, on=["model", "codec", "clip_id"], suffixes=("", "_full"), validate="many_to_one")
    rows = []
    for key, group in masked.groupby(["model", "codec", "nominal_kbps", "axis", "percentage"], sort=True):
        kbps, kbps_full = group["actual_kbps"].mean(), group["actual_kbps_full"].mean()
        rows.append({
            **dict(zip(["model", "codec", "nominal_kbps", "axis", "percentage"], key)),
            "n_clips": int(group["clip_id"].nunique()), "n_folds": int(group["fold"].nunique()),
            "share_correct": float(group["correct_masked"].astype(bool).mean()),
            "share_correct_full": float(group["correct_full"].astype(bool).mean()),
            "actual_kbps": float(kbps), "actual_kbps_full": float(kbps_full),
            "kbps_saving_percent": float(100 * (1 - kbps / kbps_full)),
        })
    return pd.DataFrame(rows, columns=ROI_SUMMARY_COLUMNS)
