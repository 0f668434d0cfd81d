"""Threshold-free SED scoring as DCASE task 4 does it: per-clip frame-score tables in
sed_scores_eval's format, PSDS1 and PSDS2, and intersection-based F1, through sed_scores_eval
(Ebbers et al., ICASSP 2022: the exact PSDS computation DCASE has used since 2022).

A score table has one row per frame: ``onset``, ``offset`` (seconds), then one column per class with
the head's probability. Frame ``k`` covers ``[k * hop, (k + 1) * hop)``; the last frame ends at the
clip's duration (frames never reach past the audio). Clips are named by their audio file's stem,
as sed_scores_eval and DESED's TSVs (``filename`` without extension) name them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

#: DCASE task 4's PSDS scenarios (2021-2023): PSDS1 rewards temporal precision, PSDS2 tolerates
#: coarse localisation but penalises cross-triggers. ``max_efpr`` in false positives per hour.
PSDS_SCENARIOS: dict[str, dict[str, float | None]] = {
    "psds1": {"dtc_threshold": 0.7, "gtc_threshold": 0.7, "cttc_threshold": None, "alpha_ct": 0.0, "alpha_st": 1.0,
              "max_efpr": 100.0},
    "psds2": {"dtc_threshold": 0.1, "gtc_threshold": 0.1, "cttc_threshold": 0.3, "alpha_ct": 0.5, "alpha_st": 1.0,
              "max_efpr": 100.0},
}
#: Detection and ground-truth intersection criteria of the intersection-based F1 (the column name
#: carries them).
INTERSECTION_F1 = {"dtc_threshold": 0.5, "gtc_threshold": 0.5}
INTERSECTION_F1_NAME = "intersection_f1_dtc05_gtc05"
#: The threshold-free metric columns of a per-fold SED table.
SCORE_METRICS = ["psds1", "psds2", f"{INTERSECTION_F1_NAME}_micro", f"{INTERSECTION_F1_NAME}_macro"]


def intersection_based():
    """sed_scores_eval's ``intersection_based`` module, ready for pandas 3.

    sed_scores_eval 0.0.4 (the release on PyPI) hands the score and time arrays of its DataFrames
    to a Cython function typed with writable memoryviews; under pandas 3's copy-on-write those arrays
    are read-only views and the call fails ("buffer source array is read-only"). It is given copies:
    the computation is the library's own, unchanged. Call sed_scores_eval through this (as the tests
    do when they score the written tables directly).
    """
    from sed_scores_eval import intersection_based as module
    from sed_scores_eval.base_modules import cy_detection, statistics

    if getattr(statistics.onset_offset_curves, "_acom_copies", False):
        return module

    def onset_offset_curves(scores, timestamps, change_point_candidates=None):
        return cy_detection.onset_offset_curves(
            np.array(scores, dtype=np.float64), np.array(timestamps, dtype=np.float64),
            None if change_point_candidates is None else np.array(change_point_candidates))

    onset_offset_curves._acom_copies = True
    statistics.onset_offset_curves = onset_offset_curves
    return module


def audio_id(filename: str) -> str:
    """The id sed_scores_eval gives a clip: its file name without the extension."""
    return os.path.splitext(os.path.basename(filename))[0]


def score_table(probabilities: np.ndarray, *, hop_seconds: float, duration: float,
                classes: Sequence[str]) -> pd.DataFrame:
    """A clip's frame scores (n_frames, C) as a sed_scores_eval score DataFrame: frames past the end
    of the clip dropped, the last one cut at ``duration``."""
    from sed_scores_eval.base_modules.scores import create_score_dataframe

    probabilities = np.asarray(probabilities, dtype=np.float64)
    onsets = np.arange(probabilities.shape[0]) * hop_seconds
    keep = onsets < duration - 1e-9
    if not keep.any():
        raise ValueError(f"no frame starts before the clip's end ({duration} s)")
    edges = np.minimum(np.append(onsets[keep], onsets[keep][-1] + hop_seconds), duration)
    return create_score_dataframe(probabilities[keep], edges, list(classes))


def ground_truth_events(labels: pd.DataFrame, filenames: Sequence[str]) -> dict[str, list[tuple[float, float, str]]]:
    """sed_scores_eval's ground truth: audio id -> [(onset, offset, label)], every file of
    ``filenames`` present (an empty list for a file without events). Events of one class that
    overlap or touch are merged into one, as sed_scores_eval requires (and as the frame targets
    already see them: a class is active or not)."""
    truth: dict[str, list[tuple[float, float, str]]] = {audio_id(name): [] for name in filenames}
    rows = labels[labels["filename"].isin(set(filenames))].sort_values(["filename", "event_label", "onset"])
    for row in rows.itertuples(index=False):
        events = truth[audio_id(row.filename)]
        onset, offset, label = float(row.onset), float(row.offset), str(row.event_label)
        if events and events[-1][2] == label and onset <= events[-1][1]:
            events[-1] = (events[-1][0], max(events[-1][1], offset), label)
        else:
            events.append((onset, offset, label))
    return truth


def threshold_free_metrics(scores: Mapping[str, pd.DataFrame], ground_truth: Mapping[str, list],
                           durations: Mapping[str, float], *, thresholds: float | Mapping[str, float],
                           classes: Sequence[str]) -> dict[str, float]:
    """PSDS1, PSDS2 (:data:`PSDS_SCENARIOS`) and the intersection-based F1 at ``thresholds``
    (micro and macro over the classes with ground truth) of one set of clips; NaN for a single class,
    which sed_scores_eval 0.0.4 cannot score."""
    if len(classes) < 2:  # sed_scores_eval 0.0.4 fails on a single class (its cross-trigger table is empty)
        return dict.fromkeys(SCORE_METRICS, float("nan"))
    module = intersection_based()
    results = {}
    for name, settings in PSDS_SCENARIOS.items():
        value, *_ = module.psds(scores=dict(scores), ground_truth=dict(ground_truth),
                                            audio_durations=dict(durations), unit_of_time="hour", **settings)
        results[name] = float(value)
    threshold = dict(thresholds) if isinstance(thresholds, Mapping) else {c: float(thresholds) for c in classes}
    f1, *_ = module.fscore(scores=dict(scores), ground_truth=dict(ground_truth), threshold=threshold,
                                       **INTERSECTION_F1)
    present = sorted({label for events in ground_truth.values() for _, _, label in events})
    results[f"{INTERSECTION_F1_NAME}_micro"] = float(f1["micro_average"])
    results[f"{INTERSECTION_F1_NAME}_macro"] = float(np.mean([f1[c] for c in present]))
    return results


def write_score_tables(scores: Mapping[str, pd.DataFrame], folder: str | os.PathLike) -> Path:
    """Write each clip's score table as ``<folder>/<audio id>.tsv`` (sed_scores_eval's reader takes
    the folder as it is)."""
    from sed_scores_eval.base_modules.io import write_sed_scores

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_sed_scores(dict(scores), folder)
    return folder
