"""Codec-agnostic signal metrics between a reference clip and its decode."""

from __future__ import annotations

import numpy as np
import torch
import torchaudio

_EPS = 1e-8


def si_snr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-noise ratio in dB (Le Roux et al., 2019), both signals zero-meaned.

    The estimate is projected on the reference; the residual is the noise. A silent reference has
    no defined SI-SNR: NaN is returned rather than a misleading number.
    """
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.shape != estimate.shape:
        raise ValueError(f"si_snr needs equal lengths, got {reference.shape} and {estimate.shape}")
    reference = reference - reference.mean()
    estimate = estimate - estimate.mean()
    energy = np.dot(reference, reference)
    if energy < _EPS:
        return float("nan")
    target = np.dot(estimate, reference) / energy * reference
    noise = estimate - target
    return float(10 * np.log10((np.dot(target, target) + _EPS) / (np.dot(noise, noise) + _EPS)))


class MelDistance:
    """Mean absolute difference of log10 mel spectrograms (64 bands, 25 ms windows, 10 ms hop).

    A perceptually motivated, codec-agnostic distortion measure: 0 for identical clips, growing
    with spectral error; the floor of 1e-5 on mel power keeps silent frames from dominating.
    Built once per sample rate (the mel filterbank is reused for every clip).
    """

    def __init__(self, sample_rate: int, *, n_mels: int = 64):
        win = round(0.025 * sample_rate)
        self._mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate, n_fft=1 << (win - 1).bit_length(), win_length=win,
            hop_length=round(0.010 * sample_rate), n_mels=n_mels, power=2.0,
        )

    def __call__(self, reference: np.ndarray, estimate: np.ndarray) -> float:
        if reference.shape != estimate.shape:
            raise ValueError(f"mel distance needs equal lengths, got {reference.shape} and {estimate.shape}")
        with torch.inference_mode():
            both = torch.from_numpy(np.stack([reference, estimate]).astype(np.float32))
            logmel = torch.log10(self._mel(both) + 1e-5)
        return float((logmel[0] - logmel[1]).abs().mean())
