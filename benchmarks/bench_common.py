"""Helpers shared by the benchmark scripts (imported as a sibling module: run the scripts as files)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def limited_threads(n: int) -> Iterator[None]:
    """torch and the BLAS/OpenMP pools limited to ``n`` threads, as in a workflow job."""
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(previous)


def write_table(rows: list[dict], columns: list[str], path: Path):
    """The rows as a CSV at ``path`` (written atomically, 6 significant digits); returns the table."""
    import pandas as pd

    from acom.io import atomic_output

    table = pd.DataFrame(rows, columns=columns)
    with atomic_output(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    return table
