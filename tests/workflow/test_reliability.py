"""Reliability of the workflow as a whole: a run killed with SIGKILL at several points resumes and
ends with the tables of an uninterrupted run, byte for byte (with keep_audio: false, so resuming
also recreates deleted audio where a job needs it); two clean runs give identical tables;
on_bad_clip skips and lists bad clips."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.workflow.helpers import (
    SMALL_CONFIGS,
    SMALL_TARGETS,
    assert_same_tables,
    planned_jobs,
    snakemake,
    snakemake_call,
)

pytestmark = pytest.mark.workflow

# Where to pull the plug, in DAG order: each is a job log that appears when that job starts (the
# scripts open their log first), so the kill lands while the job is writing its outputs. The
# first four are cluster-sized jobs mid-run; the last is the local summary rule.
KILL_POINTS = [
    "results/logs/make_synthetic_esc50.log",
    "results/logs/resample_fold/esc50/sr16000/fold2.log",
    "results/logs/code_fold/esc50/none/opus_16/fold1.log",
    "results/logs/embed/esc50/mfcc/none/opus_16.log",
    "results/logs/classify_matched/mfcc/logreg/none/opus_16.log",
    "results/logs/summarize_esc50.log",
]


def start_snakemake(workdir: Path, configs: list[Path]) -> subprocess.Popen:
    """The run of conftest.snakemake, in its own process group so that one killpg takes down
    Snakemake and every job it started, as a preempted node or an OOM killer would."""
    cmd, env = snakemake_call(workdir, *SMALL_TARGETS, configfiles=configs)
    log = open(workdir / "killed_runs.log", "a")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def kill_when(process: subprocess.Popen, path: Path, *, delay_s: float, timeout_s: float = 600) -> bool:
    """SIGKILL the whole process group ``delay_s`` after ``path`` appears; False if the run had
    already ended by then (a last job shorter than the delay)."""
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the run ended ({process.returncode}) before {path} appeared")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {timeout_s:.0f} s")
        time.sleep(0.05)
    time.sleep(delay_s)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    process.wait()
    return process.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory):
    """The small DAG with keep_audio: false, killed at every KILL_POINTS entry in turn, then
    resumed to the end; returns (workdir, configs)."""
    workdir = tmp_path_factory.mktemp("killed")
    overlay = workdir / "no_audio.yaml"
    overlay.write_text(yaml.safe_dump({"keep_audio": False}))
    configs = [*SMALL_CONFIGS, overlay]
    killed = 0
    for point in KILL_POINTS:
        killed += kill_when(start_snakemake(workdir, configs), workdir / point, delay_s=0.5)
        # A killed run leaves Snakemake's lock behind (it cannot tell a dead run from a live one):
        # --unlock, then the same command; profiles/default reruns the jobs left incomplete.
        snakemake(workdir, "--unlock", *SMALL_TARGETS, configfiles=configs)
    assert killed >= len(KILL_POINTS) - 1, f"only {killed} of the kills landed mid-run"
    snakemake(workdir, *SMALL_TARGETS, configfiles=configs)
    return workdir, configs


def test_a_run_killed_at_every_stage_resumes_to_the_uninterrupted_tables(killed_run, small_run):
    workdir, configs = killed_run
    assert_same_tables(workdir, small_run)
    # Nothing half-written remains: atomic writes leave only their temporary names behind, and the
    # next write of the same file clears those.
    leftovers = [p for p in (workdir / "results").rglob("*.part")] + [
        p for p in (workdir / "resources").rglob("*.part")]
    assert not leftovers, leftovers
    # ... and the resumed run is complete: nothing left to do.
    assert planned_jobs(snakemake(workdir, "-n", *SMALL_TARGETS, configfiles=configs)) == {}


def test_configure_torch_sets_threads_and_deterministic_kernels():
    import torch

    from acom.runtime import configure_torch

    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    try:
        configure_torch(1)
        assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def test_two_clean_runs_give_identical_tables(small_run, tmp_path):
    snakemake(tmp_path, *SMALL_TARGETS, configfiles=SMALL_CONFIGS)
    assert_same_tables(tmp_path, small_run)


def test_keep_audio_false_deletes_decoded_audio_and_later_reruns_still_work(killed_run, tmp_path):
    workdir, configs = killed_run
    esc50 = workdir / "results" / "esc50"
    # The fold manifests stay, the audio folders are gone (the tables equal a kept-audio run's).
    assert len(list(esc50.glob("resampled/sr16000/fold*.parquet"))) == 3
    assert not list(esc50.glob("resampled/sr16000/fold*/")) and not list(esc50.glob("coded/none/opus_16/fold*/"))
    # A later stage that does not read audio reruns without recreating it ...
    stronger = tmp_path / "c10.yaml"
    stronger.write_text(yaml.safe_dump({"classifiers": {"logreg": {"type": "logreg", "C": 10.0}}}))
    jobs = planned_jobs(snakemake(workdir, "-n", *SMALL_TARGETS, configfiles=[*configs, stronger]))
    assert set(jobs) == {"classify_reference", "classify_matched", "summarize_esc50", "compare_conditions"}, jobs
    # ... and one that does (a changed embedding) gets its audio back first.
    mfcc13 = tmp_path / "mfcc13.yaml"
    mfcc13.write_text(yaml.safe_dump({"models": {"mfcc": {"type": "mfcc", "n_mfcc": 13}}}))
    jobs = planned_jobs(snakemake(workdir, "-n", *SMALL_TARGETS, configfiles=[*configs, mfcc13]))
    assert jobs["resample_fold"] == 3 and jobs["code_fold"] == 3 and jobs["embed"] == 2, jobs


def test_on_bad_clip_skip_lists_the_bad_clips_and_the_summary_counts_the_rest(tmp_path):
    """A corpus with a truncated clip, a text file named .wav, a stereo clip and a metadata row
    without a file: `error` stops at ingest naming each; `skip` runs to the end without them."""
    import numpy as np
    import pandas as pd
    import soundfile as sf

    from acom.data.synthetic import synthesize_esc50_corpus

    root = tmp_path / "esc50"
    meta = synthesize_esc50_corpus(root, categories=["tone", "hum"], folds=[1, 2, 3], clips_per_class_per_fold=3,
                                   sample_rate=16000, duration_s=5.0, seed=0)
    audio = root / "audio"
    truncated, text, stereo = (audio / name for name in meta["filename"].iloc[[0, 4, 8]])
    truncated.write_bytes(truncated.read_bytes()[: 30000])
    text.write_text("this is not audio\n")
    sf.write(stereo, np.zeros((80000, 2), dtype=np.float32), 16000)
    missing = audio / meta["filename"].iloc[12]
    missing.unlink()
    overlay = tmp_path / "corpus.yaml"
    overlay.write_text(yaml.safe_dump({
        "datasets": {"esc50": {"root": str(root), "synthetic": None}},
        "evaluation": {"codecs": [], "train_conditions": ["clean"]},  # 8 jobs: ingest to summary
    }))
    configs = [*SMALL_CONFIGS, overlay]
    failed = snakemake(tmp_path / "error", "results/esc50_summary.csv", configfiles=configs, check=False)
    assert failed.returncode != 0
    message = failed.stdout + failed.stderr
    for path, problem in ((truncated, "truncated"), (text, "not a readable audio file"), (stereo, "2 channels"),
                          (missing.with_suffix(""), "no audio file")):
        assert problem in message and path.stem in message, (path, problem)
    assert "on_bad_clip: skip" in message

    skip = tmp_path / "skip.yaml"
    skip.write_text(yaml.safe_dump({"on_bad_clip": "skip"}))
    workdir = tmp_path / "skip"
    snakemake(workdir, "results/esc50_summary.csv", configfiles=[*configs, skip])
    skipped = pd.read_csv(workdir / "results" / "esc50_skipped.csv")
    assert sorted(skipped["clip_id"]) == sorted(p.stem for p in (truncated, text, stereo, missing))
    summary = pd.read_csv(workdir / "results" / "esc50_summary.csv")
    assert (summary["n_clips"] == len(meta) - 4).all()


# --- faults a long grid meets -------------------------------------------------------------------
def _mount_tmpfs(folder: Path, size: str) -> bool:
    """Mount a size-limited tmpfs on ``folder`` (root only); False when that is not possible here."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, check=False).returncode == 0


def test_a_full_disk_stops_the_job_naming_the_output_and_the_run_resumes_once_space_is_freed(small_run, tmp_path):
    """The whole small run on a file system too small for it: the job that hits ENOSPC names its
    output and the space left, leaves no partial file, and once the file system grows the same
    command (after --unlock) ends with the uninterrupted run's tables."""
    workdir = tmp_path / "full"
    if not _mount_tmpfs(workdir, "6m"):
        pytest.skip("mounting a size-limited tmpfs needs root and mount(8); the disk-full test cannot run here")
    try:
        failed = snakemake(workdir, *SMALL_TARGETS, configfiles=SMALL_CONFIGS, check=False)
        output = failed.stdout + failed.stderr
        assert failed.returncode != 0
        assert "no space left on the device while writing it" in output and "MB free in" in output, output[-3000:]
        assert not list(workdir.rglob("*.part")), "a partial file was left in place"
        subprocess.run(["mount", "-o", "remount,size=512m", str(workdir)], check=True)
        snakemake(workdir, "--unlock", *SMALL_TARGETS, configfiles=SMALL_CONFIGS)
        snakemake(workdir, *SMALL_TARGETS, configfiles=SMALL_CONFIGS)
        assert_same_tables(workdir, small_run)
    finally:
        subprocess.run(["umount", "-l", str(workdir)], check=False)


@pytest.mark.parametrize("damaged, reader", [
    ("results/esc50/embeddings/mfcc/none/opus_16/fold2.parquet", "classify"),
    ("results/esc50/coded/none/opus_16/fold1/{clip}.flac", "embed"),
])
def test_a_damaged_intermediate_file_is_named_and_the_fix_restores_the_tables(small_run, tmp_path, damaged, reader):
    """A results file overwritten with garbage (Parquet) or cut short (a decoded FLAC inside a fold
    folder): the job reading it stops naming the path, the problem and the fix; after the fix the
    run ends with the uninterrupted run's tables."""
    import shutil

    workdir = tmp_path / "damaged"
    shutil.copytree(small_run, workdir, symlinks=True)
    if "{clip}" in damaged:
        folder = workdir / Path(damaged).parent
        damaged = str(Path(damaged).parent / min(folder.glob("*.flac")).name)
    path = workdir / damaged
    data = path.read_bytes()
    path.write_bytes(b"garbage" * 100 if path.suffix == ".parquet" else data[: len(data) // 3])
    # An overwritten table is newer than what was made from it: the next run reads it. A clip changed
    # inside a fold folder leaves the folder's time alone: a later run that reads it (here forced) does.
    force = [] if path.suffix == ".parquet" else ["--forcerun", reader]
    failed = snakemake(workdir, *SMALL_TARGETS, *force, configfiles=SMALL_CONFIGS, check=False)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0 and f"Error in rule {reader}" in output, output[-3000:]  # the first reader
    target = Path(damaged) if path.suffix == ".parquet" else Path(damaged).parent
    assert f"{damaged}: " in output and f"rebuild it: run the same snakemake command with --forcerun {target}" \
        in output, output[-3000:]
    snakemake(workdir, *SMALL_TARGETS, "--forcerun", str(target), configfiles=SMALL_CONFIGS)
    assert_same_tables(workdir, small_run)


def test_a_second_run_on_the_same_folder_is_refused_and_the_first_finishes(small_run, tmp_path):
    workdir = tmp_path / "twice"
    workdir.mkdir()
    first = start_snakemake(workdir, SMALL_CONFIGS)
    try:
        locks = workdir / ".snakemake" / "locks"
        deadline = time.monotonic() + 300
        while not list(locks.glob("*.lock")):
            assert first.poll() is None, "the first run ended before it locked the folder"
            assert time.monotonic() < deadline, "the first run never locked the folder"
            time.sleep(0.1)
        second = snakemake(workdir, *SMALL_TARGETS, configfiles=SMALL_CONFIGS, check=False)
        output = second.stdout + second.stderr
        assert second.returncode != 0 and "Directory cannot be locked" in output
        assert "acom: another snakemake run holds this folder (.snakemake/locks): wait for it to end" in output
    finally:
        assert first.wait(timeout=900) == 0
    assert_same_tables(workdir, small_run)
    assert planned_jobs(snakemake(workdir, "-n", *SMALL_TARGETS, configfiles=SMALL_CONFIGS)) == {}


def test_ten_kills_at_seeded_random_moments_resume_to_the_uninterrupted_tables(small_run, tmp_path):
    """Ten SIGKILLs of the whole process group at seeded random moments (not at stage starts), each
    followed by the documented resume (--unlock, then the same command): the tables equal the
    uninterrupted run's byte for byte and no temporary file is left."""
    import random

    workdir = tmp_path / "random_kills"
    workdir.mkdir()
    rng = random.Random(22)
    # Moments as fractions of the uninterrupted run's length here: each try gets at most a fifth
    # of it (startup included), so eight tries cannot finish the run however fast the machine is.
    wall_s = float((small_run / "wall_seconds.txt").read_text())
    landed = 0
    for _ in range(10):
        process = start_snakemake(workdir, SMALL_CONFIGS)
        try:
            process.wait(timeout=rng.uniform(0.05, 0.2) * wall_s)  # ends on its own when the run is done
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            landed += 1
        snakemake(workdir, "--unlock", *SMALL_TARGETS, configfiles=SMALL_CONFIGS)
    snakemake(workdir, *SMALL_TARGETS, configfiles=SMALL_CONFIGS)
    assert landed >= 8, f"only {landed} of 10 kills landed mid-run (uninterrupted run: {wall_s:.0f} s)"
    assert_same_tables(workdir, small_run)
    leftovers = [*(workdir / "results").rglob("*.part"), *(workdir / "resources").rglob("*.part")]
    assert not leftovers, leftovers
    print(f"random kills: {landed} of 10 landed mid-run, all resumed")
