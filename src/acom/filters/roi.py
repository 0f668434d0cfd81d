"""Region-of-interest filters: keep the top-scoring (energy or saliency) frames or bands of a clip,
or each clip's best mask from the mask search (``oracle_roi``), and attenuate the rest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from acom.embed import Embedder
from acom.filters import ClipFilter
from acom.roi.grids import MaskGrid, attenuation_gain, grid_from_params, search_grids, select_units
from acom.roi.saliency import occlusion_saliency
from acom.roi.search import best_masks

ROI_SCORES = ("energy", "saliency")


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


def build(params: Mapping[str, Any], *, embed: Embedder | None = None, **_) -> ClipFilter:
    """The ``frame_roi`` and ``freq_roi`` registry entries; ``embed`` is the model's embedder for
    saliency scores."""
    grid = grid_from_params("time" if params["type"] == "frame_roi" else "freq", params)
    return roi_filter(grid, percentage=float(params["percentage"]), selection=params.get("selection", "top"),
                      score=params.get("score", "energy"), floor_gain=attenuation_gain(params.get("attenuation_db")),
                      embed=embed)


def build_oracle(params: Mapping[str, Any], *, masks: pd.DataFrame | None = None,
                 search_params: Mapping[str, Any] | None = None, **_) -> ClipFilter:
    """The ``oracle_roi`` registry entry: ``masks`` is the fold's mask table and ``search_params`` the
    ``mask_search`` section whose grids the masks were found on."""
    if masks is None or search_params is None:
        raise ValueError("oracle_roi needs the fold's mask table and the mask_search settings")
    return oracle_filter(masks, search_grids(search_params),
                         floor_gain=attenuation_gain(search_params.get("attenuation_db")))
