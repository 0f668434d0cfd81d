"""Bootstrap intervals and McNemar tests of the summary, against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from acom.classification.significance import (
    add_confidence_and_reference_tests,
    bootstrap_accuracy_ci,
    equal_rate_tests,
    mcnemar_exact,
)


def _exact_mcnemar(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from its definition: twice the binomial(b + c, 1/2) tail."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


@pytest.mark.parametrize("b, c", [(0, 0), (3, 0), (10, 4), (25, 25), (7, 31), (120, 90)])
def test_mcnemar_equals_the_binomial_tail(b, c):
    a_correct = np.array([True] * b + [False] * c + [True] * 50 + [False] * 20)
    b_correct = np.array([False] * b + [True] * c + [True] * 50 + [False] * 20)
    only_a, only_b, p = mcnemar_exact(a_correct, b_correct)
    assert (only_a, only_b) == (b, c)
    assert p == pytest.approx(_exact_mcnemar(b, c), rel=1e-9)


def test_bootstrap_interval_matches_the_normal_approximation_for_many_clips():
    rng = np.random.default_rng(3)
    folds = np.repeat(np.arange(1, 6), 400)
    correct = rng.random(folds.size) < 0.8
    low, high = bootstrap_accuracy_ci(correct, folds, n_resamples=4000, seed=0)
    p = correct.mean()
    half = 1.96 * math.sqrt(p * (1 - p) / correct.size)
    assert low < p < high
    assert low == pytest.approx(p - half, abs=0.004) and high == pytest.approx(p + half, abs=0.004)


def test_bootstrap_is_stratified_by_fold():
    # Fold 1 all right, fold 2 all wrong: resampling within folds always gives 0.5; resampling the
    # pooled clips would spread around it.
    folds = np.repeat([1, 2], 200)
    correct = folds == 1
    assert bootstrap_accuracy_ci(correct, folds, n_resamples=500, seed=0) == (0.5, 0.5)


def test_bootstrap_is_seeded_and_paired_across_conditions():
    rng = np.random.default_rng(0)
    folds = np.repeat(np.arange(1, 6), 80)
    correct = rng.random(folds.size) < 0.7
    first = bootstrap_accuracy_ci(correct, folds, seed=5)
    assert bootstrap_accuracy_ci(correct, folds, seed=5) == first
    assert bootstrap_accuracy_ci(correct, folds, seed=6) != first
    # The same clips are resampled for every condition: one that gets a subset of the clips right is
    # no better in any replicate, so neither bound can rise (independent resamples would jitter).
    worse = correct.copy()
    worse[np.flatnonzero(correct)[::7]] = False
    low, high = bootstrap_accuracy_ci(worse, folds, seed=5)
    assert low <= first[0] and high <= first[1]
    with pytest.raises(ValueError, match="equal-length"):
        bootstrap_accuracy_ci(correct[:-1], folds)


def _predictions(outcomes: dict[tuple[str, str], np.ndarray], folds: np.ndarray) -> pd.DataFrame:
    frames = []
    for (filter_, codec), correct in outcomes.items():
        frames.append(pd.DataFrame({"model": "m", "classifier": "logreg", "train_condition": "clean",
                                    "filter": filter_, "codec": codec, "clip_id": [f"c{i:03d}" for i in range(folds.size)],
                                    "fold": folds, "correct": correct}))
    return pd.concat(frames, ignore_index=True)


def _summary(outcomes, kbps):
    return pd.DataFrame([{"model": "m", "classifier": "logreg", "train_condition": "clean", "filter": f, "codec": c,
                          "nominal_kbps": kbps[c], "actual_kbps": kbps[c], "accuracy_mean": float(v.mean())}
                         for (f, c), v in outcomes.items()])


def test_summary_rows_gain_intervals_and_tests_against_the_reference():
    folds = np.repeat([1, 2], 50)
    reference = np.arange(100) % 10 != 0  # 90 right
    coded = reference.copy()
    coded[:30:3] = ~coded[:30:3]  # flips 10 clips, some right under the reference, some wrong
    outcomes = {("none", "none"): reference, ("none", "opus_16"): coded}
    summary = _summary(outcomes, {"none": 256.0, "opus_16": 16.0})
    table = add_confidence_and_reference_tests(summary, _predictions(outcomes, folds), n_resamples=300, seed=1)
    row = table.set_index("codec").loc["opus_16"]
    lost, gained = int(np.sum(reference & ~coded)), int(np.sum(~reference & coded))
    assert (row.clips_lost, row.clips_gained) == (lost, gained)
    assert row.p_vs_reference == pytest.approx(_exact_mcnemar(lost, gained))
    assert row.accuracy_ci_low <= row.accuracy_mean <= row.accuracy_ci_high
    ref = table.set_index("codec").loc["none"]
    assert (ref.clips_lost, ref.clips_gained, ref.p_vs_reference) == (0, 0, 1.0)


def test_equal_rate_tests_pair_only_conditions_of_one_nominal_rate():
    rng = np.random.default_rng(2)
    folds = np.repeat([1, 2], 100)
    outcomes = {(f, c): rng.random(200) < 0.7 for f, c in
                [("none", "none"), ("none", "opus_16"), ("none", "mp3_16"), ("lowpass", "opus_16"), ("none", "aac_24")]}
    summary = _summary(outcomes, {"none": 256.0, "opus_16": 16.0, "mp3_16": 16.0, "aac_24": 24.0})
    table = equal_rate_tests(summary, _predictions(outcomes, folds))
    assert len(table) == 3 and set(table["nominal_kbps"]) == {16.0}
    for row in table.itertuples():
        a, b = outcomes[(row.filter_a, row.codec_a)], outcomes[(row.filter_b, row.codec_b)]
        assert (row.only_a_correct, row.only_b_correct) == (int(np.sum(a & ~b)), int(np.sum(~a & b)))
        assert row.p_value == pytest.approx(_exact_mcnemar(row.only_a_correct, row.only_b_correct))


def test_conditions_scored_on_different_clips_are_refused():
    folds = np.repeat([1, 2], 10)
    outcomes = {("none", "none"): np.ones(20, bool), ("none", "opus_16"): np.ones(20, bool)}
    predictions = _predictions(outcomes, folds)
    predictions = predictions.drop(index=predictions.index[-1])
    with pytest.raises(ValueError, match="not scored on the same clips"):
        add_confidence_and_reference_tests(_summary(outcomes, {"none": 256.0, "opus_16": 16.0}), predictions)
