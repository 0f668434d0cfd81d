"""Offline generator of DESED-format (DCASE task 4) strongly labelled soundscapes built from ESC-50 clips.

The sound event detection stage needs 10 s soundscapes with strong (onset/offset) labels. The usual
generator, scaper, is not used: it shells out to the ``sox`` binary (not available, and not wanted,
on the cluster) and expects the source clips copied into one folder per label; this module works
directly from the ESC-50 manifest with numpy and the project's own audio I/O, so generation is
offline, needs no extra binary or copy on disk, and is bit-reproducible.

Generation recipe (the documented protocol). For one ESC-50 fold, with a ``numpy.random.Generator``
seeded from ``[seed, fold]`` (so every fold is reproducible on its own) and every clip list sorted by
clip id:

1. Only clips of the fold are used. Every event and background clip is read, resampled to the
   soundscape rate (:class:`acom.resample.ClipResampler`) and trimmed to its active region
   (:func:`active_region`: 20 ms rectangular frames every 10 ms, frames within ``top_db`` of the
   clip's loudest frame, leading and trailing quiet cut). Clips shorter than ``min_event_s`` after
   trimming, or digitally silent, are not used.
2. Soundscapes ``i = 0 .. n_soundscapes - 1`` are made in order, each drawing from the generator
   in this order:
3. Background: background clips drawn uniformly with replacement are concatenated, each joined to
   the previous one with a 50 ms raised-cosine (equal-gain, sin^2/cos^2) crossfade so there are no
   clicks, until ``duration_s`` is filled; the result is cut to ``duration_s``. Its RMS over the
   whole soundscape is the reference level.
4. Foreground: the number of events is drawn uniformly from the inclusive range ``n_events``. For
   each event, in turn: an event clip is drawn uniformly with replacement; its trimmed active part
   is cropped to its first ``duration_s`` if longer; an onset sample is drawn uniformly in
   ``[0, duration - length]``; an SNR is drawn uniformly from ``snr_db``; the active part is scaled
   so its RMS is that many dB above the background RMS and added to the mix (overlaps allowed).
5. If the mix's peak exceeds ``peak``, the whole soundscape is scaled down to ``peak`` (the labels
   do not change; the SNRs, being ratios, do not either).
6. The soundscape is written as 16-bit FLAC ``fold{fold}_{i:04d}.flac``. Each event gives one label
   row: ``filename`` (the audio file's name with its extension, as in DESED), ``onset`` and
   ``offset`` of the placed active part in seconds rounded to 3 decimals, and ``event_label`` =
   ``class_map[category]`` (ESC-50 category -> DESED label). A soundscape with no event (possible
   only when ``n_events`` starts at 0) has no label row.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acom.data.esc50 import build_manifest as build_esc50_manifest
from acom.data.esc50 import read_metadata, select_clips
from acom.events import STRONG_COLUMNS, write_strong_labels
from acom.io import read_audio, write_flac
from acom.resample import ClipResampler

LABEL_COLUMNS = [*STRONG_COLUMNS, "source_clip", "snr_db"]
CROSSFADE_S = 0.050
ACTIVE_HOP_S = 0.010


def active_region(samples: np.ndarray, sample_rate: int, *, top_db: float,
                  hop_s: float = ACTIVE_HOP_S) -> tuple[int, int]:
    """(start, stop) sample indices of the part of an event clip above (peak frame energy - top_db).

    Frame energies are mean squares over rectangular frames of two hops (``2 * hop_s``) centred every
    hop; frames more than ``top_db`` below the loudest are quiet, and leading and trailing quiet is
    cut (like ``librosa.effects.trim``). ``start`` is the centre of the first loud frame and ``stop``
    that of the last, which puts each boundary within one hop outside the loud part, never inside it.
    Raises ``ValueError`` when the clip is digitally silent (or empty).
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a mono clip (1-D samples), got shape {x.shape}")
    if top_db <= 0:
        raise ValueError(f"top_db must be positive, got {top_db}")
    n = x.shape[0]
    hop = max(1, round(hop_s * sample_rate))
    if n == 0 or not np.any(x):
        raise ValueError("the clip is all silence: no active region")
    # Frame i is centred on sample i * hop and covers [i*hop - hop, i*hop + hop), clipped to the clip.
    centres = np.arange(0, -(-n // hop) + 1) * hop
    cumsum = np.concatenate([[0.0], np.cumsum(x * x)])
    lo = np.clip(centres - hop, 0, n)
    hi = np.clip(centres + hop, 0, n)
    energy = (cumsum[hi] - cumsum[lo]) / (2 * hop)
    loud = np.flatnonzero(energy > energy.max() * 10.0 ** (-top_db / 10.0))
    first, last = int(centres[loud[0]]), int(centres[loud[-1]])
    start, stop = min(first, n), min(last, n)
    if stop <= start:  # one loud frame only (a tiny top_db): keep that frame's whole span
        start, stop = max(0, first - hop), min(n, last + hop)
    return start, stop


@dataclass(frozen=True)
class SoundscapeSpec:
    """How soundscapes are made (config ``datasets.desed.synthetic``)."""

    duration_s: float = 10.0
    n_events: tuple[int, int] = (1, 5)  # inclusive range of foreground events per soundscape
    snr_db: tuple[float, float] = (6.0, 30.0)  # uniform; event RMS (active part) over background RMS (whole), dB
    top_db: float = 30.0
    min_event_s: float = 0.25  # clips shorter than this after trimming are not used
    peak: float = 0.95  # the mix is scaled down to this peak when it would exceed it

    def __post_init__(self) -> None:
        if not self.duration_s > 0:
            raise ValueError(f"duration_s must be positive, got {self.duration_s}")
        lo, hi = self.n_events
        if not 0 <= lo <= hi:
            raise ValueError(f"n_events must be an inclusive range 0 <= lo <= hi, got {self.n_events}")
        if not self.snr_db[0] <= self.snr_db[1]:
            raise ValueError(f"snr_db must be a range lo <= hi, got {self.snr_db}")
        if not self.top_db > 0:
            raise ValueError(f"top_db must be positive, got {self.top_db}")
        if not self.min_event_s >= 0:
            raise ValueError(f"min_event_s must be >= 0, got {self.min_event_s}")
        if not 0 < self.peak <= 1:
            raise ValueError(f"peak must be in (0, 1], got {self.peak}")


@dataclass(frozen=True)
class _Clip:
    clip_id: str
    category: str
    samples: np.ndarray  # the trimmed active part at the soundscape rate


def _path_column(df: pd.DataFrame, what: str) -> str:
    for col in ("source_path", "path"):
        if col in df.columns:
            return col
    raise ValueError(f"{what} manifest needs a source_path (or path) column; has {list(df.columns)}")


def _fold_rows(df: pd.DataFrame, fold: int, what: str) -> pd.DataFrame:
    missing = [c for c in ("clip_id", "fold", "category") if c not in df.columns]
    if missing:
        raise ValueError(f"{what} manifest lacks columns {missing}")
    rows = df[df["fold"].astype(int) == int(fold)].sort_values("clip_id", kind="mergesort")
    if rows.empty:
        asked = sorted(df["category"].astype(str).unique())
        raise ValueError(f"no {what} clips in fold {fold} (categories asked for: {asked})")
    return rows


def _load_pool(rows: pd.DataFrame, *, resampler: ClipResampler, spec: SoundscapeSpec, sample_rate: int,
               min_samples: int, fold: int, what: str) -> list[_Clip]:
    path_col = _path_column(rows, what)
    pool = []
    for rec in rows.itertuples(index=False):
        samples, rate = read_audio(getattr(rec, path_col))
        samples = resampler(samples, rate)
        try:
            start, stop = active_region(samples, sample_rate, top_db=spec.top_db)
        except ValueError:
            continue  # digitally silent: nothing to use
        if stop - start >= min_samples:
            pool.append(_Clip(str(rec.clip_id), str(rec.category), np.array(samples[start:stop], dtype=np.float64)))
    if not pool:
        asked = sorted(rows["category"].astype(str).unique())
        raise ValueError(f"no usable {what} clip in fold {fold} (categories {asked}): every clip is silent or "
                         f"shorter than {min_samples / sample_rate:.3f} s after trimming")
    return pool


def _background(rng: np.random.Generator, pool: list[_Clip], n: int, xfade: int) -> np.ndarray:
    """Clips drawn with replacement, joined with raised-cosine crossfades of ``xfade`` samples, cut to ``n``."""
    fade_in = np.sin(0.5 * np.pi * (np.arange(xfade) + 0.5) / xfade) ** 2
    fade_out = 1.0 - fade_in
    out = pool[int(rng.integers(len(pool)))].samples.copy()
    while out.shape[0] < n:
        nxt = pool[int(rng.integers(len(pool)))].samples
        joined = out[-xfade:] * fade_out + nxt[:xfade] * fade_in
        out = np.concatenate([out[:-xfade], joined, nxt[xfade:]])
    return out[:n]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def synthesize_fold(events: pd.DataFrame, backgrounds: pd.DataFrame, *, fold: int, n_soundscapes: int,
                    class_map: Mapping[str, str], spec: SoundscapeSpec, sample_rate: int, seed: int,
                    out_dir: str | os.PathLike) -> pd.DataFrame:
    """Write ``n_soundscapes`` soundscapes of ``fold`` to ``out_dir`` (the recipe in the module docstring).

    ``events`` and ``backgrounds`` are ESC-50 manifest rows (``clip_id``, ``fold``, ``category`` and
    ``source_path`` — or ``path``, as in the resampled manifest); only the rows of ``fold`` are used.
    Every event category must be a key of ``class_map``. Returns the strong labels, columns
    ``LABEL_COLUMNS``: the four DESED columns (``filename``, ``onset``, ``offset``, ``event_label``;
    write them with :func:`acom.events.write_strong_labels`) then ``source_clip`` (the ESC-50 clip id placed) and
    ``snr_db`` (the SNR drawn for it), sorted by filename then onset.
    """
    if n_soundscapes < 0:
        raise ValueError(f"n_soundscapes must be >= 0, got {n_soundscapes}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if "category" in events.columns:
        unmapped = sorted(set(events["category"].astype(str)) - set(class_map))
        if unmapped:
            raise ValueError(f"event categories {unmapped} are not in class_map (keys {sorted(class_map)})")
    event_rows = _fold_rows(events, fold, "event")
    background_rows = _fold_rows(backgrounds, fold, "background")

    n = round(spec.duration_s * sample_rate)
    xfade = max(1, round(CROSSFADE_S * sample_rate))
    min_samples = max(1, round(spec.min_event_s * sample_rate))
    resampler = ClipResampler(sample_rate)
    event_pool = _load_pool(event_rows, resampler=resampler, spec=spec, sample_rate=sample_rate,
                            min_samples=min_samples, fold=fold, what="event")
    background_pool = _load_pool(background_rows, resampler=resampler, spec=spec, sample_rate=sample_rate,
                                 min_samples=max(min_samples, 2 * xfade), fold=fold, what="background")

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([int(seed), int(fold)])
    rows = []
    for i in range(n_soundscapes):
        filename = f"fold{fold}_{i:04d}.flac"
        mix = _background(rng, background_pool, n, xfade)
        background_rms = _rms(mix)
        for _ in range(int(rng.integers(spec.n_events[0], spec.n_events[1] + 1))):
            clip = event_pool[int(rng.integers(len(event_pool)))]
            part = clip.samples[:n]
            onset = int(rng.integers(0, n - part.shape[0] + 1))
            snr_db = float(rng.uniform(spec.snr_db[0], spec.snr_db[1]))
            gain = background_rms * 10.0 ** (snr_db / 20.0) / _rms(part)
            mix[onset:onset + part.shape[0]] += gain * part
            rows.append({
                "filename": filename,
                "onset": round(onset / sample_rate, 3),
                "offset": round((onset + part.shape[0]) / sample_rate, 3),
                "event_label": class_map[clip.category],
                "source_clip": clip.clip_id,
                "snr_db": snr_db,
            })
        peak = float(np.max(np.abs(mix)))
        if peak > spec.peak:
            mix *= spec.peak / peak
        write_flac(out_dir / filename, mix, sample_rate)

    labels = pd.DataFrame(rows, columns=LABEL_COLUMNS)
    labels = labels.sort_values(["filename", "onset", "offset", "event_label", "source_clip"], kind="mergesort")
    return labels.reset_index(drop=True)


def synthetic_class_map(synthetic: Mapping[str, Any]) -> dict[str, str]:
    """ESC-50 category -> event label from ``datasets.desed.synthetic.class_map``, a list of
    ``{category, label}`` pairs (a list, not a mapping, so an overlay config replaces it whole
    instead of merging into the default's keys)."""
    return {entry["category"]: entry["label"] for entry in synthetic.get("class_map") or []}


def synthesize_from_esc50(esc50_root: str | os.PathLike, *, folds: Sequence[int], params: Mapping[str, Any],
                          out_root: str | os.PathLike, clip_seconds: float | None = 5.0,
                          on_bad_clip: str = "error") -> pd.DataFrame:
    """Write DESED-format soundscapes made of an ESC-50 copy's clips (``datasets.desed.synthetic``
    ``params``; see this module's docstring for the recipe): ``out_root/audio/fold<k>/`` and
    ``out_root/metadata/fold<k>.tsv``, fold k drawing on ESC-50 fold k only. Returns the labels of
    every fold with the ESC-50 clip each event came from. The clips are checked as at ESC-50 ingest
    (``clip_seconds``, ``on_bad_clip``: a skipped clip is in no soundscape).

    Files are written under ``out_root`` + ``.part`` and renamed into place at the end, so an
    interrupted synthesis never passes for a complete one.
    """
    esc50_root, out_root = Path(esc50_root), Path(out_root)
    class_map, backgrounds = synthetic_class_map(params), list(params["backgrounds"])
    meta = read_metadata(esc50_root / "meta" / "esc50.csv")
    missing = sorted((set(class_map) | set(backgrounds)) - set(meta["category"]))
    if missing:
        raise ValueError(f"datasets.desed.synthetic names ESC-50 categories {missing} that {esc50_root} does not "
                         f"have: known {sorted(set(meta['category']))}")
    selected = select_clips(meta[meta["category"].isin([*class_map, *backgrounds])], folds=folds)
    clips, _ = build_esc50_manifest(esc50_root, selected, clip_seconds=clip_seconds, on_bad_clip=on_bad_clip)
    sample_rate = params.get("sample_rate") or int(clips["sample_rate"].max())
    spec_keys = ("duration_s", "n_events", "snr_db", "top_db", "min_event_s")
    spec = SoundscapeSpec(**{key: tuple(params[key]) if isinstance(params[key], list) else params[key]
                             for key in spec_keys if key in params})
    tmp = out_root.with_name(out_root.name + ".part")
    if tmp.exists():
        shutil.rmtree(tmp)
    labels = []
    for fold in sorted(folds):
        fold_labels = synthesize_fold(
            clips[clips["category"].isin(class_map)], clips[clips["category"].isin(backgrounds)], fold=fold,
            n_soundscapes=int(params["n_per_fold"]), class_map=class_map, spec=spec, sample_rate=sample_rate,
            seed=int(params.get("seed", 0)), out_dir=tmp / "audio" / f"fold{fold}")
        write_strong_labels(fold_labels, tmp / "metadata" / f"fold{fold}.tsv")
        labels.append(fold_labels.assign(fold=fold))
    if out_root.exists():
        shutil.rmtree(out_root)
    os.replace(tmp, out_root)
    return pd.concat(labels, ignore_index=True)
