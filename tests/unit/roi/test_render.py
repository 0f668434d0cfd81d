"""Renderings of a time mask's dropped part: comfort noise (level, seed, spectrum shape), low-passed,
and bit allocation (the clip untouched, the kept frames as the codec's region)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from acom.filters import build_filter
from acom.roi.grids import TimeGrid
from acom.roi.render import clip_seed, comfort_noise, long_term_spectrum, lowpass_rendering
from tests.unit.roi.helpers import SR


def _coloured_clip(seed: int = 0) -> np.ndarray:
    """5 s of low-passed noise (most power below 1 kHz) with a loud burst at 2.0-2.5 s."""
    rng = np.random.default_rng(seed)
    x = signal.sosfilt(signal.butter(4, 1000, fs=SR, output="sos"), rng.standard_normal(5 * SR)) * 0.05
    x[2 * SR: int(2.5 * SR)] *= 8
    return x.astype(np.float32)


def _rms_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.asarray(x, dtype=np.float64) ** 2))


def test_comfort_noise_has_the_dropped_parts_level_and_the_clips_spectrum():
    clip = _coloured_clip()
    grid = TimeGrid(frame_ms=100, ramp_ms=5)
    keep = np.zeros(50, dtype=bool)
    keep[20:25] = True  # the burst is kept
    gain = grid.gain(clip.size, SR, keep)
    out = comfort_noise(clip, gain, seed=7)
    kept, dropped = gain == 1, gain == 0
    np.testing.assert_array_equal(out[kept], clip[kept])
    assert abs(_rms_db(out[dropped]) - _rms_db(clip[dropped])) < 1.0
    # Shaped like the clip's long-term spectrum: most of the noise's power is below 1 kHz too.
    freqs = np.fft.rfftfreq(512, 1 / SR)
    shares = [power[freqs < 1000].sum() / power.sum() for power in map(long_term_spectrum, (out[dropped], clip))]
    assert shares[0] > 0.85 and shares[0] == pytest.approx(shares[1], abs=0.03)
    assert not np.allclose(out[dropped], clip[dropped], atol=1e-3)  # new noise, not the clip itself


def test_comfort_noise_is_reproducible_from_its_seed_and_differs_between_clips():
    clip = _coloured_clip()
    gain = TimeGrid().gain(clip.size, SR, np.arange(50) % 2 == 0)
    first = comfort_noise(clip, gain, seed=clip_seed(0, "1-100-A-0"))
    np.testing.assert_array_equal(first, comfort_noise(clip, gain, seed=clip_seed(0, "1-100-A-0")))
    assert not np.allclose(first, comfort_noise(clip, gain, seed=clip_seed(0, "1-101-A-0")))
    assert not np.allclose(first, comfort_noise(clip, gain, seed=clip_seed(1, "1-100-A-0")))


def test_comfort_noise_level_gain_lowers_it_and_silence_stays_silent():
    clip = _coloured_clip()
    gain = TimeGrid().gain(clip.size, SR, np.arange(50) < 10)
    quieter = comfort_noise(clip, gain, seed=0, level_gain=0.1)
    assert _rms_db(quieter[gain == 0]) == pytest.approx(_rms_db(clip[gain == 0]) - 20, abs=1.0)
    silent = clip.copy()
    silent[gain < 1] = 0
    np.testing.assert_array_equal(comfort_noise(silent, gain, seed=0)[gain == 0], 0)


def test_lowpass_rendering_keeps_the_kept_part_and_low_passes_the_rest():
    rng = np.random.default_rng(2)
    clip = (0.1 * rng.standard_normal(5 * SR)).astype(np.float32)
    gain = TimeGrid().gain(clip.size, SR, np.arange(50) < 25)
    out = lowpass_rendering(clip, gain, SR, cutoff_hz=1000)
    np.testing.assert_array_equal(out[gain == 1], clip[gain == 1])
    freqs = np.fft.rfftfreq(512, 1 / SR)
    power = long_term_spectrum(out[gain == 0][SR // 10:])
    assert power[freqs > 2000].sum() < 1e-4 * power.sum()
    with pytest.raises(ValueError, match="lowpass_hz"):
        lowpass_rendering(clip, gain, SR, cutoff_hz=9000)


def test_frame_filter_renderings_and_bit_allocation():
    clip = _coloured_clip()
    base = {"type": "frame_roi", "percentage": 10, "frame_ms": 100}
    noise = build_filter({**base, "rendering": "comfort_noise", "seed": 3})("clip-a", clip, SR)
    assert noise.axis == "time" and noise.kept_share == pytest.approx(0.1)
    np.testing.assert_array_equal(noise.samples[2 * SR: int(2.5 * SR)], clip[2 * SR: int(2.5 * SR)])  # the burst
    assert abs(_rms_db(noise.samples[: SR]) - _rms_db(clip[: SR])) < 1.5
    bits = build_filter({**base, "rendering": "bits", "floor_kbps": 8})("clip-a", clip, SR)
    np.testing.assert_array_equal(bits.samples, clip)
    assert bits.bit_roi == [(2.0, 2.5)] and bits.floor_kbps == 8
    with pytest.raises(ValueError, match="works on time frames"):
        build_filter({"type": "freq_roi", "percentage": 10, "rendering": "comfort_noise"})
