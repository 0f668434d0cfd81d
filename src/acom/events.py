"""Strong-label event tables: the neutral data model of sound event detection.

An event table is a DataFrame with the DESED / DCASE task 4 columns ``filename`` (the audio file's
name with its extension), ``onset`` and ``offset`` (float seconds) and ``event_label``. Data loaders
(:mod:`acom.data.desed`), the soundscape synthesis (:mod:`acom.data.soundscapes`), the SED heads and
decoding (:mod:`acom.sed`) and the SED protocol all read and write this one format; none of them
imports another for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from acom.io import atomic_output

STRONG_COLUMNS = ["filename", "onset", "offset", "event_label"]


def check_event_table(table: pd.DataFrame, name: str) -> None:
    """``ValueError`` (naming the table ``name``) unless ``table`` has the event columns and every event
    finite onset and offset, offset >= onset."""
    missing = [column for column in STRONG_COLUMNS if column not in table.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; an event table has {STRONG_COLUMNS}")
    onsets, offsets = table["onset"].to_numpy(dtype=float), table["offset"].to_numpy(dtype=float)
    bad = ~(np.isfinite(onsets) & np.isfinite(offsets) & (offsets >= onsets))
    if bad.any():
        row = table[bad].iloc[0]
        raise ValueError(f"{name}: file {row['filename']!r} has an event {row['event_label']!r} with onset "
                         f"{row['onset']} / offset {row['offset']} (need finite values, offset >= onset; weak "
                         "labels have no onsets)")


def check_classes(classes: Sequence[str]) -> list[str]:
    """``classes`` as a list; ``ValueError`` unless it is a non-empty list of distinct labels."""
    classes = list(classes)
    if not classes or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be a non-empty list of distinct labels (got {classes})")
    return classes


def write_strong_labels(labels: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write the DESED strong-label TSV (``filename\\tonset\\toffset\\tevent_label``, 3 decimals) atomically."""
    missing = [c for c in STRONG_COLUMNS if c not in labels.columns]
    if missing:
        raise ValueError(f"labels lack columns {missing} (expected {STRONG_COLUMNS})")
    with atomic_output(path) as tmp:
        labels[STRONG_COLUMNS].to_csv(tmp, sep="\t", index=False, float_format="%.3f")


def per_class(value: float | Mapping[str, float], classes: Sequence[str], name: str) -> dict[str, float]:
    """One value per class from one value for all, or from a mapping that names exactly ``classes``."""
    if not isinstance(value, Mapping):
        return {label: float(value) for label in classes}
    missing = [label for label in classes if label not in value]
    extra = sorted(set(value) - set(classes))
    if missing:
        raise ValueError(f"{name} has no value for class(es) {missing}; a mapping must name every class")
    if extra:
        raise ValueError(f"{name} names class(es) {extra} that are not among classes {list(classes)}")
    return {label: float(value[label]) for label in classes}
