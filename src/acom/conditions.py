"""Names of the conditions audio is evaluated under, and the bitrate each stands for.

A coded condition is named ``<codec>_<kbps>``: ``<codec>`` is a ``codecs.<name>`` config entry and
``<kbps>`` its nominal bitrate as :func:`format_kbps` writes it (``opus_12``, ``encodec24_1.5``).
``none`` is the uncoded reference. Every path, table and plot uses these names, and this module is
the one place that writes and reads them.
"""

from __future__ import annotations

UNCODED = "none"


def format_kbps(kbps: float) -> str:
    """``6.0 -> "6"``, ``1.5 -> "1.5"``: the bitrate as written in condition names."""
    return f"{float(kbps):g}"


def condition_name(codec: str, kbps: float) -> str:
    """``("opus", 12.0) -> "opus_12"``."""
    return f"{codec}_{format_kbps(kbps)}"


def parse_condition(condition: str) -> tuple[str, float]:
    """``"encodec24_1.5" -> ("encodec24", 1.5)``; the codec name itself may contain underscores.
    ``ValueError`` for anything else (``none`` included: it is not a coded condition)."""
    codec, _, kbps = condition.rpartition("_")
    try:
        value = float(kbps)
    except ValueError:
        value = None
    if not codec or value is None:
        raise ValueError(f"{condition!r} is not a coded condition name (<codec>_<kbps>)")
    return codec, value


def codec_family(condition: str) -> str:
    """The codec entry of a condition (``opus_12 -> opus``); ``none`` stays ``none``."""
    return condition if condition == UNCODED else parse_condition(condition)[0]


def pcm_kbps(sample_rate: int, bits_per_sample: int = 16, channels: int = 1) -> float:
    """Bitrate in kbit/s of uncompressed PCM audio: the rate an uncoded condition stands for."""
    return sample_rate * bits_per_sample * channels / 1000.0


def nominal_kbps(condition: str, sample_rate: int) -> float:
    """The nominal bitrate of a condition: the codec's target, or for the uncoded reference the
    16-bit PCM rate at ``sample_rate`` (the rate of the audio the model is fed)."""
    return pcm_kbps(sample_rate) if condition == UNCODED else parse_condition(condition)[1]
