"""Multi-label heads, threshold, counter and metrics, checked against scikit-learn directly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer

from acom.classification.multilabel import (
    choose_threshold,
    fit_fold_heads,
    label_matrix,
    multilabel_metrics,
    score_fold_heads,
    source_recalls,
    summarize_multilabel,
)
from acom.tasks import training_folds

CLASSES = ["a", "b", "c", "d"]
LOGREG = {"type": "logreg", "C": 1.0, "max_iter": 2000}


def _items(rng: np.random.Generator, fold: int, n_single: int = 24, n_mix: int = 24) -> pd.DataFrame:
    """Embeddings that are sums of class prototypes plus noise: single items and two-class mixtures."""
    prototypes = np.eye(len(CLASSES), 16) * 3
    rows = []
    for i in range(n_single + n_mix):
        two = i >= n_single
        picked = rng.choice(len(CLASSES), size=2 if two else 1, replace=False)
        levels = [0.0, -float(rng.uniform(0, 12))] if two else [0.0]
        weights = [10 ** (level / 20) for level in levels]
        embedding = sum(w * prototypes[k] for w, k in zip(weights, picked, strict=True)) + rng.normal(0, 0.4, 16)
        rows.append({"clip_id": f"{fold}-{i}", "fold": fold, "embedding": embedding.tolist(),
                     "labels": [CLASSES[k] for k in picked], "n_sources": len(picked), "levels_db": levels,
                     "augmented": False})
    return pd.DataFrame(rows)


@pytest.fixture
def tables():
    rng = np.random.default_rng(0)
    return {fold: _items(rng, fold) for fold in (1, 2, 3)}


def test_label_matrix_refuses_an_unknown_label():
    np.testing.assert_array_equal(label_matrix([["b"], ["a", "d"]], CLASSES), [[0, 1, 0, 0], [1, 0, 0, 1]])
    with pytest.raises(ValueError, match="label 'e' is not one of the task's classes"):
        label_matrix([["e"]], CLASSES)


def test_the_threshold_is_the_grid_point_with_the_best_micro_f1():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=(60, 4))
    scores = np.clip(0.6 * y + rng.uniform(0, 0.5, size=y.shape), 0, 1)
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    f1 = [f1_score(y, scores >= t, average="micro") for t in grid]
    assert choose_threshold(scores, y) == pytest.approx(grid[int(np.argmax(f1))])


def test_metrics_equal_scikit_learn_on_the_predictions(tables):
    heads = fit_fold_heads(tables, CLASSES, LOGREG, seed=0, training_folds=training_folds("esc10_mix", [1, 2, 3]))
    predictions, metrics = score_fold_heads(heads, tables, CLASSES)
    assert set(metrics["fold"]) == {1, 2, 3}
    binarizer = MultiLabelBinarizer(classes=CLASSES)
    for fold, row in metrics.set_index("fold").iterrows():
        fold_predictions = predictions[predictions["fold"] == fold]
        y = binarizer.fit_transform(fold_predictions["labels"])
        chosen = binarizer.transform(fold_predictions["predicted"])
        scores = np.vstack(fold_predictions["scores"])
        assert row["map"] == pytest.approx(np.mean([average_precision_score(y[:, k], scores[:, k]) for k in range(4)]))
        assert row["micro_f1"] == pytest.approx(f1_score(y, chosen, average="micro"))
        assert row["macro_f1"] == pytest.approx(f1_score(y, chosen, average="macro"))
        assert row["exact_match"] == pytest.approx(accuracy_score(y, chosen))
        assert row["counting_accuracy"] == pytest.approx(
            accuracy_score(fold_predictions["n_sources"], fold_predictions["predicted_sources"]))
        assert row["per_class_f1"] == pytest.approx(precision_recall_fscore_support(y, chosen, average=None)[2])
        # Separable prototypes: the heads work; counting (a linear counter, quiet second sources) beats chance.
        assert row["map"] > 0.9 and row["counting_accuracy"] > 0.6
        assert row["n_train"] == sum(len(tables[f]) for f in (1, 2, 3) if f != fold)


@pytest.mark.filterwarnings("ignore:Label .* is present in all training examples")
def test_the_heads_never_see_the_test_fold(tables):
    """Relabelling and moving every test item changes nothing the heads of that fold learnt."""
    training = training_folds("esc10_mix", [1, 2, 3])
    before = fit_fold_heads(tables, CLASSES, LOGREG, seed=0, training_folds=training)
    scrambled = dict(tables)
    scrambled[1] = tables[1].assign(labels=[["a"]] * len(tables[1]), n_sources=1,
                                    embedding=[list(np.zeros(16))] * len(tables[1]))
    after = fit_fold_heads(scrambled, CLASSES, LOGREG, seed=0, training_folds=training)
    assert after[1].threshold == before[1].threshold
    x = np.vstack(tables[2]["embedding"])
    np.testing.assert_allclose(after[1].heads.predict_proba(x), before[1].heads.predict_proba(x))
    with pytest.raises(ValueError, match="are in both training and test data"):
        score_fold_heads({1: before[2]}, {1: tables[1].assign(clip_id=tables[3]["clip_id"])}, CLASSES)


def test_augmented_items_train_but_are_never_scored(tables):
    augmented = {f: pd.concat([t, t.assign(clip_id=t["clip_id"] + "_ps2", augmented=True)], ignore_index=True)
                 for f, t in tables.items()}
    heads = fit_fold_heads(augmented, CLASSES, LOGREG, seed=0, training_folds=training_folds("esc10_mix", [1, 2, 3]))
    predictions, metrics = score_fold_heads(heads, augmented, CLASSES)
    assert not predictions["clip_id"].str.endswith("_ps2").any()
    assert metrics.set_index("fold")["n_clips"].to_dict() == {f: len(t) for f, t in tables.items()}
    assert metrics.set_index("fold")["n_train"].to_dict() == {1: 192, 2: 192, 3: 192}


def test_source_recalls_split_mixtures_by_level():
    predictions = pd.DataFrame({
        "labels": [["a", "b"], ["c", "d"], ["a", "c"], ["b"], ["a", "d"]],
        "levels_db": [[0.0, -6.0], [-3.0, 0.0], [0.0, -9.0], [0.0], [0.0, 0.0]],
        "n_sources": [2, 2, 2, 1, 2],
        "predicted": [["a"], ["c", "d"], ["c"], ["b"], ["a"]],
    })
    # Louder sources: a (hit), d (hit), a (miss); quieter: b (miss), c (hit), c (hit); equal levels left out.
    assert source_recalls(predictions) == pytest.approx((2 / 3, 2 / 3))


def test_summary_means_and_stds_over_folds():
    per_fold = pd.DataFrame({
        "model": "m", "classifier": "logreg", "train_condition": "clean", "filter": "none", "codec": "opus_6",
        "nominal_kbps": 6.0, "fold": [1, 2], "actual_kbps": [5.0, 7.0], "n_clips": [10, 30], "n_train": 40,
        **{metric: [0.5, 0.7] for metric in ["map", "micro_f1", "macro_f1", "exact_match", "counting_accuracy",
                                             "recall_louder", "recall_quieter", "threshold"]},
    })
    row = summarize_multilabel(per_fold).iloc[0]
    assert row["actual_kbps"] == pytest.approx(6.5)
    assert row["map_mean"] == pytest.approx(0.6) and row["map_std"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert row["n_folds"] == 2 and row["n_clips"] == 40


def test_metrics_of_a_hand_built_fold():
    predictions = pd.DataFrame({
        "labels": [["a"], ["a", "b"], ["c"], ["d"]],
        "levels_db": [[0.0], [0.0, -6.0], [0.0], [0.0]],
        "n_sources": [1, 2, 1, 1],
        "scores": [[0.9, 0.1, 0.1, 0.1], [0.8, 0.3, 0.1, 0.1], [0.1, 0.6, 0.7, 0.1], [0.1, 0.1, 0.1, 0.9]],
        "predicted": [["a"], ["a"], ["b", "c"], ["d"]],
        "predicted_sources": [1, 1, 2, 1],
        "threshold": 0.5,
    })
    metrics = multilabel_metrics(predictions, CLASSES)
    # 4 true positives, 1 false positive (b), 1 false negative (b): micro F1 = 8 / 10.
    assert metrics["micro_f1"] == pytest.approx(0.8)
    assert metrics["exact_match"] == pytest.approx(0.5)
    assert metrics["counting_accuracy"] == pytest.approx(0.5)
    # Average precision: a 1, b 1/2 (its one positive ranked second), c 1, d 1.
    assert metrics["map"] == pytest.approx((1 + 0.5 + 1 + 1) / 4)
    assert (metrics["recall_louder"], metrics["recall_quieter"]) == (1.0, 0.0)


def test_source_recall_by_level_bins_the_level_difference():
    from acom.classification.multilabel import source_recall_by_level

    predictions = pd.DataFrame({
        "labels": [["a", "b"], ["c", "d"], ["a", "c"], ["b"], ["a", "d"]],
        "levels_db": [[0.0, -2.0], [-6.0, 0.0], [0.0, -12.0], [0.0], [0.0, 0.0]],
        "n_sources": [2, 2, 2, 1, 2],
        "predicted": [["a", "b"], ["d"], ["a"], ["b"], ["a"]],
    })
    table = source_recall_by_level(predictions, [0, 4, 8, 12])
    assert table["n_mixtures"].tolist() == [1, 1, 1]  # equal levels and single items left out; 12 dB in the last
    assert table["recall_louder"].tolist() == [1.0, 1.0, 1.0]
    assert table["recall_quieter"].tolist() == [1.0, 0.0, 0.0]
