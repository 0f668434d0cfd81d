"""The ROI summary: per model, codec, axis and percentage, how many clips their best regions keep
correct and what coding those regions costs."""

from __future__ import annotations

import pandas as pd

ROI_SUMMARY_COLUMNS = [
    "model", "codec", "nominal_kbps", "axis", "percentage", "n_clips", "n_folds", "share_correct",
    "share_correct_full", "actual_kbps", "actual_kbps_full", "kbps_saving_percent",
]


def roi_summary(masks: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """Per model, codec condition, axis and percentage: the share of clips still correctly
    classified with their best region of that size (and without a mask), and the mean bitrate
    the codec spends on them masked and unmasked.

    ``masks``: mask tables (``MASK_COLUMNS``); ``rates``: :func:`acom.coding.code_masked_versions`
    tables with ``model``, ``codec`` and ``nominal_kbps`` columns added.
    """
    keys = ["model", "clip_id", "axis", "percentage"]
    full = rates[rates["axis"] == "none"][["model", "codec", "clip_id", "actual_kbps"]]
    masked = rates[rates["axis"] != "none"].merge(masks[keys + ["correct_masked", "correct_full"]], on=keys,
                                                  how="left", validate="many_to_one")
    missing = masked["correct_masked"].isna()
    if missing.any():
        raise ValueError(f"{int(missing.sum())} coded masks have no row in the mask tables "
                         f"(e.g. {masked.loc[missing, keys].iloc[0].to_dict()})")
    masked = masked.merge(full, on=["model", "codec", "clip_id"], suffixes=("", "_full"), validate="many_to_one")
    rows = []
    for key, group in masked.groupby(["model", "codec", "nominal_kbps", "axis", "percentage"], sort=True):
        kbps, kbps_full = group["actual_kbps"].mean(), group["actual_kbps_full"].mean()
        rows.append({
            **dict(zip(["model", "codec", "nominal_kbps", "axis", "percentage"], key)),
            "n_clips": int(group["clip_id"].nunique()), "n_folds": int(group["fold"].nunique()),
            "share_correct": float(group["correct_masked"].astype(bool).mean()),
            "share_correct_full": float(group["correct_full"].astype(bool).mean()),
            "actual_kbps": float(kbps), "actual_kbps_full": float(kbps_full),
            "kbps_saving_percent": float(100 * (1 - kbps / kbps_full)),
        })
    return pd.DataFrame(rows, columns=ROI_SUMMARY_COLUMNS)
