"""ESC-50 ingest: stem matching in any format, subsets, and every problem reported at once."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from acom.data.esc50 import build_manifest, read_metadata, select_clips
from acom.data.synthetic import synthesize_esc50_corpus


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "esc50"
    meta = synthesize_esc50_corpus(root, categories=["tone", "hum"], folds=[1, 2, 3],
                                   clips_per_class_per_fold=2, duration_s=0.5, seed=1)
    return root, meta


def test_synthetic_corpus_has_esc50_layout(corpus):
    root, meta = corpus
    assert len(meta) == 3 * 2 * 2
    assert (root / "meta" / "esc50.csv").is_file()
    table = pd.read_csv(root / "meta" / "esc50.csv")
    assert list(table.columns) == ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
    for rec in table.itertuples():
        info = sf.info(str(root / "audio" / rec.filename))
        assert (info.samplerate, info.frames, info.channels) == (44100, 22050, 1)
        # ESC-50 naming: {fold}-{src_file}-{take}-{target}.wav
        assert rec.filename == f"{rec.fold}-{rec.src_file}-{rec.take}-{rec.target}.wav"


def test_synthetic_clips_are_reproducible_and_distinct(tmp_path):
    a = synthesize_esc50_corpus(tmp_path / "a", categories=["tone", "chirp"], folds=[1], clips_per_class_per_fold=2,
                                duration_s=0.2, seed=3)
    synthesize_esc50_corpus(tmp_path / "b", categories=["tone", "chirp"], folds=[1], clips_per_class_per_fold=2,
                            duration_s=0.2, seed=3)
    clips = [sf.read(str(tmp_path / "a" / "audio" / f))[0] for f in a["filename"]]
    for f, clip in zip(a["filename"], clips):
        np.testing.assert_array_equal(clip, sf.read(str(tmp_path / "b" / "audio" / f))[0])
    assert not np.allclose(clips[0], clips[1])  # two clips of one class differ


def test_manifest_matches_by_stem_in_any_format_and_rate(corpus):
    root, meta = corpus
    # Re-encode one clip as 16 kHz FLAC: the metadata still says .wav; it must match by stem.
    wav = root / "audio" / meta["filename"][0]
    data, _ = sf.read(str(wav))
    wav.unlink()
    sf.write(str(wav.with_suffix(".flac")), data[::2], 22050, format="FLAC")
    manifest, skipped = build_manifest(root, select_clips(read_metadata(root / "meta" / "esc50.csv"), folds=[1, 2, 3]),
                                       clip_seconds=0.5)
    assert len(manifest) == len(meta) and skipped.empty
    row = manifest.set_index("clip_id").loc[wav.stem]
    assert row.source_path.endswith(".flac") and row.sample_rate == 22050 and row.frames == len(data[::2])
    assert set(manifest.columns) >= {"clip_id", "fold", "target", "category", "esc10", "source_path",
                                     "sample_rate", "frames"}


def test_every_problem_is_reported_at_once(corpus):
    root, meta = corpus
    (root / "audio" / meta["filename"][0]).unlink()  # metadata row without a file
    (root / "audio" / meta["filename"][1]).write_text("not audio")  # unreadable file
    shutil.copy(root / "audio" / meta["filename"][2], root / "audio" / "9-999-A-0.wav")  # file without a row
    with pytest.raises(ValueError) as err:
        build_manifest(root, select_clips(read_metadata(root / "meta" / "esc50.csv"), folds=[1, 2, 3]),
                       clip_seconds=0.5)
    message = str(err.value)
    assert "3 problem(s)" in message
    assert f"no audio file with stem {meta['filename'][0][:-4]}" in message
    assert f"{meta['filename'][1]}: not a readable audio file" in message
    assert "9-999-A-0.wav: audio file without a metadata row" in message
    assert message.endswith("set on_bad_clip: skip in the config to leave these clips out (they are listed in "
                            "results/esc50_skipped.csv)")


def test_duplicate_clip_ids_are_rejected_and_unknown_folds_kept_for_ingest_to_report(tmp_path, corpus):
    _, meta = corpus
    dup = pd.concat([meta, meta.iloc[:1]])
    dup.to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(ValueError, match="duplicate clip ids"):
        read_metadata(tmp_path / "dup.csv")
    bad = meta.assign(fold=meta["fold"].replace({3: 7}))
    bad.to_csv(tmp_path / "bad.csv", index=False)
    selected = select_clips(read_metadata(tmp_path / "bad.csv"), folds=[1, 2])
    # Folds 1 and 2 as asked, and the fold-7 rows (not an ESC-50 fold) for build_manifest to report.
    assert sorted(selected["fold"].unique()) == [1, 2, 7]
    assert selected["clip_id"].tolist() == sorted(bad["filename"].str[:-4])
    capped = select_clips(read_metadata(tmp_path / "bad.csv"), folds=[1], max_clips_per_class_per_fold=1)
    assert capped.groupby("fold").size().to_dict() == {1: 2, 7: 4}


def test_subset_selection_is_deterministic(shared_esc50):
    meta = read_metadata(shared_esc50 / "meta" / "esc50.csv")
    assert len(meta) == 2000
    subset = select_clips(meta, folds=[1, 2, 3, 4, 5], esc10_only=True, max_clips_per_class_per_fold=2)
    assert len(subset) == 10 * 5 * 2
    assert subset.groupby(["fold", "target"]).size().eq(2).all()
    again = select_clips(meta.sample(frac=1.0, random_state=0), folds=[1, 2, 3, 4, 5], esc10_only=True,
                         max_clips_per_class_per_fold=2)
    assert subset["clip_id"].tolist() == again["clip_id"].tolist()


def test_manifest_of_the_real_copy(shared_esc50):
    meta = read_metadata(shared_esc50 / "meta" / "esc50.csv")
    manifest, skipped = build_manifest(shared_esc50, select_clips(meta, folds=[1, 2, 3, 4, 5]), clip_seconds=5.0)
    assert len(manifest) == 2000 and skipped.empty
    assert manifest.groupby("fold").size().eq(400).all()
    assert (manifest["sample_rate"] == 16000).all() and (manifest["frames"] == 80000).all()
    assert manifest["category"].nunique() == 50
