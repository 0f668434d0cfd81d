"""DESED-format loader: strong-label TSV checks, the soundscape manifest, and the sed config checks."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from acom.config import check_config
from acom.data.desed import (
    DESED_CLASSES,
    build_desed_manifest,
    desed_classes,
    read_strong_labels,
)
from acom.events import write_strong_labels
from acom.io import write_flac
from tests.helpers import REPO

CLASSES = ["Cat", "Dog"]
SR = 16000


def write_fold(root: Path, fold: int, files: dict[str, float], rows: list[str]) -> tuple[Path, Path]:
    """A fold in DESED layout: ``files`` name -> duration (s) of noise, and a TSV of ``rows``."""
    audio = root / "audio" / f"fold{fold}"
    audio.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(fold)
    for name, seconds in files.items():
        write_flac(audio / name, 0.1 * rng.standard_normal(int(seconds * SR)).astype(np.float32), SR)
    tsv = root / "metadata" / f"fold{fold}.tsv"
    tsv.parent.mkdir(parents=True, exist_ok=True)
    tsv.write_text("filename\tonset\toffset\tevent_label\n" + "".join(row + "\n" for row in rows))
    return audio, tsv


def test_valid_folders_give_manifest_and_labels(tmp_path):
    f1 = write_fold(tmp_path, 1, {"a.flac": 10.0, "b.flac": 10.0},
                    ["a.flac\t0.5\t2.0\tDog", "a.flac\t1.0\t3.25\tCat", "b.flac\t\t\t"])
    f2 = write_fold(tmp_path, 2, {"c.flac": 8.0}, ["c.flac\t7.5\t8.0\tCat"])
    manifest, labels = build_desed_manifest({1: f1, 2: f2}, classes=CLASSES)
    assert manifest["clip_id"].tolist() == ["a", "b", "c"]
    assert manifest["fold"].tolist() == [1, 1, 2]
    assert manifest["frames"].tolist() == [160000, 160000, 128000]
    assert (manifest["target"] == -1).all() and (manifest["category"] == "soundscape").all()
    # b has no events: listed in the TSV, present in the manifest, no label rows.
    assert labels[["filename", "onset", "offset", "event_label", "clip_id", "fold"]].values.tolist() == [
        ["a.flac", 0.5, 2.0, "Dog", "a", 1], ["a.flac", 1.0, 3.25, "Cat", "a", 1], ["c.flac", 7.5, 8.0, "Cat", "c", 2]]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["a.flac\t0.5\t2.0\tBird"], r"line 2 \(a.flac\): unknown event_label 'Bird'; known classes: \['Cat', 'Dog'\]"),
        (["a.flac\t2.0\t2.0\tDog"], r"line 2 \(a.flac\): onset 2.0 is not before offset 2.0"),
        (["a.flac\t3.0\t2.0\tDog"], r"onset 3.0 is not before offset 2.0"),
        (["a.flac\t-0.5\t2.0\tDog"], r"negative onset -0.5"),
        (["a.flac\tsoon\t2.0\tDog"], r"onset 'soon' / offset 2.0 are not numbers"),
        (["a.flac\t0.5\t\tDog"], r"onset and offset must both be given"),
        (["a.flac\t0.1\t0.2\tDog", "a.flac\t0.5\t2.0\tdog"], r"line 3 \(a.flac\): unknown event_label 'dog'"),
    ],
)
def test_malformed_rows_are_rejected_with_line_and_reason(tmp_path, rows, message):
    _, tsv = write_fold(tmp_path, 1, {"a.flac": 10.0}, rows)
    with pytest.raises(ValueError, match=message) as err:
        read_strong_labels(tsv, classes=CLASSES)
    assert str(tsv) in str(err.value)


def test_missing_columns_and_missing_file(tmp_path):
    tsv = tmp_path / "weak.tsv"
    tsv.write_text("filename\tevent_labels\na.flac\tDog,Cat\n")
    with pytest.raises(ValueError, match=r"weak.tsv: missing columns \['onset', 'offset', 'event_label'\]"):
        read_strong_labels(tsv, classes=CLASSES)
    with pytest.raises(FileNotFoundError, match="nothing.tsv: strong-label TSV not found"):
        read_strong_labels(tmp_path / "nothing.tsv", classes=CLASSES)


def test_event_past_the_end_of_its_file(tmp_path):
    fold = write_fold(tmp_path, 1, {"a.flac": 5.0}, ["a.flac\t4.0\t5.04\tDog", "a.flac\t4.0\t6.5\tCat"])
    with pytest.raises(ValueError, match=r"a.flac event Cat ends at 6.5 s, past the end of the file \(5.000 s\)") as err:
        build_desed_manifest({1: fold}, classes=CLASSES)
    assert "event Dog" not in str(err.value)  # within the 50 ms tolerance
    assert "1 problem(s)" in str(err.value)


def test_tsv_and_folder_must_list_the_same_files(tmp_path):
    fold = write_fold(tmp_path, 1, {"a.flac": 5.0, "stray.flac": 5.0}, ["a.flac\t1\t2\tDog", "gone.flac\t1\t2\tDog"])
    with pytest.raises(ValueError) as err:
        build_desed_manifest({1: fold}, classes=CLASSES)
    assert "fold1.tsv: gone.flac has no audio file in" in str(err.value)
    assert "stray.flac: audio file without a row in" in str(err.value)


def test_unreadable_stereo_and_duplicated_files(tmp_path):
    f1 = write_fold(tmp_path, 1, {"a.flac": 5.0}, ["a.flac\t1\t2\tDog", "s.wav\t1\t2\tDog", "t.wav\t1\t2\tCat"])
    sf.write(f1[0] / "s.wav", np.zeros((SR, 2), np.float32), SR)
    (f1[0] / "t.wav").write_text("not audio")
    f2 = write_fold(tmp_path, 2, {"a.flac": 5.0}, ["a.flac\t1\t2\tDog"])
    with pytest.raises(ValueError) as err:
        build_desed_manifest({1: f1, 2: f2}, classes=CLASSES)
    text = str(err.value)
    assert "s.wav: expected a mono soundscape, found 2 channels" in text
    assert "t.wav: not a readable audio file" in text
    assert "a.flac: clip id a is also in fold 1" in text


def test_desed_classes_defaults():
    assert desed_classes({"root": "/data/desed"}) == DESED_CLASSES
    pairs = [{"category": "dog", "label": "Dog"}, {"category": "cat", "label": "Cat"}, {"category": "x", "label": "Dog"}]
    assert desed_classes({"root": None, "synthetic": {"class_map": pairs}}) == ["Cat", "Dog"]
    assert desed_classes({"classes": ["Dog"], "root": "/x"}) == ["Dog"]


def default_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["sed"].update(models=["wav2vec"]), "sed.models lists 'wav2vec'"),
        (lambda c: c["sed"].update(filters=["oracle_roi"]), "sed.filters: 'oracle_roi' uses the mask search"),
        (lambda c: c["sed"].update(codecs=["wma"]), "sed.codecs lists 'wma'"),
        (lambda c: c["datasets"]["desed"].update(root="/data/desed"), "datasets.desed.folds: a DESED copy"),
        (lambda c: c["datasets"]["desed"]["synthetic"]["backgrounds"].append("dog"),
         "'dog' is both a foreground"),
        (lambda c: c["datasets"]["desed"]["synthetic"].update(snr_db=[30, 6]), r"snr_db: \[30, 6\] is not a range"),
        (lambda c: c["sed"].update(thresholds={"Dog": 0.4}), "sed.thresholds: no value for class 'Cat'"),
        (lambda c: c["datasets"]["desed"].update(classes=["Dog", "Cat"]),
         "class_map maps to 'Alarm_bell_ringing', which is not a class of the DESED data"),
        (lambda c: c["datasets"]["desed"]["synthetic"]["class_map"].append({"category": "dog", "label": "Cat"}),
         "category 'dog' is mapped twice"),
    ],
)
def test_sed_config_problems_are_named(edit, message):
    config = copy.deepcopy(default_config())
    check_config(config)
    edit(config)
    with pytest.raises(ValueError, match=message):
        check_config(config)


def test_write_strong_labels(tmp_path):
    labels = pd.DataFrame({"filename": ["fold1_0000.flac", "fold1_0000.flac"], "onset": [0.5, 1.25],
                           "offset": [1.0, 3.0], "event_label": ["Dog", "Alarm_bell_ringing"],
                           "source_clip": ["1-1-A-0", "1-2-A-38"], "snr_db": [12.3456, 20.0]})
    path = tmp_path / "sub" / "strong.tsv"
    write_strong_labels(labels, path)
    assert path.read_text().splitlines() == [
        "filename\tonset\toffset\tevent_label",
        "fold1_0000.flac\t0.500\t1.000\tDog",
        "fold1_0000.flac\t1.250\t3.000\tAlarm_bell_ringing",
    ]
    assert [p.name for p in path.parent.iterdir()] == ["strong.tsv"]  # no temporary file left behind
