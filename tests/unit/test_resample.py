"""Resampling against an independent resampler (scipy's polyphase filter) and per-fold output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from acom.resample import ClipResampler, resample_fold


def _snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return 10 * np.log10(np.sum(reference**2) / np.sum((reference - estimate) ** 2))


@pytest.mark.parametrize("source, target, up, down", [(44100, 16000, 160, 441), (16000, 32000, 2, 1),
                                                       (44100, 32000, 320, 441)])
def test_matches_independent_resampler(source, target, up, down):
    t = np.arange(source) / source  # 1 s
    x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)
    ours = ClipResampler(target)(x, source)
    theirs = resample_poly(x.astype(np.float64), up, down)
    assert ours.shape == (target,) == theirs.shape
    core = slice(target // 10, -target // 10)  # edges differ by each filter's padding
    assert _snr_db(theirs[core], ours[core]) > 50
    # And the tone is where it should be: exact samples of the ideal signal at the new rate.
    t_new = np.arange(target) / target
    ideal = 0.3 * np.sin(2 * np.pi * 440 * t_new) + 0.2 * np.sin(2 * np.pi * 3000 * t_new)
    assert _snr_db(ideal[core], ours[core]) > 50


def test_same_rate_passes_through_untouched():
    x = np.random.default_rng(0).uniform(-1, 1, 1000).astype(np.float32)
    np.testing.assert_array_equal(ClipResampler(16000)(x, 16000), x)


def test_resample_fold_writes_playable_flac_per_clip(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for i, fold in enumerate([1, 1, 2]):
        path = tmp_path / "src" / f"{fold}-{i}-A-0.wav"
        path.parent.mkdir(exist_ok=True)
        sf.write(str(path), (0.1 * rng.standard_normal(44100)).astype(np.float32), 44100)
        rows.append({"clip_id": path.stem, "fold": fold, "target": 0, "category": "noise",
                     "source_path": str(path), "sample_rate": 44100, "frames": 44100})
    out = resample_fold(pd.DataFrame(rows), 1, 16000, tmp_path / "out")
    assert out["clip_id"].tolist() == ["1-0-A-0", "1-1-A-0"]  # fold 1 only, sorted
    for rec in out.itertuples():
        info = sf.info(rec.path)
        assert (info.format, info.subtype, info.samplerate, info.frames) == ("FLAC", "PCM_16", 16000, 16000)
        assert rec.frames == 16000
    assert not list((tmp_path / "out").glob("*.part"))  # no temporary files left behind


@pytest.mark.parametrize("source, target", [(16000, 32000), (16000, 24000), (8000, 16000), (12000, 48000)])
def test_whole_multiple_upsampling_equals_torchaudios_resample(source, target):
    """The matrix-product path for whole-multiple rates gives torchaudio's Resample output (what every
    other ratio still calls), for one clip and for a batch."""
    import torch
    import torchaudio

    x = np.random.default_rng(source + target).standard_normal((3, source)).astype(np.float32)
    reference = torchaudio.transforms.Resample(source, target)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ClipResampler(target)(x, source), reference, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ClipResampler(target)(x[1], source), reference[1], rtol=0, atol=1e-6)


def test_a_16_bit_flac_at_the_target_rate_is_copied_with_its_samples(tmp_path):
    rng = np.random.default_rng(1)
    samples = (0.2 * rng.standard_normal(16000)).astype(np.float32)
    flac, wav = tmp_path / "1-1-A-0.flac", tmp_path / "1-2-A-0.wav"
    sf.write(str(flac), samples, 16000, subtype="PCM_16")
    sf.write(str(wav), samples, 16000, subtype="PCM_16")
    rows = [{"clip_id": p.stem, "fold": 1, "target": 0, "category": "noise", "source_path": str(p),
             "sample_rate": 16000, "frames": 16000} for p in (flac, wav)]
    out = resample_fold(pd.DataFrame(rows), 1, 16000, tmp_path / "out").set_index("clip_id")
    assert (tmp_path / "out" / "1-1-A-0.flac").read_bytes() == flac.read_bytes()  # copied
    for clip_id, source in (("1-1-A-0", flac), ("1-2-A-0", wav)):  # copied, or decoded and written
        np.testing.assert_array_equal(sf.read(out.loc[clip_id, "path"])[0], sf.read(str(source))[0])
        assert out.loc[clip_id, "frames"] == 16000
