"""Two-source ESC-10 mixtures (task ``esc10_mix``): every mixture is two ESC-10 clips of different
classes from one ESC-50 fold (so the folds stay disjoint), each normalised to one loudness, the
second placed a drawn number of dB below the first, summed.

Loudness is measured by ITU-R BS.1770 (gated LUFS, through pyloudnorm) or as plain RMS over the
whole clip. After summing, every item (mixture or single clip) is scaled back to the target
loudness, so that loudness tells the source counter nothing; an item whose peak would pass
``PEAK_LIMIT`` is scaled down to it instead (both gains are recorded).

The plan (which clips, which levels) is a table drawn from one seed; :func:`render_item` turns one
row into samples, and the test suite recomputes the same sum from the table independently.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from acom.data.esc50 import MANIFEST_COLUMNS
from acom.io import read_audio, write_flac

#: Loudness measures a mixture's sources are normalised by.
LOUDNESS_MEASURES = ("lufs", "rms")
#: Largest peak of a rendered item; louder items are scaled down to it (recorded in ``output_gain``).
PEAK_LIMIT = 0.99
#: A source quieter than this (in its loudness measure) is silent for mixing purposes.
SILENCE_DB = -70.0
#: Category and target of a two-source mixture in the manifest (its classes are in ``labels``).
MIXTURE_CATEGORY, MIXTURE_TARGET = "mixture", -1
#: The manifest of ``esc10_mix``: the ESC-50 manifest columns, then what the task's heads and
#: metrics read: the classes present, the source count, the ESC-50 clips and the level (dB
#: relative to the target loudness) of each source, the linear gain of each normalised source,
#: the gain of the whole item, and whether the row is a pitch-shifted training copy.
MIX_COLUMNS = [*MANIFEST_COLUMNS, "labels", "n_sources", "sources", "levels_db", "source_gains", "output_gain",
               "pitch_shift", "augmented"]


def loudness_db(samples: np.ndarray, sample_rate: int, measure: str) -> float:
    """Loudness of a mono clip in dB: integrated LUFS (BS.1770, gated) or RMS in dBFS."""
    if measure == "lufs":
        import pyloudnorm

        value = pyloudnorm.Meter(sample_rate).integrated_loudness(samples.astype(np.float64))
    elif measure == "rms":
        rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
        value = 20 * np.log10(rms) if rms > 0 else -np.inf
    else:
        raise ValueError(f"unknown loudness measure {measure!r}: known {LOUDNESS_MEASURES}")
    return float(value)


def plan_mixtures(clips: pd.DataFrame, *, n_per_fold: int, level_db: Sequence[float], seed: int,
                  pitch_shift_semitones: Sequence[float] = (), config_key: str = "datasets.esc10_mix") -> pd.DataFrame:
    """What to render: every clip alone, ``n_per_fold`` two-source mixtures per fold and, per value
    of ``pitch_shift_semitones``, a pitch-shifted copy of every single clip (``augmented``: used in
    training folds only).

    ``clips``: ESC-10 clips (clip_id, fold, target, category, source_path, sample_rate, frames).
    Each mixture is a pair of clips of different classes from one fold, drawn without replacement
    from all such pairs; the second source sits ``d`` dB below the first, ``d`` uniform in
    ``level_db`` (which source is the quieter is drawn too). Rows come sorted by clip id; the same
    clips and seed give the same plan.
    """
    low, high = (float(v) for v in level_db)
    if low < 0 or low > high:
        raise ValueError(f"{config_key}.level_db: [{low}, {high}] must be a range of non-negative dB (low <= high)")
    rng = np.random.default_rng(seed)
    rows = []
    for fold in sorted(clips["fold"].unique()):
        fold_clips = clips[clips["fold"] == fold].sort_values("clip_id").reset_index(drop=True)
        for rec in fold_clips.itertuples(index=False):
            rows.append(_single(rec, pitch_shift=0.0))
            rows.extend(_single(rec, pitch_shift=float(s)) for s in pitch_shift_semitones)
        first, second = np.triu_indices(len(fold_clips), k=1)
        differ = fold_clips["target"].to_numpy()[first] != fold_clips["target"].to_numpy()[second]
        first, second = first[differ], second[differ]
        if n_per_fold > len(first):
            raise ValueError(f"{config_key}.n_per_fold: {n_per_fold} mixtures asked of fold {fold}, whose "
                             f"{len(fold_clips)} ESC-10 clips make only {len(first)} pairs of different classes; "
                             f"ask for at most {len(first)}")
        chosen = np.sort(rng.choice(len(first), size=n_per_fold, replace=False))
        for i, pair in enumerate(chosen):
            a, b = fold_clips.iloc[first[pair]], fold_clips.iloc[second[pair]]
            difference = float(rng.uniform(low, high))
            levels = [0.0, -difference] if rng.random() < 0.5 else [-difference, 0.0]
            rows.append({
                "clip_id": f"mix{int(fold)}-{i:04d}", "fold": int(fold), "target": MIXTURE_TARGET,
                "category": MIXTURE_CATEGORY, "esc10": True, "source_path": "", "sample_rate": int(a.sample_rate),
                "frames": int(max(a.frames, b.frames)), "labels": [a.category, b.category], "n_sources": 2,
                "sources": [a.source_path, b.source_path], "levels_db": levels, "pitch_shift": 0.0,
                "augmented": False, "sources_clip_ids": [a.clip_id, b.clip_id],
            })
    return pd.DataFrame(rows).sort_values("clip_id", kind="stable").reset_index(drop=True)


def _single(rec, *, pitch_shift: float) -> dict:
    suffix = "" if pitch_shift == 0 else f"_ps{pitch_shift:+g}"
    return {"clip_id": f"{rec.clip_id}{suffix}", "fold": int(rec.fold), "target": int(rec.target),
            "category": rec.category, "esc10": True, "source_path": "", "sample_rate": int(rec.sample_rate),
            "frames": int(rec.frames), "labels": [rec.category], "n_sources": 1, "sources": [rec.source_path],
            "levels_db": [0.0], "pitch_shift": pitch_shift, "augmented": pitch_shift != 0,
            "sources_clip_ids": [rec.clip_id]}


def render_item(item, *, loudness: str, target_db: float) -> tuple[np.ndarray, int, list[float], float]:
    """Samples of one plan row: each source read, pitch-shifted where the row says (librosa),
    scaled to ``target_db + level`` in the ``loudness`` measure, zero-padded to the longest and
    summed; the sum scaled to ``target_db`` (or down to ``PEAK_LIMIT``).

    Returns (samples, rate, per-source gains, output gain): the samples equal
    ``output_gain * sum(gain_i * source_i)``.
    """
    sources, rate = [], None
    for path in item.sources:
        samples, source_rate = read_audio(path)
        if rate is not None and source_rate != rate:
            raise ValueError(f"{path}: {source_rate} Hz, but the other source of {item.clip_id} is at {rate} Hz; "
                             "mixtures need the ESC-50 copy at one rate")
        rate = source_rate
        if item.pitch_shift:
            import librosa

            samples = librosa.effects.pitch_shift(samples, sr=rate, n_steps=float(item.pitch_shift))
        sources.append(samples.astype(np.float64))
    gains = []
    for path, samples, level in zip(item.sources, sources, item.levels_db, strict=True):
        measured = loudness_db(samples, rate, loudness)
        if not np.isfinite(measured) or measured < SILENCE_DB:
            raise ValueError(f"{path}: the clip is silent ({measured:.1f} dB {loudness}), so it cannot be normalised "
                             "into a mixture; leave it out of the ESC-50 copy or set on_bad_clip: skip")
        gains.append(float(10 ** ((target_db + level - measured) / 20)))
    length = max(len(s) for s in sources)
    mix = np.zeros(length)
    for samples, gain in zip(sources, gains, strict=True):
        mix[: len(samples)] += gain * samples
    output_gain = float(10 ** ((target_db - loudness_db(mix, rate, loudness)) / 20)) if len(sources) > 1 else 1.0
    peak = float(np.max(np.abs(mix))) * output_gain
    if peak > PEAK_LIMIT:
        output_gain *= PEAK_LIMIT / peak
    return (output_gain * mix).astype(np.float32), int(rate), gains, output_gain


def render_mixtures(plan: pd.DataFrame, out_dir: str | os.PathLike, *, loudness: str,
                    target_db: float) -> pd.DataFrame:
    """Render every row of ``plan`` as 16-bit FLAC ``<out_dir>/fold<k>/<clip id>.flac``; return the
    task manifest (``MIX_COLUMNS``) pointing at them, gains filled in."""
    out_dir = Path(out_dir)
    rows = []
    for item in plan.itertuples(index=False):
        samples, rate, gains, output_gain = render_item(item, loudness=loudness, target_db=target_db)
        path = out_dir / f"fold{item.fold}" / f"{item.clip_id}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_flac(path, samples, rate)
        row = item._asdict()
        row.update(source_path=str(path.resolve()), sample_rate=rate, frames=len(samples), source_gains=gains,
                   output_gain=output_gain, sources=list(item.sources_clip_ids))
        rows.append(row)
    return pd.DataFrame(rows)[MIX_COLUMNS]


def esc10_clips(manifest: pd.DataFrame) -> pd.DataFrame:
    """The ESC-10 clips of an ESC-50 ingest manifest, or an error saying how to get them."""
    clips = manifest[manifest["esc10"].astype(bool)]
    if clips.empty:
        raise ValueError("datasets.esc50: the ESC-50 copy has no ESC-10 clips (esc10 column all false), so the "
                         "esc10_mix task has nothing to mix; use a copy with ESC-10 clips or set esc10_mix.models: []")
    return clips
