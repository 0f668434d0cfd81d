"""Model registry: one module per model type, one builder here, one entry in the config.

Adding a model: write ``acom/models/<name>.py`` with a class satisfying
:class:`acom.models.base.AudioModel`, add a builder to ``_BUILDERS`` and, if the model has a fixed
input rate, to ``_FIXED_RATES``; then add a ``models.<name>`` entry with ``type: <name>`` to the
config. Heavy imports (torch, librosa, transformers) happen inside builders so the Snakefile can
import this module cheaply to plan the DAG. A builder receives the entry's parameters, the download
cache folder and the entry's config key prefix (``models.<name>``) for its error messages.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from acom.models.base import AudioModel, ModelOutput

__all__ = [
    "AUTOCAST_MODES",
    "MODEL_TYPES",
    "AudioModel",
    "ModelOutput",
    "autocast_dtype",
    "build_model",
    "model_downloads",
    "model_sample_rate",
]

#: Values of a model entry's ``autocast`` key: mixed precision on CUDA only (CPU always runs float32).
AUTOCAST_MODES = ("none", "bf16", "fp16")


def autocast_dtype(mode: str | None, device: Any, *, config_key: str = "autocast"):
    """The torch dtype to autocast to on ``device``, or None: ``mode`` (``none``, ``bf16``, ``fp16``;
    null means none) applies only on CUDA, so a CPU run stays float32 and deterministic."""
    mode = "none" if mode in (None, False) else str(mode)
    if mode not in AUTOCAST_MODES:
        raise ValueError(f"{config_key}: expected one of {list(AUTOCAST_MODES)}, got {mode!r}")
    if mode == "none":
        return None
    import torch

    if torch.device(device).type != "cuda":
        return None
    return torch.bfloat16 if mode == "bf16" else torch.float16


def autocast_context(dtype):
    """The context a model runs its network under: CUDA autocast to ``dtype`` (from
    :func:`autocast_dtype`), or nothing when that is None."""
    import contextlib

    import torch

    return contextlib.nullcontext() if dtype is None else torch.autocast(device_type="cuda", dtype=dtype)


def autocast_name(dtype) -> str:
    """``none``, ``bfloat16`` or ``float16``: the autocast a model's metadata records."""
    return "none" if dtype is None else str(dtype).removeprefix("torch.")


def _build_mfcc(params: Mapping[str, Any], cache_dir: Path, config_key: str) -> AudioModel:
    from acom.models.mfcc import MFCCStats

    keys = ("sample_rate", "n_mfcc", "n_mels", "n_fft", "hop_length", "fmin", "fmax")
    return MFCCStats(**{k: params[k] for k in keys if k in params})


def _build_efficientat_mn04(params: Mapping[str, Any], cache_dir: Path, config_key: str) -> AudioModel:
    from acom.models import efficientat

    labels = None
    if params.get("init", "pretrained") == "random":
        # Explicit test option only: never reached unless the config says init: random.
        state = None
    else:
        state = efficientat.load_mn04_state(
            params.get("weights"), cache_dir=cache_dir, sha256=params.get("sha256", MN04_SHA256)
        )
        labels = read_audioset_labels(params.get("labels"), cache_dir=cache_dir)
    return efficientat.EfficientATMN04(
        state, labels=labels, device=params.get("device", "auto"),
        batch_size=int(params.get("batch_size", 32)), seed=int(params.get("seed", 0)),
    )


def _build_ast(params: Mapping[str, Any], cache_dir: Path, config_key: str) -> AudioModel:
    from acom.models import ast

    return ast.build_ast(params, config_key=config_key)


def _build_beats(params: Mapping[str, Any], cache_dir: Path, config_key: str) -> AudioModel:
    from acom.models import beats

    return beats.build_beats(params, cache_dir=cache_dir, config_key=config_key)


_BUILDERS: dict[str, Callable[[Mapping[str, Any], Path, str], AudioModel]] = {
    "mfcc": _build_mfcc,
    "efficientat_mn04": _build_efficientat_mn04,
    "ast": _build_ast,
    "beats": _build_beats,
}
_FIXED_RATES = {"efficientat_mn04": 32000, "ast": 16000, "beats": 16000}

MODEL_TYPES = tuple(sorted(_BUILDERS))

#: EfficientAT's official mn04_as release (AudioSet mAP 0.432) and its sha256.
MN04_URL = "https://github.com/fschmid56/EfficientAT/releases/download/v0.0.1/mn04_as_mAP_432.pt"
MN04_SHA256 = "899a8c6217063f6941793102a2780b3dd788ab11fce468d9cf5f0577c453321c"
MN04_FILENAME = "mn04_as_mAP_432.pt"

#: AudioSet's official label file (527 classes in output order) and its sha256.
AUDIOSET_LABELS_URL = "http://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv/class_labels_indices.csv"
AUDIOSET_LABELS_SHA256 = "cdd1049833c4b86127c2773ac0d14a2754b6a6d0d1798002ed5c66e699708429"


def model_sample_rate(params: Mapping[str, Any]) -> int:
    """Input sample rate (Hz) of the model configured by ``params`` (a ``models.<name>`` entry)."""
    kind = params["type"]
    if kind in _FIXED_RATES:
        return _FIXED_RATES[kind]
    return int(params["sample_rate"])


def model_downloads(params: Mapping[str, Any]) -> dict[str, tuple[str, str, str]]:
    """Files this model fetches because their config key is null: {config key: (url, sha256, file name)}.

    The workflow downloads each once into ``resources/models/<model>/`` (a rule of its own, so
    parallel jobs never race on it) and passes the local path under the same key.

    AST loads through transformers' own Hugging Face cache (``HF_HOME``, ``HF_HUB_OFFLINE``), so it
    needs no download here. BEATs checkpoints have no sha256-pinned source: ``weights`` must be a
    local file; only the AudioSet label names (for fine-tuned checkpoints with a head) are fetched.
    """
    if params.get("init", "pretrained") == "random":
        return {}
    if params["type"] == "beats":
        if params.get("labels") is None:
            return {"labels": (AUDIOSET_LABELS_URL, AUDIOSET_LABELS_SHA256, "class_labels_indices.csv")}
        return {}
    if params["type"] != "efficientat_mn04":
        return {}
    sources = {
        "weights": (MN04_URL, MN04_SHA256, MN04_FILENAME),
        "labels": (AUDIOSET_LABELS_URL, AUDIOSET_LABELS_SHA256, "class_labels_indices.csv"),
    }
    return {key: source for key, source in sources.items() if params.get(key) is None}


def read_audioset_labels(path: str | os.PathLike | None, *, cache_dir: Path) -> list[str]:
    """The 527 AudioSet display names in output order, from ``path`` or, when None, the official file
    (downloaded, sha256-checked, into ``cache_dir``)."""
    from acom.download import download
    from acom.models.efficientat import read_audioset_labels as read_labels_csv

    if path is None:
        path = download(AUDIOSET_LABELS_URL, Path(cache_dir) / "class_labels_indices.csv", AUDIOSET_LABELS_SHA256)
    return read_labels_csv(path)


def build_model(
    params: Mapping[str, Any], *, cache_dir: str | os.PathLike, name: str | None = None
) -> AudioModel:
    """Build the model configured by ``params`` (a ``models.<name>`` entry with a ``type``).

    ``name`` is the entry's name in the config, used so errors name the exact key to fix
    (``models.<name>.weights``); without it they name ``models.<type>``.
    """
    kind = params["type"]
    if kind not in _BUILDERS:
        raise ValueError(f"unknown model type {kind!r}; known: {list(MODEL_TYPES)}")
    return _BUILDERS[kind](params, Path(cache_dir), f"models.{name or kind}")
