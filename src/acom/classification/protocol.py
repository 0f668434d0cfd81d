"""Per-fold evaluation (ESC-50's official protocol) and the summary computed from it.

Protocol: for each test fold k, a classifier is trained on the embeddings of every other fold and
tested on fold k. Under the ``clean`` train condition the training folds are the uncoded, unfiltered
clips; the test fold is the evaluated condition. The classifier is fit for every fold with a fixed
seed, so the same embeddings always give the same tables; the workflow fits the classifiers of one
training condition once and scores every condition trained on it with them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from acom.classification import build_classifier
from acom.embed import embedding_matrix

CONDITION_KEYS = ["model", "classifier", "train_condition", "filter", "codec", "nominal_kbps"]
PER_FOLD_COLUMNS = CONDITION_KEYS + ["fold", "actual_kbps", "accuracy", "macro_f1", "n_train", "n_clips"]
SUMMARY_COLUMNS = CONDITION_KEYS + [
    "actual_kbps", "accuracy_mean", "accuracy_std", "macro_f1_mean", "n_folds", "n_clips",
]


def split_folds(folds: Sequence[int], test_fold: int) -> list[int]:
    """The training folds for ``test_fold``: every other fold (no clip of the test fold leaks in)."""
    if test_fold not in folds:
        raise ValueError(f"test fold {test_fold} is not among the folds {list(folds)}")
    return [f for f in sorted(folds) if f != test_fold]


@dataclass
class FoldClassifier:
    """The fitted classifier that scores test fold ``fold``, and the clips it was trained on (every other
    fold's: a test clip among them would be a leak)."""

    fold: int
    model: Any
    train_clips: list[str]


def fit_fold_classifier(train_tables: Mapping[int, pd.DataFrame], test_fold: int, classifier: Mapping[str, Any],
                        *, seed: int) -> tuple[Any, pd.DataFrame]:
    """The classifier for ``test_fold``, fit on the embeddings of every other fold of
    ``train_tables`` (fold -> embedding table; the test fold's own table may be absent); returns it
    with the training table."""
    folds = sorted(set(train_tables) | {test_fold})
    train = pd.concat([train_tables[f] for f in split_folds(folds, test_fold)], ignore_index=True)
    model = build_classifier(classifier, seed=seed)
    model.fit(embedding_matrix(train), train["target"].to_numpy())
    return model, train


def fit_fold_classifiers(train_tables: Mapping[int, pd.DataFrame], classifier: Mapping[str, Any], *, seed: int,
                         folds: Sequence[int] | None = None) -> dict[int, FoldClassifier]:
    """One classifier per test fold in ``folds`` (default: every fold of ``train_tables``), each fit on
    the other folds' embeddings (:func:`fit_fold_classifier`)."""
    classifiers = {}
    for fold in sorted(train_tables if folds is None else folds):
        model, train = fit_fold_classifier(train_tables, fold, classifier, seed=seed)
        classifiers[fold] = FoldClassifier(fold=fold, model=model, train_clips=train["clip_id"].tolist())
    return classifiers


def predict_folds(classifiers: Mapping[int, FoldClassifier],
                  test_tables: Mapping[int, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score each fold of ``test_tables`` (fold -> embedding table) with its fold's classifier.

    Returns (predictions, metrics): one row per test clip with the predicted target and class
    probabilities, and one row per fold with accuracy, macro-F1, the numbers of training and test
    clips, per-class recall and the confusion matrix.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

    predictions, metrics = [], []
    for test_fold in sorted(test_tables):
        if test_fold not in classifiers:
            raise ValueError(f"no classifier for test fold {test_fold} (classifiers for folds {sorted(classifiers)})")
        fitted, test = classifiers[test_fold], test_tables[test_fold]
        leaked = set(fitted.train_clips) & set(test["clip_id"])
        if leaked:
            raise ValueError(f"fold {test_fold}: clips {sorted(leaked)[:5]} are in both training and test data")
        proba = fitted.model.predict_proba(embedding_matrix(test))
        classes = fitted.model.classes_
        predicted = classes[np.argmax(proba, axis=1)]
        y = test["target"].to_numpy()
        predictions.append(pd.DataFrame({
            "clip_id": test["clip_id"].to_numpy(),
            "fold": test_fold,
            "target": y,
            "predicted": predicted,
            "correct": predicted == y,
            "probabilities": [row.astype(np.float32).tolist() for row in proba],
        }))
        labels = np.union1d(classes, y)
        metrics.append({
            "fold": test_fold,
            "accuracy": float(accuracy_score(y, predicted)),
            "macro_f1": float(f1_score(y, predicted, average="macro", labels=classes, zero_division=0)),
            "n_train": len(fitted.train_clips),
            "n_clips": len(test),
            # Per class (in ``classes`` order): recall (NaN for a class without test clips) and the
            # confusion matrix, rows true class, columns predicted class.
            "classes": labels.tolist(),
            "per_class_recall": recall_score(y, predicted, labels=labels, average=None,
                                             zero_division=np.nan).tolist(),
            "confusion": confusion_matrix(y, predicted, labels=labels).tolist(),
        })
    return pd.concat(predictions, ignore_index=True), pd.DataFrame(metrics)


def evaluate_folds(train_tables: Mapping[int, pd.DataFrame], test_tables: Mapping[int, pd.DataFrame],
                   classifier: Mapping[str, Any], *, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on the other folds of ``train_tables``, test on each fold of ``test_tables``: the
    protocol in one call (:func:`fit_fold_classifiers`, then :func:`predict_folds`)."""
    return predict_folds(fit_fold_classifiers(train_tables, classifier, seed=seed, folds=sorted(test_tables)),
                         test_tables)


def tag_condition(predictions: pd.DataFrame, metrics: pd.DataFrame, rates: pd.DataFrame,
                  condition: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A scored condition's tables with its condition columns; each fold's metrics row also gets the
    mean ``actual_kbps`` of the clips scored in it (``rates``: the condition's per-clip table, an
    audio manifest or a feature condition's rates; clips it lists but nobody scored do not count)."""
    scored = rates[rates["clip_id"].isin(predictions["clip_id"])]
    kbps = metrics["fold"].map(scored.groupby("fold")["actual_kbps"].mean())
    return predictions.assign(**condition), metrics.assign(**condition, actual_kbps=kbps)


def summarize(per_fold: pd.DataFrame) -> pd.DataFrame:
    """One row per condition from the per-fold table: means over folds (accuracy std with ddof=1,
    the sample standard deviation), clip-weighted mean actual kbps, and fold and clip counts."""
    rows = []
    for key, group in per_fold.groupby(CONDITION_KEYS, sort=True, dropna=False):
        rows.append({
            **dict(zip(CONDITION_KEYS, key)),
            "actual_kbps": float(np.average(group["actual_kbps"], weights=group["n_clips"])),
            "accuracy_mean": float(group["accuracy"].mean()),
            "accuracy_std": float(group["accuracy"].std(ddof=1)) if len(group) > 1 else float("nan"),
            "macro_f1_mean": float(group["macro_f1"].mean()),
            "n_folds": int(group["fold"].nunique()),
            "n_clips": int(group["n_clips"].sum()),
        })
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def class_names(manifest: pd.DataFrame) -> list[str]:
    """Category names in target order: the order of the per-fold prediction tables' probabilities
    (the classifier's sorted targets)."""
    pairs = manifest[["target", "category"]].drop_duplicates().sort_values("target")
    return pairs["category"].tolist()
