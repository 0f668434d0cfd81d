"""Threshold-free SED scores: the frame-score tables and PSDS through sed_scores_eval."""

from __future__ import annotations

import numpy as np
import pytest

from acom.sed.scores import (
    audio_id,
    ground_truth_events,
    intersection_based,
    score_table,
    threshold_free_metrics,
    write_score_tables,
)

CLASSES = ["cat", "dog"]


def test_score_tables_end_at_the_clip_s_end():
    table = score_table(np.full((12, 2), 0.5), hop_seconds=0.1, duration=1.05, classes=CLASSES)
    assert list(table.columns) == ["onset", "offset", *CLASSES]
    assert len(table) == 11 and table["onset"].iloc[-1] == pytest.approx(1.0)
    assert table["offset"].iloc[-1] == pytest.approx(1.05) and table["offset"].iloc[0] == pytest.approx(0.1)


def _hand_case():
    """Two 10 s clips: dog 1-3 s in a (scored 0.9 exactly there), dog and cat 5-7 s in b, where only
    the cat is scored (0.8)."""
    a, b = np.zeros((100, 2)), np.zeros((100, 2))
    a[10:30, 1] = 0.9
    b[50:70, 0] = 0.8
    scores = {name: score_table(p, hop_seconds=0.1, duration=10.0, classes=CLASSES) for name, p in (("a", a), ("b", b))}
    truth = {"a": [(1.0, 3.0, "dog")], "b": [(5.0, 7.0, "dog"), (5.0, 7.0, "cat")]}
    return scores, truth, {"a": 10.0, "b": 10.0}


def test_psds_of_a_hand_built_case():
    scores, truth, durations = _hand_case()
    metrics = threshold_free_metrics(scores, truth, durations, thresholds=0.5, classes=CLASSES)
    # PSDS1: the dog's TPR is 1/2 (its event in b never scores), the cat's 1, both at no false
    # positive; a threshold of 0 would detect whole clips, whose dtc 0.2 < 0.7 makes false positives at
    # 1 per 20 s = 180 per hour, past max_efpr 100. PSDS1 = mean - std = 0.75 - 0.25.
    assert metrics["psds1"] == pytest.approx(0.5)
    # PSDS2 (dtc = gtc = 0.1): at a threshold of 0 the whole-clip detections hit every event
    # (dtc 0.2, gtc 1) with no false positive, so both TPRs reach 1.
    assert metrics["psds2"] == pytest.approx(1.0)
    # At 0.5: dog 1 TP 1 FN, cat 1 TP: micro F1 = 2*2 / (2*2 + 1); macro (2/3 + 1) / 2.
    assert metrics["intersection_f1_dtc05_gtc05_micro"] == pytest.approx(0.8)
    assert metrics["intersection_f1_dtc05_gtc05_macro"] == pytest.approx(5 / 6)


def test_written_tables_score_the_same_when_read_back(tmp_path):
    scores, truth, durations = _hand_case()
    folder = write_score_tables(scores, tmp_path / "scores")
    assert sorted(p.name for p in folder.iterdir()) == ["a.tsv", "b.tsv"]
    direct, *_ = intersection_based().psds(scores=str(folder), ground_truth=truth, audio_durations=durations,
                                         dtc_threshold=0.7, gtc_threshold=0.7, alpha_ct=0.0, alpha_st=1.0,
                                         max_efpr=100.0)
    assert direct == pytest.approx(0.5)


def test_ground_truth_lists_every_file_by_its_stem():
    import pandas as pd

    labels = pd.DataFrame({"filename": ["a.wav", "a.wav"], "onset": [0.5, 2.0], "offset": [1.0, 3.0],
                           "event_label": ["dog", "cat"]})
    assert ground_truth_events(labels, ["a.wav", "b.flac"]) == {"a": [(2.0, 3.0, "cat"), (0.5, 1.0, "dog")], "b": []}
    overlapping = pd.DataFrame({"filename": ["a.wav"] * 3, "onset": [1.0, 1.5, 4.0], "offset": [2.0, 3.0, 5.0],
                                "event_label": ["dog"] * 3})
    assert ground_truth_events(overlapping, ["a.wav"]) == {"a": [(1.0, 3.0, "dog"), (4.0, 5.0, "dog")]}
    assert audio_id("dir/x.y.flac") == "x.y"
