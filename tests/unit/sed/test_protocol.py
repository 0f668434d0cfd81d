"""The SED protocol on a DESED-format folder written here: load, frame-embed, train per fold, decode,
score; plus the summary's aggregation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from acom.data.desed import build_desed_manifest
from acom.embed import embed_clip_frames, frame_matrices
from acom.io import write_flac
from acom.models.mfcc import MFCCStats
from acom.sed.heads import HeadConfig
from acom.sed.protocol import (
    SED_METRICS,
    clip_targets,
    cross_corpus_sed,
    cross_validate_sed,
    soundscape_files,
    summarize_sed,
)

SR = 16000
CLASSES = ["Beep", "Hiss"]


def write_desed_folder(root, n_folds=3, per_fold=6, seed=0):
    """Soundscapes of 6 s: quiet noise, with 1 kHz beeps (Beep) and high-passed noise bursts (Hiss)
    at known times; one DESED-format (audio folder, TSV) pair per fold."""
    rng = np.random.default_rng(seed)
    folds = {}
    t = np.arange(6 * SR) / SR
    for fold in range(1, n_folds + 1):
        audio, tsv = root / "audio" / f"fold{fold}", root / "metadata" / f"fold{fold}.tsv"
        audio.mkdir(parents=True)
        tsv.parent.mkdir(parents=True, exist_ok=True)
        rows = []
        for i in range(per_fold):
            name = f"f{fold}_{i}.flac"
            wave = 0.002 * rng.standard_normal(t.size)
            for label in CLASSES:
                onset = round(float(rng.uniform(0.2, 3.5)), 3)
                offset = round(onset + float(rng.uniform(1.0, 2.0)), 3)
                span = (t >= onset) & (t < offset)
                if label == "Beep":
                    wave[span] += 0.3 * np.sin(2 * np.pi * 1000 * t[span])
                else:
                    wave[span] += 0.2 * np.diff(rng.standard_normal(span.sum() + 1))
                rows.append(f"{name}\t{onset}\t{offset}\t{label}")
            write_flac(audio / name, wave.astype(np.float32), SR)
        tsv.write_text("filename\tonset\toffset\tevent_label\n" + "\n".join(rows) + "\n")
        folds[fold] = (audio, tsv)
    return folds


@pytest.fixture(scope="module")
def desed_folder(tmp_path_factory):
    folds = write_desed_folder(tmp_path_factory.mktemp("desed"))
    manifest, labels = build_desed_manifest(folds, classes=CLASSES)
    model = MFCCStats(sample_rate=SR, n_mfcc=20, hop_length=512)
    clips = manifest.assign(path=manifest["source_path"])
    frames = {}
    for fold in (1, 2, 3):
        table, hop = embed_clip_frames(model, clips[clips["fold"] == fold], batch_size=4)
        frames[fold] = table
    return manifest, labels, frames, hop


def test_frame_tables_and_targets_line_up(desed_folder):
    manifest, labels, frames, hop = desed_folder
    assert hop == pytest.approx(512 / SR)
    table = frames[1]
    assert table["clip_id"].tolist() == sorted(manifest.loc[manifest["fold"] == 1, "clip_id"])
    matrices = frame_matrices(table)
    assert all(m.shape == (n, 40) for m, n in zip(matrices, table["n_frames"], strict=True))
    targets = clip_targets(table["clip_id"], table["n_frames"], labels, soundscape_files(manifest), hop_seconds=hop,
                           classes=CLASSES)
    first = labels[labels["clip_id"] == table["clip_id"].iloc[0]].set_index("event_label")
    centres = (np.arange(targets[0].shape[0]) + 0.5) * hop
    for c, label in enumerate(CLASSES):
        expected = (centres >= first.loc[label, "onset"]) & (centres < first.loc[label, "offset"])
        np.testing.assert_array_equal(targets[0][:, c], expected.astype(np.float32))


@pytest.mark.parametrize("head_type, output", [("linear", "frames"), ("gru", "frames"), ("gru", "yoho")])
def test_desed_folder_scores_end_to_end(desed_folder, head_type, output):
    manifest, labels, frames, hop = desed_folder
    head = HeadConfig(type=head_type, output=output, hidden=16, epochs=60, learning_rate=0.01, batch_size=4)
    events, metrics, scores = cross_validate_sed(
        frames, frames, labels, soundscape_files(manifest), hop_seconds=hop, classes=CLASSES, head=head,
        thresholds=0.5, median_filter_s=0.2, seed=0, min_hop_s=0.1,
        scoring={"segment_seconds": 1.0, "t_collar": 0.2, "percentage_of_length": 0.2})
    assert metrics["fold"].tolist() == [1, 2, 3] and metrics["n_clips"].tolist() == [6, 6, 6]
    assert list(events.columns) == ["filename", "onset", "offset", "event_label"]
    assert set(events["filename"]) <= {f"{c}.flac" for c in manifest["clip_id"]}
    # A beep and a hiss over quiet noise: both heads find the segments and most event boundaries.
    assert metrics["segment_f1_micro"].min() > 0.9, metrics
    assert metrics["segment_er_micro"].max() < 0.2, metrics
    assert metrics["event_f1_micro"].mean() > 0.6, metrics
    # Threshold-free: every clip's frame scores, and PSDS that sees the same easy detection.
    assert set(scores) == set(manifest["clip_id"]) and all(set(t.columns) == {"onset", "offset", *CLASSES}
                                                           for t in scores.values())
    assert metrics["psds2"].min() > 0.5 and metrics["intersection_f1_dtc05_gtc05_micro"].min() > 0.8, metrics


def test_same_seed_same_events(desed_folder):
    manifest, labels, frames, hop = desed_folder
    kwargs = {"hop_seconds": hop, "classes": CLASSES, "head": HeadConfig(type="linear", epochs=10),
              "thresholds": 0.5, "median_filter_s": 0.2, "scoring": {}}
    first = cross_validate_sed(frames, frames, labels, soundscape_files(manifest), seed=3, **kwargs)
    second = cross_validate_sed(frames, frames, labels, soundscape_files(manifest), seed=3, **kwargs)
    pd.testing.assert_frame_equal(first[0], second[0])
    pd.testing.assert_frame_equal(first[1], second[1])


def test_summarize_sed_means_and_stds():
    rows = []
    for codec, base in (("none", 0.8), ("opus_6", 0.5)):
        for fold, delta in zip((1, 2, 3), (-0.1, 0.0, 0.1), strict=True):
            rows.append({"protocol": "cross_validation", "model": "m", "filter": "none", "codec": codec,
                         "nominal_kbps": 6.0, "train_condition": "clean", "scored_classes": "A;B", "fold": fold, "n_clips": 10, "actual_kbps": 5.0 + fold,
                         **{metric: base + delta for metric in SED_METRICS}})
    summary = summarize_sed(pd.DataFrame(rows)).set_index("codec")
    assert summary.loc["none", "segment_f1_micro"] == pytest.approx(0.8)
    assert summary.loc["opus_6", "event_f1_micro_std"] == pytest.approx(0.1)  # std of (-0.1, 0, 0.1), ddof 1
    assert summary.loc["opus_6", "actual_kbps"] == pytest.approx(7.0)
    assert summary.loc["none", "n_clips"] == 30 and summary.loc["none", "n_folds"] == 3


SCORING = {"segment_seconds": 1.0, "t_collar": 0.2, "percentage_of_length": 0.2}


def test_cross_corpus_trains_on_the_training_corpus_only(desed_folder, monkeypatch):
    """One head, fit on the training corpus (folds 1-2 here) and never on the test corpus: a marker
    planted in every test frame (a value no training frame holds) is absent from what the head saw,
    and the same head scores every test fold."""
    from acom.sed import protocol

    manifest, labels, frames, hop = desed_folder
    files = soundscape_files(manifest)
    marker = 1234.5
    test = {3: frames[3].assign(frames=[np.full_like(m, marker).ravel() for m in frame_matrices(frames[3])])}
    seen = []
    real_train = protocol.train_frame_head

    def spy(features, targets, **kwargs):
        seen.append(np.concatenate([f.ravel() for f in features]))
        return real_train(features, targets, **kwargs)

    monkeypatch.setattr(protocol, "train_frame_head", spy)
    train = {1: frames[1], 2: frames[2]}
    head = HeadConfig(type="linear", epochs=30, learning_rate=0.01, batch_size=4)
    _, metrics, _ = cross_corpus_sed(test, train, labels, files, labels, files, hop_seconds=hop, classes=CLASSES,
                                     head=head, thresholds=0.5, median_filter_s=0.2, seed=0, scoring=SCORING)
    assert len(seen) == 1 and seen[0].size == sum(m.size for k in (1, 2) for m in frame_matrices(frames[k]))
    assert not np.any(seen[0] == marker)
    assert metrics["fold"].tolist() == [3] and metrics["n_train_clips"].tolist() == [12]


def test_cross_corpus_scores_only_the_training_classes(desed_folder):
    """The test corpus has a class the training corpus lacks (Hiss here): its references are left
    out, so a head that finds every Beep scores as well as on a test set without Hiss."""
    manifest, labels, frames, hop = desed_folder
    files = soundscape_files(manifest)
    train_labels = labels[labels["event_label"] == "Beep"]
    head = HeadConfig(type="linear", epochs=60, learning_rate=0.01, batch_size=4)
    kwargs = {"hop_seconds": hop, "classes": ["Beep"], "head": head, "thresholds": 0.5, "median_filter_s": 0.2,
              "seed": 0, "scoring": SCORING}
    events, with_hiss, scores = cross_corpus_sed({3: frames[3]}, {1: frames[1], 2: frames[2]}, labels, files,
                                                 train_labels, files, **kwargs)
    _, without_hiss, _ = cross_corpus_sed({3: frames[3]}, {1: frames[1], 2: frames[2]}, train_labels, files,
                                          train_labels, files, **kwargs)
    assert set(events["event_label"]) == {"Beep"}
    assert all(list(t.columns) == ["onset", "offset", "Beep"] for t in scores.values())
    assert with_hiss["segment_f1_micro"].iloc[0] > 0.9
    pd.testing.assert_frame_equal(with_hiss, without_hiss)


def test_tuned_decoding_is_chosen_on_a_training_fold_only(desed_folder, monkeypatch):
    """sed.tune_decoding: for test fold k, the decoding is tuned on the last other fold's clips (with a
    head trained on the remaining fold), never on fold k's; the row says how it decoded."""
    from acom.sed import protocol, tuning

    manifest, labels, frames, hop = desed_folder
    tuned_on = []
    real = tuning.tune_decoding

    def spy(outputs, filenames, *args, **kwargs):
        tuned_on.append(set(filenames))
        return real(outputs, filenames, *args, **kwargs)

    monkeypatch.setattr(protocol, "tune_decoding", spy)
    head = HeadConfig(type="linear", epochs=30, learning_rate=0.01, batch_size=4)
    _, metrics, _ = cross_validate_sed(frames, frames, labels, soundscape_files(manifest), hop_seconds=hop,
                                       classes=CLASSES, head=head, thresholds=0.5, median_filter_s=0.2, seed=0,
                                       scoring=SCORING, min_hop_s=0.1, tune=True)
    names = {fold: {f"{c}.flac" for c in manifest.loc[manifest["fold"] == fold, "clip_id"]} for fold in (1, 2, 3)}
    assert tuned_on == [names[3], names[3], names[2]]  # test fold 1 and 2: tuned on fold 3; fold 3: on fold 2
    assert all(row.count(":") == 2 for row in metrics["decoding"])
    assert metrics["segment_f1_micro"].min() > 0.8, metrics
    with pytest.raises(ValueError, match="at least 3 folds"):
        cross_validate_sed({1: frames[1], 2: frames[2]}, frames, labels, soundscape_files(manifest), hop_seconds=hop,
                           classes=CLASSES, head=head, thresholds=0.5, median_filter_s=0.2, seed=0, scoring=SCORING,
                           tune=True)
