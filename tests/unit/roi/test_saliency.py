"""Occlusion saliency peaks on the frames a stand-in model depends on."""

from __future__ import annotations

import numpy as np
import pytest

from acom.filters import build_filter
from acom.roi.grids import (
    TimeGrid,
)
from acom.roi.saliency import occlusion_saliency
from tests.unit.roi.helpers import SR, ToneDetector, planted_clip


def test_occlusion_saliency_peaks_on_the_planted_frames():
    detector = ToneDetector()
    clip = planted_clip(np.random.default_rng(6), True)
    saliency = occlusion_saliency(clip, SR, TimeGrid(frame_ms=100), embed=detector.embed_array)
    assert set(np.argsort(-saliency)[:5]) == set(range(20, 25))
    frame_filter = build_filter({"type": "frame_roi", "percentage": 10, "score": "saliency", "frame_ms": 100},
                                embed=detector.embed_array)
    result = frame_filter("c", clip, SR)
    y, axis, kept = result.samples, result.axis, result.kept_share
    assert axis == "time" and kept == pytest.approx(0.1)
    a, b = int(2.0 * SR), int(2.5 * SR)
    np.testing.assert_array_equal(y[a:b], clip[a:b])
