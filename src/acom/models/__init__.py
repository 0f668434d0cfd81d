"""The model registry: every model type the config can name, with the keys it reads, its input rate
and where its checkpoints come from.

Adding a model: a module ``acom/models/<name>.py`` with a class satisfying
:class:`acom.models.base.AudioModel` and a ``build(params, *, cache_dir, config_key)`` function, and
one :class:`~acom.models.base.ModelSpec` below. The config schema's model types and keys, the config
checks, the download rules and the embedding stage all follow from the spec. The registry is plain
data, so the workflow plans its DAG without importing torch: the module named in ``build`` is
imported only when a job builds the model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acom import audioset
from acom.models.base import AudioModel, ModelFile, ModelOutput, ModelSpec
from acom.registry import ConfigKey, Download, Registry, resolve, with_defaults

__all__ = ["MODELS", "AudioModel", "ModelOutput", "ModelSpec", "build_model", "model_downloads", "model_sample_rate"]

_PATH = {"type": ["string", "null"]}
_SHA256 = {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"}
_AUTOCAST = ConfigKey({"type": "string", "enum": ["none", "bf16", "fp16"]}, "none",
                      "mixed precision on CUDA only; CPU always runs float32")
_OVERRIDES = ConfigKey({"type": "object"}, description="init: random only (tests): architecture overrides")

#: AudioSet's label file, the ``labels`` key of models with an AudioSet head.
AUDIOSET_LABELS = ModelFile(
    help="set it to a local AudioSet class_labels_indices.csv or to null to download the official file",
    download=Download(audioset.LABELS_URL, audioset.LABELS_FILENAME, sha256=audioset.LABELS_SHA256),
)
_LABELS_KEY = ConfigKey(_PATH, None, "AudioSet class_labels_indices.csv; null downloads the official file",
                        checkpoint=True)

#: EfficientAT's official mn04_as release (AudioSet mAP 0.432).
MN04_WEIGHTS = Download("https://github.com/fschmid56/EfficientAT/releases/download/v0.0.1/mn04_as_mAP_432.pt",
                        "mn04_as_mAP_432.pt",
                        sha256="899a8c6217063f6941793102a2780b3dd788ab11fce468d9cf5f0577c453321c")

AST_DEFAULT_HUB_ID = "MIT/ast-finetuned-audioset-10-10-0.4593"
#: Where AST checkpoints come from ({hub}: a hub id, {entry}: the entry's config key).
AST_WEIGHTS_HELP = ("the checkpoint comes from https://huggingface.co/{hub}: load it once with network access (it is "
                    "cached under HF_HOME; with HF_HUB_OFFLINE=1 only the cache is read), or set {entry}.weights to a "
                    "local directory written by save_pretrained (model and feature extractor)")

BEATS_SOURCE_URL = "https://github.com/microsoft/unilm/tree/master/beats"
#: Where BEATs checkpoints come from ({entry}: the entry's config key).
BEATS_WEIGHTS_HELP = ("download an official checkpoint (e.g. BEATs_iter3_plus_AS2M.pt, or "
                      "BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt2.pt for AudioSet predictions) from "
                      f"{BEATS_SOURCE_URL} and set {{entry}}.weights to its path")


MODELS: Registry[ModelSpec] = Registry("model", (
    ModelSpec(
        type="mfcc",
        build="acom.models.mfcc:build",
        title="MFCC",
        keys={
            "sample_rate": ConfigKey({"type": "integer", "enum": [8000, 16000, 22050, 24000, 32000, 44100, 48000]},
                                     16000, "input rate (Hz) clips are resampled to"),
            "n_mfcc": ConfigKey({"type": "integer", "minimum": 1, "maximum": 128}, 40),
            "n_mels": ConfigKey({"type": "integer", "minimum": 8, "maximum": 512}, 128),
            "n_fft": ConfigKey({"type": "integer", "minimum": 64}, 1024),
            "hop_length": ConfigKey({"type": "integer", "minimum": 1}, 256),
            "fmin": ConfigKey({"type": "number", "minimum": 0}, 0.0),
            "fmax": ConfigKey({"type": ["number", "null"], "exclusiveMinimum": 0}, None),
        },
        clip_threads=True,
    ),
    ModelSpec(
        type="efficientat_mn04",
        build="acom.models.efficientat:build",
        title="EfficientAT mn04",
        sample_rate=32000,
        keys={
            "weights": ConfigKey(_PATH, None, "local mn04_as_mAP_432.pt; null downloads the official release "
                                 "(sha256-checked)", checkpoint=True),
            "sha256": ConfigKey(_SHA256, description="expected sha256 of weights (default: the official "
                                "release's); null skips the check", checkpoint=True),
            "labels": _LABELS_KEY,
            "autocast": _AUTOCAST,
        },
        files={
            "weights": ModelFile(help=f"set it to a local {MN04_WEIGHTS.filename} or to null to download the "
                                      f"official release ({MN04_WEIGHTS.url})", download=MN04_WEIGHTS),
            "labels": AUDIOSET_LABELS,
        },
    ),
    ModelSpec(
        type="ast",
        build="acom.models.ast:build",
        title="AST",
        sample_rate=16000,
        keys={
            "weights": ConfigKey(_PATH, None, f"hub id or local save_pretrained directory; null = "
                                 f"{AST_DEFAULT_HUB_ID}", checkpoint=True),
            "revision": ConfigKey({"type": ["string", "null"]}, None, "hub revision (commit, tag or branch) of a "
                                  "hub id", checkpoint=True),
            "max_length": ConfigKey({"type": "integer", "minimum": 16}, 1024, "fbank frames (10 ms) clips are "
                                    "zero-padded/cropped to; 1024 = 10.24 s as published"),
            "autocast": _AUTOCAST,
            "config_overrides": _OVERRIDES,
        },
        files={"weights": ModelFile(help=AST_WEIGHTS_HELP.format(hub=AST_DEFAULT_HUB_ID, entry="{entry}"),
                                    kind="hub_or_dir")},
    ),
    ModelSpec(
        type="beats",
        build="acom.models.beats:build",
        title="BEATs",
        sample_rate=16000,
        keys={
            "weights": ConfigKey(_PATH, None, "local official checkpoint file (required unless init: random)",
                                 checkpoint=True),
            "sha256": ConfigKey(_SHA256, description="expected sha256 of weights; null skips the check",
                                checkpoint=True),
            "labels": _LABELS_KEY,
            "clip_seconds": ConfigKey({"type": ["number", "null"], "minimum": 0.175}, 10.0, "seconds clips are "
                                      "zero-padded at the end / cropped to; null keeps each clip's length"),
            "autocast": _AUTOCAST,
            "config_overrides": _OVERRIDES,
        },
        files={"weights": ModelFile(help=BEATS_WEIGHTS_HELP, required=True), "labels": AUDIOSET_LABELS},
    ),
))


def is_local_source(source: str) -> bool:
    """True when a ``hub_or_dir`` key (AST's ``weights``) names a directory (an existing one, or one
    written as a path: absolute, ``./``, ``../``, ``~`` or more than one ``/``), False for a hub id
    such as ``org/name``."""
    if Path(source).expanduser().exists():
        return True
    return source.startswith(("/", "./", "../", "~", ".\\")) or source.count("/") > 1


def model_sample_rate(params: Mapping[str, Any]) -> int:
    """Input sample rate (Hz) of the model configured by ``params`` (a ``models.<name>`` entry)."""
    spec = MODELS[params["type"]]
    return spec.sample_rate or int(with_defaults(params, spec)["sample_rate"])


def model_downloads(params: Mapping[str, Any]) -> dict[str, Download]:
    """Files this model fetches because their config key is null: {config key: Download}.

    The workflow downloads each once into ``resources/models/<model>/`` (a rule of its own, so
    parallel jobs never race on it) and passes the local path under the same key. A random-init
    model (a test option) reads no file.
    """
    if params.get("init", "pretrained") == "random":
        return {}
    files = MODELS[params["type"]].files
    return {key: file.download for key, file in files.items() if file.download and params.get(key) is None}


def read_audioset_labels(path: str | os.PathLike | None, *, cache_dir: str | os.PathLike) -> list[str]:
    """The 527 AudioSet display names in output order, from ``path`` or, when None, the official
    file (downloaded, sha256-checked, into ``cache_dir``)."""
    return audioset.read_labels(audioset.labels_file(path, cache_dir=cache_dir))


def build_model(params: Mapping[str, Any], *, cache_dir: str | os.PathLike, name: str | None = None) -> AudioModel:
    """Build the model configured by ``params`` (a ``models.<name>`` entry with a ``type``).

    ``name`` is the entry's name in the config, used so errors name the exact key to fix
    (``models.<name>.weights``); without it they name ``models.<type>``.
    """
    spec = MODELS[params["type"]]
    return resolve(spec.build)(with_defaults(params, spec), cache_dir=Path(cache_dir),
                               config_key=f"models.{name or spec.type}")
