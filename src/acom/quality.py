"""Codec-agnostic signal metrics between a reference clip and its decode."""

from __future__ import annotations

import numpy as np

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


def correlation_lag(reference: np.ndarray, estimate: np.ndarray, *, max_lag: int) -> tuple[int, float, float]:
    """Where ``estimate`` best matches ``reference`` in time: (lag, peak, at_zero).

    ``lag`` (samples, within +-``max_lag``; positive = the estimate is late) maximises the normalised
    cross-correlation, ``peak`` is its value there and ``at_zero`` at lag 0 (both in [-1, 1]; 0 for a
    silent signal). Computed with one FFT of the two zero-padded signals.
    """
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    norm = np.sqrt(np.dot(reference, reference) * np.dot(estimate, estimate))
    if norm < _EPS:
        return 0, 0.0, 0.0
    size = 1 << int(np.ceil(np.log2(max(reference.shape[0], estimate.shape[0]) + max_lag)))
    spectrum = np.fft.rfft(estimate, size) * np.conj(np.fft.rfft(reference, size))
    full = np.fft.irfft(spectrum, size) / norm
    lags = np.arange(-max_lag, max_lag + 1)
    values = full[lags % size]
    best = int(np.argmax(values))
    return int(lags[best]), float(values[best]), float(full[0])


class MelDistance:
    """Mean absolute difference of log10 mel spectrograms (64 bands, 25 ms windows, 10 ms hop).

    A perceptually motivated, codec-agnostic distortion measure: 0 for identical clips, growing
    with spectral error; the floor of 1e-5 on mel power keeps silent frames from dominating.

    The spectrogram is torchaudio's ``MelSpectrogram`` computed with numpy (power spectrum of centred,
    reflect-padded frames under a periodic Hann window of 25 ms zero-padded to the next power of two;
    an HTK mel filterbank without normalisation, 0 Hz to Nyquist), so the codec stage never loads
    torch: the values agree with torchaudio's to float32 rounding. Built once per sample rate (the
    filterbank is reused for every clip).
    """

    def __init__(self, sample_rate: int, *, n_mels: int = 64):
        win = round(0.025 * sample_rate)
        self.n_fft = 1 << (win - 1).bit_length()
        self.hop = round(0.010 * sample_rate)
        window = np.zeros(self.n_fft)
        left = (self.n_fft - win) // 2
        window[left:left + win] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)  # periodic Hann
        self._window = window
        self._fbank = mel_filterbank(self.n_fft // 2 + 1, sample_rate, n_mels)

    def log_mel(self, samples: np.ndarray) -> np.ndarray:
        """(frames, n_mels) log10 mel power of one clip."""
        padded = np.pad(np.asarray(samples, dtype=np.float64), self.n_fft // 2, mode="reflect")
        frames = np.lib.stride_tricks.sliding_window_view(padded, self.n_fft)[:: self.hop]
        power = np.abs(np.fft.rfft(frames * self._window, axis=-1)) ** 2
        return np.log10(power @ self._fbank + 1e-5)

    def __call__(self, reference: np.ndarray, estimate: np.ndarray) -> float:
        if reference.shape != estimate.shape:
            raise ValueError(f"mel distance needs equal lengths, got {reference.shape} and {estimate.shape}")
        return float(np.abs(self.log_mel(reference) - self.log_mel(estimate)).mean())


def mel_filterbank(n_freqs: int, sample_rate: int, n_mels: int) -> np.ndarray:
    """(n_freqs, n_mels) triangular HTK mel filters from 0 Hz to Nyquist, unnormalised: the matrix of
    ``torchaudio.functional.melscale_fbanks(n_freqs, 0, sample_rate / 2, n_mels, sample_rate)``."""
    def to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    all_freqs = np.linspace(0, sample_rate // 2, n_freqs)
    f_pts = 700.0 * (10 ** (np.linspace(to_mel(0.0), to_mel(sample_rate / 2), n_mels + 2) / 2595.0) - 1.0)
    f_diff = np.diff(f_pts)
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return np.maximum(0.0, np.minimum(down, up))
