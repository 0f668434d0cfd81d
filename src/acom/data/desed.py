"""DESED-format data (DCASE task 4): audio folders plus strong-label TSVs, checked into a manifest.

A strong-label TSV has the header ``filename  onset  offset  event_label`` (tab-separated; onset and
offset in seconds; ``filename`` is the audio file's name with its extension). As in the DCASE
baseline, a row whose onset, offset and label are all empty lists a file with no events, so every
audio file of a folder appears in its TSV and a missing file is never mistaken for a silent one.

Each fold of the workflow is one (audio folder, TSV) pair: the synthesised soundscapes come one pair
per ESC-50 fold; a user's DESED copy names its pairs in ``datasets.desed.folds``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acom.data.esc50 import MANIFEST_COLUMNS, find_audio_files
from acom.data.soundscapes import synthetic_class_map
from acom.events import STRONG_COLUMNS
from acom.io import mono_audio_info

#: The ten DESED classes (DCASE 2020-2024 task 4), the default class list of a user's DESED copy.
DESED_CLASSES = [
    "Alarm_bell_ringing", "Blender", "Cat", "Dishes", "Dog",
    "Electric_shaver_toothbrush", "Frying", "Running_water", "Speech", "Vacuum_cleaner",
]
#: Manifest rows of soundscapes carry no single class: target -1, category "soundscape".
SOUNDSCAPE_TARGET, SOUNDSCAPE_CATEGORY = -1, "soundscape"
#: How far (s) an offset may pass the end of its file: DESED rounds times to 1 ms, and decoders
#: disagree by a frame on some compressed files.
END_TOLERANCE_S = 0.05


def desed_classes(desed: Mapping[str, Any]) -> list[str]:
    """The event classes of a ``datasets.desed`` entry: its ``classes``, else DESED's ten for a
    copy (``root``), else the sorted labels of the synthesiser's ``class_map``."""
    if desed.get("classes"):
        return list(desed["classes"])
    if desed.get("root") is not None:
        return list(DESED_CLASSES)
    return sorted(set(synthetic_class_map(desed.get("synthetic") or {}).values()))


def read_strong_labels(tsv: str | os.PathLike, *, classes: Sequence[str]) -> pd.DataFrame:
    """Read a strong-label TSV and check every row; return the events (rows for files without
    events dropped) and, in ``attrs["files"]``, every file name the TSV lists.

    Every problem is collected and reported in one ``ValueError`` naming the TSV and the line.
    """
    tsv = Path(tsv)
    if not tsv.is_file():
        raise FileNotFoundError(f"{tsv}: strong-label TSV not found")
    table = pd.read_csv(tsv, sep="\t", dtype={"filename": str, "event_label": str}, keep_default_na=False,
                        na_values={"onset": [""], "offset": [""]})
    missing = [c for c in STRONG_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{tsv}: missing columns {missing}; a strong-label TSV has the tab-separated header "
                         f"{' '.join(STRONG_COLUMNS)} (found {list(table.columns)})")
    problems = []
    known = set(classes)
    empty = table["onset"].isna() & table["offset"].isna() & (table["event_label"] == "")
    for index, row in table.iterrows():
        where = f"line {index + 2} ({row['filename']})"  # line 1 is the header
        if not row["filename"]:
            problems.append(f"line {index + 2}: empty filename")
        if empty[index]:
            continue
        try:
            onset, offset = float(row["onset"]), float(row["offset"])
        except (TypeError, ValueError):
            problems.append(f"{where}: onset {row['onset']!r} / offset {row['offset']!r} are not numbers")
            continue
        if not (np.isfinite(onset) and np.isfinite(offset)):
            problems.append(f"{where}: onset and offset must both be given (found {row['onset']!r}, {row['offset']!r})")
        elif onset < 0:
            problems.append(f"{where}: negative onset {onset}")
        elif onset >= offset:
            problems.append(f"{where}: onset {onset} is not before offset {offset}")
        if row["event_label"] not in known:
            problems.append(f"{where}: unknown event_label {row['event_label']!r}; known classes: {sorted(known)} "
                            "(datasets.desed.classes)")
    if problems:
        raise ValueError(f"{tsv}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    events = table.loc[~empty, STRONG_COLUMNS].copy()
    events[["onset", "offset"]] = events[["onset", "offset"]].astype(float)
    events = events.sort_values(["filename", "onset", "offset", "event_label"], kind="stable").reset_index(drop=True)
    events.attrs["files"] = sorted(set(table["filename"]))
    return events


def build_desed_manifest(folds: Mapping[int, tuple[str | os.PathLike, str | os.PathLike]], *,
                         classes: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Match each fold's TSV to its audio folder and read every file's header.

    ``folds``: fold -> (audio folder, strong-label TSV). Returns (manifest, labels): the manifest
    has the ESC-50 manifest columns (``target`` -1 and ``category`` "soundscape", so the resample,
    filter and codec stages take soundscapes as they take clips); labels has the TSV columns plus
    ``clip_id`` and ``fold``. Problems (a TSV row without audio, audio without a TSV row, an event
    past the end of its file, unreadable or multi-channel audio, a clip id in two folds) are
    collected and reported in one ``ValueError``.
    """
    problems: list[str] = []
    rows, labels = [], []
    seen: dict[str, int] = {}
    for fold in sorted(folds):
        audio_dir, tsv = (Path(p) for p in folds[fold])
        events = read_strong_labels(tsv, classes=classes)
        files = find_audio_files(audio_dir)
        by_name = {path.name: path for path in files.values()}
        listed = set(events.attrs["files"])
        for name in sorted(listed - set(by_name)):
            problems.append(f"{tsv}: {name} has no audio file in {audio_dir}")
        for name in sorted(set(by_name) - listed):
            problems.append(f"{by_name[name]}: audio file without a row in {tsv} (list a file with no events "
                            "as one row with empty onset, offset and event_label)")
        for name in sorted(listed & set(by_name)):
            path = by_name[name]
            clip_id = path.stem
            if clip_id in seen:
                problems.append(f"{path}: clip id {clip_id} is also in fold {seen[clip_id]}")
                continue
            seen[clip_id] = fold
            info, problem = mono_audio_info(path, what="soundscape")
            if problem:
                problems.append(problem)
                continue
            duration = info.frames / info.samplerate
            file_events = events[events["filename"] == name]
            late = file_events[file_events["offset"] > duration + END_TOLERANCE_S]
            for event in late.itertuples(index=False):
                problems.append(f"{tsv}: {name} event {event.event_label} ends at {event.offset} s, past the end "
                                f"of the file ({duration:.3f} s)")
            rows.append({"clip_id": clip_id, "fold": int(fold), "target": SOUNDSCAPE_TARGET,
                         "category": SOUNDSCAPE_CATEGORY, "esc10": False, "source_path": str(path.resolve()),
                         "sample_rate": int(info.samplerate), "frames": int(info.frames)})
            labels.append(file_events.assign(clip_id=clip_id, fold=int(fold)))
    if problems:
        raise ValueError(f"DESED data has {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS).sort_values("clip_id", kind="stable")
    label_columns = [*STRONG_COLUMNS, "clip_id", "fold"]
    strong = pd.concat(labels, ignore_index=True) if labels else pd.DataFrame(columns=label_columns)
    return manifest.reset_index(drop=True), strong[label_columns].reset_index(drop=True)
