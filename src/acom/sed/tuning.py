"""Decoding tuned on held-out training material: per class, the threshold (and for frame outputs the
median-filter window) that gives the best event-based F1 on a validation fold's clips.

DCASE systems tune thresholds and median filters per class; tuning them on the test fold would
flatter the event F1, so the protocol (``sed.tune_decoding``) holds one training fold out, trains a
head on the others, tunes on its outputs for the held-out fold, and then decodes the test fold's
outputs of the head trained on every training fold with those settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from acom.sed.metrics import event_f1_by_class

#: The grid searched per class: frame or presence thresholds, and median-filter windows in frames
#: (odd; 1 = none) for frame outputs (a YOHO head is decoded without one).
TUNE_THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
TUNE_MEDIAN_FRAMES = (1, 3, 5, 7)


def tune_decoding(outputs: Sequence[np.ndarray], filenames: Sequence[str], reference: pd.DataFrame, *,
                  decode: Callable[..., pd.DataFrame], hop_seconds: float, classes: Sequence[str],
                  median_filter: bool, scoring: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """(thresholds, median_filter_s), one value per class, maximising each class's event F1 over
    ``filenames`` (``outputs[i]`` the head outputs of ``filenames[i]``; ``reference`` their strong
    labels). ``decode(outputs, thresholds=, median_filter_s=, filename=)`` is the head's decoding.
    Ties go to the first grid point: the lower threshold, then the shorter window."""
    windows = TUNE_MEDIAN_FRAMES if median_filter else (1,)
    reference = reference[reference["filename"].isin(filenames) & reference["event_label"].isin(classes)]
    best = {label: (-1.0, TUNE_THRESHOLDS[0], 0.0) for label in classes}
    for frames in windows:
        window_s = frames * hop_seconds if frames > 1 else 0.0
        for threshold in TUNE_THRESHOLDS:
            estimated = pd.concat([decode(o, thresholds=threshold, median_filter_s=window_s, filename=name)
                                   for o, name in zip(outputs, filenames, strict=True)], ignore_index=True)
            f1 = event_f1_by_class(reference, estimated, filenames=filenames, classes=classes, **scoring)
            for label in classes:
                if f1[label] > best[label][0]:
                    best[label] = (f1[label], threshold, window_s)
    return ({label: best[label][1] for label in classes}, {label: best[label][2] for label in classes})


def format_decoding(thresholds: Mapping[str, float], median_filter_s: Mapping[str, float]) -> str:
    """``label:threshold/window_s`` per class, ``;``-joined: how a fold was decoded, for its table row."""
    return ";".join(f"{label}:{thresholds[label]:g}/{median_filter_s[label]:.3g}" for label in thresholds)
