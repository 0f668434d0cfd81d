"""ROI masks on time frames and frequency bands: unit selection, exact shares, clean edges, transfers across rates."""

from __future__ import annotations

import numpy as np
import pytest

from acom.roi.grids import (
    FreqGrid,
    TimeGrid,
    attenuation_gain,
    bin_bands,
    bin_frequencies,
    select_units,
    units_to_keep,
    window_starts,
)
from acom.roi.search import candidate_regions

SR = 16000


# --- unit selection -------------------------------------------------------------------------------
@pytest.mark.parametrize("n,percentage,expected", [(50, 10, 5), (50, 50, 25), (32, 25, 8), (32, 10, 3), (7, 1, 1),
                                                   (7, 100, 7)])
def test_units_to_keep(n, percentage, expected):
    assert units_to_keep(n, percentage) == expected


def test_select_units_top_and_contiguous():
    scores = np.array([0.0, 5.0, 1.0, 4.0, 4.0, 0.5, 3.0, 0.1, 0.2, 0.3])
    top = select_units(scores, 30, "top")
    assert top.sum() == 3 and list(np.flatnonzero(top)) == [1, 3, 4]
    window = select_units(scores, 30, "contiguous")
    assert list(np.flatnonzero(window)) == [1, 2, 3]  # 5+1+4 = 10 beats 1+4+4 = 9
    ties = select_units(np.ones(10), 20, "contiguous")
    assert list(np.flatnonzero(ties)) == [0, 1]  # ties go to the earliest window
    with pytest.raises(ValueError, match="selection"):
        select_units(scores, 30, "random")


def test_window_starts_cover_every_unit():
    assert window_starts(10, 3, 3) == [0, 3, 6, 7]
    assert window_starts(10, 10, 4) == [0]
    regions = candidate_regions(50, [10, 50, 90], 5)
    assert sum(1 for p, *_ in regions if p == 10) == 10
    assert {(s, e) for p, s, e in regions if p == 90} == {(0, 45), (5, 50)}


# --- time masks -----------------------------------------------------------------------------------
def test_frame_mask_keeps_exactly_the_requested_share_without_clicks():
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, 5 * SR).astype(np.float32)
    grid = TimeGrid(frame_ms=100, ramp_ms=5)
    assert grid.n_units(len(x), SR) == 50
    keep = select_units(rng.random(50), 30, "top")
    y = grid.apply(x, SR, keep, floor_gain=0.0)
    frames_x, frames_y = x.reshape(50, -1), y.reshape(50, -1)
    untouched = np.all(frames_x == frames_y, axis=1)
    assert untouched.sum() == 15 and np.array_equal(untouched, keep)
    # Dropped frames are silent but for the 5 ms ramps next to kept frames.
    ramp = 80
    for f in np.flatnonzero(~keep):
        assert np.all(frames_y[f][ramp:-ramp] == 0)
    gain = np.divide(y, x, out=np.ones_like(y), where=np.abs(x) > 1e-3)
    both = (np.abs(x[1:]) > 1e-3) & (np.abs(x[:-1]) > 1e-3)
    assert np.max(np.abs(np.diff(gain)[both])) < 0.05  # ramps, no gate: a gate would step by 1


def test_time_region_transfers_across_sample_rates():
    grid = TimeGrid(frame_ms=100, ramp_ms=0)
    for sr in (16000, 24000):
        x = np.ones(5 * sr, dtype=np.float32)
        y = grid.apply_region(x, sr, 20, 25, floor_gain=0.0)
        kept = np.flatnonzero(y)
        assert kept[0] / sr == pytest.approx(2.0) and (kept[-1] + 1) / sr == pytest.approx(2.5)


def test_attenuation_gain():
    assert attenuation_gain(None) == 0.0
    assert attenuation_gain(-20) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="<= 0"):
        attenuation_gain(6)


# --- frequency masks ------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", ["mel", "linear"])
def test_frequency_mask_keeps_exactly_the_requested_share_of_bands(scale):
    grid = FreqGrid(n_bands=32, scale=scale, n_fft=1024, hop_length=256)
    edges = grid.edges(SR)
    rng = np.random.default_rng(1)
    keep = select_units(rng.random(32), 25, "top")
    assert keep.sum() == 8
    x = rng.normal(0, 0.1, 3 * SR).astype(np.float32)
    y = grid.apply(x, SR, keep, floor_gain=0.0)
    # Energy per band of the output: kept bands keep theirs, dropped ones lose > 40 dB of it.
    before, after = grid.energy(x, SR), grid.energy(y, SR)
    change = 10 * np.log10(after / before)
    assert np.all(np.abs(change[keep]) < 1.0), change[keep]
    inner = ~keep & ~np.roll(keep, 1) & ~np.roll(keep, -1)  # away from kept neighbours' leakage
    assert np.all(change[inner] < -40), change[inner]
    assert len(edges) == 33


def test_frequency_resynthesis_of_unmasked_signal_is_within_minus_60_db():
    x = np.random.default_rng(2).normal(0, 0.1, 5 * SR + 123).astype(np.float32)
    for grid in (FreqGrid(n_bands=32), FreqGrid(n_bands=16, scale="linear", n_fft=512, hop_length=128)):
        y = grid.apply(x, SR, np.ones(grid.n_bands, dtype=bool), floor_gain=0.0)
        assert y.shape == x.shape
        error = np.sum((y - x).astype(np.float64) ** 2) / np.sum(x.astype(np.float64) ** 2)
        error_db = 10 * np.log10(max(error, 1e-30))
        assert error_db < -60, error_db


def test_hz_region_selects_the_same_bins_as_its_bands():
    grid = FreqGrid(n_bands=32, scale="linear", n_fft=1024, hop_length=256)
    edges = grid.edges(SR)
    x = np.random.default_rng(3).normal(0, 0.1, SR).astype(np.float32)
    for start, end in ((0, 4), (10, 20), (28, 32)):
        keep = np.zeros(32, dtype=bool)
        keep[start:end] = True
        by_bands = grid.apply(x, SR, keep, floor_gain=0.0)
        low, high = grid.region(start, end, SR)
        assert (low, high) == (edges[start], edges[end])
        np.testing.assert_array_equal(grid.apply_region(x, SR, low, high, floor_gain=0.0), by_bands)


def test_every_bin_up_to_nyquist_belongs_to_one_band():
    edges = FreqGrid(n_bands=32).edges(SR)
    index = bin_bands(bin_frequencies(SR, 1024), edges)
    assert index.min() == 0 and index.max() == 31 and np.all(np.diff(index) >= 0)


def test_too_many_bands_for_the_fft_is_an_error():
    with pytest.raises(ValueError, match="holds no STFT bin"):
        FreqGrid(n_bands=128, n_fft=256, hop_length=64).edges(SR)


def test_time_gain_equals_the_euclidean_distance_transform_it_replaced():
    """The ramps come from the nearest kept sample's distance: what scipy's distance transform gives,
    computed from the kept runs' edges (random masks, floors and ramp lengths)."""
    from scipy.ndimage import distance_transform_edt

    from acom.roi.grids import time_gain

    def reference(keep, floor, ramp_len):
        gain = np.where(keep, 1.0, floor)
        if ramp_len > 0 and keep.any() and not keep.all():
            distance = distance_transform_edt(~keep)
            ramp = (distance <= ramp_len) & ~keep
            gain[ramp] = floor + (1 - floor) * 0.5 * (1 + np.cos(np.pi * distance[ramp] / (ramp_len + 1)))
        return gain

    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(1, 2000))
        keep = rng.random(n) < rng.random() if trial % 2 else np.repeat(rng.random(n // 40 + 1) < 0.5, 40)[:n]
        for floor in (0.0, 0.1):
            for ramp_len in (0, 1, 7, 80):
                np.testing.assert_array_equal(time_gain(keep, floor, ramp_len), reference(keep, floor, ramp_len))


@pytest.mark.parametrize("floor_gain", [0.0, attenuation_gain(-30)])
def test_many_band_masks_from_band_parts_equal_resynthesising_each(floor_gain):
    """The mask search's path (one inverse STFT per band, masks as sums of parts) and the direct one
    (one inverse STFT per mask) give the same clips."""
    from acom.roi.grids import apply_band_gains, bin_gains_from_bands

    grid = FreqGrid(n_bands=16, n_fft=512, hop_length=128)
    x = (0.1 * np.random.default_rng(3).standard_normal(SR)).astype(np.float32)
    keep = np.zeros((20, 16), dtype=bool)
    for i, (_, start, end) in enumerate(candidate_regions(16, [10, 30, 50, 80], 2)[:20]):
        keep[i, start:end] = True
    direct = apply_band_gains(x, bin_gains_from_bands(keep, grid.edges(SR), SR, 512, floor_gain), n_fft=512,
                              hop_length=128)
    np.testing.assert_allclose(grid.apply(x, SR, keep, floor_gain), direct, rtol=0, atol=1e-7)
