"""A catalogue of bad configuration values and bad weight files: each fails early (at config validation,
before any job runs, where the config alone shows it) with a message naming the key (or file), the value
and the fix; none falls back silently (no ignored key, no random weights in place of missing ones).

Neighbouring tests cover the rest of the catalogue: the loaders' own errors for a missing or garbage
checkpoint (tests/unit/models, tests/unit/codecs/test_encodec.py), downloads whose sha256 does not
match (test_download, test_encodec), and a bad config stopping a dry run (tests/workflow/test_bad_config.py)."""

from __future__ import annotations

import copy
import dataclasses
import re

import pytest
import torch
import yaml

from acom.codecs.encodec import ENCODEC_MODELS
from acom.config import validate_config
from acom.models import MN04_WEIGHTS, build_model
from tests.helpers import REPO

#: A valid default config (loaded once; each test mutates a copy).
with open(REPO / "config.yaml") as _fh:
    DEFAULT = yaml.safe_load(_fh)


@pytest.fixture
def config(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # relative paths in a config are relative to the working directory
    return copy.deepcopy(DEFAULT)


def problems_of(config) -> list[str]:
    """The problems validate_config reports, one per line (none: an empty list)."""
    try:
        validate_config(config)
    except ValueError as err:
        lines = str(err).splitlines()
        assert lines[0] == "invalid config:"
        return [line.strip() for line in lines[1:]]
    return []


def use_models(config, *names):
    config["evaluation"]["models"] = list(names)
    config["sed"]["models"] = []
    config["esc10_mix"]["models"] = []
    config["mask_search"]["models"] = []
    config["evaluation"]["filters"] = [f for f in config["evaluation"]["filters"] if f != "oracle_roi"]


CASES = {
    # 1. bitrates a codec cannot code at
    "negative opus bitrate": (
        lambda c: c["codecs"]["opus"]["bitrates_kbps"].append(-6),
        "codecs.opus.bitrates_kbps: -6 is outside Opus's bitrate range, 6 to 510 kbps"),
    "opus bitrate above 510 kbps": (
        lambda c: c["codecs"]["opus"]["bitrates_kbps"].append(600),
        "codecs.opus.bitrates_kbps: 600 is outside Opus's bitrate range, 6 to 510 kbps"),
    "negative encodec bitrate": (
        lambda c: c["codecs"]["encodec24"]["bitrates_kbps"].append(-6),
        "codecs.encodec24.bitrates_kbps: encodec24 has no -6 kbps mode; supported: [1.5, 3.0, 6.0, 12.0, 24.0]"),
    "encodec24 bandwidth it was not trained for": (
        lambda c: c["codecs"]["encodec24"]["bitrates_kbps"].append(2),
        "codecs.encodec24.bitrates_kbps: encodec24 has no 2 kbps mode; supported: [1.5, 3.0, 6.0, 12.0, 24.0]"),
    "encodec48 at 1.5 kbps": (
        lambda c: c["codecs"]["encodec48"]["bitrates_kbps"].append(1.5),
        "codecs.encodec48.bitrates_kbps: encodec48 has no 1.5 kbps mode; supported: [3.0, 6.0, 12.0, 24.0]"),
    # 2. unknown codecs
    "unknown codec evaluated": (
        lambda c: c["evaluation"]["codecs"].append("wma"),
        ("evaluation.codecs lists 'wma', which has no entry under codecs: known ['aac', 'encodec24', 'encodec48', "
         "'lc3', 'mp3', 'opus', 'vorbis']")),
    "unknown codec type": (
        lambda c: c["codecs"].update(wma={"type": "wma", "bitrates_kbps": [128]}),
        "codecs.wma.type: 'wma' is not one of ['opus', 'mp3', 'aac', 'vorbis', 'lc3', 'encodec24', 'encodec48']"),
    "cross-corpus SED without a DESED copy": (
        lambda c: c["sed"].update(protocols=["cross_corpus"]),
        "sed.protocols: cross_corpus tests on a DESED copy that acom did not make: set datasets.desed.root"),
    "frame shifts for a model SED does not run": (
        lambda c: c["sed"].update(frame_shifts={"ast": 2}),
        "sed.frame_shifts: 'ast' is not in sed.models"),
    "cross-corpus training folds that ESC-50 lacks": (
        lambda c: c["sed"].update(cross_corpus_folds=[1, 9]),
        "sed.cross_corpus_folds: 9 is not an ESC-50 fold"),
    "unknown codec in sed": (
        lambda c: c["sed"]["codecs"].append("wma"),
        ("sed.codecs lists 'wma', which has no entry under codecs: known ['aac', 'encodec24', 'encodec48', 'lc3', "
         "'mp3', 'opus', 'vorbis']")),
    # 3. unknown models
    "unknown model evaluated": (
        lambda c: c["evaluation"].update(models=["wav2vec"]),
        ("evaluation.models lists 'wav2vec', which has no entry under models: known "
         "['ast', 'beats', 'efficientat_mn04', 'mfcc']")),
    "unknown model searched": (
        lambda c: c["mask_search"].update(models=["wav2vec"]),
        "mask_search.models lists 'wav2vec', which has no entry under models: known"),
    "unknown model type": (
        lambda c: c["models"].update(wav2vec={"type": "wav2vec"}),
        "models.wav2vec.type: 'wav2vec' is not one of ['mfcc', 'efficientat_mn04', 'ast', 'beats']"),
    # 4. percentages over 100
    "mask search percentage over 100": (
        lambda c: c["mask_search"].update(percentages=[50, 150]),
        "mask_search.percentages[1]: 150 is greater than the maximum of 100"),
    "filter percentage over 100": (
        lambda c: c["filters"]["frame_energy_p50"].update(percentage=150),
        "filters.frame_energy_p50.percentage: 150 is greater than the maximum of 100"),
    # 5. rates a codec or model does not take
    "opus at 44.1 kHz": (
        lambda c: c["codecs"]["opus"].update(sample_rate=44100),
        ("codecs.opus.sample_rate: 44100 Hz is not an Opus coding rate; Opus codes at "
         "[8000, 12000, 16000, 24000, 48000] Hz only")),
    "encodec24 at 16 kHz": (
        lambda c: c["codecs"]["encodec24"].update(sample_rate=16000),
        "codecs.encodec24.sample_rate: encodec24 codes at 24000 Hz only, not 16000 Hz"),
    "efficientat at 16 kHz": (
        lambda c: c["models"]["efficientat_mn04"].update(sample_rate=16000),
        "models.efficientat_mn04.sample_rate: type efficientat_mn04 takes 32000 Hz input only"),
    # bitrates, rates and modes the classical codecs cannot take
    "mp3 cbr between frame bitrates": (
        lambda c: c["codecs"]["mp3"].update(bitrates_kbps=[12]),
        "codecs.mp3.bitrates_kbps: 12 kbps is not an MP3 frame bitrate at 16000 Hz (mode cbr); use one of [8, 16,"),
    "mp3 abr beyond MPEG-2": (
        lambda c: c["codecs"]["mp3"].update(mode="abr", bitrates_kbps=[192]),
        "codecs.mp3.bitrates_kbps: 192 kbps is outside MP3's 8-160 kbps at 16000 Hz"),
    "mp3 with Opus's vbr mode": (
        lambda c: c["codecs"]["mp3"].update(mode="vbr"),
        "codecs.mp3.mode: type mp3 takes mode one of ['cbr', 'abr'], not 'vbr'"),
    "mp3 at 96 kHz": (
        lambda c: c["codecs"]["mp3"].update(sample_rate=96000),
        "codecs.mp3.sample_rate: 96000 Hz is not an MP3 coding rate; MP3 codes at [8000, 11025"),
    "aac above 6 bits per sample": (
        lambda c: c["codecs"]["aac"].update(bitrates_kbps=[128]),
        "codecs.aac.bitrates_kbps: 128 kbps is outside AAC-LC's 6-96 kbps for mono at 16000 Hz"),
    "vorbis below quality 0": (
        lambda c: c["codecs"]["vorbis"].update(bitrates_kbps=[16]),
        "codecs.vorbis.bitrates_kbps: 16 kbps is outside the 24-99.992 kbps that Vorbis qualities 0-10 declare"),
    "lc3 with a fractional frame": (
        lambda c: c["codecs"]["lc3"].update(bitrates_kbps=[20.5]),
        ("codecs.lc3.bitrates_kbps: 20.5 kbps is 25.625 bytes per 10 ms frame, not a whole number; use a multiple "
         "of 0.8 kbps")),
    "lc3 with 5 ms frames": (
        lambda c: c["codecs"]["lc3"].update(frame_ms=5),
        "codecs.lc3.frame_ms: type lc3 takes frame_ms one of [7.5, 10], not 5"),
    "filters coded with an unknown codec": (
        lambda c: c["evaluation"].update(filter_codecs=["opus", "wma"]),
        "evaluation.filter_codecs lists 'wma', which has no entry under codecs"),
    # region of interest: renderings, bit allocation, the mask predictor
    "comfort noise on frequency bands": (
        lambda c: c["filters"]["freq_band_p50"].update(rendering="comfort_noise"),
        "filters.freq_band_p50.rendering: type freq_roi does not read rendering, so it would be ignored"),
    "bit allocation with no codec that allocates bits": (
        lambda c: (c["filters"]["frame_energy_p50"].update(rendering="bits"),
                   c["evaluation"].update(filter_codecs=["encodec24"])),
        "filters.frame_energy_p50: rendering: bits needs a codec that allocates bits by region (['opus'])"),
    "bit allocation floor below opus's range": (
        lambda c: c["filters"]["frame_energy_p50"].update(rendering="bits", floor_kbps=3),
        "filters.frame_energy_p50.floor_kbps: 3 kbps is outside codecs.opus's 6-510 kbps range"),
    "predicted score without a model": (
        lambda c: c["filters"]["frame_energy_p50"].update(score="predicted"),
        "filters.frame_energy_p50: frame_roi with score predicted needs model: one of"),
    "predictor on a frame the log-mel hop does not divide": (
        lambda c: (c["filters"]["frame_energy_p50"].update(score="predicted", model="efficientat_mn04"),
                   c["mask_search"]["time"].update(frame_ms=125)),
        "mask_search.time.frame_ms: 125 ms is not a whole multiple of the mask predictor's 10 ms log-mel hop"),
    "an unknown rendering": (
        lambda c: c["filters"]["frame_energy_p50"].update(rendering="silence"),
        "filters.frame_energy_p50.rendering: 'silence' is not one of"),
    # feature coding
    "unknown feature codec": (
        lambda c: c["evaluation"].update(feature_codecs=["sq", "vq"]),
        "evaluation.feature_codecs lists 'vq', which has no entry under feature_codecs"),
    "rvq budget not a whole number of codebooks": (
        lambda c: c["feature_codecs"]["rvq"].update(budgets=[96, 97]),
        "feature_codecs.rvq.budgets: 97 bits per clip is not a whole number of 2-bit codebook indices"),
    "scalar budget above 16 bits": (
        lambda c: c["feature_codecs"]["sq"].update(budgets=[4, 32]),
        "feature_codecs.sq.budgets: 32 is not a whole number of bits per dimension from 1 to 16"),
    "feature codec named like a codec": (
        lambda c: c["feature_codecs"].update(opus={"type": "scalar", "budgets": [4]}),
        "feature_codecs.opus: the name is also a codecs entry"),
    # keys the entry's type does not read would be ignored silently
    "opus setting on an encodec entry": (
        lambda c: c["codecs"]["encodec24"].update(mode="cbr"),
        "codecs.encodec24.mode: type encodec24 does not read mode, so it would be ignored; remove it"),
    "weights on an mfcc model": (
        lambda c: c["models"]["mfcc"].update(weights="mfcc.pt"),
        "models.mfcc.weights: type mfcc does not read weights, so it would be ignored; remove it"),
    # the esc10_mix task
    "esc10_mix model without an entry": (
        lambda c: c["esc10_mix"]["models"].append("wav2vec"),
        "esc10_mix.models lists 'wav2vec', which has no entry under models"),
    "esc10_mix classifier without an entry": (
        lambda c: c["esc10_mix"].update(classifiers=["svm_rbf"]),
        "esc10_mix.classifiers lists 'svm_rbf', which has no entry under classifiers"),
    "esc10_mix mask-search filter": (
        lambda c: c["esc10_mix"].update(filters=["oracle_roi"]),
        "esc10_mix.filters: 'oracle_roi' uses the mask search"),
    "esc10_mix level range reversed": (
        lambda c: c["datasets"]["esc10_mix"].update(level_db=[12, 3]),
        "datasets.esc10_mix.level_db: [12, 3] is not a range (low > high)"),
    "irmas copy without its test folder": (
        lambda c: (c["irmas"].update(models=["mfcc"]), c["datasets"]["irmas"].update(root=".", train=".",
                                                                                      test=["Part9"])),
        "datasets.irmas.test: ./Part9 (from"),
    "esc10_mix unknown loudness measure": (
        lambda c: c["datasets"]["esc10_mix"].update(loudness="peak"),
        "datasets.esc10_mix.loudness: 'peak' is not one of"),
}


@pytest.mark.parametrize("mutate, expected", CASES.values(), ids=CASES.keys())
def test_bad_value_is_named_with_its_key_and_fix(config, mutate, expected):
    mutate(config)
    problems = problems_of(config)
    assert len(problems) == 1, problems  # the one problem, not follow-on noise
    assert problems[0].startswith(expected), problems[0]


def test_every_problem_is_reported_at_once(config):
    config["codecs"]["opus"]["bitrates_kbps"].append(-6)
    config["codecs"]["opus"]["sample_rate"] = 44100
    config["evaluation"]["models"].append("wav2vec")
    assert [p.split(":")[0] for p in problems_of(config)] == [
        "evaluation.models lists 'wav2vec', which has no entry under models", "codecs.opus.bitrates_kbps",
        "codecs.opus.sample_rate"]


def test_missing_weight_files_are_named_at_validation(config, tmp_path):
    config["models"]["efficientat_mn04"].update(weights="models/mn04.pt", labels="models/labels.csv")
    config["codecs"]["encodec24"]["weights"] = str(tmp_path / "encodec_24khz.th")
    problems = problems_of(config)
    assert len(problems) == 3, problems
    efficientat, labels, encodec = problems
    assert efficientat.startswith(f"models.efficientat_mn04.weights: models/mn04.pt (from {tmp_path}: "
                                  f"{tmp_path / 'models' / 'mn04.pt'}) does not exist; set it to a local "
                                  "mn04_as_mAP_432.pt or to null to download the official release")
    assert MN04_WEIGHTS.url in efficientat
    assert labels.startswith("models.efficientat_mn04.labels: models/labels.csv") and "or to null" in labels
    assert encodec.startswith(f"codecs.encodec24.weights: {tmp_path / 'encodec_24khz.th'} does not exist; set "
                              "it to a local encodec_24khz-d7cc33bc.th")
    assert ENCODEC_MODELS["encodec24"].url in encodec


def test_beats_without_weights_is_refused_when_used(config):
    """BEATs has no checksum-pinned download: weights: null is fine while BEATs is not run (the default
    config), and an error naming the key and the official source once it is."""
    assert config["models"]["beats"]["weights"] is None and problems_of(config) == []
    use_models(config, "beats")
    (problem,) = problems_of(config)
    assert problem.startswith("models.beats.weights: is null and BEATs has no checksum-pinned download; "
                              "download an official checkpoint")
    assert "https://github.com/microsoft/unilm/tree/master/beats and set models.beats.weights to its path" in problem


def test_ast_local_directory_that_is_not_there(config):
    use_models(config, "ast")
    config["models"]["ast"]["weights"] = "./checkpoints/ast"
    (problem,) = problems_of(config)
    assert problem.startswith("models.ast.weights: ./checkpoints/ast (from ") and "does not exist" in problem
    assert "set models.ast.weights to a local directory written by save_pretrained" in problem


def test_unused_entries_are_not_checked_for_weights(config):
    config["codecs"]["encodec48"]["weights"] = "nowhere/encodec_48khz.th"  # encodec48 is not evaluated
    assert problems_of(config) == []


def test_weights_beside_init_random_are_refused(config):
    """init: random reads no checkpoint: naming one too is a contradiction, not a silent choice."""
    config["models"]["efficientat_mn04"].update(init="random", weights="mn04.pt")
    config["codecs"]["encodec24"].update(init="random", weights="encodec.th")
    assert problems_of(config) == [
        "models.efficientat_mn04.weights is set, but init is random (no checkpoint is read): remove weights or init",
        "codecs.encodec24.weights is set, but init is random (no checkpoint is read): remove weights or init",
    ]


def _truncated_checkpoint(path, obj):
    torch.save(obj, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _load_efficientat(path, cache_dir):
    from acom.models.efficientat import load_mn04_state

    load_mn04_state(path, cache_dir=cache_dir, sha256=None)


def _load_encodec(path, cache_dir):
    from acom.codecs.encodec import load_encodec

    load_encodec("encodec24", weights=path, verify_checksum=False)


def _load_beats(path, cache_dir):
    build_model({"type": "beats", "weights": str(path), "device": "cpu"}, cache_dir=cache_dir, name="beats")


@pytest.mark.parametrize("load, filename, key", [
    (_load_efficientat, "mn04_as_mAP_432.pt", "models.efficientat_mn04.weights"),
    (_load_encodec, "encodec_24khz-d7cc33bc.th", "codecs.encodec24.weights"),
    (_load_beats, "BEATs_iter3_plus_AS2M.pt", "models.beats.weights"),
])
def test_truncated_checkpoint_is_named_as_corrupt(tmp_path, load, filename, key):
    path = _truncated_checkpoint(tmp_path / filename, {"cfg": {}, "model": {"w": torch.zeros(4096)}})
    with pytest.raises(ValueError) as err:
        load(path, tmp_path)
    message = str(err.value)
    assert message.startswith(f"{path} ({key}): corrupt or not a PyTorch checkpoint (")
    assert "truncated or interrupted download" in message and "Delete it and download" in message
    assert "weights_only" not in message  # torch's advice to unpickle untrusted code is not the fix


def test_empty_and_garbage_files_say_corrupt_too(tmp_path):
    from acom.checkpoints import read_state_dict

    for name, data in (("empty.pt", b""), ("garbage.pt", b"\x00not a torch file\xff" * 100)):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError, match=re.escape(f"{path} (models.x.weights): corrupt or not a PyTorch "
                                                       f"checkpoint ({len(data)} bytes; ")):
            read_state_dict(path, config_key="models.x.weights")


def test_truncated_safetensors_in_an_ast_directory(tmp_path):
    from transformers import ASTConfig, ASTFeatureExtractor, ASTModel

    directory = tmp_path / "ast"
    config = ASTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                       max_length=128)
    ASTModel(config).save_pretrained(directory)
    ASTFeatureExtractor(max_length=128).save_pretrained(directory)
    weights = directory / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ValueError) as err:
        build_model({"type": "ast", "weights": str(directory), "device": "cpu"}, cache_dir=tmp_path, name="ast")
    message = str(err.value)
    assert message.startswith(f"could not load AST from local directory {directory} (models.ast.weights): ")
    assert "missing, truncated or corrupt (save the directory again)" in message


def test_pretrained_weights_without_network_name_the_key(monkeypatch, tmp_path):
    """A null weights key downloads the official file; without a network that fails naming the URL
    and the key to point at a local copy instead (never random weights)."""
    from acom.models import efficientat

    url = "http://127.0.0.1:9/mn04_as_mAP_432.pt"
    monkeypatch.setattr(efficientat, "MN04_WEIGHTS", dataclasses.replace(efficientat.MN04_WEIGHTS, url=url))
    with pytest.raises(RuntimeError) as err:
        efficientat.load_mn04_state(None, cache_dir=tmp_path)
    message = str(err.value)
    assert message.startswith(f"could not download {url} to {tmp_path / 'mn04_as_mAP_432.pt'}: ")
    assert message.endswith("Without a network, set models.efficientat_mn04.weights to a local copy instead")
    assert list(tmp_path.iterdir()) == []
