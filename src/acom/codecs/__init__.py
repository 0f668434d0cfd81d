"""Codec registry: condition names, coding rates, and builders (heavy imports stay inside builders,
so the Snakefile can import this module cheaply to plan the DAG).

A coded condition is named ``<codec>_<kbps>``, e.g. ``opus_12`` or ``encodec24_1.5``: ``<codec>`` is a
``codecs.<name>`` config entry, ``<kbps>`` its nominal bitrate. ``none`` is the uncoded reference.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acom.codecs.base import CodedClip

__all__ = [
    "CODEC_TYPES",
    "ENCODEC_BANDWIDTHS",
    "CodedClip",
    "build_codec",
    "check_codec_config",
    "codec_downloads",
    "codec_sample_rate",
    "condition_name",
    "format_kbps",
    "load_codec_model",
    "parse_condition",
]

@dataclass(frozen=True)
class EncodecSpec:
    """One published EnCodec model.

    package_name: the model's name inside the ``encodec`` package, written into ``.ecdc`` headers.
    sha256_prefix: the package pins only the first 8 hex digits of each checkpoint's sha256, in its
        file name (``encodec_24khz-d7cc33bc.th``; ``torch.hub``'s ``check_hash`` convention, also
        what ``EncodecModel._get_pretrained`` checks). No full sha256 is published, so that prefix
        is what is verified.
    """

    package_name: str
    sample_rate: int
    channels: int
    bandwidths_kbps: tuple[float, ...]
    checkpoint: str
    url: str
    sha256_prefix: str


# Names, URLs and checksum prefixes as in encodec 0.1.1 (model.py: ROOT_URL, encodec_model_24khz,
# encodec_model_48khz); tests check them against the installed package.
ENCODEC_MODELS: dict[str, EncodecSpec] = {
    "encodec24": EncodecSpec(
        package_name="encodec_24khz",
        sample_rate=24000,
        channels=1,
        bandwidths_kbps=(1.5, 3.0, 6.0, 12.0, 24.0),
        checkpoint="encodec_24khz-d7cc33bc.th",
        url="https://dl.fbaipublicfiles.com/encodec/v0/encodec_24khz-d7cc33bc.th",
        sha256_prefix="d7cc33bc",
    ),
    "encodec48": EncodecSpec(
        package_name="encodec_48khz",
        sample_rate=48000,
        channels=2,
        bandwidths_kbps=(3.0, 6.0, 12.0, 24.0),
        checkpoint="encodec_48khz-7e698e3e.th",
        url="https://dl.fbaipublicfiles.com/encodec/v0/encodec_48khz-7e698e3e.th",
        sha256_prefix="7e698e3e",
    ),
}

CODEC_TYPES = ("opus", *ENCODEC_MODELS)
#: Bandwidths (kbps) each EnCodec model was trained for.
ENCODEC_BANDWIDTHS = {name: spec.bandwidths_kbps for name, spec in ENCODEC_MODELS.items()}
#: Opus's coding rates and its documented bitrate range (RFC 6716 section 2.1.1).
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
OPUS_KBPS_RANGE = (6.0, 510.0)


def format_kbps(kbps: float) -> str:
    """``6.0 -> "6"``, ``1.5 -> "1.5"``: the bitrate as written in condition names."""
    return f"{float(kbps):g}"


def condition_name(codec: str, kbps: float) -> str:
    return f"{codec}_{format_kbps(kbps)}"


def parse_condition(condition: str) -> tuple[str, float]:
    """``"encodec24_1.5" -> ("encodec24", 1.5)``; the codec name itself may contain underscores."""
    codec, _, kbps = condition.rpartition("_")
    if not codec:
        raise ValueError(f"{condition!r} is not a coded condition name (<codec>_<kbps>)")
    return codec, float(kbps)


def codec_sample_rate(params: Mapping[str, Any]) -> int:
    """Sample rate (Hz) the codec configured by ``params`` (a ``codecs.<name>`` entry) codes at."""
    kind = params["type"]
    if kind == "opus":
        return int(params.get("sample_rate", 16000))
    return ENCODEC_MODELS[kind].sample_rate


def check_codec_config(name: str, params: Mapping[str, Any]) -> list[str]:
    """Problems with one ``codecs.<name>`` entry that depend on its codec type (the schema checks only
    that bitrates are numbers and the rate an integer): bitrates and sample rates the codec lacks,
    each naming the key, the value and what the codec supports."""
    kind, problems = params["type"], []
    for kbps in params["bitrates_kbps"]:
        if kind == "opus" and not OPUS_KBPS_RANGE[0] <= kbps <= OPUS_KBPS_RANGE[1]:
            problems.append(f"codecs.{name}.bitrates_kbps: {kbps} is outside Opus's bitrate range, "
                            f"{OPUS_KBPS_RANGE[0]:g} to {OPUS_KBPS_RANGE[1]:g} kbps")
        if kind in ENCODEC_BANDWIDTHS and float(kbps) not in ENCODEC_BANDWIDTHS[kind]:
            problems.append(f"codecs.{name}.bitrates_kbps: {kind} has no {kbps} kbps mode; "
                            f"supported: {list(ENCODEC_BANDWIDTHS[kind])}")
    rate = params.get("sample_rate")
    if kind == "opus" and rate is not None and rate not in OPUS_RATES:
        problems.append(f"codecs.{name}.sample_rate: {rate} Hz is not an Opus coding rate; Opus codes at "
                        f"{list(OPUS_RATES)} Hz only")
    if kind in ENCODEC_MODELS and rate is not None and rate != ENCODEC_MODELS[kind].sample_rate:
        problems.append(f"codecs.{name}.sample_rate: {kind} codes at {ENCODEC_MODELS[kind].sample_rate} Hz only, "
                        f"not {rate} Hz (the workflow resamples clips to it); remove the key")
    return problems


def codec_downloads(params: Mapping[str, Any]) -> dict[str, str]:
    """Checkpoint file name of an EnCodec entry that downloads its weights (``weights: null``)."""
    if params["type"] in ENCODEC_BANDWIDTHS and params.get("init", "pretrained") == "pretrained" \
            and params.get("weights") is None:
        return {"weights": ENCODEC_MODELS[params["type"]].checkpoint}
    return {}


def load_codec_model(params: Mapping[str, Any], *, cache_dir: str | os.PathLike):
    """The neural model behind an EnCodec entry (loaded once per job)."""
    from acom.codecs.encodec_codec import load_encodec

    return load_encodec(params["type"], weights=params.get("weights"), cache_dir=Path(cache_dir),
                        init=params.get("init", "pretrained"), device=params.get("device", "auto"),
                        seed=int(params.get("seed", 0)))


def build_codec(params: Mapping[str, Any], kbps: float, *, cache_dir: str | os.PathLike,
                full_codes_dir: str | os.PathLike | None = None):
    """The codec configured by ``params`` at ``kbps``: an object with ``sample_rate``, ``extension``
    and ``code_batch(clips, bitstream_paths) -> list[CodedClip]``. For EnCodec, ``full_codes_dir``
    holds the clips' codes at the highest bandwidth, from which this bitrate is derived."""
    kind = params["type"]
    if kind == "opus":
        from acom.codecs.opus import OpusCodec

        keys = ("sample_rate", "mode", "complexity", "frame_ms", "application")
        return OpusCodec(bitrate_kbps=kbps, **{k: params[k] for k in keys if k in params})
    if kind in ENCODEC_BANDWIDTHS:
        from acom.codecs.encodec_codec import EncodecCodec

        return EncodecCodec(load_codec_model(params, cache_dir=cache_dir), name=kind, bandwidth_kbps=kbps,
                            full_codes_dir=full_codes_dir)
    raise ValueError(f"unknown codec type {kind!r}; known: {list(CODEC_TYPES)}")
