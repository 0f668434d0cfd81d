"""The filter stage: what is done to a clip before it is coded.

Filter types (one ``filters.<name>`` config entry each; the entry's name is the ``filter`` column of
every table):

- ``lowpass`` / ``highpass`` / ``bandpass``: Butterworth filters applied forward and backward
  (zero phase, so onsets do not move; the magnitude response is squared, i.e. twice the order's
  attenuation).
- ``frame_roi``: keep ``percentage`` % of the time frames (the top-scoring ones or the best
  contiguous window) and attenuate the rest, with short ramps.
- ``freq_roi``: keep ``percentage`` % of the frequency bands by an STFT mask, resynthesised.
- ``oracle_roi``: apply each clip's best mask from the best-mask search (:mod:`acom.masks`).

Frame and band scores are ``energy`` or the model's occlusion ``saliency``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import butter, sosfiltfilt

from acom.io import read_audio, write_flac
from acom.masks import Embedder, best_masks, occlusion_saliency
from acom.roi import MaskGrid, attenuation_gain, grid_from_params, search_grids, select_units

log = logging.getLogger(__name__)

FILTER_TYPES = ("lowpass", "highpass", "bandpass", "frame_roi", "freq_roi", "oracle_roi")
NAIVE_TYPES = ("lowpass", "highpass", "bandpass")
ROI_SCORES = ("energy", "saliency")
FILTERED_COLUMNS = ["clip_id", "fold", "target", "category", "path", "sample_rate", "frames", "filter",
                    "roi_axis", "kept_share"]

#: A filter for one clip: (clip id, samples, sample rate) -> (filtered samples, roi axis, kept share).
ClipFilter = Callable[[str, np.ndarray, int], tuple[np.ndarray, str, float]]


def butterworth(samples: np.ndarray, sample_rate: int, *, kind: str, order: int, cutoff_hz: float | None = None,
                low_hz: float | None = None, high_hz: float | None = None) -> np.ndarray:
    """Zero-phase Butterworth ``lowpass``/``highpass`` at ``cutoff_hz`` or ``bandpass`` between
    ``low_hz`` and ``high_hz`` (scipy's second-order sections, run forward and backward)."""
    nyquist = sample_rate / 2
    if kind == "bandpass":
        edges: Any = [low_hz, high_hz]
        if not 0 < low_hz < high_hz < nyquist:
            raise ValueError(f"bandpass {low_hz}-{high_hz} Hz: need 0 < low < high < {nyquist:g} Hz (Nyquist)")
    elif kind in ("lowpass", "highpass"):
        edges = cutoff_hz
        if not 0 < cutoff_hz < nyquist:
            raise ValueError(f"{kind} cutoff {cutoff_hz} Hz: need 0 < cutoff < {nyquist:g} Hz (Nyquist)")
    else:
        raise ValueError(f"unknown filter kind {kind!r}; known: {list(NAIVE_TYPES)}")
    sos = butter(order, edges, btype=kind, fs=sample_rate, output="sos")
    return sosfiltfilt(sos, np.asarray(samples, dtype=np.float64)).astype(np.float32)


def roi_filter(grid: MaskGrid, *, percentage: float, selection: str, score: str, floor_gain: float,
               embed: Embedder | None = None) -> ClipFilter:
    """Keep ``percentage`` % of the clip's units on ``grid``, chosen by ``score`` (``energy``, or
    ``saliency``, which needs ``embed``), attenuate the rest to ``floor_gain``."""
    if score == "saliency" and embed is None:
        raise ValueError("score: saliency needs a model")
    if score not in ROI_SCORES:
        raise ValueError(f"unknown ROI score {score!r}; known: {list(ROI_SCORES)}")

    def apply(clip_id: str, samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, str, float]:
        if score == "energy":
            scores = grid.energy(samples, sample_rate)
        else:
            scores = occlusion_saliency(samples, sample_rate, grid, embed=embed, floor_gain=floor_gain)
        keep = select_units(scores, percentage, selection)
        return grid.apply(samples, sample_rate, keep, floor_gain), grid.axis, float(keep.mean())

    return apply


def oracle_filter(masks: pd.DataFrame, grids: Mapping[str, MaskGrid], *, floor_gain: float) -> ClipFilter:
    """Apply each clip's ``best`` mask from a mask table; clips with none (no mask keeps them
    correct) pass through unchanged, with axis ``none`` and kept share 1."""
    best = best_masks(masks)

    def apply(clip_id: str, samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, str, float]:
        if clip_id not in best.index:
            return np.asarray(samples, dtype=np.float32), "none", 1.0
        mask = best.loc[clip_id]
        filtered = grids[mask["axis"]].apply_region(samples, sample_rate, float(mask["region_start"]),
                                                     float(mask["region_end"]), floor_gain)
        return filtered, mask["axis"], float(mask["units_kept"] / mask["n_units"])

    return apply


def build_filter(params: Mapping[str, Any], *, embed: Embedder | None = None, masks: pd.DataFrame | None = None,
                 search_params: Mapping[str, Any] | None = None) -> ClipFilter:
    """The clip filter configured by ``params`` (a ``filters.<name>`` entry).

    ``embed`` is the model's embedder for saliency scores; ``masks`` the fold's mask table and
    ``search_params`` the ``mask_search`` entry whose grids the masks were found on (oracle).
    """
    kind = params["type"]
    if kind in NAIVE_TYPES:
        keys = {"cutoff_hz", "low_hz", "high_hz"} & set(params)

        def apply(clip_id: str, samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, str, float]:
            filtered = butterworth(samples, sample_rate, kind=kind, order=int(params.get("order", 8)),
                                   **{k: float(params[k]) for k in keys})
            return filtered, "none", float("nan")

        return apply
    if kind in ("frame_roi", "freq_roi"):
        grid = grid_from_params("time" if kind == "frame_roi" else "freq", params)
        return roi_filter(grid, percentage=float(params["percentage"]), selection=params.get("selection", "top"),
                          score=params.get("score", "energy"),
                          floor_gain=attenuation_gain(params.get("attenuation_db")), embed=embed)
    if kind == "oracle_roi":
        if masks is None or search_params is None:
            raise ValueError("oracle_roi needs the fold's mask table and the mask_search settings")
        return oracle_filter(masks, search_grids(search_params), floor_gain=attenuation_gain(search_params.get("attenuation_db")))
    raise ValueError(f"unknown filter type {kind!r}; known: {list(FILTER_TYPES)}")


def filter_fold(clips: pd.DataFrame, apply: ClipFilter, *, name: str, out_dir: str | os.PathLike) -> pd.DataFrame:
    """Filter every clip of a fold manifest (clip_id, fold, target, category, path) into
    ``out_dir/<clip>.flac``; returns the filtered fold's manifest (``FILTERED_COLUMNS``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for rec in clips.sort_values("clip_id").itertuples(index=False):
        samples, sample_rate = read_audio(rec.path)
        try:
            filtered, axis, kept = apply(rec.clip_id, samples, sample_rate)
        except ValueError as err:
            raise ValueError(f"filters.{name} on {rec.path} ({sample_rate} Hz): {err}") from err
        peak = float(np.max(np.abs(filtered))) if len(filtered) else 0.0
        if peak > 1.0:  # filter overshoot would be clipped by the 16-bit FLAC; say so
            log.warning("%s: %s output peaks at %.3f; clipped to 1.0 in FLAC", rec.path, name, peak)
        path = out_dir / f"{rec.clip_id}.flac"
        write_flac(path, filtered, sample_rate)
        rows.append({"clip_id": rec.clip_id, "fold": int(rec.fold), "target": int(rec.target),
                     "category": rec.category, "path": str(path), "sample_rate": int(sample_rate),
                     "frames": len(filtered), "filter": name, "roi_axis": axis, "kept_share": kept})
    return pd.DataFrame(rows, columns=FILTERED_COLUMNS)
