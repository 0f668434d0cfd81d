"""ESC-50 ingest: metadata, audio matched by file stem in any libsndfile format, a checked manifest."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from acom.io import BadAudioError, read_audio

META_COLUMNS = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
MANIFEST_COLUMNS = [
    "clip_id", "fold", "target", "category", "esc10", "source_path", "sample_rate", "frames",
]
#: The clips ingest left out under ``on_bad_clip: skip`` (results/esc50_skipped.csv). ``fold`` and
#: ``category`` are empty for an audio file without a metadata row; ``path`` is where the clip's
#: audio is, or was expected (``audio/<clip id>``, any extension) when there is none.
SKIPPED_COLUMNS = ["clip_id", "fold", "category", "path", "problem"]
#: The folds of ESC-50; a metadata row with any other fold is a bad clip.
ESC50_FOLDS = (1, 2, 3, 4, 5)
#: What to do with a bad clip: stop with every problem listed, or leave it out and list it.
ON_BAD_CLIP = ("error", "skip")
#: How far (s) a clip's length may be from ``clip_seconds``.
LENGTH_TOLERANCE_S = 0.01
SKIP_HINT = ("set on_bad_clip: skip in the config to leave these clips out (they are listed in "
             "results/esc50_skipped.csv)")


def audio_extensions() -> set[str]:
    """Lower-case file extensions of every container format libsndfile reads (wav, flac, ogg, ...)."""
    exts = {fmt.lower() for fmt in sf.available_formats()}
    # libsndfile names some formats differently from their usual extension.
    return exts | {"wav", "aif", "aiff", "oga", "opus"}


def read_metadata(meta_csv: str | os.PathLike) -> pd.DataFrame:
    """Read ``meta/esc50.csv`` and check its columns and clip ids; return it with ``clip_id``.

    Missing columns and duplicate clip ids raise ``ValueError`` whatever ``on_bad_clip`` says:
    no row can be used without the columns, and ingest cannot choose between two rows of one clip.
    Rows with a fold other than 1-5 are kept, for :func:`build_manifest` to report as bad clips.
    """
    meta_csv = Path(meta_csv)
    if not meta_csv.is_file():
        raise FileNotFoundError(f"{meta_csv}: ESC-50 metadata file not found")
    meta = pd.read_csv(meta_csv)
    missing = [c for c in META_COLUMNS if c not in meta.columns]
    if missing:
        raise ValueError(f"{meta_csv}: missing columns {missing} (expected {META_COLUMNS}); is this ESC-50's "
                         "meta/esc50.csv? (always an error, on_bad_clip: skip does not apply: no row can be used "
                         "without them)")
    _check_column_kinds(meta, where=str(meta_csv))
    meta["clip_id"] = meta["filename"].map(lambda name: Path(str(name)).stem)
    _check_unique_clip_ids(meta, where=str(meta_csv))
    return meta


#: What each metadata column holds: (description, whether a value fits). A column is taken as
#: misplaced under the header when most of its values do not fit; single bad values (a fold 7, an
#: empty fold) are bad clips, reported per clip by build_manifest.
_COLUMN_KINDS = {
    "filename": ("file names", lambda value: pd.isna(pd.to_numeric(value, errors="coerce"))),
    "fold": ("fold numbers", lambda value: not pd.isna(pd.to_numeric(value, errors="coerce"))),
    "target": ("class numbers", lambda value: not pd.isna(pd.to_numeric(value, errors="coerce"))),
    "category": ("category names", lambda value: pd.isna(pd.to_numeric(value, errors="coerce"))),
}


def _check_column_kinds(meta: pd.DataFrame, *, where: str) -> None:
    """Raise one short ``ValueError`` naming every column whose values are mostly of the wrong kind
    (the header's names over the wrong columns), with its first offending line."""
    problems = []
    for column, (kind, fits) in _COLUMN_KINDS.items():
        values = meta[column].dropna()
        bad = values[~values.map(fits).astype(bool)]
        if len(values) and len(bad) > len(values) / 2:
            line = int(bad.index[0]) + 2  # line 1 is the header
            value = bad.iloc[0]
            shown = repr(value) if isinstance(value, str) else str(value)
            problems.append(f"column {column!r} does not hold {kind} (line {line}: {shown})")
    if problems:
        raise ValueError(f"{where}: " + "; ".join(problems) + ": the header names the wrong columns; fix the "
                         "header so each name is over its own values (columns may come in any order, each is read "
                         "by its name)")


def _check_unique_clip_ids(table: pd.DataFrame, *, where: str) -> None:
    repeated = table[table["clip_id"].duplicated(keep=False)].sort_values(["clip_id", "filename"], kind="stable")
    if len(repeated):
        rows = [f"{clip_id} ({', '.join(map(str, group['filename']))})"
                for clip_id, group in repeated.groupby("clip_id", sort=True)]
        raise ValueError(f"{where}: duplicate clip ids {rows[:10]}{' ...' if len(rows) > 10 else ''}: keep one row "
                         "per clip (always an error, on_bad_clip: skip does not apply: ingest cannot choose which "
                         "row is right)")


def find_audio_files(audio_dir: str | os.PathLike) -> dict[str, Path]:
    """Map file stem -> path for every audio file in ``audio_dir`` (any libsndfile extension).

    Two files with one stem (``x.wav`` and ``x.flac``) raise ``ValueError``, all listed at once,
    whatever ``on_bad_clip`` says: ingest cannot tell which is the clip.
    """
    audio_dir = Path(audio_dir)
    if not audio_dir.is_dir():
        raise FileNotFoundError(f"{audio_dir}: audio folder not found")
    exts = audio_extensions()
    by_stem: dict[str, list[Path]] = {}
    for path in sorted(audio_dir.iterdir()):
        if path.is_file() and path.suffix.lower().lstrip(".") in exts:
            by_stem.setdefault(path.stem, []).append(path)
    twice = [f"clip {stem} exists {len(paths)} times ({', '.join(p.name for p in paths)})"
             for stem, paths in by_stem.items() if len(paths) > 1]
    if twice:
        raise ValueError(f"{audio_dir}: " + "; ".join(twice) + ": keep one file per clip (never skipped, "
                         "whatever on_bad_clip says: ingest cannot tell which file is right)")
    return {stem: paths[0] for stem, paths in by_stem.items()}


def _in_esc50_folds(fold: pd.Series) -> np.ndarray:
    """Which metadata ``fold`` values are ESC-50 folds (1-5); others (0, 7, 1.5, empty, text) are not."""
    return pd.to_numeric(fold, errors="coerce").isin(ESC50_FOLDS).to_numpy()


def select_clips(
    meta: pd.DataFrame,
    *,
    folds: Sequence[int],
    esc10_only: bool = False,
    max_clips_per_class_per_fold: int | None = None,
) -> pd.DataFrame:
    """The rows of ``meta`` in ``folds`` (optionally ESC-10 only, optionally the first N clip ids of
    each class in each fold), sorted by clip id so every run selects the same subset.

    Rows whose fold is not an ESC-50 fold (1-5: fold 0, 7, empty, ...) are kept whatever ``folds``
    says (ESC-10 filter aside, outside the per-class cap), so that :func:`build_manifest` reports
    them as bad clips instead of their being dropped unseen. Rows of ESC-50 folds not in ``folds``
    are simply not selected.
    """
    known = _in_esc50_folds(meta["fold"])
    wanted = pd.to_numeric(meta["fold"], errors="coerce").isin(list(folds)).to_numpy()
    chosen = meta[(known & wanted) | ~known]
    if esc10_only:
        chosen = chosen[chosen["esc10"].astype(str).str.lower() == "true"]
    chosen = chosen.sort_values("clip_id", kind="stable")
    if max_clips_per_class_per_fold is not None:
        known = _in_esc50_folds(chosen["fold"])
        capped = chosen[known].groupby(["fold", "target"], sort=False).head(max_clips_per_class_per_fold)
        chosen = pd.concat([capped, chosen[~known]]).sort_values("clip_id", kind="stable")
    return chosen.reset_index(drop=True)


def build_manifest(
    root: str | os.PathLike,
    selected: pd.DataFrame,
    *,
    clip_seconds: float | None = 5.0,
    on_bad_clip: str = "error",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Match each selected metadata row to its audio file under ``root/audio`` and check the clip.

    Every clip is read whole once (:func:`acom.io.read_audio`). A bad clip is a row with a fold
    other than 1-5, a row without an audio file, an audio file without a row (in the whole
    metadata, selected or not), or a file that is empty, not audio, truncated, not mono, holds
    NaN/Inf samples or is not ``clip_seconds`` long (within 10 ms; None accepts any length).
    8-bit, float and double files and any sample rate are accepted (resampling comes later).

    ``on_bad_clip="error"`` raises one ``ValueError`` listing every bad clip, so a broken copy is
    fixed in one go; ``"skip"`` leaves bad clips out of the manifest. Problems no policy can skip
    (missing metadata columns, duplicate clip ids, two files with one stem) always raise.

    Returns (manifest with :data:`MANIFEST_COLUMNS`, sorted by clip id; bad clips with
    :data:`SKIPPED_COLUMNS`, sorted by path then clip id, empty unless some were skipped).
    """
    if on_bad_clip not in ON_BAD_CLIP:
        raise ValueError(f"on_bad_clip must be one of {list(ON_BAD_CLIP)}, got {on_bad_clip!r}")
    root = Path(root)
    audio_dir, meta_path = root / "audio", root / "meta" / "esc50.csv"
    files = find_audio_files(audio_dir)
    _check_unique_clip_ids(selected, where="selected metadata rows")
    all_ids = set(read_metadata(meta_path)["clip_id"]) if meta_path.is_file() else set(selected["clip_id"])
    rows, bad = [], []
    for rec, known_fold in zip(selected.itertuples(index=False), _in_esc50_folds(selected["fold"])):
        path = files.get(rec.clip_id)
        where = path if path is not None else audio_dir / rec.clip_id
        problem = None
        if not known_fold:
            problem = (f"fold {_show_fold(rec.fold)} is not an ESC-50 fold (1-5): correct the row of "
                       f"{rec.filename} in {meta_path}")
        elif path is None:
            problem = (f"no audio file with stem {rec.clip_id} in {audio_dir} (metadata row {rec.filename}): add the "
                       "file or remove the row")
        else:
            try:
                samples, sample_rate = read_audio(path, what="clip")
            except BadAudioError as err:
                problem = err.problem
            else:
                problem = _length_problem(len(samples), sample_rate, clip_seconds)
        if problem is not None:
            bad.append({"clip_id": rec.clip_id, "fold": rec.fold, "category": rec.category, "path": str(where),
                        "problem": problem})
            continue
        rows.append(
            {
                "clip_id": rec.clip_id,
                "fold": int(float(rec.fold)),
                "target": int(rec.target),
                "category": str(rec.category),
                "esc10": str(rec.esc10).lower() == "true",
                "source_path": str(path.resolve()),
                "sample_rate": int(sample_rate),
                "frames": len(samples),
            }
        )
    for stem, path in files.items():
        if stem not in all_ids:
            bad.append({"clip_id": stem, "fold": None, "category": None, "path": str(path),
                        "problem": f"audio file without a metadata row in {meta_path}: add its row or remove the file"})
    skipped = _skipped_table(bad)
    if len(skipped) and on_bad_clip == "error":
        lines = [f"{rec.path}: {rec.problem}" for rec in skipped.itertuples(index=False)]
        raise ValueError(f"ESC-50 copy at {root} has {len(lines)} problem(s):\n  " + "\n  ".join(lines)
                         + f"\n{SKIP_HINT}")
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS).sort_values("clip_id", kind="stable")
    return manifest.reset_index(drop=True), skipped


def check_folds_have_clips(manifest: pd.DataFrame, folds: Sequence[int], skipped: pd.DataFrame) -> None:
    """``ValueError`` naming every fold in ``folds`` that ``manifest`` holds no clip of: a fold whose
    clips were all skipped (or not selected) would otherwise fail later, in cross-validation."""
    empty = sorted({int(f) for f in folds} - set(manifest["fold"].astype(int)))
    if empty:
        counts = {fold: int((skipped["fold"] == fold).sum()) for fold in empty}
        detail = ", ".join(f"fold {fold} ({counts[fold]} skipped)" for fold in empty)
        raise ValueError(f"no usable clip left in {detail}: fix the clips listed in results/esc50_skipped.csv "
                         "or remove the fold from datasets.esc50.folds")


def _show_fold(fold: object) -> str:
    """A metadata fold value as the user wrote it: 7 (not 7.0 from a column with an empty cell), (empty)."""
    number = pd.to_numeric(pd.Series([fold]), errors="coerce").iloc[0]
    if pd.isna(fold):
        return "(empty)"
    return str(int(number)) if np.isfinite(number) and number == int(number) else str(fold)


def _length_problem(frames: int, sample_rate: int, clip_seconds: float | None) -> str | None:
    if clip_seconds is None or abs(frames / sample_rate - clip_seconds) <= LENGTH_TOLERANCE_S + 1e-9:
        return None
    return (f"is {frames / sample_rate:.2f} s long; clips must be {clip_seconds:.2f} s "
            "(datasets.esc50.clip_seconds; null accepts any length)")


def _skipped_table(bad: list[dict]) -> pd.DataFrame:
    """The bad clips as :data:`SKIPPED_COLUMNS`, sorted by path then clip id; ``fold`` as a nullable
    integer (empty for a file without a row, or a fold that is not a whole number)."""
    table = pd.DataFrame(bad, columns=SKIPPED_COLUMNS)
    fold = pd.to_numeric(table["fold"], errors="coerce")
    table["fold"] = fold.where(np.isfinite(fold) & (fold == fold.round())).astype("Int64")
    table["category"] = table["category"].astype(object)
    return table.sort_values(["path", "clip_id"], kind="stable").reset_index(drop=True)


def extract_archive(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Unpack the official ``master.zip`` into ``dest`` and return the ESC-50 root inside it.

    Files are extracted under a temporary folder that is renamed into place at the end, so an
    interrupted extraction is never taken for a complete copy.
    """
    from acom.download import unpack_zip

    dest = Path(dest)
    tmp = unpack_zip(archive, dest)
    roots = [p.parent.parent for p in tmp.glob("*/meta/esc50.csv")]
    if len(roots) != 1:
        raise ValueError(f"{archive}: expected one <folder>/meta/esc50.csv inside, found {len(roots)}")
    os.replace(roots[0], dest)
    shutil.rmtree(tmp)
    return dest
