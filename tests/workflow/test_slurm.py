"""The workflow through a real single-node SLURM (slurm_cluster.py) with the user-facing profile,
profiles/slurm, plus the test-only overlay tests/workflow/slurm_profile; its tables must equal a local run's.

Skips, with the reason, where SLURM cannot be set up: not root (apt-get install slurm-wlm munge),
no apt-get, or a SLURM configuration already on the machine.
"""

from __future__ import annotations

import subprocess
import time

import pytest
import yaml

from tests.helpers import REPO
from tests.workflow.helpers import SMALL_CONFIGS, SMALL_TARGETS, assert_same_tables, snakemake
from tests.workflow.slurm_cluster import SlurmUnavailable, local_slurm

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory):
    """Start a local SLURM, run the small DAG through it, stop SLURM; yield (workdir, result, seconds)."""
    state = tmp_path_factory.mktemp("slurm_state")
    workdir = tmp_path_factory.mktemp("slurm_run")
    try:
        with local_slurm(state) as env:
            start = time.monotonic()
            result = snakemake(workdir, "--workflow-profile", str(REPO / "profiles" / "slurm"),
                               "--profile", str(REPO / "tests" / "workflow" / "slurm_profile"), *SMALL_TARGETS,
                               configfiles=SMALL_CONFIGS, check=False, env={"SLURM_CONF": env["SLURM_CONF"]})
            seconds = time.monotonic() - start
            squeue = subprocess.run(["squeue", "-h"], capture_output=True, text=True, env=env, check=False)
    except SlurmUnavailable as error:
        pytest.skip(f"no local SLURM: {error}")
    assert result.returncode == 0, f"SLURM run failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return workdir, result, seconds, squeue.stdout


def test_slurm_run_equals_the_local_run(slurm_run, small_run):
    workdir, _, _, _ = slurm_run
    assert_same_tables(workdir, small_run)


def test_jobs_went_through_sbatch_grouped_and_none_left_queued(slurm_run):
    workdir, result, seconds, queued = slurm_run
    log = result.stdout + result.stderr
    submitted = [line for line in log.splitlines() if "has been submitted with SLURM jobid" in line]
    # Every compute job is an sbatch job: 3 resample and 3 Opus folds, 2 MFCC embeddings (every fold of a
    # condition in one job), and one group job holding the 2 classification jobs (the reference and the
    # matched one); corpus, ingest and summaries are local.
    assert len(submitted) == 9, "\n".join(submitted)
    assert sum("group_classify" in line for line in submitted) == 1
    assert not any("rule_summarize" in line or "rule_compare" in line for line in submitted)
    # Each job wrote its own log from its SLURM job; nothing is left in the queue.
    assert len(list((workdir / "results" / "logs" / "embed").rglob("*.log"))) == 2
    assert queued.strip() == ""
    print(f"SLURM run: {len(submitted)} sbatch jobs in {seconds:.0f} s")


def test_user_profile_has_no_test_only_settings():
    """The user profile must work on a cluster with accounting: the squeue status command and short
    status intervals belong to the test overlay only."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    overlay = yaml.safe_load((REPO / "tests" / "workflow" / "slurm_profile" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert "slurm-status-command" not in profile and overlay["slurm-status-command"] == "squeue"
    for key in ("slurm_partition", "runtime", "mem_mb", "cpus_per_task"):
        assert key in profile["default-resources"], key
