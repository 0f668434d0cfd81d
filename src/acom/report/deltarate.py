"""Bjøntegaard-style delta rate between two rate-accuracy curves, and accuracy-drop tables.

The question the report asks is "how many bits does a condition save (or cost) for the same machine
accuracy?". The Bjøntegaard delta rate (BD-rate; G. Bjøntegaard, VCEG-M33, 2001) answers it for
rate-distortion curves: take log rate as a function of quality for both curves, average the gap over
the quality interval both curves cover, and turn the mean log-rate gap into a percent rate change.
Here quality is classification accuracy and rate is the ACTUAL bitrate spent (payload kbps), never
the nominal one: a codec that overshoots its target rate must pay for it.

Why piecewise cubic (PCHIP) and not the original single cubic: VCEG-M33 fits one third-order
polynomial through the (usually four) points. With another number of points, uneven spacing or a
curve that bends sharply (accuracy saturates near the uncoded level), that polynomial overshoots and
oscillates between the points; log rate then is not even monotone in the metric and the integral,
hence the BD-rate, can be far off or change sign. Piecewise cubic Hermite interpolation
(Fritsch-Carlson, ``scipy.interpolate.PchipInterpolator``) passes through every point, keeps monotone
data monotone, never overshoots and works from two points on (two points -> a straight line). It is
what the JCT-VC/JVET common-test-condition BD-rate sheets switched to during HEVC standardisation,
and what the ``bjontegaard`` Python package (FAU-LMS) implements as its "pchip" method.

Non-monotone curves: accuracy measured over a few folds is noisy and can dip at a higher rate.
BD-rate needs log rate as a function of the metric, so each curve is first reduced to its upper
monotone (Pareto) envelope: points sorted by rate, a point is kept only when its metric is strictly
higher than that of every cheaper point. A dropped point is dominated - a cheaper point of the same
curve already reaches at least its accuracy - so the envelope is "the fewest kbps known to reach a
given accuracy", which is what BD-rate compares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator

from acom.conditions import codec_family

GROUP_KEYS = ["model", "classifier", "train_condition"]
DELTA_RATE_COLUMNS = GROUP_KEYS + [
    "reference", "test", "bd_rate_percent", "metric_overlap_low", "metric_overlap_high",
    "n_points_reference", "n_points_test", "note",
]
ACCURACY_DROP_COLUMNS = GROUP_KEYS + [
    "filter", "codec", "nominal_kbps", "actual_kbps", "accuracy_mean", "reference_accuracy", "accuracy_delta",
]


@dataclass(frozen=True)
class Curve:
    """One rate-accuracy curve of the summary: the coded conditions of one codec family under one
    ROI filter (``filter="none"``: unfiltered). Written ``<filter>/<codec_family>`` in tables."""

    filter: str
    codec_family: str

    @property
    def label(self) -> str:
        return f"{self.filter}/{self.codec_family}"


@dataclass(frozen=True)
class DeltaRate:
    """A BD-rate with what it was computed from.

    percent: rate change of the test curve against the reference at equal metric, in percent
        (negative: the test curve needs fewer bits); NaN when undefined, with ``note`` saying why.
    overlap_low, overlap_high: the metric interval both envelopes cover (NaN when they do not meet).
    n_points_reference, n_points_test: points on each upper monotone envelope, i.e. actually used.
    note: empty, or why points were dropped or the value is NaN.
    """

    percent: float
    overlap_low: float
    overlap_high: float
    n_points_reference: int
    n_points_test: int
    note: str = ""


def monotone_envelope(rate: Sequence[float], metric: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The upper monotone (Pareto) envelope of a rate-metric curve, sorted by rate.

    A point survives when its metric is strictly above the metric of every point with a lower rate;
    of points at the same rate the best one counts. The result is strictly increasing in both rate
    and metric, so log rate is a function of the metric on it.
    """
    rate, metric = np.asarray(rate, dtype=np.float64), np.asarray(metric, dtype=np.float64)
    order = np.lexsort((-metric, rate))  # by rate, then best metric first among equal rates
    kept, best = [], -np.inf
    for i in order:
        if metric[i] > best:
            kept.append(i)
            best = metric[i]
    kept = np.asarray(kept, dtype=int)
    return rate[kept], metric[kept]


def _check_curve(name: str, rate: Sequence[float], metric: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    rate, metric = np.asarray(rate, dtype=np.float64), np.asarray(metric, dtype=np.float64)
    if rate.ndim != 1 or rate.shape != metric.shape:
        raise ValueError(f"{name} curve: rate and metric must be 1-D and of equal length, got {rate.shape} "
                         f"and {metric.shape}")
    if len(rate) < 2:
        raise ValueError(f"{name} curve: a delta rate needs at least 2 points, got {len(rate)}")
    if not (np.all(np.isfinite(rate)) and np.all(np.isfinite(metric))):
        raise ValueError(f"{name} curve: rates and metrics must be finite")
    if np.any(rate <= 0):
        raise ValueError(f"{name} curve: rates must be positive (log rate is interpolated)")
    return rate, metric


def _mean_log_rate(rate: np.ndarray, metric: np.ndarray, low: float, high: float) -> float:
    """Mean of log(rate) over metric in [low, high] along the PCHIP interpolant through the envelope."""
    interpolant = PchipInterpolator(metric, np.log(rate), extrapolate=False)
    return float(interpolant.integrate(low, high)) / (high - low)


def delta_rate(rate_ref: Sequence[float], metric_ref: Sequence[float], rate_test: Sequence[float],
               metric_test: Sequence[float]) -> DeltaRate:
    """BD-rate of the test curve against the reference curve, with overlap, point counts and a note.

    Raises ``ValueError`` for malformed input (fewer than 2 points, unequal lengths, non-finite values,
    non-positive rates). Undefined results are NaN, not errors, because they are findings about the
    data, not mistakes of the caller: a report over many model/condition pairs must still be written
    when one pair's curves do not overlap (say, a codec never reaches the other's accuracy). That
    happens when an envelope keeps fewer than 2 points (the metric never improves with rate) or the
    envelopes' metric ranges share less than an interval.
    """
    rate_ref, metric_ref = _check_curve("reference", rate_ref, metric_ref)
    rate_test, metric_test = _check_curve("test", rate_test, metric_test)
    env_ref, env_test = monotone_envelope(rate_ref, metric_ref), monotone_envelope(rate_test, metric_test)
    n_ref, n_test = len(env_ref[0]), len(env_test[0])
    notes = [f"{name}: {n} non-monotone point(s) dropped (upper envelope)"
             for name, n in (("reference", len(rate_ref) - n_ref), ("test", len(rate_test) - n_test)) if n]
    nan = float("nan")
    short = [name for name, n in (("reference", n_ref), ("test", n_test)) if n < 2]
    if short:
        notes.append(f"{' and '.join(short)} envelope has fewer than 2 points: the metric never rises with rate")
        return DeltaRate(nan, nan, nan, n_ref, n_test, "; ".join(notes))
    low = max(env_ref[1][0], env_test[1][0])
    high = min(env_ref[1][-1], env_test[1][-1])
    if not high > low:
        notes.append(f"no metric overlap: reference covers [{env_ref[1][0]:.6g}, {env_ref[1][-1]:.6g}], "
                     f"test [{env_test[1][0]:.6g}, {env_test[1][-1]:.6g}]")
        overlap = (low, high) if high == low else (nan, nan)
        return DeltaRate(nan, *overlap, n_ref, n_test, "; ".join(notes))
    gap = _mean_log_rate(*env_test, low, high) - _mean_log_rate(*env_ref, low, high)
    return DeltaRate(float(math.expm1(gap) * 100.0), float(low), float(high), n_ref, n_test, "; ".join(notes))


def bd_rate(rate_ref: Sequence[float], metric_ref: Sequence[float], rate_test: Sequence[float],
            metric_test: Sequence[float]) -> float:
    """Percent rate change of the test curve against the reference at equal metric (negative: the
    test saves bits); NaN when the curves do not overlap in the metric. See :func:`delta_rate`."""
    return delta_rate(rate_ref, metric_ref, rate_test, metric_test).percent


def curve_points(group: pd.DataFrame, curve: Curve, *, metric: str = "accuracy_mean") -> tuple[np.ndarray, np.ndarray]:
    """(actual kbps, metric) of ``curve``'s coded conditions in one model/classifier/train-condition
    group of the summary, sorted by rate; the uncoded condition is never a curve point."""
    coded = group["codec"] != "none"
    families = group["codec"].map(codec_family)
    rows = group[coded & (group["filter"] == curve.filter) & (families == curve.codec_family)]
    rows = rows.sort_values("actual_kbps")
    return rows["actual_kbps"].to_numpy(np.float64), rows[metric].to_numpy(np.float64)


def _as_curve(selector: Curve | tuple[str, str]) -> Curve:
    return selector if isinstance(selector, Curve) else Curve(*selector)


def delta_rate_table(summary: pd.DataFrame, pairs: Sequence[tuple[Curve | tuple[str, str], Curve | tuple[str, str]]],
                     *, metric: str = "accuracy_mean") -> pd.DataFrame:
    """BD-rate for each (reference, test) pair of curves in every model/classifier/train-condition group.

    ``pairs`` holds (reference, test) curves, each a :class:`Curve` or a ``(filter, codec_family)``
    tuple: ``(("none", "opus"), ("lowpass_4000", "opus"))`` asks what the filter saves with Opus,
    ``(("none", "opus"), ("none", "encodec24"))`` what EnCodec saves over Opus. Rates are actual kbps.
    A group holding neither curve of a pair gives no row; one holding only one curve, or fewer than
    2 points on one, gives a NaN row whose ``note`` says why, so a missing comparison stays visible.
    """
    rows = []
    for key, group in summary.groupby(GROUP_KEYS, sort=True, dropna=False):
        for reference, test in (tuple(map(_as_curve, pair)) for pair in pairs):
            ref_points = curve_points(group, reference, metric=metric)
            test_points = curve_points(group, test, metric=metric)
            if len(ref_points[0]) == 0 and len(test_points[0]) == 0:
                continue
            try:
                result = delta_rate(*ref_points, *test_points)
            except ValueError as err:
                nan = float("nan")
                result = DeltaRate(nan, nan, nan, len(ref_points[0]), len(test_points[0]), str(err))
            rows.append({
                **dict(zip(GROUP_KEYS, key)), "reference": reference.label, "test": test.label,
                "bd_rate_percent": result.percent, "metric_overlap_low": result.overlap_low,
                "metric_overlap_high": result.overlap_high, "n_points_reference": result.n_points_reference,
                "n_points_test": result.n_points_test, "note": result.note,
            })
    return pd.DataFrame(rows, columns=DELTA_RATE_COLUMNS)


def accuracy_drop(summary: pd.DataFrame) -> pd.DataFrame:
    """Every condition's accuracy against the clean reference of its model/classifier/train-condition.

    ``reference_accuracy`` is ``accuracy_mean`` of the uncoded, unfiltered condition (filter ``none``,
    codec ``none``) of the same group; ``accuracy_delta`` = condition - reference, so a loss is
    negative (and the reference row itself is 0). A group without a clean condition gets NaN rather
    than an error, so a partial run still yields a table. Rows are sorted by group, filter, codec
    family and nominal rate (the uncoded row of each filter first).
    """
    clean = summary[(summary["filter"] == "none") & (summary["codec"] == "none")]
    if clean.duplicated(GROUP_KEYS).any():
        raise ValueError("the summary holds several clean (filter none, codec none) rows for one "
                         "model/classifier/train_condition")
    reference = clean[GROUP_KEYS + ["accuracy_mean"]].rename(columns={"accuracy_mean": "reference_accuracy"})
    table = summary.merge(reference, on=GROUP_KEYS, how="left")
    table["accuracy_delta"] = table["accuracy_mean"] - table["reference_accuracy"]
    family = table["codec"].map(codec_family)
    table = table.assign(_coded=family != "none", _family=family)
    table = table.sort_values(GROUP_KEYS + ["filter", "_coded", "_family", "nominal_kbps"]).reset_index(drop=True)
    return table[ACCURACY_DROP_COLUMNS]


def comparison_pairs(filters: Sequence[str], codec_families: Sequence[str], *,
                     filter_codecs: Sequence[str] | None = None) -> list[tuple[Curve, Curve]]:
    """(reference, test) curves worth a delta rate: every filter against no filter under each codec
    family the filters are coded with (``filter_codecs``, default all: what ROI filtering saves), and
    every codec family against the first one, unfiltered (e.g. MP3 or EnCodec against Opus)."""
    filtered = codec_families if filter_codecs is None else filter_codecs
    pairs = [(Curve("none", family), Curve(name, family)) for family in filtered for name in filters]
    pairs += [(Curve("none", codec_families[0]), Curve("none", family)) for family in codec_families[1:]]
    return pairs
