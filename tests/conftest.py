"""Shared fixtures: the repository root and the read-only ../shared material (skipped when absent)."""

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


@pytest.fixture
def shared_esc50() -> Path:
    require_shared()
    return SHARED_ESC50


@pytest.fixture
def shared_mn04() -> Path:
    require_shared()
    return SHARED_MN04


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
