"""What the report stage derives from the tables: the comparisons worth a delta rate, the clips of
the listening page and the rows it shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from acom.deltarate import Curve
from acom.listen import top_predictions


def comparison_pairs(filters: Sequence[str], codec_families: Sequence[str]) -> list[tuple[Curve, Curve]]:
    """(reference, test) curves worth a delta rate: every filter against no filter under each codec
    family (what ROI filtering saves), and every codec family against the first one, unfiltered
    (e.g. EnCodec against Opus)."""
    pairs = [(Curve("none", family), Curve(name, family)) for family in codec_families for name in filters]
    pairs += [(Curve("none", codec_families[0]), Curve("none", family)) for family in codec_families[1:]]
    return pairs


def listening_clips(manifest: pd.DataFrame, *, clips: Sequence[str] | None, n_clips: int) -> pd.DataFrame:
    """The listening page's clips (manifest rows): ``clips`` by id, or else the first clip (by id)
    of each of the first ``n_clips`` classes (by target) in the lowest fold."""
    if clips:
        unknown = sorted(set(clips) - set(manifest["clip_id"]))
        if unknown:
            raise ValueError(f"report.listen.clips: {unknown} are not clips of the ingested dataset")
        return manifest.set_index("clip_id").loc[list(clips)].reset_index()
    fold = manifest[manifest["fold"] == manifest["fold"].min()].sort_values(["target", "clip_id"])
    return fold.groupby("target", sort=True).head(1).head(n_clips).reset_index(drop=True)


def class_names(manifest: pd.DataFrame) -> list[str]:
    """Category names in target order: the order of the per-fold prediction tables' probabilities
    (the classifier's sorted targets)."""
    pairs = manifest[["target", "category"]].drop_duplicates().sort_values("target")
    return pairs["category"].tolist()


def listening_rows(chosen: pd.DataFrame, conditions: Sequence[Mapping[str, Any]],
                   predictions: Mapping[tuple[str, str, str], pd.DataFrame], names: Sequence[str],
                   *, top_k: int = 3) -> pd.DataFrame:
    """The page's rows: one per (clip, condition), clips in order, conditions in the given order.

    ``conditions``: dicts with label, filter, codec and ``manifest`` (the condition's per-clip
    table for all folds: clip_id, path, actual_kbps). ``predictions``: (model, filter, codec) ->
    per-clip prediction table (clip_id, probabilities). Each row carries every model's top
    ``top_k`` classes for that clip under that condition.
    """
    rows = []
    by_condition = [(c, c["manifest"].set_index("clip_id")) for c in conditions]
    indexed = {key: table.set_index("clip_id") for key, table in predictions.items()}
    for clip in chosen.itertuples(index=False):
        for condition, manifest in by_condition:
            entry = manifest.loc[clip.clip_id]
            shown = {model: top_predictions(table.loc[clip.clip_id, "probabilities"], names, top_k)
                     for (model, filter_name, codec), table in indexed.items()
                     if (filter_name, codec) == (condition["filter"], condition["codec"])}
            rows.append({"clip_id": clip.clip_id, "category": clip.category, "condition": condition["label"],
                         "filter": condition["filter"], "codec": condition["codec"],
                         "actual_kbps": float(entry["actual_kbps"]), "audio_path": str(entry["path"]),
                         "predictions": shown or None})
    return pd.DataFrame(rows)
