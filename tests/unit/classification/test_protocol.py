"""Per-fold protocol, classifier metrics against an independent computation, and the summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from acom.classification.protocol import PER_FOLD_COLUMNS, evaluate_folds, split_folds, summarize
from acom.conditions import pcm_kbps


def _tables(rng, folds=(1, 2, 3, 4, 5), n_classes=4, per_class=6, dim=8, noise=1.5):
    centers = rng.normal(0, 2, (n_classes, dim))
    tables = {}
    for fold in folds:
        rows = []
        for target in range(n_classes):
            for i in range(per_class):
                rows.append({"clip_id": f"{fold}-{target}-{i}", "fold": fold, "target": target,
                             "embedding": (centers[target] + noise * rng.normal(size=dim)).tolist()})
        tables[fold] = pd.DataFrame(rows)
    return tables


def test_split_folds_never_leaks_the_test_fold():
    for k in range(1, 6):
        train = split_folds([1, 2, 3, 4, 5], k)
        assert k not in train and sorted(train + [k]) == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="test fold 6"):
        split_folds([1, 2, 3, 4, 5], 6)


def test_metrics_match_an_independent_computation():
    tables = _tables(np.random.default_rng(0))
    predictions, metrics = evaluate_folds(tables, tables, {"type": "logreg", "C": 1.0}, seed=0)
    assert len(predictions) == 5 * 4 * 6 and metrics["fold"].tolist() == [1, 2, 3, 4, 5]
    for fold, group in predictions.groupby("fold"):
        y, p = group["target"].to_numpy(), group["predicted"].to_numpy()
        accuracy = np.mean(y == p)
        f1s = []
        for c in range(4):
            tp, fp, fn = np.sum((p == c) & (y == c)), np.sum((p == c) & (y != c)), np.sum((p != c) & (y == c))
            f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
        row = metrics.set_index("fold").loc[fold]
        assert row.accuracy == pytest.approx(accuracy, abs=1e-12)
        assert row.macro_f1 == pytest.approx(np.mean(f1s), abs=1e-12)
        assert row.n_train == 4 * 24 and row.n_clips == 24
        probs = np.stack(group["probabilities"].to_numpy())
        np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
        np.testing.assert_array_equal(probs.argmax(1), p)
    # Noisy but separable clusters: well above chance (0.25), not perfect.
    assert 0.5 < metrics["accuracy"].mean() < 1.0


def test_classifier_is_deterministic_and_trains_on_clean_tables():
    rng = np.random.default_rng(1)
    clean = _tables(rng)
    # A "coded" test condition: the same clips with their embeddings scrambled -> chance accuracy.
    scrambled = {f: t.assign(embedding=[list(rng.normal(size=8)) for _ in range(len(t))]) for f, t in clean.items()}
    _, clean_metrics = evaluate_folds(clean, clean, {"type": "logreg"}, seed=0)
    _, again = evaluate_folds(clean, clean, {"type": "logreg"}, seed=0)
    pd.testing.assert_frame_equal(clean_metrics, again)
    _, coded_metrics = evaluate_folds(clean, scrambled, {"type": "logreg"}, seed=0)
    assert coded_metrics["accuracy"].mean() < clean_metrics["accuracy"].mean() - 0.2


def test_leakage_is_refused():
    tables = _tables(np.random.default_rng(2))
    leaky = dict(tables)
    leaky[1] = pd.concat([tables[1], tables[2].iloc[:1]])  # a fold-2 clip inside test fold 1
    with pytest.raises(ValueError, match="both training and test"):
        evaluate_folds(tables, leaky, {"type": "logreg"}, seed=0)


def test_summary_is_the_aggregation_of_the_per_fold_table():
    rng = np.random.default_rng(3)
    rows = []
    for model in ["a", "b"]:
        for fold in range(1, 6):
            rows.append({"model": model, "classifier": "logreg", "train_condition": "clean", "filter": "none",
                         "codec": "none", "nominal_kbps": 256.0, "fold": fold, "actual_kbps": rng.uniform(100, 200),
                         "accuracy": rng.uniform(), "macro_f1": rng.uniform(), "n_train": 80,
                         "n_clips": int(rng.integers(10, 30))})
    per_fold = pd.DataFrame(rows)[PER_FOLD_COLUMNS]
    summary = summarize(per_fold).set_index("model")
    for model, group in per_fold.groupby("model"):
        row = summary.loc[model]
        assert row.accuracy_mean == pytest.approx(group["accuracy"].sum() / 5)
        assert row.accuracy_std == pytest.approx(np.sqrt(np.sum((group["accuracy"] - group["accuracy"].mean()) ** 2) / 4))
        assert row.macro_f1_mean == pytest.approx(group["macro_f1"].sum() / 5)
        assert row.actual_kbps == pytest.approx((group["actual_kbps"] * group["n_clips"]).sum() / group["n_clips"].sum())
        assert (row.n_folds, row.n_clips) == (5, group["n_clips"].sum())


def test_pcm_kbps():
    assert pcm_kbps(16000) == 256.0 and pcm_kbps(44100, 16, 2) == 1411.2


def test_per_class_recall_and_confusion_match_an_independent_computation():
    tables = _tables(np.random.default_rng(3), noise=3.0)
    predictions, metrics = evaluate_folds(tables, tables, {"type": "logreg"}, seed=0)
    for row in metrics.itertuples():
        group = predictions[predictions["fold"] == row.fold]
        y, p = group["target"].to_numpy(), group["predicted"].to_numpy()
        assert row.classes == [0, 1, 2, 3]
        confusion = np.array(row.confusion)
        for i in range(4):
            for j in range(4):
                assert confusion[i, j] == np.sum((y == i) & (p == j))
            assert row.per_class_recall[i] == pytest.approx(np.mean(p[y == i] == i))
        assert confusion.trace() / confusion.sum() == pytest.approx(row.accuracy)


def test_mlp_probe_is_seeded_and_learns():
    tables = _tables(np.random.default_rng(4), per_class=30, noise=1.0)
    params = {"type": "mlp", "hidden_units": 32, "max_iter": 200}
    a, metrics = evaluate_folds(tables, tables, params, seed=0)
    b, _ = evaluate_folds(tables, tables, params, seed=0)
    c, _ = evaluate_folds(tables, tables, params, seed=1)
    np.testing.assert_array_equal(np.stack(a["probabilities"]), np.stack(b["probabilities"]))
    assert not np.array_equal(np.stack(a["probabilities"]), np.stack(c["probabilities"]))
    assert metrics["accuracy"].mean() > 0.8
    from acom.classification import build_classifier as make_classifier

    mlp = make_classifier(params, seed=0)[-1]
    # Early stopping holds out part of the training data it is given: never the test fold.
    assert mlp.early_stopping and mlp.validation_fraction == 0.1


def test_tag_condition_averages_the_rates_of_the_scored_clips_only():
    from acom.classification.protocol import tag_condition

    predictions = pd.DataFrame({"clip_id": ["a", "b", "c"], "fold": [1, 1, 2]})
    metrics = pd.DataFrame({"fold": [1, 2]})
    rates = pd.DataFrame({"clip_id": ["a", "b", "c", "a_ps2"], "fold": [1, 1, 2, 1],
                          "actual_kbps": [4.0, 6.0, 8.0, 100.0]})
    tagged, with_kbps = tag_condition(predictions, metrics, rates, {"codec": "opus_6", "nominal_kbps": 6.0})
    assert with_kbps["actual_kbps"].tolist() == [5.0, 8.0]  # a_ps2 was not scored
    assert (tagged["codec"] == "opus_6").all() and (with_kbps["nominal_kbps"] == 6.0).all()
