"""Atomic file output and audio I/O shared by every stage.

Every file the workflow writes goes through :func:`atomic_output`: the content is written to a
temporary name in the same directory and renamed into place, so a killed job never leaves a
half-written file that a later run could mistake for a finished one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the permissions any new file would get.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_parquet(df: pd.DataFrame, path: str | os.PathLike, *, metadata: Mapping[str, Any] | None = None) -> None:
    """Write ``df`` to Parquet atomically, without the pandas index.

    ``metadata`` (JSON-serialisable) is stored in the file's key-value metadata under ``acom``;
    :func:`read_parquet_metadata` reads it back.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               b"acom": json.dumps(dict(metadata), sort_keys=True).encode()})
    with atomic_output(path) as tmp:
        pq.write_table(table, tmp)


def read_parquet_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The ``acom`` metadata a file was written with by :func:`write_parquet` ({} when none)."""
    import pyarrow.parquet as pq

    raw = (pq.read_schema(path).metadata or {}).get(b"acom")
    return json.loads(raw) if raw else {}


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` to CSV atomically, without the index, floats with full round-trip precision."""
    with atomic_output(path) as tmp:
        df.to_csv(tmp, index=False)


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a mono clip as float32 in [-1, 1]; return (samples, sample_rate).

    Raises ``ValueError`` naming the file when it is not mono, is empty or holds non-finite samples.
    """
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise ValueError(f"{path}: not a readable audio file ({err})") from err
    if data.shape[1] != 1:
        raise ValueError(f"{path}: expected a mono clip, found {data.shape[1]} channels")
    if data.shape[0] == 0:
        raise ValueError(f"{path}: the file holds no samples")
    samples = data[:, 0]
    if not np.all(np.isfinite(samples)):
        raise ValueError(f"{path}: holds NaN or Inf samples")
    return samples, int(sr)


def write_flac(path: str | os.PathLike, samples: np.ndarray, sample_rate: int) -> None:
    """Write a mono clip as 16-bit FLAC atomically (clipped to [-1, 1] first, as any PCM writer must)."""
    samples = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    with atomic_output(path) as tmp:
        sf.write(str(tmp), samples, sample_rate, format="FLAC", subtype="PCM_16")


def mono_audio_info(path: str | os.PathLike, *, what: str = "clip") -> tuple[Any, str | None]:
    """(header, None) for a readable, non-empty mono audio file; (None, the problem) otherwise.

    Ingest collects the problem strings of a whole data set and reports them at once.
    """
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        return None, f"{path}: not a readable audio file ({err})"
    if info.frames == 0:
        return None, f"{path}: the file holds no samples"
    if info.channels != 1:
        return None, f"{path}: expected a mono {what}, found {info.channels} channels"
    return info, None
