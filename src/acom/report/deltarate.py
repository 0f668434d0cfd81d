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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator

from acom.conditions import codec_family

GROUP_KEYS = ["model", "classifier", "train_condition"]
DELTA_RATE_COLUMNS = GROUP_KEYS + [
    "reference", "test", "bd_rate_percent", "bd_rate_ci_low", "bd_rate_ci_high", "metric_overlap_low",
    "metric_overlap_high", "n_points_reference", "n_points_test", "note",
]
# Bootstrap resamples whose curves no longer overlap give no BD-rate; above this share of them the
# interval is not reported (it would describe only the resamples that happen to overlap).
MAX_UNDEFINED_SHARE = 0.05
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


def curve_rows(group: pd.DataFrame, curve: Curve) -> pd.DataFrame:
    """The summary rows of ``curve``'s coded conditions in one model/classifier/train-condition
    group, sorted by actual rate; the uncoded condition is never a curve point."""
    coded = group["codec"] != "none"
    families = group["codec"].map(codec_family)
    return group[coded & (group["filter"] == curve.filter) & (families == curve.codec_family)].sort_values("actual_kbps")


def curve_points(group: pd.DataFrame, curve: Curve, *, metric: str = "accuracy_mean") -> tuple[np.ndarray, np.ndarray]:
    """(actual kbps, metric) of ``curve``'s coded conditions in one group of the summary (see :func:`curve_rows`)."""
    rows = curve_rows(group, curve)
    return rows["actual_kbps"].to_numpy(np.float64), rows[metric].to_numpy(np.float64)


def resampled_accuracies(correct: np.ndarray, folds: np.ndarray, *, n_resamples: int, seed: int) -> np.ndarray:
    """(conditions, n_resamples) accuracies (the mean over folds of per-fold accuracy) of per-clip
    outcomes ``correct`` (conditions, clips), clips resampled within each fold exactly as the
    summary's intervals resample them (:func:`acom.classification.significance.fold_resamples`)."""
    from acom.classification.significance import fold_resamples

    correct = np.asarray(correct, dtype=bool)
    fold_means = []
    for fold in np.unique(folds):
        values = correct[:, folds == fold]
        index = fold_resamples(int(fold), values.shape[1], n_resamples=n_resamples, seed=seed)
        fold_means.append(values[:, index].mean(axis=2))
    return np.mean(fold_means, axis=0)


def delta_rate_interval(rate_ref: np.ndarray, correct_ref: np.ndarray, rate_test: np.ndarray,
                        correct_test: np.ndarray, folds: np.ndarray, *, n_resamples: int = 2000,
                        confidence: float = 0.95, seed: int = 0) -> tuple[float, float, str]:
    """Percentile bootstrap interval of the BD-rate of two curves: the clips are resampled within
    each fold (the same clips for every condition, a paired bootstrap), each condition's accuracy
    recomputed and the BD-rate taken again with the rates held at their measured means (the rate of
    a condition varies far less between resamples than its accuracy). ``correct_*`` is (points,
    clips) in the curves' point order, clips in one order with ``folds``. Returns (low, high, note);
    NaN with a note when more than :data:`MAX_UNDEFINED_SHARE` of the resamples give no BD-rate."""
    accuracies = resampled_accuracies(np.concatenate([correct_ref, correct_test]), np.asarray(folds),
                                      n_resamples=n_resamples, seed=seed)
    n_ref = len(rate_ref)
    values = np.array([delta_rate(rate_ref, accuracies[:n_ref, b], rate_test, accuracies[n_ref:, b]).percent
                       for b in range(n_resamples)])
    undefined = float(np.mean(np.isnan(values)))
    if undefined > MAX_UNDEFINED_SHARE:
        nan = float("nan")
        return nan, nan, f"no interval: {undefined:.0%} of bootstrap resamples give no BD-rate (curves barely overlap)"
    tail = (1 - confidence) / 2
    low, high = np.nanquantile(values, [tail, 1 - tail])
    note = f"{undefined:.1%} of bootstrap resamples gave no BD-rate" if undefined else ""
    return float(low), float(high), note


def _as_curve(selector: Curve | tuple[str, str]) -> Curve:
    return selector if isinstance(selector, Curve) else Curve(*selector)


def delta_rate_table(summary: pd.DataFrame, pairs: Sequence[tuple[Curve | tuple[str, str], Curve | tuple[str, str]]],
                     *, metric: str = "accuracy_mean", predictions: pd.DataFrame | None = None,
                     n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """BD-rate for each (reference, test) pair of curves in every model/classifier/train-condition group.

    ``pairs`` holds (reference, test) curves, each a :class:`Curve` or a ``(filter, codec_family)``
    tuple: ``(("none", "opus"), ("lowpass_4000", "opus"))`` asks what the filter saves with Opus,
    ``(("none", "opus"), ("none", "encodec24"))`` what EnCodec saves over Opus. Rates are actual kbps.
    A group holding neither curve of a pair gives no row; one holding only one curve, or fewer than
    2 points on one, gives a NaN row whose ``note`` says why, so a missing comparison stays visible.

    With ``predictions`` (per clip: model, classifier, train_condition, filter, codec, clip_id, fold,
    correct) each defined BD-rate of ``accuracy_mean`` gets its ``confidence`` bootstrap interval
    (:func:`delta_rate_interval`); without, the interval columns are NaN.
    """
    rows = []
    outcomes = _outcomes_by_condition(predictions) if predictions is not None else None
    nan = float("nan")
    for key, group in summary.groupby(GROUP_KEYS, sort=True, dropna=False):
        for reference, test in (tuple(map(_as_curve, pair)) for pair in pairs):
            ref_rows, test_rows = curve_rows(group, reference), curve_rows(group, test)
            if ref_rows.empty and test_rows.empty:
                continue
            ref_points = ref_rows["actual_kbps"].to_numpy(np.float64), ref_rows[metric].to_numpy(np.float64)
            test_points = test_rows["actual_kbps"].to_numpy(np.float64), test_rows[metric].to_numpy(np.float64)
            try:
                result = delta_rate(*ref_points, *test_points)
            except ValueError as err:
                result = DeltaRate(nan, nan, nan, len(ref_points[0]), len(test_points[0]), str(err))
            low = high = nan
            notes = [result.note] if result.note else []
            if outcomes is not None and metric == "accuracy_mean" and not math.isnan(result.percent):
                ref_correct, folds = _curve_outcomes(outcomes, key, ref_rows)
                test_correct, _ = _curve_outcomes(outcomes, key, test_rows)
                low, high, note = delta_rate_interval(ref_points[0], ref_correct, test_points[0], test_correct, folds,
                                                      n_resamples=n_resamples, confidence=confidence, seed=seed)
                notes += [note] if note else []
            rows.append({
                **dict(zip(GROUP_KEYS, key)), "reference": reference.label, "test": test.label,
                "bd_rate_percent": result.percent, "bd_rate_ci_low": low, "bd_rate_ci_high": high,
                "metric_overlap_low": result.overlap_low, "metric_overlap_high": result.overlap_high,
                "n_points_reference": result.n_points_reference, "n_points_test": result.n_points_test,
                "note": "; ".join(notes),
            })
    return pd.DataFrame(rows, columns=DELTA_RATE_COLUMNS)


def _outcomes_by_condition(predictions: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    """Per (model, classifier, train_condition, filter, codec): its clips' (fold, correct), by clip id."""
    keys = GROUP_KEYS + ["filter", "codec"]
    return {key: table.set_index("clip_id").sort_index()[["fold", "correct"]]
            for key, table in predictions.groupby(keys, sort=False)}


def _curve_outcomes(outcomes: dict[tuple, pd.DataFrame], group_key: tuple, rows: pd.DataFrame
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(points, clips) outcomes of a curve's conditions and the clips' folds; every condition must
    have been scored on the same clips."""
    tables = []
    for row in rows.itertuples(index=False):
        key = (*group_key, row.filter, row.codec)
        if key not in outcomes:
            raise ValueError(f"no per-clip predictions for {'/'.join(map(str, key))}: the summary and the "
                             "predictions come from different runs")
        tables.append(outcomes[key])
    index = tables[0].index
    for table, row in zip(tables[1:], rows.itertuples(index=False)):
        if not table.index.equals(index):
            raise ValueError(f"{row.filter}/{row.codec} was scored on other clips than {rows['codec'].iloc[0]}")
    return np.stack([table["correct"].to_numpy(bool) for table in tables]), tables[0]["fold"].to_numpy()


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
                     filter_codecs: Sequence[str] | Mapping[str, Sequence[str]] | None = None
                     ) -> list[tuple[Curve, Curve]]:
    """(reference, test) curves worth a delta rate: every filter against no filter under each codec
    family the filters are coded with (``filter_codecs``: one list for every filter, or a list per
    filter; default all: what ROI filtering saves), and every codec family against the first one,
    unfiltered (e.g. MP3 or EnCodec against Opus)."""
    def families_of(name: str) -> Sequence[str]:
        if filter_codecs is None:
            return codec_families
        return filter_codecs.get(name, []) if isinstance(filter_codecs, Mapping) else filter_codecs

    pairs = [(Curve("none", family), Curve(name, family)) for name in filters for family in families_of(name)]
    pairs += [(Curve("none", codec_families[0]), Curve("none", family)) for family in codec_families[1:]]
    return pairs
