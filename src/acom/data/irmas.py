"""IRMAS (Bosch et al., ISMIR 2012; Zenodo record 1290750): predominant-instrument recognition.

The official layout, as its archives unpack:

- training data: ``<train>/<instrument>/<name>.wav``, 3 s stereo 44.1 kHz excerpts, one folder per
  instrument of :data:`IRMAS_INSTRUMENTS`, the instrument (then genre and drum tags) also in
  brackets in the name, e.g. ``cla/[cla][cla]0189__2.wav``;
- test data: 5-20 s stereo excerpts anywhere under each test folder, each ``<name>.wav`` with a
  ``<name>.txt`` beside it listing every predominant instrument present, one code per line.

Ingest checks every file and label (all problems reported at once), downmixes each excerpt to mono
(the mean of its channels, as librosa's ``mono=True`` and the published baselines load IRMAS) as
16-bit FLAC at its own rate, and writes a manifest of the multi-label task columns: the training
set is fold 1, the test set fold 2 (:data:`acom.tasks.SPLIT_TRAIN_FOLD`, ``SPLIT_TEST_FOLD``).
Test excerpts keep their length: every later stage takes variable-length items.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from acom.data.esc50 import MANIFEST_COLUMNS, audio_extensions
from acom.io import write_flac
from acom.tasks import SPLIT_TEST_FOLD, SPLIT_TRAIN_FOLD

#: IRMAS's eleven instrument codes: cello, clarinet, flute, acoustic and electric guitar, organ,
#: piano, saxophone, trumpet, violin, voice.
IRMAS_INSTRUMENTS = ["cel", "cla", "flu", "gac", "gel", "org", "pia", "sax", "tru", "vio", "voi"]
#: Official archives of Zenodo record 1290750 and their md5 checksums (Zenodo publishes md5).
IRMAS_ARCHIVES = {
    "IRMAS-TrainingData.zip": "4fd9f5ed5a18d8e2687e6360b5f60afe",
    "IRMAS-TestingData-Part1.zip": "5a2e65520dcedada565dff2050bb2a56",
    "IRMAS-TestingData-Part2.zip": "afb0c8ea92f34ee653693106be95c895",
    "IRMAS-TestingData-Part3.zip": "9b3fb2d0c89cdc98037121c25bd5b556",
}
IRMAS_URL = "https://zenodo.org/records/1290750/files/{name}?download=1"
#: The multi-label task manifest's columns (as esc10_mix's): no source levels, nothing augmented.
IRMAS_COLUMNS = [*MANIFEST_COLUMNS, "labels", "n_sources", "levels_db", "augmented", "original"]


def read_test_labels(txt: str | os.PathLike) -> list[str]:
    """The instruments a test excerpt's ``.txt`` lists (one code per line; blank lines and
    surrounding whitespace ignored; a repeated code counted once, in first order)."""
    lines = [line.strip() for line in Path(txt).read_text(errors="replace").splitlines()]
    codes = [line for line in lines if line]
    if not codes:
        raise ValueError(f"{txt}: empty label file; list each instrument present, one of {IRMAS_INSTRUMENTS} per line")
    unknown = [f"line {i + 1}: {line!r}" for i, line in enumerate(lines) if line and line not in IRMAS_INSTRUMENTS]
    if unknown:
        raise ValueError(f"{txt}: unknown instrument {', '.join(unknown)}; IRMAS's instruments are {IRMAS_INSTRUMENTS}")
    return list(dict.fromkeys(codes))


def _audio_files(folder: Path) -> list[Path]:
    extensions = audio_extensions()
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower().lstrip(".") in extensions)


def instrument_root(train_dir: Path) -> Path:
    """The folder holding the instrument folders: ``train_dir`` itself, or its one subfolder that
    does (the training archive unpacks to ``IRMAS-TrainingData/IRMAS-TrainingData/<instrument>``)."""
    if not train_dir.is_dir() or any((train_dir / code).is_dir() for code in IRMAS_INSTRUMENTS):
        return train_dir
    nested = [d for d in train_dir.iterdir() if d.is_dir() and any((d / c).is_dir() for c in IRMAS_INSTRUMENTS)]
    return nested[0] if len(nested) == 1 else train_dir


def find_irmas_items(train_dir: str | os.PathLike, test_dirs: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Every training and test excerpt with its labels: (path, fold, labels, original), checked.

    Problems (a training file outside the eleven instrument folders, a test excerpt without its
    ``.txt``, an empty label file or an unknown instrument, a missing folder) are collected and
    raised in one ``ValueError`` naming each file.
    """
    problems, rows = [], []
    train_dir = instrument_root(Path(train_dir))
    if not train_dir.is_dir():
        problems.append(f"{train_dir}: the IRMAS training folder does not exist (datasets.irmas.train)")
    else:
        for path in _audio_files(train_dir):
            folder = path.relative_to(train_dir).parts[0] if len(path.relative_to(train_dir).parts) > 1 else ""
            if folder not in IRMAS_INSTRUMENTS:
                problems.append(f"{path}: a training file outside the eleven instrument folders {IRMAS_INSTRUMENTS} "
                                f"of {train_dir}; move it into its instrument's folder or remove it")
                continue
            rows.append({"path": path, "fold": SPLIT_TRAIN_FOLD, "labels": [folder],
                         "original": str(path.relative_to(train_dir))})
    for test_dir in map(Path, test_dirs):
        if not test_dir.is_dir():
            problems.append(f"{test_dir}: the IRMAS test folder does not exist (datasets.irmas.test)")
            continue
        for path in _audio_files(test_dir):
            txt = path.with_suffix(".txt")
            if not txt.is_file():
                problems.append(f"{path}: test excerpt without its label file {txt.name}")
                continue
            try:
                labels = read_test_labels(txt)
            except ValueError as err:
                problems.append(str(err))
                continue
            rows.append({"path": path, "fold": SPLIT_TEST_FOLD, "labels": labels,
                         "original": str(path.relative_to(test_dir.parent))})
    if problems:
        raise ValueError(f"IRMAS data has {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return pd.DataFrame(rows, columns=["path", "fold", "labels", "original"])


def _clip_id(fold: int, original: str) -> str:
    """A file-name-safe id that keeps the excerpt recognisable: the relative path with every run of
    characters other than letters, digits, ``.``, ``_`` and ``-`` replaced by ``_``."""
    return f"{'train' if fold == SPLIT_TRAIN_FOLD else 'test'}-" + re.sub(r"[^A-Za-z0-9._-]+", "_",
                                                                      os.path.splitext(original)[0])


def select_items(items: pd.DataFrame, *, max_train_per_class: int | None, max_test: int | None) -> pd.DataFrame:
    """A subset for quick runs: the first ``max_train_per_class`` training excerpts of each
    instrument and the first ``max_test`` test excerpts (in path order); None keeps all."""
    train = items[items["fold"] == SPLIT_TRAIN_FOLD]
    test = items[items["fold"] == SPLIT_TEST_FOLD]
    if max_train_per_class is not None:
        train = train.groupby(train["labels"].str[0], group_keys=False, sort=False).head(max_train_per_class)
    if max_test is not None:
        test = test.head(max_test)
    return pd.concat([train, test], ignore_index=True)


def build_irmas_manifest(items: pd.DataFrame, out_dir: str | os.PathLike) -> pd.DataFrame:
    """Downmix every excerpt of ``items`` (:func:`find_irmas_items`) to mono 16-bit FLAC in
    ``out_dir/fold<k>/`` and return the task manifest (``IRMAS_COLUMNS``), sorted by clip id.
    Unreadable or empty audio is reported, every file at once."""
    out_dir = Path(out_dir)
    problems, rows, seen = [], [], {}
    for item in items.itertuples(index=False):
        clip_id = _clip_id(item.fold, item.original)
        if clip_id in seen:
            problems.append(f"{item.path}: its id {clip_id} is also that of {seen[clip_id]}; rename one of them")
            continue
        seen[clip_id] = item.path
        try:
            samples, rate = sf.read(str(item.path), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as err:
            problems.append(f"{item.path}: not a readable audio file ({err}); copy it again from the IRMAS archive")
            continue
        if len(samples) == 0 or not np.isfinite(samples).all():
            problems.append(f"{item.path}: {'no samples' if len(samples) == 0 else 'NaN/Inf samples'}; copy it again "
                            "from the IRMAS archive")
            continue
        path = out_dir / f"fold{item.fold}" / f"{clip_id}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_flac(path, samples.mean(axis=1), int(rate))
        rows.append({"clip_id": clip_id, "fold": int(item.fold), "target": -1, "category": "+".join(item.labels),
                     "esc10": False, "source_path": str(path.resolve()), "sample_rate": int(rate),
                     "frames": len(samples), "labels": list(item.labels), "n_sources": len(item.labels),
                     "levels_db": [], "augmented": False, "original": item.original})
    if problems:
        raise ValueError(f"IRMAS audio has {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    manifest = pd.DataFrame(rows, columns=IRMAS_COLUMNS).sort_values("clip_id", kind="stable")
    return manifest.reset_index(drop=True)


def extract_irmas_archive(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Unpack one official archive into ``dest`` (under a temporary name renamed at the end, so an
    interrupted extraction is never taken for a complete one)."""
    from acom.download import unpack_zip

    os.replace(unpack_zip(archive, dest), dest)
    return Path(dest)
