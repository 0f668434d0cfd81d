"""The MFCC baseline: statistics that match librosa computed independently, and that separate sounds."""

from __future__ import annotations

import librosa
import numpy as np

from acom.models import build_model


def test_mfcc_stats_equal_librosa_directly(tmp_path):
    model = build_model({"type": "mfcc", "sample_rate": 16000, "n_mfcc": 20}, cache_dir=tmp_path)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 16000)).astype(np.float32) * 0.1
    out = model.embed(x)
    assert out.embeddings.shape == (2, 80) and model.embedding_dim == 80 and out.probabilities is None
    mfcc = librosa.feature.mfcc(y=x[1], sr=16000, n_mfcc=20, n_mels=128, n_fft=1024, hop_length=256)
    np.testing.assert_allclose(out.embeddings[1, :20], mfcc.mean(1), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(out.embeddings[1, 20:40], mfcc.std(1), rtol=1e-4, atol=1e-3)


def test_mfcc_separates_a_tone_from_noise(tmp_path):
    model = build_model({"type": "mfcc", "sample_rate": 16000}, cache_dir=tmp_path)
    t = np.arange(16000) / 16000
    rng = np.random.default_rng(1)
    tones = [np.sin(2 * np.pi * f * t) * 0.3 for f in (400, 420)]
    noises = [rng.standard_normal(16000) * 0.1 for _ in range(2)]
    e = model.embed(np.stack(tones + noises).astype(np.float32)).embeddings
    within = max(np.linalg.norm(e[0] - e[1]), np.linalg.norm(e[2] - e[3]))
    between = min(np.linalg.norm(e[i] - e[j]) for i in (0, 1) for j in (2, 3))
    assert between > 3 * within


def test_very_short_clip_still_embeds(tmp_path):
    model = build_model({"type": "mfcc", "sample_rate": 16000}, cache_dir=tmp_path)
    out = model.embed(np.zeros((1, 600), dtype=np.float32) + 0.01)
    assert np.all(np.isfinite(out.embeddings))
