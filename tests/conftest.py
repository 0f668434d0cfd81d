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
