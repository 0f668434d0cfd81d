"""What every registered model provides to the embedding stage."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class ModelOutput:
    """Outputs for a batch of B clips.

    embeddings: (B, D) float32, the frozen clip-level embedding.
    probabilities: (B, C) float32 class probabilities when the model has a classifier head
        (e.g. the 527 AudioSet classes), else None.
    """

    embeddings: np.ndarray
    probabilities: np.ndarray | None = None


class AudioModel(Protocol):
    """A frozen audio model: a batch of equal-length waveforms in, embeddings (and labels) out."""

    #: Sample rate in Hz the model expects; the workflow resamples clips to it.
    sample_rate: int
    #: Dimension D of the embedding.
    embedding_dim: int
    #: Names of the C output classes, in output order, or None for models without a head.
    labels: Sequence[str] | None

    def embed(self, waveforms: np.ndarray) -> ModelOutput:
        """Embed a (B, samples) float32 batch of mono clips at ``sample_rate``."""
        ...


def batched_outputs(forward: Callable[[int, int], tuple], n_clips: int, *, batch_size: int, embedding_dim: int,
                    num_classes: int | None) -> ModelOutput:
    """Run ``forward(start, stop)`` -> (embeddings, logits or None) tensors over clips
    [start, stop) in batches of ``batch_size`` under ``torch.inference_mode``; probabilities are the
    sigmoid of the logits (AudioSet is multi-label)."""
    import torch

    embeddings: list[np.ndarray] = []
    probabilities: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, n_clips, batch_size):
            emb, logits = forward(start, min(start + batch_size, n_clips))
            embeddings.append(emb.cpu().numpy())
            if logits is not None:
                probabilities.append(torch.sigmoid(logits).cpu().numpy())
    emb = np.concatenate(embeddings) if embeddings else np.zeros((0, embedding_dim), np.float32)
    if num_classes is None:
        return ModelOutput(embeddings=emb.astype(np.float32, copy=False))
    probs = np.concatenate(probabilities) if probabilities else np.zeros((0, num_classes), np.float32)
    return ModelOutput(embeddings=emb.astype(np.float32, copy=False), probabilities=probs.astype(np.float32))
