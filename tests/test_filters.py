"""Filters and ROI masks on synthetic signals: naive filters, frame and band masks, saliency, the
best-mask search and the oracle filter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.linear_model import LogisticRegression

from acom.filters import build_filter, butterworth, filter_fold
from acom.masks import MASK_COLUMNS, SearchSpace, candidate_regions, mark_best, occlusion_saliency, search_masks
from acom.roi import (
    FreqGrid,
    TimeGrid,
    attenuation_gain,
    bin_bands,
    bin_frequencies,
    grid_from_params,
    select_units,
    units_to_keep,
    window_starts,
)

SR = 16000


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


# --- search and saliency on a planted salient region -----------------------------------------------
PLANT_S = (2.0, 2.5)
PLANT_HZ = 1000.0


class ToneDetector:
    """A stand-in model: its embedding is (energy near 1 kHz, energy elsewhere), each as a share of
    the total. Only a clip region holding the planted tone looks like the 'tone' class."""

    sample_rate = SR
    embedding_dim = 2
    labels = None

    def embed_array(self, waves: np.ndarray) -> np.ndarray:
        spectrum = np.abs(np.fft.rfft(waves, axis=-1)) ** 2
        freqs = np.fft.rfftfreq(waves.shape[-1], 1 / SR)
        near = spectrum[:, np.abs(freqs - PLANT_HZ) < 50].sum(axis=1)
        total = spectrum.sum(axis=1) + 1e-12
        return np.stack([near / total, 1 - near / total], axis=1)


def planted_clip(rng, with_tone: bool) -> np.ndarray:
    x = rng.normal(0, 0.05, 5 * SR)
    if with_tone:
        a, b = (int(s * SR) for s in PLANT_S)
        x[a:b] += 0.1 * np.sin(2 * np.pi * PLANT_HZ * np.arange(b - a) / SR)
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def tone_classifier():
    rng = np.random.default_rng(4)
    detector = ToneDetector()
    clips = [planted_clip(rng, bool(i % 2)) for i in range(20)]
    # Train also on tone-only and noise-only excerpts so both classes cover quiet and loud clips.
    features = detector.embed_array(np.stack(clips))
    classifier = LogisticRegression().fit(features, np.arange(20) % 2)
    return detector, classifier


def test_search_finds_the_planted_salient_region(tone_classifier, tmp_path):
    detector, classifier = tone_classifier
    rng = np.random.default_rng(5)
    clip = planted_clip(rng, True)
    sf.write(tmp_path / "c1.flac", clip, SR, subtype="PCM_16")
    clips = pd.DataFrame({"clip_id": ["c1"], "fold": [1], "target": [1], "path": [str(tmp_path / "c1.flac")]})
    space = SearchSpace(grids=[TimeGrid(frame_ms=100, ramp_ms=5), FreqGrid(n_bands=32, n_fft=1024, hop_length=256)],
                        percentages=[10, 20, 50, 90], strides={"time": 5, "freq": 2})
    table = search_masks(clips, embed=detector.embed_array, classifier=classifier, space=space, sample_rate=SR,
                         model_name="tone_detector")
    assert list(table.columns) == MASK_COLUMNS
    assert len(table) == 2 * 4 and table["correct_full"].all()
    time10 = table[(table["axis"] == "time") & (table["percentage"] == 10)].iloc[0]
    assert (time10["region_start"], time10["region_end"], time10["region_unit"]) == (20.0, 25.0, "frame")
    assert time10["correct_masked"] and time10["n_candidates"] == 10
    freq10 = table[(table["axis"] == "freq") & (table["percentage"] == 10)].iloc[0]
    assert freq10["region_start"] <= PLANT_HZ < freq10["region_end"] and freq10["region_unit"] == "hz"
    best = table[table["best"]]
    assert len(best) == 1 and best.iloc[0]["percentage"] == 10


def test_mark_best_prefers_smallest_percentage_then_score_then_time():
    rows = pd.DataFrame({
        "axis": ["time", "freq", "time", "freq"], "percentage": [10.0, 10.0, 20.0, 20.0],
        "score_masked": [0.4, 0.6, 0.9, 0.95], "correct_masked": [False, True, True, True],
    })
    assert list(mark_best(rows)) == [False, True, False, False]
    rows["correct_masked"] = False
    assert not mark_best(rows).any()
    tie = pd.DataFrame({"axis": ["freq", "time"], "percentage": [30.0, 30.0], "score_masked": [0.7, 0.7],
                        "correct_masked": [True, True]})
    assert list(mark_best(tie)) == [False, True]


def test_occlusion_saliency_peaks_on_the_planted_frames():
    detector = ToneDetector()
    clip = planted_clip(np.random.default_rng(6), True)
    saliency = occlusion_saliency(clip, SR, TimeGrid(frame_ms=100), embed=detector.embed_array)
    assert set(np.argsort(-saliency)[:5]) == set(range(20, 25))
    frame_filter = build_filter({"type": "frame_roi", "percentage": 10, "score": "saliency", "frame_ms": 100},
                                embed=detector.embed_array)
    y, axis, kept = frame_filter("c", clip, SR)
    assert axis == "time" and kept == pytest.approx(0.1)
    a, b = int(2.0 * SR), int(2.5 * SR)
    np.testing.assert_array_equal(y[a:b], clip[a:b])


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
        y, axis, kept = oracle("a", x, sr)
        assert axis == "time" and kept == pytest.approx(0.1)
        assert np.flatnonzero(y)[0] == 2 * sr and np.count_nonzero(y) == sr // 2
        y, axis, _ = oracle("b", tone(500, sr=sr) + tone(3000, sr=sr), sr)
        assert axis == "freq" and level_db(y) == pytest.approx(level_db(tone(500, sr=sr)), abs=0.2)
        y, axis, kept = oracle("c", x, sr)  # no best mask: unchanged
        assert axis == "none" and kept == 1.0 and np.array_equal(y, x)
    assert grid_from_params("freq", search["freq"]).n_bands == 32


def test_filter_errors_name_the_filter_the_file_and_the_rate(tmp_path):
    path = tmp_path / "c.flac"
    sf.write(path, tone(1000, sr=8000), 8000, subtype="PCM_16")
    clips = pd.DataFrame([{"clip_id": "c", "fold": 1, "target": 0, "category": "tone", "path": str(path)}])
    lowpass = build_filter({"type": "lowpass", "cutoff_hz": 4000, "order": 8})
    with pytest.raises(ValueError, match=r"filters\.lowpass_4000 on .*c\.flac \(8000 Hz\): lowpass cutoff 4000"):
        filter_fold(clips, lowpass, name="lowpass_4000", out_dir=tmp_path / "out")
