"""SED head cost: seconds per training epoch of ``acom.sed.train_frame_head`` (linear and GRU).

Usage (from the repository root, with the project's virtual environment):

    python benchmarks/sed_heads.py                           # ~3 min on 2 idle cores
    python benchmarks/sed_heads.py --clips 400 --epochs 2 --heads gru

Times ``train_frame_head`` on random frame embeddings of 10 s soundscapes (the cost does not
depend on the values) at the frame grids of the registered models: MFCC at its native 16 ms hop
and pooled to ``sed.min_hop_s`` (64 ms), EfficientAT mn04 (320 ms, 384-d), AST (100 ms, 768-d)
and BEATs (160 ms, 768-d). ``--clips`` training soundscapes (the default, 400, is four of the five
folds of the default 100 soundscapes per fold), six classes, the default head config
(``config.yaml``'s ``sed.head``) but ``--epochs``. Timings are wall-clock, under ``--threads``
torch threads (default: ``threads.detect``), and include any other load (``load_1m``).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from bench_common import limited_threads, write_table

REPO_ROOT = Path(__file__).resolve().parent.parent
SOUNDSCAPE_S = 10.0
#: name -> (hop s, frame dim) of the frames a head sees.
GRIDS = {
    "mfcc_16ms": (0.016, 80),
    "mfcc_pooled_64ms": (0.064, 80),
    "efficientat_mn04": (0.32, 384),
    "ast": (0.1, 768),
    "beats": (0.16, 768),
}
COLUMNS = ["grid", "head", "hop_s", "frames_per_clip", "frame_dim", "n_clips", "epochs", "threads", "seconds",
           "s_per_epoch", "load_1m"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grids", nargs="+", default=list(GRIDS), choices=list(GRIDS))
    parser.add_argument("--heads", nargs="+", default=["linear", "gru"], choices=["linear", "gru"])
    parser.add_argument("--clips", type=int, default=400, help="training soundscapes. Default: %(default)s")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs. Default: %(default)s")
    parser.add_argument("--threads", type=int, default=None, help="torch threads. Default: config.yaml's threads.detect")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "sed_heads.csv")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    import yaml

    from acom.sed.heads import HeadConfig, train_frame_head

    args = parse_args(argv)
    config = yaml.safe_load((REPO_ROOT / "config.yaml").read_text())
    threads = args.threads or config.get("threads", {}).get("detect", 2)
    rng = np.random.default_rng(0)
    rows = []
    for grid in args.grids:
        hop, dim = GRIDS[grid]
        n_frames = int(np.ceil(SOUNDSCAPE_S / hop))
        features = [rng.standard_normal((n_frames, dim)).astype(np.float32) for _ in range(args.clips)]
        targets = [(rng.random((n_frames, 6)) > 0.8).astype(np.float32) for _ in range(args.clips)]
        for head in args.heads:
            params = {**config["sed"]["head"], "type": head, "epochs": args.epochs}
            with limited_threads(threads):
                start = time.perf_counter()
                train_frame_head(features, targets, config=HeadConfig.from_mapping(params), seed=0)
                seconds = time.perf_counter() - start
            rows.append({"grid": grid, "head": head, "hop_s": hop, "frames_per_clip": n_frames, "frame_dim": dim,
                         "n_clips": args.clips, "epochs": args.epochs, "threads": threads, "seconds": seconds,
                         "s_per_epoch": seconds / args.epochs, "load_1m": os.getloadavg()[0]})
            print(f"{grid:18s} {head:6s} {seconds / args.epochs:8.2f} s/epoch", flush=True)
    table = write_table(rows, COLUMNS, args.out)
    print(f"wrote {args.out} ({len(table)} rows)")


if __name__ == "__main__":
    main()
