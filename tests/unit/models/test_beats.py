"""BEATs through the registry: tiny random checkpoints saved like the official files
(torch.save({'cfg', 'model'[, 'label_dict']})) and loaded through build_model; key layout, shapes,
batching, padding/cropping, labels and the errors for missing or corrupt checkpoints."""

from __future__ import annotations

import csv
import re
from dataclasses import asdict

import numpy as np
import pytest
import torch

from acom.audioset import LABELS_URL as AUDIOSET_LABELS_URL
from acom.models import build_model, model_downloads, model_sample_rate
from acom.models.beats import (
    MIN_SAMPLES,
    SOURCE_URL,
    BEATs,
    BEATsConfig,
    build_network,
    fbank_features,
    head_labels,
    read_checkpoint,
)
from tests.helpers import assert_audioset_outputs, assert_batch_equals_single_calls
from tests.unit.models.helpers import TINY_CFG, tiny_network

SR = 16000
# Official cfg keys, training-only ones included (the loader must accept and ignore them).
MIDS = [f"/m/{i:05d}" for i in range(527)]
NAMES = [f"sound {i}" for i in range(527)]
KEY = "models.beats_iter3"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Official-layout checkpoints with and without a 527-class head, and an AudioSet label CSV."""
    root = tmp_path_factory.mktemp("beats")
    cfg, network = tiny_network(False, seed=0)
    torch.save({"cfg": cfg, "model": network.state_dict()}, root / "BEATs_tiny.pt")
    cfg, network = tiny_network(True, seed=1)
    torch.save({"cfg": cfg, "model": network.state_dict(), "label_dict": dict(enumerate(MIDS))},
               root / "BEATs_tiny_finetuned.pt")
    labels = root / "class_labels_indices.csv"
    with open(labels, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["index", "mid", "display_name"])
        writer.writerows([i, mid, name] for i, (mid, name) in enumerate(zip(MIDS, NAMES, strict=True)))
    return {"plain": root / "BEATs_tiny.pt", "head": root / "BEATs_tiny_finetuned.pt", "labels": labels,
            "root": root}


def params(files, kind: str, **extra) -> dict:
    return {"type": "beats", "weights": str(files[kind]), "labels": str(files["labels"]), "clip_seconds": 1.0,
            "device": "cpu", **extra}


@pytest.fixture(scope="module")
def head_model(files):
    return build_model(params(files, "head", batch_size=3), cache_dir=files["root"], name="beats_iter3")


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal((4, SR))).astype(np.float32)


def test_registry_entry(tmp_path):
    assert model_sample_rate({"type": "beats"}) == 16000
    sources = model_downloads({"type": "beats", "weights": "x.pt"})
    assert list(sources) == ["labels"] and sources["labels"].url == AUDIOSET_LABELS_URL
    assert model_downloads({"type": "beats", "weights": "x.pt", "labels": "l.csv"}) == {}
    assert model_downloads({"type": "beats", "init": "random"}) == {}


def test_state_dict_keys_follow_the_official_names():
    keys = set(BEATs(BEATsConfig.from_mapping({**TINY_CFG, "finetuned_model": True})).state_dict())
    per_layer = {f"encoder.layers.{i}.{name}" for i in range(2) for name in (
        "self_attn.k_proj.weight", "self_attn.k_proj.bias", "self_attn.v_proj.weight", "self_attn.v_proj.bias",
        "self_attn.q_proj.weight", "self_attn.q_proj.bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
        "self_attn.relative_attention_bias.weight", "self_attn.grep_linear.weight", "self_attn.grep_linear.bias",
        "self_attn.grep_a", "self_attn_layer_norm.weight", "self_attn_layer_norm.bias", "fc1.weight", "fc1.bias",
        "fc2.weight", "fc2.bias", "final_layer_norm.weight", "final_layer_norm.bias")}
    top = {"post_extract_proj.weight", "post_extract_proj.bias", "patch_embedding.weight", "layer_norm.weight",
           "layer_norm.bias", "predictor.weight", "predictor.bias", "encoder.pos_conv.0.weight_g",
           "encoder.pos_conv.0.weight_v", "encoder.pos_conv.0.bias", "encoder.layer_norm.weight",
           "encoder.layer_norm.bias"}
    assert keys == per_layer | top


def test_finetuned_checkpoint_shapes_labels_and_metadata(head_model, files, clips):
    out = head_model.embed(clips)
    assert_audioset_outputs(head_model, out, n_clips=4, embedding_dim=32, labels=NAMES)
    meta = head_model.metadata
    assert meta["weights"] == "BEATs_tiny_finetuned.pt" and len(meta["weights_sha256"]) == 64
    assert meta["clip_seconds"] == 1.0 and meta["autocast"] == "none" and meta["init"] == "pretrained"
    # The numbers are the saved network's: mean over tokens of the last layer, sigmoid of the head.
    cfg, state, _ = read_checkpoint(files["head"], config_key=KEY)
    with torch.inference_mode():
        tokens, logits = build_network(cfg, state)(fbank_features(torch.from_numpy(clips)))
    np.testing.assert_allclose(out.embeddings, tokens.mean(1).numpy(), atol=1e-5)
    np.testing.assert_allclose(out.probabilities, torch.sigmoid(logits).numpy(), atol=1e-6)


def test_pretrained_checkpoint_has_no_head_and_needs_no_labels(files, clips, tmp_path):
    model = build_model({**params(files, "plain"), "labels": None}, cache_dir=tmp_path, name="beats_iter3")
    out = model.embed(clips)
    assert out.embeddings.shape == (4, 32) and out.probabilities is None and model.labels is None
    assert not any(tmp_path.iterdir()), "a checkpoint without a head must not fetch the label file"


def test_batch_of_four_equals_single_calls(head_model, clips):
    assert head_model.embed(clips).probabilities is not None
    assert_batch_equals_single_calls(head_model, clips)  # batch_size 3: two chunks


def test_short_clip_is_zero_padded_and_long_clip_cropped(head_model, clips):
    short = clips[:, : int(0.6 * SR)]
    padded = np.pad(short, ((0, 0), (0, SR - short.shape[1])))
    np.testing.assert_array_equal(head_model.embed(short).embeddings, head_model.embed(padded).embeddings)
    rng = np.random.default_rng(2)
    longer = np.concatenate([clips, (0.1 * rng.standard_normal((4, SR // 2))).astype(np.float32)], axis=1)
    long_out, full_out = head_model.embed(longer), head_model.embed(clips)
    np.testing.assert_array_equal(long_out.embeddings, full_out.embeddings)
    np.testing.assert_array_equal(long_out.probabilities, full_out.probabilities)
    # Padding does change the result (the model hears the silence): the rule is not a no-op.
    assert not np.allclose(head_model.embed(short[:, : SR // 2]).embeddings, head_model.embed(short).embeddings)


def test_variable_length_without_clip_seconds(files, clips):
    model = build_model(params(files, "plain", clip_seconds=None), cache_dir=files["root"])
    assert model.metadata["clip_seconds"] == "variable"
    assert model.embed(clips[:, : SR // 2]).embeddings.shape == (4, 32)
    with pytest.raises(ValueError, match=str(MIN_SAMPLES)):
        model.embed(clips[:, : MIN_SAMPLES - 1])
    with pytest.raises(ValueError, match="clip_seconds"):
        build_model(params(files, "plain", clip_seconds=0.1), cache_dir=files["root"])


def test_parametrized_weight_norm_keys_load_too(files, tmp_path, clips):
    checkpoint = torch.load(files["plain"], weights_only=True)
    model = checkpoint["model"]
    model["encoder.pos_conv.0.parametrizations.weight.original0"] = model.pop("encoder.pos_conv.0.weight_g")
    model["encoder.pos_conv.0.parametrizations.weight.original1"] = model.pop("encoder.pos_conv.0.weight_v")
    torch.save(checkpoint, tmp_path / "renamed.pt")
    a = build_model({**params(files, "plain"), "weights": str(tmp_path / "renamed.pt")}, cache_dir=tmp_path)
    b = build_model(params(files, "plain"), cache_dir=tmp_path)
    np.testing.assert_array_equal(a.embed(clips[:1]).embeddings, b.embed(clips[:1]).embeddings)


def test_labels_map_through_the_checkpoint_mids():
    audioset = list(zip(MIDS, NAMES, strict=True))
    reversed_dict = {i: MIDS[526 - i] for i in range(527)}
    assert head_labels(527, reversed_dict, audioset) == NAMES[::-1]
    assert head_labels(527, None, audioset) == NAMES
    assert head_labels(3, None, audioset) is None
    assert head_labels(2, {0: "/m/x", 1: MIDS[0]}, audioset) == ["/m/x", NAMES[0]]


# ------------------------------------------------------------------------------------------------
# Missing or unusable checkpoints
# ------------------------------------------------------------------------------------------------


def build(files, tmp_path, **extra):
    return build_model({**params(files, "plain"), **extra}, cache_dir=tmp_path, name="beats_iter3")


def assert_names_key_and_source(message: str) -> None:
    assert f"{KEY}.weights" in message and SOURCE_URL in message


def test_unset_weights_name_key_and_source(files, tmp_path):
    with pytest.raises(ValueError) as info:
        build(files, tmp_path, weights=None)
    assert_names_key_and_source(str(info.value))


def test_missing_file_names_key_and_source(files, tmp_path):
    missing = tmp_path / "BEATs_iter3_plus_AS2M.pt"
    with pytest.raises(FileNotFoundError) as info:
        build(files, tmp_path, weights=str(missing))
    assert_names_key_and_source(str(info.value))
    assert str(missing) in str(info.value)


def test_corrupt_file_names_key_and_source(files, tmp_path):
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"\x00not a torch file\xff" * 100)
    with pytest.raises(ValueError, match=re.escape(str(bad))) as info:
        build(files, tmp_path, weights=str(bad))
    assert_names_key_and_source(str(info.value))


def test_plain_state_dict_is_not_an_official_checkpoint(files, tmp_path):
    path = tmp_path / "state_dict_only.pt"
    torch.save(torch.load(files["plain"], weights_only=True)["model"], path)
    with pytest.raises(ValueError, match="'cfg'") as info:
        build(files, tmp_path, weights=str(path))
    assert_names_key_and_source(str(info.value))


@pytest.mark.parametrize("change", ["missing", "unexpected", "shape"])
def test_state_dict_not_matching_cfg_is_an_error(files, tmp_path, change):
    checkpoint = torch.load(files["plain"], weights_only=True)
    model = checkpoint["model"]
    if change == "missing":
        del model["encoder.layers.1.fc2.weight"]
    elif change == "unexpected":
        model["predictor.weight"] = torch.zeros(527, 32)
    else:
        model["encoder.layers.0.fc1.weight"] = torch.zeros(65, 32)
    path = tmp_path / f"{change}.pt"
    torch.save(checkpoint, path)
    with pytest.raises(ValueError, match=rf"{re.escape(KEY)}\.weights.*strict"):
        build(files, tmp_path, weights=str(path))


def test_wrong_sha256_is_an_error(files, tmp_path):
    with pytest.raises(ValueError, match="sha256"):
        build(files, tmp_path, sha256="0" * 64)


def test_random_init_is_explicit_seeded_and_restores_rng(clips, tmp_path):
    overrides = {k: v for k, v in TINY_CFG.items() if k in asdict(BEATsConfig())}
    base = {"type": "beats", "init": "random", "config_overrides": overrides, "clip_seconds": 1.0, "device": "cpu"}
    before = torch.random.get_rng_state()
    a = build_model({**base, "seed": 3}, cache_dir=tmp_path).embed(clips[:2])
    b = build_model({**base, "seed": 3}, cache_dir=tmp_path).embed(clips[:2])
    c = build_model({**base, "seed": 4}, cache_dir=tmp_path).embed(clips[:2])
    assert torch.equal(before, torch.random.get_rng_state())
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    assert not np.allclose(a.embeddings, c.embeddings) and a.probabilities is None
    with pytest.raises(ValueError, match="config_overrides"):
        build_model({"type": "beats", "weights": "x.pt", "config_overrides": overrides}, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="autocast"):
        build_model({**base, "autocast": "fp8"}, cache_dir=tmp_path)
    with pytest.raises(ValueError, match=r"unknown BEATs cfg keys \['encoder_layer'\]"):
        build_model({**base, "config_overrides": {"encoder_layer": 1}}, cache_dir=tmp_path)
