"""Two-source ESC-10 mixtures: the rendered items recomputed independently from their plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyloudnorm
import pytest
import soundfile as sf

from acom.data.mixtures import PEAK_LIMIT, esc10_clips, plan_mixtures, render_mixtures

RATE = 16000
CATEGORIES = ["dog", "rooster", "rain"]


def _clip(rng: np.random.Generator, kind: int) -> np.ndarray:
    """One second of a distinct sound per class, at a random level: bursts, a tone, noise."""
    t = np.arange(RATE) / RATE
    level = rng.uniform(0.05, 0.4)
    if kind == 0:
        wave = rng.standard_normal(RATE) * (np.sin(2 * np.pi * 3 * t) > 0.5)
    elif kind == 1:
        wave = np.sin(2 * np.pi * rng.uniform(300, 900) * t)
    else:
        wave = rng.standard_normal(RATE)
    return (level * wave / np.max(np.abs(wave))).astype(np.float32)


@pytest.fixture
def clips(tmp_path) -> pd.DataFrame:
    """2 folds x 3 classes x 3 clips of ESC-10-like 16 kHz FLAC, as the ESC-50 manifest lists them."""
    rng = np.random.default_rng(1)
    rows = []
    for fold in (1, 2):
        for target, category in enumerate(CATEGORIES):
            for take in range(3):
                clip_id = f"{fold}-{category}-{take}"
                path = tmp_path / "audio" / f"{clip_id}.flac"
                path.parent.mkdir(exist_ok=True)
                sf.write(path, _clip(rng, target), RATE, subtype="PCM_16")
                rows.append({"clip_id": clip_id, "fold": fold, "target": target, "category": category, "esc10": True,
                             "source_path": str(path), "sample_rate": RATE, "frames": RATE})
    return pd.DataFrame(rows)


def _loudness(samples: np.ndarray, measure: str) -> float:
    if measure == "lufs":
        return pyloudnorm.Meter(RATE).integrated_loudness(samples)
    return 20 * np.log10(np.sqrt(np.mean(samples**2)))


@pytest.mark.parametrize("measure", ["lufs", "rms"])
def test_each_item_is_the_sum_of_its_normalised_sources(clips, tmp_path, measure):
    plan = plan_mixtures(clips, n_per_fold=5, level_db=(3, 12), seed=0)
    manifest = render_mixtures(plan, tmp_path / "mixed", loudness=measure, target_db=-27.0)
    paths = clips.set_index("clip_id")["source_path"]
    assert len(manifest) == len(clips) + 2 * 5
    for item in manifest.itertuples(index=False):
        rendered, rate = sf.read(item.source_path, dtype="float64")
        assert rate == RATE
        expected = np.zeros(RATE)
        for clip_id, level in zip(item.sources, item.levels_db, strict=True):
            source, _ = sf.read(paths[clip_id], dtype="float64")
            expected += source * 10 ** ((-27.0 + level - _loudness(source, measure)) / 20)
        gain = 10 ** ((-27.0 - _loudness(expected, measure)) / 20) if item.n_sources == 2 else 1.0
        gain = min(gain, PEAK_LIMIT / np.max(np.abs(expected)))
        np.testing.assert_allclose(rendered, gain * expected, atol=1.5 / 32768)
        assert item.output_gain == pytest.approx(gain, rel=1e-6)
        if gain < PEAK_LIMIT / np.max(np.abs(expected)) - 1e-9:  # not peak-limited: at the target loudness
            assert _loudness(rendered, measure) == pytest.approx(-27.0, abs=0.05)


def test_mixtures_stay_within_their_fold_and_pair_different_classes(clips, tmp_path):
    plan = plan_mixtures(clips, n_per_fold=10, level_db=(0, 6), seed=3)
    by_id = clips.set_index("clip_id")
    mixtures = plan[plan["n_sources"] == 2]
    assert mixtures.groupby("fold").size().to_dict() == {1: 10, 2: 10}
    for item in mixtures.itertuples(index=False):
        a, b = (by_id.loc[c] for c in item.sources_clip_ids)
        assert a["fold"] == b["fold"] == item.fold
        assert a["category"] != b["category"]
        assert sorted(item.labels) == sorted([a["category"], b["category"]])
        difference = abs(item.levels_db[0] - item.levels_db[1])
        assert 0 <= difference <= 6 and max(item.levels_db) == 0
    pairs = [tuple(sorted(s)) for s in mixtures["sources_clip_ids"]]
    assert len(set(pairs)) == len(pairs)  # drawn without replacement


def test_the_plan_reproduces_from_its_seed(clips):
    first = plan_mixtures(clips, n_per_fold=6, level_db=(0, 12), seed=7)
    pd.testing.assert_frame_equal(first, plan_mixtures(clips, n_per_fold=6, level_db=(0, 12), seed=7))
    other = plan_mixtures(clips, n_per_fold=6, level_db=(0, 12), seed=8)
    assert first["sources_clip_ids"].tolist() != other["sources_clip_ids"].tolist()


def test_a_request_larger_than_the_fold_allows_names_the_key_and_the_limit(clips):
    # 9 clips of 3 classes per fold: 36 pairs, 9 of them of one class.
    with pytest.raises(ValueError, match=r"datasets.esc10_mix.n_per_fold: 28 .* fold 1.* only 27 pairs"):
        plan_mixtures(clips, n_per_fold=28, level_db=(0, 0), seed=0)
    with pytest.raises(ValueError, match=r"level_db: \[6.0, 3.0\]"):
        plan_mixtures(clips, n_per_fold=2, level_db=(6, 3), seed=0)


def test_a_silent_source_is_named(clips, tmp_path):
    silent = clips.iloc[0]["source_path"]
    sf.write(silent, np.zeros(RATE, dtype=np.float32), RATE, subtype="PCM_16")
    plan = plan_mixtures(clips[clips["clip_id"] == clips.iloc[0]["clip_id"]], n_per_fold=0, level_db=(0, 0), seed=0)
    with pytest.raises(ValueError, match=rf"{silent}: the clip is silent"):
        render_mixtures(plan, tmp_path / "mixed", loudness="lufs", target_db=-27.0)


def test_pitch_shifted_copies_are_marked_for_training_only(clips, tmp_path):
    import librosa

    plan = plan_mixtures(clips, n_per_fold=1, level_db=(0, 0), seed=0, pitch_shift_semitones=[-2, 2])
    copies = plan[plan["augmented"]]
    assert len(copies) == 2 * len(clips) and set(copies["pitch_shift"]) == {-2.0, 2.0}
    assert (copies["n_sources"] == 1).all() and not plan.loc[~plan["augmented"], "pitch_shift"].any()
    item = copies.iloc[[0]]
    manifest = render_mixtures(item, tmp_path / "mixed", loudness="rms", target_db=-27.0)
    source, _ = sf.read(clips.set_index("clip_id").loc[item.iloc[0]["sources_clip_ids"][0], "source_path"],
                        dtype="float32")
    shifted = librosa.effects.pitch_shift(source, sr=RATE, n_steps=item.iloc[0]["pitch_shift"])
    rendered, _ = sf.read(manifest.iloc[0]["source_path"])
    np.testing.assert_allclose(rendered, manifest.iloc[0]["source_gains"][0] * shifted, atol=1.5 / 32768)


def test_a_copy_without_esc10_clips_is_refused():
    manifest = pd.DataFrame({"clip_id": ["a"], "esc10": [False]})
    with pytest.raises(ValueError, match="no ESC-10 clips"):
        esc10_clips(manifest)
