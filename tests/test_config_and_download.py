"""Config validation (schema + cross-references) and checksum-verified downloads."""

from __future__ import annotations

import copy
import hashlib

import pytest
import yaml
from conftest import REPO, SHARED_MN04
from snakemake.utils import update_config

from acom.config import check_config, schema_problems, validate_config
from acom.download import download


@pytest.fixture
def config(monkeypatch):
    monkeypatch.chdir(REPO)  # relative paths in the config are relative to the working directory
    with open(REPO / "config.yaml") as fh:
        return yaml.safe_load(fh)


def test_default_config_and_overlays_are_valid(config):
    validate_config(copy.deepcopy(config))
    combinations = [["synthetic"], ["synthetic", "roi"], ["synthetic", "small", "sed"]]
    if (SHARED_MN04 / "mn04_as_mAP_432.pt").is_file():  # shared.yaml names files in ../shared
        combinations.append(["shared"])
    for overlays in combinations:
        merged = copy.deepcopy(config)
        for overlay in overlays:
            with open(REPO / "tests" / "configs" / f"{overlay}.yaml") as fh:
                update_config(merged, yaml.safe_load(fh))  # as Snakemake merges --configfile overlays
        validate_config(merged)


@pytest.mark.parametrize("mutate, expected", [
    (lambda c: c["models"]["mfcc"].update(n_mfc=13), "models.mfcc: Additional properties are not allowed ('n_mfc'"),
    (lambda c: c["models"]["mfcc"].update(type="mfc"), "models.mfcc.type: 'mfc' is not one of"),
    (lambda c: c["datasets"]["esc50"].update(folds=[1, 6]), "datasets.esc50.folds[1]: 6 is greater than the maximum"),
    (lambda c: c["classifiers"]["logreg"].update(C=-1), "classifiers.logreg.C: -1 is less than or equal to"),
    (lambda c: c["models"]["efficientat_mn04"].update(device="gpu"), "models.efficientat_mn04.device: 'gpu'"),
    (lambda c: c["filters"]["lowpass_4000"].update(type="notch"), "filters.lowpass_4000.type: 'notch'"),
    (lambda c: c["filters"].update(none={"type": "lowpass", "cutoff_hz": 100}), "filters: the name 'none'"),
    (lambda c: c["mask_search"].update(percentages=[0, 50]), "mask_search.percentages[0]: 0 is less than"),
    (lambda c: c["models"]["ast"].update(autocast="int8"), "models.ast.autocast: 'int8' is not one of"),
])
def test_schema_names_the_bad_key_and_value(config, mutate, expected):
    mutate(config)
    with pytest.raises(ValueError) as err:
        validate_config(config)
    assert expected in str(err.value)


def test_every_schema_problem_is_listed_with_the_allowed_keys(config):
    config["models"]["mfcc"]["n_mfc"] = 13
    config["classifiers"]["logreg"]["C"] = -1
    problems = schema_problems(config)
    assert len(problems) == 2
    assert problems[0].startswith("classifiers.logreg.C: -1") and "'n_mfcc'" in problems[1]  # allowed keys


def test_cross_references_are_checked(config):
    config["evaluation"]["models"].append("panns")
    config["evaluation"]["codecs"].append("lyra")
    config["codecs"]["encodec24"]["bitrates_kbps"].append(5)
    config["evaluation"]["filters"].append("denoise")
    config["filters"]["oracle_roi"]["model"] = "panns"
    config["filters"]["highpass_500"].pop("cutoff_hz")
    config["mask_search"]["codecs"] = ["opus_17"]
    with pytest.raises(ValueError) as err:
        check_config(config)
    message = str(err.value)
    assert "evaluation.models lists 'panns'" in message and "evaluation.codecs lists 'lyra'" in message
    assert "codecs.encodec24.bitrates_kbps: encodec24 has no 5 kbps mode" in message
    assert "evaluation.filters lists 'denoise'" in message
    assert "filters.oracle_roi: oracle_roi with its masks needs model: one of" in message
    assert "filters.highpass_500: a highpass filter needs cutoff_hz" in message
    assert "mask_search.codecs: 'opus_17' is not a configured codec bitrate" in message


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
