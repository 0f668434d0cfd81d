"""BD-rate on curves with a known rate ratio, its edge cases, and the summary tables built on it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from acom.classification.protocol import SUMMARY_COLUMNS
from acom.report.deltarate import (
    ACCURACY_DROP_COLUMNS,
    DELTA_RATE_COLUMNS,
    Curve,
    accuracy_drop,
    bd_rate,
    comparison_pairs,
    delta_rate,
    delta_rate_interval,
    delta_rate_table,
    monotone_envelope,
)

RATES = np.array([1.5, 3.0, 6.0, 12.0, 24.0, 48.0])
ACCURACIES = np.array([0.20, 0.45, 0.62, 0.74, 0.80, 0.83])


def _accuracy_at(rate):
    """A smooth, strictly increasing accuracy-vs-rate curve (logistic in log rate, saturating at 0.9)."""
    return 0.9 / (1.0 + np.exp(-1.5 * (np.log(rate) - np.log(6.0))))


def test_known_rate_ratio_is_exact():
    # The test codec reaches every accuracy with 0.8x the reference's kbps: exactly -20 %.
    assert bd_rate(RATES, ACCURACIES, 0.8 * RATES, ACCURACIES) == pytest.approx(-20.0, abs=1e-9)
    assert bd_rate(RATES, ACCURACIES, 1.5 * RATES, ACCURACIES) == pytest.approx(50.0, abs=1e-9)


def test_different_sample_points_on_the_same_underlying_curve():
    ref_rates = np.geomspace(1.5, 64.0, 10)
    test_rates = np.geomspace(1.1, 50.0, 13)  # other rates, more of them
    result = delta_rate(ref_rates, _accuracy_at(ref_rates), test_rates, _accuracy_at(test_rates / 0.8))
    assert result.percent == pytest.approx(-20.0, abs=0.1)
    assert result.n_points_reference == 10 and result.n_points_test == 13 and result.note == ""
    # The overlap is where both curves have data, in accuracy.
    assert result.overlap_low == pytest.approx(max(_accuracy_at(1.5), _accuracy_at(1.1 / 0.8)))
    assert result.overlap_high == pytest.approx(min(_accuracy_at(64.0), _accuracy_at(50.0 / 0.8)))


def test_swapping_the_curves_inverts_the_rate_ratio():
    ref_rates, test_rates = np.geomspace(1.5, 64.0, 7), np.geomspace(1.1, 50.0, 9)
    forward = bd_rate(ref_rates, _accuracy_at(ref_rates), test_rates, _accuracy_at(test_rates / 0.7))
    backward = bd_rate(test_rates, _accuracy_at(test_rates / 0.7), ref_rates, _accuracy_at(ref_rates))
    assert forward < 0 < backward
    assert (1 + forward / 100) * (1 + backward / 100) == pytest.approx(1.0, abs=1e-12)


def test_identical_curves_give_zero():
    assert bd_rate(RATES, ACCURACIES, RATES, ACCURACIES) == pytest.approx(0.0, abs=1e-12)


def test_the_original_single_cubic_would_overshoot_where_pchip_does_not():
    # A curve that saturates sharply: the VCEG-M33 cubic fit of log rate vs accuracy is not monotone
    # over the data range, PCHIP through the same points is.
    rates, accuracies = np.array([1.0, 2.0, 4.0, 8.0, 16.0]), np.array([0.10, 0.70, 0.80, 0.82, 0.83])
    grid = np.linspace(accuracies[0], accuracies[-1], 500)
    cubic = np.polyval(np.polyfit(accuracies, np.log(rates), 3), grid)
    assert np.any(np.diff(cubic) < 0)
    from scipy.interpolate import PchipInterpolator

    assert np.all(np.diff(PchipInterpolator(accuracies, np.log(rates))(grid)) >= 0)
    assert bd_rate(rates, accuracies, 0.5 * rates, accuracies) == pytest.approx(-50.0, abs=1e-9)


@pytest.mark.parametrize("rates, metrics", [([4.0], [0.5]), ([], [])])
def test_fewer_than_two_points_is_an_error(rates, metrics):
    with pytest.raises(ValueError, match="at least 2 points"):
        bd_rate(rates, metrics, RATES, ACCURACIES)
    with pytest.raises(ValueError, match="at least 2 points"):
        bd_rate(RATES, ACCURACIES, rates, metrics)


@pytest.mark.parametrize("rates, metrics, match", [
    ([1.0, 2.0], [0.5], "equal length"),
    ([0.0, 2.0], [0.4, 0.5], "positive"),
    ([1.0, np.nan], [0.4, 0.5], "finite"),
])
def test_malformed_curves_are_errors(rates, metrics, match):
    with pytest.raises(ValueError, match=match):
        bd_rate(rates, metrics, RATES, ACCURACIES)


def test_no_metric_overlap_is_nan_with_a_reason():
    result = delta_rate([1.0, 2.0, 4.0], [0.1, 0.2, 0.3], [8.0, 16.0], [0.5, 0.6])
    assert math.isnan(result.percent) and "no metric overlap" in result.note
    assert math.isnan(bd_rate([1.0, 2.0, 4.0], [0.1, 0.2, 0.3], [8.0, 16.0], [0.5, 0.6]))
    # Touching in one metric value only is no interval either.
    touching = delta_rate([1.0, 2.0], [0.1, 0.3], [4.0, 8.0], [0.3, 0.5])
    assert math.isnan(touching.percent) and touching.overlap_low == touching.overlap_high == 0.3


def test_monotone_envelope_keeps_only_points_no_cheaper_point_beats():
    rate, metric = monotone_envelope([32.0, 4.0, 8.0, 16.0, 8.0, 2.0], [0.78, 0.60, 0.70, 0.80, 0.65, 0.60])
    # 4 kbps (0.60) does not beat 2 kbps (0.60); 32 kbps dips below 16 kbps; of the two 8 kbps
    # points the better one counts.
    np.testing.assert_array_equal(rate, [2.0, 8.0, 16.0])
    np.testing.assert_array_equal(metric, [0.60, 0.70, 0.80])


def test_a_dip_at_high_rate_is_dropped_and_noted():
    dipped = ACCURACIES.copy()
    dipped[-1] = ACCURACIES[-2] - 0.01  # noise: the highest rate scores below the second highest
    result = delta_rate(RATES, ACCURACIES, 0.8 * RATES, dipped)
    assert result.n_points_test == len(RATES) - 1 and "test: 1 non-monotone point(s) dropped" in result.note
    # The rule is exactly "leave the dominated point out"; the overlap shrinks to the envelope's top.
    without = delta_rate(RATES, ACCURACIES, 0.8 * RATES[:-1], ACCURACIES[:-1])
    assert result.percent == without.percent and without.note == ""
    assert result.overlap_high == pytest.approx(ACCURACIES[-2])
    # Still close to the 0.8x the remaining points have (the end slope of the interpolant changed).
    assert result.percent == pytest.approx(-20.0, abs=0.5)


def test_a_curve_that_never_improves_is_nan():
    result = delta_rate(RATES, ACCURACIES, [2.0, 4.0, 8.0], [0.5, 0.5, 0.4])
    assert math.isnan(result.percent) and result.n_points_test == 1 and "fewer than 2 points" in result.note


def _summary_rows(model, filt, family, rates, accuracies, *, nominal=None):
    nominal = rates if nominal is None else nominal
    return [{"model": model, "classifier": "logreg", "train_condition": "clean", "filter": filt,
             "codec": f"{family}_{n:g}", "nominal_kbps": float(n), "actual_kbps": float(r), "accuracy_mean": float(a),
             "accuracy_std": 0.01, "macro_f1_mean": float(a) - 0.01, "n_folds": 5, "n_clips": 2000}
            for n, r, a in zip(nominal, rates, accuracies)]


def _clean_row(model, accuracy, kbps=256.0):
    return {"model": model, "classifier": "logreg", "train_condition": "clean", "filter": "none", "codec": "none",
            "nominal_kbps": kbps, "actual_kbps": kbps, "accuracy_mean": accuracy, "accuracy_std": 0.01,
            "macro_f1_mean": accuracy, "n_folds": 5, "n_clips": 2000}


def _summary():
    nominal = [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    rows = [_clean_row("a", 0.9), _clean_row("b", 0.8)]
    rows += _summary_rows("a", "none", "opus", RATES, ACCURACIES, nominal=nominal)
    rows += _summary_rows("a", "lowpass_4000", "opus", 0.8 * RATES, ACCURACIES, nominal=nominal)
    rows += _summary_rows("a", "none", "encodec24", 1.25 * RATES, ACCURACIES, nominal=nominal)
    rows += _summary_rows("b", "none", "opus", RATES, ACCURACIES - 0.1, nominal=nominal)
    rows += _summary_rows("b", "lowpass_4000", "opus", [3.0], [0.5], nominal=[4.0])  # one point only
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def test_delta_rate_table_per_model_uses_actual_kbps():
    pairs = [(("none", "opus"), ("lowpass_4000", "opus")), (Curve("none", "opus"), Curve("none", "encodec24"))]
    table = delta_rate_table(_summary(), pairs)
    assert list(table.columns) == DELTA_RATE_COLUMNS
    rows = {(r.model, r.reference, r.test): r for r in table.itertuples(index=False)}
    # Model b has no encodec24 curve at all and only one lowpass point: no row, resp. a NaN row.
    assert set(rows) == {("a", "none/opus", "lowpass_4000/opus"), ("a", "none/opus", "none/encodec24"),
                         ("b", "none/opus", "lowpass_4000/opus"), ("b", "none/opus", "none/encodec24")}
    assert rows["a", "none/opus", "lowpass_4000/opus"].bd_rate_percent == pytest.approx(-20.0, abs=1e-9)
    assert rows["a", "none/opus", "none/encodec24"].bd_rate_percent == pytest.approx(25.0, abs=1e-9)
    a = rows["a", "none/opus", "lowpass_4000/opus"]
    assert (a.n_points_reference, a.n_points_test) == (6, 6)
    assert (a.metric_overlap_low, a.metric_overlap_high) == pytest.approx((ACCURACIES[0], ACCURACIES[-1]))
    b = rows["b", "none/opus", "lowpass_4000/opus"]
    assert math.isnan(b.bd_rate_percent) and "at least 2 points" in b.note and b.n_points_test == 1
    b_encodec = rows["b", "none/opus", "none/encodec24"]
    assert math.isnan(b_encodec.bd_rate_percent) and b_encodec.n_points_test == 0


def test_accuracy_drop_is_relative_to_the_clean_condition_of_each_model():
    summary = _summary()
    table = accuracy_drop(summary)
    assert list(table.columns) == ACCURACY_DROP_COLUMNS and len(table) == len(summary)
    for row in table.itertuples(index=False):
        clean = 0.9 if row.model == "a" else 0.8
        assert row.reference_accuracy == clean
        assert row.accuracy_delta == pytest.approx(row.accuracy_mean - clean, abs=1e-12)
    first = table[(table.model == "a") & (table["filter"] == "none")].iloc[0]
    assert (first["codec"], first["accuracy_delta"]) == ("none", 0.0)
    # Coded rows are in rate order, not in the string order of their condition names.
    opus_a = table[(table.model == "a") & (table["filter"] == "none") & table.codec.str.startswith("opus")]
    assert opus_a.nominal_kbps.tolist() == sorted(opus_a.nominal_kbps)


def test_accuracy_drop_without_a_clean_reference_is_nan():
    summary = _summary()
    table = accuracy_drop(summary[~((summary.model == "b") & (summary.codec == "none"))])
    assert table[table.model == "b"].accuracy_delta.isna().all()
    assert table[table.model == "a"].accuracy_delta.notna().all()


def _outcomes(rng, accuracies, n_per_fold=100, folds=5):
    """Per-clip outcomes (points, clips) whose per-fold accuracies follow ``accuracies``, and the folds."""
    clips = n_per_fold * folds
    correct = np.stack([rng.random(clips) < a for a in accuracies])
    return correct, np.repeat(np.arange(1, folds + 1), n_per_fold)


def test_delta_rate_interval_covers_the_estimate_and_narrows_with_more_clips():
    rng = np.random.default_rng(0)
    rates = np.array([6.0, 8.0, 12.0, 16.0])
    widths = []
    for n_per_fold in (40, 400):
        ref, folds = _outcomes(rng, [0.55, 0.65, 0.72, 0.76], n_per_fold)
        test, _ = _outcomes(rng, [0.55, 0.65, 0.72, 0.76], n_per_fold)
        acc_ref, acc_test = (np.mean([c[:, folds == f].mean(axis=1) for f in np.unique(folds)], axis=0)
                             for c in (ref, test))
        estimate = bd_rate(rates, acc_ref, 0.8 * rates, acc_test)
        low, high, note = delta_rate_interval(rates, ref, 0.8 * rates, test, folds, n_resamples=300, seed=1)
        assert low <= estimate <= high, (low, estimate, high, note)
        widths.append(high - low)
    assert widths[1] < 0.75 * widths[0]  # ten times the clips: a clearly narrower interval


def test_delta_rate_interval_is_paired_and_reproducible():
    rng = np.random.default_rng(3)
    rates = np.array([6.0, 8.0, 12.0, 16.0])
    ref, folds = _outcomes(rng, [0.5, 0.6, 0.7, 0.75])
    # The test curve scores exactly the same clips correct at 80 % of the rate: every paired resample
    # gives the same -20 %, so the interval collapses onto it.
    low, high, _ = delta_rate_interval(rates, ref, 0.8 * rates, ref.copy(), folds, n_resamples=200, seed=0)
    assert low == pytest.approx(-20.0, abs=1e-9) and high == pytest.approx(-20.0, abs=1e-9)
    again = delta_rate_interval(rates, ref, 0.8 * rates, ref.copy(), folds, n_resamples=200, seed=0)
    assert again[:2] == (low, high)


def test_delta_rate_table_adds_intervals_from_per_clip_predictions():
    rng = np.random.default_rng(5)
    rates = np.array([6.0, 8.0, 12.0, 16.0])
    correct, folds = _outcomes(rng, [0.5, 0.6, 0.7, 0.75])
    rows, predictions = [_clean_row("a", 0.9)], []
    for filt, scale in (("none", 1.0), ("bits", 0.7)):
        for point, (nominal, rate) in enumerate(zip(rates, scale * rates)):
            per_fold = [correct[point, folds == f].mean() for f in np.unique(folds)]
            rows += _summary_rows("a", filt, "opus", [rate], [np.mean(per_fold)], nominal=[nominal])
            predictions.append(pd.DataFrame({"model": "a", "classifier": "logreg", "train_condition": "clean",
                                             "filter": filt, "codec": f"opus_{nominal:g}",
                                             "clip_id": [f"c{i:04d}" for i in range(len(folds))], "fold": folds,
                                             "correct": correct[point]}))
    table = delta_rate_table(pd.DataFrame(rows, columns=SUMMARY_COLUMNS), [(("none", "opus"), ("bits", "opus"))],
                             predictions=pd.concat(predictions), n_resamples=100)
    row = table.iloc[0]
    assert row.bd_rate_percent == pytest.approx(-30.0, abs=1e-9)
    assert row.bd_rate_ci_low == pytest.approx(-30.0, abs=1e-9) and row.bd_rate_ci_high == pytest.approx(-30.0, abs=1e-9)
    missing = pd.concat(predictions)
    with pytest.raises(ValueError, match="no per-clip predictions for a/logreg/clean/none/opus_16"):
        delta_rate_table(pd.DataFrame(rows, columns=SUMMARY_COLUMNS), [(("none", "opus"), ("bits", "opus"))],
                         predictions=missing[missing["codec"] != "opus_16"], n_resamples=10)


def test_comparison_pairs_take_each_filters_own_codecs():
    pairs = comparison_pairs(["lowpass", "bits"], ["opus", "mp3"], filter_codecs={"lowpass": ["opus", "mp3"],
                                                                                  "bits": ["opus"]})
    labels = [(ref.label, test.label) for ref, test in pairs]
    assert labels == [("none/opus", "lowpass/opus"), ("none/mp3", "lowpass/mp3"), ("none/opus", "bits/opus"),
                      ("none/opus", "none/mp3")]
