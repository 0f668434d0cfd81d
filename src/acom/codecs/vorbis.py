"""Vorbis through libvorbis (libsndfile's Ogg Vorbis writer), one ``.ogg`` file per clip.

libsndfile sets libvorbis's quality (0 to 10, ``compression_level`` 1 to 0), not a bitrate. Each
quality has a nominal bitrate that libvorbis itself derives from its tuning tables for the rate and
channel count and writes into the stream's identification header; a condition's nominal kbps is
turned into the quality whose declared nominal bitrate it is (found by bisection on that header, as
``oggenc -b`` picks a quality for a bitrate without bitrate management). At 16 kHz mono the qualities
0 to 10 declare 24 to 100 kbps; libvorbis's quality -1 (16 kbps) is not reachable through libsndfile.

Vorbis has no encoder delay to declare: the first packet's output is discarded by every decoder,
and the last page's granule position trims the end, so the decode (libvorbisfile, the reference
decoder, through libsndfile) is aligned with the input and of its length.
``actual_kbps`` counts the audio packets; the three Vorbis header packets (the setup header carries
the codebooks, about 3-4 kB) count only in ``container_kbps``.
"""

from __future__ import annotations

import functools
import io
import os
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
import soundfile as sf

from acom.codecs import CODECS  # the registry's rates, read by the config check too
from acom.codecs.base import ClipByClip, CodedClip
from acom.codecs.ffmpeg import demuxed_payload_bytes
from acom.io import atomic_output

# Rates libvorbis has tuning tables for (its setup templates).
SAMPLE_RATES = CODECS["vorbis"].sample_rates
# How close the declared nominal bitrate of the chosen quality must come to the one asked for.
NOMINAL_TOLERANCE = 0.005


def declared_nominal_bps(compression_level: float, sample_rate: int) -> int:
    """The nominal bitrate (bits/s) libvorbis declares for libsndfile's ``compression_level`` at
    ``sample_rate``, mono: read from the identification header of a short encoded stream."""
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(sample_rate // 10, dtype=np.float32), sample_rate, format="OGG", subtype="VORBIS",
             compression_level=float(compression_level))
    data = buffer.getvalue()
    start = data.find(b"\x01vorbis")
    if start < 0:
        raise RuntimeError("libsndfile wrote an Ogg stream without a Vorbis identification header")
    # version (u32), channels (u8), rate (u32), bitrate maximum, nominal, minimum (i32 each)
    _version, _channels, _rate, _maximum, nominal, _minimum = struct.unpack_from("<IBIiii", data, start + 7)
    return nominal


def nominal_range_kbps(sample_rate: int) -> tuple[float, float]:
    """(lowest, highest) nominal kbps libvorbis declares at ``sample_rate`` over the reachable qualities."""
    return declared_nominal_bps(1.0, sample_rate) / 1000.0, declared_nominal_bps(0.0, sample_rate) / 1000.0


@functools.cache
def compression_level_for(kbps: float, sample_rate: int) -> float:
    """libsndfile's compression level whose declared nominal bitrate is ``kbps`` at ``sample_rate``
    (the nominal bitrate falls as the level rises)."""
    low, high = nominal_range_kbps(sample_rate)
    if not low <= kbps <= high:
        raise ValueError(f"bitrate_kbps: {kbps} is outside the {low:g}-{high:g} kbps Vorbis declares at {sample_rate} Hz")
    lo, hi = 0.0, 1.0  # nominal(lo) >= kbps >= nominal(hi)
    for _ in range(30):
        mid = (lo + hi) / 2
        if declared_nominal_bps(mid, sample_rate) / 1000.0 >= kbps:
            lo = mid
        else:
            hi = mid
    level = min((lo, hi), key=lambda v: abs(declared_nominal_bps(v, sample_rate) / 1000.0 - kbps))
    reached = declared_nominal_bps(level, sample_rate) / 1000.0
    if abs(reached - kbps) > NOMINAL_TOLERANCE * kbps:
        raise ValueError(f"bitrate_kbps: no Vorbis quality declares {kbps} kbps at {sample_rate} Hz "
                         f"(closest: {reached:g} kbps)")
    return level


def check_config(name: str, params: Mapping[str, Any]) -> list[str]:
    """Nominal bitrates no Vorbis quality declares at the entry's rate (the registry's config check)."""
    from acom.codecs import codec_sample_rate

    rate = codec_sample_rate(params)
    if rate not in SAMPLE_RATES:
        return []  # reported by the generic sample-rate check
    low, high = nominal_range_kbps(rate)
    return [f"codecs.{name}.bitrates_kbps: {kbps} kbps is outside the {low:g}-{high:g} kbps that Vorbis qualities "
            f"0-10 declare for mono at {rate} Hz" for kbps in params["bitrates_kbps"] if not low <= kbps <= high]


class VorbisCodec(ClipByClip):
    """libvorbis at the quality of one nominal bitrate: an Ogg Vorbis file per clip and its decode."""

    extension = ".ogg"

    def __init__(self, *, bitrate_kbps: float, sample_rate: int = 16000):
        if sample_rate not in SAMPLE_RATES:
            raise ValueError(f"sample_rate: {sample_rate!r} Hz is not a Vorbis coding rate; use one of {SAMPLE_RATES}")
        self.bitrate_kbps, self.sample_rate = float(bitrate_kbps), int(sample_rate)
        self.compression_level = compression_level_for(self.bitrate_kbps, self.sample_rate)

    def code(self, clip: np.ndarray, bitstream_path: str | os.PathLike) -> CodedClip:
        with atomic_output(bitstream_path) as tmp:
            sf.write(tmp, np.asarray(clip, dtype=np.float32), self.sample_rate, format="OGG", subtype="VORBIS",
                     compression_level=self.compression_level)
            file_bytes = os.path.getsize(tmp)
        # libvorbisfile (through libsndfile) trims the end at the last granule position; see ffmpeg.py
        # for why FFmpeg's decode is not used.
        decoded, _ = sf.read(bitstream_path, dtype="float32", always_2d=False)
        return CodedClip(np.ascontiguousarray(decoded), demuxed_payload_bytes(bitstream_path), file_bytes)


def build(params: Mapping[str, Any], kbps: float, *, cache_dir=None, full_codes_dir=None) -> VorbisCodec:
    """The ``vorbis`` registry entry at ``kbps``."""
    return VorbisCodec(bitrate_kbps=kbps, **{k: params[k] for k in ("sample_rate",) if k in params})
