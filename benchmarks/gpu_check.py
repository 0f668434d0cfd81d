"""Run the shared ESC-50 grid on the CPU and on the GPU of this machine and check that the GPU
reproduces the CPU's tables; write per-stage times of both (see benchmarks/gpu_check.sh).

    python benchmarks/gpu_check.py --workdir /tmp/acom-gpu [--clips-per-class 2]

The grid is ``configs/shared.yaml`` (real ESC-50 clips and the EfficientAT weights from ../shared)
with Opus at every default bitrate, MFCC and EfficientAT mn04, logistic regression, both protocols,
plus the best-mask search of mn04 on fold 1 (no filters, no SED), on ``--clips-per-class`` clips of
each class in each fold (8 is all of ESC-50). The GPU run adds ``configs/gpu.yaml`` (devices and batch sizes). Checks: every accuracy of
``esc50_summary.csv`` identical, every embedding within 1e-3 (max abs), every best mask identical.
Writes ``benchmarks/results/gpu_check.csv`` (stage, device, jobs, seconds) and
``benchmarks/results/gpu_check.json`` (the checks); exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared"
RULES = ["resample_fold", "code_fold", "embed", "classify_reference", "classify_matched", "search_masks",
         "summarize_esc50"]


def run(workdir: Path, overlays: list[Path], cores: int) -> float:
    targets = ["results/esc50_summary.csv", "results/esc50/masks/efficientat_mn04/fold1.parquet"]
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", str(cores), *targets, "--configfile", *map(str, overlays)]
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    start = time.perf_counter()
    with open(workdir.with_suffix(".log"), "w") as log:
        code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env, check=False).returncode
    if code:
        sys.exit(f"snakemake failed ({code}): see {workdir.with_suffix('.log')}")
    return time.perf_counter() - start


def stage_seconds(workdir: Path) -> dict[str, tuple[int, float]]:
    import pandas as pd

    out = {}
    for rule in RULES:
        base = workdir / "results" / "benchmarks"
        tsvs = sorted((base / rule).rglob("*.tsv")) if (base / rule).is_dir() else sorted(base.glob(f"{rule}.tsv"))
        out[rule] = (len(tsvs), sum(float(pd.read_csv(t, sep="\t")["s"].sum()) for t in tsvs))
    return out


def compare(cpu: Path, gpu: Path) -> dict:
    import numpy as np
    import pandas as pd

    a, b = (pd.read_csv(d / "results" / "esc50_summary.csv") for d in (cpu, gpu))
    accuracies = bool(a["accuracy_mean"].equals(b["accuracy_mean"]))
    diffs = []
    for path in sorted((cpu / "results" / "esc50" / "embeddings").rglob("*.parquet")):
        other = gpu / path.relative_to(cpu)
        x, y = (np.stack(pd.read_parquet(p)["embedding"].to_numpy()) for p in (path, other))
        diffs.append(float(np.abs(x - y).max()))
    masks = "results/esc50/masks/efficientat_mn04/fold1.parquet"
    best = [pd.read_parquet(d / masks).query("best")[["clip_id", "axis", "percentage", "region_start"]]
            .reset_index(drop=True) for d in (cpu, gpu)]
    return {"accuracies_identical": accuracies, "max_embedding_diff": max(diffs, default=0.0),
            "embeddings_within_1e-3": max(diffs, default=0.0) <= 1e-3, "best_masks_identical": best[0].equals(best[1]),
            "n_embedding_tables": len(diffs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/acom-gpu"))
    parser.add_argument("--clips-per-class", type=int, default=2, help="per class and fold (8 = all of ESC-50)")
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    args = parser.parse_args(argv)
    import torch
    import yaml

    if not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device visible to torch")
    if not (SHARED / "data" / "esc50-16k").is_dir():
        sys.exit(f"gpu_check: needs the ESC-50 clips and EfficientAT weights in {SHARED}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    subset = args.workdir / "subset.yaml"
    subset.write_text(yaml.safe_dump({
        "datasets": {"esc50": {"max_clips_per_class_per_fold": args.clips_per_class}},
        "evaluation": {"filters": [], "classifiers": ["logreg"], "train_conditions": ["clean", "matched"]},
        "mask_search": {"models": ["efficientat_mn04"], "folds": [1], "codecs": []},
        "sed": {"models": []}, "report": {"confusion": []},
    }))
    shared = [REPO / "configs" / "shared.yaml", subset]
    rows, seconds = [], {}
    for device, overlays in (("cpu", shared), ("gpu", [*shared, REPO / "configs" / "gpu.yaml"])):
        workdir = args.workdir / device
        seconds[device] = run(workdir, overlays, args.cores)
        for rule, (n_jobs, s) in stage_seconds(workdir).items():
            rows.append({"device": device, "rule": rule, "n_jobs": n_jobs, "job_seconds": round(s, 2)})
        rows.append({"device": device, "rule": "total (wall)", "n_jobs": "", "job_seconds": round(seconds[device], 2)})
    checks = {**compare(args.workdir / "cpu", args.workdir / "gpu"), "gpu": torch.cuda.get_device_name(0),
              "torch": torch.__version__, "clips_per_class": args.clips_per_class}
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    import pandas as pd

    pd.DataFrame(rows).to_csv(results / "gpu_check.csv", index=False)
    (results / "gpu_check.json").write_text(json.dumps(checks, indent=2))
    print(pd.DataFrame(rows).to_string(index=False))
    print(json.dumps(checks, indent=2))
    ok = checks["accuracies_identical"] and checks["embeddings_within_1e-3"] and checks["best_masks_identical"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
