"""Feature coding: exact bits per clip for each quantiser, error falling with the budget, codebooks
that never see the test fold, and 8-bit scalar codes that classify like the original."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from acom.classification.protocol import evaluate_folds
from acom.embed import embedding_matrix, frame_matrices, pool_frames
from acom.features import check_feature_codec_config
from acom.features.quantizers import fit_pq, fit_rvq, fit_scalar
from acom.features.stage import fit_fold_quantizer, quantization_error, quantize_fold, quantize_frames

DIM = 48


def _tables(seed: int = 0, folds=(1, 2, 3, 4, 5), per_class: int = 8, classes: int = 5) -> dict[int, pd.DataFrame]:
    """Embedding tables of a synthetic corpus: classes as Gaussian clusters in DIM dimensions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (classes, DIM))
    tables = {}
    for fold in folds:
        rows = []
        for target in range(classes):
            for i in range(per_class):
                rows.append({"clip_id": f"{fold}-{target}-{i}", "fold": fold, "target": target,
                             "category": f"c{target}",
                             "embedding": (centres[target] + 0.6 * rng.normal(0, 1, DIM)).astype(np.float32).tolist(),
                             "probabilities": None, "top_labels": [], "top_probs": []})
        tables[fold] = pd.DataFrame(rows)
    return tables


def _durations(tables, seconds: float = 5.0) -> dict[str, float]:
    return {clip: seconds for table in tables.values() for clip in table["clip_id"]}


@pytest.mark.parametrize("params, budget, bits", [
    ({"type": "scalar"}, 3, 3 * DIM),
    ({"type": "rvq", "codebook_bits": 4}, 24, 24),
    ({"type": "pq", "codebook_bits": 6}, 36, 36),
])
def test_the_bits_per_clip_are_exactly_the_budget(params, budget, bits):
    tables = _tables()
    quantizer = fit_fold_quantizer(tables, 1, params, budget, seed=0)
    assert quantizer.bits_per_vector == bits
    codes = quantizer.encode(embedding_matrix(tables[1]))
    assert codes.shape == (40, len(quantizer.code_bits))
    for column, width in enumerate(quantizer.code_bits):  # every code fits its width
        assert 0 <= codes[:, column].min() and codes[:, column].max() < 2**width
    # Packed end to end, the codes of one clip take exactly `bits` bits.
    packed = "".join(format(int(code), f"0{width}b") for code, width in zip(codes[0], quantizer.code_bits))
    assert len(packed) == bits
    table, rates = quantize_fold(tables[1], quantizer, _durations(tables))
    assert (rates["bits"] == bits).all() and np.allclose(rates["actual_kbps"], bits / 5.0 / 1000)
    assert len(table) == 40 and len(table["embedding"].iloc[0]) == DIM


@pytest.mark.parametrize("fit, budgets, params", [
    (fit_scalar, [1, 2, 4, 8], {}),
    (fit_rvq, [4, 8, 16, 32], {"codebook_bits": 4}),
    (fit_pq, [8, 16, 32, 48], {"codebook_bits": 4}),
])
def test_quantisation_error_falls_as_the_budget_grows(fit, budgets, params):
    tables = _tables()
    train = np.concatenate([embedding_matrix(tables[f]) for f in (2, 3, 4, 5)])
    test = embedding_matrix(tables[1])
    errors = [quantization_error(test, (q := fit(train, b, params, 0)).decode(q.encode(test))) for b in budgets]
    assert all(later < earlier for earlier, later in itertools.pairwise(errors)), errors
    if fit is fit_scalar:  # 8 bits per dimension: 256 levels over each dimension's training range
        assert errors[-1] < 0.01 * errors[0] and errors[-1] < 2e-3


def test_codebooks_never_see_the_test_fold():
    tables = _tables()
    marked = {fold: table.copy() for fold, table in tables.items()}
    # A marker planted in the test fold: vectors a thousand times larger than anything else.
    marked[1]["embedding"] = [(1000 * np.asarray(e)).tolist() for e in marked[1]["embedding"]]
    for params, budget in (({"type": "scalar"}, 4), ({"type": "rvq", "codebook_bits": 4}, 8),
                           ({"type": "pq", "codebook_bits": 4}, 8)):
        clean = fit_fold_quantizer(tables, 1, params, budget, seed=0).arrays()
        planted = fit_fold_quantizer(marked, 1, params, budget, seed=0).arrays()
        assert clean.keys() == planted.keys()
        for key in clean:
            np.testing.assert_array_equal(clean[key], planted[key])
    leaked = {2: pd.concat([tables[2], tables[1].head(1)])}
    with pytest.raises(ValueError, match="holds clips of test fold 1"):
        fit_fold_quantizer({1: tables[1], **leaked}, 1, {"type": "scalar"}, 4, seed=0)


def _frame_tables(n_frames=(10, 7), dim=3):
    """Frame-embedding tables of folds 1-3: clips of 10 and 7 frames (7 leaves a short last group of 4)."""
    rng = np.random.default_rng(5)
    return {fold: pd.DataFrame({"clip_id": [f"{fold}-{i}" for i in range(len(n_frames))], "fold": fold,
                                "n_frames": list(n_frames),
                                "embedding": [rng.standard_normal(n * dim).astype(np.float32).tolist()
                                              for n in n_frames]})
            for fold in (1, 2, 3)}


def test_pooled_frames_are_what_is_sent_and_what_the_head_gets_back():
    tables = _frame_tables()
    pool = 4  # 10 frames -> 3 sent (4 + 4 + 2), 7 -> 2 (4 + 3)
    quantizer = fit_fold_quantizer(tables, 1, {"type": "scalar"}, 6, seed=0, frames=True, pool=pool)
    durations = {"1-0": 2.0, "1-1": 1.0}
    table, rates = quantize_frames(tables[1], quantizer, durations, pool=pool)
    assert list(rates["bits"]) == [3 * 6 * 3, 2 * 6 * 3]  # frames sent x dimensions x bits per dimension
    np.testing.assert_allclose(rates["actual_kbps"], [54 / 2.0 / 1000, 36 / 1.0 / 1000])
    for original, decoded in zip(frame_matrices(tables[1]), frame_matrices(table), strict=True):
        assert decoded.shape == original.shape  # at the table's own hop, interchangeable with the clean frames
        sent = pool_frames(original, pool)
        expected = quantizer.decode(quantizer.encode(sent))
        # The head pools the written frames back to exactly the decoded sent frames.
        np.testing.assert_allclose(pool_frames(decoded, pool), expected, rtol=1e-6, atol=1e-7)
    # The ranges were learned on pooled frames: pooling narrows them, so they differ from per-frame ones.
    per_frame = fit_fold_quantizer(tables, 1, {"type": "scalar"}, 6, seed=0, frames=True).arrays()
    pooled = quantizer.arrays()
    assert any(not np.array_equal(per_frame[key], pooled[key]) for key in pooled)
    # Without pooling every frame is sent.
    _, unpooled = quantize_frames(tables[1], fit_fold_quantizer(tables, 1, {"type": "scalar"}, 6, seed=0, frames=True),
                                  durations)
    assert list(unpooled["bits"]) == [10 * 6 * 3, 7 * 6 * 3]


def test_eight_bit_scalar_codes_classify_like_the_original():
    tables = _tables(seed=3)
    quantized = {}
    for fold in tables:
        quantizer = fit_fold_quantizer(tables, fold, {"type": "scalar"}, 8, seed=0)
        quantized[fold] = quantize_fold(tables[fold], quantizer, _durations(tables))[0]
    logreg = {"type": "logreg", "C": 1.0, "max_iter": 2000}
    original = evaluate_folds(tables, tables, logreg, seed=0)[0]
    coded = evaluate_folds(tables, quantized, logreg, seed=0)[0]
    differs = (original.set_index("clip_id")["predicted"] != coded.set_index("clip_id")["predicted"]).sum()
    assert differs <= 1, differs  # at most one of 200 clips changes its predicted class
    one_bit = {fold: quantize_fold(tables[fold], fit_fold_quantizer(tables, fold, {"type": "scalar"}, 1, seed=0),
                                   _durations(tables))[0] for fold in tables}
    assert evaluate_folds(tables, one_bit, logreg, seed=0)[0]["correct"].mean() <= original["correct"].mean()


def test_budgets_a_quantiser_cannot_take_are_named():
    assert check_feature_codec_config("rvq", {"type": "rvq", "budgets": [96, 100], "codebook_bits": 8}) == [
        ("feature_codecs.rvq.budgets: 100 bits per clip is not a whole number of 8-bit codebook indices "
        "(codebook_bits); use a multiple of 8")]
    assert "from 1 to 16" in check_feature_codec_config("sq", {"type": "scalar", "budgets": [32]})[0]
