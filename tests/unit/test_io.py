"""Atomic output: all or nothing, and files readable like any other new file."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from acom.io import atomic_output, write_csv


def test_atomic_output_gives_new_files_the_umask_permissions(tmp_path):
    previous = os.umask(0o022)
    try:
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "t.csv").stat().st_mode) == 0o644


def test_atomic_output_leaves_nothing_when_the_block_fails(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_killed_writers_temporary_file_is_cleared_by_the_next_write(tmp_path):
    target = tmp_path / "out.csv"
    # What SIGKILL mid-write leaves: atomic_output's temporary name, never renamed into place.
    (tmp_path / ".out.csv.abc123.part").write_text("half")
    (tmp_path / ".other.csv.abc123.part").write_text("another file's")
    write_csv(pd.DataFrame({"a": [1]}), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.csv.abc123.part", "out.csv"]


def test_parquet_metadata_round_trips(tmp_path):
    from acom.io import read_parquet_metadata, write_parquet

    df = pd.DataFrame({"clip_id": ["a", "b"], "embedding": [[1.0, 2.0], [3.0, 4.0]]})
    write_parquet(df, tmp_path / "m.parquet", metadata={"model": "ast", "max_length": 512})
    assert read_parquet_metadata(tmp_path / "m.parquet") == {"max_length": 512, "model": "ast"}
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "m.parquet"), df)
    write_parquet(df, tmp_path / "plain.parquet")
    assert read_parquet_metadata(tmp_path / "plain.parquet") == {}
