"""Classic MFCC baseline: mean and standard deviation over time of MFCCs and their deltas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import librosa
import numpy as np

from acom.models.base import FrameOutput, ModelOutput, frame_output, frames_covering


class MFCCStats:
    """Clip embedding = [mean, std] over frames of [MFCC, delta MFCC]: 4 * n_mfcc dimensions.
    Frame embeddings = [MFCC, delta MFCC] of each STFT frame: 2 * n_mfcc dimensions, one frame per
    ``hop_length`` samples.

    No classifier head (``labels`` is None). Deterministic and CPU-only.
    """

    labels = None

    def __init__(self, *, sample_rate: int = 16000, n_mfcc: int = 40, n_mels: int = 128,
                 n_fft: int = 1024, hop_length: int = 256, fmin: float = 0.0, fmax: float | None = None):
        self.sample_rate = int(sample_rate)
        self.n_mfcc = int(n_mfcc)
        self.embedding_dim = 4 * self.n_mfcc
        self.frame_dim = 2 * self.n_mfcc
        self.hop_seconds = hop_length / self.sample_rate
        self._mel_kwargs = {"n_mels": n_mels, "n_fft": n_fft, "hop_length": hop_length, "fmin": fmin, "fmax": fmax}

    def mfcc_and_delta(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(MFCC, delta MFCC), each (n_mfcc, frames), of one mono clip (librosa's centred frames:
        ``1 + samples // hop_length`` of them)."""
        mfcc = librosa.feature.mfcc(y=np.asarray(waveform, dtype=np.float32), sr=self.sample_rate,
                                    n_mfcc=self.n_mfcc, **self._mel_kwargs)
        # Delta width must not exceed the number of frames of very short clips.
        width = min(9, mfcc.shape[1] - (1 - mfcc.shape[1] % 2))
        delta = librosa.feature.delta(mfcc, width=width) if width >= 3 else np.zeros_like(mfcc)
        return mfcc, delta

    def features(self, waveform: np.ndarray) -> np.ndarray:
        """(4 * n_mfcc,) statistics for one mono clip: [mean MFCC, std MFCC, mean delta, std delta]."""
        mfcc, delta = self.mfcc_and_delta(waveform)
        return np.concatenate([mfcc.mean(1), mfcc.std(1), delta.mean(1), delta.std(1)]).astype(np.float32)

    def frame_features(self, waveform: np.ndarray) -> np.ndarray:
        """(frames, 2 * n_mfcc) [MFCC, delta MFCC] per frame of one mono clip (all frames, uncropped)."""
        return np.concatenate(self.mfcc_and_delta(waveform)).T.astype(np.float32)

    def embed(self, waveforms: np.ndarray) -> ModelOutput:
        return ModelOutput(embeddings=np.stack([self.features(w) for w in waveforms]))

    def frame_embed(self, waveforms: np.ndarray) -> FrameOutput:
        batch = np.asarray(waveforms, dtype=np.float32)
        if batch.ndim != 2:
            raise ValueError(f"expected waveforms of shape (batch, samples), got {batch.shape}")
        return frame_output([self.frame_features(w)[None] for w in batch], frame_dim=self.frame_dim,
                            n_frames=frames_covering(batch.shape[1], self.sample_rate, self.hop_seconds),
                            hop_seconds=self.hop_seconds)


def build(params: Mapping[str, Any], *, cache_dir, config_key: str) -> MFCCStats:
    """The ``mfcc`` registry entry (no weights: ``cache_dir`` is unused)."""
    keys = ("sample_rate", "n_mfcc", "n_mels", "n_fft", "hop_length", "fmin", "fmax")
    return MFCCStats(**{k: params[k] for k in keys if k in params})
