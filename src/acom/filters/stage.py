"""The filter stage for one fold: every clip filtered and written as playable FLAC, with a manifest."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from acom.filters import ClipFilter
from acom.io import read_audio, write_flac

log = logging.getLogger(__name__)

FILTERED_COLUMNS = ["clip_id", "fold", "target", "category", "path", "sample_rate", "frames", "filter",
                    "roi_axis", "kept_share", "bit_roi", "floor_kbps"]


def filter_fold(clips: pd.DataFrame, apply: ClipFilter, *, name: str, out_dir: str | os.PathLike) -> pd.DataFrame:
    """Filter every clip of a fold manifest (clip_id, fold, target, category, path) into
    ``out_dir/<clip>.flac``; returns the filtered fold's manifest (``FILTERED_COLUMNS``; ``bit_roi``
    is the region a bit-allocating codec favours as JSON [[start_s, end_s], ...], or null)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for rec in clips.sort_values("clip_id").itertuples(index=False):
        samples, sample_rate = read_audio(rec.path)
        try:
            result = apply(rec.clip_id, samples, sample_rate)
        except ValueError as err:
            raise ValueError(f"filters.{name} on {rec.path} ({sample_rate} Hz): {err}") from err
        filtered = result.samples
        peak = float(np.max(np.abs(filtered))) if len(filtered) else 0.0
        if peak > 1.0:  # filter overshoot would be clipped by the 16-bit FLAC; say so
            log.warning("%s: %s output peaks at %.3f; clipped to 1.0 in FLAC", rec.path, name, peak)
        path = out_dir / f"{rec.clip_id}.flac"
        write_flac(path, filtered, sample_rate)
        rows.append({"clip_id": rec.clip_id, "fold": int(rec.fold), "target": int(rec.target),
                     "category": rec.category, "path": str(path), "sample_rate": int(sample_rate),
                     "frames": len(filtered), "filter": name, "roi_axis": result.axis,
                     "kept_share": result.kept_share,
                     "bit_roi": None if result.bit_roi is None else json.dumps([list(r) for r in result.bit_roi]),
                     "floor_kbps": float("nan") if result.floor_kbps is None else float(result.floor_kbps)})
    return pd.DataFrame(rows, columns=FILTERED_COLUMNS)
