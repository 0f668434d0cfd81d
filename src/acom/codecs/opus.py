"""Opus coding through libopus (opuslib), with a real Ogg Opus file (RFC 7845) per clip.

The decode handed back is sample-aligned with the input and of the same length: the encoder's
lookahead (what RFC 7845 calls pre-skip) is removed from the front and the zero padding of the last
frame is trimmed from the end, exactly as a conforming Ogg Opus player does from the OpusHead
pre-skip and the final page's granule position.

Ogg pages are serialized by ``mutagen.ogg.OggPage`` (header, lacing values, CRC-32); the page
layout and granule positions, which mutagen leaves to the caller, are set here.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import opuslib
import opuslib.api.decoder
import opuslib.api.encoder
from mutagen.ogg import OggPage

from acom.codecs import CODECS  # the registry's rates and bitrate range, read by the config check too
from acom.codecs.base import ClipByClip, CodedClip
from acom.io import atomic_output

MODES = ("vbr", "cvbr", "cbr")
APPLICATIONS = ("audio", "voip", "restricted_lowdelay")
FRAME_MS = (2.5, 5, 10, 20, 40, 60)

# Opus's documented bitrate range (RFC 6716 section 2.1.1); libopus silently clamps outside it,
# which would make a condition's nominal bitrate a lie.
MIN_KBPS, MAX_KBPS = CODECS["opus"].kbps_range
OPUS_RATES = CODECS["opus"].sample_rates
# Granule positions and pre-skip are always counted at 48 kHz (RFC 7845 section 4).
GRANULE_RATE = 48000
# Room for any one packet: libopus recommends 4000 bytes. opuslib's Encoder.encode caps the packet
# at len(pcm bytes), which for 2.5-5 ms frames is below what a high bitrate needs, so the api-level
# encode is called with this instead.
MAX_PACKET_BYTES = 4000
# Longest packet Opus can carry (120 ms); the decoder needs that much room per call.
MAX_PACKET_MS = 120
# Page limits: 255 lacing values is the Ogg maximum; 1 s of audio per page is opusenc's default
# maximum page delay, short enough for seeking and streaming.
MAX_SEGMENTS = 255
MAX_PAGE_GRANULES = GRANULE_RATE
OPUS_HEAD_BYTES = 19


@dataclass
class OpusStream:
    """An Opus stream before it is put into (or after it is read from) an Ogg file.

    packets: the Opus packets in order, one per frame.
    sample_rate: the coding rate (the encoder's and decoder's rate, one of OPUS_RATES).
    pre_skip: samples at 48 kHz to drop from the start of the decode (RFC 7845 pre-skip).
    n_samples: length of the input at the coding rate; the decode is trimmed to it.
    frame_size: samples per frame at the coding rate.
    """

    packets: list[bytes]
    sample_rate: int
    pre_skip: int
    n_samples: int
    frame_size: int


def _check_settings(sample_rate: int, bitrate_kbps: float, mode: str, complexity: int, frame_ms: float,
                    application: str) -> None:
    """Raise ValueError naming the first setting Opus cannot take."""
    is_int = isinstance(sample_rate, (int, np.integer)) and not isinstance(sample_rate, bool)
    if not is_int or sample_rate not in OPUS_RATES:
        raise ValueError(f"sample_rate: {sample_rate!r} Hz is not an Opus coding rate; use one of {OPUS_RATES}")
    try:
        kbps = float(bitrate_kbps)
    except (TypeError, ValueError):
        raise ValueError(f"bitrate_kbps: {bitrate_kbps!r} is not a number") from None
    if not MIN_KBPS <= kbps <= MAX_KBPS:  # also rejects NaN
        raise ValueError(f"bitrate_kbps: {bitrate_kbps!r} is outside Opus's {MIN_KBPS:g}-{MAX_KBPS:g} kbps range")
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r} is not one of {MODES}")
    if isinstance(complexity, bool) or not isinstance(complexity, (int, np.integer)) or not 0 <= complexity <= 10:
        raise ValueError(f"complexity: {complexity!r} is not an integer from 0 to 10")
    if isinstance(frame_ms, bool) or frame_ms not in FRAME_MS:
        raise ValueError(f"frame_ms: {frame_ms!r} is not an Opus frame duration; use one of {FRAME_MS}")
    if application not in APPLICATIONS:
        raise ValueError(f"application: {application!r} is not one of {APPLICATIONS}")


def _check_samples(samples: np.ndarray) -> np.ndarray:
    """Return ``samples`` as contiguous float32, or raise ValueError saying what is wrong with them."""
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ValueError(f"samples: expected a mono 1-D array, got shape {samples.shape}")
    if samples.shape[0] == 0:
        raise ValueError("samples: the clip is empty")
    if not np.issubdtype(samples.dtype, np.floating):
        raise ValueError(f"samples: expected float samples in [-1, 1], got dtype {samples.dtype}")
    n_nan = int(np.isnan(samples).sum())
    n_inf = int(np.isinf(samples).sum())
    if n_nan or n_inf:
        raise ValueError(f"samples: {n_nan} NaN and {n_inf} Inf values; Opus needs finite samples")
    return np.ascontiguousarray(samples, dtype=np.float32)


def _make_encoder(sample_rate: int, bitrate_bps: int, mode: str, complexity: int,
                  application: str) -> opuslib.Encoder:
    """A mono libopus encoder with every rate-control setting made explicit (libopus's defaults,
    e.g. constrained VBR on, are not what the mode names say)."""
    encoder = opuslib.Encoder(sample_rate, 1, application)
    encoder.bitrate = bitrate_bps
    encoder.vbr = 0 if mode == "cbr" else 1
    encoder.vbr_constraint = 1 if mode == "cvbr" else 0
    encoder.complexity = int(complexity)
    return encoder


def encode_opus(samples: np.ndarray, sample_rate: int, *, bitrate_kbps: float, mode: str = "vbr",
                complexity: int = 10, frame_ms: float = 20, application: str = "audio",
                roi: Sequence[tuple[float, float]] | None = None, floor_kbps: float | None = None) -> OpusStream:
    """Encode a mono float clip in [-1, 1] at ``sample_rate`` (the coding rate) into Opus packets.

    The float API is used, so the input is not quantized to 16 bits first. The last frame is padded
    with zeros, and enough further zeros are fed for the encoder's lookahead to flush the end of the
    clip into the packets; :func:`decode_opus` removes both again.

    With ``roi`` ([start, end) intervals in seconds) the bitrate changes frame by frame: libopus
    takes a new target between frames, so frames that decode mostly inside the region are coded at
    ``bitrate_kbps`` and the others at ``floor_kbps`` (see :func:`roi_frame_mask`); the stream stays
    a standard one that any decoder plays.
    """
    _check_settings(sample_rate, bitrate_kbps, mode, complexity, frame_ms, application)
    pcm = _check_samples(samples)
    bitrate_bps = round(float(bitrate_kbps) * 1000)
    encoder = _make_encoder(sample_rate, bitrate_bps, mode, complexity, application)
    lookahead = encoder.lookahead  # samples at the coding rate, e.g. 104 at 16 kHz (6.5 ms)
    frame_size = round(sample_rate * frame_ms / 1000)
    n_frames = -(-(pcm.shape[0] + lookahead) // frame_size)  # ceil: covers the clip and the lookahead
    padded = np.zeros(n_frames * frame_size, dtype=np.float32)
    padded[: pcm.shape[0]] = pcm
    frame_bps = np.full(n_frames, bitrate_bps)
    if roi is not None:
        if floor_kbps is None:
            raise ValueError("floor_kbps: a region of interest needs the bitrate outside it")
        _check_settings(sample_rate, floor_kbps, mode, complexity, frame_ms, application)
        inside = roi_frame_mask(roi, n_frames=n_frames, frame_size=frame_size, lookahead=lookahead,
                                sample_rate=sample_rate, n_samples=pcm.shape[0])
        frame_bps = np.where(inside, bitrate_bps, round(float(floor_kbps) * 1000))
    packets = []
    for index, start in enumerate(range(0, padded.shape[0], frame_size)):
        if roi is not None and encoder.bitrate != frame_bps[index]:
            encoder.bitrate = int(frame_bps[index])
        frame = padded[start : start + frame_size].tobytes()
        packets.append(opuslib.api.encoder.encode_float(encoder.encoder_state, frame, frame_size, MAX_PACKET_BYTES))
    return OpusStream(packets=packets, sample_rate=sample_rate, pre_skip=lookahead * (GRANULE_RATE // sample_rate),
                      n_samples=int(pcm.shape[0]), frame_size=frame_size)


def roi_frame_mask(roi: Sequence[tuple[float, float]], *, n_frames: int, frame_size: int, lookahead: int,
                   sample_rate: int, n_samples: int) -> np.ndarray:
    """Which of ``n_frames`` Opus frames code the region ``roi`` ([start, end) seconds of the input).

    Packet i decodes to output samples [i, i + 1) * frame_size, which after the pre-skip are input
    samples [i * frame_size - lookahead, (i + 1) * frame_size - lookahead): a frame is in the region
    when at least half of the input samples it carries are.
    """
    keep = np.zeros(n_samples, dtype=bool)
    for start_s, end_s in roi:
        if not 0 <= start_s <= end_s:
            raise ValueError(f"roi: interval [{start_s}, {end_s}) s is not a forward interval from 0")
        keep[max(0, round(start_s * sample_rate)): min(n_samples, round(end_s * sample_rate))] = True
    inside = np.zeros(n_frames, dtype=bool)
    for index in range(n_frames):
        first, last = max(0, index * frame_size - lookahead), min(n_samples, (index + 1) * frame_size - lookahead)
        inside[index] = last > first and 2 * keep[first:last].sum() >= last - first
    return inside


def decode_opus(stream: OpusStream) -> np.ndarray:
    """Decode ``stream`` to float32 at its coding rate, pre-skip removed and trimmed to n_samples,
    so that the result is sample-aligned with the encoder's input."""
    if stream.sample_rate not in OPUS_RATES:
        raise ValueError(f"sample_rate: {stream.sample_rate!r} Hz is not an Opus coding rate")
    decoder = opuslib.Decoder(stream.sample_rate, 1)
    max_frame = stream.sample_rate * MAX_PACKET_MS // 1000
    chunks = [np.frombuffer(decoder.decode_float(packet, max_frame), dtype=np.float32) for packet in stream.packets]
    decoded = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    # pre_skip counts 48 kHz samples; at a lower coding rate it is that many samples / (48000 / rate),
    # rounded down as libsndfile does (our own streams always divide exactly).
    skip = stream.pre_skip * stream.sample_rate // GRANULE_RATE
    if decoded.shape[0] < skip + stream.n_samples:
        raise ValueError(f"stream decodes to {decoded.shape[0]} samples, fewer than pre-skip {skip} + "
                         f"{stream.n_samples} samples: truncated")
    return decoded[skip : skip + stream.n_samples].copy()


def payload_bytes(stream: OpusStream) -> int:
    """Bytes of Opus payload, without any container overhead."""
    return sum(len(packet) for packet in stream.packets)


def _opus_head(stream: OpusStream) -> bytes:
    """The identification header (RFC 7845 section 5.1): version 1, mono, mapping family 0."""
    return struct.pack("<8sBBHIhB", b"OpusHead", 1, 1, stream.pre_skip, stream.sample_rate, 0, 0)


def _opus_tags(vendor: str, tags: dict | None) -> bytes:
    """The comment header (RFC 7845 section 5.2): vendor string and KEY=value user comments."""
    comments = []
    for key, value in (tags or {}).items():
        # Vorbis comment field names: printable ASCII 0x20-0x7D without '='.
        if not key or "=" in key or not all(0x20 <= ord(c) <= 0x7D for c in key):
            raise ValueError(f"tags: {key!r} is not a valid comment field name")
        comments.append(f"{key}={value}".encode())
    vendor_bytes = vendor.encode("utf-8")
    parts = [b"OpusTags", struct.pack("<I", len(vendor_bytes)), vendor_bytes, struct.pack("<I", len(comments))]
    for comment in comments:
        parts += [struct.pack("<I", len(comment)), comment]
    return b"".join(parts)


def _segments(packet: bytes) -> int:
    """Lacing values a packet takes: one per 255 bytes, plus the terminating value below 255."""
    return len(packet) // 255 + 1


def _audio_pages(stream: OpusStream, serial: int, first_sequence: int) -> list[OggPage]:
    """Pack whole packets into pages (no packet spans two pages, as each is < 255 * 255 bytes).

    A page's granule position is the 48 kHz sample count, pre-skip included, at the end of its last
    packet; the last page's is pre_skip + n_samples (at 48 kHz) instead, which is less than what its
    packets decode to, so players trim the zero padding off the end (RFC 7845 section 4.5).
    """
    samples_48k = stream.frame_size * (GRANULE_RATE // stream.sample_rate)
    pages: list[OggPage] = []
    page, granule, page_granules = None, 0, 0
    for packet in stream.packets:
        full = page is not None and (sum(map(_segments, page.packets)) + _segments(packet) > MAX_SEGMENTS
                                     or page_granules + samples_48k > MAX_PAGE_GRANULES)
        if page is None or full:
            page = OggPage()
            page.serial, page.sequence = serial, first_sequence + len(pages)
            pages.append(page)
            page_granules = 0
        page.packets.append(packet)
        granule += samples_48k
        page_granules += samples_48k
        page.position = granule
    pages[-1].position = stream.pre_skip + stream.n_samples * (GRANULE_RATE // stream.sample_rate)
    pages[-1].last = True
    return pages


def _stream_serial(stream: OpusStream) -> int:
    """A serial number fixed by the content, so the same stream always gives the same file bytes,
    while different streams (e.g. chained later) still get different serials."""
    return zlib.crc32(b"".join(stream.packets), stream.n_samples) & 0xFFFFFFFF


def ogg_opus_bytes(stream: OpusStream, *, vendor: str = "acom", tags: dict | None = None) -> bytes:
    """The complete Ogg Opus file for ``stream`` as bytes."""
    if not stream.packets:
        raise ValueError("stream: holds no packets")
    if not 0 <= stream.pre_skip <= 0xFFFF:
        raise ValueError(f"stream: pre_skip {stream.pre_skip} does not fit OpusHead's 16 bits")
    serial = _stream_serial(stream)
    head = OggPage()
    head.serial, head.sequence, head.position, head.first = serial, 0, 0, True
    head.packets = [_opus_head(stream)]
    # OpusTags may span pages (large tags); its pages carry granule 0, audio starts on a fresh page.
    tag_pages = OggPage.from_packets([_opus_tags(vendor, tags)], sequence=1)
    for page in tag_pages:
        page.serial = serial
        page.position = 0 if page.complete else -1
    pages = [head, *tag_pages, *_audio_pages(stream, serial, 1 + len(tag_pages))]
    return b"".join(page.write() for page in pages)


def write_ogg_opus(path: str | os.PathLike, stream: OpusStream, *, vendor: str = "acom",
                   tags: dict | None = None) -> int:
    """Write ``stream`` as an Ogg Opus file (RFC 7845) atomically; return the file size in bytes."""
    data = ogg_opus_bytes(stream, vendor=vendor, tags=tags)
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return len(data)


def _read_pages(data: bytes, path) -> list[OggPage]:
    """Parse every page, checking each one's CRC (mutagen does not on reading; re-serializing a page
    recomputes the CRC, so the re-serialized page must equal the bytes read)."""
    fileobj = io.BytesIO(data)
    pages = []
    while fileobj.tell() < len(data):
        start = fileobj.tell()
        try:
            page = OggPage(fileobj)
        except Exception as err:  # mutagen raises its own error type and EOFError
            raise ValueError(f"{path}: not an Ogg stream at byte {start} ({err})") from err
        if page.write() != data[start : fileobj.tell()]:
            raise ValueError(f"{path}: page {page.sequence} fails its CRC check")
        pages.append(page)
    return pages


def read_ogg_opus(path: str | os.PathLike) -> OpusStream:
    """Read a single-stream mono Ogg Opus file (such as :func:`write_ogg_opus` writes) back."""
    pages = _read_pages(Path(path).read_bytes(), path)
    if len(pages) < 3 or not pages[0].first or not pages[-1].last:
        raise ValueError(f"{path}: expected a BOS head page, tag page(s) and audio pages ending in EOS")
    if any(page.serial != pages[0].serial for page in pages):
        raise ValueError(f"{path}: holds more than one logical stream")
    packets = OggPage.to_packets(pages, strict=True)  # also checks the page sequence numbers
    head = packets[0]
    if len(head) < OPUS_HEAD_BYTES or not head.startswith(b"OpusHead"):
        raise ValueError(f"{path}: first packet is not an OpusHead")
    version, channels, pre_skip, rate, _gain, family = struct.unpack("<BBHIhB", head[8:OPUS_HEAD_BYTES])
    if version >> 4 != 0 or channels != 1 or family != 0:
        raise ValueError(f"{path}: expected a version-0.x mono family-0 stream, got version {version}, "
                         f"{channels} channels, mapping family {family}")
    if rate not in OPUS_RATES:
        raise ValueError(f"{path}: input sample rate {rate} Hz is not an Opus coding rate")
    if not packets[1].startswith(b"OpusTags"):
        raise ValueError(f"{path}: second packet is not an OpusTags")
    audio = packets[2:]
    if not audio:
        raise ValueError(f"{path}: holds no audio packets")
    n_samples = (pages[-1].position - pre_skip) * rate // GRANULE_RATE
    # Frame size from the first packet's TOC byte, as the decoder reads it. The Decoder is kept in a
    # name: its __del__ frees the state, so a temporary would leave a dangling pointer. (opuslib's
    # stateless packet_get_samples_per_frame calls the wrong libopus function.)
    decoder = opuslib.Decoder(rate, 1)
    try:
        frame_size = opuslib.api.decoder.get_nb_samples(decoder.decoder_state, audio[0], len(audio[0]))
    except opuslib.OpusError as err:
        raise ValueError(f"{path}: first audio packet is invalid ({err})") from err
    return OpusStream(packets=audio, sample_rate=rate, pre_skip=pre_skip, n_samples=n_samples,
                      frame_size=frame_size)


class OpusCodec(ClipByClip):
    """Opus at one setting: codes a clip into an Ogg Opus file and hands back the aligned decode."""

    extension = ".opus"

    def __init__(self, *, bitrate_kbps: float, sample_rate: int = 16000, mode: str = "vbr", complexity: int = 10,
                 frame_ms: float = 20, application: str = "audio") -> None:
        # Checked here so a bad configuration fails before any clip is read.
        _check_settings(sample_rate, bitrate_kbps, mode, complexity, frame_ms, application)
        self.bitrate_kbps = float(bitrate_kbps)
        self.sample_rate = int(sample_rate)
        self.mode = mode
        self.complexity = int(complexity)
        self.frame_ms = frame_ms
        self.application = application

    def code(self, clip: np.ndarray, bitstream_path: str | os.PathLike) -> CodedClip:
        """Encode ``clip`` (float, at the coding rate), write its Ogg Opus file, decode it in memory."""
        stream = encode_opus(clip, self.sample_rate, bitrate_kbps=self.bitrate_kbps, mode=self.mode,
                             complexity=self.complexity, frame_ms=self.frame_ms, application=self.application)
        file_bytes = write_ogg_opus(bitstream_path, stream)
        return CodedClip(decode_opus(stream), payload_bytes(stream), file_bytes)

    def code_roi(self, clip: np.ndarray, bitstream_path: str | os.PathLike, roi: Sequence[tuple[float, float]],
                 floor_kbps: float) -> CodedClip:
        """:meth:`code` with the bitrate at ``floor_kbps`` outside ``roi`` (seconds), frame by frame."""
        stream = encode_opus(clip, self.sample_rate, bitrate_kbps=self.bitrate_kbps, mode=self.mode,
                             complexity=self.complexity, frame_ms=self.frame_ms, application=self.application,
                             roi=roi, floor_kbps=floor_kbps)
        file_bytes = write_ogg_opus(bitstream_path, stream)
        return CodedClip(decode_opus(stream), payload_bytes(stream), file_bytes)


def build(params: Mapping[str, Any], kbps: float, *, cache_dir=None, full_codes_dir=None) -> OpusCodec:
    """The ``opus`` registry entry at ``kbps`` (no checkpoint, no derived bitrates)."""
    keys = ("sample_rate", "mode", "complexity", "frame_ms", "application")
    return OpusCodec(bitrate_kbps=kbps, **{k: params[k] for k in keys if k in params})
