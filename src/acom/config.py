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
