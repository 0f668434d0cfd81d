"""ESC-50 ingest: metadata, audio matched by file stem in any libsndfile format, a checked manifest."""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import soundfile as sf

from acom.io import mono_audio_info

META_COLUMNS = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
MANIFEST_COLUMNS = [
    "clip_id", "fold", "target", "category", "esc10", "source_path", "sample_rate", "frames",
]


def audio_extensions() -> set[str]:
    """Lower-case file extensions of every container format libsndfile reads (wav, flac, ogg, ...)."""
    exts = {fmt.lower() for fmt in sf.available_formats()}
    # libsndfile names some formats differently from their usual extension.
    return exts | {"wav", "aif", "aiff", "oga", "opus"}


def read_metadata(meta_csv: str | os.PathLike) -> pd.DataFrame:
    """Read ``meta/esc50.csv`` and check its columns, folds and clip ids; return it with ``clip_id``."""
    meta_csv = Path(meta_csv)
    if not meta_csv.is_file():
        raise FileNotFoundError(f"{meta_csv}: ESC-50 metadata file not found")
    meta = pd.read_csv(meta_csv)
    missing = [c for c in META_COLUMNS if c not in meta.columns]
    if missing:
        raise ValueError(f"{meta_csv}: missing columns {missing} (expected {META_COLUMNS})")
    meta["clip_id"] = meta["filename"].map(lambda name: Path(str(name)).stem)
    duplicated = sorted(meta.loc[meta["clip_id"].duplicated(), "clip_id"].unique())
    if duplicated:
        raise ValueError(f"{meta_csv}: duplicate clip ids {duplicated[:10]}")
    return meta


def find_audio_files(audio_dir: str | os.PathLike) -> dict[str, Path]:
    """Map file stem -> path for every audio file in ``audio_dir`` (any libsndfile extension)."""
    audio_dir = Path(audio_dir)
    if not audio_dir.is_dir():
        raise FileNotFoundError(f"{audio_dir}: audio folder not found")
    exts = audio_extensions()
    by_stem: dict[str, Path] = {}
    for path in sorted(audio_dir.iterdir()):
        if path.is_file() and path.suffix.lower().lstrip(".") in exts:
            if path.stem in by_stem:
                raise ValueError(f"{audio_dir}: clip {path.stem} exists twice ({by_stem[path.stem].name}, {path.name})")
            by_stem[path.stem] = path
    return by_stem


def select_clips(
    meta: pd.DataFrame,
    *,
    folds: Sequence[int],
    esc10_only: bool = False,
    max_clips_per_class_per_fold: int | None = None,
) -> pd.DataFrame:
    """The rows of ``meta`` in ``folds`` (optionally ESC-10 only, optionally the first N clip ids of
    each class in each fold), sorted by clip id so every run selects the same subset."""
    unknown = sorted({int(f) for f in meta["fold"].unique()} - set(range(1, 6)))
    if unknown:
        raise ValueError(f"metadata holds unknown folds {unknown}; ESC-50 folds are 1-5")
    selected = meta[meta["fold"].isin(list(folds))]
    if esc10_only:
        selected = selected[selected["esc10"].astype(str).str.lower() == "true"]
    selected = selected.sort_values("clip_id")
    if max_clips_per_class_per_fold is not None:
        selected = selected.groupby(["fold", "target"], sort=False).head(max_clips_per_class_per_fold)
    return selected.reset_index(drop=True)


def build_manifest(root: str | os.PathLike, selected: pd.DataFrame) -> pd.DataFrame:
    """Match each selected metadata row to its audio file under ``root/audio`` and read its header.

    Every problem (row without a file, unreadable file, audio file without a metadata row) is
    collected and reported in one ``ValueError``, so a broken copy is fixed in one go.
    """
    root = Path(root)
    files = find_audio_files(root / "audio")
    problems: list[str] = []
    rows = []
    for rec in selected.itertuples(index=False):
        path = files.get(rec.clip_id)
        if path is None:
            problems.append(f"metadata row {rec.filename}: no audio file with stem {rec.clip_id} in {root / 'audio'}")
            continue
        info, problem = mono_audio_info(path, what="clip")
        if problem:
            problems.append(problem)
            continue
        rows.append(
            {
                "clip_id": rec.clip_id,
                "fold": int(rec.fold),
                "target": int(rec.target),
                "category": str(rec.category),
                "esc10": str(rec.esc10).lower() == "true",
                "source_path": str(path.resolve()),
                "sample_rate": int(info.samplerate),
                "frames": int(info.frames),
            }
        )
    meta_path = root / "meta" / "esc50.csv"
    known = set(selected["clip_id"]) if len(selected) else set()
    all_ids = set(read_metadata(meta_path)["clip_id"]) if meta_path.is_file() else known
    for stem, path in files.items():
        if stem not in all_ids:
            problems.append(f"{path}: audio file without a metadata row in {meta_path}")
    if problems:
        raise ValueError(f"ESC-50 copy at {root} has {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return pd.DataFrame(rows, columns=MANIFEST_COLUMNS)


def extract_archive(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Unpack the official ``master.zip`` into ``dest`` and return the ESC-50 root inside it.

    Files are extracted under a temporary folder that is renamed into place at the end, so an
    interrupted extraction is never taken for a complete copy.
    """
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".part")
    if tmp.exists():
        shutil.rmtree(tmp)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp)
    roots = [p.parent.parent for p in tmp.glob("*/meta/esc50.csv")]
    if len(roots) != 1:
        raise ValueError(f"{archive}: expected one <folder>/meta/esc50.csv inside, found {len(roots)}")
    os.replace(roots[0], dest)
    shutil.rmtree(tmp)
    return dest
