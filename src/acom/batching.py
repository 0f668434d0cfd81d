"""Grouping clips into batches a model or codec can take in one call."""

from __future__ import annotations

from collections.abc import Iterator, Sequence


def equal_length_batches(lengths: Sequence[int], batch_size: int | None = None) -> Iterator[list[int]]:
    """Indices into ``lengths`` grouped by equal length (shortest first, input order within a
    length), in chunks of at most ``batch_size`` (``None``: one chunk per length).

    Batched networks need equal-length inputs; grouping, rather than padding, keeps what the model
    or codec sees identical to coding each clip alone.
    """
    by_length: dict[int, list[int]] = {}
    for index, length in enumerate(lengths):
        by_length.setdefault(int(length), []).append(index)
    for length in sorted(by_length):
        group = by_length[length]
        step = batch_size or len(group)
        for start in range(0, len(group), step):
            yield group[start : start + step]
