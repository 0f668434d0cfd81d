"""Segment- and event-based SED metrics against hand-computed cases and sed_eval itself.

Expected values are computed by hand; the arithmetic is in the comments.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from acom.events import STRONG_COLUMNS as EVENT_COLUMNS
from acom.sed.metrics import evaluate_events

CLASSES = ["Cat", "Dog"]


def events(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=EVENT_COLUMNS)


def test_evaluate_perfect_estimate():
    reference = events(("a.wav", 0.0, 3.0, "Dog"), ("a.wav", 5.0, 6.0, "Cat"), ("b.wav", 1.2, 4.7, "Cat"))
    metrics = evaluate_events(reference, reference.copy(), durations={"a.wav": 10.0, "b.wav": 10.0}, classes=CLASSES)
    for key, value in metrics.items():
        assert value == (0.0 if "_er_" in key else 1.0), key


def test_evaluate_hand_computed_case():
    # one 10 s file. reference Dog [0, 3), Cat [5, 6); estimate Dog [0.1, 3.1), Cat [7, 8)
    reference = events(("a.wav", 0.0, 3.0, "Dog"), ("a.wav", 5.0, 6.0, "Cat"))
    estimated = events(("a.wav", 0.1, 3.1, "Dog"), ("a.wav", 7.0, 8.0, "Cat"))
    metrics = evaluate_events(reference, estimated, durations={"a.wav": 10.0}, classes=CLASSES)
    # Segment-based, 1 s segments, 10 segments (an event occupies floor(onset)..ceil(offset)-1):
    #   ref Dog 0,1,2; ref Cat 5; est Dog 0,1,2,3 (ceil 3.1 = 4); est Cat 7.
    #   seg 0-2: ref {Dog} sys {Dog} -> TP 3.  seg 3: ref {} sys {Dog} -> FP, I = 1.
    #   seg 5: ref {Cat} sys {} -> FN, D = 1.   seg 7: ref {} sys {Cat} -> FP, I = 1.
    #   TP 3, FP 2, FN 1, Nref 4, Nsys 5, S 0, D 1, I 2.
    #   F1 = 2*3 / (4 + 5) = 2/3; P = 3/5; R = 3/4; ER = (0 + 1 + 2) / 4 = 3/4.
    #   Dog: TP 3, FP 1, FN 0 -> F1 = 6/7, ER = (0 + 1)/3 = 1/3.  Cat: TP 0, FP 1, FN 1 -> F1 0, ER 2/1 = 2.
    #   macro F1 = (6/7 + 0)/2 = 3/7; macro ER = (1/3 + 2)/2 = 7/6.
    #   accuracy: 20 class-segments, TP 3 + TN (20 - 3 - 2 - 1 = 14) -> 17/20.
    # Event-based, collar 0.2 s, offset tolerance max(0.2, 0.2 * length):
    #   Dog: |0.0 - 0.1| = 0.1 <= 0.2 and |3.0 - 3.1| = 0.1 <= max(0.2, 0.6) -> match.
    #   Cat: |5 - 7| = 2 > 0.2 -> no match, and no substitution (onset fails for any label).
    #   TP 1, FP 1, FN 1, S 0, Nref 2, Nsys 2 -> F1 = 2/4 = 0.5, P = R = 1/2, ER = (0 + 1 + 1)/2 = 1.
    #   Dog F1 1, ER 0; Cat F1 0, ER (1 + 1)/1 = 2 -> macro F1 0.5, macro ER 1.
    expected = {
        "segment_f1_micro": 2 / 3, "segment_precision_micro": 3 / 5, "segment_recall_micro": 3 / 4,
        "segment_er_micro": 3 / 4, "segment_f1_macro": 3 / 7, "segment_er_macro": 7 / 6,
        "segment_accuracy_micro": 17 / 20,
        "event_f1_micro": 0.5, "event_precision_micro": 0.5, "event_recall_micro": 0.5, "event_er_micro": 1.0,
        "event_f1_macro": 0.5, "event_er_macro": 1.0,
    }
    assert metrics.keys() == expected.keys()
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-9), key


def test_evaluate_matches_sed_eval_where_it_is_defined():
    """The ratios come from sed_eval's counts: where sed_eval's own results are finite they agree."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import sed_eval
    reference = events(("a.wav", 0.0, 3.0, "Dog"), ("a.wav", 5.0, 6.0, "Cat"), ("b.wav", 2.0, 2.5, "Cat"))
    estimated = events(("a.wav", 0.1, 3.1, "Dog"), ("a.wav", 5.3, 6.0, "Cat"), ("b.wav", 2.0, 2.6, "Dog"))
    durations = {"a.wav": 10.0, "b.wav": 4.0}
    ours = evaluate_events(reference, estimated, durations=durations, classes=CLASSES)
    segment = sed_eval.sound_event.SegmentBasedMetrics(CLASSES, time_resolution=1.0)
    event = sed_eval.sound_event.EventBasedMetrics(CLASSES, t_collar=0.2, percentage_of_length=0.2)
    for name, duration in durations.items():
        ref = reference[reference.filename == name].to_dict("records")
        est = estimated[estimated.filename == name].to_dict("records")
        segment.evaluate(ref, est, evaluated_length_seconds=duration)
        event.evaluate(ref, est)
    for prefix, metric in (("segment", segment), ("event", event)):
        results = metric.results()
        assert ours[f"{prefix}_f1_micro"] == pytest.approx(results["overall"]["f_measure"]["f_measure"], abs=1e-12)
        assert ours[f"{prefix}_er_micro"] == pytest.approx(results["overall"]["error_rate"]["error_rate"], abs=1e-12)
        average = results["class_wise_average"]
        assert ours[f"{prefix}_f1_macro"] == pytest.approx(average["f_measure"]["f_measure"], abs=1e-12)
        assert ours[f"{prefix}_er_macro"] == pytest.approx(average["error_rate"]["error_rate"], abs=1e-12)


def test_evaluate_counts_files_without_estimates_or_events():
    # b.wav (10 s): reference Dog [2, 4), nothing estimated. c.wav (5 s): no events at all.
    reference = events(("b.wav", 2.0, 4.0, "Dog"))
    estimated = events()
    metrics = evaluate_events(reference, estimated, durations={"b.wav": 10.0, "c.wav": 5.0}, classes=CLASSES)
    # segment: Dog segments 2, 3 are deletions: Nref 2, D 2, Nsys 0 -> ER 2/2 = 1, F1 0, P 0 (not NaN), R 0.
    # event: one deletion -> ER 1/1 = 1, F1 0. Macro: only Dog has references -> same values.
    for prefix in ("segment", "event"):
        assert metrics[f"{prefix}_er_micro"] == 1.0 and metrics[f"{prefix}_er_macro"] == 1.0
        assert metrics[f"{prefix}_f1_micro"] == 0.0 and metrics[f"{prefix}_f1_macro"] == 0.0
        assert metrics[f"{prefix}_precision_micro"] == 0.0 and metrics[f"{prefix}_recall_micro"] == 0.0
    # durations count: b.wav 10 segments x 2 classes = 20 (2 FN, 18 TN) + c.wav 5 x 2 = 10 TN -> 28/30;
    # b.wav alone would give 18/20.
    assert metrics["segment_accuracy_micro"] == pytest.approx(28 / 30, abs=1e-12)
    alone = evaluate_events(reference, estimated, durations={"b.wav": 10.0}, classes=CLASSES)
    assert alone["segment_accuracy_micro"] == pytest.approx(18 / 20, abs=1e-12)
    assert all(np.isfinite(value) for value in metrics.values())


def test_evaluate_substitution_and_class_without_reference():
    # d.wav (4 s): reference Cat [1.0, 2.0); estimate Dog [1.05, 2.0).
    reference = events(("d.wav", 1.0, 2.0, "Cat"))
    estimated = events(("d.wav", 1.05, 2.0, "Dog"))
    metrics = evaluate_events(reference, estimated, durations={"d.wav": 4.0}, classes=CLASSES)
    # segment 1: ref {Cat} sys {Dog}: TP 0, Nref 1, Nsys 1 -> S = min(1, 1) - 0 = 1, D = I = 0 -> ER 1, F1 0.
    # event: onset 0.05 <= 0.2, offset equal -> a substitution: S 1 -> ER (1 + 0 + 0)/1 = 1, F1 0.
    # class-wise: Cat FN 1 / Nref 1 -> ER 1, F1 0; Dog has no reference -> left out of the macro values
    # (sed_eval: F1 NaN, ER 1/eps ~ 4.5e15).
    for prefix in ("segment", "event"):
        assert metrics[f"{prefix}_er_micro"] == 1.0 and metrics[f"{prefix}_f1_micro"] == 0.0
        assert metrics[f"{prefix}_er_macro"] == 1.0 and metrics[f"{prefix}_f1_macro"] == 0.0


def test_evaluate_errors():
    ok = events(("a.wav", 0.0, 1.0, "Dog"))
    with pytest.raises(ValueError, match="'a.wav'.*'Bird'"):
        evaluate_events(ok, events(("a.wav", 0.0, 1.0, "Bird")), durations={"a.wav": 2.0}, classes=CLASSES)
    with pytest.raises(ValueError, match="'a.wav'.*'Bird'"):
        evaluate_events(events(("a.wav", 0.0, 1.0, "Bird")), ok, durations={"a.wav": 2.0}, classes=CLASSES)
    with pytest.raises(ValueError, match="'z.wav'"):
        evaluate_events(ok, events(("z.wav", 0.0, 1.0, "Dog")), durations={"a.wav": 2.0}, classes=CLASSES)
    with pytest.raises(ValueError, match="no events"):
        evaluate_events(events(), ok, durations={"a.wav": 2.0}, classes=CLASSES)
    with pytest.raises(ValueError, match="onset"):
        evaluate_events(events(("a.wav", np.nan, np.nan, "Dog")), ok, durations={"a.wav": 2.0}, classes=CLASSES)
