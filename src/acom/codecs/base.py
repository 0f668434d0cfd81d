"""What every codec provides to the codec stage, and what its registry entry declares."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from acom.registry import ConfigKey, Download


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


class Codec(Protocol):
    """A codec at one setting and bitrate, as :func:`acom.codecs.build_codec` returns it."""

    #: The coding rate in Hz: clips come in at this rate and decodes go out at it.
    sample_rate: int
    #: File extension of the bitstreams it writes (``.opus``, ``.ecdc``, ...).
    extension: str

    def code_batch(self, clips: Sequence[np.ndarray], bitstream_paths: Sequence[str | os.PathLike]
                   ) -> list[CodedClip]:
        """Code each clip (float32 mono at ``sample_rate``) into its bitstream file and return the
        decodes, aligned with the inputs and of their lengths."""
        ...


class ClipByClip:
    """Base of codecs that code one clip at a time (libopus, LAME, ...): ``code_batch`` calls the
    subclass's ``code(clip, bitstream_path) -> CodedClip`` for each clip, as batching buys nothing."""

    def code_batch(self, clips: Sequence[np.ndarray], bitstream_paths: Sequence[str | os.PathLike]
                   ) -> list[CodedClip]:
        if len(clips) != len(bitstream_paths):
            raise ValueError(f"{len(clips)} clips but {len(bitstream_paths)} bitstream paths")
        return [self.code(clip, path) for clip, path in zip(clips, bitstream_paths)]


@dataclass(frozen=True)
class CodecSpec:
    """One codec type of the registry (:data:`acom.codecs.CODECS`).

    build: ``"module:function"``, called as ``function(params, kbps, *, cache_dir, full_codes_dir)``
        with the entry's parameters (its type's defaults filled in) and returning a :class:`Codec`.
    title: the codec's name in messages.
    sample_rates: the coding rates it supports; ``default_rate`` when the entry sets none. A codec
        with one rate takes no ``sample_rate`` key.
    kbps_range: (lowest, highest) nominal kbps for codecs with a continuous bitrate; ``kbps_modes``
        the bitrates of one with discrete modes (at most one of the two; neither when the allowed
        bitrates depend on the entry's rate or mode, which ``check`` then decides).
    keys: the config keys this type reads besides the common ones (``type``, ``bitrates_kbps``,
        ``sample_rate``, ``batch_size``).
    files: checkpoints the entry's keys name and where they come from (fetched when the key is null).
    encode_full: for codecs whose every bitrate is derived from one encoding at the highest
        (EnCodec's residual codebooks): ``"module:function"`` of that encoding, run once per fold.
    clip_threads: the codec's library codes one clip on one core and releases the GIL (libopus,
        LAME, ... through ctypes or cffi): a job codes its clips on a pool of its threads and never
        loads torch. Otherwise (EnCodec) the library uses the job's threads itself.
    allocates_bits: the codec can spend its bits by region (``code_roi(clip, path, roi, floor_kbps)``):
        the region at the condition's bitrate, the rest at a floor (``rendering: bits`` filters).
    check: ``"module:function"`` called as ``function(name, params) -> list[str]`` at planning, for
        problems the static fields cannot express (e.g. MP3's frame bitrates at the entry's rate),
        each message naming ``codecs.<name>.<key>``, the value and what the codec supports.
    """

    type: str
    build: str
    title: str
    sample_rates: tuple[int, ...]
    default_rate: int
    kbps_range: tuple[float, float] | None = None
    kbps_modes: tuple[float, ...] | None = None
    keys: Mapping[str, ConfigKey] = field(default_factory=dict)
    files: Mapping[str, Download] = field(default_factory=dict)
    encode_full: str | None = None
    clip_threads: bool = False
    allocates_bits: bool = False
    check: str | None = None
