"""What every codec returns for one clip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CodedClip:
    """One clip after encoding and decoding.

    decoded: float32 mono samples at the codec's sample rate, sample-aligned with the input and of
        the same length (encoder delay removed, padding trimmed).
    payload_bytes: bytes of codec payload (Opus packets, EnCodec codes as packed in the file),
        without container overhead.
    file_bytes: size of the bitstream file written for the clip (container included).
    """

    decoded: np.ndarray
    payload_bytes: int
    file_bytes: int
