"""Checksum-verified downloads into the workflow's cache (``resources/``)."""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from acom.io import atomic_output

_CHUNK = 1 << 20


def unpack_zip(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Unpack ``archive`` into ``<dest>.part`` (emptied first) and return that folder; the caller
    renames what it needs into ``dest`` at the end, so an interrupted extraction is never taken for a
    complete one."""
    tmp = Path(dest).with_name(Path(dest).name + ".part")
    if tmp.exists():
        shutil.rmtree(tmp)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp)
    return tmp


def with_downloaded_files(params: Mapping[str, Any], keys: Iterable[str], files: Mapping[str, str]) -> dict:
    """``params`` (a model or codec config entry) with each of ``keys`` (the null keys the workflow
    downloads a file for) set to the job's local copy in ``files`` (config key -> path)."""
    params = dict(params)
    params.update({key: files[key] for key in keys if key in files})
    return params


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks."""
    return file_digest(path, "sha256")


def file_digest(path: str | os.PathLike, algorithm: str) -> str:
    """Hex digest of a file by a hashlib ``algorithm`` (md5 for Zenodo records), read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mismatches(path: str | os.PathLike, expected: Mapping[str, str | None]) -> list[tuple[str, str, str]]:
    """(algorithm, expected, actual digest) of each checksum in ``expected`` (algorithm -> hex, or
    None for no check) that the file fails."""
    wanted = [(algorithm, value.lower()) for algorithm, value in expected.items() if value is not None]
    return [(algorithm, value, actual) for algorithm, value in wanted if (actual := file_digest(path, algorithm)) != value]


def verify_checksums(path: str | os.PathLike, expected: Mapping[str, str | None], *, url: str | None = None) -> None:
    """Raise ``ValueError`` naming the file (and ``url``, where it came from) when a checksum of
    ``expected`` (algorithm -> hex digest: sha256, md5) differs."""
    for algorithm, value, actual in _mismatches(path, expected):
        source = f" (downloaded from {url})" if url else ""
        raise ValueError(
            f"{path}{source}: {algorithm} mismatch (expected {value}, got {actual}); the file is corrupt or "
            "not the published one: delete it and download it again"
        )


def verify_sha256(path: str | os.PathLike, expected: str, *, url: str | None = None) -> None:
    """Raise ``ValueError`` naming the file (and ``url``, where it came from) when its sha256 differs
    from ``expected``."""
    verify_checksums(path, {"sha256": expected}, url=url)


def download(
    url: str, dest: str | os.PathLike, sha256: str | None, *, timeout: float = 60.0, config_key: str | None = None,
    md5: str | None = None,
) -> Path:
    """Download ``url`` to ``dest`` unless a verified copy is there already; return ``dest``.

    The file is written under a temporary name and renamed only after its checksum matched, so an
    interrupted or corrupted download never stands in for the real file: a mismatch is a
    ``ValueError`` naming the URL, ``dest``, the expected and the actual sha256, and nothing is left
    behind. No network: ``RuntimeError`` naming the URL and ``config_key`` (the config key that could
    name a local copy instead). ``sha256=None`` skips the check (only for sources that publish no
    stable checksum); the caller decides that, not this function. ``md5``: checked as well, for
    sources that publish only md5 (Zenodo).
    """
    dest = Path(dest)
    expected = {"sha256": sha256, "md5": md5}
    if dest.exists():
        verify_checksums(dest, expected, url=url)
        return dest
    with atomic_output(dest) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                out.writelines(iter(lambda: response.read(_CHUNK), b""))
        except (urllib.error.URLError, OSError) as err:
            instead = f"set {config_key} to a local copy" if config_key else "point the config at a local copy"
            raise RuntimeError(
                f"could not download {url} to {dest}: {err}. Without a network, {instead} instead"
            ) from err
        for algorithm, value, actual in _mismatches(tmp, expected):
            raise ValueError(
                f"download of {url} to {dest}: {algorithm} mismatch (expected {value}, got {actual}); the "
                f"download was discarded, {dest} was not written. Retry; if it fails again, the file at the URL "
                f"is not the published one (check the URL and {algorithm} in the config)"
            )
    return dest
