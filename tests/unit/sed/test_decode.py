"""Decoding frame probabilities into events: thresholds, median filters, runs of frames.

Expected values are computed by hand; the arithmetic is in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest

from acom.events import STRONG_COLUMNS as EVENT_COLUMNS
from acom.sed.decode import decode_events, median_window_frames

CLASSES = ["Cat", "Dog"]


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
