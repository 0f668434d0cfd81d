"""Filters over clips and folds: zero-phase Butterworth filters, the filter stage's FLAC and manifest, the oracle filter, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from acom.filters import build_filter
from acom.filters.naive import butterworth
from acom.filters.stage import filter_fold
from acom.roi.grids import (
    grid_from_params,
)
from tests.unit.roi.helpers import SR, planted_clip


def tone(freq: float, seconds: float = 1.0, sr: int = SR, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def level_db(x: np.ndarray) -> float:
    middle = x[len(x) // 10: -len(x) // 10]  # away from the filter's edge transients
    return 10 * np.log10(np.mean(np.asarray(middle, dtype=np.float64) ** 2))


# --- naive filters --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,kwargs,stop,passed", [
    ("lowpass", {"cutoff_hz": 4000}, 6000, 2000),
    ("highpass", {"cutoff_hz": 1000}, 400, 3000),
    ("bandpass", {"low_hz": 300, "high_hz": 3400}, 6000, 1000),
    ("bandpass", {"low_hz": 300, "high_hz": 3400}, 120, 1000),
])
def test_butterworth_removes_stopband_tone_and_keeps_passband_tone(kind, kwargs, stop, passed):
    for freq, check in ((stop, lambda d: d < -40), (passed, lambda d: abs(d) < 0.5)):
        x = tone(freq)
        change = level_db(butterworth(x, SR, kind=kind, order=8, **kwargs)) - level_db(x)
        assert check(change), (kind, freq, change)


def test_butterworth_is_zero_phase():
    x = tone(1000)
    y = butterworth(x, SR, kind="lowpass", order=8, cutoff_hz=4000)
    # A passband tone comes out in phase: even a one-sample delay would differ by up to 0.2.
    np.testing.assert_allclose(y[2000:-2000], x[2000:-2000], atol=2e-3)


def test_butterworth_rejects_cutoff_at_or_above_nyquist():
    with pytest.raises(ValueError, match="Nyquist"):
        butterworth(tone(100), SR, kind="lowpass", order=4, cutoff_hz=8000)
    with pytest.raises(ValueError, match="low < high"):
        butterworth(tone(100), SR, kind="bandpass", order=4, low_hz=3000, high_hz=300)


# --- filters over a fold, and the oracle ---------------------------------------------------------
def test_filter_fold_writes_playable_flac_and_manifest(tmp_path):
    rng = np.random.default_rng(7)
    rows = []
    for i in range(3):
        path = tmp_path / f"in{i}.flac"
        sf.write(path, planted_clip(rng, True), SR, subtype="PCM_16")
        rows.append({"clip_id": f"c{i}", "fold": 1, "target": 1, "category": "tone", "path": str(path)})
    clips = pd.DataFrame(rows)
    energy = build_filter({"type": "frame_roi", "percentage": 50, "selection": "contiguous", "frame_ms": 100})
    table = filter_fold(clips, energy, name="frame_energy_window_p50", out_dir=tmp_path / "out")
    assert list(table["clip_id"]) == ["c0", "c1", "c2"] and (table["kept_share"] == 0.5).all()
    assert (table["roi_axis"] == "time").all() and (table["filter"] == "frame_energy_window_p50").all()
    for path in table["path"]:
        y, sr = sf.read(path)
        assert sr == SR and len(y) == 5 * SR
        frames = (y.reshape(50, -1) ** 2).sum(axis=1)
        assert np.count_nonzero(frames > 1e-6) in range(25, 28)  # 25 kept, ramps spill into the neighbours
    lowpass = filter_fold(clips, build_filter({"type": "lowpass", "cutoff_hz": 4000, "order": 8}), name="lowpass_4000",
                          out_dir=tmp_path / "lp")
    assert lowpass["kept_share"].isna().all() and (lowpass["roi_axis"] == "none").all()


def test_oracle_filter_applies_each_clips_best_mask_at_any_rate():
    search = {"time": {"frame_ms": 100, "ramp_ms": 0}, "freq": {"n_bands": 32, "n_fft": 1024, "hop_length": 256}}
    masks = pd.DataFrame({
        "clip_id": ["a", "a", "b", "c"], "axis": ["time", "freq", "freq", "time"],
        "percentage": [10.0, 10.0, 20.0, 50.0], "region_start": [20.0, 500.0, 0.0, 0.0],
        "region_end": [25.0, 1500.0, 1000.0, 25.0], "region_unit": ["frame", "hz", "hz", "frame"],
        "units_kept": [5, 3, 6, 25], "n_units": [50, 32, 32, 50], "best": [True, False, True, False],
    })
    oracle = build_filter({"type": "oracle_roi", "model": "m"}, masks=masks, search_params=search)
    for sr in (16000, 24000):
        x = np.ones(5 * sr, dtype=np.float32)
        result = oracle("a", x, sr)
        y, axis, kept = result.samples, result.axis, result.kept_share
        assert axis == "time" and kept == pytest.approx(0.1)
        assert np.flatnonzero(y)[0] == 2 * sr and np.count_nonzero(y) == sr // 2
        result = oracle("b", tone(500, sr=sr) + tone(3000, sr=sr), sr)
        y, axis = result.samples, result.axis
        assert axis == "freq" and level_db(y) == pytest.approx(level_db(tone(500, sr=sr)), abs=0.2)
        result = oracle("c", x, sr)  # no best mask: unchanged
        y, axis, kept = result.samples, result.axis, result.kept_share
        assert axis == "none" and kept == 1.0 and np.array_equal(y, x)
    assert grid_from_params("freq", search["freq"]).n_bands == 32


def test_filter_errors_name_the_filter_the_file_and_the_rate(tmp_path):
    path = tmp_path / "c.flac"
    sf.write(path, tone(1000, sr=8000), 8000, subtype="PCM_16")
    clips = pd.DataFrame([{"clip_id": "c", "fold": 1, "target": 0, "category": "tone", "path": str(path)}])
    lowpass = build_filter({"type": "lowpass", "cutoff_hz": 4000, "order": 8})
    with pytest.raises(ValueError, match=r"filters\.lowpass_4000 on .*c\.flac \(8000 Hz\): lowpass cutoff 4000"):
        filter_fold(clips, lowpass, name="lowpass_4000", out_dir=tmp_path / "out")
