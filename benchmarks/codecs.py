"""Codec cost: bare codec calls vs the workflow's per-fold codec stage vs real Snakemake jobs.

Usage (from the repository root, with the project's virtual environment):

    python benchmarks/codecs.py --clips 20 --workflow-dir /work/main

Clips: the first N ESC-50 clips (by file name) of ``../shared/data/esc50-16k/audio`` (16 kHz FLAC,
5 s), resampled once with ``acom.resample.ClipResampler`` to each codec's rate and written as 16-bit
FLAC, as the workflow's resample stage does (not timed). Opus codes all N clips; EnCodec, about 1-2 s
per clip and bitrate on one CPU thread, codes the first ``--encodec-clips`` (default 8) of them.

Three measurements per condition (a codec at one bitrate):

* bare: the codec calls alone, in this process, models loaded once, inputs in memory, after an
  untimed warm-up. Opus: ``encode_opus`` and ``decode_opus`` per clip. EnCodec: ``encode_batch`` and
  ``decode_batch`` per batch, divided by the batch size. Mean and median seconds per clip.
* stage: ``acom.coding.code_fold`` on the same clips in this process (reading the FLACs, coding,
  writing the Ogg Opus / ``.ecdc`` bitstreams and the FLAC decodes, SI-SNR and log-mel distance),
  run as the workflow runs it: under ``threads.code`` torch threads, EnCodec with codes derived from
  one full-bandwidth encoding (``encode_fold``, then ``code_fold`` with
  ``full_codes_dir``).
* job: with ``--workflow-dir``, the real Snakemake jobs' wall seconds (benchmark TSVs, column ``s``:
  process start, imports, model load and all I/O included) over the clips of their folds (rows of
  the coded manifests). Only read, never written.

Row ``mode``:

* Opus ``vbr`` / ``cbr``: the rate control (every configured bitrate in the configured mode, two in
  the other one). libopus is single-threaded: Opus rows are timed once, ``threads`` 1.
* EnCodec ``direct``: encode at the bitrate, then decode.
* EnCodec ``derived``: the workflow's path. ``bare_encode`` is ``truncate_codes`` of the codes
  encoded once at the top bandwidth (checked equal to the direct codes); the decode is the direct
  row's (same codes, same decoder call). ``stage`` / ``job``: ``code_fold`` with ``full_codes_dir``.
* EnCodec ``full_codes``: the one encoding at the top bandwidth that every derived row shares
  (``stage``: ``encode_fold``; ``job``: ``encode_full_bitrate``). Cost of a model's
  whole bitrate ladder in the workflow = this row + its derived rows.

EnCodec runs every bitrate (direct, derived, full_codes rows, with stage and job columns) at the
workflow's thread count (``threads.code``) and the largest ``--batches`` entry. The models named in
``--variant-models`` (default encodec24) also run the other (threads, batch) combinations, direct
rows only, at the top bandwidth (``--full-matrix``: every bitrate), on one batch (at least 2 clips).
The encoder/decoder networks are the same at every bandwidth; only the residual quantiser depth
changes, so the top bandwidth is representative. The ``batch`` column is the batch size used
(at most the clip count).

``ratio_bare_to_stage`` = bare s/clip / stage s/clip: 1.0 means the stage costs no more than the
codec calls, 0.5 that it spends as long again on I/O, bitstream writing and metrics.
``actual_kbps_mean``: payload bits / duration of the bare encodings (Opus packets; EnCodec bit-packed
codes plus the 48 kHz model's per-segment scales, as ``write_ecdc_codes`` counts them).

Without network access the EnCodec checkpoints cannot be fetched: models are then built with
``init="random"`` (same architecture and cost, meaningless output), ``weights`` = random.
``--encodec-weights DIR`` takes ``encodec_24khz-d7cc33bc.th`` / ``encodec_48khz-7e698e3e.th`` from DIR.

Timings are wall-clock and include any other load on the machine (``load_1m``: 1-minute load average
when the row was measured). Exits 0 with a message when ``../shared`` is absent.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench_common import limited_threads, write_table

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
ESC50 = SHARED / "data" / "esc50-16k"
SOURCE_RATE = 16000
COLUMNS = [
    "codec", "condition", "nominal_kbps", "mode", "threads", "batch", "weights", "n_clips",
    "bare_encode_s_per_clip", "bare_decode_s_per_clip", "bare_s_per_clip", "stage_s_per_clip",
    "job_s_per_clip", "ratio_bare_to_stage", "actual_kbps_mean",
    "bare_encode_median_s_per_clip", "bare_decode_median_s_per_clip", "job_n_clips", "n_jobs", "load_1m",
]
# Opus bitrates also timed in the mode the config does not use.
OTHER_MODE_KBPS = (8, 32)


# --- arguments and config -------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=20, metavar="N",
                        help="first N ESC-50 clips by name (Opus codes all). Default: %(default)s")
    parser.add_argument("--encodec-clips", type=int, default=8, metavar="M",
                        help="EnCodec codes the first min(M, N) of them. Default: %(default)s")
    parser.add_argument("--codecs", nargs="+", default=["opus", "encodec24", "encodec48"],
                        help="codec entries of config.yaml to run. Default: %(default)s")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="torch thread counts for EnCodec. Default: %(default)s")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8],
                        help="EnCodec batch sizes. Default: %(default)s")
    parser.add_argument("--variant-models", nargs="*", default=["encodec24"],
                        help="EnCodec models that also run the other (threads, batch) combinations; "
                             "encodec48 at 2 threads takes minutes on a busy 2-core machine. Default: %(default)s")
    parser.add_argument("--full-matrix", action="store_true",
                        help="variants at every EnCodec bitrate, not only the top one")
    parser.add_argument("--encodec-weights", type=Path, default=None, metavar="DIR",
                        help="folder with the official EnCodec checkpoints (default: random init)")
    parser.add_argument("--workflow-dir", type=Path, default=None, metavar="DIR",
                        help="Snakemake working directory whose results/benchmarks TSVs to read (read only)")
    parser.add_argument("--filter", default="none",
                        help="filter wildcard of the workflow's jobs to read. Default: %(default)s")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "codecs.csv",
                        help="CSV to write. Default: %(default)s")
    args = parser.parse_args(argv)
    if args.clips < 1 or args.encodec_clips < 1 or min(args.threads) < 1 or min(args.batches) < 1:
        parser.error("--clips, --encodec-clips, --threads and --batches must be positive")
    return args


def load_config() -> dict:
    import yaml

    with open(REPO_ROOT / "config.yaml") as fh:
        return yaml.safe_load(fh)


# --- helpers --------------------------------------------------------------------------------------
def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def load_1m() -> float:
    return os.getloadavg()[0]


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def row(**fields) -> dict:
    out = {column: fields.pop(column, math.nan) for column in COLUMNS}
    if fields:
        raise KeyError(f"unknown columns {sorted(fields)}")
    enc, dec = out["bare_encode_s_per_clip"], out["bare_decode_s_per_clip"]
    out["bare_s_per_clip"] = enc + (0.0 if math.isnan(dec) else dec)
    stage = out["stage_s_per_clip"]
    out["ratio_bare_to_stage"] = out["bare_s_per_clip"] / stage if stage and not math.isnan(stage) else math.nan
    out["load_1m"] = load_1m()
    return out


# --- clips ----------------------------------------------------------------------------------------
def source_clips(n: int):
    """The first ``n`` clips by name, as a fold manifest (clip_id, fold, target, category, path,
    sample_rate) at 16 kHz."""
    import pandas as pd

    meta = pd.read_csv(ESC50 / "meta" / "esc50.csv")
    meta["clip_id"] = meta["filename"].str.rsplit(".", n=1).str[0]
    paths = sorted((ESC50 / "audio").glob("*.flac"))[:n]
    table = pd.DataFrame({"clip_id": [p.stem for p in paths], "path": [str(p) for p in paths]})
    table = table.merge(meta[["clip_id", "fold", "target", "category"]], on="clip_id", how="left",
                        validate="one_to_one")
    if table["fold"].isna().any():
        raise ValueError(f"clips missing from {ESC50 / 'meta' / 'esc50.csv'}: "
                         f"{table.loc[table['fold'].isna(), 'clip_id'].tolist()}")
    table["sample_rate"] = SOURCE_RATE
    return table[["clip_id", "fold", "target", "category", "path", "sample_rate"]]


def clips_at_rate(clips, rate: int, scratch: Path):
    """``clips`` resampled to ``rate`` as 16-bit FLAC in ``scratch`` (as the workflow's resample stage),
    and the samples read back from those files, so bare and stage code the same input."""
    from acom.io import read_audio, write_flac
    from acom.resample import ClipResampler

    if rate == SOURCE_RATE:
        return clips, [read_audio(p)[0] for p in clips["path"]]
    resampler, out_dir = ClipResampler(rate), scratch / f"sr{rate}"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for rec in clips.itertuples(index=False):
        samples, source_rate = read_audio(rec.path)
        path = out_dir / f"{rec.clip_id}.flac"
        write_flac(path, resampler(samples, source_rate), rate)
        paths.append(str(path))
    table = clips.assign(path=paths, sample_rate=rate)
    return table, [read_audio(p)[0] for p in paths]


def time_stage(clips, codec, condition: str, kbps: float, out_dir: Path, batch_size: int) -> float:
    """Seconds per clip of ``code_fold`` on ``clips``."""
    from acom.coding import code_fold

    _, seconds = timed(code_fold, clips, codec, condition=condition, nominal_kbps=kbps, out_dir=out_dir,
                       batch_size=batch_size)
    return seconds / len(clips)


# --- Opus -----------------------------------------------------------------------------------------
def bench_opus(name: str, params: dict, clips, scratch: Path, stage_threads: int) -> list[dict]:
    from acom.codecs.opus import OpusCodec, decode_opus, encode_opus, payload_bytes
    from acom.conditions import condition_name

    rate = int(params.get("sample_rate", 16000))
    table, waves = clips_at_rate(clips, rate, scratch)
    settings = {k: params[k] for k in ("complexity", "frame_ms", "application") if k in params}
    config_mode = params.get("mode", "vbr")
    other_mode = "cbr" if config_mode != "cbr" else "vbr"
    runs = [(kbps, config_mode) for kbps in params["bitrates_kbps"]]
    runs += [(kbps, other_mode) for kbps in OTHER_MODE_KBPS]
    rows = []
    with limited_threads(1):
        # Warm-up: first calls load and initialise libopus, soundfile's FLAC writer, the mel filterbank.
        decode_opus(encode_opus(waves[0], rate, bitrate_kbps=runs[0][0], mode=config_mode, **settings))
        time_stage(table.iloc[:1], OpusCodec(bitrate_kbps=runs[0][0], sample_rate=rate, **settings),
                   "warmup", runs[0][0], scratch / "warmup", 16)
        for kbps, mode in runs:
            enc, dec, kbits = [], [], []
            for wave in waves:
                stream, t_enc = timed(encode_opus, wave, rate, bitrate_kbps=kbps, mode=mode, **settings)
                _, t_dec = timed(decode_opus, stream)
                enc.append(t_enc)
                dec.append(t_dec)
                kbits.append(payload_bytes(stream) * 8 / (len(wave) / rate) / 1000)
            condition = condition_name(name, kbps)
            with limited_threads(stage_threads):
                stage = time_stage(table, OpusCodec(bitrate_kbps=kbps, sample_rate=rate, mode=mode, **settings),
                                   condition, kbps, scratch / "stage" / f"{condition}_{mode}",
                                   int(params.get("batch_size", 16)))
            rows.append(row(codec=name, condition=condition, nominal_kbps=float(kbps), mode=mode, threads=1,
                            batch=1, weights="", n_clips=len(waves), bare_encode_s_per_clip=mean(enc),
                            bare_decode_s_per_clip=mean(dec), stage_s_per_clip=stage,
                            actual_kbps_mean=mean(kbits), bare_encode_median_s_per_clip=median(enc),
                            bare_decode_median_s_per_clip=median(dec)))
            print(f"  {condition} {mode}: bare {rows[-1]['bare_s_per_clip']:.4f} s/clip, "
                  f"stage {stage:.4f} s/clip", flush=True)
    return rows


# --- EnCodec --------------------------------------------------------------------------------------
def load_model(name: str, weights_dir: Path | None):
    """(model, "pretrained" | "random"): the official checkpoint from ``weights_dir`` when it is there."""
    from acom.codecs.encodec import ENCODEC_MODELS, load_encodec

    if weights_dir is not None:
        path = weights_dir / ENCODEC_MODELS[name].checkpoint
        if path.is_file():
            return load_encodec(name, weights=path, device="cpu"), "pretrained"
        print(f"  {path} is absent: {name} uses random weights", file=sys.stderr)
    return load_encodec(name, weights=None, init="random", device="cpu", seed=0), "random"


def batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def sweep(model, waves: list, bitrates: list[float], batch: int, top: float | None):
    """Per bitrate: encode and decode seconds per clip (one value per batch), the codes and, unless
    ``top`` is None, the truncation seconds per clip of the ``top``-bandwidth codes to each bitrate."""
    from acom.codecs.encodec import decode_batch, encode_batch, truncate_codes

    out = {}
    for kbps in sorted(bitrates, reverse=True):
        enc, dec, codes = [], [], []
        for group in batches(waves, batch):
            group_codes, seconds = timed(encode_batch, model, group, kbps)
            enc.append(seconds / len(group))
            codes += group_codes
        for group in batches(codes, batch):
            _, seconds = timed(decode_batch, model, group)
            dec.append(seconds / len(group))
        out[kbps] = {"enc": enc, "dec": dec, "codes": codes}
    if top is not None:
        for kbps, entry in out.items():
            trunc = []
            for full, direct in zip(out[top]["codes"], entry["codes"]):
                derived, seconds = timed(truncate_codes, full, model, kbps)
                trunc.append(seconds)
                if not all(a[0].equal(b[0]) for a, b in zip(derived.frames, direct.frames)):
                    raise RuntimeError(f"{model.name} {kbps} kbps: truncated codes differ from direct encoding")
            entry["trunc"] = trunc
    return out


def payload_kbps(model, codes: list, rate: int) -> float:
    from acom.codecs.encodec import ecdc_bytes

    kbps = []
    for c in codes:
        content, header = ecdc_bytes(model, c)
        kbps.append((len(content) - header) * 8 / (c.n_samples / rate) / 1000)
    return mean(kbps)


def bench_encodec(name: str, params: dict, clips, scratch: Path, args, stage_threads: int) -> list[dict]:
    from acom.codecs.encodec import EncodecCodec, decode_batch, encode_batch, encode_fold
    from acom.conditions import condition_name, format_kbps

    model, weights = load_model(name, args.encodec_weights)
    rate = model.sample_rate
    table, waves = clips_at_rate(clips.iloc[:args.encodec_clips], rate, scratch)
    bitrates = [float(k) for k in params["bitrates_kbps"]]
    top = max(bitrates)
    primary = (stage_threads if stage_threads in args.threads else args.threads[0], max(args.batches))
    combos = [primary]
    if name in args.variant_models:
        combos += [(t, b) for t in args.threads for b in args.batches if (t, b) != primary]
    rows, warm_threads = [], None
    for threads, batch in combos:
        is_primary = (threads, batch) == primary
        n = len(waves) if is_primary else min(len(waves), max(batch, 2))  # variants: one batch (>= 2 clips)
        rates = bitrates if is_primary or args.full_matrix else [top]
        eff_batch = min(batch, n)
        with limited_threads(threads):
            if threads != warm_threads:  # combos of one thread count follow each other
                # Warm-up on one whole clip: thread pool start, first-call allocations and kernel selection.
                decode_batch(model, encode_batch(model, waves[:1], top))
                warm_threads = threads
            result = sweep(model, waves[:n], rates, eff_batch, top if is_primary else None)
        common = {"codec": name, "threads": threads, "batch": eff_batch, "weights": weights, "n_clips": n}
        stage_full = math.nan
        stages = {}
        if is_primary:
            # The workflow's path: one full-bandwidth encoding, every bitrate derived from it.
            codes_dir = scratch / "codes" / name
            with limited_threads(stage_threads):
                _, seconds = timed(encode_fold, model, name, table, out_dir=codes_dir,
                                   batch_size=eff_batch)
                stage_full = seconds / n
                for kbps in bitrates:
                    codec = EncodecCodec(model, name=name, bandwidth_kbps=kbps, full_codes_dir=codes_dir)
                    stages[kbps] = time_stage(table, codec, condition_name(name, kbps), kbps,
                                              scratch / "stage" / condition_name(name, kbps), eff_batch)
        kbits_at = {kbps: payload_kbps(model, entry["codes"], rate) for kbps, entry in result.items()}
        for kbps in sorted(result):
            entry, condition, kbits = result[kbps], condition_name(name, kbps), kbits_at[kbps]
            rows.append(row(**common, condition=condition, nominal_kbps=kbps, mode="direct",
                            bare_encode_s_per_clip=mean(entry["enc"]), bare_decode_s_per_clip=mean(entry["dec"]),
                            actual_kbps_mean=kbits, bare_encode_median_s_per_clip=median(entry["enc"]),
                            bare_decode_median_s_per_clip=median(entry["dec"])))
            if is_primary:
                rows.append(row(**common, condition=condition, nominal_kbps=kbps, mode="derived",
                                bare_encode_s_per_clip=mean(entry["trunc"]), bare_decode_s_per_clip=mean(entry["dec"]),
                                stage_s_per_clip=stages.get(kbps, math.nan), actual_kbps_mean=kbits,
                                bare_encode_median_s_per_clip=median(entry["trunc"]),
                                bare_decode_median_s_per_clip=median(entry["dec"])))
        if is_primary:
            entry = result[top]
            rows.append(row(**common, condition=condition_name(name, top), nominal_kbps=top, mode="full_codes",
                            bare_encode_s_per_clip=mean(entry["enc"]), stage_s_per_clip=stage_full,
                            actual_kbps_mean=kbits_at[top],
                            bare_encode_median_s_per_clip=median(entry["enc"])))
        print(f"  {name} threads={threads} batch={eff_batch} ({n} clips, {format_kbps(min(rates))}-"
              f"{format_kbps(top)} kbps): top-bandwidth encode {mean(result[top]['enc']):.3f} + decode "
              f"{mean(result[top]['dec']):.3f} s/clip", flush=True)
    return rows


# --- Snakemake jobs -------------------------------------------------------------------------------
def read_benchmark_seconds(tsv: Path) -> float:
    import pandas as pd

    return float(pd.read_csv(tsv, sep="\t")["s"].sum())


def parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def fold_of(tsv: Path) -> int:
    return int(re.fullmatch(r"fold(\d+)", tsv.stem).group(1))


def job_seconds(workflow_dir: Path, filter_name: str) -> dict[tuple[str, str], tuple[float, int, int]]:
    """{(rule, codec or condition): (seconds, clips, jobs)} over the finished jobs of filter ``filter_name``:
    code_fold jobs (clips: rows of the coded manifest) and encode_full_bitrate jobs (clips: .ecdc
    files in the codes folder). A job whose clip count is not there yet is left out."""
    results = workflow_dir / "results"
    out = {}
    for tsv in sorted((results / "benchmarks" / "code_fold" / "esc50" / filter_name).glob("*/fold*.tsv")):
        manifest = results / "esc50" / "coded" / filter_name / tsv.parent.name / f"fold{fold_of(tsv)}.parquet"
        if manifest.is_file():
            s, n, j = out.get(("code_fold", tsv.parent.name), (0.0, 0, 0))
            out[("code_fold", tsv.parent.name)] = (s + read_benchmark_seconds(tsv), n + parquet_rows(manifest), j + 1)
    for tsv in sorted((results / "benchmarks" / "encode_full_bitrate" / "esc50" / filter_name).glob("*/fold*.tsv")):
        codes = results / "esc50" / "codes" / filter_name / tsv.parent.name / f"fold{fold_of(tsv)}"
        n_files = len(list(codes.glob("*.ecdc"))) if codes.is_dir() else 0
        if n_files:
            s, n, j = out.get(("encode_full_bitrate", tsv.parent.name), (0.0, 0, 0))
            out[("encode_full_bitrate", tsv.parent.name)] = (s + read_benchmark_seconds(tsv), n + n_files, j + 1)
    return out


def add_job_columns(rows: list[dict], jobs: dict, opus_modes: dict[str, str]) -> None:
    """Job s/clip on the rows describing what the workflow runs: Opus in its configured mode,
    EnCodec's derived and full_codes rows (one per condition: the first such row)."""
    seen = set()
    for r in rows:
        if r["mode"] == "direct":
            continue
        if r["codec"] in opus_modes and r["mode"] != opus_modes[r["codec"]]:
            continue
        key = ("encode_full_bitrate", r["codec"]) if r["mode"] == "full_codes" else ("code_fold", r["condition"])
        if key in seen or key not in jobs:
            continue
        seen.add(key)
        seconds, n, n_jobs = jobs[key]
        r.update(job_s_per_clip=seconds / n, job_n_clips=n, n_jobs=n_jobs)


def derivation_summary(table) -> list[str]:
    """Per EnCodec model: seconds per clip to code its whole bitrate ladder directly vs derived."""
    lines = []
    for codec, group in table.groupby("codec", sort=False):
        full = group[group["mode"] == "full_codes"]
        direct = group[(group["mode"] == "direct") & (group["threads"] == full["threads"].iloc[0])
                       & (group["batch"] == full["batch"].iloc[0])] if len(full) else group.iloc[:0]
        derived = group[group["mode"] == "derived"]  # only the primary (threads, batch) has these
        if len(full) and len(derived) > 1:
            lines.append(
                f"{codec}: {len(direct)} bitrates coded directly {direct['bare_s_per_clip'].sum():.3f} s/clip (bare) vs "
                f"one full encode + derived {full['bare_s_per_clip'].iloc[0] + derived['bare_s_per_clip'].sum():.3f}"
                f" s/clip; stage (workflow path) {full['stage_s_per_clip'].iloc[0] + derived['stage_s_per_clip'].sum():.3f}"
                f" s/clip")
    return lines


# --- main -----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (ESC50 / "audio").is_dir():
        print(f"skipped: {ESC50 / 'audio'} (ESC-50 clips from ../shared) is absent", file=sys.stderr)
        return 0
    import pandas as pd

    config = load_config()
    stage_threads = int(config.get("threads", {}).get("code", 1))
    clips = source_clips(args.clips)
    start = time.perf_counter()
    print(f"{len(clips)} clips, {os.cpu_count()} CPUs, load {load_1m():.2f}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="acom-bench-codecs-") as tmp:
        scratch = Path(tmp)
        for name in args.codecs:
            params = config["codecs"][name]
            print(f"{name} ...", flush=True)
            if params["type"] == "opus":
                rows += bench_opus(name, params, clips, scratch, stage_threads)
            else:
                rows += bench_encodec(name, params, clips, scratch, args, stage_threads)
            print(f"  ({time.perf_counter() - start:.0f} s elapsed)", flush=True)
    if args.workflow_dir is not None:
        jobs = job_seconds(args.workflow_dir.resolve(), args.filter)
        opus_modes = {n: config["codecs"][n].get("mode", "vbr") for n in args.codecs
                      if config["codecs"][n]["type"] == "opus"}
        add_job_columns(rows, jobs, opus_modes)
        print(f"{sum(j for _, _, j in jobs.values())} finished Snakemake jobs read from "
              f"{args.workflow_dir}/results/benchmarks", flush=True)
    table = write_table(rows, COLUMNS, args.out)
    with pd.option_context("display.width", 250, "display.max_columns", None, "display.max_rows", None):
        print(table.drop(columns=["bare_encode_median_s_per_clip", "bare_decode_median_s_per_clip"])
              .to_string(index=False, float_format=lambda x: f"{x:.4g}", na_rep=""))
    for line in derivation_summary(table):
        print(line)
    print(f"wrote {args.out} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
