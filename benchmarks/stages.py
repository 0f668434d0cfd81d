"""Per-stage throughput of the workflow against a bare loop doing the same work, on the same clips.

Usage (from the repository root, with the project's virtual environment; needs ../shared):

    python benchmarks/stages.py --workdir /tmp/acom-stages                     # this checkout
    python benchmarks/stages.py --workdir /tmp/acom-stages-old --repo /tmp/old --label before

For each stage (resample, filter, Opus coding, MFCC and EfficientAT mn04 embedding, classification,
mask search, summaries), two measurements of the same work on the same clips, in one run:

* workflow: the checkout's Snakemake workflow (``--repo``) on real ESC-50 clips from ``../shared``
  (``--folds``, every clip of them unless ``--clips-per-class`` is given), run from scratch with
  ``--cores 2``; ``workflow_s`` is the sum of the stage's job wall seconds from their Snakemake
  benchmark TSVs: everything a job pays (interpreter start, imports, config, model loading, reads,
  the computation, writes).
* bare: one Python process doing what the jobs do (the same reads, library calls and writes, into a
  scratch folder) with nothing around it: models built once per stage, each stage under the threads
  the workflow gives its jobs. The library calls are soundfile, torchaudio, scipy, libopus (through
  ``acom.codecs.opus``, whose own cost is libopus's), the models' ``embed``, scikit-learn and pandas.

``ratio = bare_s / workflow_s`` (= workflow clips/s over bare clips/s): 1.0 means the workflow adds
nothing to the work, 0.5 that it spends as long again on start-up, imports and its own bookkeeping.
The mask search runs in a second, smaller workflow run (``--search-clips-per-class`` clips per class
of the first fold). Rows go to a CSV (``--out``) with the checkout's commit and ``--label``.
Exits 0 with a message when ``../shared`` is absent.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from bench_common import limited_threads, write_table

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
COLUMNS = ["label", "commit", "stage", "detail", "n_clips", "n_jobs", "workflow_s", "bare_s", "workflow_clips_per_s",
           "bare_clips_per_s", "ratio", "peak_rss_mb", "threads"]

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=HERE.parent, help="checkout whose workflow runs (default: this)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/acom-stages"), help="scratch folder (outside --repo)")
    parser.add_argument("--folds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clips-per-class", type=int, default=None, help="first N clips per class per fold (default all)")
    parser.add_argument("--search-clips-per-class", type=int, default=1)
    parser.add_argument("--kbps", type=float, default=12.0, help="Opus bitrate of the coded condition")
    parser.add_argument("--label", default="after")
    parser.add_argument("--reuse", action="store_true", help="keep the workflow runs already in --workdir")
    parser.add_argument("--reference", type=Path, default=None,
                        help="the --workdir of an earlier run (another commit) to compare masks and accuracies with")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "stages.csv", help="CSV (rows appended)")
    return parser.parse_args(argv)


def commit_of(repo: Path) -> str:
    result = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=False)
    return result.stdout.strip() or "unknown"


def overlay(args: argparse.Namespace, *, search: bool) -> dict:
    esc50 = {"root": str(SHARED / "data" / "esc50-16k"), "folds": args.folds,
             "max_clips_per_class_per_fold": args.search_clips_per_class if search else args.clips_per_class}
    mn04 = SHARED / "models" / "efficientat-mn04-as"
    config = {
        "datasets": {"esc50": esc50},
        "models": {"efficientat_mn04": {"type": "efficientat_mn04", "weights": str(mn04 / "mn04_as_mAP_432.pt"),
                                        "labels": str(mn04 / "audioset_class_labels_indices.csv")}},
        "codecs": {"opus": {"type": "opus", "bitrates_kbps": [args.kbps]}},
        "evaluation": {"models": ["mfcc", "efficientat_mn04"], "classifiers": ["logreg"], "codecs": ["opus"],
                       "filters": [] if search else ["lowpass_4000", "frame_energy_p50"],
                       "train_conditions": ["clean"]},
        "mask_search": {"models": ["efficientat_mn04"] if search else [], "folds": [args.folds[0]], "codecs": []},
        "sed": {"models": []},
        "report": {"confusion": []},
    }
    return config


def run_workflow(repo: Path, workdir: Path, config: dict, targets: list[str]) -> dict:
    import shutil

    import yaml

    if workdir.exists():  # a fresh run: no benchmark file of an earlier run may be counted
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / "overlay.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "--directory", str(workdir), "--cores", "2",
           "--forceall", *targets, "--configfile", str(workdir / "overlay.yaml")]
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    with open(workdir / "snakemake.log", "w") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, check=False, cwd=repo)
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"snakemake failed ({proc.returncode}): see {workdir / 'snakemake.log'}")
    return {"wall_s": wall}


def job_times(workdir: Path, rule: str, part: str = "") -> tuple[float, int, float]:
    """(summed wall seconds, number of jobs, largest max_rss MB) of a rule's benchmark TSVs: the folder
    ``part`` under the rule's, or the one file ``part``.tsv (or the rule's own file)."""
    import pandas as pd

    base = workdir / "results" / "benchmarks" / rule
    if (base / part).is_dir():
        tsvs = sorted((base / part).rglob("*.tsv"))
    else:
        tsvs = [path for path in (base / f"{part}.tsv", base.with_suffix(".tsv")) if path.is_file()][:1]
    tables = [pd.read_csv(t, sep="\t") for t in tsvs]
    rss = [float(pd.to_numeric(t["max_rss"], errors="coerce").max()) for t in tables]
    return sum(float(t["s"].sum()) for t in tables), len(tables), max((r for r in rss if not math.isnan(r)), default=math.nan)


# --- bare loops: the jobs' work in one process ---------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds += time.perf_counter() - self._start


def write_manifest(rows: list[dict], path: Path) -> None:
    import pandas as pd

    pd.DataFrame(rows).to_parquet(path, index=False)


def bare_resample(manifest, rate: int, scratch: Path) -> float:
    """Read each source clip, resample it (torchaudio) to ``rate``, write 16-bit FLAC, then the manifest;
    a source that is 16-bit FLAC at ``rate`` already is copied (the least work that gives that file)."""
    import shutil

    import soundfile as sf
    import torch
    import torchaudio.functional as F

    clock = Clock()
    with clock, torch.inference_mode():
        for fold, clips in manifest.groupby("fold"):
            out = scratch / f"sr{rate}" / f"fold{fold}"
            out.mkdir(parents=True, exist_ok=True)
            rows = []
            for rec in clips.sort_values("clip_id").itertuples():
                info = sf.info(rec.source_path)
                if (info.format, info.subtype, info.samplerate) == ("FLAC", "PCM_16", rate):
                    shutil.copyfile(rec.source_path, out / f"{rec.clip_id}.flac")
                    rows.append({"clip_id": rec.clip_id, "fold": fold, "frames": info.frames})
                    continue
                samples, source_rate = sf.read(rec.source_path, dtype="float32")
                if source_rate != rate:
                    samples = F.resample(torch.from_numpy(samples), source_rate, rate).numpy()
                sf.write(out / f"{rec.clip_id}.flac", samples.clip(-1, 1), rate, subtype="PCM_16")
                rows.append({"clip_id": rec.clip_id, "fold": fold, "frames": len(samples)})
            write_manifest(rows, out.with_suffix(".parquet"))
    return clock.seconds


def fold_manifests(workdir: Path, kind: str) -> list:
    import pandas as pd

    return [pd.read_parquet(p) for p in sorted((workdir / "results" / "esc50" / kind).glob("fold*.parquet"))]


def bare_filter(workdir: Path, scratch: Path, name: str, params: dict) -> tuple[float, int]:
    """The filter on the 16 kHz clips: read, filter (scipy, or the ROI mask), write FLAC and manifest."""
    import soundfile as sf

    from acom.filters import build_filter

    apply = build_filter(params)
    clock, n = Clock(), 0
    with clock:
        for clips in fold_manifests(workdir, "resampled/sr16000"):
            out = scratch / name / f"fold{int(clips['fold'].iloc[0])}"
            out.mkdir(parents=True, exist_ok=True)
            rows = []
            for rec in clips.itertuples():
                samples, rate = sf.read(workdir / rec.path, dtype="float32")
                filtered, axis, kept = apply(rec.clip_id, samples, rate)
                sf.write(out / f"{rec.clip_id}.flac", filtered.clip(-1, 1), rate, subtype="PCM_16")
                rows.append({"clip_id": rec.clip_id, "axis": axis, "kept": kept})
            write_manifest(rows, out.with_suffix(".parquet"))
            n += len(clips)
    return clock.seconds, n


def bare_opus(workdir: Path, scratch: Path, kbps: float) -> tuple[float, int]:
    """Opus: read, encode, write the Ogg Opus file, decode, write the FLAC decode, SI-SNR and log-mel
    distance, the manifest."""
    import soundfile as sf

    from acom.codecs.opus import decode_opus, encode_opus, payload_bytes, write_ogg_opus
    from acom.quality import MelDistance, si_snr

    clock, n = Clock(), 0
    with clock:
        mel = MelDistance(16000)
        for clips in fold_manifests(workdir, "resampled/sr16000"):
            out = scratch / "opus" / f"fold{int(clips['fold'].iloc[0])}"
            out.mkdir(parents=True, exist_ok=True)
            rows = []
            for rec in clips.itertuples():
                samples, rate = sf.read(workdir / rec.path, dtype="float32")
                stream = encode_opus(samples, rate, bitrate_kbps=kbps)
                size = write_ogg_opus(out / f"{rec.clip_id}.opus", stream)
                decoded = decode_opus(stream)
                sf.write(out / f"{rec.clip_id}.flac", decoded.clip(-1, 1), rate, subtype="PCM_16")
                rows.append({"clip_id": rec.clip_id, "payload": payload_bytes(stream), "file": size,
                             "si_snr": si_snr(samples, decoded), "mel": mel(samples, decoded)})
            write_manifest(rows, out.with_suffix(".parquet"))
            n += len(clips)
    return clock.seconds, n


def bare_embed(workdir: Path, scratch: Path, name: str, params: dict, kind: str) -> tuple[float, int]:
    """Build the model once; per fold read the clips, resample to the model's rate, embed in batches of
    equal length, write the embedding table."""
    import numpy as np
    import pandas as pd
    import soundfile as sf
    import torch
    import torchaudio.functional as F

    from acom.models import build_model

    scratch.mkdir(parents=True, exist_ok=True)
    clock, n = Clock(), 0
    with clock:
        model = build_model(params, cache_dir=scratch, name=name)
        batch_size = int(params.get("batch_size", 16))
        for clips in fold_manifests(workdir, kind):
            waves = []
            for rec in clips.itertuples():
                samples, rate = sf.read(workdir / rec.path, dtype="float32")
                if rate != model.sample_rate:
                    with torch.inference_mode():
                        samples = F.resample(torch.from_numpy(samples), rate, model.sample_rate).numpy()
                waves.append(samples)
            embeddings = []
            for start in range(0, len(waves), batch_size):
                embeddings.append(model.embed(np.stack(waves[start:start + batch_size])).embeddings)
            table = clips[["clip_id", "fold", "target", "category"]].copy()
            table["embedding"] = list(np.concatenate(embeddings))
            pd.DataFrame(table).to_parquet(scratch / f"{name}_{kind.replace('/', '_')}_{n}.parquet", index=False)
            n += len(clips)
    return clock.seconds, n


def bare_classify(workdir: Path, scratch: Path, name: str) -> tuple[float, int]:
    """Classification of every tested condition of ``name`` under the clean protocol: per test fold a
    standardised logistic regression fit once on the other folds' clean embeddings, then each
    condition's embeddings read, predicted and its predictions and per-fold accuracy written."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def read(folder: Path) -> dict:
        return {int(p.stem[4:]): pd.read_parquet(p) for p in sorted(folder.glob("fold*.parquet"))}

    root = workdir / "results" / "esc50" / "embeddings" / name
    clock, n = Clock(), 0
    with clock:
        clean = read(root / "none" / "none")
        models = {}
        for fold in sorted(clean):
            train = pd.concat([t for f, t in clean.items() if f != fold])
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, random_state=0))
            models[fold] = model.fit(np.stack(train["embedding"].to_numpy()), train["target"].to_numpy())
        for condition in sorted(p.relative_to(root) for p in root.glob("*/*") if p.is_dir()):
            tables, rows, predictions = read(root / condition), [], []
            for fold, test in tables.items():
                proba = models[fold].predict_proba(np.stack(test["embedding"].to_numpy()))
                predicted = models[fold].classes_[proba.argmax(axis=1)]
                predictions.append(pd.DataFrame({"clip_id": test["clip_id"], "predicted": predicted,
                                                 "probabilities": list(proba.astype(np.float32))}))
                rows.append({"fold": fold, "accuracy": float((predicted == test["target"].to_numpy()).mean())})
                n += len(test)
            tag = f"{name}_{str(condition).replace('/', '_')}"
            pd.concat(predictions).to_parquet(scratch / f"predictions_{tag}.parquet")
            pd.DataFrame(rows).to_parquet(scratch / f"metrics_{tag}.parquet")
    return clock.seconds, n


def bare_search(workdir: Path, scratch: Path, params: dict, search: dict, folds: list[int]) -> tuple[float, int]:
    """The search of one fold: its classifier from the other folds' clean embeddings, the model built
    once, every clip searched (``acom.roi.search.search_masks``, the library call), the table written."""
    import pandas as pd

    from acom.classification.protocol import fit_fold_classifier
    from acom.embed import waveform_embedder
    from acom.models import build_model
    from acom.roi.search import search_masks, search_space

    fold = folds[0]
    scratch.mkdir(parents=True, exist_ok=True)
    clock = Clock()
    with clock:
        embeddings = workdir / "results" / "esc50" / "embeddings" / "efficientat_mn04" / "none" / "none"
        train = {f: pd.read_parquet(embeddings / f"fold{f}.parquet") for f in folds if f != fold}
        classifier, _ = fit_fold_classifier(train, fold, {"type": "logreg", "C": 1.0, "max_iter": 5000}, seed=0)
        model = build_model(params, cache_dir=scratch, name="efficientat_mn04")
        clips = pd.read_parquet(workdir / "results" / "esc50" / "resampled" / "sr16000" / f"fold{fold}.parquet")
        clips["path"] = [str(workdir / p) for p in clips["path"]]
        embed = waveform_embedder(model, 16000, batch_size=int(search.get("batch_size", 32)))
        table = search_masks(clips, embed=embed, classifier=classifier, space=search_space(search), sample_rate=16000,
                             model_name="efficientat_mn04")
        table.to_parquet(scratch / "masks.parquet")
    return clock.seconds, len(clips)


def bare_summaries(workdir: Path, scratch: Path) -> tuple[float, int]:
    """Read every per-fold metrics table, write the per-fold CSV and the summary (mean, std per condition)."""
    import pandas as pd

    scratch.mkdir(parents=True, exist_ok=True)
    clock = Clock()
    with clock:
        tables = [pd.read_parquet(p) for p in sorted((workdir / "results" / "esc50" / "metrics").rglob("*.parquet"))]
        per_fold = pd.concat(tables, ignore_index=True)
        keys = ["model", "classifier", "train_condition", "filter", "codec", "nominal_kbps"]
        per_fold[keys + ["fold", "accuracy", "macro_f1", "actual_kbps", "n_clips"]].to_csv(scratch / "per_fold.csv")
        per_fold.groupby(keys)[["accuracy", "macro_f1", "actual_kbps"]].agg(["mean", "std"]).to_csv(scratch / "s.csv")
    return clock.seconds, int(per_fold["n_clips"].sum())


def agreement(workdir: Path, reference: Path, fold: int) -> dict:
    """How far this run's tables are from ``reference``'s: the best masks of the searched clips (same
    clip, axis, percentage and region), the best region per (clip, axis, percentage), and the summary's
    accuracies."""
    import pandas as pd

    masks = f"results/esc50/masks/efficientat_mn04/fold{fold}.parquet"
    new, old = (pd.read_parquet(root / "search" / masks) for root in (workdir, reference))
    keys, region = ["clip_id", "axis", "percentage"], ["region_start", "region_end"]
    rows = new.merge(old, on=keys, suffixes=("", "_ref"))
    best = {name: table[table["best"]].set_index("clip_id")[["axis", "percentage", *region]]
            for name, table in (("new", new), ("old", old))}
    clips = sorted(set(new["clip_id"]))
    same = sum(best["new"].reindex([c]).equals(best["old"].reindex([c])) for c in clips)
    summaries = [pd.read_csv(root / "main" / "results" / "esc50_summary.csv") for root in (workdir, reference)]
    return {"searched_clips": len(clips), "best_mask_identical": same,
            "regions_identical_share": float((rows[region].to_numpy() == rows[[f"{c}_ref" for c in region]].to_numpy())
                                             .all(axis=1).mean()),
            "max_accuracy_diff": float((summaries[0]["accuracy_mean"] - summaries[1]["accuracy_mean"]).abs().max())}


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (SHARED / "data" / "esc50-16k").is_dir():
        print(f"skipped: {SHARED} (ESC-50 clips and EfficientAT weights) is absent", file=sys.stderr)
        return 0
    repo, workdir = args.repo.resolve(), args.workdir.resolve()
    sys.path.insert(0, str(repo / "src"))  # the bare loops call the checkout's own library
    import yaml

    config = yaml.safe_load((repo / "config.yaml").read_text())
    threads = config.get("threads", {})
    main_dir, search_dir, scratch = workdir / "main", workdir / "search", workdir / "bare"
    targets = ["results/esc50_summary.csv", "results/esc50_codec_quality.csv", "results/esc50_accuracy_drop.csv"]
    if args.reuse and (workdir / "run.json").is_file():
        run = json.loads((workdir / "run.json").read_text())
    else:
        run = run_workflow(repo, main_dir, overlay(args, search=False), targets)
        search_target = f"results/esc50/masks/efficientat_mn04/fold{args.folds[0]}.parquet"
        run_workflow(repo, search_dir, overlay(args, search=True), [search_target])
        (workdir / "run.json").write_text(json.dumps(run))

    import pandas as pd

    manifest = pd.read_parquet(main_dir / "results" / "esc50" / "manifest.parquet")
    mn04 = overlay(args, search=False)["models"]["efficientat_mn04"]
    mn04 = {**config["models"]["efficientat_mn04"], **mn04}
    filters = config["filters"]
    coded = f"none/opus_{args.kbps:g}"
    measured = []  # (stage, detail, rule, part, bare_s, n_clips, threads)
    for rate in (16000, 32000):
        with limited_threads(threads.get("resample", 1)):
            measured.append(("resample", str(rate), "resample_fold", f"esc50/sr{rate}",
                             bare_resample(manifest, rate, scratch), len(manifest), threads.get("resample", 1)))
    for name in ("lowpass_4000", "frame_energy_p50"):
        with limited_threads(threads.get("filter", 1)):
            seconds, n = bare_filter(main_dir, scratch / "filters", name, filters[name])
        measured.append(("filter", name, "filter_fold", f"esc50/{name}/sr16000", seconds, n, threads.get("filter", 1)))
    with limited_threads(threads.get("code", 1)):
        seconds, n = bare_opus(main_dir, scratch, args.kbps)
    measured.append(("code", f"opus_{args.kbps:g}", "code_fold", f"esc50/none/opus_{args.kbps:g}", seconds, n,
                     threads.get("code", 1)))
    for name, params in (("mfcc", config["models"]["mfcc"]), ("efficientat_mn04", mn04)):
        for condition, kind in (("none/none", "resampled/sr16000" if name == "mfcc" else "resampled/sr32000"),
                                (coded, f"coded/{coded}")):
            with limited_threads(threads.get("embed", 2)):
                seconds, n = bare_embed(main_dir, scratch / "embed", name, params, kind)
            measured.append(("embed", f"{name} {condition}", ("embed", "embed_fold"), f"{name}/{condition}", seconds, n,
                             threads.get("embed", 2)))
    for name in ("mfcc", "efficientat_mn04"):
        with limited_threads(threads.get("classify", 2)):
            seconds, n = bare_classify(main_dir, scratch, name)
        rules = ("classify_reference", "classify_matched", "classify")  # "classify": the per-condition jobs before
        measured.append(("classify", name, rules, name, seconds, n, threads.get("classify", 2)))
    with limited_threads(threads.get("search", 2)):
        seconds, n = bare_search(search_dir, scratch / "search", mn04, config["mask_search"], args.folds)
    measured.append(("search", "efficientat_mn04", "search_masks", "efficientat_mn04", seconds, n,
                     threads.get("search", 2)))
    seconds, n = bare_summaries(main_dir, scratch)
    measured.append(("summaries", "esc50_summary", "summarize_esc50", "", seconds, n, 1))

    rows, commit = [], commit_of(repo)
    for stage, detail, rules, part, bare_s, n_clips, n_threads in measured:
        base = search_dir if stage == "search" else main_dir
        times = [job_times(base, rule, part) for rule in ((rules,) if isinstance(rules, str) else rules)]
        workflow_s, n_jobs = sum(t[0] for t in times), sum(t[1] for t in times)
        rss = max((t[2] for t in times if not math.isnan(t[2])), default=math.nan)
        rows.append({"label": args.label, "commit": commit, "stage": stage, "detail": detail, "n_clips": n_clips,
                     "n_jobs": n_jobs, "workflow_s": workflow_s, "bare_s": bare_s,
                     "workflow_clips_per_s": n_clips / workflow_s if workflow_s else math.nan,
                     "bare_clips_per_s": n_clips / bare_s, "ratio": bare_s / workflow_s if workflow_s else math.nan,
                     "peak_rss_mb": rss, "threads": n_threads})
    rows.append({"label": args.label, "commit": commit, "stage": "total", "detail": "snakemake wall",
                 "n_clips": len(manifest), "n_jobs": math.nan, "workflow_s": run["wall_s"],
                 "bare_s": sum(r["bare_s"] for r in rows if r["stage"] != "search"), "peak_rss_mb": peak_rss_mb(),
                 "threads": 2})
    previous = pd.read_csv(args.out) if args.out.is_file() else pd.DataFrame(columns=COLUMNS)
    previous = previous[previous["label"] != args.label]
    table = write_table([*previous.to_dict("records"), *rows], COLUMNS, args.out)
    with pd.option_context("display.width", 220, "display.max_columns", None):
        print(table[table["label"] == args.label].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"wrote {args.out}")
    if args.reference is not None:
        match = agreement(workdir, args.reference.resolve(), args.folds[0])
        (args.out.parent / "stages_agreement.json").write_text(json.dumps({"label": args.label, **match}, indent=2))
        print("agreement with", args.reference, match)
    return 0


if __name__ == "__main__":
    sys.exit(main())
