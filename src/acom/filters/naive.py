"""Naive filters: zero-phase Butterworth low-pass, high-pass and band-pass."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.signal import butter, sosfiltfilt

from acom.filters import ClipFilter, FilteredClip

NAIVE_TYPES = ("lowpass", "highpass", "bandpass")


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


def build(params: Mapping[str, Any], **_) -> ClipFilter:
    """The ``lowpass``, ``highpass`` and ``bandpass`` registry entries."""
    kind = params["type"]
    edges = {key: float(params[key]) for key in ("cutoff_hz", "low_hz", "high_hz") if key in params}

    def apply(clip_id: str, samples: np.ndarray, sample_rate: int) -> FilteredClip:
        return FilteredClip(butterworth(samples, sample_rate, kind=kind, order=int(params.get("order", 8)), **edges))

    return apply
