"""The SED protocols: frame heads trained on frame embeddings, decoded into event lists and scored
with sed_eval and sed_scores_eval (the pieces live in :mod:`acom.sed`).

Two fixed protocols, each trained and scored the same way for every (model, condition) row:

- ``cross_validation`` (:func:`cross_validate_sed`), as for ESC-50 classification: fold k of the
  DESED-format set is scored by a head trained on every other fold, one seed per fold;
- ``cross_corpus`` (:func:`cross_corpus_sed`): one head trained on soundscapes built from ESC-50
  scores every fold of another DESED-format corpus, on the classes the ESC-50 class map covers.

Either trains under the condition the caller chose: clean (uncoded) or matched (the tested one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acom.embed import frame_matrices, pool_factor, pool_frames
from acom.events import STRONG_COLUMNS, per_class
from acom.sed.decode import decode_events
from acom.sed.heads import HeadConfig, frame_targets, predict_frames, train_frame_head
from acom.sed.metrics import evaluate_events
from acom.sed.scores import SCORE_METRICS, audio_id, ground_truth_events, score_table, threshold_free_metrics
from acom.sed.tuning import format_decoding, tune_decoding
from acom.sed.yoho import block_targets, decode_blocks

#: The metrics columns of a per-fold SED table (besides the condition keys): sed_eval's thresholded
#: segment and event metrics, then the threshold-free ones from the frame scores (PSDS1, PSDS2) and
#: the intersection-based F1.
SED_METRICS = ["segment_f1_micro", "segment_f1_macro", "segment_er_micro", "segment_er_macro",
               "event_f1_micro", "event_f1_macro", "event_er_micro", *SCORE_METRICS]


def soundscape_files(manifest: pd.DataFrame) -> pd.DataFrame:
    """clip_id -> (filename as in the TSVs, duration in s) from an ingest manifest."""
    return pd.DataFrame({
        "clip_id": manifest["clip_id"].to_numpy(),
        "filename": [Path(p).name for p in manifest["source_path"]],
        "duration": manifest["frames"].to_numpy() / manifest["sample_rate"].to_numpy(),
    }).set_index("clip_id")


def table_frames(table: pd.DataFrame, factor: int) -> list[np.ndarray]:
    """The pooled frame matrices of a frame-embedding table."""
    return [pool_frames(m, factor) for m in frame_matrices(table)]


def clip_targets(clip_ids: Sequence[str], n_frames: Sequence[int], labels: pd.DataFrame, files: pd.DataFrame, *,
                 hop_seconds: float, classes: Sequence[str], output: str = "frames") -> list[np.ndarray]:
    """Targets of each clip from the strong labels: frame targets (n_frames, C), or for a YOHO head
    (``output: yoho``) block targets (n_frames, 3C)."""
    by_file = {name: group for name, group in labels.groupby("filename", sort=False)}
    empty = pd.DataFrame(columns=STRONG_COLUMNS)
    if output == "yoho":
        return [block_targets(by_file.get(files.loc[clip_id, "filename"], empty), n_blocks=int(n),
                              hop_seconds=hop_seconds, classes=classes)
                for clip_id, n in zip(clip_ids, n_frames, strict=True)]
    return [
        frame_targets(by_file.get(files.loc[clip_id, "filename"], empty), n_frames=int(n), hop_seconds=hop_seconds,
                      classes=classes)
        for clip_id, n in zip(clip_ids, n_frames, strict=True)
    ]


def decode_clip(outputs: np.ndarray, *, head: HeadConfig, hop_seconds: float, classes: Sequence[str],
                thresholds: float | Mapping[str, float], median_filter_s: float | Mapping[str, float],
                filename: str) -> tuple[pd.DataFrame, np.ndarray]:
    """(events, frame scores (T, C)) of one clip's head outputs: thresholds and median filter on
    frame probabilities, or a YOHO head's block decoding (``thresholds`` on its presence, which is
    the frame score; no median filter)."""
    if head.output == "yoho":
        return (decode_blocks(outputs, hop_seconds=hop_seconds, classes=classes, filename=filename,
                              presence_threshold=thresholds),
                outputs[:, : len(classes)])
    return (decode_events(outputs, hop_seconds=hop_seconds, classes=classes, thresholds=thresholds,
                          median_filter_s=median_filter_s, filename=filename), outputs)


def fold_decoding(inner: Sequence[tuple[list[np.ndarray], list[np.ndarray]]], validation: pd.DataFrame,
                  validation_frames: list[np.ndarray], labels: pd.DataFrame, files: pd.DataFrame, *, tune: bool,
                  head: HeadConfig, hop_seconds: float, classes: Sequence[str],
                  thresholds: float | Mapping[str, float], median_filter_s: float | Mapping[str, float],
                  seed: int, scoring: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """(thresholds, median_filter_s) per class a test fold is decoded with: the configured ones, or
    (``tune``) those :func:`acom.sed.tuning.tune_decoding` finds on the ``validation`` training fold
    with a head trained on the ``inner`` (frames, targets) training folds only."""
    if not tune:
        return per_class(thresholds, classes, "thresholds"), per_class(median_filter_s, classes, "median_filter_s")
    model = train_frame_head([m for frames, _ in inner for m in frames], [t for _, targets in inner for t in targets],
                             config=head, seed=seed)
    names = [files.loc[clip_id, "filename"] for clip_id in validation["clip_id"]]

    def decode(outputs, **settings):
        return decode_clip(outputs, head=head, hop_seconds=hop_seconds, classes=classes, **settings)[0]

    return tune_decoding(predict_frames(model, validation_frames), names, labels, decode=decode,
                         hop_seconds=hop_seconds, classes=classes, median_filter=head.output == "frames",
                         scoring=scoring)


def score_clips(model, frames: Sequence[np.ndarray], clip_ids: Sequence[str], labels: pd.DataFrame,
                files: pd.DataFrame, *, hop_seconds: float, classes: Sequence[str], head: HeadConfig,
                thresholds: float | Mapping[str, float], median_filter_s: float | Mapping[str, float],
                scoring: Mapping[str, Any]) -> tuple[pd.DataFrame, dict[str, float], dict[str, pd.DataFrame]]:
    """Detect and score one set of test clips with a trained head: (events, metrics, frame-score
    tables). Only ``classes`` are scored: reference events of other classes are left out."""
    probabilities = predict_frames(model, frames)
    names = [files.loc[clip_id, "filename"] for clip_id in clip_ids]
    decoded = [decode_clip(p, head=head, hop_seconds=hop_seconds, classes=classes, thresholds=thresholds,
                           median_filter_s=median_filter_s, filename=name)
               for p, name in zip(probabilities, names, strict=True)]
    clip_events = [events for events, _ in decoded]
    estimated = pd.concat(clip_events, ignore_index=True) if clip_events else pd.DataFrame(columns=STRONG_COLUMNS)
    reference = labels[labels["filename"].isin(names) & labels["event_label"].isin(classes)][STRONG_COLUMNS]
    durations = {name: float(files.loc[clip_id, "duration"]) for clip_id, name in zip(clip_ids, names, strict=True)}
    metrics = evaluate_events(reference, estimated, durations=durations, classes=classes, **scoring)
    scores = {audio_id(name): score_table(frame_scores, hop_seconds=hop_seconds, duration=durations[name],
                                          classes=classes)
              for (_, frame_scores), name in zip(decoded, names, strict=True)}
    metrics.update(threshold_free_metrics(scores, ground_truth_events(reference, names),
                                          {audio_id(name): d for name, d in durations.items()},
                                          thresholds=thresholds, classes=classes))
    return estimated, metrics, scores


def sorted_events(events: Sequence[pd.DataFrame]) -> pd.DataFrame:
    detected = pd.concat(events, ignore_index=True)[STRONG_COLUMNS] if events else pd.DataFrame(columns=STRONG_COLUMNS)
    return detected.sort_values(["filename", "onset", "event_label"], kind="stable").reset_index(drop=True)


def detect_by_fold(test: Mapping[int, pd.DataFrame], train: Mapping[int, pd.DataFrame],
                   training_folds: Mapping[int, Sequence[int]], test_data: tuple[pd.DataFrame, pd.DataFrame],
                   train_data: tuple[pd.DataFrame, pd.DataFrame], *, hop_seconds: float, classes: Sequence[str],
                   head: HeadConfig, thresholds: float | Mapping[str, float],
                   median_filter_s: float | Mapping[str, float], seed: int, scoring: Mapping[str, Any],
                   min_hop_s: float | None, tune: bool) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """What both protocols run: each fold k of ``test`` scored by a head trained on the ``train``
    tables of ``training_folds[k]`` (seed ``seed + k``; test folds with the same training folds share
    one head and one decoding). ``test_data`` and ``train_data``: (strong labels, soundscape files)."""
    factor = pool_factor(hop_seconds, min_hop_s)
    hop_seconds = hop_seconds * factor
    labels, files = train_data
    # Each training fold's frames and targets once: every head that trains on it reuses them.
    needed = sorted({k for folds in training_folds.values() for k in folds})
    train_frames = {k: table_frames(train[k], factor) for k in needed}
    train_targets = {k: clip_targets(train[k]["clip_id"], [m.shape[0] for m in train_frames[k]], labels, files,
                                     hop_seconds=hop_seconds, classes=classes, output=head.output) for k in needed}
    heads: dict[tuple[int, ...], tuple] = {}
    events, rows, scores = [], [], {}
    for fold in sorted(test):
        folds = tuple(training_folds[fold])
        if folds not in heads:
            *inner, validation = folds
            decoding = fold_decoding(
                [(train_frames[k], train_targets[k]) for k in inner], train[validation], train_frames[validation],
                labels, files, tune=tune, head=head, hop_seconds=hop_seconds, classes=classes, thresholds=thresholds,
                median_filter_s=median_filter_s, seed=seed + 1000 + fold, scoring=scoring)
            features = [m for k in folds for m in train_frames[k]]
            model = train_frame_head(features, [t for k in folds for t in train_targets[k]], config=head,
                                     seed=seed + fold)
            heads[folds] = (model, decoding, len(features))
        model, (fold_thresholds, fold_windows), n_train = heads[folds]
        estimated, metrics, fold_scores = score_clips(
            model, table_frames(test[fold], factor), test[fold]["clip_id"].tolist(), *test_data,
            hop_seconds=hop_seconds, classes=classes, head=head, thresholds=fold_thresholds,
            median_filter_s=fold_windows, scoring=scoring)
        scores.update(fold_scores)
        rows.append({"fold": fold, "n_clips": len(test[fold]), "n_train_clips": n_train,
                     "decoding": format_decoding(fold_thresholds, fold_windows),
                     **{key: metrics[key] for key in SED_METRICS}})
        events.append(estimated)
    return sorted_events(events), pd.DataFrame(rows), scores


def cross_validate_sed(test: Mapping[int, pd.DataFrame], train: Mapping[int, pd.DataFrame], labels: pd.DataFrame,
                       files: pd.DataFrame, *, hop_seconds: float, classes: Sequence[str], head: HeadConfig,
                       thresholds: float | Mapping[str, float], median_filter_s: float | Mapping[str, float],
                       seed: int, scoring: Mapping[str, Any], min_hop_s: float | None = None, tune: bool = False,
                       ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """Score every fold of ``test`` (fold -> frame-embedding table) with a head trained on the
    ``train`` tables of the other folds (protocol ``cross_validation``).

    ``labels``: strong labels (DESED columns); ``files``: :func:`soundscape_files`; ``scoring``:
    keyword arguments of :func:`acom.sed.metrics.evaluate_events` (segment_seconds, t_collar,
    percentage_of_length); ``min_hop_s``: frames with a shorter hop are average-pooled
    (:func:`pool_frames`) to at least this hop first; ``tune``: thresholds and median filters per
    class tuned on the last of the training folds (:func:`fold_decoding`) instead of the given
    ones. Returns (events, per-fold metrics): the detected events of every fold in the DESED
    columns, and one row per fold with ``n_clips``, ``n_train_clips``, ``decoding`` (per class
    ``label:threshold/median window``) and :data:`SED_METRICS`; and the frame-score tables of every
    clip (audio id -> sed_scores_eval score DataFrame), from which each fold's PSDS was computed.
    """
    folds = sorted(test)
    if len(folds) < (3 if tune else 2):
        raise ValueError(f"cross-validation needs at least {3 if tune else 2} folds"
                         f"{' (2 to train and 1 to tune the decoding on)' if tune else ''}, got {folds}")
    return detect_by_fold(test, train, {fold: [k for k in folds if k != fold] for fold in folds}, (labels, files),
                          (labels, files), hop_seconds=hop_seconds, classes=classes, head=head, thresholds=thresholds,
                          median_filter_s=median_filter_s, seed=seed, scoring=scoring, min_hop_s=min_hop_s, tune=tune)


def cross_corpus_sed(test: Mapping[int, pd.DataFrame], train: Mapping[int, pd.DataFrame], test_labels: pd.DataFrame,
                     test_files: pd.DataFrame, train_labels: pd.DataFrame, train_files: pd.DataFrame, *,
                     hop_seconds: float, classes: Sequence[str], head: HeadConfig,
                     thresholds: float | Mapping[str, float], median_filter_s: float | Mapping[str, float],
                     seed: int, scoring: Mapping[str, Any], min_hop_s: float | None = None, tune: bool = False,
                     ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """Protocol ``cross_corpus``: one head trained on every table of ``train`` (soundscapes built
    from ESC-50: ``train_labels``, ``train_files``), scoring each fold of ``test`` (another corpus:
    ``test_labels``, ``test_files``). The test set is never trained on; only ``classes`` (the
    training classes: the ESC-50 class map's labels) are scored, the test set's other classes left
    out. ``tune``: decoding tuned on the last training fold (:func:`fold_decoding`). Same returns
    as :func:`cross_validate_sed`; the same head and decoding score every test fold."""
    if len(train) < (2 if tune else 1):
        raise ValueError(f"cross-corpus SED needs at least {2 if tune else 1} training fold(s)"
                         f"{' (1 to tune the decoding on)' if tune else ''}, got {sorted(train)}")
    return detect_by_fold(test, train, dict.fromkeys(test, sorted(train)), (test_labels, test_files),
                          (train_labels, train_files), hop_seconds=hop_seconds, classes=classes, head=head,
                          thresholds=thresholds, median_filter_s=median_filter_s, seed=seed, scoring=scoring,
                          min_hop_s=min_hop_s, tune=tune)


def summarize_sed(per_fold: pd.DataFrame) -> pd.DataFrame:
    """One row per (protocol, model, filter, codec, nominal_kbps, train_condition, scored_classes):
    means and standard deviations over folds of the actual kbps and every metric, and the clip count."""
    keys = ["protocol", "model", "filter", "codec", "nominal_kbps", "train_condition", "scored_classes"]
    values = ["actual_kbps", *SED_METRICS]
    grouped = per_fold.groupby(keys, sort=True, dropna=False)
    mean = grouped[values].mean()
    std = grouped[values].std(ddof=1).add_suffix("_std")
    out = pd.concat([grouped["fold"].nunique().rename("n_folds"), grouped["n_clips"].sum(), mean, std], axis=1)
    return out.reset_index()
