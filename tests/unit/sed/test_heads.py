"""The SED head and its training: frame targets, linear and GRU heads, padding, determinism, config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from acom.events import STRONG_COLUMNS as EVENT_COLUMNS
from acom.sed.heads import HeadConfig, frame_targets, masked_bce_loss, predict_frames, train_frame_head

CLASSES = ["Cat", "Dog"]


def events(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=EVENT_COLUMNS)


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
