"""Wall time of a whole workflow run from scratch: the shared Opus grid by default.

Usage (from the repository root; needs ../shared):

    python benchmarks/grid.py --workdir /tmp/acom-grid                          # this checkout, all clips
    python benchmarks/grid.py --workdir /tmp/grid-old --repo /tmp/old --clips-per-class 2 --label before
    python benchmarks/grid.py --workdir /tmp/acom-codecs --overlay benchmarks/codecs_grid.yaml --label codecs

Runs ``snakemake --cores 2`` on ``configs/shared.yaml`` + ``--overlay`` (default
``benchmarks/opus_grid.yaml``; + a subset of ``--clips-per-class`` clips per class and fold) in
``--workdir`` (emptied first) with the checkout ``--repo``, and appends one row to
``benchmarks/results/grid.csv``: label, overlay, commit, clips, jobs, wall seconds, the largest job
memory (Snakemake benchmark ``max_rss``), summed job seconds per rule, coding milliseconds per clip
per codec family (the ``code_fold`` jobs' seconds over the clips they coded), and the summary's mean
score per model (so two commits can be compared for equal results too): ``esc50_summary.csv``'s
accuracy, or for a grid without ESC-50 targets (``--targets results/desed_summary.csv``) the SED
summary's micro segment F1, or (``--targets results/esc10_mix_summary.csv``) the ESC-10 mixtures'
mAP; ``metric`` names which.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_common import write_table

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
SUMMARY_METRICS = [("esc50_summary.csv", "accuracy_mean"), ("desed_summary.csv", "segment_f1_micro"),
                   ("esc10_mix_summary.csv", "map_mean")]
COLUMNS = ["label", "overlay", "commit", "n_clips", "n_jobs", "wall_s", "max_job_rss_mb", "job_s_by_rule",
           "code_ms_per_clip", "accuracy_mean_by_model", "metric"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=HERE.parent)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/acom-grid"))
    parser.add_argument("--clips-per-class", type=int, default=None, help="per class and fold (8 = all)")
    parser.add_argument("--label", default="after")
    parser.add_argument("--overlay", type=Path, default=HERE / "opus_grid.yaml")
    parser.add_argument("--targets", nargs="+", default=["results/esc50_summary.csv"])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "grid.csv")
    parser.add_argument("--resume", action="store_true",
                        help="keep --workdir and finish an interrupted run (wall_s then covers the resumed part only; "
                             "jobs rerun for changed inputs or params, not for edited scripts)")
    args = parser.parse_args(argv)
    if not (SHARED / "data" / "esc50-16k").is_dir():
        print(f"skipped: {SHARED} is absent", file=sys.stderr)
        return 0
    import pandas as pd
    import yaml

    repo, workdir = args.repo.resolve(), args.workdir.resolve()
    if workdir.exists() and not args.resume:
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    shared = yaml.safe_load((repo / "configs" / "shared.yaml").read_text())
    shared["datasets"]["esc50"]["root"] = str(SHARED / "data" / "esc50-16k")
    mn04 = SHARED / "models" / "efficientat-mn04-as"  # absolute paths: the workflow runs in --workdir
    shared["models"]["efficientat_mn04"].update(weights=str(mn04 / "mn04_as_mAP_432.pt"),
                                                labels=str(mn04 / "audioset_class_labels_indices.csv"))
    shared["datasets"]["esc50"]["max_clips_per_class_per_fold"] = args.clips_per_class
    (workdir / "shared.yaml").write_text(yaml.safe_dump(shared))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "--directory", str(workdir), "--cores",
           "2", *args.targets, "--configfile", str(workdir / "shared.yaml"), str(args.overlay.resolve())]
    if args.resume:  # finish what the interrupted run left; a script edited since does not redo finished jobs
        cmd += ["--rerun-triggers", "mtime", "params", "input"]
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    start = time.perf_counter()
    with open(workdir / "snakemake.log", "a" if args.resume else "w") as log:
        code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=repo, check=False).returncode
    wall = time.perf_counter() - start
    if code:
        sys.exit(f"snakemake failed ({code}): see {workdir / 'snakemake.log'}")
    text = (workdir / "snakemake.log").read_text()
    n_jobs = int(re.findall(r"(\d+) of (\d+) steps", text)[-1][1])
    benchmarks = workdir / "results" / "benchmarks"
    jobs = pd.DataFrame([{"rule": t.relative_to(benchmarks).parts[0].removesuffix(".tsv"), "path": t,
                          "s": float(pd.read_csv(t, sep="\t")["s"].iloc[0]),
                          "max_rss": pd.to_numeric(pd.read_csv(t, sep="\t")["max_rss"], errors="coerce").max()}
                         for t in benchmarks.rglob("*.tsv")])
    # The first target summary the grid made: ESC-50's accuracy, else the SED micro segment F1, else
    # the ESC-10 mixtures' mAP.
    summary_path, metric = next((workdir / "results" / name, metric) for name, metric in SUMMARY_METRICS
                                if (workdir / "results" / name).is_file())
    summary = pd.read_csv(summary_path)
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    row = {"label": args.label + (" (resumed)" if args.resume else ""), "overlay": args.overlay.name, "commit": commit,
           "n_clips": int(summary["n_clips"].iloc[0]), "n_jobs": n_jobs,
           "wall_s": round(wall, 1), "max_job_rss_mb": round(float(jobs["max_rss"].max()), 1),
           "job_s_by_rule": jobs.groupby("rule")["s"].sum().round(1).to_dict(),
           "code_ms_per_clip": code_ms_per_clip(jobs[jobs["rule"] == "code_fold"], workdir),
           "accuracy_mean_by_model": summary.groupby("model")[metric].mean().round(6).to_dict(),
           "metric": metric}
    previous = pd.read_csv(args.out).to_dict("records") if args.out.is_file() else []
    table = write_table([*previous, row], COLUMNS, args.out)
    print(table.to_string(index=False))
    return 0


def code_ms_per_clip(code_jobs, workdir: Path) -> dict[str, float]:
    """Milliseconds of code_fold job time per coded clip, per codec family (job seconds include the
    job's start, reading, the decode's FLAC and the metrics; a job codes on its threads' pool)."""
    import pandas as pd

    from acom.conditions import codec_family

    totals: dict[str, list[float]] = {}
    for job in code_jobs.itertuples(index=False):
        # results/benchmarks/code_fold/<dataset>/<filter>/<condition>/fold<k>.tsv
        dataset, filter_name, condition, fold = Path(job.path).parts[-4:]
        manifest = workdir / "results" / dataset / "coded" / filter_name / condition / f"{fold.removesuffix('.tsv')}.parquet"
        seconds, clips = totals.setdefault(codec_family(condition), [0.0, 0])
        totals[codec_family(condition)] = [seconds + job.s, clips + len(pd.read_parquet(manifest, columns=["clip_id"]))]
    return {family: round(1000 * seconds / clips, 1) for family, (seconds, clips) in sorted(totals.items())}


if __name__ == "__main__":
    sys.exit(main())
