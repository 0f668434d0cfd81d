"""Helpers the unit tests share: where the repository and the read-only ../shared material are,
assertions that several model tests make, and an IRMAS-format folder written on the spot."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_ESC50 = SHARED / "data" / "esc50-16k"
SHARED_MN04 = SHARED / "models" / "efficientat-mn04-as"


def require_shared() -> None:
    """Skip the calling test when ../shared (real ESC-50 clips and mn04 weights) is not beside the repo."""
    if not (SHARED_ESC50 / "meta" / "esc50.csv").is_file() or not (SHARED_MN04 / "mn04_as_mAP_432.pt").is_file():
        pytest.skip(f"needs the real ESC-50 clips and EfficientAT weights in {SHARED}; absent")


def assert_batch_equals_single_calls(model, clips, atol: float = 1e-4) -> None:
    """A batch through ``model.embed`` equals the clips sent one at a time (embeddings and, when the
    model has a head, probabilities)."""
    import numpy as np

    batched = model.embed(clips)
    singles = [model.embed(clips[i : i + 1]) for i in range(len(clips))]
    np.testing.assert_allclose(batched.embeddings, np.concatenate([s.embeddings for s in singles]), atol=atol)
    if batched.probabilities is not None:
        np.testing.assert_allclose(batched.probabilities, np.concatenate([s.probabilities for s in singles]),
                                   atol=atol)


def assert_audioset_outputs(model, out, *, n_clips: int, embedding_dim: int, labels) -> None:
    """A model with a 527-class AudioSet head: float32 embeddings and probabilities of the right
    shapes, probabilities strictly inside (0, 1) (sigmoid), and the expected label names."""
    import numpy as np

    assert model.sample_rate == 16000 and model.embedding_dim == embedding_dim
    assert out.embeddings.shape == (n_clips, embedding_dim) and out.embeddings.dtype == np.float32
    assert out.probabilities.shape == (n_clips, 527) and out.probabilities.dtype == np.float32
    assert ((out.probabilities > 0) & (out.probabilities < 1)).all()
    assert model.labels == labels


IRMAS_RATE = 44100


def write_irmas(root: Path, *, per_instrument: int = 2,
                test=(("song-1", 5.0, ["cel", "pia"]), ("song 2", 17.0, ["voi"])), nested: bool = False):
    """An IRMAS-format folder under ``root``: stereo 44.1 kHz 3 s training excerpts in the eleven
    instrument folders (named as the archive's), and test excerpts (name, seconds, instruments) with
    their label files. Instrument k sounds as a tone of 220 (k + 1) Hz in noise, so heads can learn
    it; a test excerpt is the sum of its instruments' tones. Returns (training folder, [test folder])."""
    import numpy as np
    import soundfile as sf

    from acom.data.irmas import IRMAS_INSTRUMENTS

    rng = np.random.default_rng(0)

    def excerpt(codes, seconds):
        t = np.arange(int(seconds * IRMAS_RATE)) / IRMAS_RATE
        tone = sum(np.sin(2 * np.pi * 220 * (IRMAS_INSTRUMENTS.index(c) + 1) * t + rng.uniform(0, 6)) for c in codes)
        wave = 0.2 * tone / len(codes) + rng.normal(0, 0.02, size=t.shape)
        return np.stack([wave, 0.8 * wave], axis=1)

    train = root / "IRMAS-TrainingData" / ("IRMAS-TrainingData" if nested else "")
    for code in IRMAS_INSTRUMENTS:
        for i in range(per_instrument):
            path = train / code / f"[{code}][cla]{i:04d}__{i + 1}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, excerpt([code], 3.0), IRMAS_RATE, subtype="PCM_16")
    part = root / "IRMAS-TestingData-Part1" / "Part1"
    part.mkdir(parents=True)
    for name, seconds, labels in test:
        sf.write(part / f"{name}.wav", excerpt(labels, seconds), IRMAS_RATE, subtype="PCM_16")
        (part / f"{name}.txt").write_text("".join(f"{code}\t\n" for code in labels))
    return root / "IRMAS-TrainingData", [root / "IRMAS-TestingData-Part1"]
