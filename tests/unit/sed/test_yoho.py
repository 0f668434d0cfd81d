"""YOHO block targets and their decoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from acom.sed.yoho import block_targets, decode_blocks

CLASSES = ["Cat", "Dog"]


def _events(rows):
    return pd.DataFrame(rows, columns=["filename", "onset", "offset", "event_label"])


def test_a_synthetic_block_target_decodes_back_to_its_events_exactly():
    events = _events([("x.wav", 0.10, 0.50, "Dog"), ("x.wav", 1.30, 2.75, "Dog"), ("x.wav", 0.64, 1.28, "Cat"),
                      ("x.wav", 3.05, 3.20, "Cat")])
    targets = block_targets(events, n_blocks=11, hop_seconds=0.32, classes=CLASSES)
    decoded = decode_blocks(targets, hop_seconds=0.32, classes=CLASSES, filename="x.wav")
    expected = events.sort_values(["onset", "event_label"]).reset_index(drop=True)
    assert decoded[["filename", "event_label"]].values.tolist() == expected[["filename", "event_label"]].values.tolist()
    np.testing.assert_allclose(decoded[["onset", "offset"]].to_numpy(), expected[["onset", "offset"]].to_numpy(),
                               atol=1e-6)


def test_targets_hold_presence_and_relative_boundaries():
    targets = block_targets(_events([("x.wav", 0.40, 0.70, "Dog")]), n_blocks=3, hop_seconds=0.32, classes=CLASSES)
    # Dog in block 1 (0.32-0.64: from 0.40) and block 2 (0.64-0.96: until 0.70); Cat nowhere.
    np.testing.assert_allclose(targets[:, [0, 1]], [[0, 0], [0, 1], [0, 1]])
    np.testing.assert_allclose(targets[1, [3, 5]], [0.08 / 0.32, 1.0], atol=1e-6)
    np.testing.assert_allclose(targets[2, [3, 5]], [0.0, 0.06 / 0.32], atol=1e-6)


def test_events_apart_within_adjacent_blocks_stay_apart():
    outputs = np.zeros((2, 6))
    outputs[0, [1, 3, 5]] = (0.9, 0.1, 0.5)   # Dog 0.1-0.5 of block 0
    outputs[1, [1, 3, 5]] = (0.9, 0.6, 1.0)   # Dog 0.6-1.0 of block 1: 1.1 s of silence between
    decoded = decode_blocks(outputs, hop_seconds=1.0, classes=CLASSES, filename="x")
    assert decoded[["onset", "offset"]].to_numpy().tolist() == [[0.1, 0.5], [1.6, 2.0]]
    # Boundaries regressed a little off the block edges still make one event: the gap is under 0.2 s.
    outputs[0, 5], outputs[1, 3] = 0.9, 0.05
    decoded = decode_blocks(outputs, hop_seconds=1.0, classes=CLASSES, filename="x")
    np.testing.assert_allclose(decoded[["onset", "offset"]].to_numpy(), [[0.1, 2.0]])
    with pytest.raises(ValueError, match=r"block outputs must be \(T, 6\)"):
        decode_blocks(np.zeros((2, 4)), hop_seconds=1.0, classes=CLASSES, filename="x")
