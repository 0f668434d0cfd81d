"""Helpers the unit tests share: where the repository and the read-only ../shared material are, and
assertions that several model tests make."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_ESC50 = SHARED / "data" / "esc50-16k"
SHARED_MN04 = SHARED / "models" / "efficientat-mn04-as"


def require_shared() -> None:
    """Skip the calling test when ../shared (real ESC-50 clips and mn04 weights) is not beside the repo."""
    if not (SHARED_ESC50 / "meta" / "esc50.csv").is_file() or not (SHARED_MN04 / "mn04_as_mAP_432.pt").is_file():
        pytest.skip(f"needs the real ESC-50 clips and EfficientAT weights in {SHARED}; absent")


def assert_batch_equals_single_calls(model, clips, atol: float = 1e-4) -> None:
    """A batch through ``model.embed`` equals the clips sent one at a time (embeddings and, when the
    model has a head, probabilities)."""
    import numpy as np

    batched = model.embed(clips)
    singles = [model.embed(clips[i : i + 1]) for i in range(len(clips))]
    np.testing.assert_allclose(batched.embeddings, np.concatenate([s.embeddings for s in singles]), atol=atol)
    if batched.probabilities is not None:
        np.testing.assert_allclose(batched.probabilities, np.concatenate([s.probabilities for s in singles]),
                                   atol=atol)


def assert_audioset_outputs(model, out, *, n_clips: int, embedding_dim: int, labels) -> None:
    """A model with a 527-class AudioSet head: float32 embeddings and probabilities of the right
    shapes, probabilities strictly inside (0, 1) (sigmoid), and the expected label names."""
    import numpy as np

    assert model.sample_rate == 16000 and model.embedding_dim == embedding_dim
    assert out.embeddings.shape == (n_clips, embedding_dim) and out.embeddings.dtype == np.float32
    assert out.probabilities.shape == (n_clips, 527) and out.probabilities.dtype == np.float32
    assert ((out.probabilities > 0) & (out.probabilities < 1)).all()
    assert model.labels == labels
