"""YOHO-style block outputs ("You Only Hear Once", Venkatesh et al., 2022): instead of one activity
probability per frame, each block (one frame hop of the embeddings) predicts, per class, whether an
event is present in it and where in the block that event starts and ends. Decoding needs no frame
threshold sweep or median filter: present blocks give segments at the regressed boundaries, and
segments of consecutive blocks less than :data:`JOIN_GAP_S` apart are joined.

Layout of a ``(T, 3C)`` block array: columns ``0..C-1`` presence, ``C..2C-1`` onset and
``2C..3C-1`` offset, both as fractions of the block (0 = its start, 1 = its end).

A block holds at most one event per class (two short events of one class inside one block become
one, from the first onset to the last offset): the price of regressing boundaries per block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from acom.events import STRONG_COLUMNS, check_classes, check_event_table, per_class

#: Presence at or above this is an event in the block (the default; ``sed.thresholds`` sets it per class).
PRESENCE_THRESHOLD = 0.5
#: Segments of one class in consecutive blocks are one event when the silence between them (the
#: next segment's onset minus this one's offset) is at most this long, in seconds: the DCASE onset
#: collar, so a gap the metrics would not see does not split an event.
JOIN_GAP_S = 0.2


def block_targets(events: pd.DataFrame, *, n_blocks: int, hop_seconds: float, classes: Sequence[str]) -> np.ndarray:
    """``(n_blocks, 3C)`` targets of ONE file's events: per class and block, 1 and the relative
    onset and offset of the part of the class's events inside the block, or zeros."""
    classes = check_classes(classes)
    check_event_table(events, "events")
    index = {label: c for c, label in enumerate(classes)}
    n = len(classes)
    targets = np.zeros((n_blocks, 3 * n), dtype=np.float32)
    for row in events.itertuples(index=False):
        if row.event_label not in index:
            raise ValueError(f"{row.filename}: event label {row.event_label!r} is not among classes {list(classes)}")
        c = index[row.event_label]
        first = int(np.floor(row.onset / hop_seconds))
        last = int(np.ceil(row.offset / hop_seconds)) - 1
        for b in range(max(first, 0), min(last, n_blocks - 1) + 1):
            start = b * hop_seconds
            onset = (max(row.onset, start) - start) / hop_seconds
            offset = (min(row.offset, start + hop_seconds) - start) / hop_seconds
            if offset <= onset:
                continue
            if targets[b, c]:  # a second event of the class in this block: one span over both
                onset, offset = min(onset, targets[b, n + c]), max(offset, targets[b, 2 * n + c])
            targets[b, [c, n + c, 2 * n + c]] = (1.0, onset, offset)
    return targets


def decode_blocks(outputs: np.ndarray, *, hop_seconds: float, classes: Sequence[str], filename: str,
                  presence_threshold: float | Mapping[str, float] = PRESENCE_THRESHOLD,
                  join_gap_s: float = JOIN_GAP_S) -> pd.DataFrame:
    """The event table of one clip from its ``(T, 3C)`` block outputs (presence probability and
    relative boundaries): each present block's segment; segments of consecutive blocks joined when
    at most ``join_gap_s`` apart. ``presence_threshold``: one value, or one per class."""
    classes = check_classes(classes)
    outputs = np.asarray(outputs, dtype=np.float64)
    n = len(classes)
    if outputs.ndim != 2 or outputs.shape[1] != 3 * n:
        raise ValueError(f"block outputs must be (T, {3 * n}) for classes {list(classes)}; got {outputs.shape}")
    thresholds = per_class(presence_threshold, classes, "presence_threshold")
    rows = []
    for c, label in enumerate(classes):
        current = None
        for b in np.flatnonzero(outputs[:, c] >= thresholds[label]):
            onset_rel, offset_rel = np.clip(outputs[b, [n + c, 2 * n + c]], 0.0, 1.0)
            if offset_rel <= onset_rel:  # a present block with no span: the whole block
                onset_rel, offset_rel = 0.0, 1.0
            onset, offset = (b + onset_rel) * hop_seconds, (b + offset_rel) * hop_seconds
            if current is not None and current[2] == b - 1 and onset - current[1] <= join_gap_s:
                current = [current[0], offset, b]
            else:
                if current is not None:
                    rows.append((filename, current[0], current[1], label))
                current = [onset, offset, b]
        if current is not None:
            rows.append((filename, current[0], current[1], label))
    table = pd.DataFrame(rows, columns=STRONG_COLUMNS)
    table = table.astype({"filename": object, "onset": float, "offset": float, "event_label": object})
    return table.sort_values(["onset", "event_label"], kind="mergesort").reset_index(drop=True)
