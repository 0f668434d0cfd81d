"""Coded files written and read through FFmpeg's libraries (PyAV, whose wheels bundle FFmpeg).

The MP3 and AAC codecs share this: :func:`encode_file` runs an FFmpeg encoder (LAME through
``libmp3lame``, FFmpeg's native AAC-LC) into a standard container, whose muxer records the encoder's
delay the way players read it (the Xing/LAME tag of an MP3, the edit list of an MP4);
:func:`read_coded_file` demuxes a file, counts its payload (the codec packets, without container
headers, tags or the codec's setup headers) and decodes it as a player does, with the declared delay
and padding removed. The Vorbis codec counts its payload here too (:func:`demuxed_payload_bytes`) but
decodes with libvorbisfile: FFmpeg 8's Ogg demuxer drops the last short block of a stream whose final
granule position ends inside it (256 samples of a 5 s clip at 16 kHz; checked against libvorbisfile,
which agrees sample for sample up to there).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from acom.io import atomic_output

# Samples handed to the encoder per frame; PyAV regroups them into the codec's own frame size.
_CHUNK = 4096


@dataclass(frozen=True)
class DecodedFile:
    """What a coded file holds, as a player reads it.

    samples: float32 mono decode at ``sample_rate``, the delay the file declares removed from the
        start and the padding beyond the declared duration cut from the end.
    payload_bytes: bytes of the codec packets the demuxer returns (no container, tag or setup header).
    declared_samples: the duration the container declares, in samples (None when it declares none).
    """

    samples: np.ndarray
    sample_rate: int
    payload_bytes: int
    declared_samples: int | None


def encode_file(samples: np.ndarray, sample_rate: int, path: str | os.PathLike, *, codec: str, container: str,
                bit_rate: int | None = None, options: Mapping[str, str] | None = None) -> int:
    """Encode mono float ``samples`` at ``sample_rate`` with FFmpeg encoder ``codec`` into a
    ``container`` file (an FFmpeg muxer name: ``mp3``, ``ipod`` for .m4a, ``ogg``) at ``path``,
    atomically. ``bit_rate`` (bits/s) and ``options`` (the encoder's private options, e.g.
    ``{"abr": "1"}``) set the rate control. Returns the file size in bytes."""
    import av

    pcm = np.ascontiguousarray(samples, dtype=np.float32)
    with atomic_output(path) as tmp:
        with av.open(str(tmp), "w", format=container) as out:
            stream = out.add_stream(codec, rate=sample_rate, layout="mono")
            if bit_rate is not None:
                stream.bit_rate = int(bit_rate)
            if options:
                stream.codec_context.options = dict(options)
            for start in range(0, pcm.shape[0], _CHUNK):
                frame = av.AudioFrame.from_ndarray(pcm[None, start:start + _CHUNK], format="flt", layout="mono")
                frame.sample_rate, frame.pts = sample_rate, start
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        size = Path(tmp).stat().st_size
    return size


def read_coded_file(path: str | os.PathLike) -> DecodedFile:
    """Demux and decode the single audio stream of ``path`` (see :class:`DecodedFile`)."""
    import av

    try:
        container = av.open(str(path))
    except av.FFmpegError as err:
        raise ValueError(f"{path}: FFmpeg cannot open it ({err})") from err
    with container:
        if len(container.streams.audio) != 1:
            raise ValueError(f"{path}: expected one audio stream, found {len(container.streams.audio)}")
        stream = container.streams.audio[0]
        sample_rate = int(stream.codec_context.sample_rate)
        declared = None
        if stream.duration is not None and stream.time_base is not None:
            declared = round(Fraction(stream.duration) * stream.time_base * sample_rate)
        payload, chunks = 0, []
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's end-of-stream flush packet
                continue
            payload += packet.size
            for frame in packet.decode():
                chunks.append(_mono(frame.to_ndarray(), frame.format.is_planar, path))
        for frame in stream.codec_context.decode(None):
            chunks.append(_mono(frame.to_ndarray(), frame.format.is_planar, path))
    decoded = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if declared is not None:
        if decoded.shape[0] < declared:
            raise ValueError(f"{path}: decodes to {decoded.shape[0]} samples, fewer than the {declared} its "
                             "container declares: truncated")
        decoded = decoded[:declared]
    return DecodedFile(np.ascontiguousarray(decoded, dtype=np.float32), sample_rate, payload, declared)


def demuxed_payload_bytes(path: str | os.PathLike) -> int:
    """Bytes of the codec packets of the single audio stream of ``path``, without decoding them."""
    import av

    with av.open(str(path)) as container:
        return sum(packet.size for packet in container.demux(container.streams.audio[0]))


def _mono(array: np.ndarray, planar: bool, path) -> np.ndarray:
    """One decoded frame as a 1-D float32 array (frames come as (channels, n) planar or (1, n*channels))."""
    channels = array.shape[0] if planar else 1
    if channels != 1 or (not planar and array.ndim == 2 and array.shape[0] != 1):
        raise ValueError(f"{path}: expected a mono stream")
    flat = array.reshape(-1)
    if np.issubdtype(flat.dtype, np.integer):  # s16/s32 decoders: full scale to [-1, 1)
        return (flat / float(2 ** (8 * flat.dtype.itemsize - 1))).astype(np.float32)
    return flat.astype(np.float32, copy=False)
