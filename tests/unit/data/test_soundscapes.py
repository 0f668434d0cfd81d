"""DESED-format soundscapes from ESC-50-like clips: trimming, planted events, SNR, folds, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from acom.data.soundscapes import (
    ACTIVE_HOP_S,
    LABEL_COLUMNS,
    SoundscapeSpec,
    active_region,
    synthesize_fold,
)
from acom.events import STRONG_COLUMNS as DESED_COLUMNS
from acom.io import read_audio, write_flac

SR = 16_000
CLIP_S = 5.0
BG_RMS = 0.003  # background noise level (about -50 dBFS)
CLASS_MAP = {"dog": "Dog", "clock_alarm": "Alarm_bell_ringing", "water_drops": "Running_water"}
EVENT_CATEGORIES = sorted(CLASS_MAP)
BACKGROUND_CATEGORIES = ["rain", "wind"]


def _make_corpus(root: Path, *, rate: int = SR, folds=(1, 2), per_class: int = 2):
    """ESC-50-like clips: events are tone bursts padded by digital silence, backgrounds are noise.

    Returns (events, backgrounds, burst_s) where burst_s maps event clip id -> burst length (s).
    """
    rng = np.random.default_rng(1234)
    n = int(CLIP_S * rate)
    events, backgrounds, burst_s = [], [], {}
    for fold in folds:
        for target, category in enumerate(EVENT_CATEGORIES):
            for k in range(per_class):
                clip_id = f"{fold}-{100 + k}-A-{target}"
                length = int(rng.uniform(0.4, 1.5) * rate)
                start = int(rng.integers(0, n - length))
                t = np.arange(length) / rate
                samples = np.zeros(n)
                samples[start:start + length] = rng.uniform(0.1, 0.5) * np.sin(
                    2 * np.pi * rng.uniform(300.0, 2000.0) * t + rng.uniform(0, 2 * np.pi))
                path = root / f"{clip_id}.flac"
                write_flac(path, samples, rate)
                burst_s[clip_id] = length / rate
                events.append({"clip_id": clip_id, "fold": fold, "category": category, "source_path": str(path)})
        for target, category in enumerate(BACKGROUND_CATEGORIES, start=10):
            clip_id = f"{fold}-200-A-{target}"
            noise = rng.standard_normal(n)
            path = root / f"{clip_id}.flac"
            write_flac(path, noise * BG_RMS / np.sqrt(np.mean(noise**2)), rate)
            backgrounds.append({"clip_id": clip_id, "fold": fold, "category": category, "source_path": str(path)})
    return pd.DataFrame(events), pd.DataFrame(backgrounds), burst_s


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return _make_corpus(tmp_path_factory.mktemp("esc50"))


def _synth(corpus, out_dir, *, fold=1, n=8, seed=0, spec=None, **kw):
    events, backgrounds, _ = corpus
    return synthesize_fold(events, backgrounds, fold=fold, n_soundscapes=n, class_map=CLASS_MAP,
                           spec=spec or SoundscapeSpec(snr_db=(20.0, 30.0)), sample_rate=SR, seed=seed,
                           out_dir=out_dir, **kw)


# --- active_region ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("start_s", "stop_s", "floor"), [(1.2345, 2.0007, 0.0), (0.0, 0.61, 0.0),
                                                            (3.3, 5.0, 0.0), (0.8011, 1.9, 1e-3)])
def test_active_region_finds_planted_burst(start_s, stop_s, floor):
    rng = np.random.default_rng(0)
    x = floor * rng.standard_normal(int(CLIP_S * SR))  # a floor 50 dB below the burst is "quiet" at top_db=30
    s, e = int(start_s * SR), int(stop_s * SR)
    x[s:e] += 0.3 * np.sin(2 * np.pi * 700.0 * np.arange(e - s) / SR)
    start, stop = active_region(x.astype(np.float32), SR, top_db=30.0)
    hop = ACTIVE_HOP_S * SR
    assert abs(start - s) <= hop and abs(stop - e) <= hop
    assert start <= s and stop >= e  # the boundaries fall outside the burst, never inside
    assert 0 <= start < stop <= x.size


def test_active_region_all_silence_raises():
    with pytest.raises(ValueError, match="silence"):
        active_region(np.zeros(SR, dtype=np.float32), SR, top_db=30.0)
    with pytest.raises(ValueError, match="silence"):
        active_region(np.zeros(0, dtype=np.float32), SR, top_db=30.0)


# --- planted events --------------------------------------------------------------------------------

def _frame_agreement(audio: np.ndarray, rows: pd.DataFrame, frame_s: float = 0.020) -> float:
    """Fraction of 20 ms frames where an energy detector (6 dB over the background level) agrees with
    the labels (a frame is labelled when its centre lies in an [onset, offset) interval)."""
    frame = int(frame_s * SR)
    n_frames = audio.size // frame
    energy_db = 10 * np.log10(np.mean(audio[: n_frames * frame].reshape(n_frames, frame) ** 2, axis=1) + 1e-20)
    detected = energy_db > 20 * np.log10(BG_RMS) + 6.0
    centres = (np.arange(n_frames) + 0.5) * frame_s
    labelled = np.zeros(n_frames, dtype=bool)
    for onset, offset in zip(rows["onset"], rows["offset"], strict=True):
        labelled |= (centres >= onset) & (centres < offset)
    return float(np.mean(detected == labelled))


def test_planted_events_match_labels(corpus, tmp_path):
    spec = SoundscapeSpec(snr_db=(20.0, 30.0))
    labels = _synth(corpus, tmp_path, n=8, spec=spec)
    assert list(labels.columns) == LABEL_COLUMNS
    assert sorted(labels["filename"].unique()) == [f"fold1_{i:04d}.flac" for i in range(8)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"fold1_{i:04d}.flac" for i in range(8)]
    assert (labels["onset"] >= 0).all() and (labels["offset"] <= spec.duration_s).all()
    assert (labels["offset"] > labels["onset"]).all()
    assert labels.groupby("filename").size().between(*spec.n_events).all()
    assert labels["snr_db"].between(*spec.snr_db).all()
    assert set(labels["event_label"]) <= set(CLASS_MAP.values())
    sorted_labels = labels.sort_values(["filename", "onset"], kind="mergesort").reset_index(drop=True)
    pd.testing.assert_frame_equal(labels, sorted_labels)
    # Each label spans the planted burst, trimmed to within a hop (plus the 1 ms rounding) on each side.
    burst_s = corpus[2]
    extra = (labels["offset"] - labels["onset"]) - labels["source_clip"].map(burst_s)
    assert extra.between(-0.001, 2 * ACTIVE_HOP_S + 0.001).all()
    for filename, rows in labels.groupby("filename"):
        audio, rate = read_audio(tmp_path / filename)
        assert rate == SR and audio.size == 10 * SR
        agreement = _frame_agreement(audio, rows)
        assert agreement >= 0.95, f"{filename}: labels agree with the audio on only {agreement:.1%} of frames"


def test_snr_matches_drawn_value(corpus, tmp_path):
    spec = SoundscapeSpec(n_events=(1, 1), snr_db=(6.0, 30.0))
    labels = _synth(corpus, tmp_path, n=6, spec=spec)
    assert len(labels) == 6
    for row in labels.itertuples(index=False):
        audio, _ = read_audio(tmp_path / row.filename)
        assert np.max(np.abs(audio)) < spec.peak  # levels chosen so that no peak scaling happens
        x = audio.astype(np.float64)
        a, b = round(row.onset * SR), round(row.offset * SR)
        inside = np.zeros(x.size, dtype=bool)
        inside[a:b] = True
        background_power = np.mean(x[~inside] ** 2)  # stationary noise: same level under the event
        event_power = np.mean(x[inside] ** 2) - background_power
        measured = 10 * np.log10(event_power / background_power)
        assert abs(measured - row.snr_db) < 0.5, (row.filename, measured, row.snr_db)


def test_peak_scaling_caps_the_mix(corpus, tmp_path):
    labels = _synth(corpus, tmp_path, n=3, spec=SoundscapeSpec(snr_db=(29.0, 30.0), peak=0.05))
    for filename in labels["filename"].unique():
        audio, _ = read_audio(tmp_path / filename)
        assert np.max(np.abs(audio)) <= 0.05 + 1 / 32768


# --- folds, determinism, rates ---------------------------------------------------------------------

def test_only_clips_of_the_fold_are_used(corpus, tmp_path):
    events = corpus[0]
    for fold in (1, 2):
        labels = _synth(corpus, tmp_path / f"f{fold}", fold=fold, n=10)
        fold_ids = set(events.loc[events["fold"] == fold, "clip_id"])
        assert set(labels["source_clip"]) <= fold_ids
        assert labels["filename"].str.startswith(f"fold{fold}_").all()
    # A fold is reproducible on its own: the other folds' rows do not change it.
    only_fold1 = (events[events["fold"] == 1], corpus[1][corpus[1]["fold"] == 1], corpus[2])
    pd.testing.assert_frame_equal(_synth(only_fold1, tmp_path / "alone", n=10), _synth(corpus, tmp_path / "all", n=10))


def test_deterministic_and_seed_dependent(corpus, tmp_path):
    a = _synth(corpus, tmp_path / "a", n=4, seed=7)
    b = _synth(corpus, tmp_path / "b", n=4, seed=7)
    pd.testing.assert_frame_equal(a, b)
    for filename in a["filename"].unique():
        assert (tmp_path / "a" / filename).read_bytes() == (tmp_path / "b" / filename).read_bytes()
    c = _synth(corpus, tmp_path / "c", n=4, seed=8)
    assert not a[DESED_COLUMNS].equals(c[DESED_COLUMNS])


def test_clips_are_resampled_to_the_soundscape_rate(tmp_path):
    corpus = _make_corpus(tmp_path / "esc50", rate=22_050, folds=(1,), per_class=1)
    labels = _synth(corpus, tmp_path / "out", n=2)
    for filename in labels["filename"].unique():
        info = sf.info(str(tmp_path / "out" / filename))
        assert info.samplerate == SR and info.frames == 10 * SR


# --- errors ----------------------------------------------------------------------------------------

def test_no_events_in_fold_raises(corpus, tmp_path):
    with pytest.raises(ValueError, match=r"fold 3.*clock_alarm"):
        _synth(corpus, tmp_path, fold=3)
    events, backgrounds, burst = corpus
    with pytest.raises(ValueError, match=r"background clips in fold 2.*rain"):
        _synth((events, backgrounds[backgrounds["fold"] == 1], burst), tmp_path, fold=2)


def test_unmapped_category_raises(corpus, tmp_path):
    events, backgrounds, burst = corpus
    events = events.copy()
    events.loc[0, "category"] = "crying_baby"
    with pytest.raises(ValueError, match="crying_baby"):
        _synth((events, backgrounds, burst), tmp_path)
