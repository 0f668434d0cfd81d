"""Validation of the workflow config: the JSON schema (types, ranges, unknown keys) and the checks it
cannot express (cross-references between keys, what each model and codec type supports, that the
weight files the config names exist). Every problem names its key, the value and the fix; all of them
are reported at once, before any job runs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acom.codecs import ENCODEC_MODELS, check_codec_config, parse_condition
from acom.models import MN04_FILENAME, MN04_URL, model_sample_rate

#: The workflow's config schema (this package is imported from the checkout, beside workflow/).
SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"

#: Keys each naive filter type requires.
_NAIVE_KEYS = {"lowpass": ("cutoff_hz",), "highpass": ("cutoff_hz",), "bandpass": ("low_hz", "high_hz")}

#: Keys of a ``models.<name>`` entry that each model type reads. The schema allows the union; a key
#: another type reads would be ignored silently, so it is an error. Every type takes the common keys
#: (init, seed and device get schema defaults on every entry; MFCC has no weights or device to use).
_MODEL_COMMON_KEYS = ("type", "batch_size", "top_k", "resources", "init", "seed", "device")
_MODEL_KEYS = {
    "mfcc": ("sample_rate", "n_mfcc", "n_mels", "n_fft", "hop_length", "fmin", "fmax"),
    "efficientat_mn04": ("weights", "sha256", "labels"),
    "ast": ("weights", "revision", "max_length", "autocast", "config_overrides"),
    "beats": ("weights", "sha256", "labels", "clip_seconds", "autocast", "config_overrides"),
}
#: The same for ``codecs.<name>`` entries (sample_rate: see acom.codecs.check_codec_config).
_CODEC_COMMON_KEYS = ("type", "bitrates_kbps", "sample_rate", "batch_size")
_CODEC_KEYS = {
    "opus": ("mode", "complexity", "frame_ms", "application"),
    **{kind: ("weights", "init", "seed", "device") for kind in ENCODEC_MODELS},
}
#: Keys naming a checkpoint (or what checks one), meaningless with ``init: random``.
_CHECKPOINT_KEYS = ("weights", "sha256", "labels", "revision")


def validate_config(config: dict[str, Any], schema: str | os.PathLike = SCHEMA) -> None:
    """The workflow's whole config check: the JSON schema (filling in its defaults, as Snakemake's
    ``validate``), then :func:`check_config`. ``ValueError`` listing every problem, each starting
    with the dotted key it is about (``codecs.opus.bitrates_kbps``)."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(schema))
    except WorkflowError as err:
        problems = schema_problems(config, schema)
        raise ValueError("invalid config:\n  " + "\n  ".join(problems or [str(err)])) from None
    check_config(config)


def schema_problems(config: Mapping[str, Any], schema: str | os.PathLike = SCHEMA) -> list[str]:
    """Every place ``config`` breaks the JSON schema, as ``<dotted key>: <what is wrong>``; an unknown
    key also lists the keys allowed there."""
    import yaml
    from jsonschema import Draft202012Validator

    with open(schema) as fh:
        validator = Draft202012Validator(yaml.safe_load(fh))
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        key = dotted_key(error.absolute_path)
        message = error.message
        if error.validator == "additionalProperties" and isinstance(error.schema.get("properties"), Mapping):
            message += f"; allowed keys: {sorted(error.schema['properties'])}"
        elif "propertyNames" in error.schema_path:
            message = f"the name {error.instance!r} is not allowed here ({error.message})"
        if isinstance(error.schema.get("description"), str):
            message += f" [{error.schema['description'].strip()}]"
        problems.append(f"{key}: {message}")
    return problems


def dotted_key(path) -> str:
    """``['codecs', 'opus', 'bitrates_kbps', 0]`` -> ``codecs.opus.bitrates_kbps[0]`` (``config`` for the root)."""
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else f".{part}" if key else str(part)
    return key or "config"


def check_config(config: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` listing every problem the schema cannot see in ``config``.

    The schema has already checked each key's type and range; this checks that the names listed
    under ``evaluation`` (and elsewhere) exist, that each model and codec entry sets only keys its type
    reads and rates and bitrates it supports, that the weight files the used entries name exist, and
    that the data source is unambiguous.
    """
    problems = []
    for section in ("models", "classifiers"):
        for name in config["evaluation"][section]:
            if name not in config[section]:
                problems.append(
                    f"evaluation.{section} lists {name!r}, which has no entry under {section}: "
                    f"known {sorted(config[section])}"
                )
    for name in config["evaluation"].get("codecs", []):
        if name not in config.get("codecs", {}):
            problems.append(f"evaluation.codecs lists {name!r}, which has no entry under codecs: "
                            f"known {sorted(config.get('codecs', {}))}")
    for name, params in config["models"].items():
        problems.extend(check_entry_keys("models", name, params))
    for name, params in config.get("codecs", {}).items():
        problems.extend(check_entry_keys("codecs", name, params))
        problems.extend(check_codec_config(name, params))
    problems.extend(check_filter_config(config))
    problems.extend(check_report_config(config))
    problems.extend(check_sed_config(config))
    problems.extend(check_weight_files(config))
    esc50 = config["datasets"]["esc50"]
    if esc50.get("root") is not None and esc50.get("synthetic"):
        problems.append("datasets.esc50: set either root (a local copy) or synthetic, not both")
    if esc50.get("root") is None and not esc50.get("synthetic") and not esc50.get("sha256"):
        problems.append("datasets.esc50.sha256 is required when the archive is downloaded (root: null)")
    if problems:
        raise ValueError("invalid config:\n  " + "\n  ".join(problems))


def check_entry_keys(section: str, name: str, params: Mapping[str, Any]) -> list[str]:
    """Keys of ``<section>.<name>`` that its type does not read (they would be ignored silently), and
    checkpoint keys set beside ``init: random`` (which reads no checkpoint)."""
    kind, problems = params["type"], []
    common, per_type = (_MODEL_COMMON_KEYS, _MODEL_KEYS) if section == "models" else (_CODEC_COMMON_KEYS, _CODEC_KEYS)
    allowed = {*common, *per_type.get(kind, ())}
    for key in sorted(set(params) - allowed):
        if section == "models" and key == "sample_rate":
            problems.append(f"models.{name}.sample_rate: type {kind} takes {model_sample_rate(params)} Hz input "
                            f"only (the workflow resamples clips to it); remove the key")
        else:
            problems.append(f"{section}.{name}.{key}: type {kind} does not read {key}, so it would be ignored; "
                            f"remove it (type {kind} reads {sorted(allowed)})")
    if params.get("init", "pretrained") == "random":
        for key in _CHECKPOINT_KEYS:
            if key in allowed and params.get(key) is not None:
                problems.append(f"{section}.{name}.{key} is set, but init is random (no checkpoint is read): "
                                f"remove {key} or init")
    return problems


def used_entries(config: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(model names, codec names) the configured stages run: evaluation, sound event detection, the
    mask search, and the models of the filters they apply."""
    search, sed = config.get("mask_search", {}), config.get("sed", {})
    models = [*config["evaluation"]["models"], *sed.get("models", []), *search.get("models", [])]
    filters = config.get("filters", {})
    for name in [*config["evaluation"].get("filters", []), *(sed.get("filters", []) if sed.get("models") else [])]:
        params = filters.get(name, {})
        if params.get("type") == "oracle_roi" or params.get("score") == "saliency":
            models.append(params.get("model"))
    codecs = [*config["evaluation"].get("codecs", []), *(sed.get("codecs", []) if sed.get("models") else [])]
    if search.get("models"):
        for condition in search.get("codecs", []):
            try:
                codecs.append(parse_condition(condition)[0])
            except ValueError:
                pass  # reported by check_filter_config
    known_models, known_codecs = config["models"], config.get("codecs", {})
    return (list(dict.fromkeys(m for m in models if m in known_models)),
            list(dict.fromkeys(c for c in codecs if c in known_codecs)))


def _missing(path: str, *, directory: bool = False) -> str | None:
    """Why ``path`` (relative: to the working directory, where Snakemake runs its jobs) is not there."""
    resolved = Path(path).expanduser()
    if (resolved.is_dir() if directory else resolved.is_file()):
        return None
    shown = path if resolved.is_absolute() else f"{path} (from {os.getcwd()}: {resolved.resolve()})"
    kind = "directory" if directory else "file"
    return f"{shown} {'is not a ' + kind if resolved.exists() else 'does not exist'}"


def check_weight_files(config: Mapping[str, Any]) -> list[str]:
    """Checkpoints and label files the used model and codec entries name (``init: pretrained``) that
    are not there, each with the key and where to get the file. A null key downloads the official
    file (sha256-checked) in a rule of its own, except for BEATs, which has no pinned download."""
    problems = []
    models, codecs = used_entries(config)
    for name in models:
        params, key = config["models"][name], f"models.{name}"
        kind, weights, labels = params["type"], params.get("weights"), params.get("labels")
        if kind == "mfcc" or params.get("init", "pretrained") != "pretrained":
            continue
        if kind == "efficientat_mn04" and weights is not None and (why := _missing(weights)):
            problems.append(f"{key}.weights: {why}; set it to a local {MN04_FILENAME} or to null to download "
                            f"the official release ({MN04_URL})")
        if kind == "beats" and (weights is None or (why := _missing(weights))):
            from acom.models.beats import _where_to_get

            what = "is null and BEATs has no checksum-pinned download" if weights is None else why
            problems.append(f"{key}.weights: {what}; {_where_to_get(key)}")
        if kind == "ast" and weights is not None:
            from acom.models.ast import _where_to_get, is_local_source

            if is_local_source(weights) and (why := _missing(weights, directory=True)):
                problems.append(f"{key}.weights: {why} (a local save_pretrained directory); {_where_to_get(key, weights)}")
        if kind in ("efficientat_mn04", "beats") and labels is not None and (why := _missing(labels)):
            problems.append(f"{key}.labels: {why}; set it to a local AudioSet class_labels_indices.csv or to null "
                            "to download the official file")
    for name in codecs:
        params, key = config["codecs"][name], f"codecs.{name}.weights"
        kind, weights = params["type"], params.get("weights")
        if kind in ENCODEC_MODELS and params.get("init", "pretrained") == "pretrained" and weights is not None \
                and (why := _missing(weights)):
            problems.append(f"{key}: {why}; set it to a local {ENCODEC_MODELS[kind].checkpoint} (from "
                            f"{ENCODEC_MODELS[kind].url}) or to null to download it")
    return problems


def check_filter_config(config: Mapping[str, Any]) -> list[str]:
    """Problems with the ``filters`` entries and the ``mask_search`` section."""
    problems = []
    filters, models = config.get("filters", {}), config["models"]
    for name in config["evaluation"].get("filters", []):
        if name not in filters:
            problems.append(f"evaluation.filters lists {name!r}, which has no entry under filters: known {sorted(filters)}")
    for name, params in filters.items():
        kind = params["type"]
        for key in _NAIVE_KEYS.get(kind, ()):
            if key not in params:
                problems.append(f"filters.{name}: a {kind} filter needs {key}")
        if kind == "bandpass" and {"low_hz", "high_hz"} <= set(params) and params["low_hz"] >= params["high_hz"]:
            problems.append(f"filters.{name}: low_hz ({params['low_hz']}) must be below high_hz ({params['high_hz']})")
        if kind in ("frame_roi", "freq_roi") and "percentage" not in params:
            problems.append(f"filters.{name}: a {kind} filter needs percentage")
        needs_model = kind == "oracle_roi" or params.get("score") == "saliency"
        if needs_model and params.get("model") not in models:
            problems.append(f"filters.{name}: {kind} with {'its masks' if kind == 'oracle_roi' else 'score saliency'} "
                            f"needs model: one of {sorted(models)} (got {params.get('model')!r})")
    search = config.get("mask_search", {})
    for name in search.get("models", []):
        if name not in models:
            problems.append(f"mask_search.models lists {name!r}, which has no entry under models: known {sorted(models)}")
    if search.get("classifier", "logreg") not in config["classifiers"]:
        problems.append(f"mask_search.classifier: {search.get('classifier', 'logreg')!r} has no entry under "
                        f"classifiers: known {sorted(config['classifiers'])}")
    for fold in search.get("folds") or []:
        if fold not in config["datasets"]["esc50"]["folds"]:
            problems.append(f"mask_search.folds: fold {fold} is not among datasets.esc50.folds")
    for condition in search.get("codecs", []):
        if not _is_coded_condition(config, condition):
            problems.append(f"mask_search.codecs: {condition!r} is not a configured codec bitrate "
                            f"(codecs.<name>.bitrates_kbps)")
    return problems


def _is_coded_condition(config: Mapping[str, Any], condition: str) -> bool:
    """Whether ``condition`` (``<codec>_<kbps>``) is a configured bitrate of a configured codec."""
    try:
        codec, kbps = parse_condition(condition)
    except ValueError:
        return False
    return codec in config.get("codecs", {}) and kbps in config["codecs"][codec]["bitrates_kbps"]


def check_report_config(config: Mapping[str, Any]) -> list[str]:
    """Problems with the conditions the ``report`` section names."""
    problems, report = [], config.get("report", {})
    for i, entry in enumerate(report.get("confusion", [])):
        key = f"report.confusion[{i}]"
        if entry["model"] not in config["models"]:
            problems.append(f"{key}.model: {entry['model']!r} has no entry under models")
        if entry["classifier"] not in config["classifiers"]:
            problems.append(f"{key}.classifier: {entry['classifier']!r} has no entry under classifiers")
        if entry["filter"] != "none" and entry["filter"] not in config.get("filters", {}):
            problems.append(f"{key}.filter: {entry['filter']!r} is neither none nor a filters entry")
        if entry["codec"] != "none" and not _is_coded_condition(config, entry["codec"]):
            problems.append(f"{key}.codec: {entry['codec']!r} is neither none nor a configured codec bitrate")
    listen = report.get("listen", {})
    if listen.get("classifier", "logreg") not in config["classifiers"]:
        problems.append(f"report.listen.classifier: {listen.get('classifier')!r} has no entry under classifiers")
    return problems


def check_sed_config(config: Mapping[str, Any]) -> list[str]:
    """Problems with the ``sed`` section and the ``datasets.desed`` entry it reads."""
    from acom.desed import desed_classes, synthetic_class_map

    sed = config.get("sed", {})
    if not sed.get("models"):
        return []
    problems = []
    for section in ("models", "codecs", "filters"):
        known = config.get(section, {})
        for name in sed.get(section, []):
            if name not in known:
                problems.append(f"sed.{section} lists {name!r}, which has no entry under {section}: known {sorted(known)}")
            elif section == "filters" and known[name]["type"] == "oracle_roi":
                problems.append(f"sed.filters: {name!r} is an oracle_roi filter, whose masks are searched on ESC-50 "
                                "clips, not on soundscapes")
    desed = config["datasets"].get("desed") or {}
    if desed.get("root") is not None:
        if not desed.get("folds"):
            problems.append("datasets.desed.folds: a DESED copy (root) needs its folds: a list of "
                            "{fold, audio, labels} entries, paths relative to root")
        elif len({entry["fold"] for entry in desed["folds"]}) != len(desed["folds"]):
            problems.append("datasets.desed.folds: each fold may appear once")
    else:
        synthetic = desed.get("synthetic") or {}
        class_map, backgrounds = synthetic_class_map(synthetic), synthetic.get("backgrounds") or []
        categories = [entry["category"] for entry in synthetic.get("class_map") or []]
        for category in sorted({c for c in categories if categories.count(c) > 1}):
            problems.append(f"datasets.desed.synthetic.class_map: category {category!r} is mapped twice")
        if not class_map or not backgrounds:
            problems.append("datasets.desed.synthetic needs class_map and backgrounds to synthesise soundscapes "
                            "from ESC-50 (or set datasets.desed.root to a DESED copy)")
        for category in sorted(set(class_map) & set(backgrounds)):
            problems.append(f"datasets.desed.synthetic: {category!r} is both a foreground (class_map) and a background")
        for key in ("n_events", "snr_db"):
            low, high = synthetic.get(key, (0, 0))
            if low > high:
                problems.append(f"datasets.desed.synthetic.{key}: [{low}, {high}] is not a range (low > high)")
        if desed.get("classes") is not None:
            for label in sorted(set(class_map.values()) - set(desed["classes"])):
                problems.append(f"datasets.desed.synthetic.class_map maps to {label!r}, which is not in "
                                "datasets.desed.classes")
    classes = desed_classes(desed)
    for key in ("thresholds", "median_filter_s"):
        value = sed.get(key)
        if isinstance(value, Mapping):
            for label in sorted(set(classes) - set(value)):
                problems.append(f"sed.{key}: no value for class {label!r} (a mapping names every class)")
            for label in sorted(set(value) - set(classes)):
                problems.append(f"sed.{key}: {label!r} is not an event class: known {classes}")
    return problems
