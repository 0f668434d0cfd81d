"""Per-stage throughput of the ESC-50 workflow against a bare library loop on the same clips.

Usage (from the repository root, with the project's virtual environment):

    python benchmarks/esc50_stages.py --workdir /tmp/acom-bench-small --max-clips-per-class-per-fold 1

Two measurements per stage:

* workflow: the real Snakemake run (``results/esc50_summary.csv`` with the ``--config`` overlay,
  real ESC-50 clips and EfficientAT weights from ``../shared``) in a separate working directory.
  Each benchmarked rule writes a Snakemake benchmark TSV; ``workflow_s`` is the sum of its jobs'
  wall seconds (column ``s``), so it counts everything a job pays: process start, imports, config
  and model loading, audio and Parquet reads, the computation, FLAC and Parquet writes.
* bare: the same library calls in this one process, no Snakemake, models built once, each stage
  under the thread count the workflow gives its jobs (``threads`` in the config; the workflow also
  sets OMP/BLAS thread variables to it). ``bare_s`` times only the calls themselves
  (``torchaudio.functional.resample``, ``model.embed``, ``acom.evaluate.evaluate_folds``); reading
  their inputs is timed apart (``bare_io_s``), as is building the models (``bare_setup_s``).

``ratio = workflow_clips_per_s / bare_clips_per_s`` (= ``bare_s / workflow_s``) is the fraction of
the bare speed the workflow reaches: 1.0 means no overhead, 0.5 means the workflow spends as much
time again on process start, imports, model loading, file I/O and Parquet writes as on the calls.
The 16 kHz resample of 16 kHz sources is a pass-through (the bare call returns its input), so its
ratio is tiny by construction: that workflow stage is pure file I/O.

The ``total`` row holds the wall time of the whole ``snakemake`` command (DAG building, scheduling
and the unbenchmarked rules included; jobs run 2 at a time with ``--cores 2``) against the sum of
the bare stage times. ``n_jobs`` is the number of jobs Snakemake ran.

The bare loop reads the files the workflow wrote (manifest, resampled FLACs, embedding Parquets),
so both sides see the same clips. Timings are wall-clock: other load on the machine shows up in them.
Exits 0 with a message when ``../shared`` (data and weights) is absent.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from bench_common import limited_threads, write_table

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
TARGET = "results/esc50_summary.csv"
OVERLAY_NAME = "bench_overlay.yaml"
RUN_RECORD = "bench_run.json"
RUN_LOG = "bench_snakemake.log"
# Config keys holding file paths that a --config overlay may give relative to the repository root.
PATH_KEYS = (
    ("datasets", "esc50", "root"),
    ("models", "efficientat_mn04", "weights"),
    ("models", "efficientat_mn04", "labels"),
)
COLUMNS = [
    "stage", "detail", "n_clips", "workflow_s", "workflow_clips_per_s", "bare_s", "bare_clips_per_s",
    "ratio", "n_jobs", "bare_io_s", "bare_setup_s", "cpu_count", "torch_threads",
]


# --- config ---------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/acom-bench"),
                        help="Snakemake working directory (not the repository). Default: %(default)s")
    parser.add_argument("--config", type=Path, default=Path("configs/shared.yaml"),
                        help="overlay on config.yaml, relative to the repository root. Default: %(default)s")
    parser.add_argument("--max-clips-per-class-per-fold", type=int, default=None, metavar="N",
                        help="only the first N clips of each class in each fold (default: all)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "esc50_stages.csv",
                        help="CSV to write. Default: %(default)s")
    parser.add_argument("--reuse", action="store_true",
                        help="skip the workflow run when the workdir already holds its results")
    return parser.parse_args(argv)


def load_yaml(path: Path) -> dict:
    import yaml

    with open(path) as fh:
        return yaml.safe_load(fh) or {}


def merge(base: dict, overlay: Mapping) -> dict:
    """``overlay`` merged into a copy of ``base`` key by key, as Snakemake merges config files."""
    from snakemake.utils import update_config

    out = copy.deepcopy(base)
    update_config(out, copy.deepcopy(dict(overlay)))
    return out


def resolve_config_path(path: Path) -> Path:
    if path.is_absolute() or path.exists():
        return path.resolve()
    return (REPO_ROOT / path).resolve()


def absolute_paths_overlay(user_config: Mapping, max_clips: int | None) -> dict:
    """Overlay making the path keys of ``user_config`` absolute (they are relative to the repository
    root, the workflow runs elsewhere) and, when given, limiting the clips per class and fold."""
    overlay: dict = {}
    for keys in PATH_KEYS:
        node: Any = user_config
        for key in keys:
            node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, str) and not os.path.isabs(node):
            target = overlay
            for key in keys[:-1]:
                target = target.setdefault(key, {})
            target[keys[-1]] = str((REPO_ROOT / node).resolve())
    if max_clips is not None:
        overlay.setdefault("datasets", {}).setdefault("esc50", {})["max_clips_per_class_per_fold"] = max_clips
    # The uncoded stages only: benchmarks/codecs.py measures the codec stage.
    overlay.setdefault("evaluation", {}).update(codecs=[], train_conditions=["clean"])
    return overlay


def effective_config(user_config: Mapping, overlay: Mapping) -> dict:
    return merge(merge(load_yaml(REPO_ROOT / "config.yaml"), user_config), overlay)


# --- workflow run ---------------------------------------------------------------------------------
def run_workflow(workdir: Path, config_files: list[Path]) -> dict:
    """Run the whole workflow from scratch in ``workdir``; return its wall time and job count."""
    cmd = [
        sys.executable, "-m", "snakemake", "-s", str(REPO_ROOT / "Snakefile"), "--directory", str(workdir),
        "--cores", "2", "--forceall", TARGET, "--configfile", *map(str, config_files),
    ]
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    print("$", " ".join(cmd), flush=True)
    log_path = workdir / RUN_LOG
    start = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    wall = time.perf_counter() - start
    text = log_path.read_text()
    if proc.returncode != 0:
        sys.exit(f"snakemake failed (exit {proc.returncode}); see {log_path}:\n{text[-3000:]}")
    done = re.findall(r"(\d+) of (\d+) steps", text)
    record = {"wall_s": wall, "n_jobs": int(done[-1][1]) if done else None, "command": cmd}
    (workdir / RUN_RECORD).write_text(json.dumps(record, indent=2))
    return record


def read_benchmark_seconds(tsv: Path) -> float:
    import pandas as pd

    return float(pd.read_csv(tsv, sep="\t")["s"].sum())


def workflow_stages(workdir: Path, manifest) -> list[dict]:
    """One row per stage from the benchmark TSVs: summed job seconds, clips, number of jobs."""
    bench = workdir / "results" / "benchmarks"
    n_total = len(manifest)
    per_fold = manifest.groupby("fold").size().to_dict()

    def fold_of(tsv: Path) -> int:
        return int(re.fullmatch(r"fold(\d+)", tsv.stem).group(1))

    rows = [{"stage": "ingest", "detail": "", "n_clips": n_total, "n_jobs": 1,
             "workflow_s": read_benchmark_seconds(bench / "ingest_esc50.tsv")}]
    for rate_dir in sorted((bench / "resample_fold" / "esc50").glob("sr*"), key=lambda p: int(p.name[2:])):
        tsvs = sorted(rate_dir.glob("fold*.tsv"))
        rows.append({"stage": "resample", "detail": rate_dir.name[2:], "n_jobs": len(tsvs),
                     "n_clips": sum(per_fold.get(fold_of(t), 0) for t in tsvs),
                     "workflow_s": sum(map(read_benchmark_seconds, tsvs))})
    for model_dir in sorted((bench / "embed_fold").iterdir()):
        tsvs = sorted((model_dir / "none" / "none").glob("fold*.tsv"))
        rows.append({"stage": "embed", "detail": model_dir.name, "n_jobs": len(tsvs),
                     "n_clips": sum(per_fold.get(fold_of(t), 0) for t in tsvs),
                     "workflow_s": sum(map(read_benchmark_seconds, tsvs))})
    for model_dir in sorted((bench / "classify").iterdir()):
        tsvs = sorted(model_dir.rglob("*.tsv"))
        rows.append({"stage": "classify", "detail": model_dir.name, "n_jobs": len(tsvs),
                     "n_clips": n_total * len(tsvs), "workflow_s": sum(map(read_benchmark_seconds, tsvs))})
    return rows


# --- bare library loop ----------------------------------------------------------------------------
class Stopwatch:
    """Accumulates perf_counter seconds over many ``with watch:`` blocks."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> Self:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds += time.perf_counter() - self._start


def bare_resample(manifest, rates: list[int]) -> list[dict]:
    """Read each source clip once with soundfile, resample it to every rate."""
    import soundfile as sf
    import torch
    import torchaudio.functional as F

    io, calls = Stopwatch(), {rate: Stopwatch() for rate in rates}
    with torch.inference_mode():
        for path in manifest.sort_values(["fold", "clip_id"])["source_path"]:
            with io:
                samples, source_rate = sf.read(path, dtype="float32")
                wave = torch.from_numpy(samples)
            for rate in rates:
                with calls[rate]:
                    F.resample(wave, source_rate, rate)
    return [{"stage": "resample", "detail": str(rate), "bare_s": calls[rate].seconds,
             "bare_io_s": io.seconds / len(rates), "bare_setup_s": 0.0} for rate in rates]


def read_fold_waves(workdir: Path, rate: int, fold: int) -> list:
    """The resampled clips of one fold the workflow wrote, in its manifest's order."""
    import pandas as pd
    import soundfile as sf

    clips = pd.read_parquet(workdir / f"results/esc50/resampled/sr{rate}/fold{fold}.parquet")
    return [sf.read(workdir / path, dtype="float32")[0] for path in clips["path"]]


def bare_embed(workdir: Path, name: str, params: Mapping, folds: list[int]) -> dict:
    """Build the model once, embed every fold in batches of the configured batch size."""
    import numpy as np

    from acom.models import build_model, model_sample_rate

    setup, io, calls = Stopwatch(), Stopwatch(), Stopwatch()
    with setup:
        model = build_model(params, cache_dir=workdir / "resources" / "models")
    batch_size = int(params.get("batch_size", 16))  # the embed_fold script's default
    for fold in folds:
        with io:
            waves = read_fold_waves(workdir, model_sample_rate(params), fold)
        by_length: dict[int, list] = {}
        for wave in waves:  # as acom.embed.embed_clips: equal lengths only, no padding
            by_length.setdefault(wave.shape[0], []).append(wave)
        for group in by_length.values():
            for start in range(0, len(group), batch_size):
                batch = np.stack(group[start:start + batch_size])
                with calls:
                    model.embed(batch)
    return {"stage": "embed", "detail": name, "bare_s": calls.seconds, "bare_io_s": io.seconds,
            "bare_setup_s": setup.seconds}


def bare_classify(workdir: Path, name: str, config: Mapping, folds: list[int]) -> dict:
    """``evaluate_folds`` once per configured classifier on the embedding Parquets of ``name``."""
    import pandas as pd

    from acom.classification.protocol import evaluate_folds

    io = Stopwatch()
    with io:
        tables = {f: pd.read_parquet(workdir / f"results/esc50/embeddings/{name}/none/none/fold{f}.parquet")
                  for f in folds}
    calls = Stopwatch()
    for classifier in config["evaluation"]["classifiers"]:
        for _ in config["evaluation"]["train_conditions"]:  # only "clean": train and test on the reference
            with calls:
                evaluate_folds(tables, tables, config["classifiers"][classifier], seed=config["evaluation"]["seed"])
    return {"stage": "classify", "detail": name, "bare_s": calls.seconds, "bare_io_s": io.seconds,
            "bare_setup_s": 0.0}


def bare_stages(workdir: Path, config: Mapping, manifest) -> list[dict]:
    from acom.models import model_sample_rate

    threads = config.get("threads", {})
    folds = sorted(int(f) for f in manifest["fold"].unique())
    models = config["evaluation"]["models"]
    rates = sorted({model_sample_rate(config["models"][m]) for m in models})
    n = threads.get("resample", 1)
    print("bare loop: resample ...", flush=True)
    with limited_threads(n):
        out = [{**row, "torch_threads": n} for row in bare_resample(manifest, rates)]
    n = threads.get("embed", 2)
    for name in models:
        print(f"bare loop: embed {name} ...", flush=True)
        with limited_threads(n):
            out.append({**bare_embed(workdir, name, config["models"][name], folds), "torch_threads": n})
    n = threads.get("classify", 2)
    for name in models:
        print(f"bare loop: classify {name} ...", flush=True)
        with limited_threads(n):
            out.append({**bare_classify(workdir, name, config, folds), "torch_threads": n})
    return out


# --- table ----------------------------------------------------------------------------------------
def rate(n: float, seconds: float | None) -> float:
    return n / seconds if seconds else math.nan


def combine(workflow_rows: list[dict], bare_rows: list[dict], run: dict, n_total: int) -> list[dict]:
    bare = {(r["stage"], r["detail"]): r for r in bare_rows}
    rows = []
    for w in workflow_rows:
        b = bare.get((w["stage"], w["detail"]), {})
        rows.append({**w, **{k: b.get(k, math.nan) for k in ("bare_s", "bare_io_s", "bare_setup_s")},
                     "torch_threads": b.get("torch_threads", math.nan)})
    rows.append({"stage": "total", "detail": "snakemake", "n_clips": n_total, "workflow_s": run["wall_s"],
                 "n_jobs": run.get("n_jobs"), "bare_s": sum(r["bare_s"] for r in bare_rows),
                 "bare_io_s": sum(r["bare_io_s"] for r in bare_rows),
                 "bare_setup_s": sum(r["bare_setup_s"] for r in bare_rows), "torch_threads": math.nan})
    for r in rows:
        r["workflow_clips_per_s"] = rate(r["n_clips"], r["workflow_s"])
        r["bare_clips_per_s"] = rate(r["n_clips"], r["bare_s"])
        r["ratio"] = r["workflow_clips_per_s"] / r["bare_clips_per_s"] if r["bare_clips_per_s"] else math.nan
        r["cpu_count"] = os.cpu_count()
    return rows


# --- main -----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not SHARED.is_dir():
        print(f"skipped: {SHARED} (ESC-50 clips and EfficientAT weights) is absent", file=sys.stderr)
        return 0
    workdir = args.workdir.resolve()
    if workdir == REPO_ROOT or REPO_ROOT in workdir.parents:
        sys.exit(f"--workdir {workdir}: choose a directory outside the repository")
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = resolve_config_path(args.config)
    user_config = load_yaml(config_path)
    overlay = absolute_paths_overlay(user_config, args.max_clips_per_class_per_fold)
    config = effective_config(user_config, overlay)

    if args.reuse and (workdir / TARGET).is_file() and (workdir / RUN_RECORD).is_file():
        run = json.loads((workdir / RUN_RECORD).read_text())
        print(f"reusing the workflow run in {workdir} ({run['wall_s']:.1f} s)")
    else:
        import yaml

        (workdir / OVERLAY_NAME).write_text(yaml.safe_dump(overlay, sort_keys=False))
        run = run_workflow(workdir, [config_path, workdir / OVERLAY_NAME])
        print(f"workflow: {run['wall_s']:.1f} s, {run['n_jobs']} jobs", flush=True)

    import pandas as pd

    manifest = pd.read_parquet(workdir / "results" / "esc50" / "manifest.parquet")
    wf_rows = workflow_stages(workdir, manifest)
    bare_rows = bare_stages(workdir, config, manifest)
    table = write_table(combine(wf_rows, bare_rows, run, len(manifest)), COLUMNS, args.out)
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
