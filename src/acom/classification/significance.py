"""How far a summary's accuracies can be trusted: bootstrap confidence intervals and paired tests.

Every condition is scored on the same clips (all of ESC-50's test folds), so two conditions can be
compared clip by clip:

- :func:`bootstrap_accuracy_ci`: a percentile bootstrap interval for the summary's accuracy (the mean
  of the per-fold accuracies). Clips are resampled with replacement *within each fold* (stratified,
  so every resample keeps the folds' sizes and the statistic stays a mean over the same folds). The
  resampled clip indices depend only on the seed, the fold and its size, so every condition of a
  run is resampled identically (a paired bootstrap). scipy.stats.bootstrap has no strata, hence
  the few lines here.
- :func:`mcnemar_exact`: McNemar's test on the clips exactly one of two conditions gets right; the
  exact (binomial) form, as statsmodels' ``mcnemar(exact=True)``, with scipy's ``binomtest``.

:func:`add_confidence_and_reference_tests` puts both into the summary (each condition against the
unprocessed reference of its model, classifier and train condition); :func:`equal_rate_tests` tests
every pair of conditions of one nominal bitrate ("AAC at 16 kbps against MP3 at 16 kbps"). p-values
are per comparison, not corrected for the number of comparisons a reader makes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from acom.classification.protocol import CONDITION_KEYS
from acom.conditions import UNCODED
from acom.io import read_parquet

GROUP_KEYS = ["model", "classifier", "train_condition"]
PAIRED_TEST_COLUMNS = GROUP_KEYS + [
    "nominal_kbps", "filter_a", "codec_a", "filter_b", "codec_b", "accuracy_a", "accuracy_b", "actual_kbps_a",
    "actual_kbps_b", "n_clips", "only_a_correct", "only_b_correct", "p_value",
]
REFERENCE_TEST_COLUMNS = ["accuracy_ci_low", "accuracy_ci_high", "clips_lost", "clips_gained", "p_vs_reference"]


def read_outcomes(paths: Sequence[str], conditions: Sequence[tuple]) -> pd.DataFrame:
    """Per-clip outcomes (clip_id, fold, correct) of prediction files, each tagged with its
    (model, classifier, train_condition, filter, codec) from ``conditions`` (one per path)."""
    keys = GROUP_KEYS + ["filter", "codec"]
    if len(paths) != len(conditions):
        raise ValueError(f"{len(paths)} prediction files for {len(conditions)} conditions")
    return pd.concat([read_parquet(path, columns=["clip_id", "fold", "correct"]).assign(**dict(zip(keys, condition)))
                      for path, condition in zip(paths, conditions)], ignore_index=True)


def fold_resamples(fold: int, size: int, *, n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples, size) clip indices drawn with replacement within one fold; the same for every
    condition of a run (they depend only on seed, fold and size)."""
    rng = np.random.default_rng([seed, fold, size])
    return rng.integers(0, size, size=(n_resamples, size))


def bootstrap_accuracy_ci(correct: Sequence[bool], folds: Sequence[int], *, n_resamples: int = 2000,
                          confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean over folds of the per-fold accuracy, resampling the
    clips within each fold. ``correct`` and ``folds`` are per clip, in a fixed order (by clip id)."""
    correct, folds = np.asarray(correct, dtype=bool), np.asarray(folds)
    if correct.shape != folds.shape or correct.size == 0:
        raise ValueError(f"correct and folds must be equal-length and non-empty, got {correct.shape} and {folds.shape}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: {confidence} is not between 0 and 1")
    fold_means = []
    for fold in np.unique(folds):
        values = correct[folds == fold]
        fold_means.append(values[fold_resamples(int(fold), values.size, n_resamples=n_resamples, seed=seed)]
                          .mean(axis=1))
    statistic = np.mean(fold_means, axis=0)
    tail = (1 - confidence) / 2
    low, high = np.quantile(statistic, [tail, 1 - tail])
    return float(low), float(high)


def mcnemar_exact(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> tuple[int, int, float]:
    """(clips only A gets right, clips only B gets right, two-sided exact McNemar p-value) for two
    conditions scored on the same clips in the same order. p = 1 when no clip differs."""
    from scipy.stats import binomtest

    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"the two conditions were scored on different numbers of clips ({a.size} and {b.size})")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    p = 1.0 if only_a + only_b == 0 else float(binomtest(only_a, only_a + only_b, 0.5).pvalue)
    return only_a, only_b, p


def _outcomes(predictions: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    """Per condition (the CONDITION_KEYS without nominal_kbps): its clips' (clip_id, fold, correct),
    sorted by clip id."""
    keys = [k for k in CONDITION_KEYS if k != "nominal_kbps"]
    return {key: group[["clip_id", "fold", "correct"]].sort_values("clip_id").reset_index(drop=True)
            for key, group in predictions.groupby(keys, sort=False)}


def _paired(a: pd.DataFrame, b: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray]:
    if len(a) != len(b) or not np.array_equal(a["clip_id"].to_numpy(), b["clip_id"].to_numpy()):
        raise ValueError(f"{what}: the two conditions were not scored on the same clips")
    return a["correct"].to_numpy(bool), b["correct"].to_numpy(bool)


def add_confidence_and_reference_tests(summary: pd.DataFrame, predictions: pd.DataFrame, *, n_resamples: int = 2000,
                                       confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """``summary`` with, per row, the bootstrap interval of its accuracy and McNemar's test against
    the unprocessed reference (filter and codec ``none``) of its model, classifier and train
    condition: ``clips_lost`` (right under the reference only), ``clips_gained`` (right under the
    condition only) and ``p_vs_reference`` (NaN without a reference in ``predictions``).

    ``predictions``: every condition's per-clip predictions with the condition's key columns
    (model, classifier, train_condition, filter, codec) and clip_id, fold, correct.
    """
    outcomes = _outcomes(predictions)
    rows = []
    for row in summary.itertuples(index=False):
        key = (row.model, row.classifier, row.train_condition, row.filter, row.codec)
        if key not in outcomes:
            raise ValueError(f"no predictions for summary row {dict(zip(CONDITION_KEYS, key))}")
        clips = outcomes[key]
        low, high = bootstrap_accuracy_ci(clips["correct"], clips["fold"], n_resamples=n_resamples,
                                          confidence=confidence, seed=seed)
        reference = outcomes.get((row.model, row.classifier, row.train_condition, UNCODED, UNCODED))
        lost = gained = p = float("nan")
        if reference is not None:
            ref, cond = _paired(reference, clips, f"{key} against the reference")
            lost, gained, p = mcnemar_exact(ref, cond)
        rows.append({"accuracy_ci_low": low, "accuracy_ci_high": high, "clips_lost": lost, "clips_gained": gained,
                     "p_vs_reference": p})
    return pd.concat([summary.reset_index(drop=True), pd.DataFrame(rows, columns=REFERENCE_TEST_COLUMNS)], axis=1)


def equal_rate_tests(summary: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """McNemar's test between every two coded conditions of one nominal bitrate within each model,
    classifier and train condition (different codecs, or one codec with and without a filter):
    which of two codings at the same nominal rate the machine prefers. ``only_a_correct`` and
    ``only_b_correct`` count the clips exactly one of them gets right."""
    outcomes = _outcomes(predictions)
    coded = summary[summary["codec"] != UNCODED]
    rows = []
    for key, group in coded.groupby([*GROUP_KEYS, "nominal_kbps"], sort=True):
        ordered = group.sort_values(["filter", "codec"]).to_dict("records")
        for a, b in itertools.combinations(ordered, 2):
            clips_a = outcomes[(a["model"], a["classifier"], a["train_condition"], a["filter"], a["codec"])]
            clips_b = outcomes[(b["model"], b["classifier"], b["train_condition"], b["filter"], b["codec"])]
            correct_a, correct_b = _paired(clips_a, clips_b, f"{a['codec']} against {b['codec']}")
            only_a, only_b, p = mcnemar_exact(correct_a, correct_b)
            rows.append({**dict(zip(GROUP_KEYS, key[:3])), "nominal_kbps": key[3],
                         "filter_a": a["filter"], "codec_a": a["codec"], "filter_b": b["filter"], "codec_b": b["codec"],
                         "accuracy_a": a["accuracy_mean"], "accuracy_b": b["accuracy_mean"],
                         "actual_kbps_a": a["actual_kbps"], "actual_kbps_b": b["actual_kbps"],
                         "n_clips": len(correct_a), "only_a_correct": only_a, "only_b_correct": only_b, "p_value": p})
    return pd.DataFrame(rows, columns=PAIRED_TEST_COLUMNS)
