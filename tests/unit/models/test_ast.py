"""AST through the registry: tiny random checkpoints saved in the save_pretrained layout and loaded
through build_model (the real loading path); shapes, batching, padding/cropping, max_length, errors."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
import torch
import torchaudio.compliance.kaldi as ta_kaldi
from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification, ASTModel

from acom.models import build_model, is_local_source, model_downloads, model_sample_rate
from acom.models.ast import DEFAULT_HUB_ID, adapt_max_length
from tests.helpers import assert_audioset_outputs, assert_batch_equals_single_calls
from tests.unit.models.helpers import TINY, randomise_embeddings

SR = 16000
MAX_LENGTH = 128  # frames: 1.295 s of audio fills it exactly
FULL_SAMPLES = 400 + 160 * (MAX_LENGTH - 1)
NAMES = [f"sound {i}" for i in range(527)]


def tiny_config(**extra) -> ASTConfig:
    return ASTConfig(**TINY, max_length=MAX_LENGTH, num_labels=527, id2label=dict(enumerate(NAMES)),
                     label2id={n: i for i, n in enumerate(NAMES)}, **extra)


def save_checkpoint(model, directory) -> None:
    model.save_pretrained(directory)
    ASTFeatureExtractor(max_length=model.config.max_length).save_pretrained(directory)


@pytest.fixture(scope="module")
def ast_dir(tmp_path_factory):
    """A tiny AST with a 527-class head, saved like the hub checkpoint (incl. preprocessor_config.json)."""
    torch.manual_seed(0)
    model = ASTForAudioClassification(tiny_config()).eval()
    randomise_embeddings(model)
    directory = tmp_path_factory.mktemp("ast") / "tiny-ast"
    save_checkpoint(model, directory)
    return directory


@pytest.fixture(scope="module")
def ast_model(ast_dir):
    return build_model({"type": "ast", "weights": str(ast_dir), "max_length": MAX_LENGTH, "device": "cpu",
                        "batch_size": 3}, cache_dir=ast_dir.parent, name="ast_test")


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal((4, SR))).astype(np.float32)


def reference_features(wave: np.ndarray, n_frames: int) -> torch.Tensor:
    """The documented input rule, built independently: Kaldi fbank (Hann, 128 bins), zero rows
    appended (or rows dropped) to ``n_frames``, then (x + 4.2677393) / (2 * 4.5689974)."""
    fbank = ta_kaldi.fbank(torch.from_numpy(wave)[None], sample_frequency=SR, window_type="hanning",
                           num_mel_bins=128)[:n_frames]
    fbank = torch.nn.functional.pad(fbank, (0, 0, 0, n_frames - fbank.shape[0]))
    return ((fbank + 4.2677393) / (2 * 4.5689974))[None]


def test_registry_entry():
    assert model_sample_rate({"type": "ast"}) == 16000
    assert model_downloads({"type": "ast"}) == {}
    assert model_downloads({"type": "ast", "weights": "some/dir"}) == {}


def test_local_source_rule(tmp_path):
    assert not is_local_source(DEFAULT_HUB_ID)
    assert is_local_source(str(tmp_path)) and is_local_source("./models/ast") and is_local_source("a/b/c")


def test_loads_saved_checkpoint_with_labels_and_metadata(ast_model, ast_dir, clips):
    out = ast_model.embed(clips)
    assert_audioset_outputs(ast_model, out, n_clips=4, embedding_dim=32, labels=NAMES)
    assert ast_model.metadata["max_length"] == MAX_LENGTH and ast_model.metadata["trained_max_length"] == MAX_LENGTH
    assert ast_model.metadata["weights"] == str(ast_dir) and ast_model.metadata["autocast"] == "none"
    # Same numbers as the saved model called directly: pooled output and sigmoid(logits).
    reference = ASTForAudioClassification.from_pretrained(ast_dir).eval()
    with torch.inference_mode():
        features = torch.cat([reference_features(w, MAX_LENGTH) for w in clips])
        pooled = reference.audio_spectrogram_transformer(features).pooler_output
        probs = torch.sigmoid(reference(features).logits)
    np.testing.assert_allclose(out.embeddings, pooled.numpy(), atol=1e-4)
    np.testing.assert_allclose(out.probabilities, probs.numpy(), atol=1e-5)


def test_batch_of_four_equals_single_calls(ast_model, clips):
    assert ast_model.embed(clips).probabilities is not None
    assert_batch_equals_single_calls(ast_model, clips)  # batch_size 3: two chunks


def test_short_clip_is_padded_on_the_fbank_and_long_clip_cropped(ast_model, clips):
    short = clips[0, : SR // 2]
    with torch.inference_mode():
        expected, _ = ast_model.forward_batch(reference_features(short, MAX_LENGTH))
    np.testing.assert_allclose(ast_model.embed(short[None]).embeddings, expected.numpy(), atol=1e-4)
    # A clip longer than max_length frames gives what its first max_length frames give.
    rng = np.random.default_rng(1)
    head = (0.1 * rng.standard_normal(FULL_SAMPLES)).astype(np.float32)
    tails = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (SR, 2 * SR)]
    outs = [ast_model.embed(np.concatenate([head, tail])[None]).embeddings for tail in tails]
    np.testing.assert_allclose(outs[0], ast_model.embed(head[None]).embeddings, atol=1e-5)
    np.testing.assert_allclose(outs[1], outs[0], atol=1e-5)


def test_shorter_max_length_crops_position_embeddings(ast_dir, clips):
    model = build_model({"type": "ast", "weights": str(ast_dir), "max_length": 64, "device": "cpu"},
                        cache_dir=ast_dir.parent)
    trained = ASTForAudioClassification.from_pretrained(ast_dir)
    pos = trained.audio_spectrogram_transformer.embeddings.position_embeddings.detach()
    grid = pos[:, 2:].reshape(1, 12, 12, 32)  # 12 frequency x 12 time patches at 128 frames
    new = model.model.audio_spectrogram_transformer.embeddings.position_embeddings.detach()
    assert new.shape == (1, 2 + 12 * 5, 32)  # (64 - 16) // 10 + 1 = 5 time patches
    torch.testing.assert_close(new[:, :2], pos[:, :2])
    torch.testing.assert_close(new[:, 2:].reshape(1, 12, 5, 32), grid[:, :, 4:9])  # centre crop
    assert model.metadata["max_length"] == 64 and model.metadata["trained_max_length"] == MAX_LENGTH
    assert "cropped 12->5" in model.metadata["position_embeddings"]
    assert model.extractor.max_length == 64
    assert model.embed(clips[:2]).embeddings.shape == (2, 32)


def test_longer_max_length_interpolates():
    model = ASTModel(ASTConfig(**TINY, max_length=64))
    assert "interpolated 5->12" in adapt_max_length(model, 128)
    assert model.embeddings.position_embeddings.shape == (1, 2 + 12 * 12, 32)
    assert model(torch.zeros(1, 128, 128)).pooler_output.shape == (1, 32)


def test_headless_checkpoint_gives_no_probabilities(tmp_path, clips):
    torch.manual_seed(1)
    save_checkpoint(ASTModel(ASTConfig(**TINY, max_length=MAX_LENGTH)), tmp_path / "headless")
    model = build_model({"type": "ast", "weights": str(tmp_path / "headless"), "max_length": MAX_LENGTH,
                         "device": "cpu"}, cache_dir=tmp_path)
    out = model.embed(clips)
    assert out.embeddings.shape == (4, 32) and out.probabilities is None and model.labels is None


def test_missing_directory_names_key_and_source(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError) as info:
        build_model({"type": "ast", "weights": str(missing)}, cache_dir=tmp_path, name="ast_test")
    message = str(info.value)
    assert "models.ast_test.weights" in message and str(missing) in message
    assert f"https://huggingface.co/{DEFAULT_HUB_ID}" in message


def test_corrupt_weights_give_value_error(ast_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(ast_dir, broken)
    (broken / "model.safetensors").write_bytes(b"\x00not safetensors\xff" * 64)
    with pytest.raises(ValueError, match=re.escape("models.ast_test.weights")) as info:
        build_model({"type": "ast", "weights": str(broken)}, cache_dir=tmp_path, name="ast_test")
    assert str(broken) in str(info.value)


def test_missing_feature_extractor_config_gives_value_error(ast_dir, tmp_path):
    partial = tmp_path / "no-preprocessor"
    shutil.copytree(ast_dir, partial)
    (partial / "preprocessor_config.json").unlink()
    with pytest.raises(ValueError, match="models.ast_test.weights"):
        build_model({"type": "ast", "weights": str(partial)}, cache_dir=tmp_path, name="ast_test")


def test_weights_left_random_are_an_error(tmp_path):
    """A head-less save whose config claims a classifier: transformers would initialise the head
    at random and only warn; the loader refuses."""
    torch.manual_seed(2)
    directory = tmp_path / "claims-head"
    save_checkpoint(ASTModel(ASTConfig(**TINY, max_length=MAX_LENGTH)), directory)
    config = json.loads((directory / "config.json").read_text())
    config["architectures"] = ["ASTForAudioClassification"]
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"missing_keys.*classifier"):
        build_model({"type": "ast", "weights": str(directory)}, cache_dir=tmp_path, name="ast_test")


def test_unavailable_hub_id_offline_names_key_and_hub_id(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ValueError) as info:
        build_model({"type": "ast", "weights": "acom-tests/no-such-ast"}, cache_dir=tmp_path, name="ast_test")
    message = str(info.value)
    assert "models.ast_test.weights" in message and "'acom-tests/no-such-ast'" in message
    assert "https://huggingface.co/acom-tests/no-such-ast" in message and "HF_HUB_OFFLINE" in message


def test_random_init_is_explicit_seeded_and_restores_rng(clips, tmp_path):
    params = {"type": "ast", "init": "random", "max_length": MAX_LENGTH, "config_overrides": TINY, "seed": 3,
              "device": "cpu"}
    before = torch.random.get_rng_state()
    a = build_model(params, cache_dir=tmp_path).embed(clips[:2])
    b = build_model(params, cache_dir=tmp_path).embed(clips[:2])
    c = build_model({**params, "seed": 4}, cache_dir=tmp_path).embed(clips[:2])
    assert torch.equal(before, torch.random.get_rng_state())
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    assert not np.allclose(a.embeddings, c.embeddings)
    assert a.probabilities.shape == (2, 527)
    assert build_model({**params, "config_overrides": {**TINY, "num_labels": 10}},
                       cache_dir=tmp_path).embed(clips[:1]).probabilities.shape == (1, 10)
    with pytest.raises(ValueError, match="config_overrides"):
        build_model({"type": "ast", "config_overrides": TINY}, cache_dir=tmp_path)
    with pytest.raises(ValueError, match=r"models\.ast\.config_overrides: unknown ASTConfig keys \['hidden_sise'\]"):
        build_model({**params, "config_overrides": {"hidden_sise": 8}}, cache_dir=tmp_path)


def test_autocast_setting_is_validated_and_inactive_on_cpu(tmp_path):
    params = {"type": "ast", "init": "random", "max_length": MAX_LENGTH, "config_overrides": TINY, "device": "cpu"}
    assert build_model({**params, "autocast": "bf16"}, cache_dir=tmp_path).metadata["autocast"] == "none"
    with pytest.raises(ValueError, match="autocast"):
        build_model({**params, "autocast": "int8"}, cache_dir=tmp_path)
