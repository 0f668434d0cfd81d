"""Occlusion saliency: which frames or bands of a clip a model's embedding depends on, without labels."""

from __future__ import annotations

import numpy as np

from acom.embed import Embedder
from acom.roi.grids import MaskGrid


def occlusion_saliency(samples: np.ndarray, sample_rate: int, grid: MaskGrid, *, embed: Embedder,
                       floor_gain: float = 0.0) -> np.ndarray:
    """Per-unit saliency: the cosine distance between the clip's embedding and that of the clip
    with only this unit attenuated. Needs no labels and no classifier, so it can steer an ROI
    filter without using the test clip's class."""
    n_units = grid.n_units(len(samples), sample_rate)
    occluded = grid.apply(samples, sample_rate, ~np.eye(n_units, dtype=bool), floor_gain)
    full = embed(samples[None, :])[0].astype(np.float64)
    each = embed(occluded).astype(np.float64)
    norms = np.linalg.norm(each, axis=1) * np.linalg.norm(full)
    cosine = np.divide(each @ full, norms, out=np.ones(n_units), where=norms > 0)
    return 1.0 - cosine
