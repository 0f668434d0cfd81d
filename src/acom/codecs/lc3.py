"""LC3 (Bluetooth LE Audio's codec) through Google's liblc3 (the ``lc3py`` binding, which ships the
library), one ``.lc3`` file per clip.

The file is liblc3's own bitstream format, which its ``elc3``/``dlc3`` tools write and read and FFmpeg
(7.1 and later) demuxes: an 18-byte header (file id 0x1CCC, header size, sample rate / 100, bitrate /
100, channels, frame duration / 10 us, a reserved field, the number of samples as two 16-bit halves)
then each frame as a 16-bit little-endian byte count and the frame's bytes. Browsers do not play
LC3; the listening page plays the decode.

LC3 is a constant-bitrate codec: every frame has ``bitrate * frame duration / 8`` bytes, so the
bitrate must give a whole number of bytes per frame (20 to 400). The encoder and decoder together
delay the signal by ``lc3_delay_samples`` (2.5 ms at 10 ms frames, 4 ms at 7.5 ms); as ``elc3`` and
``dlc3`` do, the clip is followed by that many zeros when encoding and the decode drops that many
samples from its start and keeps the clip's length (from the header's sample count).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from acom.codecs import CODECS  # the registry's rates, read by the config check too
from acom.codecs.base import ClipByClip, CodedClip
from acom.io import atomic_output

SAMPLE_RATES = CODECS["lc3"].sample_rates
FRAME_MS = (7.5, 10.0)
MIN_FRAME_BYTES, MAX_FRAME_BYTES = 20, 400
FILE_ID = 0x1CCC
HEADER = struct.Struct("<HHHHHHHHH")


def frame_bytes(kbps: float, frame_ms: float) -> float:
    """Bytes per frame of an LC3 stream at ``kbps`` with ``frame_ms`` frames (not always whole)."""
    return float(kbps) * float(frame_ms) / 8.0


def bitrate_problem(kbps: float, frame_ms: float) -> str | None:
    """Why LC3 cannot code ``kbps`` with ``frame_ms`` frames, or None."""
    nbytes = frame_bytes(kbps, frame_ms)
    low, high = MIN_FRAME_BYTES * 8 / frame_ms, MAX_FRAME_BYTES * 8 / frame_ms
    if not MIN_FRAME_BYTES <= nbytes <= MAX_FRAME_BYTES:
        return f"{kbps} kbps is outside LC3's {low:g}-{high:g} kbps with {frame_ms:g} ms frames"
    if abs(nbytes - round(nbytes)) > 1e-9:
        step = 8 / frame_ms
        return (f"{kbps} kbps is {nbytes:g} bytes per {frame_ms:g} ms frame, not a whole number; "
                f"use a multiple of {step:g} kbps")
    return None


def check_config(name: str, params: Mapping[str, Any]) -> list[str]:
    """Bitrates LC3 cannot code with the entry's frame duration (the registry's config check)."""
    frame_ms = float(params.get("frame_ms", 10))
    if frame_ms not in FRAME_MS:
        return []  # reported by the key's own check
    return [f"codecs.{name}.bitrates_kbps: {problem}" for kbps in params["bitrates_kbps"]
            if (problem := bitrate_problem(kbps, frame_ms))]


@dataclass
class Lc3Stream:
    """An LC3 stream: its frames, coding rate, frame duration and the clip's length in samples."""

    frames: list[bytes]
    sample_rate: int
    frame_ms: float
    n_samples: int

    @property
    def bitrate_bps(self) -> int:
        return round(len(self.frames[0]) * 8 * 1000 / self.frame_ms) if self.frames else 0


def _codec_args(sample_rate: int, frame_ms: float) -> tuple[int, int]:
    if sample_rate not in SAMPLE_RATES:
        raise ValueError(f"sample_rate: {sample_rate!r} Hz is not an LC3 coding rate; use one of {SAMPLE_RATES}")
    if float(frame_ms) not in FRAME_MS:
        raise ValueError(f"frame_ms: {frame_ms!r} is not an LC3 frame duration; use one of {FRAME_MS}")
    return round(float(frame_ms) * 1000), int(sample_rate)


def delay_samples(sample_rate: int, frame_ms: float) -> int:
    """The encoder + decoder delay (samples) liblc3 reports for the setting."""
    import lc3

    return lc3.Encoder(*_codec_args(sample_rate, frame_ms)).get_delay_samples()


def encode_lc3(samples: np.ndarray, sample_rate: int, *, bitrate_kbps: float, frame_ms: float = 10.0) -> Lc3Stream:
    """Encode a mono float clip in [-1, 1] into LC3 frames (the clip, then ``delay_samples`` zeros)."""
    import lc3

    problem = bitrate_problem(bitrate_kbps, frame_ms)
    if problem:
        raise ValueError(f"bitrate_kbps: {problem}")
    # lc3py frees no encoder or decoder state (its __del__ builds a generator it never runs): a few
    # kB per clip, released when the job's process ends.
    encoder = lc3.Encoder(*_codec_args(sample_rate, frame_ms))
    n_frame, nbytes = encoder.get_frame_samples(), round(frame_bytes(bitrate_kbps, frame_ms))
    pcm = np.asarray(samples, dtype=np.float32)
    total = pcm.shape[0] + encoder.get_delay_samples()
    padded = np.zeros(-(-total // n_frame) * n_frame, dtype=np.float32)
    padded[: pcm.shape[0]] = pcm
    frames = [encoder.encode(padded[start:start + n_frame], nbytes) for start in range(0, padded.shape[0], n_frame)]
    return Lc3Stream(frames, int(sample_rate), float(frame_ms), int(pcm.shape[0]))


def decode_lc3(stream: Lc3Stream) -> np.ndarray:
    """Decode ``stream`` to float32 at its rate, the codec delay removed and trimmed to n_samples."""
    import lc3

    decoder = lc3.Decoder(*_codec_args(stream.sample_rate, stream.frame_ms))
    delay = decoder.get_delay_samples()
    decoded = np.concatenate([np.frombuffer(decoder.decode(frame), dtype=np.float32) for frame in stream.frames])
    if decoded.shape[0] < delay + stream.n_samples:
        raise ValueError(f"LC3 stream decodes to {decoded.shape[0]} samples, fewer than delay {delay} + "
                         f"{stream.n_samples}: truncated")
    return decoded[delay: delay + stream.n_samples].copy()


def lc3_file_bytes(stream: Lc3Stream) -> bytes:
    """The stream in liblc3's file format (see the module docstring)."""
    if not stream.frames:
        raise ValueError("stream: holds no frames")
    header = HEADER.pack(FILE_ID, HEADER.size, stream.sample_rate // 100, stream.bitrate_bps // 100, 1,
                         round(stream.frame_ms * 100), 0, stream.n_samples & 0xFFFF, stream.n_samples >> 16)
    return header + b"".join(struct.pack("<H", len(frame)) + frame for frame in stream.frames)


def read_lc3(path: str | os.PathLike) -> Lc3Stream:
    """Read a mono file in liblc3's format (such as :func:`lc3_file_bytes` writes) back."""
    data = Path(path).read_bytes()
    if len(data) < HEADER.size:
        raise ValueError(f"{path}: shorter than an LC3 file header")
    file_id, header_size, rate_100, _bitrate_100, channels, frame_10us, _rfu, n_low, n_high = HEADER.unpack_from(data)
    if file_id != FILE_ID or header_size < HEADER.size:
        raise ValueError(f"{path}: not an LC3 file (file id {file_id:#x}, header size {header_size})")
    if channels != 1:
        raise ValueError(f"{path}: {channels} channels; expected mono")
    frames, offset = [], header_size
    while offset < len(data):
        if offset + 2 > len(data):
            raise ValueError(f"{path}: truncated frame header at byte {offset}")
        (size,) = struct.unpack_from("<H", data, offset)
        if offset + 2 + size > len(data):
            raise ValueError(f"{path}: truncated frame at byte {offset}")
        frames.append(data[offset + 2: offset + 2 + size])
        offset += 2 + size
    return Lc3Stream(frames, rate_100 * 100, frame_10us / 100, n_low | (n_high << 16))


class Lc3Codec(ClipByClip):
    """LC3 at one bitrate and frame duration: a ``.lc3`` file per clip and the aligned decode."""

    extension = ".lc3"

    def __init__(self, *, bitrate_kbps: float, sample_rate: int = 16000, frame_ms: float = 10.0):
        _codec_args(sample_rate, frame_ms)
        problem = bitrate_problem(bitrate_kbps, frame_ms)
        if problem:
            raise ValueError(f"bitrate_kbps: {problem}")
        self.bitrate_kbps, self.sample_rate, self.frame_ms = float(bitrate_kbps), int(sample_rate), float(frame_ms)

    def code(self, clip: np.ndarray, bitstream_path: str | os.PathLike) -> CodedClip:
        stream = encode_lc3(clip, self.sample_rate, bitrate_kbps=self.bitrate_kbps, frame_ms=self.frame_ms)
        data = lc3_file_bytes(stream)
        with atomic_output(bitstream_path) as tmp:
            tmp.write_bytes(data)
        return CodedClip(decode_lc3(stream), sum(len(frame) for frame in stream.frames), len(data))


def build(params: Mapping[str, Any], kbps: float, *, cache_dir=None, full_codes_dir=None) -> Lc3Codec:
    """The ``lc3`` registry entry at ``kbps``."""
    return Lc3Codec(bitrate_kbps=kbps, **{k: params[k] for k in ("sample_rate", "frame_ms") if k in params})
