"""Config validation (schema + cross-references) and checksum-verified downloads."""

from __future__ import annotations

import copy
import hashlib
import subprocess
import sys

import pytest
import yaml
from conftest import REPO
from snakemake.utils import update_config, validate

from acom.config import check_config
from acom.download import download

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


@pytest.fixture
def config():
    with open(REPO / "config.yaml") as fh:
        return yaml.safe_load(fh)


def test_default_config_and_overlays_are_valid(config):
    validate(copy.deepcopy(config), SCHEMA)
    check_config(config)
    for overlays in (["synthetic"], ["shared"], ["synthetic", "roi"]):
        merged = copy.deepcopy(config)
        for overlay in overlays:
            with open(REPO / "tests" / "configs" / f"{overlay}.yaml") as fh:
                update_config(merged, yaml.safe_load(fh))  # as Snakemake merges --configfile overlays
        validate(merged, SCHEMA)
        check_config(merged)


@pytest.mark.parametrize("mutate, expected", [
    (lambda c: c["models"]["mfcc"].update(n_mfc=13), "n_mfc"),  # a typo in a key
    (lambda c: c["models"]["mfcc"].update(type="mfc"), "mfc"),  # unknown model type
    (lambda c: c["datasets"]["esc50"].update(folds=[1, 6]), "6"),
    (lambda c: c["classifiers"]["logreg"].update(C=-1), "-1"),
    (lambda c: c["models"]["efficientat_mn04"].update(device="gpu"), "gpu"),
    (lambda c: c["filters"]["frame_energy_p50"].update(percentage=120), "120"),  # percentage over 100
    (lambda c: c["filters"]["lowpass_4000"].update(type="notch"), "notch"),
    (lambda c: c["filters"].update(none={"type": "lowpass", "cutoff_hz": 100}), "none"),  # reserved name
    (lambda c: c["mask_search"].update(percentages=[0, 50]), "0"),
    (lambda c: c["models"]["ast"].update(autocast="int8"), "int8"),
])
def test_schema_names_the_bad_key_or_value(config, mutate, expected):
    mutate(config)
    with pytest.raises(Exception) as err:
        validate(config, SCHEMA)
    assert expected in str(err.value)


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


def test_snakemake_stops_on_a_bad_config_with_the_key_in_the_message(tmp_path):
    (tmp_path / "bad.yaml").write_text("models:\n  mfcc:\n    type: mfcc\n    n_mfccs: 13\n")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path), "-n",
         "--configfile", str(tmp_path / "bad.yaml")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode != 0
    assert "n_mfccs" in result.stdout + result.stderr


def test_download_verifies_the_checksum(tmp_path):
    source = tmp_path / "weights.bin"
    source.write_bytes(b"published weights")
    good = hashlib.sha256(b"published weights").hexdigest()
    dest = download(source.as_uri(), tmp_path / "cache" / "weights.bin", good)
    assert dest.read_bytes() == b"published weights"
    with pytest.raises(ValueError, match="sha256 mismatch"):
        download(source.as_uri(), tmp_path / "cache" / "other.bin", "0" * 64)
    assert not (tmp_path / "cache" / "other.bin").exists()  # a bad download never takes the real name
    assert not list((tmp_path / "cache").glob("*.part"))


def test_download_without_network_fails_clearly(tmp_path):
    with pytest.raises(RuntimeError, match="could not download .* point the config at a local copy"):
        download("http://127.0.0.1:9/master.zip", tmp_path / "master.zip", "0" * 64, timeout=5)
    assert not (tmp_path / "master.zip").exists()
