"""The best-mask search finds a planted salient region and picks the smallest mask that keeps a clip correct."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.linear_model import LogisticRegression

from acom.roi.grids import (
    FreqGrid,
    TimeGrid,
)
from acom.roi.search import MASK_COLUMNS, SearchSpace, mark_best, search_masks
from tests.unit.roi.helpers import PLANT_HZ, SR, ToneDetector, planted_clip


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


def test_searching_clips_side_by_side_gives_the_same_table(tone_classifier, tmp_path):
    detector, classifier = tone_classifier
    rng = np.random.default_rng(6)
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"c{i}.flac")
        sf.write(paths[-1], planted_clip(rng, i % 2 == 0), SR, subtype="PCM_16")
    clips = pd.DataFrame({"clip_id": [p.stem for p in paths], "fold": 1, "target": [1, 0, 1, 0],
                          "path": [str(p) for p in paths]})
    space = SearchSpace(grids=[TimeGrid(frame_ms=250), FreqGrid(n_bands=16)], percentages=[20, 50],
                        strides={"time": 2, "freq": 2})
    kwargs = {"embed": detector.embed_array, "classifier": classifier, "space": space, "sample_rate": SR,
              "model_name": "tone_detector"}
    pd.testing.assert_frame_equal(search_masks(clips, **kwargs), search_masks(clips, **kwargs, workers=3))
