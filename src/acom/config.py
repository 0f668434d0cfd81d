"""Checks of the workflow config that a JSON schema cannot express (cross-references between keys)."""

from __future__ import annotations

from typing import Any, Mapping

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
        try:
            codec, kbps = parse_condition(condition)
        except ValueError as err:
            problems.append(f"mask_search.codecs: {err}")
            continue
        if codec not in config.get("codecs", {}) or kbps not in config["codecs"][codec]["bitrates_kbps"]:
            problems.append(f"mask_search.codecs: {condition!r} is not a configured codec bitrate "
                            f"(codecs.<name>.bitrates_kbps)")
    return problems
