"""Model registry: one module per model type, one builder here, one entry in the config.

Adding a model: write ``acom/models/<name>.py`` with a class satisfying
:class:`acom.models.base.AudioModel`, add a builder to ``_BUILDERS`` and, if the model has a fixed
input rate, to ``_FIXED_RATES``; then add a ``models.<name>`` entry with ``type: <name>`` to the
config. Heavy imports (torch, librosa) happen inside builders so the Snakefile can import this
module cheaply to plan the DAG.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping

from acom.models.base import AudioModel, ModelOutput

__all__ = ["AudioModel", "ModelOutput", "MODEL_TYPES", "build_model", "model_downloads", "model_sample_rate"]


def _build_mfcc(params: Mapping[str, Any], cache_dir: Path) -> AudioModel:
    from acom.models.mfcc import MFCCStats

    keys = ("sample_rate", "n_mfcc", "n_mels", "n_fft", "hop_length", "fmin", "fmax")
    return MFCCStats(**{k: params[k] for k in keys if k in params})


def _build_efficientat_mn04(params: Mapping[str, Any], cache_dir: Path) -> AudioModel:
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


_BUILDERS: dict[str, Callable[[Mapping[str, Any], Path], AudioModel]] = {
    "mfcc": _build_mfcc,
    "efficientat_mn04": _build_efficientat_mn04,
}
_FIXED_RATES = {"efficientat_mn04": 32000}

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
    """
    if params["type"] != "efficientat_mn04" or params.get("init", "pretrained") == "random":
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


def build_model(params: Mapping[str, Any], *, cache_dir: str | os.PathLike) -> AudioModel:
    """Build the model configured by ``params`` (a ``models.<name>`` entry with a ``type``)."""
    kind = params["type"]
    if kind not in _BUILDERS:
        raise ValueError(f"unknown model type {kind!r}; known: {list(MODEL_TYPES)}")
    return _BUILDERS[kind](params, Path(cache_dir))
