"""A small synthetic corpus in the ESC-50 layout, so the whole workflow runs with no data and no network.

Each class is a family of sounds that differ in a way every registered model can hear (pitch
contour, spectral shape, temporal structure); within a class the parameters are drawn at random,
so a classifier has something real to learn and the folds are not copies of one another. Audio is
written as 16-bit WAV at the official ESC-50 rate (44.1 kHz) so ingest and resampling see the same
kind of input as with the real data set.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from acom.io import atomic_output, write_csv


def _tone(rng: np.random.Generator, t: np.ndarray, sr: int) -> np.ndarray:
    f0 = rng.uniform(200.0, 800.0)
    return sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in (1, 2, 3))


def _chirp(rng: np.random.Generator, t: np.ndarray, sr: int) -> np.ndarray:
    # Repeated rising sweeps (0.5 s each): a bird-like pitch contour.
    f_lo, f_hi = rng.uniform(1000.0, 2000.0), rng.uniform(3000.0, 6000.0)
    phase_t = np.mod(t, 0.5) / 0.5
    inst_f = f_lo + (f_hi - f_lo) * phase_t
    return np.sin(2 * np.pi * np.cumsum(inst_f) / sr)


def _noise_bursts(rng: np.random.Generator, t: np.ndarray, sr: int) -> np.ndarray:
    # Broadband noise gated into bursts of 0.1-0.3 s: rain- or knock-like texture.
    noise = rng.standard_normal(t.size)
    gate = np.zeros(t.size)
    for onset in np.sort(rng.uniform(0.0, t[-1] - 0.3, size=rng.integers(5, 10))):
        start = int(onset * sr)
        gate[start : start + int(rng.uniform(0.1, 0.3) * sr)] = 1.0
    return noise * gate


def _click_train(rng: np.random.Generator, t: np.ndarray, sr: int) -> np.ndarray:
    # Decaying clicks at a regular rate of 4-12 Hz: a clock-tick-like rhythm.
    rate = rng.uniform(4.0, 12.0)
    out = np.zeros(t.size)
    decay = np.exp(-np.arange(int(0.01 * sr)) / (0.002 * sr))
    for onset in np.arange(rng.uniform(0, 1 / rate), t[-1] - 0.01, 1 / rate):
        start = int(onset * sr)
        out[start : start + decay.size] += decay * rng.standard_normal(decay.size)
    return out


def _hum(rng: np.random.Generator, t: np.ndarray, sr: int) -> np.ndarray:
    # Low hum with slow amplitude modulation: an engine- or fan-like drone.
    f0 = rng.uniform(50.0, 120.0)
    carrier = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    return carrier * (1.0 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 2.0) * t))


#: Synthetic class name -> generator (rng, time axis, sample rate) -> unnormalised waveform.
CLASS_GENERATORS: dict[str, Callable[[np.random.Generator, np.ndarray, int], np.ndarray]] = {
    "tone": _tone,
    "chirp": _chirp,
    "noise_bursts": _noise_bursts,
    "click_train": _click_train,
    "hum": _hum,
}


def synthesize_clip(category: str, rng: np.random.Generator, sample_rate: int, duration_s: float) -> np.ndarray:
    """One clip of ``category`` with peak 0.5 and a little background noise (-40 dB re peak)."""
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    x = CLASS_GENERATORS[category](rng, t, sample_rate)
    x = 0.5 * x / np.max(np.abs(x))
    return (x + 0.005 * rng.standard_normal(t.size)).astype(np.float32)


def synthesize_esc50_corpus(
    root: str | os.PathLike,
    *,
    categories: Sequence[str],
    folds: Sequence[int],
    clips_per_class_per_fold: int,
    sample_rate: int = 44100,
    duration_s: float = 5.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Write ``root/audio/*.wav`` and ``root/meta/esc50.csv`` in the ESC-50 layout; return the metadata.

    File names follow ESC-50's ``{fold}-{src_file}-{take}-{target}.wav``; each clip is drawn from its
    own generator seeded by (seed, fold, target, index), so any clip can be regenerated alone.
    """
    unknown = sorted(set(categories) - set(CLASS_GENERATORS))
    if unknown:
        raise ValueError(f"unknown synthetic categories {unknown}; known: {sorted(CLASS_GENERATORS)}")
    root = Path(root)
    rows = []
    for fold in folds:
        for target, category in enumerate(categories):
            for index in range(clips_per_class_per_fold):
                src_file = 100000 + 1000 * target + 10 * fold + index
                filename = f"{fold}-{src_file}-A-{target}.wav"
                rng = np.random.default_rng([seed, fold, target, index])
                clip = synthesize_clip(category, rng, sample_rate, duration_s)
                with atomic_output(root / "audio" / filename) as tmp:
                    sf.write(str(tmp), clip, sample_rate, format="WAV", subtype="PCM_16")
                rows.append(
                    {
                        "filename": filename,
                        "fold": fold,
                        "target": target,
                        "category": category,
                        "esc10": target < 10,
                        "src_file": src_file,
                        "take": "A",
                    }
                )
    meta = pd.DataFrame(rows)
    write_csv(meta, root / "meta" / "esc50.csv")
    return meta
