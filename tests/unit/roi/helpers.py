"""A synthetic clip with a planted salient region and a stand-in model that hears only it, shared by
the saliency, mask-search and filter tests."""

from __future__ import annotations

import numpy as np

SR = 16000

PLANT_S = (2.0, 2.5)
PLANT_HZ = 1000.0


class ToneDetector:
    """A stand-in model: its embedding is (energy near 1 kHz, energy elsewhere), each as a share of
    the total. Only a clip region holding the planted tone looks like the 'tone' class."""

    sample_rate = SR
    embedding_dim = 2
    labels = None

    def embed_array(self, waves: np.ndarray) -> np.ndarray:
        spectrum = np.abs(np.fft.rfft(waves, axis=-1)) ** 2
        freqs = np.fft.rfftfreq(waves.shape[-1], 1 / SR)
        near = spectrum[:, np.abs(freqs - PLANT_HZ) < 50].sum(axis=1)
        total = spectrum.sum(axis=1) + 1e-12
        return np.stack([near / total, 1 - near / total], axis=1)


def planted_clip(rng, with_tone: bool) -> np.ndarray:
    x = rng.normal(0, 0.05, 5 * SR)
    if with_tone:
        a, b = (int(s * SR) for s in PLANT_S)
        x[a:b] += 0.1 * np.sin(2 * np.pi * PLANT_HZ * np.arange(b - a) / SR)
    return x.astype(np.float32)
