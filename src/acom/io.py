"""Atomic file output and audio I/O shared by every stage.

Every file the workflow writes goes through :func:`atomic_output`: the content is written to a
temporary name in the same directory and renamed into place, so a killed job never leaves a
half-written file that a later run could mistake for a finished one.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import soundfile as sf

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds.

    Temporary files of ``path`` left by a writer that was killed (SIGKILL runs no ``finally``) are
    removed first: one job writes one path, so any such file is a dead attempt's.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the permissions any new file would get.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except Exception as err:
        if _is_disk_full(err, path.parent):
            tmp.unlink(missing_ok=True)  # give the space back before saying how much is left
            raise DiskFullError(path) from err
        raise
    finally:
        if tmp.exists():
            tmp.unlink()


class DiskFullError(OSError):
    """Writing an output ran out of space: names the output and the space left, and the fix."""

    def __init__(self, path: str | os.PathLike) -> None:
        path = Path(path)
        free = shutil.disk_usage(path.parent).free / 1e6
        super().__init__(errno.ENOSPC, f"{path}: no space left on the device while writing it ({free:.1f} MB free "
                                       f"in {path.parent}); nothing was left in its place: free some space and run "
                                       "the same command again (after snakemake --unlock if the run was killed), "
                                       "the run resumes where it stopped")


# A write that fails with (almost) nothing left on its file system failed for want of space, even
# when the library says no more than "System error" (libsndfile).
FULL_BELOW_BYTES = 1 << 20


def _is_disk_full(err: BaseException, folder: Path) -> bool:
    """Whether a failed write ran out of space: ENOSPC in the exception or one it came from (pyarrow
    says so only in its message), or the file system is full now, before the partial file goes."""
    try:
        if shutil.disk_usage(folder).free < FULL_BELOW_BYTES:
            return True
    except OSError:
        pass
    while err is not None:
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(err):
            return True
        err = err.__cause__ or err.__context__
    return False


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


class DamagedFileError(ValueError):
    """A file the workflow wrote that can no longer be read (a copy cut short, a disk error, garbage)."""


def rebuild_hint(path: str | os.PathLike) -> str:
    """How to get a damaged intermediate file back: run the same command with ``--forcerun`` on it
    (a file output) or on its fold's folder (a file inside a folder output, such as a decoded clip):
    Snakemake rebuilds it and everything that depends on it. (Deleting it alone is not enough: a
    run whose final tables exist does not recreate a missing intermediate file.)"""
    path = Path(path)
    inside_folder = path.suffix.lower() not in (".parquet", ".csv", ".pt", ".npz")
    target = path.parent if inside_folder else path
    return (f"rebuild it: run the same snakemake command with --forcerun {target} (Snakemake recreates it and "
            "everything that depends on it)")


def read_parquet(path: str | os.PathLike, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """``pandas.read_parquet`` that names a damaged file: a truncated or overwritten Parquet file
    under ``results/`` raises :class:`DamagedFileError` with its path, what is wrong and the fix."""
    import pyarrow as pa

    try:
        return pd.read_parquet(path, columns=None if columns is None else list(columns))
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError, ValueError) as err:
        raise DamagedFileError(f"{path}: not a readable Parquet file ({str(err).splitlines()[0]}); "
                               f"{rebuild_hint(path)}") from err


def read_fold_tables(inputs: Mapping[str, str], prefix: str) -> dict[int, pd.DataFrame]:
    """Fold -> table of a job's named inputs ``<prefix><fold>`` (``train1``, ``train2``, ...)."""
    return {int(key[len(prefix):]): read_parquet(path) for key, path in inputs.items()
            if key.startswith(prefix) and key[len(prefix):].isdigit()}


def read_parquet_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The ``acom`` metadata a file was written with by :func:`write_parquet` ({} when none)."""
    import pyarrow.parquet as pq

    raw = (pq.read_schema(path).metadata or {}).get(b"acom")
    return json.loads(raw) if raw else {}


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` to CSV atomically, without the index, floats with full round-trip precision."""
    with atomic_output(path) as tmp:
        df.to_csv(tmp, index=False)


class BadAudioError(ValueError):
    """An audio file that cannot be used as a mono clip.

    The message is ``"{path}: {problem}"``; ``path`` and ``problem`` (what is wrong and how to fix
    it) are also kept apart, so ingest can list bad clips as table rows.
    """

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


#: What libsndfile reports as the length of a file whose header gives none (SF_COUNT_MAX).
_UNKNOWN_LENGTH = 2**63 - 1
#: RIFF data-chunk sizes that stream writers leave as placeholders: no declared length.
_PLACEHOLDER_SIZES = (0, 0xFFFFFFFF)


def _fix(path: str | os.PathLike, fix: str) -> str:
    """The fix for a bad audio file: ``fix`` for a data set's file, the rebuild hint for one the
    workflow wrote (under a ``results`` folder)."""
    return rebuild_hint(path) if "results" in Path(path).parts else fix


def read_audio(path: str | os.PathLike, *, what: str = "clip") -> tuple[np.ndarray, int]:
    """Read a mono audio file whole as float32 in [-1, 1]; return (samples, sample_rate).

    Any libsndfile format and sample type is read (8-bit, 16-bit, 24-bit, float, double; any
    rate). Raises :class:`BadAudioError` (a ``ValueError``) naming the file, the problem and the fix
    when the file is missing, empty (0 bytes), not audio, not mono, cut short (its header declares
    more frames than it holds or than decode), without samples, or holds NaN/Inf samples. This is
    the one check of an audio file: ingest runs it on every clip, later stages on what they read.
    """
    try:
        size = Path(path).stat().st_size
    except FileNotFoundError:
        raise BadAudioError(path, "no such file") from None
    if size == 0:
        raise BadAudioError(path, "empty file (0 bytes): " + _fix(path, "copy it again from the original data set"))
    try:
        sound = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:  # older soundfile raises RuntimeError
        raise BadAudioError(path, f"not a readable audio file (libsndfile: {_libsndfile_message(err)}): "
                                  + _fix(path, "replace it with the original clip")) from err
    with sound:
        sample_rate = int(sound.samplerate)
        if sound.channels != 1:
            raise BadAudioError(path, f"expected a mono {what}, found {sound.channels} channels: downmix it "
                                      "(e.g. sox in.wav -c 1 out.wav)")
        if sound.frames >= _UNKNOWN_LENGTH:
            raise BadAudioError(path, "its header gives no length (written as a stream?): re-encode it to a file, "
                                      "e.g. sox in.flac out.flac")
        declared = _declared_frames(path, sound)
        try:
            data = sound.read(dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as err:
            raise BadAudioError(path, f"truncated or corrupt: header declares {sound.frames} frames but decoding fails "
                                      f"(libsndfile: {_libsndfile_message(err)}): "
                                      + _fix(path, "copy it again from the original data set")) from err
    if declared is not None and len(data) < declared:
        raise BadAudioError(path, f"truncated: header declares {declared} frames, file holds {len(data)}: "
                                  + _fix(path, "copy it again from the original data set"))
    if len(data) == 0:
        raise BadAudioError(path, "the file holds no samples: copy it again from the original data set")
    samples = data[:, 0]
    non_finite = int(np.count_nonzero(~np.isfinite(samples)))
    if non_finite:
        raise BadAudioError(path, f"holds {non_finite} NaN/Inf samples (of {samples.size}): replace it with a good "
                                  "copy of the clip")
    return samples, sample_rate


def _libsndfile_message(err: Exception) -> str:
    """libsndfile's own words (without soundfile's "Error opening 'path': " prefix, which repeats the path)."""
    return (getattr(err, "error_string", None) or str(err)).rstrip(".")


def _declared_frames(path: str | os.PathLike, sound: sf.SoundFile) -> int | None:
    """The frames the header promises, for the formats whose header states the exact length (WAV,
    FLAC); None for others (Ogg, MP3, ...: their length is what decodes)."""
    if sound.format == "WAV":
        return _wav_declared_frames(path)
    if sound.format == "FLAC" and sound.frames > 0:  # STREAMINFO total_samples (0: unknown)
        return int(sound.frames)
    return None


def _wav_declared_frames(path: str | os.PathLike) -> int | None:
    """Frames declared by the 'data' chunk of a RIFF WAV file; None when it declares none or the
    header cannot be walked.

    Read here because no library at hand reports it: libsndfile clamps the data chunk to what the
    file holds and reports that (the declared size appears only in its free-text log), so a WAV cut
    short passes for a shorter complete one; Python's ``wave`` reads integer PCM only, not float.
    """
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = 0
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            chunk_id, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if chunk_id == b"data":
                if size in _PLACEHOLDER_SIZES or block_align <= 0:
                    return None
                return size // block_align
            if chunk_id == b"fmt ":
                fmt = fh.read(size)
                if len(fmt) < 14:
                    return None
                block_align = int.from_bytes(fmt[12:14], "little")  # nBlockAlign: bytes per frame
                fh.seek(size % 2, os.SEEK_CUR)  # chunks are padded to an even length
            else:
                fh.seek(size + size % 2, os.SEEK_CUR)


def write_flac(path: str | os.PathLike, samples: np.ndarray, sample_rate: int) -> None:
    """Write a mono clip as 16-bit FLAC atomically (clipped to [-1, 1] first, as any PCM writer must)."""
    samples = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    with atomic_output(path) as tmp:
        sf.write(str(tmp), samples, sample_rate, format="FLAC", subtype="PCM_16")


class AudioInfo(NamedTuple):
    """What ingest records of a checked file."""

    samplerate: int
    frames: int


def mono_audio_info(path: str | os.PathLike, *, what: str = "clip") -> tuple[AudioInfo | None, str | None]:
    """(info, None) for a usable mono file; (None, "path: problem") otherwise.

    The file is read whole once with :func:`read_audio` (so a truncated file or NaN samples are
    caught, not only a bad header); ``frames`` is what decodes. Ingest collects the problem strings
    of a whole data set and reports them at once.
    """
    try:
        samples, sample_rate = read_audio(path, what=what)
    except BadAudioError as err:
        return None, str(err)
    return AudioInfo(samplerate=sample_rate, frames=len(samples)), None


def incomplete_audio_folders(results: str | os.PathLike = "results") -> list[Path]:
    """Fold folders of clips (``<stage>/.../fold<k>/`` beside their ``fold<k>.parquet`` manifest) that
    exist but lack a clip their manifest lists.

    With ``keep_audio: false`` Snakemake deletes such a folder once nothing needs it; a run killed
    during that deletion leaves part of it behind, which a resumed run would take for the complete
    output. Removing these folders lets Snakemake recreate them where a job needs them.
    """
    found = []
    for manifest in sorted(Path(results).glob("*/*/**/fold*.parquet")):
        folder = manifest.with_suffix("")
        if not folder.is_dir():
            continue
        import pyarrow.parquet as pq

        try:
            if "path" not in pq.read_schema(manifest).names:
                continue  # not an audio manifest (a mask table, say)
            paths = pd.read_parquet(manifest, columns=["path"])["path"]
        except (OSError, ValueError) as err:  # unreadable: the job that reads it names it (read_parquet)
            log.debug("%s: not checked for a half-deleted folder (%s)", manifest, err)
            continue
        if any(not Path(p).exists() for p in paths if str(p).startswith(str(folder))):
            found.append(folder)
    return found
