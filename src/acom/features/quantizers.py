"""Quantisers of embedding vectors: uniform scalar, residual VQ and product VQ.

Each is fit on training vectors and then maps a vector to integer codes (``encode``) whose widths
sum to exactly ``bits_per_vector``, and codes back to a vector (``decode``). The vector quantisers
use scikit-learn's k-means (Lloyd, k-means++ initialisation, one seeded run per codebook): the
codebooks are small (at most 4096 centroids) and the training sets a few thousand vectors, where
it is fast and exact; faiss would add a native dependency for no gain at this size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Quantizer:
    """A fitted quantiser.

    kind: ``scalar``, ``rvq`` or ``pq``.
    code_bits: bits of each code column (``encode`` returns one column per entry).
    state: the learned arrays (ranges or codebooks), saved with :meth:`arrays`.
    """

    kind: str
    code_bits: list[int]
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def bits_per_vector(self) -> int:
        return int(sum(self.code_bits))

    def encode(self, vectors: np.ndarray) -> np.ndarray:
        """(N, n_codes) integer codes, each column below 2 ** its width."""
        vectors = np.asarray(vectors, dtype=np.float64)
        if self.kind == "scalar":
            low, step, levels = self.state["low"], self.state["step"], 2 ** self.code_bits[0]
            return np.clip(np.floor((vectors - low) / step), 0, levels - 1).astype(np.int64)
        if self.kind == "rvq":
            residual, codes = vectors.copy(), []
            for codebook in self.state["codebooks"]:
                index = _nearest(residual, codebook)
                codes.append(index)
                residual -= codebook[index]
            return np.stack(codes, axis=1)
        groups = self.state["groups"]
        return np.stack([_nearest(vectors[:, a:b], codebook) for (a, b), codebook
                         in zip(groups, self.state["codebooks"])], axis=1)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """(N, D) float32 vectors from :meth:`encode`'s codes (scalar: each bin's centre)."""
        codes = np.asarray(codes, dtype=np.int64)
        if self.kind == "scalar":
            return (self.state["low"] + (codes + 0.5) * self.state["step"]).astype(np.float32)
        if self.kind == "rvq":
            return sum(codebook[codes[:, i]] for i, codebook in enumerate(self.state["codebooks"])).astype(np.float32)
        return np.concatenate([codebook[codes[:, i]] for i, codebook in enumerate(self.state["codebooks"])],
                              axis=1).astype(np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything learned, as named arrays (for ``np.savez``)."""
        out: dict[str, np.ndarray] = {"code_bits": np.asarray(self.code_bits)}
        for key, value in self.state.items():
            if isinstance(value, list):
                for i, item in enumerate(value):
                    out[f"{key}_{i}"] = np.asarray(item)
            else:
                out[key] = np.asarray(value)
        return out


def _nearest(vectors: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid (squared Euclidean) of each vector."""
    distances = (vectors**2).sum(axis=1)[:, None] - 2 * vectors @ codebook.T + (codebook**2).sum(axis=1)[None, :]
    return np.argmin(distances, axis=1).astype(np.int64)


def _kmeans(vectors: np.ndarray, n_clusters: int, *, seed: int, max_iter: int) -> np.ndarray:
    """(n_clusters, D) centroids; fewer distinct training vectors than centroids keeps every vector
    as a centroid (and repeats the last), so the code width stays what the budget says."""
    from sklearn.cluster import KMeans

    unique = np.unique(vectors, axis=0)
    if len(unique) <= n_clusters:
        return np.concatenate([unique, np.repeat(unique[-1:], n_clusters - len(unique), axis=0)])
    model = KMeans(n_clusters=n_clusters, n_init=1, max_iter=max_iter, random_state=seed).fit(vectors)
    return model.cluster_centers_.astype(np.float64)


def fit_scalar(train: np.ndarray, budget: int, params: dict, seed: int) -> Quantizer:
    """``budget`` bits per dimension, uniform between each dimension's training minimum and maximum."""
    train = np.asarray(train, dtype=np.float64)
    low, high = train.min(axis=0), train.max(axis=0)
    step = np.maximum(high - low, 1e-12) / 2**budget
    return Quantizer("scalar", [int(budget)] * train.shape[1], {"low": low, "step": step})


def fit_rvq(train: np.ndarray, budget: int, params: dict, seed: int) -> Quantizer:
    """``budget / codebook_bits`` residual stages, each a k-means codebook of the residuals so far."""
    bits = int(params.get("codebook_bits", 8))
    residual, codebooks = np.asarray(train, dtype=np.float64).copy(), []
    for stage in range(budget // bits):
        codebook = _kmeans(residual, 2**bits, seed=seed + stage, max_iter=int(params.get("max_iter", 50)))
        residual -= codebook[_nearest(residual, codebook)]
        codebooks.append(codebook)
    return Quantizer("rvq", [bits] * len(codebooks), {"codebooks": codebooks})


def fit_pq(train: np.ndarray, budget: int, params: dict, seed: int) -> Quantizer:
    """``budget / codebook_bits`` groups of contiguous dimensions (sizes differing by at most one),
    one k-means codebook each."""
    bits = int(params.get("codebook_bits", 8))
    train = np.asarray(train, dtype=np.float64)
    n_groups = budget // bits
    if n_groups > train.shape[1]:
        raise ValueError(f"{budget} bits per clip in {bits}-bit codebooks is {n_groups} groups, more than the "
                         f"embedding's {train.shape[1]} dimensions")
    edges = np.linspace(0, train.shape[1], n_groups + 1).round().astype(int)
    groups = list(zip(edges[:-1].tolist(), edges[1:].tolist()))
    codebooks = [_kmeans(train[:, a:b], 2**bits, seed=seed + i, max_iter=int(params.get("max_iter", 50)))
                 for i, (a, b) in enumerate(groups)]
    return Quantizer("pq", [bits] * n_groups, {"groups": groups, "codebooks": codebooks})
