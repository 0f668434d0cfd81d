"""Sound event detection core: frame targets, frame head, decoding and sed_eval metrics.

Expected values are computed by hand; the arithmetic is in the comments.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from acom.desed import STRONG_COLUMNS as EVENT_COLUMNS
from acom.sed import (
    HeadConfig,
    decode_events,
    evaluate_events,
    frame_targets,
    masked_bce_loss,
    median_window_frames,
    predict_frames,
    train_frame_head,
)

CLASSES = ["Cat", "Dog"]


def events(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=EVENT_COLUMNS)


# --------------------------------------------------------------------------------------------------
# frame_targets


def test_frame_targets_samples_frame_centres_half_open():
    # hop 0.5 s, 8 frames: centres (t + 0.5) * 0.5 = 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75
    table = events(
        ("a.wav", 0.75, 1.75, "Dog"),  # centre 0.75 == onset -> t=1 active; 1.25 -> t=2; 1.75 == offset -> t=3 not
        ("a.wav", 0.0, 1.0, "Dog"),  # overlaps: centres 0.25, 0.75 -> t=0, 1
        ("a.wav", 2.0, 2.25, "Cat"),  # no centre in [2.0, 2.25) (2.25 is the offset) -> nothing
        ("a.wav", 3.0, 10.0, "Cat"),  # centres 3.25, 3.75 -> t=6, 7; the rest lies past the clip
    )
    targets = frame_targets(table, n_frames=8, hop_seconds=0.5, classes=CLASSES)
    assert targets.dtype == np.float32 and targets.shape == (8, 2)
    np.testing.assert_array_equal(targets[:, 0], [0, 0, 0, 0, 0, 0, 1, 1])  # Cat
    np.testing.assert_array_equal(targets[:, 1], [1, 1, 1, 0, 0, 0, 0, 0])  # Dog


def test_frame_targets_empty_and_errors():
    np.testing.assert_array_equal(frame_targets(events(), n_frames=3, hop_seconds=0.1, classes=CLASSES), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="a.wav.*'Bird'"):
        frame_targets(events(("a.wav", 0.0, 1.0, "Bird")), n_frames=3, hop_seconds=0.5, classes=CLASSES)
    with pytest.raises(ValueError, match="one file"):
        frame_targets(events(("a.wav", 0.0, 1.0, "Cat"), ("b.wav", 0.0, 1.0, "Cat")), n_frames=3, hop_seconds=0.5,
                      classes=CLASSES)


# --------------------------------------------------------------------------------------------------
# decode_events

# hop 0.5 s, 12 frames (frame t covers [0.5 t, 0.5 t + 0.5)).
# Cat: above 0.5 at t = 2, 3, 5, 6 -> 0 0 1 1 0 1 1 0 0 0 0 0 (one-frame dropout at t=4).
# Dog: above 0.5 at t = 1 (a one-frame spike) and t = 8..11 -> 0 1 0 0 0 0 0 0 1 1 1 1.
PROBS = np.array([
    [0.1, 0.1, 0.9, 0.8, 0.3, 0.9, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1],
    [0.2, 0.95, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.9, 0.9, 0.9, 0.9],
]).T


def decoded(**kwargs) -> list[tuple]:
    table = decode_events(PROBS, hop_seconds=0.5, classes=CLASSES, filename="a.wav", **kwargs)
    assert list(table.columns) == EVENT_COLUMNS and set(table["filename"]) <= {"a.wav"}
    return [(row.onset, row.offset, row.event_label) for row in table.itertuples()]


def test_decode_events_without_filter_keeps_gap_and_spike():
    # runs: Cat t=2..3 -> [1.0, 2.0), t=5..6 -> [2.5, 3.5); Dog t=1 -> [0.5, 1.0), t=8..11 -> [4.0, 6.0); by onset
    assert decoded(thresholds=0.5, median_filter_s=0.0) == [
        (0.5, 1.0, "Dog"), (1.0, 2.0, "Cat"), (2.5, 3.5, "Cat"), (4.0, 6.0, "Dog"),
    ]


def test_decode_events_median_filter_fills_gap_and_removes_spike():
    # 1.5 s / 0.5 s = 3 frames. Cat t=4: median(1, 0, 1) = 1 -> one run t=2..6 -> [1.0, 3.5).
    # Dog t=1: median(0, 1, 0) = 0 (spike gone); t=11 with reflected edge: median(1, 1, 1) = 1 -> [4.0, 6.0).
    assert decoded(thresholds=0.5, median_filter_s=1.5) == [(1.0, 3.5, "Cat"), (4.0, 6.0, "Dog")]
    # per-class window: Dog unfiltered keeps its spike
    assert decoded(thresholds=0.5, median_filter_s={"Cat": 1.5, "Dog": 0.0}) == [
        (0.5, 1.0, "Dog"), (1.0, 3.5, "Cat"), (4.0, 6.0, "Dog"),
    ]


def test_decode_events_per_class_thresholds():
    # Cat > 0.75: t = 2 (0.9), 3 (0.8), 5 (0.9) -> 0 0 1 1 0 1 0 ...; median 3: t=4 median(1,0,1)=1,
    # t=5 median(0,1,0)=0 -> run t=2..4 -> [1.0, 2.5). Dog > 0.92: only the spike t=1 -> unfiltered [0.5, 1.0).
    assert decoded(thresholds={"Cat": 0.75, "Dog": 0.92}, median_filter_s={"Cat": 1.5, "Dog": 0.0}) == [
        (0.5, 1.0, "Dog"), (1.0, 2.5, "Cat"),
    ]
    # strictly above: a threshold equal to the probability detects nothing
    assert decoded(thresholds={"Cat": 0.9, "Dog": 0.95}, median_filter_s=0.0) == []


def test_decode_events_errors_and_empty():
    with pytest.raises(ValueError, match="Dog"):
        decoded(thresholds={"Cat": 0.5}, median_filter_s=0.0)
    with pytest.raises(ValueError, match="Dog"):
        decoded(thresholds=0.5, median_filter_s={"Cat": 1.0})
    with pytest.raises(ValueError, match="Bird"):
        decoded(thresholds={"Cat": 0.5, "Dog": 0.5, "Bird": 0.5}, median_filter_s=0.0)
    with pytest.raises(ValueError, match=r"\(T, 2\)"):
        decode_events(PROBS[:, :1], hop_seconds=0.5, classes=CLASSES, thresholds=0.5, median_filter_s=0.0,
                      filename="a.wav")
    empty = decode_events(np.zeros((5, 2)), hop_seconds=0.5, classes=CLASSES, thresholds=0.5, median_filter_s=1.0,
                          filename="a.wav")
    assert list(empty.columns) == EVENT_COLUMNS and len(empty) == 0


@pytest.mark.parametrize(("seconds", "frames"), [
    (1.5, 3),  # 3.0 -> 3
    (0.0, 1),  # no filtering
    (0.2, 1),  # 0.4 -> at least 1
    (1.0, 3),  # 2.0: 1 and 3 tie -> up
    (2.0, 5),  # 4.0: 3 and 5 tie -> up
    (1.9, 3),  # 3.8: 3 is 0.8 away, 5 is 1.2
    (2.4, 5),  # 4.8 -> 5
])
def test_median_window_frames(seconds, frames):
    assert median_window_frames(seconds, 0.5) == frames


# --------------------------------------------------------------------------------------------------
# evaluate_events


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


# --------------------------------------------------------------------------------------------------
# frame head


def toy_clips(seed: int, n_clips: int, lengths=(50,), n_classes: int = 3, n_features: int = 8):
    """Features whose first C channels indicate the active classes (+ noise), on an arbitrary scale;
    each class is active in one random segment of 5-20 frames with probability 0.7."""
    rng = np.random.default_rng(seed)
    features, targets = [], []
    for i in range(n_clips):
        n_frames = lengths[i % len(lengths)]
        target = np.zeros((n_frames, n_classes), dtype=np.float32)
        for c in range(n_classes):
            if rng.random() < 0.7:
                start = int(rng.integers(0, n_frames - 5))
                target[start : start + int(rng.integers(5, 21)), c] = 1.0
        feature = rng.normal(0.0, 0.3, (n_frames, n_features))
        feature[:, :n_classes] += 2.0 * target
        features.append((10.0 * feature + 3.0).astype(np.float32))
        targets.append(target)
    return features, targets


@pytest.mark.parametrize(("head_type", "epochs"), [("linear", 30), ("gru", 15)])
def test_head_learns_toy_problem(head_type, epochs):
    train_x, train_y = toy_clips(0, 24, lengths=(50, 37, 61))  # clips of different lengths share batches
    test_x, test_y = toy_clips(1, 16)
    config = HeadConfig(type=head_type, hidden=16, epochs=epochs, learning_rate=0.01, batch_size=8)
    head = train_frame_head(train_x, train_y, config=config, seed=0)
    predictions = predict_frames(head, test_x)
    assert [p.shape for p in predictions] == [y.shape for y in test_y]
    accuracy = np.mean((np.concatenate(predictions) > 0.5) == np.concatenate(test_y))
    assert accuracy > 0.95


def test_head_training_is_deterministic_and_leaves_global_rng_alone():
    train_x, train_y = toy_clips(0, 12, lengths=(50, 30))
    config = HeadConfig(type="gru", hidden=8, epochs=3, batch_size=4)
    state = torch.get_rng_state()
    first = predict_frames(train_frame_head(train_x, train_y, config=config, seed=7), train_x)
    assert torch.equal(torch.get_rng_state(), state)
    second = predict_frames(train_frame_head(train_x, train_y, config=config, seed=7), train_x)
    other = predict_frames(train_frame_head(train_x, train_y, config=config, seed=8), train_x)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


@pytest.mark.parametrize("head_type", ["linear", "gru"])
def test_predictions_do_not_depend_on_batching(head_type):
    clips, targets = toy_clips(2, 6, lengths=(20, 50, 35))
    head = train_frame_head(clips, targets, config=HeadConfig(type=head_type, hidden=8, epochs=2), seed=0)
    batched = predict_frames(head, clips, batch_size=6)
    singles = predict_frames(head, clips, batch_size=1)
    first_alone = predict_frames(head, clips[:1])[0]
    for a, b in zip(batched, singles, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)
    np.testing.assert_allclose(first_alone, batched[0], atol=1e-6, rtol=0)  # 20 frames, padded to 50 in the batch


def test_padding_never_reaches_the_loss():
    clips, targets = toy_clips(3, 2, lengths=(20,))
    head = train_frame_head(clips, targets, config=HeadConfig(type="gru", hidden=8, epochs=1), seed=0)
    x, y = torch.from_numpy(clips[0])[None], torch.from_numpy(targets[0])[None]
    lengths = torch.tensor([20])
    # the same clip padded with 15 frames of garbage features and all-ones targets
    x_padded = torch.cat([x, 1e3 * torch.randn(1, 15, x.shape[2], generator=torch.Generator().manual_seed(0))], dim=1)
    y_padded = torch.cat([y, torch.ones(1, 15, y.shape[2])], dim=1)
    with torch.no_grad():
        logits, logits_padded = head(x, lengths), head(x_padded, lengths)
        # the backward GRU never reads the padding: real frames' logits are unchanged
        torch.testing.assert_close(logits_padded[:, :20], logits, atol=1e-6, rtol=0)
        loss = masked_bce_loss(logits, y, lengths)
        assert masked_bce_loss(logits_padded, y_padded, lengths).item() == pytest.approx(loss.item(), abs=1e-6)
        # sanity: counting the padding would change the loss
        assert masked_bce_loss(logits_padded, y_padded, torch.tensor([35])).item() != pytest.approx(loss.item())


def test_head_input_errors():
    clips, targets = toy_clips(4, 2)
    with pytest.raises(ValueError, match="clip 1"):
        train_frame_head(clips, [targets[0], targets[1][:10]], config=HeadConfig(epochs=1), seed=0)
    head = train_frame_head(clips, targets, config=HeadConfig(type="linear", epochs=1), seed=0)
    with pytest.raises(ValueError, match=r"features\[0\]"):
        predict_frames(head, [np.zeros((5, 3), dtype=np.float32)])


# --------------------------------------------------------------------------------------------------
# HeadConfig


def test_head_config_from_mapping():
    assert HeadConfig.from_mapping({}) == HeadConfig()
    config = HeadConfig.from_mapping({"type": "linear", "learning_rate": 1, "epochs": 5})
    assert config.type == "linear" and config.learning_rate == 1.0 and isinstance(config.learning_rate, float)


@pytest.mark.parametrize(("mapping", "message"), [
    ({"learnig_rate": 0.1}, r"sed\.head\.learnig_rate"),
    ({"type": "lstm"}, r"sed\.head\.type"),
    ({"hidden": 0}, r"sed\.head\.hidden"),
    ({"epochs": True}, r"sed\.head\.epochs"),
    ({"batch_size": 2.0}, r"sed\.head\.batch_size"),
    ({"learning_rate": "1e-3"}, r"sed\.head\.learning_rate.*1\.0e-3"),
    ({"learning_rate": 0.0}, r"sed\.head\.learning_rate"),
    ({"weight_decay": -1.0}, r"sed\.head\.weight_decay"),
])
def test_head_config_errors(mapping, message):
    with pytest.raises(ValueError, match=message):
        HeadConfig.from_mapping(mapping)
