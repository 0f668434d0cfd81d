"""The SED head and its training: frame targets from strong labels, a small linear or
bidirectional-GRU head on frozen frame embeddings, trained per fold, and frame probabilities.

The pipeline of sound event detection (DCASE task 4 / DESED style): strong labels ->
:func:`frame_targets`; frame embeddings + targets -> :func:`train_frame_head` (the embedding model
stays frozen); :func:`predict_frames` -> frame probabilities; :func:`acom.sed.decode.decode_events`
(threshold + median filter) -> an event table (:mod:`acom.events`);
:func:`acom.sed.metrics.evaluate_events` -> sed_eval segment- and event-based metrics.

Conventions. The frame embeddings of one clip are a ``(T, D)`` float32 array with a hop
``hop_seconds``; frame ``t`` describes the time ``(t + 0.5) * hop_seconds`` and covers
``[t * hop, (t + 1) * hop)``, so a decoded run of frames ``start..stop-1`` becomes the event
``[start * hop, stop * hop)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from acom.events import check_classes, check_event_table

HEAD_TYPES = ("linear", "gru")
#: What the head predicts per frame: class activity (``frames``), or YOHO block outputs (presence,
#: onset and offset per class, :mod:`acom.sed.yoho`).
HEAD_OUTPUTS = ("frames", "yoho")


# --------------------------------------------------------------------------------------------------
# Targets


def frame_targets(events: pd.DataFrame, *, n_frames: int, hop_seconds: float, classes: Sequence[str]) -> np.ndarray:
    """``(n_frames, C)`` float32 in {0, 1}: frame ``t`` is active for class ``c`` when its centre
    ``(t + 0.5) * hop_seconds`` lies in ``[onset, offset)`` of an event of ``c``.

    Sampling the label at the frame centre (rather than "any overlap") keeps a frame's target what
    the frame mostly hears, and the half-open interval makes back-to-back events of one class tile
    the frames without double counting. ``events`` holds the rows of ONE file; a label outside
    ``classes`` raises rather than being dropped, since a silently missing class would train the head
    to call that sound background.
    """
    classes = check_classes(classes)
    if n_frames < 0 or hop_seconds <= 0:
        raise ValueError(f"n_frames must be >= 0 and hop_seconds > 0 (got {n_frames}, {hop_seconds})")
    check_event_table(events, "events")
    if events["filename"].nunique() > 1:
        raise ValueError(f"events must be the rows of one file; got {sorted(events['filename'].unique())}")
    index = {label: c for c, label in enumerate(classes)}
    centres = (np.arange(n_frames) + 0.5) * hop_seconds
    targets = np.zeros((n_frames, len(classes)), dtype=np.float32)
    for row in events.itertuples(index=False):
        if row.event_label not in index:
            raise ValueError(f"{row.filename}: event label {row.event_label!r} is not among classes {list(classes)}")
        active = (centres >= row.onset) & (centres < row.offset)
        targets[active, index[row.event_label]] = 1.0
    return targets


# --------------------------------------------------------------------------------------------------
# Frame head


@dataclass(frozen=True)
class HeadConfig:
    """Hyper-parameters of the frame head (the ``sed.head`` config section).

    ``type``: ``linear`` (one ``nn.Linear(D, C)`` per frame, a probe of what each frame embedding
    already says) or ``gru`` (a bidirectional GRU of ``hidden`` units per direction, then
    ``nn.Linear(2 * hidden, C)``: temporal context, as in the DESED baseline's CRNN head).
    ``output``: ``frames`` (one activity probability per class and frame, decoded by threshold and
    median filter) or ``yoho`` (per class and frame-sized block: presence, onset and offset within
    the block, decoded without a frame threshold; :mod:`acom.sed.yoho`).
    """

    type: str = "gru"
    output: str = "frames"
    hidden: int = 64
    epochs: int = 40
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 16

    def __post_init__(self) -> None:
        for key in ("learning_rate", "weight_decay"):  # 1 for 1.0 is fine; the frozen fields need setattr
            value = getattr(self, key)
            if isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, key, float(value))
        problems = _head_config_problems(self)
        if problems:
            raise ValueError("invalid sed.head config:\n  " + "\n  ".join(problems))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> HeadConfig:
        """A config from a ``sed.head`` mapping; absent keys take the defaults.

        Unknown keys raise (a typo such as ``learning-rate`` would otherwise silently train with the
        default). Integers are accepted for the float fields; strings are not, because YAML 1.1 reads
        ``1e-3`` (no dot) as the string ``'1e-3'``.
        """
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(mapping) - set(known))
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(f'sed.head.{k}' for k in unknown)}; known: {known}")
        return cls(**mapping)


def _head_config_problems(config: HeadConfig) -> list[str]:
    problems = []
    if config.type not in HEAD_TYPES:
        problems.append(f"sed.head.type must be one of {list(HEAD_TYPES)} (got {config.type!r})")
    if config.output not in HEAD_OUTPUTS:
        problems.append(f"sed.head.output must be one of {list(HEAD_OUTPUTS)} (got {config.output!r})")
    for key in ("hidden", "epochs", "batch_size"):
        value = getattr(config, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(f"sed.head.{key} must be an integer >= 1 (got {value!r})")
    for key, low_ok in (("learning_rate", False), ("weight_decay", True)):
        value = getattr(config, key)
        if not isinstance(value, float):
            hint = " (YAML reads 1e-3 as a string: write 1.0e-3)" if isinstance(value, str) else ""
            problems.append(f"sed.head.{key} must be a number (got {value!r}){hint}")
        elif not math.isfinite(value) or value < 0 or (value == 0 and not low_ok):
            problems.append(f"sed.head.{key} must be {'>= 0' if low_ok else '> 0'} (got {value!r})")
    return problems


class FrameHead(nn.Module):
    """Frame-wise classifier on frozen embeddings; ``forward`` returns logits ``(B, T, C)``.

    The standardisation statistics of the training frames are buffers of the head, so the head
    carries everything needed to score new (raw) embeddings, and they travel with its state_dict.
    """

    def __init__(self, *, n_features: int, n_classes: int, config: HeadConfig, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.config = config
        self.n_features = n_features
        self.n_classes = n_classes
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).reshape(n_features))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).reshape(n_features))
        if config.type == "gru":
            self.gru: nn.GRU | None = nn.GRU(n_features, config.hidden, batch_first=True, bidirectional=True)
            self.linear = nn.Linear(2 * config.hidden, n_classes)
        else:
            self.gru = None
            self.linear = nn.Linear(n_features, n_classes)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, T, C)`` of raw features ``(B, T, D)`` whose clip ``b`` is ``lengths[b]`` frames
        long; frames past a clip's length are padding and their logits are meaningless.

        The GRU runs on a packed sequence, so neither direction ever reads padding: a clip's logits
        are the same whatever it is batched with.
        """
        x = (features - self.mean) / self.std
        if self.gru is not None:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.gru(packed)
            x, _ = pad_packed_sequence(out, batch_first=True, total_length=features.shape[1])
        return self.linear(x)


def masked_bce_loss(logits: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy (with logits) averaged over the real frames and classes of a padded batch.

    Padding frames get weight zero and the mean divides by the number of real frames, so padding a
    clip, or batching it with longer ones, never changes its contribution to the loss.
    """
    mask = (torch.arange(logits.shape[1], device=logits.device)[None, :] < lengths.to(logits.device)[:, None])
    mask = mask.to(logits.dtype)[:, :, None]
    losses = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return (losses * mask).sum() / (mask.sum() * logits.shape[2])


def masked_yoho_loss(logits: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """YOHO's loss on ``(B, T, 3C)`` outputs: binary cross-entropy of the presence (every real
    block) plus the squared error of the sigmoid onset and offset against their targets, counted
    only where the class is present (a boundary of nothing has no target)."""
    n = logits.shape[2] // 3
    mask = (torch.arange(logits.shape[1], device=logits.device)[None, :] < lengths.to(logits.device)[:, None])
    mask = mask.to(logits.dtype)[:, :, None]
    presence = masked_bce_loss(logits[..., :n], targets[..., :n], lengths)
    weight = targets[..., :n].repeat(1, 1, 2) * mask
    errors = (torch.sigmoid(logits[..., n:]) - targets[..., n:]) ** 2
    return presence + (errors * weight).sum() / weight.sum().clamp(min=1.0)


def train_frame_head(features: Sequence[np.ndarray], targets: Sequence[np.ndarray], *, config: HeadConfig, seed: int,
                     device: str | torch.device = "cpu") -> FrameHead:
    """Train a :class:`FrameHead` on clips' frame embeddings ``(T_i, D)`` and frame targets ``(T_i, C)``
    (``output: yoho``: block targets ``(T_i, 3C)``, :func:`acom.sed.yoho.block_targets`, and
    :func:`masked_yoho_loss`).

    Features are standardised with the mean/std of all training frames (stored in the head):
    embeddings from different models differ in scale by orders of magnitude, and one learning rate
    should suit them all. Loss: :func:`masked_bce_loss` (multi-label: DESED events overlap); Adam;
    mini-batches of whole clips padded to the longest clip in the batch.

    Reproducible: the weights are initialised under ``torch.manual_seed(seed)`` inside a forked RNG
    (the caller's global RNG state is left untouched) and the epoch shuffles come from a
    ``torch.Generator`` seeded with ``seed``; on CPU the same inputs and seed give identical weights.
    """
    feats, targs = _check_training_data(features, targets)
    stacked = np.concatenate(feats).astype(np.float64)
    mean = stacked.mean(axis=0)
    std = stacked.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)  # a constant feature carries nothing; avoid dividing by 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = FrameHead(n_features=feats[0].shape[1], n_classes=targs[0].shape[1], config=config, mean=mean, std=std)
    head.to(device)
    feature_tensors = [torch.from_numpy(np.array(f, dtype=np.float32)) for f in feats]  # a writable copy
    target_tensors = [torch.from_numpy(np.ascontiguousarray(t, dtype=np.float32)) for t in targs]
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(head.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    loss_fn = masked_yoho_loss if config.output == "yoho" else masked_bce_loss
    if config.output == "yoho" and targs[0].shape[1] % 3:
        raise ValueError(f"output: yoho needs (T, 3C) block targets; got {targs[0].shape[1]} columns")
    head.train()
    for _epoch in range(config.epochs):
        order = torch.randperm(len(feature_tensors), generator=generator).tolist()
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            x, lengths = _pad([feature_tensors[i] for i in batch])
            y, _ = _pad([target_tensors[i] for i in batch])
            loss = loss_fn(head(x.to(device), lengths), y.to(device), lengths)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    head.eval()
    return head


def predict_frames(head: FrameHead, features: Sequence[np.ndarray], *, batch_size: int = 32) -> list[np.ndarray]:
    """Frame probabilities ``(T_i, C)`` (float32, sigmoid of the logits) for each clip.

    Clips are scored in padded batches of ``batch_size`` for speed; the packed GRU and frame-wise
    linear layer make each clip's result independent of its batch (up to float rounding).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
    arrays = [np.asarray(f) for f in features]
    for i, f in enumerate(arrays):
        if f.ndim != 2 or f.shape[1] != head.n_features or f.shape[0] < 1:
            raise ValueError(f"features[{i}] has shape {f.shape}; expected (T >= 1, {head.n_features})")
    device = head.mean.device
    outputs: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(arrays), batch_size):
            chunk = [torch.from_numpy(np.ascontiguousarray(f, dtype=np.float32)) for f in arrays[start : start + batch_size]]
            x, lengths = _pad(chunk)
            probabilities = torch.sigmoid(head(x.to(device), lengths)).cpu().numpy()
            outputs.extend(probabilities[b, : int(n)].copy() for b, n in enumerate(lengths))
    return outputs


def _pad(arrays: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(T_i, K)`` tensors into ``(B, max T_i, K)`` with zero padding, and their lengths."""
    lengths = torch.tensor([a.shape[0] for a in arrays], dtype=torch.int64)
    batch = torch.zeros((len(arrays), int(lengths.max()), arrays[0].shape[1]), dtype=torch.float32)
    for b, a in enumerate(arrays):
        batch[b, : a.shape[0]] = a
    return batch, lengths


def _check_training_data(features: Sequence[np.ndarray], targets: Sequence[np.ndarray]):
    feats = [np.asarray(f) for f in features]
    targs = [np.asarray(t) for t in targets]
    if not feats or len(feats) != len(targs):
        raise ValueError(f"need as many target arrays as feature arrays, at least one (got {len(feats)}, {len(targs)})")
    n_features, n_classes = feats[0].shape[-1], targs[0].shape[-1]
    for i, (f, t) in enumerate(zip(feats, targs, strict=True)):
        if f.ndim != 2 or t.ndim != 2 or f.shape[0] != t.shape[0] or f.shape[0] < 1:
            raise ValueError(f"clip {i}: features {f.shape} and targets {t.shape} must be (T, D) and (T, C), T >= 1")
        if f.shape[1] != n_features or t.shape[1] != n_classes:
            raise ValueError(f"clip {i}: features {f.shape} / targets {t.shape} disagree with clip 0's D={n_features}, "
                             f"C={n_classes}")
        if not np.all(np.isfinite(f)):
            raise ValueError(f"clip {i}: features contain NaN or inf")
        if np.any((t < 0) | (t > 1)):
            raise ValueError(f"clip {i}: targets must lie in [0, 1]")
    return feats, targs
