"""IRMAS loader: the official layout written here, its labels, the downmix and every bad input."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from acom.data.irmas import (
    IRMAS_INSTRUMENTS,
    build_irmas_manifest,
    find_irmas_items,
    read_test_labels,
    select_items,
)
from tests.helpers import IRMAS_RATE, write_irmas

RATE = IRMAS_RATE


def test_the_layout_is_read_with_every_label(tmp_path):
    train, test = write_irmas(tmp_path)
    items = find_irmas_items(train, test)
    assert (items["fold"] == 1).sum() == 22 and (items["fold"] == 2).sum() == 2
    assert sorted(items.loc[items["fold"] == 1, "labels"].str[0].unique()) == IRMAS_INSTRUMENTS
    assert items.loc[items["fold"] == 2, "labels"].tolist() == [["voi"], ["cel", "pia"]]  # path order


def test_the_training_archive_s_nested_folder_is_found(tmp_path):
    train, test = write_irmas(tmp_path, nested=True)
    assert (find_irmas_items(train, test)["fold"] == 1).sum() == 22


def test_excerpts_are_downmixed_to_mono_and_keep_their_length(tmp_path):
    train, test = write_irmas(tmp_path, per_instrument=1)
    manifest = build_irmas_manifest(find_irmas_items(train, test), tmp_path / "mono")
    long = manifest[manifest["original"].str.endswith("song 2.wav")].iloc[0]
    assert long["clip_id"] == "test-IRMAS-TestingData-Part1_Part1_song_2" and long["labels"] == ["voi"] and long["n_sources"] == 1
    mono, rate = sf.read(long["source_path"])
    stereo, _ = sf.read(tmp_path / "IRMAS-TestingData-Part1" / "Part1" / "song 2.wav")
    assert rate == RATE and mono.ndim == 1 and len(mono) == long["frames"] == 17 * RATE
    np.testing.assert_allclose(mono, stereo.mean(axis=1), atol=1 / 32768)
    assert set(manifest["fold"]) == {1, 2} and manifest["clip_id"].is_unique


def test_subsets_keep_the_first_excerpts_of_each_instrument(tmp_path):
    items = find_irmas_items(*write_irmas(tmp_path, per_instrument=3))
    subset = select_items(items, max_train_per_class=1, max_test=1)
    assert (subset["fold"] == 1).sum() == 11 and (subset["fold"] == 2).sum() == 1


def test_test_labels_tolerate_whitespace_and_refuse_unknown_or_empty_files(tmp_path):
    good = tmp_path / "a.txt"
    good.write_text("cel\t\n\n pia \ncel\n")
    assert read_test_labels(good) == ["cel", "pia"]
    unknown = tmp_path / "b.txt"
    unknown.write_text("cel\nbanjo\n")
    with pytest.raises(ValueError, match=r"b.txt: unknown instrument line 2: 'banjo'"):
        read_test_labels(unknown)
    empty = tmp_path / "c.txt"
    empty.write_text("\n")
    with pytest.raises(ValueError, match=r"c.txt: empty label file"):
        read_test_labels(empty)


def test_every_bad_input_is_named_at_once(tmp_path):
    train, test = write_irmas(tmp_path, per_instrument=1)
    stray = train / "drums" / "[dru]0001__1.wav"
    stray.parent.mkdir()
    sf.write(stray, np.zeros((RATE, 2)), RATE)
    (test[0] / "Part1" / "song-1.txt").write_text("")
    sf.write(test[0] / "Part1" / "lonely.wav", np.zeros((RATE, 2)), RATE)
    with pytest.raises(ValueError, match="IRMAS data has 3 problem") as err:
        find_irmas_items(train, test)
    message = str(err.value)
    assert f"{stray}: a training file outside the eleven instrument folders" in message
    assert "song-1.txt: empty label file" in message
    assert "lonely.wav: test excerpt without its label file lonely.txt" in message
    with pytest.raises(ValueError, match="the IRMAS test folder does not exist"):
        find_irmas_items(train, [tmp_path / "missing"])


def test_an_official_archive_unpacks_into_its_folder(tmp_path):
    import shutil

    from acom.data.irmas import extract_irmas_archive

    write_irmas(tmp_path / "src", per_instrument=1, nested=False)
    archive = shutil.make_archive(str(tmp_path / "IRMAS-TrainingData"), "zip", tmp_path / "src", "IRMAS-TrainingData")
    folder = extract_irmas_archive(archive, tmp_path / "resources" / "IRMAS-TrainingData")
    # The archive's own top folder sits inside: the nesting the training folder lookup expects.
    items = find_irmas_items(folder, [tmp_path / "src" / "IRMAS-TestingData-Part1"])
    assert (items["fold"] == 1).sum() == 11
    assert not (tmp_path / "resources" / "IRMAS-TrainingData.part").exists()
