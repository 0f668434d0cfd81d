"""Checks of the workflow config that a JSON schema cannot express (cross-references between keys)."""

from __future__ import annotations

from typing import Any, Mapping

from acom.codecs import check_codec_config


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
    esc50 = config["datasets"]["esc50"]
    if esc50.get("root") is not None and esc50.get("synthetic"):
        problems.append("datasets.esc50: set either root (a local copy) or synthetic, not both")
    if esc50.get("root") is None and not esc50.get("synthetic") and not esc50.get("sha256"):
        problems.append("datasets.esc50.sha256 is required when the archive is downloaded (root: null)")
    if problems:
        raise ValueError("invalid config:\n  " + "\n  ".join(problems))
