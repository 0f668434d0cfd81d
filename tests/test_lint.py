"""The code and the workflow pass their linters: ruff (configured in pyproject.toml) and
``snakemake --lint`` (rules with log, params, threads; no absolute paths; ...)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed: .venv/bin/python -m pip install -e '.[test]'"
    result = subprocess.run([ruff, "check", "src", "workflow", "tests", "benchmarks"], cwd=REPO, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_snakemake_lint_is_clean(tmp_path):
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint", "-s", str(REPO / "Snakefile"),
                             "--directory", str(tmp_path)], cwd=REPO, capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Congratulations, your workflow is in a good condition!" in output, output[-4000:]
