"""The mask predictor on a synthetic corpus with planted salient regions: it learns where they are
from other folds' mask tables (beating a random and an energy ranking on a held-out fold), never takes
a test-fold clip or mask, is seeded, saves and loads, and scores another grid's units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from acom.roi.grids import FreqGrid, TimeGrid, band_edges
from acom.roi.predictor import (
    PredictorSettings,
    frame_auc,
    load_mask_predictor,
    oracle_units,
    region_units,
    train_mask_predictor,
    unit_targets,
)

SR = 16000
TONE_HZ = 1000.0
EDGES = band_edges(32, SR / 2, "mel")
TONE_BAND = int(np.searchsorted(EDGES, TONE_HZ, side="right") - 1)
SETTINGS = PredictorSettings(channels=16, epochs=12, seed=0)


def _clip(rng) -> tuple[np.ndarray, int]:
    """5 s of noise with louder noise bursts anywhere (energy's decoys) and a quieter 1 kHz tone over
    five 100 ms frames starting at frame ``start``: the only part the 'model' needs."""
    x = 0.03 * rng.standard_normal(5 * SR)
    for _ in range(3):
        a = int(rng.integers(0, 45)) * SR // 10
        x[a: a + SR // 4] *= 6
    start = int(rng.integers(0, 45))
    a = start * SR // 10
    x[a: a + SR // 2] += 0.05 * np.sin(2 * np.pi * TONE_HZ * np.arange(SR // 2) / SR)
    return x.astype(np.float32), start


def _mask_rows(clip_id: str, fold: int, start: int) -> list[dict]:
    """What the search would find: the tone's frames (10 %) and a wider window (20 %) keep the clip
    correct; the bands around 1 kHz keep it correct; a region without the tone does not."""
    common = {"clip_id": clip_id, "fold": fold, "score_masked": 0.9}
    wide = max(0, min(40, start - 2))
    other = (start + 20) % 45
    return [
        {**common, "axis": "time", "percentage": 10.0, "region_start": start, "region_end": start + 5, "correct_masked": True},
        {**common, "axis": "time", "percentage": 20.0, "region_start": wide, "region_end": wide + 10, "correct_masked": True},
        {**common, "axis": "time", "percentage": 10.0, "region_start": other, "region_end": other + 5,
         "correct_masked": False, "score_masked": 0.1},
        {**common, "axis": "freq", "percentage": 10.0, "region_start": EDGES[TONE_BAND - 1],
         "region_end": EDGES[TONE_BAND + 2], "correct_masked": True},
    ]


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(0)
    clips, masks, waves, starts = [], [], {}, {}
    for fold in range(1, 6):
        for i in range(24):
            clip_id = f"{fold}-{i:03d}"
            waves[clip_id], starts[clip_id] = _clip(rng)
            clips.append({"clip_id": clip_id, "fold": fold, "target": 0})
            masks += _mask_rows(clip_id, fold, starts[clip_id])
    return pd.DataFrame(clips), pd.DataFrame(masks), waves, starts


@pytest.fixture(scope="module")
def trained(corpus):
    clips, masks, waves, _ = corpus
    return train_mask_predictor(clips[clips["fold"] != 1], masks[masks["fold"] != 1], waves, test_fold=1,
                                sample_rate=SR, time_frame_ms=100, band_edges_hz=EDGES, settings=SETTINGS)


def test_targets_and_oracle_come_from_the_correct_regions(corpus):
    _, masks, _, starts = corpus
    rows = masks[masks["clip_id"] == "1-000"]
    start = starts["1-000"]
    time = unit_targets(rows, "time", 50)
    assert time[start: start + 5].tolist() == [1.0] * 5 and time.max() == 1.0 and time.sum() == 5 + 5 * 0.5
    assert np.flatnonzero(oracle_units(rows, "time", 50)).tolist() == list(range(start, start + 5))
    assert np.flatnonzero(oracle_units(rows, "freq", 32, EDGES)).tolist() == [TONE_BAND - 1, TONE_BAND, TONE_BAND + 1]
    assert region_units(EDGES[3], EDGES[7], "freq", EDGES) == (3, 7)
    assert oracle_units(rows[~rows["correct_masked"]], "time", 50) is None


def test_predictor_beats_random_and_energy_rankings_on_a_held_out_fold(corpus, trained):
    clips, masks, waves, _ = corpus
    assert trained.n_parameters <= 100_000
    rng = np.random.default_rng(1)
    scores = {"predicted": [], "energy": [], "random": []}
    bands, truths, band_truths = [], [], []
    for clip_id in clips.loc[clips["fold"] == 1, "clip_id"]:
        rows = masks[masks["clip_id"] == clip_id]
        time_scores, band_scores = trained.scores(waves[clip_id], SR)
        scores["predicted"].append(time_scores)
        scores["energy"].append(TimeGrid(frame_ms=100).energy(waves[clip_id], SR))
        scores["random"].append(rng.random(50))
        truths.append(oracle_units(rows, "time", 50))
        bands.append(band_scores)
        band_truths.append(oracle_units(rows, "freq", 32, EDGES))
    auc = {name: frame_auc(values, truths) for name, values in scores.items()}
    assert auc["predicted"] > 0.9 and auc["predicted"] > auc["random"] + 0.3, auc
    assert auc["predicted"] > auc["energy"] + 0.1, auc  # the decoy bursts are louder than the tone
    assert frame_auc(bands, band_truths) > 0.9


def test_the_predictor_refuses_test_fold_clips_and_masks(corpus):
    clips, masks, waves, _ = corpus
    marker = masks[masks["fold"] == 1].head(1)  # one planted test-fold row is enough to stop it
    with pytest.raises(ValueError, match=r"masks: 1 rows of test fold 1 \(e.g. clip 1-000\)"):
        train_mask_predictor(clips[clips["fold"] != 1], pd.concat([masks[masks["fold"] != 1], marker]), waves,
                             test_fold=1, sample_rate=SR, time_frame_ms=100, band_edges_hz=EDGES, settings=SETTINGS)
    with pytest.raises(ValueError, match="clips: 24 rows of test fold 1"):
        train_mask_predictor(clips, masks[masks["fold"] != 1], waves, test_fold=1, sample_rate=SR, time_frame_ms=100,
                             band_edges_hz=EDGES, settings=SETTINGS)


def test_training_is_seeded_and_depends_only_on_the_training_folds(corpus, trained):
    clips, masks, waves, _ = corpus
    # The test fold's clips corrupted: a predictor trained on the other folds cannot tell.
    corrupted = {k: (v if not k.startswith("1-") else np.zeros_like(v)) for k, v in waves.items()}
    again = train_mask_predictor(clips[clips["fold"] != 1], masks[masks["fold"] != 1], corrupted, test_fold=1,
                                 sample_rate=SR, time_frame_ms=100, band_edges_hz=EDGES, settings=SETTINGS)
    for name, value in trained.net.state_dict().items():
        torch.testing.assert_close(again.net.state_dict()[name], value, rtol=0, atol=0)


def test_saved_predictor_loads_and_scores_another_grids_units(corpus, trained, tmp_path):
    _, _, waves, starts = corpus
    torch.save(trained.state(), tmp_path / "fold1.pt")
    loaded = load_mask_predictor(tmp_path / "fold1.pt")
    clip = waves["1-003"]
    np.testing.assert_array_equal(loaded.scores(clip, SR)[0], trained.scores(clip, SR)[0])
    # 20 ms frames take the score of the 100 ms unit holding their centre; 16 linear bands that of
    # the mel band holding theirs; a 24 kHz clip is scored at 16 kHz.
    fine = loaded.unit_scores(TimeGrid(frame_ms=20), clip, SR)
    assert fine.shape == (250,) and np.array_equal(fine[::5], loaded.scores(clip, SR)[0])
    start = starts["1-003"]
    assert set(np.argsort(-fine)[:25] // 5) <= set(range(start - 1, start + 6))
    bands = loaded.unit_scores(FreqGrid(n_bands=16, scale="linear"), clip, SR)
    assert bands.shape == (16,) and int(np.argmax(bands)) in (1, 2)  # the 500 Hz bands on either side of 1 kHz
    import librosa

    high_rate = librosa.resample(clip, orig_sr=SR, target_sr=24000)
    assert loaded.unit_scores(TimeGrid(frame_ms=100), high_rate, 24000).shape == (50,)
