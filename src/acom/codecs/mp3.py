"""MP3 through LAME (FFmpeg's ``libmp3lame``), one ``.mp3`` file per clip.

FFmpeg's MP3 muxer writes LAME's Xing/LAME tag, which declares the encoder delay and the padding of
the last frame; a gapless player (FFmpeg, mpg123, browsers) removes both, and so does the decode
handed back here (:func:`acom.codecs.ffmpeg.read_coded_file`): it is sample-aligned with the input
and of its length (the tests check this by cross-correlation on real clips). The encoder never
resamples: the coding rate is the clip's rate, so at 16 kHz this is MPEG-2 Layer III.

Rate control (``mode``): ``cbr`` gives every frame the bitrate; ``abr`` is LAME's average-bitrate
mode, variable frame sizes steered towards the bitrate. LAME's quality-driven VBR (``-V``) is not
offered: it takes a quality, not a bitrate, and acom names and compares every condition by its
nominal bitrate (``abr`` is LAME's bitrate-targeted VBR).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from acom.codecs import CODECS  # the registry's rates, read by the config check too
from acom.codecs.base import ClipByClip, CodedClip
from acom.codecs.ffmpeg import encode_file, read_coded_file

# Layer III frame bitrates (kbps) of each MPEG version, by sample rate (ISO/IEC 11172-3 and 13818-3;
# MPEG 2.5 as LAME implements it, capped at 64 kbps).
MPEG1_RATES, MPEG2_RATES, MPEG25_RATES = (32000, 44100, 48000), (16000, 22050, 24000), (8000, 11025, 12000)
MPEG1_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
MPEG2_KBPS = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
MPEG25_KBPS = (8, 16, 24, 32, 40, 48, 56, 64)
SAMPLE_RATES = CODECS["mp3"].sample_rates
MODES = ("cbr", "abr")


def frame_bitrates(sample_rate: int) -> tuple[int, ...]:
    """The Layer III frame bitrates (kbps) at ``sample_rate``: the CBR bitrates, and the bounds of ABR."""
    if sample_rate in MPEG1_RATES:
        return MPEG1_KBPS
    if sample_rate in MPEG2_RATES:
        return MPEG2_KBPS
    if sample_rate in MPEG25_RATES:
        return MPEG25_KBPS
    raise ValueError(f"sample_rate: {sample_rate!r} Hz is not an MP3 sample rate; use one of {SAMPLE_RATES}")


def check_config(name: str, params: Mapping[str, Any]) -> list[str]:
    """Bitrates MP3 cannot code at the entry's rate, in its mode (the registry's config check)."""
    from acom.codecs import codec_sample_rate

    rate = codec_sample_rate(params)
    if rate not in SAMPLE_RATES:
        return []  # reported by the generic sample-rate check
    allowed = frame_bitrates(rate)
    mode = params.get("mode", "cbr")
    problems = []
    for kbps in params["bitrates_kbps"]:
        if mode == "cbr" and float(kbps) not in allowed:
            problems.append(f"codecs.{name}.bitrates_kbps: {kbps} kbps is not an MP3 frame bitrate at {rate} Hz "
                            f"(mode cbr); use one of {list(allowed)}, or mode abr for bitrates in between")
        elif mode == "abr" and not allowed[0] <= kbps <= allowed[-1]:
            problems.append(f"codecs.{name}.bitrates_kbps: {kbps} kbps is outside MP3's {allowed[0]}-{allowed[-1]} "
                            f"kbps at {rate} Hz")
    return problems


class Mp3Codec(ClipByClip):
    """LAME at one setting: codes a clip into an MP3 file and hands back the aligned decode."""

    extension = ".mp3"

    def __init__(self, *, bitrate_kbps: float, sample_rate: int = 16000, mode: str = "cbr", quality: int = 3):
        allowed = frame_bitrates(sample_rate)
        if mode not in MODES:
            raise ValueError(f"mode: {mode!r} is not one of {MODES}")
        if mode == "cbr" and float(bitrate_kbps) not in allowed:
            raise ValueError(f"bitrate_kbps: {bitrate_kbps} is not an MP3 frame bitrate at {sample_rate} Hz; "
                             f"use one of {list(allowed)}")
        if not allowed[0] <= float(bitrate_kbps) <= allowed[-1]:
            raise ValueError(f"bitrate_kbps: {bitrate_kbps} is outside {allowed[0]}-{allowed[-1]} kbps at "
                             f"{sample_rate} Hz")
        if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 0 <= quality <= 9:
            raise ValueError(f"quality: {quality!r} is not an integer from 0 (best) to 9 (fastest)")
        self.bitrate_kbps, self.sample_rate, self.mode, self.quality = float(bitrate_kbps), int(sample_rate), mode, quality

    def code(self, clip: np.ndarray, bitstream_path: str | os.PathLike) -> CodedClip:
        # compression_level is LAME's algorithm quality (-q); abr switches LAME to its ABR mode.
        options = {"compression_level": str(self.quality), "abr": "1" if self.mode == "abr" else "0"}
        file_bytes = encode_file(clip, self.sample_rate, bitstream_path, codec="libmp3lame", container="mp3",
                                 bit_rate=round(self.bitrate_kbps * 1000), options=options)
        decoded = read_coded_file(bitstream_path)
        return CodedClip(decoded.samples, decoded.payload_bytes, file_bytes)


def build(params: Mapping[str, Any], kbps: float, *, cache_dir=None, full_codes_dir=None) -> Mp3Codec:
    """The ``mp3`` registry entry at ``kbps``."""
    return Mp3Codec(bitrate_kbps=kbps, **{k: params[k] for k in ("sample_rate", "mode", "quality") if k in params})
