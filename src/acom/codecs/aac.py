"""AAC-LC through FFmpeg's native AAC encoder, one MP4 audio file (``.m4a``) per clip.

AAC encoders prepend priming samples (1024 for FFmpeg's encoder) that a decoder outputs before the
clip starts. ADTS, the raw AAC stream format, has no field to declare them, so the clips go into an
MP4 container, whose edit list declares the priming and the clip's duration; FFmpeg, browsers and
other players honour it, and so does the decode handed back here
(:func:`acom.codecs.ffmpeg.read_coded_file`): sample-aligned with the input and of its length.

FFmpeg's encoder aims at the bitrate on average (a bit reservoir across frames; quiet frames take
fewer bits), so ``actual_kbps`` can fall well below the nominal rate on quiet clips. HE-AAC would
need ``libfdk_aac``, which FFmpeg builds cannot ship (licence): only AAC-LC is offered.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from acom.codecs import CODECS  # the registry's rates, read by the config check too
from acom.codecs.base import ClipByClip, CodedClip
from acom.codecs.ffmpeg import encode_file, read_coded_file

# The sampling frequencies of ISO/IEC 14496-3's sampling-frequency index table up to 48 kHz.
SAMPLE_RATES = CODECS["aac"].sample_rates
CODERS = ("twoloop", "fast")
# A raw AAC frame holds at most 6144 bits per channel for 1024 samples (ISO/IEC 14496-3, 4.5.3.2):
# 6 bits per sample. FFmpeg clamps higher requests silently; they are refused instead.
MAX_BITS_PER_SAMPLE = 6.0
MIN_KBPS = 6.0


def max_kbps(sample_rate: int) -> float:
    """The highest AAC-LC bitrate (kbps) of a mono stream at ``sample_rate``."""
    return MAX_BITS_PER_SAMPLE * sample_rate / 1000.0


def check_config(name: str, params: Mapping[str, Any]) -> list[str]:
    """Bitrates AAC-LC cannot reach at the entry's rate (the registry's config check)."""
    from acom.codecs import codec_sample_rate

    rate = codec_sample_rate(params)
    return [f"codecs.{name}.bitrates_kbps: {kbps} kbps is outside AAC-LC's {MIN_KBPS:g}-{max_kbps(rate):g} kbps for "
            f"mono at {rate} Hz (6 bits per sample at most)"
            for kbps in params["bitrates_kbps"] if not MIN_KBPS <= kbps <= max_kbps(rate)]


class AacCodec(ClipByClip):
    """FFmpeg's AAC-LC encoder at one bitrate: an .m4a file per clip and the aligned decode."""

    extension = ".m4a"

    def __init__(self, *, bitrate_kbps: float, sample_rate: int = 16000, coder: str = "twoloop"):
        if sample_rate not in SAMPLE_RATES:
            raise ValueError(f"sample_rate: {sample_rate!r} Hz is not an AAC sample rate; use one of {SAMPLE_RATES}")
        if not MIN_KBPS <= float(bitrate_kbps) <= max_kbps(sample_rate):
            raise ValueError(f"bitrate_kbps: {bitrate_kbps} is outside {MIN_KBPS:g}-{max_kbps(sample_rate):g} kbps "
                             f"at {sample_rate} Hz")
        if coder not in CODERS:
            raise ValueError(f"coder: {coder!r} is not one of {CODERS}")
        self.bitrate_kbps, self.sample_rate, self.coder = float(bitrate_kbps), int(sample_rate), coder

    def code(self, clip: np.ndarray, bitstream_path: str | os.PathLike) -> CodedClip:
        file_bytes = encode_file(clip, self.sample_rate, bitstream_path, codec="aac", container="ipod",
                                 bit_rate=round(self.bitrate_kbps * 1000),
                                 options={"profile": "aac_low", "aac_coder": self.coder})
        decoded = read_coded_file(bitstream_path)
        return CodedClip(decoded.samples, decoded.payload_bytes, file_bytes)


def build(params: Mapping[str, Any], kbps: float, *, cache_dir=None, full_codes_dir=None) -> AacCodec:
    """The ``aac`` registry entry at ``kbps``."""
    return AacCodec(bitrate_kbps=kbps, **{k: params[k] for k in ("sample_rate", "coder") if k in params})
