"""Config validation: the schema with its registry-made types and keys, cross-references, derived
defaults, and that switched-off branches are not checked."""

from __future__ import annotations

import copy

import pytest
import yaml
from snakemake.utils import update_config

from acom.config import check_config, schema_problems, validate_config
from tests.helpers import REPO, SHARED_MN04


@pytest.fixture
def config(monkeypatch):
    monkeypatch.chdir(REPO)  # relative paths in the config are relative to the working directory
    with open(REPO / "config.yaml") as fh:
        return yaml.safe_load(fh)


def test_default_config_and_overlays_are_valid(config):
    validate_config(copy.deepcopy(config))
    configs, small = REPO / "configs", REPO / "tests" / "workflow" / "configs" / "small.yaml"
    combinations = [[configs / "synthetic.yaml"], [configs / "synthetic.yaml", configs / "roi.yaml"],
                    [configs / "synthetic.yaml", small, configs / "sed.yaml"]]
    if (SHARED_MN04 / "mn04_as_mAP_432.pt").is_file():  # shared.yaml names files in ../shared
        combinations += [[configs / "shared.yaml"], [configs / "shared.yaml", configs / "quick.yaml"]]
    for overlays in combinations:
        merged = copy.deepcopy(config)
        for overlay in overlays:
            with open(overlay) as fh:
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


def test_changing_only_a_codecs_bitrates_never_stops_a_run(config):
    """The issue that led to derived defaults: with Opus at 12 kbps only, mask_search.codecs and
    report.confusion used to name opus_16 and opus_6 and stop the run."""
    config["codecs"]["opus"]["bitrates_kbps"] = [12]
    config["evaluation"]["codecs"] = ["opus"]
    validate_config(config)
    assert config["mask_search"]["codecs"] == ["opus_12"]
    assert [(e["model"], e["codec"], e["filter"]) for e in config["report"]["confusion"]] == \
        [("mfcc", "opus_12", "none"), ("efficientat_mn04", "opus_12", "none")]
    assert config["report"]["listen"] == {**config["report"]["listen"], "classifier": "logreg",
                                          "train_condition": "clean"}


def test_derived_defaults_follow_the_first_evaluated_codec_and_never_override_a_list(config):
    config["codecs"]["encodec24"]["bitrates_kbps"] = [3, 1.5]
    config["evaluation"]["codecs"] = ["encodec24", "opus"]
    config["report"]["confusion"] = []
    validate_config(config)
    assert config["mask_search"]["codecs"] == ["encodec24_1.5"] and config["report"]["confusion"] == []
    no_codecs = yaml.safe_load((REPO / "config.yaml").read_text())
    no_codecs["evaluation"].update(codecs=[], filters=[])
    no_codecs["mask_search"]["models"] = []
    validate_config(no_codecs)
    assert no_codecs["mask_search"]["codecs"] == [] and {e["codec"] for e in no_codecs["report"]["confusion"]} == {"none"}


def test_a_switched_off_branch_is_not_checked(config):
    config["evaluation"]["filters"] = ["lowpass_4000"]  # no oracle_roi: nothing needs the mask search
    config["mask_search"].update(models=[], classifier="no_such_classifier", codecs=["opus_999"])
    config["sed"].update(models=[], codecs=["mp9"], thresholds={"Dog": 0.5})
    validate_config(config)
    config["mask_search"]["models"] = ["efficientat_mn04"]
    with pytest.raises(ValueError) as info:
        validate_config(config)
    assert "mask_search.classifier: 'no_such_classifier' has no entry under classifiers" in str(info.value)
    assert "mask_search.codecs: 'opus_999' is not a configured codec bitrate" in str(info.value)


def test_type_defaults_are_filled_into_every_entry(config):
    config["codecs"]["opus"] = {"type": "opus", "bitrates_kbps": [12]}
    config["classifiers"]["logreg"] = {"type": "logreg"}
    validate_config(config)
    assert config["codecs"]["opus"] == {"type": "opus", "bitrates_kbps": [12], "mode": "vbr", "complexity": 10,
                                        "frame_ms": 20, "application": "audio"}
    assert config["classifiers"]["logreg"] == {"type": "logreg", "C": 1.0, "max_iter": 5000}
