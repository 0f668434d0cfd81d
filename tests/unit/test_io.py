"""Atomic output: all or nothing, and files readable like any other new file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

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


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MB tmpfs (root and mount(8) needed; skipped otherwise)."""
    import os
    import subprocess

    folder = tmp_path / "tiny"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                                           capture_output=True, check=False).returncode:
        pytest.skip("a size-limited tmpfs needs root and mount(8)")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_names_the_output_and_the_space_left_and_leaves_nothing_in_place(tiny_disk):
    import numpy as np
    import pandas as pd

    from acom.io import DiskFullError, write_flac, write_parquet

    rng = np.random.default_rng(0)
    writes = {tiny_disk / "fold1.parquet": lambda p: write_parquet(pd.DataFrame({"x": rng.random(400_000)}), p),
              tiny_disk / "clips" / "1-2-A-3.flac": lambda p: write_flac(p, 0.5 * rng.random(800_000), 16000)}
    for path, write in writes.items():
        with pytest.raises(DiskFullError, match=rf"{path}: no space left on the device while writing it \(\d+\.\d MB "
                                                rf"free in {path.parent}\); nothing was left in its place") as err:
            write(path)
        assert err.value.errno == 28
        assert not path.exists() and not list(path.parent.glob("*.part"))


def test_a_damaged_parquet_or_flac_under_results_is_named_with_the_fix(tmp_path):
    import numpy as np
    import pandas as pd

    from acom.io import BadAudioError, DamagedFileError, read_audio, read_parquet, write_flac, write_parquet

    table = tmp_path / "results" / "esc50" / "embeddings" / "fold1.parquet"
    write_parquet(pd.DataFrame({"x": [1, 2]}), table)
    table.write_bytes(table.read_bytes()[:20])
    with pytest.raises(DamagedFileError, match=rf"{table}: not a readable Parquet file \(.*\); rebuild it: run the same "
                                               rf"snakemake command with --forcerun {table} \(Snakemake recreates it"):
        read_parquet(table)
    clip = tmp_path / "results" / "esc50" / "coded" / "fold1" / "1-2-A-3.flac"
    write_flac(clip, 0.1 * np.sin(np.arange(80000) / 10), 16000)
    clip.write_bytes(clip.read_bytes()[: clip.stat().st_size // 3])
    with pytest.raises(BadAudioError, match=rf"truncated.*rebuild it: run the same snakemake command with --forcerun "
                                            rf"{clip.parent} \(Snakemake"):
        read_audio(clip)
    source = tmp_path / "data" / "1-2-A-3.flac"  # a data set's clip: the fix is the original data
    source.parent.mkdir()
    source.write_bytes(clip.read_bytes())
    with pytest.raises(BadAudioError, match="copy it again from the original data set"):
        read_audio(source)


def test_a_half_deleted_fold_folder_is_found_and_a_complete_one_is_not(tmp_path, monkeypatch):
    import numpy as np
    import pandas as pd

    from acom.io import incomplete_audio_folders, write_flac, write_parquet

    monkeypatch.chdir(tmp_path)  # manifests hold paths relative to the run's folder
    for fold in (1, 2):
        folder = tmp_path / "results" / "esc50" / "resampled" / "sr16000" / f"fold{fold}"
        paths = []
        for i in range(3):
            path = folder / f"{fold}-{i}-A-0.flac"
            write_flac(path, np.zeros(1600, np.float32), 16000)
            paths.append(str(path.relative_to(tmp_path)))
        write_parquet(pd.DataFrame({"clip_id": [p[-12:-5] for p in paths], "path": paths}), folder.with_suffix(".parquet"))
    write_parquet(pd.DataFrame({"clip_id": ["x"]}), tmp_path / "results" / "esc50" / "masks" / "m" / "fold1.parquet")
    assert incomplete_audio_folders("results") == []
    (tmp_path / "results/esc50/resampled/sr16000/fold2/2-1-A-0.flac").unlink()  # a deletion cut short
    assert incomplete_audio_folders("results") == [Path("results/esc50/resampled/sr16000/fold2")]
