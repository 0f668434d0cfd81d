"""What a time-mask pre-filter puts where it drops part of a clip.

Zeroing or attenuating the dropped frames (``attenuate``, the grid's own rendering) leaves gaps whose
log-mel sits at its floor, far from anything a model was trained on. The renderings here keep a
natural-looking signal there while giving a codec little to spend bits on:

- :func:`comfort_noise`: seeded noise shaped like the clip's long-term spectrum (its mean power
  spectrum, as a speech codec's comfort-noise generator shapes noise to the background), at the
  level the dropped part had;
- :func:`lowpass_rendering`: the dropped part low-passed (zero-phase Butterworth), so its coarse
  spectral envelope below the cutoff stays and its detail above goes.

Both cross-fade with the kept part through the grid's gain curve (1 on kept samples, raised-cosine
ramps into the dropped ones): ``out = gain * clip + (1 - gain) * rendering``.
"""

from __future__ import annotations

import zlib

import numpy as np

#: FFT size of the long-term spectrum comfort noise is shaped by (32 ms at 16 kHz).
COMFORT_NOISE_FFT = 512


def clip_seed(seed: int, clip_id: str) -> int:
    """A per-clip seed: the same clip and seed always give the same noise, different clips differ."""
    return (int(seed) * 1_000_003 + zlib.crc32(clip_id.encode())) & 0xFFFFFFFF


def long_term_spectrum(samples: np.ndarray, n_fft: int = COMFORT_NOISE_FFT) -> np.ndarray:
    """Mean power spectrum (n_fft // 2 + 1 bins) of Hann-windowed half-overlapping frames (Welch)."""
    from scipy.signal import welch

    samples = np.asarray(samples, dtype=np.float64)
    if samples.size < n_fft:
        samples = np.pad(samples, (0, n_fft - samples.size))
    _, power = welch(samples, nperseg=n_fft, noverlap=n_fft // 2, window="hann", detrend=False)
    return power


def shaped_noise(n_samples: int, power: np.ndarray, *, seed: int) -> np.ndarray:
    """``n_samples`` of Gaussian noise whose spectrum follows ``power`` (filtered in the frequency
    domain, one FFT over the whole length), unit RMS unless ``power`` is all zero."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(n_samples)
    spectrum = np.fft.rfft(white)
    freqs = np.linspace(0, 1, spectrum.size)
    shape = np.sqrt(np.interp(freqs, np.linspace(0, 1, power.size), power))
    noise = np.fft.irfft(spectrum * shape, n_samples)
    rms = np.sqrt(np.mean(noise**2))
    return noise / rms if rms > 0 else noise


def comfort_noise(samples: np.ndarray, gain: np.ndarray, *, seed: int, level_gain: float = 1.0) -> np.ndarray:
    """The clip with its dropped part (``gain`` < 1) replaced by comfort noise at the dropped part's
    level times ``level_gain``: the noise's RMS over the dropped samples (weighted by ``1 - gain``)
    equals the clip's RMS there times ``level_gain`` (a silent dropped part stays silent)."""
    samples = np.asarray(samples, dtype=np.float64)
    gain = np.asarray(gain, dtype=np.float64)
    dropped = 1.0 - gain
    weight = dropped.sum()
    if weight == 0:
        return samples.astype(np.float32)
    level = np.sqrt(np.sum(dropped * samples**2) / weight)
    noise = shaped_noise(samples.size, long_term_spectrum(samples), seed=seed)
    # Scale so that the noise as mixed in (weighted like the level) has the dropped part's RMS.
    noise_level = np.sqrt(np.sum(dropped * noise**2) / weight)
    scale = level_gain * level / noise_level if noise_level > 0 else 0.0
    return (gain * samples + dropped * scale * noise).astype(np.float32)


def lowpass_rendering(samples: np.ndarray, gain: np.ndarray, sample_rate: int, *, cutoff_hz: float,
                      order: int = 8) -> np.ndarray:
    """The clip with its dropped part replaced by its zero-phase low-passed version."""
    from scipy.signal import butter, sosfiltfilt

    if not 0 < cutoff_hz < sample_rate / 2:
        raise ValueError(f"lowpass_hz: {cutoff_hz} Hz is not between 0 and the Nyquist frequency {sample_rate / 2} Hz")
    samples = np.asarray(samples, dtype=np.float64)
    smooth = sosfiltfilt(butter(order, cutoff_hz, fs=sample_rate, output="sos"), samples)
    gain = np.asarray(gain, dtype=np.float64)
    return (gain * samples + (1.0 - gain) * smooth).astype(np.float32)
