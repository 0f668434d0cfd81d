"""EfficientAT mn04_as re-implementation: structure, weights loading, and parity with reference outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

from acom.audioset import read_labels as read_audioset_labels
from acom.models import MN04_WEIGHTS
from acom.models.base import ModelOutput
from acom.models.efficientat import (
    EMBEDDING_DIM,
    MN04,
    NUM_CLASSES,
    SAMPLE_RATE,
    WEIGHTS_CONFIG_KEY,
    EfficientATMN04,
    MelFrontEnd,
    load_mn04_state,
    make_divisible,
)
from tests.helpers import SHARED

MN04_SHA256, MN04_URL = MN04_WEIGHTS.sha256, MN04_WEIGHTS.url

MODEL_DIR = SHARED / "models" / "efficientat-mn04-as"
AUDIO_DIR = SHARED / "data" / "esc50-16k" / "audio"
WEIGHTS = MODEL_DIR / "mn04_as_mAP_432.pt"
REFERENCE = MODEL_DIR / "reference_outputs.json"
KEYS_FILE = MODEL_DIR / "state_dict_keys.txt"
LABELS_CSV = MODEL_DIR / "audioset_class_labels_indices.csv"

needs_shared = pytest.mark.skipif(
    not all(p.is_file() for p in (WEIGHTS, REFERENCE, KEYS_FILE, LABELS_CSV)) or not AUDIO_DIR.is_dir(),
    reason="needs ../shared (EfficientAT mn04 weights, reference outputs and ESC-50 clips); absent",
)


def parse_keys_file(path: Path) -> dict[str, tuple[int, ...]]:
    """``name (d0, d1, ...)`` lines -> {name: shape}; other lines (the count header) are ignored."""
    shapes: dict[str, tuple[int, ...]] = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"(\S+) \(([\d, ]*)\)", line.strip())
        if match:
            shapes[match.group(1)] = tuple(int(d) for d in match.group(2).replace(" ", "").split(",") if d)
    return shapes


# ------------------------------------------------------------------------------------------------
# Without ../shared
# ------------------------------------------------------------------------------------------------


def test_make_divisible_matches_mn04_channels():
    widths = (16, 64, 24, 72, 40, 120, 240, 200, 184, 480, 112, 672, 160, 960)
    assert [make_divisible(c * 0.4) for c in widths] == [8, 24, 16, 32, 16, 48, 96, 80, 72, 192, 48, 272, 64, 384]
    assert make_divisible(192 // 4) == 48 and make_divisible(48 // 4) == 16 and make_divisible(272 // 4) == 72


def test_front_end_shape_and_no_persistent_buffers():
    front_end = MelFrontEnd()
    assert dict(front_end.state_dict()) == {}
    mel = front_end(torch.zeros(2, 5 * SAMPLE_RATE))
    assert mel.shape == (2, 128, 500)
    assert torch.isfinite(mel).all()


def test_random_init_is_deterministic_and_shaped():
    rng = np.random.default_rng(0)
    waves = (0.1 * rng.standard_normal((3, SAMPLE_RATE))).astype(np.float32)
    before = torch.random.get_rng_state()
    out_a = EfficientATMN04(None, seed=3, batch_size=2).embed(waves)
    out_b = EfficientATMN04(None, seed=3).embed(waves)
    out_c = EfficientATMN04(None, seed=4).embed(waves)
    assert torch.equal(before, torch.random.get_rng_state()), "global RNG state must be restored"
    assert isinstance(out_a, ModelOutput)
    assert out_a.embeddings.shape == (3, EMBEDDING_DIM) and out_a.embeddings.dtype == np.float32
    assert out_a.probabilities.shape == (3, NUM_CLASSES) and out_a.probabilities.dtype == np.float32
    np.testing.assert_allclose(out_a.embeddings, out_b.embeddings, atol=1e-6)
    np.testing.assert_allclose(out_a.probabilities, out_b.probabilities, atol=1e-6)
    assert not np.allclose(out_a.embeddings, out_c.embeddings)


def test_wrapper_attributes_and_label_count():
    model = EfficientATMN04(None, labels=[f"c{i}" for i in range(NUM_CLASSES)])
    assert model.sample_rate == 32000 and model.embedding_dim == 384 and len(model.labels) == 527
    assert EfficientATMN04(None).labels is None
    with pytest.raises(ValueError, match="527"):
        EfficientATMN04(None, labels=["a", "b"])


def test_missing_weights_names_config_key(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(FileNotFoundError) as info:
        load_mn04_state(missing, cache_dir=tmp_path)
    message = str(info.value)
    assert WEIGHTS_CONFIG_KEY in message and str(missing) in message and MN04_URL in message


def test_corrupt_file_gives_value_error_naming_it(tmp_path):
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"\x00not a torch file\xff" * 100)
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        load_mn04_state(bad, cache_dir=tmp_path, sha256=None)


def test_non_state_dict_file_gives_value_error(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(ValueError, match=re.escape(str(path))):
        load_mn04_state(path, cache_dir=tmp_path, sha256=None)


def test_wrong_checksum_gives_value_error(tmp_path):
    path = tmp_path / "mn04_as_mAP_432.pt"
    torch.save(MN04().state_dict(), path)
    with pytest.raises(ValueError, match="sha256"):
        load_mn04_state(path, cache_dir=tmp_path)
    assert load_mn04_state(path, cache_dir=tmp_path, sha256=None).keys() == MN04().state_dict().keys()


# ------------------------------------------------------------------------------------------------
# With ../shared: the real weights and reference outputs
# ------------------------------------------------------------------------------------------------


@needs_shared
def test_state_dict_keys_and_shapes_match_reference():
    expected = parse_keys_file(KEYS_FILE)
    assert len(expected) == 312
    actual = {k: tuple(v.shape) for k, v in MN04().state_dict().items()}
    assert list(actual) == list(expected)
    assert actual == expected


@needs_shared
def test_labels_csv():
    labels = read_audioset_labels(LABELS_CSV)
    assert len(labels) == NUM_CLASSES and labels[0] == "Speech" and labels[75] == "Bark"


@pytest.fixture(scope="module")
def reference_run():
    """Run the six reference clips once: as one batch through ``embed`` and one at a time."""
    reference = {k: v for k, v in json.loads(REFERENCE.read_text()).items() if not k.startswith("_")}
    state = load_mn04_state(WEIGHTS, cache_dir=MODEL_DIR)
    model = EfficientATMN04(state, labels=read_audioset_labels(LABELS_CSV), batch_size=4)
    clips = []
    for name in reference:
        audio, sr = sf.read(AUDIO_DIR / f"{name}.flac", dtype="float32")
        assert sr == 16000 and audio.ndim == 1
        clips.append(torchaudio.functional.resample(torch.from_numpy(audio), 16000, SAMPLE_RATE))
    waves = torch.stack(clips)  # all ESC-50 clips are 5 s
    with torch.inference_mode():
        mels = model.front_end(waves)
        logits, embeddings = model.forward_batch(waves)
    batch = model.embed(waves.numpy())  # 6 clips in chunks of 4 + 2
    singles = [model.embed(w[None]) for w in waves.numpy()]
    return {"reference": reference, "model": model, "mels": mels, "logits": logits, "embeddings": embeddings,
            "batch": batch, "singles": singles}


@needs_shared
def test_reference_outputs(reference_run):
    run = reference_run
    for i, (name, ref) in enumerate(run["reference"].items()):
        mel = run["mels"][i]
        assert [1, *mel.shape] == ref["mel_shape"], name
        assert abs(float(mel.mean()) - ref["mel_mean"]) < 1e-4, name
        assert abs(float(mel.std()) - ref["mel_std"]) < 1e-4, name
        emb = run["embeddings"][i].numpy()
        np.testing.assert_allclose(emb[:8], ref["embedding_first8"], atol=1e-3, err_msg=name)
        assert abs(float(np.linalg.norm(emb)) - ref["embedding_l2"]) < 1e-3, name
        logits8 = run["logits"][i, :8].numpy()
        np.testing.assert_allclose(logits8, ref["logits_first8"], atol=1e-3, err_msg=name)
        # embed() output: probabilities, top-5 with labels
        probs = run["batch"].probabilities[i]
        np.testing.assert_allclose(run["batch"].embeddings[i], emb, atol=1e-4, err_msg=name)
        top5 = np.argsort(-probs)[:5]
        assert top5.tolist() == [t[0] for t in ref["top5"]], name
        assert [run["model"].labels[j] for j in top5] == [t[1] for t in ref["top5"]], name
        np.testing.assert_allclose(probs[top5], [t[2] for t in ref["top5"]], atol=1e-3, err_msg=name)


@needs_shared
def test_batching_invariance(reference_run):
    batch = reference_run["batch"]
    assert batch.embeddings.shape == (6, EMBEDDING_DIM) and batch.probabilities.shape == (6, NUM_CLASSES)
    single_emb = np.concatenate([s.embeddings for s in reference_run["singles"]])
    single_prob = np.concatenate([s.probabilities for s in reference_run["singles"]])
    np.testing.assert_allclose(batch.embeddings, single_emb, atol=1e-4)
    np.testing.assert_allclose(batch.probabilities, single_prob, atol=1e-4)


@needs_shared
def test_official_checksum_constant():
    from acom.download import sha256_of

    assert sha256_of(WEIGHTS) == MN04_SHA256
