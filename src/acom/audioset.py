"""AudioSet's class list: the official label file and its reading, for every model with a
527-class AudioSet head (EfficientAT, BEATs; AST carries its labels in its checkpoint)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

#: The official ``class_labels_indices.csv`` (index, mid, display_name; 527 classes in output order).
LABELS_URL = "http://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv/class_labels_indices.csv"
LABELS_SHA256 = "cdd1049833c4b86127c2773ac0d14a2754b6a6d0d1798002ed5c66e699708429"
LABELS_FILENAME = "class_labels_indices.csv"


def read_label_rows(path: str | os.PathLike) -> list[tuple[str, str]]:
    """(mid, display_name) of every class of an AudioSet ``class_labels_indices.csv``, in index order;
    ``ValueError`` naming the file when its columns or indices are not AudioSet's."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    try:
        indexed = sorted((int(row["index"]), row["mid"], row["display_name"]) for row in rows)
    except (KeyError, ValueError, TypeError) as err:
        raise ValueError(f"{path}: expected columns index,mid,display_name ({err})") from err
    if [i for i, _, _ in indexed] != list(range(len(indexed))):
        raise ValueError(f"{path}: indices are not 0..{len(indexed) - 1}")
    return [(mid, name) for _, mid, name in indexed]


def read_labels(path: str | os.PathLike) -> list[str]:
    """The display names of an AudioSet label file, in output order."""
    return [name for _, name in read_label_rows(path)]


def labels_file(path: str | os.PathLike | None, *, cache_dir: str | os.PathLike) -> Path:
    """``path``, or when None the official label file downloaded (sha256-checked) into ``cache_dir``."""
    from acom.download import download

    if path is not None:
        return Path(path)
    return download(LABELS_URL, Path(cache_dir) / LABELS_FILENAME, LABELS_SHA256)
