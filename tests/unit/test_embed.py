"""The embedding stage: batches side by side give the same table, and clips at another rate are
resampled per batch exactly as clip by clip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from acom.embed import embed_clips, embedding_matrix, pool_factor, pool_frames, shifted_frame_embed
from acom.io import write_flac
from acom.models import build_model
from acom.models.mfcc import MFCCStats
from acom.resample import ClipResampler


def _clips(tmp_path, rate: int, n: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(rate)
    rows = []
    for i in range(n):
        path = tmp_path / f"1-{i}-A-0.flac"
        write_flac(path, 0.2 * rng.standard_normal(rate + (i % 2) * rate // 2), rate)  # two lengths
        rows.append({"clip_id": path.stem, "fold": 1, "target": i % 3, "category": f"c{i % 3}", "path": str(path)})
    return pd.DataFrame(rows)


def test_mfcc_batches_side_by_side_give_the_same_table(tmp_path):
    model = build_model({"type": "mfcc"}, cache_dir=tmp_path)
    clips = _clips(tmp_path, 16000)
    one = embed_clips(model, clips, batch_size=2)
    two = embed_clips(model, clips, batch_size=2, workers=2)
    pd.testing.assert_frame_equal(one, two)


def test_clips_at_another_rate_are_resampled_as_clip_by_clip(tmp_path):
    """A decode at 24 kHz embedded by a 16 kHz model: batch resampling equals resampling each clip."""
    model = build_model({"type": "mfcc"}, cache_dir=tmp_path)
    clips = _clips(tmp_path, 24000)
    table = embed_clips(model, clips, batch_size=3)
    import soundfile as sf

    resample = ClipResampler(16000)
    expected = np.stack([model.embed(resample(sf.read(p, dtype="float32")[0], 24000)[None]).embeddings[0]
                         for p in clips["path"]])
    np.testing.assert_allclose(embedding_matrix(table), expected, rtol=0, atol=1e-5)


def test_pooling_averages_groups_of_frames():
    frames = np.arange(14, dtype=np.float32).reshape(7, 2)  # rows (0,1), (2,3), ... (12,13)
    np.testing.assert_array_equal(pool_frames(frames, 3), [[2, 3], [8, 9], [12, 13]])
    assert pool_frames(frames, 1) is frames
    assert pool_factor(0.016, 0.064) == 4 and pool_factor(0.016, 0.07) == 5
    assert pool_factor(0.32, 0.064) == 1 and pool_factor(0.016, None) == 1


def test_shifted_frames_are_the_frames_of_a_shorter_hop():
    """Two passes, the second advanced by half a hop, interleave into the frames of half the hop:
    for MFCC (a local, centred STFT) the static coefficients of MFCC at hop 512 shifted twice equal
    those of MFCC at hop 256 away from the clip's edges (the deltas span other frames, so differ)."""

    rng = np.random.default_rng(0)
    waveforms = rng.standard_normal((2, 16000 * 3)).astype(np.float32)
    coarse, fine = MFCCStats(hop_length=512, n_mfcc=20), MFCCStats(hop_length=256, n_mfcc=20)
    shifted = shifted_frame_embed(coarse, 2)(waveforms)
    reference = fine.frame_embed(waveforms)
    assert shifted.hop_seconds == pytest.approx(256 / 16000)
    assert shifted.embeddings.shape == reference.embeddings.shape
    np.testing.assert_allclose(shifted.embeddings[:, 4:-4, :20], reference.embeddings[:, 4:-4, :20], rtol=1e-4, atol=1e-3)
    assert shifted_frame_embed(coarse, 1) == coarse.frame_embed
    with pytest.raises(ValueError, match=">= 1"):
        shifted_frame_embed(coarse, 0)
