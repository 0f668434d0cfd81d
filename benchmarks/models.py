"""Model cost: clips per second of each registered model's ``embed`` on 5 s clips.

Usage (from the repository root, with the project's virtual environment):

    python benchmarks/models.py                        # CPU, batch 1 and 8, ~3 min on a busy 2-core box
    python benchmarks/models.py --models ast_512 beats --batches 8 --n-batches 4

Models are built once through ``acom.models.build_model`` (the registry, as the workflow's embed jobs
do), then ``model.embed`` is called on in-memory batches: one untimed warm-up batch, then
``--n-batches`` timed ones; ``clips_per_s`` = clips / seconds over the timed batches (feature
extraction included, file reads and resampling not). Variants:

* ``mfcc``: config.yaml's ``models.mfcc`` entry (CPU only, no torch).
* ``efficientat_mn04``: ``init: random`` (same network and cost as the published weights).
* ``ast``, ``ast_512``: AST at the published size (768 x 12 layers, ``init: random``) with
  ``max_length`` 1024 (published, 10.24 s, a 5 s clip is half padding) and 512 (5.12 s).
* ``beats``, ``beats_10s``: BEATs at the published iter3 size (``init: random``) with
  ``clip_seconds`` 5.0 (the clip as is: 248 tokens) and 10.0 (padded: 496 tokens).

Weights do not change the cost, so random ones stand in for checkpoints that cannot be downloaded
here. CPU rows run under ``--threads`` torch/BLAS threads (default: config.yaml's ``threads.embed``,
as the workflow's embed jobs). With CUDA, every torch model also runs on the GPU with ``autocast``
none, bf16 and fp16 (EfficientAT has no autocast option: none only), at the ``--gpu-batches`` sizes.
Clips: the first ESC-50 clips of ``../shared/data/esc50-16k`` resampled to each model's rate when
present, else white noise (``clips`` column). Timings are wall-clock and include any other load
on the machine (``load_1m``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from bench_common import limited_threads, write_table

REPO_ROOT = Path(__file__).resolve().parent.parent
ESC50_AUDIO = REPO_ROOT.parent / "shared" / "data" / "esc50-16k" / "audio"
CLIP_SECONDS = 5.0
COLUMNS = [
    "model", "type", "setting", "device", "autocast", "threads", "batch", "n_clips", "clip_s", "seconds",
    "clips_per_s", "s_per_clip", "median_s_per_batch", "build_s", "params_m", "weights", "clips", "load_1m",
]
VARIANTS: dict[str, tuple[dict, str]] = {
    "mfcc": ({"type": "mfcc", "sample_rate": 16000}, ""),
    "efficientat_mn04": ({"type": "efficientat_mn04", "init": "random"}, ""),
    "ast": ({"type": "ast", "init": "random", "max_length": 1024}, "max_length=1024"),
    "ast_512": ({"type": "ast", "init": "random", "max_length": 512}, "max_length=512"),
    "beats": ({"type": "beats", "init": "random", "clip_seconds": 5.0}, "clip_seconds=5"),
    "beats_10s": ({"type": "beats", "init": "random", "clip_seconds": 10.0}, "clip_seconds=10"),
}
AUTOCAST_TYPES = ("ast", "beats")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
                        help="variants to run. Default: all")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8], help="CPU batch sizes. Default: %(default)s")
    parser.add_argument("--gpu-batches", type=int, nargs="+", default=[1, 8, 32],
                        help="GPU batch sizes (only with CUDA). Default: %(default)s")
    parser.add_argument("--n-batches", type=int, default=2, help="timed batches per row. Default: %(default)s")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads. Default: config.yaml's threads.embed (else 2)")
    parser.add_argument("--no-gpu", action="store_true", help="CPU rows only, even with CUDA")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "models.csv",
                        help="CSV to write. Default: %(default)s")
    args = parser.parse_args(argv)
    if min(args.batches + args.gpu_batches) < 1 or args.n_batches < 1:
        parser.error("batch sizes and --n-batches must be positive")
    return args


def load_config() -> dict:
    import yaml

    with open(REPO_ROOT / "config.yaml") as fh:
        return yaml.safe_load(fh)


def variant_params(name: str, config: dict) -> dict:
    """The registry entry of a variant; mfcc takes config.yaml's settings when it has that entry."""
    params, _ = VARIANTS[name]
    if name == "mfcc":
        return {**params, **config.get("models", {}).get("mfcc", {})}
    return dict(params)


def load_clips(n: int, rate: int) -> tuple[np.ndarray, str]:
    """(n, 5 s * rate) float32: ESC-50 clips resampled to ``rate`` when ../shared has them, else noise."""
    samples = int(CLIP_SECONDS * rate)
    paths = sorted(ESC50_AUDIO.glob("*.flac"))[:n] if ESC50_AUDIO.is_dir() else []
    if len(paths) < n:
        rng = np.random.default_rng(0)
        return (0.1 * rng.standard_normal((n, samples))).astype(np.float32), "noise"
    from acom.io import read_audio
    from acom.resample import ClipResampler

    resample = ClipResampler(rate)
    waves = [resample(*read_audio(p))[:samples] for p in paths]
    return np.stack([np.pad(w, (0, samples - len(w))) for w in waves]).astype(np.float32), "esc50"


def parameter_count(model) -> float:
    """Millions of parameters in the torch modules a model wrapper holds (0 for MFCC)."""
    import torch

    modules = [v for v in vars(model).values() if isinstance(v, torch.nn.Module)]
    return sum(p.numel() for m in modules for p in m.parameters()) / 1e6


def time_batches(model, clips: np.ndarray, batch: int, n_batches: int) -> list[float]:
    """Seconds of each timed ``embed`` call (after one untimed warm-up batch); the numpy outputs
    force any GPU work to finish inside the timing."""
    model.embed(clips[:batch])
    seconds = []
    for i in range(n_batches):
        chunk = clips[(i * batch) % len(clips):][:batch]
        if len(chunk) < batch:
            chunk = clips[:batch]
        start = time.perf_counter()
        model.embed(chunk)
        seconds.append(time.perf_counter() - start)
    return seconds


def build_timed(params: dict, *, device: str, autocast: str, batch_size: int):
    """(model, seconds to build it) through the registry, as an embed job builds it."""
    from acom.models import build_model

    extra = {} if params["type"] == "mfcc" else {"device": device, "batch_size": batch_size}
    if params["type"] in AUTOCAST_TYPES:
        extra["autocast"] = autocast
    start = time.perf_counter()
    model = build_model({**params, **extra}, cache_dir=REPO_ROOT / "resources", name=f"bench_{params['type']}")
    return model, time.perf_counter() - start


def bench_variant(name: str, config: dict, args: argparse.Namespace, threads: int, cuda: bool) -> list[dict]:
    import torch

    from acom.models import model_sample_rate

    params = variant_params(name, config)
    _, setting = VARIANTS[name]
    clips, source = load_clips(max(args.batches + (args.gpu_batches if cuda else [])), model_sample_rate(params))
    runs = [("cpu", "none", b) for b in args.batches]
    if cuda and params["type"] != "mfcc":
        modes = ("none", "bf16", "fp16") if params["type"] in AUTOCAST_TYPES else ("none",)
        runs += [("cuda", mode, b) for mode in modes for b in args.gpu_batches]
    largest = max(batch for _, _, batch in runs)
    rows, models = [], {}
    for device, mode, batch in runs:
        key = (device, mode)
        with limited_threads(threads):
            if key not in models:
                models.clear()  # one model in memory at a time
                models[key] = build_timed(params, device=device, autocast=mode, batch_size=largest)
            model, build_s = models[key]
            seconds = time_batches(model, clips, batch, args.n_batches)
        total = sum(seconds)
        n = batch * args.n_batches
        rows.append({
            "model": name, "type": params["type"], "setting": setting, "device": device, "autocast": mode,
            "threads": threads if device == "cpu" else "", "batch": batch, "n_clips": n, "clip_s": CLIP_SECONDS,
            "seconds": total, "clips_per_s": n / total, "s_per_clip": total / n,
            "median_s_per_batch": statistics.median(seconds), "build_s": build_s,
            "params_m": parameter_count(model), "weights": "random" if params.get("init") == "random" else "n/a",
            "clips": source, "load_1m": os.getloadavg()[0],
        })
        print(f"  {name} {device} autocast={mode} batch={batch}: {n / total:.2f} clips/s "
              f"({total / n:.3f} s/clip)", flush=True)
        if device == "cuda":
            torch.cuda.empty_cache()
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import pandas as pd
    import torch

    config = load_config()
    threads = args.threads or int(config.get("threads", {}).get("embed", 2))
    cuda = torch.cuda.is_available() and not args.no_gpu
    device_name = torch.cuda.get_device_name(0) if cuda else "none"
    print(f"{os.cpu_count()} CPUs, {threads} threads, GPU: {device_name}, load {os.getloadavg()[0]:.2f}", flush=True)
    start = time.perf_counter()
    rows = []
    for name in args.models:
        print(f"{name} ...", flush=True)
        rows += bench_variant(name, config, args, threads, cuda)
    table = write_table(rows, COLUMNS, args.out)
    with pd.option_context("display.width", 250, "display.max_columns", None, "display.max_rows", None):
        shown = table.drop(columns=["median_s_per_batch", "load_1m"])
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"wrote {args.out} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
