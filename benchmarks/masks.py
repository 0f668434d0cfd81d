"""Best-mask search throughput: clips/s and masked versions/s per model, as the workflow searches.

Usage (from the repository root, with the project's virtual environment):

    python benchmarks/masks.py --clips 8 --models mfcc efficientat_mn04 --batch-sizes 8 32 --workers 1 2

Clips: the first N clips (by file name) of fold 1 of ``../shared/data/esc50-16k`` at 16 kHz, the
search rate of the default config. The fold's classifier is fit, as in the workflow, on the clean
embeddings of ``--train-clips`` clips of folds 2-5 (not timed). The search space is the default
config's ``mask_search`` section (``--config``); EfficientAT uses the mn04 weights in ``../shared``.
Each row times :func:`acom.roi.search.search_masks` on the N clips after an untimed one-clip warm-up,
with ``--threads`` cores: ``workers`` 1 gives torch all of them, ``workers`` = threads searches that
many clips side by side with one torch thread each (the workflow's choice on a CPU). Exits 0 with a
message when ``../shared`` is absent.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import yaml
from bench_common import limited_threads, write_table

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
ESC50 = SHARED / "data" / "esc50-16k"
MN04 = SHARED / "models" / "efficientat-mn04-as"
COLUMNS = ["model", "n_clips", "candidates_per_clip", "batch_size", "threads", "workers", "seconds", "clips_per_s",
           "versions_per_s", "share_with_best_mask", "load_1m"]


def fold_clips(meta, fold: int, n: int):
    rows = meta[meta["fold"] == fold].sort_values("filename").head(n)
    return rows.assign(clip_id=rows["filename"].str.removesuffix(".wav"),
                       path=[str(ESC50 / "audio" / f.replace(".wav", ".flac")) for f in rows["filename"]])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--train-clips", type=int, default=200, help="clips per training fold")
    parser.add_argument("--models", nargs="+", default=["mfcc", "efficientat_mn04"])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8])
    parser.add_argument("--workers", type=int, nargs="+", default=[2], help="clips searched at once")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "config.yaml")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "masks.csv")
    args = parser.parse_args()
    if not ESC50.is_dir():
        print(f"benchmarks/masks.py: {ESC50} is absent; nothing to measure")
        return 0

    import pandas as pd

    from acom.classification.protocol import fit_fold_classifier
    from acom.embed import embed_clips, waveform_embedder
    from acom.models import build_model
    from acom.roi.search import candidate_regions, search_masks, search_space

    config = yaml.safe_load(args.config.read_text())
    search = config["mask_search"]
    space = search_space(search)
    meta = pd.read_csv(ESC50 / "meta" / "esc50.csv")
    test = fold_clips(meta, 1, args.clips)
    rows = []
    for name in args.models:
        params = dict(config["models"][name])
        if params["type"] == "efficientat_mn04":
            params.update(weights=str(MN04 / "mn04_as_mAP_432.pt"), labels=str(MN04 / "audioset_class_labels_indices.csv"),
                          device="cpu")
        with limited_threads(args.threads):
            model = build_model(params, cache_dir=REPO_ROOT / "resources" / "models")
            train = {fold: embed_clips(model, fold_clips(meta, fold, args.train_clips), batch_size=16)
                     for fold in (2, 3, 4, 5)}
            classifier, _ = fit_fold_classifier(train, 1, config["classifiers"][search.get("classifier", "logreg")],
                                                seed=0)
            per_clip = 1 + sum(len(candidate_regions(grid.n_units(5 * 16000, 16000), space.percentages,
                                                     space.strides[grid.axis])) for grid in space.grids)
        for batch_size in args.batch_sizes:
            for workers in args.workers:
                embed = waveform_embedder(model, 16000, batch_size=batch_size)
                with limited_threads(args.threads if workers == 1 else 1):
                    search_masks(test.head(1), embed=embed, classifier=classifier, space=space, sample_rate=16000,
                                 model_name=name)  # warm-up
                    start = time.perf_counter()
                    table = search_masks(test, embed=embed, classifier=classifier, space=space, sample_rate=16000,
                                         model_name=name, workers=workers)
                    seconds = time.perf_counter() - start
                rows.append({
                    "model": name, "n_clips": len(test), "candidates_per_clip": per_clip, "batch_size": batch_size,
                    "threads": args.threads, "workers": workers, "seconds": seconds, "clips_per_s": len(test) / seconds,
                    "versions_per_s": len(test) * per_clip / seconds,
                    "share_with_best_mask": table.groupby("clip_id")["best"].any().mean(),
                    "load_1m": os.getloadavg()[0],
                })
                print(rows[-1], flush=True)
    print(write_table(rows, COLUMNS, args.out).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
