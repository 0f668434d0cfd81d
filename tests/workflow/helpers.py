"""Helpers of the whole-workflow tests: one way to run the repository's Snakemake workflow in a
scratch directory, read its dry-run plan, and compare the tables two runs wrote."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

CONFIGS = REPO / "configs"
# The small synthetic DAG that tests run several times (locally, killed and resumed, through SLURM).
SMALL_CONFIGS = [CONFIGS / "synthetic.yaml", REPO / "tests" / "workflow" / "configs" / "small.yaml"]
SMALL_TARGETS = ["results/esc50_summary.csv", "results/esc50_codec_quality.csv", "results/esc50_accuracy_drop.csv"]


def snakemake_call(workdir: Path, *args: str, configfiles=(), env=None) -> tuple[list[str], dict[str, str]]:
    """(command, environment) running the repository's workflow in ``workdir`` with this
    interpreter's Snakemake (``env``: extra environment variables). On a cluster, --cores 2 caps
    what one group job asks for."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", "2", *args]
    if configfiles:  # one flag, several files: a repeated --configfile would replace the earlier ones
        cmd += ["--configfile", *map(str, configfiles)]
    env = {**os.environ, **(env or {}),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return cmd, env


def snakemake(workdir: Path, *args: str, configfiles=(), check=True, env=None) -> subprocess.CompletedProcess:
    """Run the workflow (:func:`snakemake_call`) to the end; ``check``: fail the test if it fails."""
    cmd, env = snakemake_call(workdir, *args, configfiles=configfiles, env=env)
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1500, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    return result


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table ({} when there is nothing to do)."""
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    block = text.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", block, re.MULTILINE)}


def result_tables(workdir: Path) -> dict[str, bytes]:
    """Every table a run wrote (CSV and Parquet under results/, logs and benchmarks aside): path -> bytes."""
    results = workdir / "results"
    return {str(p.relative_to(workdir)): p.read_bytes()
            for p in sorted(results.rglob("*"))
            if p.suffix in (".csv", ".parquet") and p.is_file()
            and p.relative_to(results).parts[0] not in ("logs", "benchmarks")}


def assert_same_tables(workdir: Path, reference: Path) -> None:
    """``workdir`` holds the same tables as ``reference`` and no others: byte for byte, except that
    the manifest records where each clip was read, an absolute path inside each run's directory."""
    import pandas as pd

    got, expected = result_tables(workdir), result_tables(reference)
    assert sorted(got) == sorted(expected)
    differing = [name for name in expected if got[name] != expected[name]]
    manifest = "results/esc50/manifest.parquet"
    if manifest in differing:
        ours, theirs = pd.read_parquet(workdir / manifest), pd.read_parquet(reference / manifest)
        for table, root in ((ours, workdir), (theirs, reference)):
            table["source_path"] = [str(Path(p).relative_to(root)) for p in table["source_path"]]
        pd.testing.assert_frame_equal(ours, theirs)
        differing.remove(manifest)
    assert not differing, f"tables differ from the reference run: {differing}"
