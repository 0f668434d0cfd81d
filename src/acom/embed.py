"""Embedding extraction: one model, one fold of clips, one Parquet table.

Kept apart from prediction (as in hear-eval-kit): embeddings are computed once per (fold,
condition, model) and every classifier and protocol reads them from disk.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from acom.batching import equal_length_batches
from acom.io import read_audio
from acom.models.base import AudioModel, FrameOutput, frames_covering
from acom.resample import ClipResampler

#: Embeds (K, samples) clips given at one sample rate: (K, D) embeddings (see :func:`waveform_embedder`).
Embedder = Callable[[np.ndarray], np.ndarray]

EMBEDDING_COLUMNS = ["clip_id", "fold", "target", "category", "embedding", "probabilities", "top_labels", "top_probs"]


def load_model(params: Mapping[str, Any], files: Mapping[str, str], *, cache_dir: str,
               name: str | None = None) -> AudioModel:
    """Build the model of the ``models.<name>`` entry ``params``, with the files the workflow
    downloaded for it (``files``: config key -> local path, e.g. a job's inputs ``weights`` and
    ``labels``) in place of their null config keys. ``name`` makes errors name the exact key."""
    from acom.download import with_downloaded_files
    from acom.models import build_model, model_downloads

    return build_model(with_downloaded_files(params, model_downloads(params), files), cache_dir=cache_dir, name=name)


def model_metadata(model: AudioModel, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """What an embedding table records about the model that made it (Parquet metadata): the entry's
    name and type, the model's input rate and embedding size, and the model's own ``metadata``
    (e.g. AST's ``max_length`` when it is not the published 1024)."""
    return {"model": name, "type": params["type"], "sample_rate": int(model.sample_rate),
            "embedding_dim": int(model.embedding_dim), **dict(getattr(model, "metadata", {}) or {})}


def embed_clips(model: AudioModel, clips: pd.DataFrame, *, batch_size: int, top_k: int = 5,
                workers: int = 1) -> pd.DataFrame:
    """Embed every clip listed in ``clips`` (a fold manifest: clip_id, fold, target, category, path)
    with ``model``.

    Clips are read once, grouped by rate and length (so no padding changes what the model hears),
    resampled a batch at a time to the model's rate where they are not at it already (a decode at a
    codec's rate, say) and sent through the model in batches of ``batch_size`` (``workers`` batches
    at once, for models that compute a batch on one core: see :func:`per_clip_outputs`). Returns one
    row per clip, in the input order, with the embedding, the class probabilities and the ``top_k``
    labels when the model has a head.
    """
    outputs = per_clip_outputs(model, model.embed, read_clips(clips["path"], workers=workers), batch_size,
                               workers=workers)
    embeddings = [out.embeddings[j].astype(np.float32) for out, j in outputs]
    probabilities = [None if out.probabilities is None else out.probabilities[j].astype(np.float32)
                     for out, j in outputs]
    table = clips[["clip_id", "fold", "target", "category"]].reset_index(drop=True).copy()
    table["embedding"] = [e.tolist() for e in embeddings]
    table["probabilities"] = [None if p is None else p.tolist() for p in probabilities]
    top = [_top_k(p, model.labels, top_k) for p in probabilities]
    table["top_labels"] = [names for names, _ in top]
    table["top_probs"] = [probs for _, probs in top]
    return table[EMBEDDING_COLUMNS]


def read_clips(paths, *, workers: int = 1) -> list[tuple[np.ndarray, int]]:
    """(samples, rate) of each file in ``paths``, read once, ``workers`` files at once (decoding
    releases the GIL)."""
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(read_audio, paths))
    return [read_audio(path) for path in paths]


def per_clip_outputs(model: AudioModel, forward, clips: Sequence[tuple[np.ndarray, int]], batch_size: int, *,
                     workers: int = 1) -> list[tuple[Any, int]]:
    """``forward`` (``model.embed`` or ``model.frame_embed``) run on ``clips`` ((samples, rate) pairs)
    grouped by rate and length (so no padding changes what the model hears), ``batch_size`` at a time,
    each batch resampled to the model's rate just before it goes in (a fold's clips are not all held
    at the model's rate at once); for each clip, in input order, (its batch's output, its row).

    ``workers`` > 1 runs that many batches at once on a thread pool: for models that compute on one
    core and release the GIL (MFCC's numpy). A batch's output does not depend on it."""
    to_model_rate = ClipResampler(model.sample_rate)
    keys = [(int(rate), int(wave.shape[0])) for wave, rate in clips]
    order = {key: i for i, key in enumerate(sorted(set(keys)))}
    batches = list(equal_length_batches([order[key] for key in keys], batch_size))

    def run(batch: list[int]):
        return forward(to_model_rate(np.stack([clips[i][0] for i in batch]), keys[batch[0]][0]))

    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(run, batches))
    else:
        results = [run(batch) for batch in batches]
    outputs: list[tuple[Any, int] | None] = [None] * len(clips)
    for batch, out in zip(batches, results, strict=True):
        for j, i in enumerate(batch):
            outputs[i] = (out, j)
    return outputs


def embed_waveforms(model: AudioModel, waves: np.ndarray, sample_rate: int, *, batch_size: int,
                    resampler: ClipResampler | None = None) -> np.ndarray:
    """(K, D) embeddings of K equal-length clips ``waves`` (K, samples) given at ``sample_rate``:
    resampled to the model's rate and sent through the model ``batch_size`` at a time.

    For many versions of one clip (masked candidates, occlusions): no file, no process per version.
    Pass a ``resampler`` to reuse its kernels across calls.
    """
    resampler = resampler or ClipResampler(model.sample_rate)
    waves = np.atleast_2d(np.asarray(waves, dtype=np.float32))
    out = [model.embed(resampler(waves[i:i + batch_size], sample_rate)).embeddings
           for i in range(0, len(waves), batch_size)]
    return np.concatenate(out).astype(np.float32)


def waveform_embedder(model: AudioModel, sample_rate: int, *, batch_size: int) -> Embedder:
    """``embed(waves) -> (K, D)`` for (K, samples) clips at ``sample_rate``: :func:`embed_waveforms`
    with one resampler kept across calls (the saliency and mask-search jobs call it once per clip)."""
    resampler = ClipResampler(model.sample_rate)

    def embed(waves: np.ndarray) -> np.ndarray:
        return embed_waveforms(model, waves, sample_rate, batch_size=batch_size, resampler=resampler)

    return embed


def _top_k(probs: np.ndarray | None, labels: Sequence[str] | None, k: int) -> tuple[list[str], list[float]]:
    if probs is None:
        return [], []
    order = np.argsort(-probs, kind="stable")[:k]
    names = [labels[i] if labels is not None else f"class_{i}" for i in order]
    return names, [float(probs[i]) for i in order]


def embedding_matrix(table: pd.DataFrame) -> np.ndarray:
    """(n_clips, D) float32 matrix from an embedding table's ``embedding`` column."""
    return np.stack(table["embedding"].to_numpy()).astype(np.float32)


FRAME_COLUMNS = ["clip_id", "fold", "n_frames", "embedding"]


def shifted_frame_embed(model: AudioModel, shifts: int) -> Callable[[np.ndarray], FrameOutput]:
    """``model.frame_embed`` at a hop ``shifts`` times shorter: the model runs on the batch advanced by
    ``s / shifts`` of its hop for each ``s`` in ``0..shifts-1`` and the frames are interleaved, so
    fine frame ``j = shifts * t + s`` is frame ``t`` of shift ``s`` and sits ``j * hop / shifts``
    into the clip, as frame ``j`` of a model with the shorter hop would. The network is unchanged
    (same weights, same receptive field); the cost is ``shifts`` forward passes. 1: the model's own."""
    if shifts < 1:
        raise ValueError(f"frame shifts must be >= 1, got {shifts}")
    if shifts == 1:
        return model.frame_embed

    def frame_embed(waveforms: np.ndarray) -> FrameOutput:
        outputs = []
        for s in range(shifts):
            advance = 0 if not outputs else round(s * outputs[0].hop_seconds * model.sample_rate / shifts)
            outputs.append(model.frame_embed(waveforms[:, advance:]))
        hop = outputs[0].hop_seconds / shifts
        n_fine = frames_covering(waveforms.shape[1], model.sample_rate, hop)
        fine = np.full((waveforms.shape[0], n_fine, outputs[0].embeddings.shape[2]), np.nan, np.float32)
        for s, out in enumerate(outputs):
            index = s + shifts * np.arange(out.embeddings.shape[1])
            fine[:, index[index < n_fine]] = out.embeddings[:, index < n_fine]
        if np.isnan(fine).any():
            raise ValueError(f"shifted frames do not cover the {waveforms.shape[1]} samples at hop {hop:.4f} s")
        return FrameOutput(embeddings=fine, hop_seconds=hop)

    return frame_embed


def embed_clip_frames(model: AudioModel, clips: pd.DataFrame, *, batch_size: int,
                      workers: int = 1, shifts: int = 1) -> tuple[pd.DataFrame, float]:
    """Frame embeddings (the model's ``frame_embed``; with ``shifts`` > 1 at a hop that many times
    shorter, :func:`shifted_frame_embed`) of every clip in ``clips`` (a fold manifest), read and
    resampled as :func:`embed_clips` does, batched by equal length.

    Returns (table, hop_seconds): one row per clip in the input order with ``n_frames`` and the
    (n_frames, frame_dim) matrix flattened row-major into ``embedding`` (Parquet stores flat lists
    compactly; :func:`frame_matrices` restores the matrices).
    """
    if not hasattr(model, "frame_embed"):
        raise ValueError(f"{type(model).__name__} has no frame embeddings (frame_embed); it cannot feed the SED head")
    outputs = per_clip_outputs(model, shifted_frame_embed(model, shifts), read_clips(clips["path"], workers=workers),
                               batch_size, workers=workers)
    frames = [np.asarray(out.embeddings[j], dtype=np.float32) for out, j in outputs]
    table = clips[["clip_id", "fold"]].reset_index(drop=True).copy()
    table["n_frames"] = [int(f.shape[0]) for f in frames]
    table["embedding"] = [f.reshape(-1) for f in frames]
    hop_seconds = outputs[0][0].hop_seconds if outputs else np.nan
    return table[FRAME_COLUMNS], float(hop_seconds)


def frame_matrices(table: pd.DataFrame) -> list[np.ndarray]:
    """The (n_frames, frame_dim) float32 matrix of each row of a frame-embedding table."""
    return [np.asarray(flat, dtype=np.float32).reshape(int(n), -1)
            for flat, n in zip(table["embedding"], table["n_frames"], strict=True)]


def pool_factor(hop_seconds: float, min_hop_s: float | None) -> int:
    """How many frames :func:`pool_frames` averages so the hop is at least ``min_hop_s`` (1: none)."""
    if not min_hop_s or hop_seconds >= min_hop_s:
        return 1
    return int(np.ceil(min_hop_s / hop_seconds - 1e-9))


def pool_frames(frames: np.ndarray, factor: int) -> np.ndarray:
    """Average (T, D) frames in consecutive groups of ``factor`` (the last group may be shorter).

    A 16 ms MFCC hop gives a head 625 steps per 10 s soundscape, 40 times the cost of what the
    1 s segment and 200 ms collar metrics can resolve; pooled to 64 ms it keeps that resolution.
    """
    if factor == 1:
        return frames
    n_groups = -(-frames.shape[0] // factor)
    starts = np.arange(n_groups) * factor
    return (np.add.reduceat(frames, starts, axis=0) / np.diff(np.append(starts, frames.shape[0]))[:, None]).astype(
        np.float32)
