"""Decoding tuned per class on held-out clips: the grid point with the best event F1 wins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from acom.sed.decode import decode_events
from acom.sed.tuning import format_decoding, tune_decoding

HOP = 0.1
CLASSES = ["Faint", "Gappy"]


def clip_outputs(rng):
    """60 frames (6 s): Faint is at 0.35 during its event over 0.25 elsewhere (only threshold 0.3
    separates them); Gappy at 0.9 during its event but drops to 0.1 on every third frame (a median
    filter of 3 frames closes the gaps)."""
    p = np.zeros((60, 2))
    p[:, 0] = 0.25 + 0.01 * rng.random(60)
    p[10:30, 0] = 0.35
    p[:, 1] = 0.05
    p[30:50, 1] = 0.9
    p[32:48:3, 1] = 0.1
    return p


def test_tuning_finds_each_class_its_threshold_and_window():
    rng = np.random.default_rng(0)
    names = [f"c{i}.wav" for i in range(4)]
    outputs = [clip_outputs(rng) for _ in names]
    reference = pd.DataFrame([(name, onset, offset, label) for name in names
                              for onset, offset, label in ((1.0, 3.0, "Faint"), (3.0, 5.0, "Gappy"))],
                             columns=["filename", "onset", "offset", "event_label"])

    def decode(o, **settings):
        return decode_events(o, hop_seconds=HOP, classes=CLASSES, **settings)

    thresholds, windows = tune_decoding(outputs, names, reference, decode=decode, hop_seconds=HOP, classes=CLASSES,
                                        median_filter=True, scoring={"t_collar": 0.2, "percentage_of_length": 0.2})
    assert thresholds["Faint"] == 0.3
    assert windows["Gappy"] == pytest.approx(0.3)  # 3 frames: the shortest window that closes the gaps
    assert thresholds["Gappy"] == 0.2  # every threshold from 0.2 to 0.7 separates 0.9 from 0.1: the first wins
    # Decoded with the tuned settings, both classes come out exactly.
    events = decode(outputs[0], thresholds=thresholds, median_filter_s=windows, filename=names[0])
    assert events[["onset", "offset", "event_label"]].values.tolist() == [[1.0, 3.0, "Faint"], [3.0, 5.0, "Gappy"]]
    # Without a median filter (a YOHO head) the window is 0 for every class.
    _, no_windows = tune_decoding(outputs, names, reference, decode=decode, hop_seconds=HOP, classes=CLASSES,
                                  median_filter=False, scoring={})
    assert no_windows == {"Faint": 0.0, "Gappy": 0.0}
    assert format_decoding(thresholds, windows) == "Faint:0.3/0;Gappy:0.2/0.3"
