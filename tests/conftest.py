"""Shared fixtures: the read-only ../shared material (skipped when absent) and the reference run of
the small synthetic workflow."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers import SHARED_ESC50, SHARED_MN04, require_shared


@pytest.fixture
def shared_esc50() -> Path:
    require_shared()
    return SHARED_ESC50


@pytest.fixture
def shared_mn04() -> Path:
    require_shared()
    return SHARED_MN04


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> Path:
    """An uninterrupted local run of the small synthetic DAG: the reference other runs must equal."""
    from tests.workflow.helpers import SMALL_CONFIGS, SMALL_TARGETS, snakemake

    workdir = tmp_path_factory.mktemp("small_reference")
    started = time.monotonic()
    snakemake(workdir, *SMALL_TARGETS, configfiles=SMALL_CONFIGS)
    # Its length on this machine, under this load: tests that kill a run at random moments draw
    # them as fractions of it, so the kills land mid-run on a fast idle machine and a loaded one.
    (workdir / "wall_seconds.txt").write_text(f"{time.monotonic() - started:.3f}\n")
    return workdir
