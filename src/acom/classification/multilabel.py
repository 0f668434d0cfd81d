"""Multi-label clip classification on frozen embeddings (tasks ``esc10_mix`` and ``irmas``): one
binary classifier per class (one-vs-rest of any ``classifiers`` entry), a decision threshold chosen
on the training data only, and, where items hold one or two sources, a source counter.

Protocol per test fold: the heads are fit on the training folds (k-fold: every other fold; fixed
split: the training split). The threshold is one number for all classes, the one of
``THRESHOLD_GRID`` with the best micro F1 on out-of-fold scores of the training data (each training
fold scored by heads fit on the other training folds; a single training fold is split in
``INNER_SPLITS`` seeded parts instead), so no test item ever chooses it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from acom.classification import build_classifier
from acom.embed import embedding_matrix

#: Thresholds tried on the training folds' out-of-fold scores.
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)
#: Parts a single training fold (a fixed train/test split) is cut into to score it out of fold.
INNER_SPLITS = 4
#: ``predicted_sources`` of a task without a source counter.
NO_COUNT = -1
#: Per-fold metric columns of a multi-label task (``<task>_per_fold.csv``), after the condition keys.
MULTILABEL_METRICS = ["map", "micro_f1", "macro_f1", "exact_match", "counting_accuracy", "recall_louder",
                      "recall_quieter", "threshold"]


def label_matrix(labels: Sequence[Sequence[str]], classes: Sequence[str]) -> np.ndarray:
    """(items, classes) 0/1 matrix of each item's label list; an unknown label is an error."""
    index = {name: i for i, name in enumerate(classes)}
    matrix = np.zeros((len(labels), len(classes)), dtype=np.int8)
    for row, names in enumerate(labels):
        for name in names:
            if name not in index:
                raise ValueError(f"label {name!r} is not one of the task's classes {list(classes)}")
            matrix[row, index[name]] = 1
    return matrix


def _fit_one_vs_rest(x: np.ndarray, y: np.ndarray, classifier: Mapping[str, Any], seed: int):
    from sklearn.multiclass import OneVsRestClassifier

    return OneVsRestClassifier(build_classifier(classifier, seed=seed)).fit(x, y)


def _scores(model, x: np.ndarray) -> np.ndarray:
    """Per-class probabilities of a fitted one-vs-rest model; a class with one value in training
    (never or always present) gets that constant."""
    return np.asarray(model.predict_proba(x), dtype=np.float64)


def choose_threshold(scores: np.ndarray, y: np.ndarray, grid: Sequence[float] = THRESHOLD_GRID) -> float:
    """The threshold of ``grid`` with the best micro F1 of ``scores >= t`` against ``y`` (the
    smallest such threshold on ties)."""
    from sklearn.metrics import f1_score

    best = max(grid, key=lambda t: (f1_score(y, scores >= t, average="micro", zero_division=0), -t))
    return float(best)


def _inner_groups(groups: np.ndarray, seed: int) -> np.ndarray:
    if len(np.unique(groups)) > 1:
        return groups
    return np.random.default_rng(seed).permutation(len(groups)) % INNER_SPLITS


def out_of_fold_scores(x: np.ndarray, y: np.ndarray, groups: np.ndarray, classifier: Mapping[str, Any], *,
                       seed: int) -> np.ndarray:
    """Scores of each training item by heads fit on the training items of the other groups."""
    groups = _inner_groups(groups, seed)
    scores = np.zeros(y.shape, dtype=np.float64)
    for group in np.unique(groups):
        held = groups == group
        scores[held] = _scores(_fit_one_vs_rest(x[~held], y[~held], classifier, seed), x[held])
    return scores


@dataclass
class MultilabelHeads:
    """What scores one test fold: the one-vs-rest heads, the source counter (None where every
    training item has one source), the threshold and the training items (a test item among them
    would be a leak)."""

    classes: list[str]
    heads: Any
    counter: Any
    threshold: float
    train_clips: list[str]


def fit_multilabel_heads(train: pd.DataFrame, classes: Sequence[str], classifier: Mapping[str, Any], *,
                         seed: int) -> MultilabelHeads:
    """Fit the heads, the threshold and the counter on ``train`` (embedding, labels, n_sources, fold)."""
    x = embedding_matrix(train)
    y = label_matrix(train["labels"], classes)
    missing = [name for name, count in zip(classes, y.sum(axis=0), strict=True) if count == 0]
    if missing:
        raise ValueError(f"classes {missing} have no training item; every class needs examples in the training data")
    threshold = choose_threshold(out_of_fold_scores(x, y, train["fold"].to_numpy(), classifier, seed=seed), y)
    counts = train["n_sources"].to_numpy()
    counter = build_classifier(classifier, seed=seed).fit(x, counts) if len(np.unique(counts)) > 1 else None
    return MultilabelHeads(classes=list(classes), heads=_fit_one_vs_rest(x, y, classifier, seed), counter=counter,
                           threshold=threshold, train_clips=train["clip_id"].tolist())


def predict_multilabel(fitted: MultilabelHeads, test: pd.DataFrame) -> pd.DataFrame:
    """One row per test item: its labels and source levels, the class scores, the labels at or over
    the threshold (the top class when none is), the predicted (``NO_COUNT`` without a counter) and
    true source counts."""
    leaked = set(fitted.train_clips) & set(test["clip_id"])
    if leaked:
        raise ValueError(f"items {sorted(leaked)[:5]} are in both training and test data")
    x = embedding_matrix(test)
    scores = _scores(fitted.heads, x)
    chosen = scores >= fitted.threshold
    chosen[np.arange(len(chosen)), scores.argmax(axis=1)] = True  # every item holds at least one sound
    classes = np.asarray(fitted.classes)
    # No counter (every training item had one source): no count predicted (-1).
    counted = fitted.counter.predict(x) if fitted.counter is not None else np.full(len(test), NO_COUNT)
    return pd.DataFrame({
        "clip_id": test["clip_id"].to_numpy(),
        "fold": test["fold"].to_numpy(),
        "labels": [list(v) for v in test["labels"]],
        "levels_db": [list(v) for v in test["levels_db"]],
        "n_sources": test["n_sources"].to_numpy(),
        "scores": [row.astype(np.float32).tolist() for row in scores],
        "predicted": [classes[row].tolist() for row in chosen],
        "predicted_sources": np.asarray(counted, dtype=int),
        "threshold": fitted.threshold,
    })


def leveled_mixtures(predictions: pd.DataFrame) -> pd.DataFrame:
    """The two-source items whose two source levels are known (mixtures; not IRMAS excerpts with two
    instruments, whose levels nobody measured)."""
    return predictions[(predictions["n_sources"] == 2) & (predictions["levels_db"].map(len) == 2)]


def source_recalls(predictions: pd.DataFrame) -> tuple[float, float]:
    """(recall of the louder source, recall of the quieter source) over the two-source items whose
    sources differ in level: the share whose louder (quieter) source's class was predicted."""
    louder, quieter = [], []
    for rec in leveled_mixtures(predictions).itertuples(index=False):
        levels = list(rec.levels_db)
        if levels[0] == levels[1]:
            continue
        loud, quiet = (0, 1) if levels[0] > levels[1] else (1, 0)
        louder.append(rec.labels[loud] in rec.predicted)
        quieter.append(rec.labels[quiet] in rec.predicted)
    return (float(np.mean(louder)) if louder else np.nan, float(np.mean(quieter)) if quieter else np.nan)


def multilabel_metrics(predictions: pd.DataFrame, classes: Sequence[str]) -> dict[str, Any]:
    """Metrics of one fold's predictions: mAP (mean over classes present in the fold of scikit-learn's
    average precision), micro and macro F1 and exact-match accuracy of the thresholded labels,
    source-counting accuracy, louder- and quieter-source recall, and per-class precision, recall, F1."""
    from sklearn.metrics import accuracy_score, average_precision_score, precision_recall_fscore_support

    y = label_matrix(predictions["labels"], classes)
    chosen = label_matrix(predictions["predicted"], classes)
    scores = np.vstack(predictions["scores"].to_numpy())
    present = y.sum(axis=0) > 0
    precision, recall, f1, _ = precision_recall_fscore_support(y, chosen, average=None, zero_division=0)
    louder, quieter = source_recalls(predictions)
    counted = predictions["predicted_sources"].to_numpy()
    return {
        "map": float(average_precision_score(y[:, present], scores[:, present], average="macro")),
        "micro_f1": float(precision_recall_fscore_support(y, chosen, average="micro", zero_division=0)[2]),
        "macro_f1": float(np.mean(f1[present])),
        "exact_match": float(accuracy_score(y, chosen)),
        "counting_accuracy": (float(np.mean(counted == predictions["n_sources"].to_numpy()))
                              if (counted != NO_COUNT).any() else np.nan),
        "recall_louder": louder,
        "recall_quieter": quieter,
        "threshold": float(predictions["threshold"].iloc[0]),
        "n_clips": len(predictions),
        "classes": list(classes),
        "per_class_precision": precision.tolist(),
        "per_class_recall": recall.tolist(),
        "per_class_f1": f1.tolist(),
    }


def with_item_labels(embeddings: pd.DataFrame, manifest: pd.DataFrame) -> pd.DataFrame:
    """An embedding table with each item's labels, source count, source levels and augmentation flag
    from the task manifest (matched by clip id; an item missing from the manifest is an error)."""
    columns = ["clip_id", "labels", "n_sources", "levels_db", "augmented"]
    table = embeddings.merge(manifest[columns], on="clip_id", how="left", validate="one_to_one")
    missing = table.loc[table["labels"].isna(), "clip_id"].tolist()
    if missing:
        raise ValueError(f"items {missing[:5]} have embeddings but no row in the task manifest; rebuild the embeddings")
    return table


def fit_fold_heads(train_tables: Mapping[int, pd.DataFrame], classes: Sequence[str], classifier: Mapping[str, Any], *,
                   seed: int, training_folds: Mapping[int, Sequence[int]]) -> dict[int, MultilabelHeads]:
    """Heads per test fold, each fit on the tables of its training folds (augmented items included:
    they exist for training). ``training_folds``: test fold -> the folds it trains on
    (:func:`acom.tasks.training_folds`)."""
    heads = {}
    for test_fold, folds in sorted(training_folds.items()):
        if test_fold in folds:
            raise ValueError(f"test fold {test_fold} is among its own training folds {list(folds)}")
        train = pd.concat([train_tables[f] for f in folds], ignore_index=True)
        heads[test_fold] = fit_multilabel_heads(train, classes, classifier, seed=seed)
    return heads


def score_fold_heads(heads: Mapping[int, MultilabelHeads], test_tables: Mapping[int, pd.DataFrame],
                     classes: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(predictions, per-fold metrics) of each test fold scored by its heads; augmented (training-only)
    items are never scored."""
    predictions, metrics = [], []
    for fold in sorted(heads):
        test = test_tables[fold]
        fold_predictions = predict_multilabel(heads[fold], test[~test["augmented"].astype(bool)])
        predictions.append(fold_predictions)
        metrics.append({"fold": fold, "n_train": len(heads[fold].train_clips),
                        **multilabel_metrics(fold_predictions, classes)})
    return pd.concat(predictions, ignore_index=True), pd.DataFrame(metrics)


#: Condition columns of a multi-label task's tables: those of ``esc50_summary.csv``.
MULTILABEL_PER_FOLD_COLUMNS = ["model", "classifier", "train_condition", "filter", "codec", "nominal_kbps", "fold",
                               "actual_kbps", *MULTILABEL_METRICS, "n_train", "n_clips"]


def summarize_multilabel(per_fold: pd.DataFrame) -> pd.DataFrame:
    """One row per condition: each metric's mean over folds and its sample standard deviation
    (``<metric>_mean``, ``<metric>_std``), the clip-weighted actual kbps, fold and clip counts."""
    keys = MULTILABEL_PER_FOLD_COLUMNS[:6]
    rows = []
    for key, group in per_fold.groupby(keys, sort=True, dropna=False):
        row = dict(zip(keys, key))
        row["actual_kbps"] = float(np.average(group["actual_kbps"], weights=group["n_clips"]))
        for metric in MULTILABEL_METRICS:
            row[f"{metric}_mean"] = float(group[metric].mean())
            row[f"{metric}_std"] = float(group[metric].std(ddof=1)) if len(group) > 1 else float("nan")
        row.update(n_folds=int(group["fold"].nunique()), n_clips=int(group["n_clips"].sum()))
        rows.append(row)
    return pd.DataFrame(rows)


def task_classes(manifest: pd.DataFrame) -> list[str]:
    """A multi-label task's classes: every label its manifest names, sorted (the score columns' order)."""
    return sorted({label for labels in manifest["labels"] for label in labels})


#: Columns of a task's source-recall table (``results/<task>_source_recall.csv``).
SOURCE_RECALL_COLUMNS = [*MULTILABEL_PER_FOLD_COLUMNS[:6], "level_low_db", "level_high_db", "n_mixtures",
                         "recall_louder", "recall_quieter"]


def source_recall_by_level(predictions: pd.DataFrame, edges: Sequence[float]) -> pd.DataFrame:
    """Louder- and quieter-source recall of two-source items (pooled over folds) per bin of their
    level difference: bins ``[edges[i], edges[i+1])``, the last one closed. Equal-level mixtures
    have no quieter source and are left out (as in :func:`source_recalls`)."""
    mixtures = leveled_mixtures(predictions)
    difference = np.array([abs(a - b) for a, b in mixtures["levels_db"]], dtype=float).reshape(-1)
    rows = []
    for i, (low, high) in enumerate(itertools.pairwise(edges)):
        last = i == len(edges) - 2
        inside = (difference >= low) & ((difference <= high) if last else (difference < high)) & (difference > 0)
        louder, quieter = source_recalls(mixtures[inside])
        rows.append({"level_low_db": float(low), "level_high_db": float(high), "n_mixtures": int(inside.sum()),
                     "recall_louder": louder, "recall_quieter": quieter})
    return pd.DataFrame(rows, columns=SOURCE_RECALL_COLUMNS[6:])
