"""Validation of the workflow config: the JSON schema (types, ranges, unknown keys; the type enums
and per-type keys of models, codecs, filters and classifiers come from their registries), the
defaults that follow from what is configured, and the checks a schema cannot express
(cross-references between keys, what each model and codec type supports, that the weight files the
config names exist). Every problem names its key, the value and the fix; all of them are reported
at once, before any job runs.

Settings of a branch that is switched off (the mask search with ``mask_search.models: []`` and no
``oracle_roi`` filter evaluated; sound event detection with ``sed.models: []``) are not checked.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from acom.classification import CLASSIFIERS
from acom.codecs import CODECS, check_codec_config
from acom.conditions import UNCODED, condition_name, parse_condition
from acom.features import FEATURE_CODECS, check_feature_codec_config
from acom.filters import FILTERS, allocates_bits, filter_model, filter_predictor, uses_masks
from acom.models import MODELS, is_local_source, model_sample_rate
from acom.registry import Registry, enum_problem, type_defaults

#: The workflow's config schema (this package is imported from the checkout, beside workflow/).
SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"

#: Config section -> the registry of its entries' types and the schema definition of one entry.
SECTIONS: dict[str, tuple[Registry, str]] = {
    "models": (MODELS, "model"),
    "codecs": (CODECS, "codec"),
    "filters": (FILTERS, "filter"),
    "classifiers": (CLASSIFIERS, "classifier"),
    "feature_codecs": (FEATURE_CODECS, "feature_codec"),
}


def load_schema(path: str | os.PathLike = SCHEMA) -> dict[str, Any]:
    """The config schema: ``path`` with each registry's type names (the ``type`` enum) and type keys
    added to its entry definition, so the schema never lists a type or key the code lacks."""
    import yaml

    with open(path) as fh:
        schema = yaml.safe_load(fh)
    for registry, definition in SECTIONS.values():
        entry = schema["$defs"][definition]
        entry["properties"]["type"]["enum"] = list(registry)
        for key, key_schema in registry.key_schemas().items():
            if key in entry["properties"]:
                raise ValueError(f"{path}: $defs.{definition}.{key} is a common key and a {registry.kind} type's key")
            descriptions = sorted({spec.keys[key].description for spec in registry.specs
                                   if key in spec.keys and spec.keys[key].description})
            entry["properties"][key] = {**key_schema, **({"description": "; ".join(descriptions)} if descriptions
                                                         else {})}
    return schema


def _defaults_validator(schema: Mapping[str, Any]):
    """A JSON-schema validator that also fills in each ``properties`` default where a key is absent
    (as Snakemake's own ``validate`` does)."""
    from jsonschema import Draft202012Validator, validators

    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def properties_with_defaults(validator, properties, instance, subschema):
        if isinstance(instance, dict):
            for key, property_schema in properties.items():
                if isinstance(property_schema, Mapping) and "default" in property_schema and key not in instance:
                    instance[key] = copy.deepcopy(property_schema["default"])
        yield from check_properties(validator, properties, instance, subschema)

    return validators.extend(Draft202012Validator, {"properties": properties_with_defaults})(schema)


def validate_config(config: dict[str, Any], schema: str | os.PathLike = SCHEMA) -> None:
    """The workflow's whole config check, in place: the JSON schema (filling in its defaults), each
    entry's type defaults, the defaults derived from what is configured (:func:`derive_defaults`),
    then :func:`check_config`. ``ValueError`` listing every problem, each starting with the dotted
    key it is about (``codecs.opus.bitrates_kbps``)."""
    problems = schema_problems(config, load_schema(schema), set_defaults=True)
    if problems:
        raise ValueError("invalid config:\n  " + "\n  ".join(problems))
    for section, (registry, _) in SECTIONS.items():
        for params in (config.get(section) or {}).values():
            for key, value in type_defaults(registry[params["type"]]).items():
                params.setdefault(key, copy.deepcopy(value))
    derive_defaults(config)
    check_config(config)


def schema_problems(config: Mapping[str, Any], schema: Mapping[str, Any] | None = None, *,
                    set_defaults: bool = False) -> list[str]:
    """Every place ``config`` breaks the JSON schema (default: :func:`load_schema`), as ``<dotted key>:
    <what is wrong>``; an unknown key also lists the keys allowed there. ``set_defaults``: fill in
    the schema's defaults while checking."""
    from jsonschema import Draft202012Validator

    schema = load_schema() if schema is None else schema
    validator = _defaults_validator(schema) if set_defaults else Draft202012Validator(schema)
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


def lowest_coded_condition(config: Mapping[str, Any]) -> str | None:
    """``<codec>_<kbps>`` at the lowest bitrate of the first evaluated codec, or None without one."""
    codecs = config["evaluation"].get("codecs") or []
    entry = (config.get("codecs") or {}).get(codecs[0]) if codecs else None
    return condition_name(codecs[0], min(entry["bitrates_kbps"])) if entry else None


def derive_defaults(config: dict[str, Any]) -> None:
    """Fill in, in place, the settings that name a condition and are left null, from what is
    configured, so that changing a codec's bitrates never leaves them pointing at a missing one:

    - ``mask_search.codecs``: the lowest bitrate of the first evaluated codec (none without codecs);
    - ``report.confusion``: one matrix per evaluated model, for the first evaluated classifier and
      training condition, unfiltered, at that same lowest bitrate (uncoded without codecs);
    - ``report.listen.classifier`` / ``train_condition``: the first evaluated ones;
    - ``evaluation.filter_codecs``: every evaluated codec.
    """
    evaluation, lowest = config["evaluation"], lowest_coded_condition(config)
    if evaluation.get("filter_codecs") is None:
        evaluation["filter_codecs"] = list(evaluation.get("codecs", []))
    # Only names that exist: an unknown one is reported once, where the user wrote it.
    models = [name for name in evaluation["models"] if name in config["models"]]
    classifiers = [name for name in evaluation["classifiers"] if name in config["classifiers"]]
    search = config.setdefault("mask_search", {})
    if search.get("codecs") is None:
        search["codecs"] = [lowest] if lowest else []
    report = config.setdefault("report", {})
    if report.get("confusion") is None:
        report["confusion"] = [
            {"model": model, "classifier": classifiers[0], "train_condition": evaluation["train_conditions"][0],
             "filter": UNCODED, "codec": lowest or UNCODED}
            for model in models if classifiers
        ]
    listen = report.setdefault("listen", {})
    if listen.get("classifier") is None and classifiers:
        listen["classifier"] = classifiers[0]
    if listen.get("train_condition") is None:
        listen["train_condition"] = evaluation["train_conditions"][0]


def search_is_on(config: Mapping[str, Any]) -> bool:
    """Whether the mask search runs: models are searched, or an evaluated filter applies its masks."""
    filters = config.get("filters", {})
    oracle = any(name in filters and (uses_masks(filters[name]) or filter_predictor(filters[name]))
                 for name in config["evaluation"].get("filters", []))
    return bool(config.get("mask_search", {}).get("models")) or oracle


def check_config(config: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` listing every problem the schema cannot see in ``config``.

    The schema has already checked each key's type and range; this checks that the names listed
    under ``evaluation`` (and elsewhere) exist, that each model, codec, filter and classifier entry
    sets only keys its type reads and rates and bitrates it supports, that the weight files the used
    entries name exist, and that the data source is unambiguous.
    """
    problems = []
    for section in ("models", "classifiers", "codecs"):
        known = config.get(section, {})
        for name in config["evaluation"].get(section, []):
            if name not in known:
                problems.append(f"evaluation.{section} lists {name!r}, which has no entry under {section}: "
                                f"known {sorted(known)}")
    for name in config["evaluation"].get("filter_codecs") or []:
        if name not in config.get("codecs", {}):
            problems.append(f"evaluation.filter_codecs lists {name!r}, which has no entry under codecs: "
                            f"known {sorted(config.get('codecs', {}))}")
    for section in SECTIONS:
        for name, params in (config.get(section) or {}).items():
            problems.extend(check_entry_keys(section, name, params))
    for name, params in config.get("codecs", {}).items():
        problems.extend(check_codec_config(name, params))
    problems.extend(check_feature_config(config))
    problems.extend(check_filter_config(config))
    if search_is_on(config):
        problems.extend(check_search_config(config))
    problems.extend(check_report_config(config))
    problems.extend(check_sed_config(config))
    problems.extend(check_multilabel_config(config))
    problems.extend(check_weight_files(config))
    esc50 = config["datasets"]["esc50"]
    if esc50.get("root") is not None and esc50.get("synthetic"):
        problems.append("datasets.esc50: set either root (a local copy) or synthetic, not both")
    if esc50.get("root") is None and not esc50.get("synthetic") and not esc50.get("sha256"):
        problems.append("datasets.esc50.sha256 is required when the archive is downloaded (root: null)")
    if problems:
        raise ValueError("invalid config:\n  " + "\n  ".join(problems))


#: Keys every entry of a section may set whatever its type (the schema's common keys).
COMMON_KEYS = {
    "models": ("type", "batch_size", "top_k", "resources", "init", "seed", "device"),
    "codecs": ("type", "bitrates_kbps", "sample_rate", "batch_size"),
    "filters": ("type",),
    "classifiers": ("type",),
    "feature_codecs": ("type", "budgets"),
}


def check_entry_keys(section: str, name: str, params: Mapping[str, Any]) -> list[str]:
    """Keys of ``<section>.<name>`` that its type does not read (they would be ignored silently),
    required keys it leaves out, and checkpoint keys set beside ``init: random`` (which reads no
    checkpoint)."""
    registry, _ = SECTIONS[section]
    spec, problems = registry[params["type"]], []
    allowed = {*COMMON_KEYS[section], *spec.keys}
    for key in sorted(set(params) - allowed):
        if section == "models" and key == "sample_rate":
            problems.append(f"models.{name}.sample_rate: type {spec.type} takes {model_sample_rate(params)} Hz input "
                            f"only (the workflow resamples clips to it); remove the key")
        else:
            problems.append(f"{section}.{name}.{key}: type {spec.type} does not read {key}, so it would be ignored; "
                            f"remove it (type {spec.type} reads {sorted(allowed)})")
    for key in sorted(set(params) & set(spec.keys)):
        if problem := enum_problem(spec, key, params[key]):
            problems.append(f"{section}.{name}.{key}: {problem}")
    for key in getattr(spec, "required", ()):
        if params.get(key) is None:
            problems.append(f"{section}.{name}: a {spec.type} {section[:-1]} needs {key}")
    if params.get("init", "pretrained") == "random":
        for key, config_key in spec.keys.items():
            if config_key.checkpoint and params.get(key) is not None:
                problems.append(f"{section}.{name}.{key} is set, but init is random (no checkpoint is read): "
                                f"remove {key} or init")
    return problems


def used_entries(config: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(model names, codec names) the configured stages run: evaluation, sound event detection, the
    mask search, and the models of the filters they apply."""
    search = config.get("mask_search", {})
    # The task sections beside ESC-50's evaluation; each counts only while it runs (models set).
    tasks = [config[name] for name in ("sed", "esc10_mix", "irmas") if (config.get(name) or {}).get("models")]
    models = [*config["evaluation"]["models"], *(m for task in tasks for m in task["models"])]
    models += search.get("models", [])
    filters = config.get("filters", {})
    for name in [*config["evaluation"].get("filters", []), *(f for task in tasks for f in task.get("filters", []))]:
        if name in filters:
            models.append(filter_model(filters[name]))
    codecs = [*config["evaluation"].get("codecs", []), *(c for task in tasks for c in task.get("codecs", []))]
    if search.get("models"):
        for condition in search.get("codecs") or []:
            try:
                codecs.append(parse_condition(condition)[0])
            except ValueError:
                pass  # reported by check_search_config
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
    file (sha256-checked) in a rule of its own, unless the type has no pinned download (BEATs)."""
    problems = []
    models, codecs = used_entries(config)
    for name in models:
        params, entry = config["models"][name], f"models.{name}"
        if params.get("init", "pretrained") != "pretrained":
            continue
        spec = MODELS[params["type"]]
        for key, file in spec.files.items():
            value, help_text = params.get(key), file.help.format(entry=entry)
            if value is None:
                if file.required and file.download is None:
                    problems.append(f"{entry}.{key}: is null and {spec.title} has no checksum-pinned download; "
                                    f"{help_text}")
            elif file.kind == "hub_or_dir":
                if is_local_source(value) and (why := _missing(value, directory=True)):
                    problems.append(f"{entry}.{key}: {why} (a local save_pretrained directory); {help_text}")
            elif why := _missing(value):
                problems.append(f"{entry}.{key}: {why}; {help_text}")
    for name in codecs:
        params = config["codecs"][name]
        if params.get("init", "pretrained") != "pretrained":
            continue
        for key, download in CODECS[params["type"]].files.items():
            value = params.get(key)
            if value is not None and (why := _missing(value)):
                problems.append(f"codecs.{name}.{key}: {why}; set it to a local {download.filename} (from "
                                f"{download.url}) or to null to download it")
    return problems


def check_feature_config(config: Mapping[str, Any]) -> list[str]:
    """Problems with ``feature_codecs``: unknown names in ``evaluation.feature_codecs``, budgets a type
    cannot take, and names shared with a waveform codec (their conditions would collide)."""
    problems, entries = [], config.get("feature_codecs") or {}
    for name in config["evaluation"].get("feature_codecs", []):
        if name not in entries:
            problems.append(f"evaluation.feature_codecs lists {name!r}, which has no entry under feature_codecs: "
                            f"known {sorted(entries)}")
    for name, params in entries.items():
        if name in config.get("codecs", {}):
            problems.append(f"feature_codecs.{name}: the name is also a codecs entry; their conditions "
                            f"({name}_<n>) would collide: rename one")
        problems.extend(check_feature_codec_config(name, params))
    return problems


def check_filter_config(config: Mapping[str, Any]) -> list[str]:
    """Problems with the ``filters`` entries and the filters ``evaluation`` names."""
    problems = []
    filters, models = config.get("filters", {}), config["models"]
    for name in config["evaluation"].get("filters", []):
        if name not in filters:
            problems.append(f"evaluation.filters lists {name!r}, which has no entry under filters: known {sorted(filters)}")
    for name, params in filters.items():
        kind = params["type"]
        if kind == "bandpass" and params.get("low_hz") and params.get("high_hz") and \
                params["low_hz"] >= params["high_hz"]:
            problems.append(f"filters.{name}: low_hz ({params['low_hz']}) must be below high_hz ({params['high_hz']})")
        runs_model = uses_masks(params) or params.get("score") in ("saliency", "predicted")
        if runs_model and params.get("model") not in models:
            why = "its masks" if uses_masks(params) else f"score {params.get('score')}"
            problems.append(f"filters.{name}: {kind} with {why} needs model: one of {sorted(models)} "
                            f"(got {params.get('model')!r})")
        if allocates_bits(params) and name in config["evaluation"].get("filters", []):
            problems.extend(_check_bit_allocation(config, name, params))
    return problems


def _check_bit_allocation(config: Mapping[str, Any], name: str, params: Mapping[str, Any]) -> list[str]:
    """A ``rendering: bits`` filter needs a codec that allocates bits among the filter codecs, whose
    bitrate range holds ``floor_kbps``."""
    codecs = config.get("codecs", {})
    allocating = [codec for codec in config["evaluation"].get("filter_codecs") or []
                  if codec in codecs and CODECS[codecs[codec]["type"]].allocates_bits]
    if not allocating:
        able = sorted(t for t in CODECS if CODECS[t].allocates_bits)
        return [(f"filters.{name}: rendering: bits needs a codec that allocates bits by region ({able}) in "
                 f"evaluation.filter_codecs (got {config['evaluation'].get('filter_codecs')})")]
    problems = []
    floor = float(params.get("floor_kbps", 6.0))
    for codec in allocating:
        low, high = CODECS[codecs[codec]["type"]].kbps_range or (0.0, float("inf"))
        if not low <= floor <= high:
            problems.append(f"filters.{name}.floor_kbps: {floor:g} kbps is outside codecs.{codec}'s "
                            f"{low:g}-{high:g} kbps range")
    return problems


def check_search_config(config: Mapping[str, Any]) -> list[str]:
    """Problems with the ``mask_search`` section (checked only while the search runs)."""
    problems, models = [], config["models"]
    search = config.get("mask_search", {})
    for name in search.get("models", []):
        if name not in models:
            problems.append(f"mask_search.models lists {name!r}, which has no entry under models: known {sorted(models)}")
    if search.get("classifier", "logreg") not in config["classifiers"]:
        problems.append(f"mask_search.classifier: {search.get('classifier', 'logreg')!r} has no entry under "
                        f"classifiers: known {sorted(config['classifiers'])}")
    predictor_models = config.get("mask_predictor", {}).get("models", [])
    for name in predictor_models:
        if name not in models:
            problems.append(f"mask_predictor.models lists {name!r}, which has no entry under models: known {sorted(models)}")
    filters = config.get("filters", {})
    predicted = [name for name in config["evaluation"].get("filters", []) if name in filters
                 and filter_predictor(filters[name])]
    frame_ms = float(search.get("time", {}).get("frame_ms", 100))
    if (predicted or predictor_models) and abs(frame_ms / 10 - round(frame_ms / 10)) > 1e-9:
        problems.append(f"mask_search.time.frame_ms: {frame_ms:g} ms is not a whole multiple of the mask predictor's "
                        f"10 ms log-mel hop (needed by {predicted or 'mask_predictor.models'}); use e.g. 100")
    for fold in search.get("folds") or []:
        if fold not in config["datasets"]["esc50"]["folds"]:
            problems.append(f"mask_search.folds: fold {fold} is not among datasets.esc50.folds")
    for condition in search.get("codecs") or []:
        if not _is_coded_condition(config, condition):
            problems.append(f"mask_search.codecs: {condition!r} is not a configured codec bitrate "
                            f"(codecs.<name>.bitrates_kbps); null takes the lowest bitrate of the first evaluated codec")
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
    for i, entry in enumerate(report.get("confusion") or []):
        key = f"report.confusion[{i}]"
        if entry["model"] not in config["models"]:
            problems.append(f"{key}.model: {entry['model']!r} has no entry under models")
        if entry["classifier"] not in config["classifiers"]:
            problems.append(f"{key}.classifier: {entry['classifier']!r} has no entry under classifiers")
        if entry["filter"] != UNCODED and entry["filter"] not in config.get("filters", {}):
            problems.append(f"{key}.filter: {entry['filter']!r} is neither none nor a filters entry")
        if entry["codec"] != UNCODED and not _is_coded_condition(config, entry["codec"]):
            problems.append(f"{key}.codec: {entry['codec']!r} is neither none nor a configured codec bitrate "
                            "(report.confusion: null derives one matrix per evaluated model)")
    listen = report.get("listen", {})
    if listen.get("classifier") is not None and listen["classifier"] not in config["classifiers"]:
        problems.append(f"report.listen.classifier: {listen.get('classifier')!r} has no entry under classifiers")
    return problems


def task_entry_problems(config: Mapping[str, Any], task: str, sections: Sequence[str]) -> list[str]:
    """Problems with the entries a task section (``sed``, ``esc10_mix``) names: each must exist under
    its section, and its filters must work on items other than ESC-50 clips (no mask search, no bit
    allocation, which the task's codecs do not take)."""
    problems = []
    for section in sections:
        known = config.get(section) or {}
        for name in config[task].get(section, []):
            if name not in known:
                problems.append(f"{task}.{section} lists {name!r}, which has no entry under {section}: "
                                f"known {sorted(known)}")
            elif section == "filters" and (uses_masks(known[name]) or filter_predictor(known[name])):
                problems.append(f"{task}.filters: {name!r} uses the mask search (oracle_roi or score: predicted), "
                                "which runs on ESC-50 clips only")
            elif section == "filters" and allocates_bits(known[name]):
                problems.append(f"{task}.filters: {name!r} has rendering: bits, which this task's codecs do not "
                                "take; use a pre-filter rendering there")
    return problems


def check_multilabel_config(config: Mapping[str, Any]) -> list[str]:
    """Problems with the sections of the multi-label tasks that run (``models`` not empty) and the
    ``datasets`` entries they read."""
    from acom.tasks import multilabel_tasks

    problems = []
    for task in multilabel_tasks(config):
        problems.extend(task_entry_problems(config, task, ("models", "classifiers", "codecs", "filters")))
    if "esc10_mix" in multilabel_tasks(config):
        low, high = config["datasets"]["esc10_mix"]["level_db"]
        if low > high:
            problems.append(f"datasets.esc10_mix.level_db: [{low}, {high}] is not a range (low > high)")
    irmas = config["datasets"].get("irmas") or {}
    if "irmas" in multilabel_tasks(config) and irmas.get("root") is not None:
        for key, folder in [("train", irmas["train"]), *(("test", test) for test in irmas["test"])]:
            missing = _missing(os.path.join(irmas["root"], folder), directory=True)
            if missing:
                problems.append(f"datasets.irmas.{key}: {missing}; name the folders of your IRMAS copy relative to "
                                "datasets.irmas.root, or set root: null to download the official archives")
    return problems


def check_sed_config(config: Mapping[str, Any]) -> list[str]:
    """Problems with the ``sed`` section and the ``datasets.desed`` entry it reads (only while the SED
    branch runs: ``sed.models`` is not empty)."""
    from acom.data.desed import desed_classes
    from acom.data.soundscapes import synthetic_class_map

    sed = config.get("sed", {})
    if not sed.get("models"):
        return []
    problems = task_entry_problems(config, "sed", ("models", "codecs", "filters", "feature_codecs"))
    desed = config["datasets"].get("desed") or {}
    protocols = sed.get("protocols") or ["cross_validation"]
    if desed.get("root") is not None:
        if not desed.get("folds"):
            problems.append("datasets.desed.folds: a DESED copy (root) needs its folds: a list of "
                            "{fold, audio, labels} entries, paths relative to root")
        elif len({entry["fold"] for entry in desed["folds"]}) != len(desed["folds"]):
            problems.append("datasets.desed.folds: each fold may appear once")
        elif "cross_validation" in protocols and sed.get("tune_decoding") and len(desed["folds"]) < 3:
            problems.append("sed.tune_decoding: cross-validation with tuning needs 3 or more folds in datasets.desed.folds "
                            "(2 to train, 1 to tune on); set it to false")
        elif "cross_validation" in protocols and len(desed["folds"]) < 2:
            problems.append("sed.protocols: cross_validation needs at least 2 folds in datasets.desed.folds; a copy "
                            "with one test set (e.g. DESED's validation set) takes protocols: [cross_corpus]")
    elif "cross_corpus" in protocols:
        problems.append("sed.protocols: cross_corpus tests on a DESED copy that acom did not make: set "
                        "datasets.desed.root and datasets.desed.folds (docs/sed.md#cross-corpus)")
    if desed.get("root") is None or "cross_corpus" in protocols:
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
        if desed.get("classes") is not None or desed.get("root") is not None:
            for label in sorted(set(class_map.values()) - set(desed_classes(desed))):
                problems.append(f"datasets.desed.synthetic.class_map maps to {label!r}, which is not a class of "
                                f"the DESED data (datasets.desed.classes: {desed_classes(desed)})")
        esc50_folds = config["datasets"]["esc50"].get("folds") or []
        if sed.get("tune_decoding") and "cross_corpus" in protocols and len(sed.get("cross_corpus_folds") or esc50_folds) < 2:
            problems.append("sed.tune_decoding: the cross-corpus heads need 2 or more training folds (sed.cross_corpus_folds) "
                            "to hold one out for tuning")
        for fold in sorted(set(sed.get("cross_corpus_folds") or []) - set(esc50_folds)):
            problems.append(f"sed.cross_corpus_folds: {fold} is not an ESC-50 fold (datasets.esc50.folds: {esc50_folds})")
    for model in sorted(set(sed.get("frame_shifts") or {}) - set(sed["models"])):
        problems.append(f"sed.frame_shifts: {model!r} is not in sed.models {sed['models']}")
    classes = desed_classes(desed)
    for key in ("thresholds", "median_filter_s"):
        value = sed.get(key)
        if isinstance(value, Mapping):
            for label in sorted(set(classes) - set(value)):
                problems.append(f"sed.{key}: no value for class {label!r} (a mapping names every class)")
            for label in sorted(set(value) - set(classes)):
                problems.append(f"sed.{key}: {label!r} is not an event class: known {classes}")
    return problems

