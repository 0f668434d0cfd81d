"""Region-of-interest filters: keep the top-scoring (energy, saliency or predicted) frames or bands
of a clip, or each clip's best mask from the mask search (``oracle_roi``), and render the rest:
attenuated, comfort noise, low-passed, or left whole for a codec that spends fewer bits there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from acom.embed import Embedder
from acom.filters import ClipFilter, FilteredClip
from acom.roi.grids import MaskGrid, TimeGrid, attenuation_gain, grid_from_params, search_grids, select_units
from acom.roi.render import clip_seed, comfort_noise, lowpass_rendering
from acom.roi.saliency import occlusion_saliency
from acom.roi.search import best_masks

ROI_SCORES = ("energy", "saliency", "predicted")
RENDERINGS = ("attenuate", "comfort_noise", "lowpass", "bits")


def unit_scores(grid: MaskGrid, samples: np.ndarray, sample_rate: int, *, score: str, floor_gain: float = 0.0,
                embed: Embedder | None = None, predictor=None) -> np.ndarray:
    """One score per unit of ``grid`` (higher: keep first) by ``energy``, occlusion ``saliency``
    (needs ``embed``) or the mask predictor's scores (``predicted``, needs ``predictor``)."""
    if score == "energy":
        return grid.energy(samples, sample_rate)
    if score == "saliency":
        if embed is None:
            raise ValueError("score: saliency needs a model")
        return occlusion_saliency(samples, sample_rate, grid, embed=embed, floor_gain=floor_gain)
    if score == "predicted":
        if predictor is None:
            raise ValueError("score: predicted needs the fold's mask predictor")
        return predictor.unit_scores(grid, samples, sample_rate)
    raise ValueError(f"unknown ROI score {score!r}; known: {list(ROI_SCORES)}")


def roi_filter(grid: MaskGrid, *, percentage: float, selection: str, score: str, floor_gain: float,
               embed: Embedder | None = None, predictor=None, rendering: str = "attenuate",
               lowpass_hz: float = 1000.0, floor_kbps: float = 6.0, seed: int = 0) -> ClipFilter:
    """Keep ``percentage`` % of the clip's units on ``grid``, chosen by ``score`` (see
    :func:`unit_scores`), and render the rest (``rendering``, time grids only beyond ``attenuate``):

    - ``attenuate``: scaled by ``floor_gain`` (0: zeroed);
    - ``comfort_noise``: seeded noise shaped like the clip's long-term spectrum at the dropped part's
      level times ``floor_gain`` (a floor gain of 0 here means the level itself);
    - ``lowpass``: the dropped part low-passed at ``lowpass_hz``;
    - ``bits``: the clip unchanged, with the kept frames as the region a bit-allocating codec codes
      at the condition's bitrate and the rest at ``floor_kbps``.
    """
    if score not in ROI_SCORES:
        raise ValueError(f"unknown ROI score {score!r}; known: {list(ROI_SCORES)}")
    if rendering not in RENDERINGS:
        raise ValueError(f"unknown rendering {rendering!r}; known: {list(RENDERINGS)}")
    if rendering != "attenuate" and not isinstance(grid, TimeGrid):
        raise ValueError(f"rendering: {rendering} works on time frames (frame_roi), not on {grid.axis} units")
    noise_gain = floor_gain or 1.0

    def apply(clip_id: str, samples: np.ndarray, sample_rate: int) -> FilteredClip:
        scores = unit_scores(grid, samples, sample_rate, score=score, floor_gain=floor_gain, embed=embed,
                             predictor=predictor)
        keep = select_units(scores, percentage, selection)
        kept = float(keep.mean())
        if rendering == "attenuate":
            return FilteredClip(grid.apply(samples, sample_rate, keep, floor_gain), grid.axis, kept)
        if rendering == "bits":
            return FilteredClip(np.asarray(samples, dtype=np.float32), grid.axis, kept,
                                bit_roi=grid.kept_seconds(keep, len(samples), sample_rate), floor_kbps=floor_kbps)
        gain = grid.gain(len(samples), sample_rate, keep, 0.0)
        if rendering == "comfort_noise":
            rendered = comfort_noise(samples, gain, seed=clip_seed(seed, clip_id), level_gain=noise_gain)
        else:
            rendered = lowpass_rendering(samples, gain, sample_rate, cutoff_hz=lowpass_hz)
        return FilteredClip(rendered, grid.axis, kept)

    return apply


def oracle_filter(masks: pd.DataFrame, grids: Mapping[str, MaskGrid], *, floor_gain: float) -> ClipFilter:
    """Apply each clip's ``best`` mask from a mask table; clips with none (no mask keeps them
    correct) pass through unchanged, with axis ``none`` and kept share 1."""
    best = best_masks(masks)

    def apply(clip_id: str, samples: np.ndarray, sample_rate: int) -> FilteredClip:
        if clip_id not in best.index:
            return FilteredClip(np.asarray(samples, dtype=np.float32), "none", 1.0)
        mask = best.loc[clip_id]
        filtered = grids[mask["axis"]].apply_region(samples, sample_rate, float(mask["region_start"]),
                                                     float(mask["region_end"]), floor_gain)
        return FilteredClip(filtered, mask["axis"], float(mask["units_kept"] / mask["n_units"]))

    return apply


def build(params: Mapping[str, Any], *, embed: Embedder | None = None, predictor=None, **_) -> ClipFilter:
    """The ``frame_roi`` and ``freq_roi`` registry entries; ``embed`` is the model's embedder for
    saliency scores, ``predictor`` the fold's mask predictor for predicted ones."""
    grid = grid_from_params("time" if params["type"] == "frame_roi" else "freq", params)
    return roi_filter(grid, percentage=float(params["percentage"]), selection=params.get("selection", "top"),
                      score=params.get("score", "energy"), floor_gain=attenuation_gain(params.get("attenuation_db")),
                      embed=embed, predictor=predictor, rendering=params.get("rendering", "attenuate"),
                      lowpass_hz=float(params.get("lowpass_hz", 1000.0)),
                      floor_kbps=float(params.get("floor_kbps", 6.0)), seed=int(params.get("seed", 0)))


def build_oracle(params: Mapping[str, Any], *, masks: pd.DataFrame | None = None,
                 search_params: Mapping[str, Any] | None = None, **_) -> ClipFilter:
    """The ``oracle_roi`` registry entry: ``masks`` is the fold's mask table and ``search_params`` the
    ``mask_search`` section whose grids the masks were found on."""
    if masks is None or search_params is None:
        raise ValueError("oracle_roi needs the fold's mask table and the mask_search settings")
    return oracle_filter(masks, search_grids(search_params),
                         floor_gain=attenuation_gain(search_params.get("attenuation_db")))
