"""Checks of the workflow config that a JSON schema cannot express (cross-references between keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acom.codecs import check_codec_config, parse_condition

#: Keys each naive filter type requires.
_NAIVE_KEYS = {"lowpass": ("cutoff_hz",), "highpass": ("cutoff_hz",), "bandpass": ("low_hz", "high_hz")}


def check_config(config: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` listing every cross-reference problem in ``config``.

    The schema has already checked each key's type and range; this checks that the names listed
    under ``evaluation`` exist, that each codec supports its configured bitrates and rates, and that
    the data source is unambiguous.
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
    for name, params in config.get("codecs", {}).items():
        problems.extend(check_codec_config(name, params))
    problems.extend(check_filter_config(config))
    problems.extend(check_report_config(config))
    problems.extend(check_sed_config(config))
    esc50 = config["datasets"]["esc50"]
    if esc50.get("root") is not None and esc50.get("synthetic"):
        problems.append("datasets.esc50: set either root (a local copy) or synthetic, not both")
    if esc50.get("root") is None and not esc50.get("synthetic") and not esc50.get("sha256"):
        problems.append("datasets.esc50.sha256 is required when the archive is downloaded (root: null)")
    if problems:
        raise ValueError("invalid config:\n  " + "\n  ".join(problems))


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
