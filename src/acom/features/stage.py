"""The feature-coding stage for one model and one condition: per test fold, a quantiser fit on the
other folds' clean embeddings codes the fold's embeddings; the dequantised embeddings go where a
codec condition's embeddings go, with the bits each clip's codes take."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from acom.embed import EMBEDDING_COLUMNS, FRAME_COLUMNS, embedding_matrix, frame_matrices, pool_frames
from acom.features import FEATURE_CODECS
from acom.features.quantizers import Quantizer
from acom.registry import resolve, with_defaults

RATE_COLUMNS = ["clip_id", "fold", "bits", "duration_s", "actual_kbps"]


def clip_durations(manifest: pd.DataFrame) -> dict[str, float]:
    """Clip id -> duration in seconds, from an ingest manifest (frames / sample_rate)."""
    return dict(zip(manifest["clip_id"], manifest["frames"] / manifest["sample_rate"]))


def fit_fold_quantizer(tables: Mapping[int, pd.DataFrame], test_fold: int, params: Mapping[str, Any], budget: int, *,
                       seed: int, frames: bool = False, pool: int = 1, max_train_vectors: int | None = None
                       ) -> Quantizer:
    """The quantiser for ``test_fold``: fit on the embeddings of every other fold in ``tables`` (fold ->
    embedding table; ``frames``: frame-embedding tables, every frame a training vector, after
    averaging groups of ``pool`` frames as :func:`quantize_frames` does). The test
    fold's table is never read; a table holding a test-fold row is refused. With more training
    vectors than ``max_train_vectors`` a seeded random subset of that many is used (frames of
    soundscapes run into the hundreds of thousands; k-means needs far fewer)."""
    train = [table for fold, table in sorted(tables.items()) if fold != test_fold]
    if not train:
        raise ValueError(f"no training fold besides test fold {test_fold}")
    for table in train:
        if (table["fold"] == test_fold).any():
            raise ValueError(f"a training table holds clips of test fold {test_fold} (e.g. "
                             f"{table.loc[table['fold'] == test_fold, 'clip_id'].iloc[0]})")
    spec = FEATURE_CODECS[params["type"]]
    if frames:
        vectors = np.concatenate([pool_frames(matrix, pool) for table in train for matrix in frame_matrices(table)])
    else:
        vectors = np.concatenate([embedding_matrix(table) for table in train])
    if max_train_vectors is not None and len(vectors) > max_train_vectors:
        rng = np.random.default_rng([int(seed), int(test_fold)])
        vectors = vectors[np.sort(rng.choice(len(vectors), size=max_train_vectors, replace=False))]
    return resolve(spec.build)(vectors, int(budget), with_defaults(params, spec), int(seed) + int(test_fold))


def quantize_fold(table: pd.DataFrame, quantizer: Quantizer, durations: Mapping[str, float]
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(embedding table with every embedding replaced by its dequantised codes, per-clip rates:
    bits = the codes' width, actual_kbps = bits / duration / 1000). The model's own class
    probabilities are dropped: they are not what was sent."""
    codes = quantizer.encode(embedding_matrix(table))
    for column, bits in enumerate(quantizer.code_bits):
        if codes[:, column].min() < 0 or codes[:, column].max() >= 2**bits:
            raise AssertionError(f"code column {column} does not fit its {bits} bits")
    decoded = quantizer.decode(codes)
    out = table[["clip_id", "fold", "target", "category"]].reset_index(drop=True).copy()
    out["embedding"] = [row.tolist() for row in decoded]
    out["probabilities"] = None
    out["top_labels"] = [[] for _ in range(len(out))]
    out["top_probs"] = [[] for _ in range(len(out))]
    missing = sorted(set(out["clip_id"]) - set(durations))
    if missing:
        raise ValueError(f"no duration for clip {missing[0]} in the manifest")
    duration = out["clip_id"].map(durations).to_numpy(np.float64)
    bits = np.full(len(out), quantizer.bits_per_vector)
    rates = pd.DataFrame({"clip_id": out["clip_id"], "fold": out["fold"], "bits": bits, "duration_s": duration,
                          "actual_kbps": bits / duration / 1000})
    return out[EMBEDDING_COLUMNS], rates[RATE_COLUMNS]


def quantize_frames(table: pd.DataFrame, quantizer: Quantizer, durations: Mapping[str, float], *, pool: int = 1
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A frame-embedding table with every frame replaced by its dequantised codes, and per-clip
    rates: bits = bits per frame x frames sent, actual_kbps = bits / duration / 1000.

    ``pool`` > 1: what is sent is the average of each group of ``pool`` frames (the frames the SED
    head sees, :func:`acom.embed.pool_frames`), so the bits count those; each decoded frame is
    written back over its group, at the table's own hop, so that the head's pooling recovers it
    (to float rounding) and the clean and coded tables stay interchangeable.
    """
    decoded = []
    n_sent = []
    for matrix in frame_matrices(table):
        sent = pool_frames(matrix, pool)
        n_sent.append(len(sent))
        coded = quantizer.decode(quantizer.encode(sent)) if len(sent) else sent
        group = np.minimum(pool, len(matrix) - np.arange(len(sent)) * pool)  # the last group may be shorter
        decoded.append(np.repeat(coded, group, axis=0) if len(sent) else matrix)
    out = table[["clip_id", "fold", "n_frames"]].reset_index(drop=True).copy()
    out["embedding"] = [matrix.reshape(-1).tolist() for matrix in decoded]
    missing = sorted(set(out["clip_id"]) - set(durations))
    if missing:
        raise ValueError(f"no duration for clip {missing[0]} in the manifest")
    duration = out["clip_id"].map(durations).to_numpy(np.float64)
    bits = np.asarray(n_sent, dtype=np.int64) * quantizer.bits_per_vector
    rates = pd.DataFrame({"clip_id": out["clip_id"], "fold": out["fold"], "bits": bits, "duration_s": duration,
                          "actual_kbps": bits / duration / 1000})
    return out[FRAME_COLUMNS], rates[RATE_COLUMNS]


def quantization_error(original: np.ndarray, decoded: np.ndarray) -> float:
    """Mean squared error per dimension relative to the original's variance (0: exact, 1: no better than the mean)."""
    original = np.asarray(original, dtype=np.float64)
    variance = original.var(axis=0).sum()
    return float(((original - decoded) ** 2).sum(axis=1).mean() / max(variance, 1e-12))
