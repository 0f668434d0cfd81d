"""Signal metrics against closed-form values."""

from __future__ import annotations

import numpy as np
import pytest

from acom.quality import MelDistance, si_snr


def test_si_snr_of_known_noise_level():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(160000)
    noise = rng.standard_normal(160000)
    noise -= noise.mean()
    noise -= np.dot(noise, x - x.mean()) / np.dot(x - x.mean(), x - x.mean()) * (x - x.mean())  # orthogonal
    noise *= np.linalg.norm(x - x.mean()) / np.linalg.norm(noise) * 10 ** (-20 / 20)  # exactly -20 dB
    assert si_snr(x, x + noise) == pytest.approx(20.0, abs=1e-6)
    assert si_snr(x, 3.7 * (x + noise)) == pytest.approx(20.0, abs=1e-6)  # scale-invariant
    assert si_snr(x, x) > 70


def test_si_snr_rejects_mismatched_lengths_and_flags_silence():
    with pytest.raises(ValueError, match="equal lengths"):
        si_snr(np.zeros(10), np.zeros(11))
    assert np.isnan(si_snr(np.zeros(100), np.ones(100)))


def test_mel_distance_orders_distortions():
    rng = np.random.default_rng(1)
    t = np.arange(16000) / 16000
    x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(16000)).astype(np.float32)
    mel = MelDistance(16000)
    assert mel(x, x) == 0.0
    slight = mel(x, x + 0.001 * rng.standard_normal(16000).astype(np.float32))
    heavy = mel(x, x + 0.1 * rng.standard_normal(16000).astype(np.float32))
    assert 0 < slight < heavy
    # Halving the amplitude shifts every log10 mel bin by log10(0.25) where the signal dominates the floor.
    assert mel(x, 0.5 * x) == pytest.approx(np.log10(4), rel=0.02)


@pytest.mark.parametrize("rate", [16000, 24000, 48000])
def test_log_mel_equals_torchaudios_mel_spectrogram(rate):
    """The numpy spectrogram is torchaudio's MelSpectrogram (the codec stage must not load torch)."""
    import torch
    import torchaudio

    rng = np.random.default_rng(rate)
    x = (0.2 * rng.standard_normal(rate // 2)).astype(np.float32)
    mel = MelDistance(rate)
    win = round(0.025 * rate)
    reference = torchaudio.transforms.MelSpectrogram(sample_rate=rate, n_fft=1 << (win - 1).bit_length(),
                                                     win_length=win, hop_length=round(0.010 * rate), n_mels=64,
                                                     power=2.0)(torch.from_numpy(x))
    np.testing.assert_allclose(mel.log_mel(x), torch.log10(reference + 1e-5).numpy().T, atol=2e-5)
