"""Frame-level (time-resolved) embeddings of every registered model: shapes and hops, batching,
time locality, the token order of the transformers, and (with ../shared) that mn04's frames are the
feature map its clip embedding averages."""

from __future__ import annotations

import dataclasses
import math

import librosa
import numpy as np
import pytest
import torch

from acom.models import build_model
from acom.models.base import FrameOutput, frames_covering
from acom.models.beats import BEATsConfig, BEATsModel, build_network
from acom.models.efficientat import EfficientATMN04, load_mn04_state
from tests.unit.models.helpers import TINY, TINY_CFG, randomise_embeddings, tiny_network

MODELS = ("mfcc", "efficientat_mn04", "ast", "beats")
#: hop (s), frame_dim, frames for a 10 s clip, frames for a 5 s clip, at the default configs (tiny
#: transformers: 32 dims). MFCC: 1 + samples // 256 centred frames, ceil(duration / hop) kept.
#: mn04: ceil(mel frames / 32). AST (max_length 1024 = 101 time patches): ceil(duration / 0.1).
#: BEATs: floor(fbank frames / 16) = 62 and 31, one short of ceil(duration / 0.16) = 63 and 32.
EXPECTED = {
    "mfcc": (256 / 16000, 80, 625, 313),
    "efficientat_mn04": (0.32, 384, 32, 16),
    "ast": (0.1, 32, 100, 50),
    "beats": (0.16, 32, 62, 31),
}


def tiny_ast(tmp_path, *, layers: int = 2, max_length: int = 1024):
    """Tiny random AST at ``max_length`` with random position embeddings (so token positions matter)."""
    model = build_model({"type": "ast", "init": "random", "max_length": max_length, "device": "cpu",
                         "batch_size": 2, "config_overrides": {**TINY, "num_hidden_layers": layers}},
                        cache_dir=tmp_path)
    randomise_embeddings(model.model)
    return model


def tiny_beats(*, layers: int | None = None) -> BEATsModel:
    """Tiny random BEATs (``clip_seconds`` 1 s, which frame embeddings must ignore); ``layers=0``
    gives a network without transformer layers (tokens stay local up to the positional convolution)."""
    if layers is None:
        _, network = tiny_network(False, seed=0)
    else:
        cfg = {**TINY_CFG, "encoder_layers": layers, "deep_norm": False, "relative_position_embedding": False,
               "gru_rel_pos": False}
        network = build_network(BEATsConfig.from_mapping(cfg), None, seed=0)
    return BEATsModel(network, device="cpu", batch_size=2, clip_seconds=1.0)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("frames")
    return {
        "mfcc": build_model({"type": "mfcc", "sample_rate": 16000}, cache_dir=tmp),
        "efficientat_mn04": build_model({"type": "efficientat_mn04", "init": "random", "device": "cpu",
                                         "batch_size": 2}, cache_dir=tmp),
        "ast": tiny_ast(tmp),
        "beats": tiny_beats(),
    }


def noise(seconds: float, sample_rate: int, *, n: int = 1, level: float = 0.1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (level * rng.standard_normal((n, round(seconds * sample_rate)))).astype(np.float32)


def onset_pair(sample_rate: int, *, floor: float) -> np.ndarray:
    """Two 10 s clips: a background (white noise at ``floor``, or digital silence for 0) and the same
    background plus loud noise from 5 s on."""
    background = noise(10, sample_rate, level=floor, seed=1)[0] if floor else np.zeros(10 * sample_rate, np.float32)
    burst = background.copy()
    burst[5 * sample_rate :] += noise(5, sample_rate, level=0.3, seed=2)[0]
    return np.stack([background, burst])


def assert_local(model, *, floor: float, spill: int, tol: float) -> None:
    """Adding a loud sound from 5 s on leaves the frames before ``onset - spill`` unchanged (to ``tol``,
    relative to a typical frame) and changes every frame from ``onset`` on, where ``onset`` is the
    frame whose nominal span contains 5 s."""
    out = model.frame_embed(onset_pair(model.sample_rate, floor=floor))
    quiet, loud = out.embeddings
    change = np.linalg.norm(loud - quiet, axis=1) / np.median(np.linalg.norm(quiet, axis=1))
    onset = math.floor(5.0 / out.hop_seconds)
    assert change[: onset - spill].max() <= tol, change[: onset - spill]
    assert change[onset:].min() > 0.3, change[onset:]


def test_frames_covering():
    assert frames_covering(160000, 16000, 0.1) == 100
    assert frames_covering(160001, 16000, 0.1) == 101
    assert frames_covering(80000, 16000, 0.16) == 32
    assert frames_covering(320000, 32000, 0.32) == 32
    assert frames_covering(0, 16000, 0.1) == 0


@pytest.mark.parametrize("name", MODELS)
def test_shapes_and_hops_for_10_and_5_second_clips(models, name):
    model = models[name]
    hop, dim, frames_10s, frames_5s = EXPECTED[name]
    assert model.frame_dim == dim and model.hop_seconds == pytest.approx(hop)
    for seconds, frames in ((10, frames_10s), (5, frames_5s)):
        out = model.frame_embed(noise(seconds, model.sample_rate, n=2))
        assert isinstance(out, FrameOutput) and out.hop_seconds == pytest.approx(hop)
        assert out.embeddings.shape == (2, frames, dim) and out.embeddings.dtype == np.float32
        assert np.isfinite(out.embeddings).all()
        assert frames <= frames_covering(seconds * model.sample_rate, model.sample_rate, hop) <= frames + 1
    empty = model.frame_embed(np.zeros((0, 5 * model.sample_rate), np.float32))
    assert empty.embeddings.shape == (0, 0, dim)
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.hop_seconds = 1.0


@pytest.mark.parametrize("name", MODELS)
def test_batch_equals_single_clips(models, name):
    model = models[name]
    clips = noise(3, model.sample_rate, n=3, seed=4)  # batch_size 2: chunks of 2 + 1
    batched = model.frame_embed(clips).embeddings
    singles = np.concatenate([model.frame_embed(clips[i : i + 1]).embeddings for i in range(len(clips))])
    np.testing.assert_allclose(batched, singles, atol=1e-4)


def test_mfcc_frames_are_librosa_mfcc_and_delta(models):
    model = models["mfcc"]
    clip = noise(2, 16000, seed=5)
    frames = model.frame_embed(clip).embeddings[0]
    mfcc = librosa.feature.mfcc(y=clip[0], sr=16000, n_mfcc=40, n_mels=128, n_fft=1024, hop_length=256)
    delta = librosa.feature.delta(mfcc, width=9)
    assert frames.shape == (125, 80) and mfcc.shape[1] == 126  # the centred frame at the clip's end is dropped
    np.testing.assert_allclose(frames[:, :40], mfcc.T[:125], rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(frames[:, 40:], delta.T[:125], rtol=1e-5, atol=1e-3)
    stats = model.embed(clip).embeddings[0]
    np.testing.assert_allclose(stats[:40], mfcc.mean(1), rtol=1e-5, atol=1e-3)


def test_mfcc_frames_are_local(models):
    # Frame t spans samples t * 256 +- 512 and its delta frames t +- 4: 6 frames of spill. A noise
    # floor, not digital silence, and not too far below the burst: librosa clips the log-mel at 80 dB
    # below the clip's loudest value (top_db), so the quietest bins depend on the whole clip.
    assert_local(models["mfcc"], floor=1e-2, spill=6, tol=1e-6)


def test_mn04_frames_are_local_and_hop_matches_the_feature_map(models):
    model = models["efficientat_mn04"]
    assert model.model.time_stride == 32 and model.front_end.hop_length == 320
    with torch.inference_mode():
        for mel_frames in (1, 31, 32, 33, 500, 1000):
            fmap = model.model.feature_map(torch.zeros(1, 1, 128, mel_frames))
            assert fmap.shape == (1, 384, 4, math.ceil(mel_frames / 32))
    # Receptive-field spill of one frame; random init leaves the squeeze-excitation gates near 0.5, so
    # the clip-wide averages they see hardly reach frames before the onset.
    assert_local(model, floor=1e-3, spill=1, tol=0.05)


def test_ast_tokens_are_frequency_major(tmp_path):
    model = tiny_ast(tmp_path)
    clip = noise(10, 16000, seed=6)
    features = model.features(clip)
    with torch.inference_mode():
        hidden = model.base(features).last_hidden_state[0].numpy()
    freq, time = 12, 101  # (128 - 16) // 10 + 1 and (1024 - 16) // 10 + 1
    assert hidden.shape[0] == 2 + freq * time
    expected = np.stack([np.mean([hidden[2 + f * time + t] for f in range(freq)], axis=0) for t in range(100)])
    np.testing.assert_allclose(model.frame_embed(clip).embeddings[0], expected, atol=1e-5)


def test_ast_patch_tokens_map_to_their_time(tmp_path):
    # Without transformer layers each token is its patch + position embedding: a loud second half
    # changes the time patches from the onset on (patch 49 spans fbank frames 490-505, the first
    # touching 5 s) and nothing before.
    assert_local(tiny_ast(tmp_path, layers=0), floor=0.0, spill=1, tol=1e-5)


def test_ast_frames_stop_at_max_length(tmp_path):
    out = tiny_ast(tmp_path, max_length=512).frame_embed(noise(10, 16000))  # 5.12 s input: 50 time patches
    assert out.embeddings.shape == (1, 50, 32)


def test_beats_tokens_are_time_major():
    model = tiny_beats()
    clip = noise(10, 16000, seed=7)
    with torch.inference_mode():
        tokens = model.tokens_batch(torch.from_numpy(clip))[0][0].numpy()
    assert tokens.shape[0] == 62 * 8
    expected = np.stack([np.mean([tokens[t * 8 + f] for f in range(8)], axis=0) for t in range(62)])
    np.testing.assert_allclose(model.frame_embed(clip).embeddings[0], expected, atol=1e-5)
    one_second = noise(1, 16000, n=2, seed=8)  # the clip embedding's length: 6 whole patches, no padding
    np.testing.assert_allclose(model.frame_embed(one_second).embeddings.mean(1), model.embed(one_second).embeddings,
                               atol=1e-5)


def test_beats_patch_tokens_map_to_their_time():
    # Without transformer layers only the positional convolution (16 tokens = 2 time patches) mixes
    # tokens: one frame of spill before the onset.
    assert_local(tiny_beats(layers=0), floor=0.0, spill=1, tol=1e-5)


def test_mn04_frames_average_to_the_clip_embedding(shared_mn04):
    model = EfficientATMN04(load_mn04_state(shared_mn04 / "mn04_as_mAP_432.pt", cache_dir=shared_mn04), batch_size=2)
    clips = np.concatenate([noise(5, 32000, n=2, seed=9), onset_pair(32000, floor=1e-3)[:, : 5 * 32000]])
    with torch.inference_mode():
        frames = model.frame_batch(torch.from_numpy(clips))
    assert frames.shape == (4, 16, 384)
    np.testing.assert_allclose(frames.mean(1).numpy(), model.embed(clips).embeddings, atol=1e-5)
    np.testing.assert_allclose(model.frame_embed(clips).embeddings, frames.numpy(), atol=1e-5)
    # Real weights: frames after a loud onset stand apart from the frames before it.
    loud = model.frame_embed(onset_pair(32000, floor=1e-3)[1:]).embeddings[0]
    before, after = loud[1:14], loud[16:]
    centre = before.mean(0)
    spread = np.median(np.linalg.norm(before - centre, axis=1))
    assert np.median(np.linalg.norm(after - centre, axis=1)) > 3 * spread
