"""Resampling of clips to the rates the models and codecs need (torchaudio's windowed-sinc resampler)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acom.io import read_audio, write_flac

RESAMPLED_COLUMNS = ["clip_id", "fold", "target", "category", "path", "sample_rate", "frames"]


class ClipResampler:
    """Resample mono clips from any source rate to ``target_rate``.

    One torchaudio ``Resample`` kernel is built per source rate and reused for every clip (its
    defaults, sinc_interp_hann with width 6 and rolloff 0.99, match
    ``torchaudio.functional.resample``). Clips already at the target rate pass through untouched.
    """

    def __init__(self, target_rate: int):
        self.target_rate = int(target_rate)
        self._kernels: dict[int, Any] = {}

    def __call__(self, samples: np.ndarray, source_rate: int) -> np.ndarray:
        if source_rate == self.target_rate:
            return np.asarray(samples, dtype=np.float32)
        # Imported here, not at module level: the classification jobs import this module (through
        # acom.embed) but never resample, and torch costs them 1.5 s of start-up each.
        import torch
        import torchaudio

        if source_rate not in self._kernels:
            self._kernels[source_rate] = torchaudio.transforms.Resample(source_rate, self.target_rate)
        with torch.inference_mode():
            out = self._kernels[source_rate](torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)))
        return out.numpy()


def resample_fold(manifest: pd.DataFrame, fold: int, target_rate: int, out_dir: str | os.PathLike) -> pd.DataFrame:
    """Resample every clip of ``fold`` in the ingest manifest to ``target_rate`` as FLAC in ``out_dir``.

    Returns the fold's manifest of resampled clips (columns ``RESAMPLED_COLUMNS``), sorted by clip id.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    resampler = ClipResampler(target_rate)
    rows = []
    for rec in manifest[manifest["fold"] == fold].sort_values("clip_id").itertuples(index=False):
        samples, source_rate = read_audio(rec.source_path)
        resampled = resampler(samples, source_rate)
        path = out_dir / f"{rec.clip_id}.flac"
        write_flac(path, resampled, target_rate)
        rows.append(
            {
                "clip_id": rec.clip_id,
                "fold": int(rec.fold),
                "target": int(rec.target),
                "category": rec.category,
                "path": str(path),
                "sample_rate": int(target_rate),
                "frames": int(resampled.shape[0]),
            }
        )
    return pd.DataFrame(rows, columns=RESAMPLED_COLUMNS)
