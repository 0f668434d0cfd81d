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
def slurm_env(tmp_path_factory):
    """A local SLURM for the module's tests (started once: a second start in one session can find
    munge still going down); yields its environment, stops it afterwards."""
    state = tmp_path_factory.mktemp("slurm_state")
    try:
        with local_slurm(state) as env:
            yield env
    except SlurmUnavailable as error:
        pytest.skip(f"no local SLURM: {error}")


@pytest.fixture(scope="module")
def slurm_run(slurm_env, tmp_path_factory):
    """Run the small DAG through the local SLURM; return (workdir, result, seconds, what is left queued)."""
    env = slurm_env
    workdir = tmp_path_factory.mktemp("slurm_run")
    start = time.monotonic()
    result = snakemake(workdir, "--workflow-profile", str(REPO / "profiles" / "slurm"),
                       "--profile", str(REPO / "tests" / "workflow" / "slurm_profile"), *SMALL_TARGETS,
                       configfiles=SMALL_CONFIGS, check=False, env={"SLURM_CONF": env["SLURM_CONF"]})
    seconds = time.monotonic() - start
    squeue = subprocess.run(["squeue", "-h"], capture_output=True, text=True, env=env, check=False)
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


def test_a_job_cancelled_on_its_node_is_retried_and_the_tables_equal_the_local_run(slurm_env, slurm_run, small_run,
                                                                                   tmp_path_factory):
    """scancel of a running compute job (what a node failure or preemption looks like to Snakemake):
    the profile's retry (restart-times: 1) reruns it and the run ends with the local run's tables."""
    import os
    import signal

    from tests.workflow.helpers import snakemake_call

    env = slurm_env
    workdir = tmp_path_factory.mktemp("slurm_kill_run")
    cmd, run_env = snakemake_call(workdir, "--workflow-profile", str(REPO / "profiles" / "slurm"), "--profile",
                                  str(REPO / "tests" / "workflow" / "slurm_profile"), *SMALL_TARGETS,
                                  configfiles=SMALL_CONFIGS, env={"SLURM_CONF": env["SLURM_CONF"]})
    with open(workdir / "run.log", "w") as log:
        run = subprocess.Popen(cmd, env=run_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        cancelled, deadline = None, time.monotonic() + 600
        try:
            while cancelled is None and time.monotonic() < deadline and run.poll() is None:
                # The executor puts the rule in each job's comment (%k), its run id in the name; the
                # first Opus job seen running is cancelled mid-run.
                running = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i %k"], capture_output=True,
                                         text=True, env=env, check=False).stdout.split("\n")
                for line in filter(None, running):
                    jobid, name = line.split(maxsplit=1)
                    if "code_fold" in name:
                        time.sleep(1.0)
                        subprocess.run(["scancel", jobid], env=env, check=True)
                        cancelled = name
                        break
                time.sleep(0.2)
            code = run.wait(timeout=1200)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
    output = (workdir / "run.log").read_text()
    assert cancelled is not None, "no Opus job was seen running to cancel"
    assert code == 0, output[-4000:]
    assert "Trying to restart job" in output, output[-4000:]
    assert_same_tables(workdir, small_run)
