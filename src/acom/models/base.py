"""What every registered model provides to the embedding stage, and what its registry entry declares."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from acom.registry import ConfigKey, Download


@dataclass(frozen=True)
class ModelFile:
    """A file (or directory) a key of a model entry names.

    download: the official file, fetched (sha256-checked) into ``resources/`` when the key is null;
        None: a null key means the model's own default (AST's hub id) or, with ``required``, is an
        error.
    kind: ``file`` (a path), or ``hub_or_dir`` (a Hugging Face hub id, or a local ``save_pretrained``
        directory when written as a path).
    help: how to get the file and set the key, shown in errors (``{entry}``: the entry's config key,
        e.g. ``models.beats``).
    """

    help: str
    download: Download | None = None
    kind: Literal["file", "hub_or_dir"] = "file"
    required: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """One model type of the registry (:data:`acom.models.MODELS`).

    build: ``"module:function"``, called as ``function(params, *, cache_dir, config_key)`` with the
        entry's parameters (its type's defaults filled in) and returning an :class:`AudioModel`.
    title: the model's name in messages.
    keys: the config keys this type reads besides the common ones (``type``, ``batch_size``,
        ``top_k``, ``resources``, ``init``, ``seed``, ``device``), with their schema and defaults.
    sample_rate: the fixed input rate in Hz; None when the entry's ``sample_rate`` key sets it.
    files: the keys that name checkpoints or label files, and where those come from.
    clip_threads: the model computes a batch on one core and releases the GIL (numpy, librosa): a job
        embeds batches side by side on its threads, and never loads torch. Otherwise (the torch
        networks) torch spreads each batch over the job's threads.
    """

    type: str
    build: str
    title: str
    keys: Mapping[str, ConfigKey] = field(default_factory=dict)
    sample_rate: int | None = None
    files: Mapping[str, ModelFile] = field(default_factory=dict)
    clip_threads: bool = False


@dataclass(frozen=True)
class ModelOutput:
    """Outputs for a batch of B clips.

    embeddings: (B, D) float32, the frozen clip-level embedding.
    probabilities: (B, C) float32 class probabilities when the model has a classifier head
        (e.g. the 527 AudioSet classes), else None.
    """

    embeddings: np.ndarray
    probabilities: np.ndarray | None = None


@dataclass(frozen=True)
class FrameOutput:
    """Time-resolved (frame-level) frozen embeddings for a batch of B equal-length clips.

    embeddings: (B, T, D) float32; frame ``t`` describes the audio around time
        ``(t + 0.5) * hop_seconds`` from the start of the clip. That is the nominal centre: each frame
        is computed from a window of audio wider than ``hop_seconds`` (for the transformers, from
        the whole clip through attention), and the centre of that window differs from the nominal one
        by less than one hop, as each model's docstring states (e.g. MFCC and EfficientAT frames are
        centred at ``t * hop_seconds``, half a hop earlier).
    hop_seconds: time between consecutive frames, in seconds.

    T counts the frames covering the clip's real duration, ``ceil(n_samples / sample_rate /
    hop_seconds)`` (see :func:`frames_covering`), capped by the number of frames the network
    produced; frames the network computed only over padding are dropped. An empty batch gives
    (0, 0, D).
    """

    embeddings: np.ndarray
    hop_seconds: float


class AudioModel(Protocol):
    """A frozen audio model: a batch of equal-length waveforms in, embeddings (and labels) out.

    Models may also provide frame-level (time-resolved) embeddings, e.g. for sound event detection;
    every registered model does. Callers test ``hasattr(model, "frame_embed")``:

    - ``frame_dim: int``, the dimension D of the frame embeddings;
    - ``hop_seconds: float``, the hop between frames (the same as in every :class:`FrameOutput`);
    - ``frame_embed(self, waveforms: np.ndarray) -> FrameOutput``, for a (B, samples) float32 batch
      of equal-length mono clips at ``sample_rate``: (B, T, frame_dim) embeddings and their hop, in
      the convention documented on :class:`FrameOutput`. The frames cover the clip as given: a
      clip length ``embed`` pads or crops to does not apply, and frames computed only on padding are
      dropped; a model with a maximum input length (AST's ``max_length``) gives at most the frames
      of that length.
    """

    #: Sample rate in Hz the model expects; the workflow resamples clips to it.
    sample_rate: int
    #: Dimension D of the embedding.
    embedding_dim: int
    #: Names of the C output classes, in output order, or None for models without a head.
    labels: Sequence[str] | None

    def embed(self, waveforms: np.ndarray) -> ModelOutput:
        """Embed a (B, samples) float32 batch of mono clips at ``sample_rate``."""
        ...


def frames_covering(n_samples: int, sample_rate: int, hop_seconds: float) -> int:
    """``ceil(n_samples / sample_rate / hop_seconds)``: the frames of ``hop_seconds`` that cover a
    clip of ``n_samples`` (a duration that is a whole number of hops, up to float rounding, gives
    exactly that number)."""
    return max(0, math.ceil(round(n_samples / sample_rate / hop_seconds, 6)))


def _in_batches(forward: Callable[[int, int], tuple], n_clips: int, batch_size: int) -> list[tuple]:
    """``forward(start, stop)`` -> a tuple of tensors (or None) for clips [start, stop), run in
    batches of ``batch_size`` under ``torch.inference_mode``; each batch's tensors are moved to the
    CPU as float32 numpy arrays as soon as it is done."""
    import torch

    outputs: list[tuple] = []
    with torch.inference_mode():
        for start in range(0, n_clips, batch_size):
            tensors = forward(start, min(start + batch_size, n_clips))
            outputs.append(tuple(None if t is None else t.float().cpu().numpy() for t in tensors))
    return outputs


def batched_outputs(forward: Callable[[int, int], tuple], n_clips: int, *, batch_size: int, embedding_dim: int,
                    num_classes: int | None) -> ModelOutput:
    """Run ``forward(start, stop)`` -> (embeddings, logits or None) tensors over clips
    [start, stop) in batches of ``batch_size`` under ``torch.inference_mode``; probabilities are the
    sigmoid of the logits (AudioSet is multi-label)."""
    import torch

    def with_probabilities(start: int, stop: int) -> tuple:
        emb, logits = forward(start, stop)
        return emb, None if logits is None else torch.sigmoid(logits)

    outputs = _in_batches(with_probabilities, n_clips, batch_size)
    emb = np.concatenate([e for e, _ in outputs]) if outputs else np.zeros((0, embedding_dim), np.float32)
    if num_classes is None:
        return ModelOutput(embeddings=emb)
    probs = np.concatenate([p for _, p in outputs]) if outputs else np.zeros((0, num_classes), np.float32)
    return ModelOutput(embeddings=emb, probabilities=probs)


def frame_output(chunks: Sequence[np.ndarray], *, n_frames: int, frame_dim: int, hop_seconds: float) -> FrameOutput:
    """The :class:`FrameOutput` of (b, T', frame_dim) frame arrays of consecutive clips: concatenated,
    keeping the first ``min(n_frames, T')`` frames (``n_frames``: :func:`frames_covering` the clips'
    duration); no chunks give (0, 0, frame_dim)."""
    if not len(chunks):
        return FrameOutput(embeddings=np.zeros((0, 0, frame_dim), np.float32), hop_seconds=hop_seconds)
    frames = np.concatenate(chunks)[:, :n_frames]
    return FrameOutput(embeddings=np.ascontiguousarray(frames, dtype=np.float32), hop_seconds=hop_seconds)


def batched_frames(forward: Callable[[int, int], object], n_clips: int, *, batch_size: int, frame_dim: int,
                   n_frames: int, hop_seconds: float) -> FrameOutput:
    """Run ``forward(start, stop)`` -> (b, T', frame_dim) frame tensor of clips [start, stop) in
    batches of ``batch_size`` under ``torch.inference_mode``; see :func:`frame_output`."""
    outputs = _in_batches(lambda start, stop: (forward(start, stop),), n_clips, batch_size)
    return frame_output([f for (f,) in outputs], n_frames=n_frames, frame_dim=frame_dim, hop_seconds=hop_seconds)


#: Values of a model entry's ``autocast`` key: mixed precision on CUDA only (CPU always runs float32).
AUTOCAST_MODES = ("none", "bf16", "fp16")


def autocast_dtype(mode: str | None, device: Any, *, config_key: str = "autocast"):
    """The torch dtype to autocast to on ``device``, or None: ``mode`` (``none``, ``bf16``, ``fp16``;
    null means none) applies only on CUDA, so a CPU run stays float32 and deterministic."""
    mode = "none" if mode in (None, False) else str(mode)
    if mode not in AUTOCAST_MODES:
        raise ValueError(f"{config_key}: expected one of {list(AUTOCAST_MODES)}, got {mode!r}")
    if mode == "none":
        return None
    import torch

    if torch.device(device).type != "cuda":
        return None
    return torch.bfloat16 if mode == "bf16" else torch.float16


def autocast_context(dtype):
    """The context a model runs its network under: CUDA autocast to ``dtype`` (from
    :func:`autocast_dtype`), or nothing when that is None."""
    import contextlib

    import torch

    return contextlib.nullcontext() if dtype is None else torch.autocast(device_type="cuda", dtype=dtype)


def autocast_name(dtype) -> str:
    """``none``, ``bfloat16`` or ``float16``: the autocast a model's metadata records."""
    return "none" if dtype is None else str(dtype).removeprefix("torch.")
