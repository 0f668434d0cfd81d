"""What every registered model provides to the embedding stage."""

from __future__ import annotations

from collections.abc import Sequence
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
