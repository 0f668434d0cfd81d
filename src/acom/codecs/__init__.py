"""The codec registry: every codec type the config can name, with its coding rates, its bitrates,
the keys it reads and where its checkpoints come from.

Adding a codec: a module ``acom/codecs/<name>.py`` with a ``build(params, kbps, *, cache_dir,
full_codes_dir)`` function returning a :class:`~acom.codecs.base.Codec`, and one
:class:`~acom.codecs.base.CodecSpec` below. The config schema's codec types and keys, the config
checks (rates, bitrates, unknown keys, weights) and the codec stage all follow from the spec. The
registry is plain data: the workflow plans without importing a codec library or torch.

Coded conditions are named ``<codec>_<kbps>`` (:mod:`acom.conditions`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acom.codecs.base import Codec, CodecSpec, CodedClip
from acom.registry import ConfigKey, Download, Registry, resolve, with_defaults

__all__ = ["CODECS", "Codec", "CodecSpec", "CodedClip", "build_codec", "check_codec_config", "codec_downloads",
           "codec_sample_rate"]

_ENCODEC_KEYS = {
    "weights": ConfigKey({"type": ["string", "null"]}, None, "local EnCodec checkpoint; null downloads the official "
                         "one (checksum-verified)", checkpoint=True),
    "init": ConfigKey({"type": "string", "enum": ["pretrained", "random"]}, "pretrained",
                      "random is a test option: seeded random weights, never used unless asked for"),
    "seed": ConfigKey({"type": "integer"}, 0),
    "device": ConfigKey({"type": "string", "pattern": "^(auto|cpu|cuda(:[0-9]+)?)$"}, "auto"),
}
# EnCodec's checkpoints as encodec 0.1.1 names them (model.py: ROOT_URL): the package pins only the
# first 8 hex digits of each sha256, in the file name (torch.hub's check_hash convention).
_ENCODEC_ROOT = "https://dl.fbaipublicfiles.com/encodec/v0/"

CODECS: Registry[CodecSpec] = Registry("codec", (
    CodecSpec(
        type="opus",
        build="acom.codecs.opus:build",
        title="Opus",
        # Opus's coding rates and documented bitrate range (RFC 6716 section 2.1.1); libopus silently
        # clamps outside it, which would make a condition's nominal bitrate a lie.
        sample_rates=(8000, 12000, 16000, 24000, 48000),
        default_rate=16000,
        kbps_range=(6.0, 510.0),
        keys={
            "mode": ConfigKey({"type": "string", "enum": ["vbr", "cvbr", "cbr"]}, "vbr",
                              "rate control: VBR, constrained VBR or CBR"),
            "complexity": ConfigKey({"type": "integer", "minimum": 0, "maximum": 10}, 10),
            "frame_ms": ConfigKey({"type": "number", "enum": [2.5, 5, 10, 20, 40, 60]}, 20),
            "application": ConfigKey({"type": "string", "enum": ["audio", "voip", "restricted_lowdelay"]}, "audio"),
        },
        clip_threads=True,
        allocates_bits=True,
    ),
    CodecSpec(
        type="mp3",
        build="acom.codecs.mp3:build",
        title="MP3",
        # MPEG-2.5, MPEG-2 (LSF) and MPEG-1 Layer III rates; the frame bitrates depend on the version.
        sample_rates=(8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
        default_rate=16000,
        keys={
            "mode": ConfigKey({"type": "string", "enum": ["cbr", "abr"]}, "cbr",
                              "cbr: every frame at the bitrate; abr: LAME's average bitrate (variable frames)"),
            "quality": ConfigKey({"type": "integer", "minimum": 0, "maximum": 9}, 3,
                                 "LAME's algorithm quality (-q): 0 best and slowest, 9 fastest"),
        },
        clip_threads=True,
        check="acom.codecs.mp3:check_config",
    ),
    CodecSpec(
        type="aac",
        build="acom.codecs.aac:build",
        title="AAC",
        sample_rates=(8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
        default_rate=16000,
        keys={
            "coder": ConfigKey({"type": "string", "enum": ["twoloop", "fast"]}, "twoloop",
                               "FFmpeg's AAC quantisation search: twoloop (best) or fast"),
        },
        clip_threads=True,
        check="acom.codecs.aac:check_config",
    ),
    CodecSpec(
        type="vorbis",
        build="acom.codecs.vorbis:build",
        title="Vorbis",
        # Rates libvorbis has tuning tables for; the nominal bitrates each quality declares depend on it.
        sample_rates=(8000, 11025, 16000, 22050, 32000, 44100, 48000),
        default_rate=16000,
        clip_threads=True,
        check="acom.codecs.vorbis:check_config",
    ),
    CodecSpec(
        type="lc3",
        build="acom.codecs.lc3:build",
        title="LC3",
        sample_rates=(8000, 16000, 24000, 32000, 48000),
        default_rate=16000,
        keys={
            "frame_ms": ConfigKey({"type": "number", "enum": [7.5, 10]}, 10),
        },
        clip_threads=True,
        check="acom.codecs.lc3:check_config",
    ),
    CodecSpec(
        type="encodec24",
        build="acom.codecs.encodec:build",
        title="EnCodec 24 kHz",
        sample_rates=(24000,),
        default_rate=24000,
        kbps_modes=(1.5, 3.0, 6.0, 12.0, 24.0),
        keys=_ENCODEC_KEYS,
        files={"weights": Download(_ENCODEC_ROOT + "encodec_24khz-d7cc33bc.th", "encodec_24khz-d7cc33bc.th",
                                   sha256_prefix="d7cc33bc")},
        encode_full="acom.codecs.encodec:encode_fold_full_bandwidth",
    ),
    CodecSpec(
        type="encodec48",
        build="acom.codecs.encodec:build",
        title="EnCodec 48 kHz",
        sample_rates=(48000,),
        default_rate=48000,
        kbps_modes=(3.0, 6.0, 12.0, 24.0),
        keys=_ENCODEC_KEYS,
        files={"weights": Download(_ENCODEC_ROOT + "encodec_48khz-7e698e3e.th", "encodec_48khz-7e698e3e.th",
                                   sha256_prefix="7e698e3e")},
        encode_full="acom.codecs.encodec:encode_fold_full_bandwidth",
    ),
))


def _a(title: str) -> str:
    """The indefinite article for ``title`` (``an Opus``, ``an MP3``, ``a Vorbis``)."""
    initialism = title[:2].isupper() and title[0] in "FHLMNRSX"
    return "an" if title[0].upper() in "AEIOU" or initialism else "a"


def codec_sample_rate(params: Mapping[str, Any]) -> int:
    """Sample rate (Hz) the codec configured by ``params`` (a ``codecs.<name>`` entry) codes at."""
    spec = CODECS[params["type"]]
    return int(params.get("sample_rate") or spec.default_rate)


def check_codec_config(name: str, params: Mapping[str, Any]) -> list[str]:
    """Problems with one ``codecs.<name>`` entry that depend on its codec type (the schema checks only
    that bitrates are numbers and the rate an integer): bitrates and sample rates the codec lacks,
    each naming the key, the value and what the codec supports."""
    spec, problems = CODECS[params["type"]], []
    for kbps in params["bitrates_kbps"]:
        if spec.kbps_range is not None and not spec.kbps_range[0] <= kbps <= spec.kbps_range[1]:
            low, high = spec.kbps_range
            problems.append(f"codecs.{name}.bitrates_kbps: {kbps} is outside {spec.title}'s bitrate range, "
                            f"{low:g} to {high:g} kbps")
        if spec.kbps_modes is not None and float(kbps) not in spec.kbps_modes:
            problems.append(f"codecs.{name}.bitrates_kbps: {spec.type} has no {kbps} kbps mode; "
                            f"supported: {list(spec.kbps_modes)}")
    rate = params.get("sample_rate")
    if spec.check is not None and (rate is None or rate in spec.sample_rates):
        problems += resolve(spec.check)(name, with_defaults(params, spec))
    if rate is not None and len(spec.sample_rates) == 1 and rate != spec.sample_rates[0]:
        problems.append(f"codecs.{name}.sample_rate: {spec.type} codes at {spec.sample_rates[0]} Hz only, "
                        f"not {rate} Hz (the workflow resamples clips to it); remove the key")
    elif rate is not None and rate not in spec.sample_rates:
        problems.append(f"codecs.{name}.sample_rate: {rate} Hz is not {_a(spec.title)} {spec.title} coding rate; "
                        f"{spec.title} codes at {list(spec.sample_rates)} Hz only")
    return problems


def codec_downloads(params: Mapping[str, Any]) -> dict[str, Download]:
    """Checkpoints of a codec entry that the workflow downloads because their key is null (and the
    entry is not ``init: random``): {config key: Download}."""
    if params.get("init", "pretrained") != "pretrained":
        return {}
    return {key: download for key, download in CODECS[params["type"]].files.items() if params.get(key) is None}


def build_codec(params: Mapping[str, Any], kbps: float, *, cache_dir: str | os.PathLike,
                full_codes_dir: str | os.PathLike | None = None) -> Codec:
    """The codec configured by ``params`` (a ``codecs.<name>`` entry) at ``kbps``. For codecs whose
    bitrates derive from one encoding (EnCodec), ``full_codes_dir`` holds the clips' codes at the
    highest bitrate."""
    spec = CODECS[params["type"]]
    return resolve(spec.build)(with_defaults(params, spec), kbps, cache_dir=Path(cache_dir),
                               full_codes_dir=full_codes_dir)


def encode_full_bitrate(params: Mapping[str, Any], clips, *, cache_dir: str | os.PathLike,
                        out_dir: str | os.PathLike) -> int:
    """Encode a fold manifest's clips once at the codec's highest bitrate into ``out_dir`` (codecs
    with ``encode_full``); returns the number of clips."""
    spec = CODECS[params["type"]]
    if spec.encode_full is None:
        raise ValueError(f"codec type {spec.type} derives no bitrate from a full encoding")
    return resolve(spec.encode_full)(with_defaults(params, spec), clips, cache_dir=Path(cache_dir), out_dir=out_dir)
