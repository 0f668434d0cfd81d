"""From frame probabilities to events: per-class thresholds, a median filter, runs of active frames.

A decoded run of frames ``start..stop-1`` of hop ``hop_seconds`` becomes the event
``[start * hop, stop * hop)`` in an event table (:mod:`acom.events`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.ndimage

from acom.events import STRONG_COLUMNS, check_classes, per_class


def median_window_frames(median_filter_s: float, hop_seconds: float) -> int:
    """The odd number of frames nearest ``median_filter_s / hop_seconds`` (ties go up), at least 1.

    A median filter needs an odd window to be centred; 0 s means no filtering (window 1).
    """
    if median_filter_s < 0 or hop_seconds <= 0:
        raise ValueError(f"median_filter_s must be >= 0 and hop_seconds > 0 (got {median_filter_s}, {hop_seconds})")
    n = median_filter_s / hop_seconds
    return max(1, 2 * math.floor((n - 1) / 2 + 0.5) + 1)


def decode_events(probabilities: np.ndarray, *, hop_seconds: float, classes: Sequence[str],
                  thresholds: float | Mapping[str, float], median_filter_s: float | Mapping[str, float],
                  filename: str) -> pd.DataFrame:
    """Event table of one clip from its frame probabilities ``(T, C)``.

    Per class, as in the DESED baseline: frames with probability strictly above the class threshold
    are active; a median filter (``scipy.ndimage.median_filter``, its default ``reflect`` edges, so an
    event running into a clip edge is not eroded) over the binary sequence fills gaps and removes
    blips shorter than half the window; each contiguous run of frames ``start..stop-1`` becomes the
    event ``[start * hop, stop * hop)``. ``thresholds`` and ``median_filter_s`` are one value for
    all classes or a mapping naming exactly the classes (class-wise tuning is common in DCASE).
    Rows are sorted by onset, then label; no detection gives an empty table with the four columns.
    """
    classes = check_classes(classes)
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(classes):
        raise ValueError(f"probabilities must be (T, {len(classes)}) for classes {list(classes)}; "
                         f"got {probabilities.shape}")
    class_thresholds = per_class(thresholds, classes, "thresholds")
    class_windows = per_class(median_filter_s, classes, "median_filter_s")
    rows = []
    for c, label in enumerate(classes):
        active = (probabilities[:, c] > class_thresholds[label]).astype(np.uint8)
        window = median_window_frames(class_windows[label], hop_seconds)
        if window > 1:
            active = scipy.ndimage.median_filter(active, size=window)
        edges = np.diff(np.concatenate([[0], active, [0]]).astype(np.int8))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        rows.extend((filename, start * hop_seconds, stop * hop_seconds, label)
                    for start, stop in zip(starts, stops, strict=True))
    table = pd.DataFrame(rows, columns=STRONG_COLUMNS)
    table = table.astype({"filename": object, "onset": float, "offset": float, "event_label": object})
    return table.sort_values(["onset", "event_label"], kind="mergesort").reset_index(drop=True)
