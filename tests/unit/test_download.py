"""Checksum-verified downloads: a good file is kept, a mismatch or a changed cached file is refused."""

from __future__ import annotations

import hashlib

import pytest

from acom.download import download


def test_download_verifies_the_checksum(tmp_path):
    source = tmp_path / "weights.bin"
    source.write_bytes(b"published weights")
    good = hashlib.sha256(b"published weights").hexdigest()
    dest = download(source.as_uri(), tmp_path / "cache" / "weights.bin", good)
    assert dest.read_bytes() == b"published weights"
    with pytest.raises(ValueError, match="sha256 mismatch") as err:
        download(source.as_uri(), tmp_path / "cache" / "other.bin", "0" * 64)
    # The message names the URL, the destination, the expected and the actual sha256 ...
    message = str(err.value)
    assert source.as_uri() in message and str(tmp_path / "cache" / "other.bin") in message
    assert f"expected {'0' * 64}, got {good}" in message and "discarded" in message
    assert not (tmp_path / "cache" / "other.bin").exists()  # ... and a bad download never takes the real name
    assert not list((tmp_path / "cache").glob("*.part"))


def test_a_cached_file_that_no_longer_matches_is_refused(tmp_path):
    source = tmp_path / "weights.bin"
    source.write_bytes(b"published weights")
    cached = tmp_path / "cache" / "weights.bin"
    cached.parent.mkdir()
    cached.write_bytes(b"published wei")  # truncated
    with pytest.raises(ValueError) as err:
        download(source.as_uri(), cached, hashlib.sha256(b"published weights").hexdigest())
    message = str(err.value)
    assert message.startswith(f"{cached} (downloaded from {source.as_uri()}): sha256 mismatch (expected ")
    assert hashlib.sha256(b"published wei").hexdigest() in message and "delete it and download it again" in message


def test_download_without_network_fails_clearly(tmp_path):
    with pytest.raises(RuntimeError, match="could not download .* point the config at a local copy"):
        download("http://127.0.0.1:9/master.zip", tmp_path / "master.zip", "0" * 64, timeout=5)
    assert not (tmp_path / "master.zip").exists()
    with pytest.raises(RuntimeError, match="set datasets.esc50.root to a local copy instead"):
        download("http://127.0.0.1:9/master.zip", tmp_path / "master.zip", "0" * 64, timeout=5,
                 config_key="datasets.esc50.root")


def test_an_md5_published_source_is_checked_too(tmp_path):
    source = tmp_path / "IRMAS-TestingData-Part1.zip"
    source.write_bytes(b"zenodo archive")
    good = hashlib.md5(b"zenodo archive").hexdigest()
    assert download(source.as_uri(), tmp_path / "cache" / "a.zip", None, md5=good).read_bytes() == b"zenodo archive"
    with pytest.raises(ValueError, match=rf"md5 mismatch \(expected {'0' * 32}, got {good}\); the download was discarded"):
        download(source.as_uri(), tmp_path / "cache" / "b.zip", None, md5="0" * 32)
    assert not (tmp_path / "cache" / "b.zip").exists()
    with pytest.raises(ValueError, match=r"a.zip \(downloaded from .*\): md5 mismatch"):
        download(source.as_uri(), tmp_path / "cache" / "a.zip", None, md5="1" * 32)
