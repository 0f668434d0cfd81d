"""EnCodec codec: weights loading, .ecdc files in the package's own format, bandwidth derivation by
codebook truncation, batching, alignment and errors. Runs offline with seeded random-init models of
the package's own classes (the pretrained checkpoints cannot be downloaded here)."""

from __future__ import annotations

import importlib
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from encodec.model import ROOT_URL, EncodecModel

from acom.codecs.base import CodedClip
from acom.codecs.encodec import (
    ENCODEC_MODELS,
    EncodecCodec,
    build_encodec,
    check_bandwidth,
    decode_batch,
    encode_batch,
    load_encodec,
    n_codebooks_for,
    read_ecdc,
    read_ecdc_codes,
    truncate_codes,
    write_ecdc,
    write_ecdc_codes,
)
from acom.download import sha256_of

# ``encodec`` re-exports the function ``compress`` under the module's name: fetch the module itself.
encodec_compress = importlib.import_module("encodec.compress")

NAMES = tuple(ENCODEC_MODELS)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread: on a small, shared CPU two spinning threads made this file 4x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def models() -> dict[str, EncodecModel]:
    return {name: load_encodec(name, weights=None, init="random", seed=0) for name in NAMES}


def noise_clips(n: int, n_samples: int, seed: int = 0) -> list[np.ndarray]:
    """Noise with a different loudness contour per clip (float32 mono)."""
    rng = np.random.default_rng(seed)
    clips = []
    for _ in range(n):
        envelope = np.interp(np.arange(n_samples), [0, n_samples], rng.uniform(0.02, 0.5, 2))
        clips.append((envelope * rng.standard_normal(n_samples)).astype(np.float32))
    return clips


def use_model_in_package_decompress(monkeypatch, model: EncodecModel) -> None:
    """``encodec.compress.decompress`` builds the pretrained model itself; hand it ours instead."""
    monkeypatch.setitem(encodec_compress.MODELS, model.name, lambda: model)


def package_compress(model: EncodecModel, clip: np.ndarray, kbps: float) -> bytes:
    model.set_target_bandwidth(kbps)
    try:
        wav = torch.from_numpy(clip)[None].expand(model.channels, -1).contiguous()
        return encodec_compress.compress(model, wav, use_lm=False)
    finally:
        model.bandwidth = None


# ------------------------------------------------------------------------------------------------
# Registry and weights
# ------------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:.*weight_norm.*:FutureWarning")
@pytest.mark.parametrize("name", NAMES)
def test_registry_matches_installed_package(name, monkeypatch):
    spec = ENCODEC_MODELS[name]
    seen = []

    class Stop(Exception):
        pass

    def fake_get_pretrained(checkpoint_name, repository=None):
        seen.append(checkpoint_name)
        raise Stop

    monkeypatch.setattr(EncodecModel, "_get_pretrained", staticmethod(fake_get_pretrained))
    builder = {
        "encodec_24khz": EncodecModel.encodec_model_24khz,
        "encodec_48khz": EncodecModel.encodec_model_48khz,
    }
    with pytest.raises(Stop):
        builder[spec.package_name](pretrained=True)
    assert seen == [spec.checkpoint]
    assert spec.url == ROOT_URL + spec.checkpoint
    assert spec.checkpoint == f"{spec.package_name}-{spec.sha256_prefix}.th"
    model = build_encodec(name)
    assert model.name == spec.package_name and model.name in encodec_compress.MODELS
    assert (model.sample_rate, model.channels) == (spec.sample_rate, spec.channels)
    assert tuple(float(b) for b in model.target_bandwidths) == spec.bandwidths_kbps
    frame_rate = {24000: 75, 48000: 150}[spec.sample_rate]
    assert model.frame_rate == frame_rate and model.bits_per_codebook == 10
    for kbps in spec.bandwidths_kbps:  # n codebooks x frame rate x 10 bits = the nominal rate
        assert n_codebooks_for(model, kbps) * frame_rate * 10 == kbps * 1000


def test_random_init_is_deterministic_and_gives_varied_codes(models):
    again = load_encodec("encodec24", weights=None, init="random", seed=0)
    other = load_encodec("encodec24", weights=None, init="random", seed=1)
    state, state_again, state_other = (m.state_dict() for m in (models["encodec24"], again, other))
    assert all(torch.equal(state[k], state_again[k]) for k in state)
    assert not all(torch.equal(state[k], state_other[k]) for k in state)
    for name, model in models.items():
        top = ENCODEC_MODELS[name].bandwidths_kbps[-1]
        (codes,) = encode_batch(model, noise_clips(1, model.sample_rate), top)
        frame = codes.frames[0][0][0]
        distinct = [int(frame[k].unique().numel()) for k in range(frame.shape[0])]
        assert min(distinct) >= 10, distinct  # every codebook in use, so equality tests mean something


@pytest.mark.parametrize("name", NAMES)
def test_saved_random_weights_reload_through_the_real_path(name, models, tmp_path):
    model = models[name]
    path = tmp_path / "weights.th"
    torch.save(model.state_dict(), path)
    loaded = load_encodec(name, weights=path, verify_checksum=False)
    assert not loaded.training and loaded.name == model.name
    clips = noise_clips(1, model.sample_rate)
    kbps = ENCODEC_MODELS[name].bandwidths_kbps[-1]
    (codes_a,), (codes_b,) = encode_batch(model, clips, kbps), encode_batch(loaded, clips, kbps)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(codes_a.frames, codes_b.frames))
    np.testing.assert_array_equal(decode_batch(model, [codes_a])[0], decode_batch(loaded, [codes_b])[0])
    # Our own checkpoint is not the published one: the default checksum check refuses it.
    with pytest.raises(ValueError, match="published prefix"):
        load_encodec(name, weights=path)


def test_missing_weights_path_names_the_config_key(tmp_path):
    missing = tmp_path / "nope.th"
    with pytest.raises(FileNotFoundError, match=r"codecs\.encodec24\.weights") as info:
        load_encodec("encodec24", weights=missing)
    assert str(missing) in str(info.value) and ENCODEC_MODELS["encodec24"].url in str(info.value)


def test_corrupt_or_wrong_checkpoints_are_refused(models, tmp_path):
    garbage = tmp_path / "garbage.th"
    garbage.write_bytes(b"not a checkpoint" * 100)
    with pytest.raises(ValueError, match="garbage.th"):
        load_encodec("encodec24", weights=garbage, verify_checksum=False)
    other_model = tmp_path / "encodec48.th"
    torch.save(models["encodec48"].state_dict(), other_model)
    with pytest.raises(ValueError, match="encodec48.th: not a encodec_24khz checkpoint"):
        load_encodec("encodec24", weights=other_model, verify_checksum=False)
    untrained = tmp_path / "untrained.th"
    torch.save(build_encodec("encodec24").state_dict(), untrained)
    with pytest.raises(ValueError, match="never initialised"):
        load_encodec("encodec24", weights=untrained, verify_checksum=False)
    with pytest.raises(ValueError, match="choose one"):
        load_encodec("encodec24", weights=garbage, init="random")


def test_download_offline_fails_clearly_and_leaves_nothing(monkeypatch, tmp_path):
    url = "http://127.0.0.1:9/encodec_24khz-d7cc33bc.th"
    monkeypatch.setitem(ENCODEC_MODELS, "encodec24", replace(ENCODEC_MODELS["encodec24"], url=url))
    with pytest.raises(RuntimeError, match="could not download http://127.0.0.1:9/") as info:
        load_encodec("encodec24", weights=None, cache_dir=tmp_path)
    assert "local copy" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_download_checks_the_sha256_prefix(models, monkeypatch, tmp_path):
    source = tmp_path / "source.th"
    torch.save(models["encodec24"].state_dict(), source)
    prefix = sha256_of(source)[:8]
    spec = ENCODEC_MODELS["encodec24"]
    cache = tmp_path / "cache"
    # A "download" (file:// URL, no network) whose checksum differs from the pinned prefix is removed.
    monkeypatch.setitem(ENCODEC_MODELS, "encodec24", replace(spec, url=source.as_uri(), sha256_prefix="00000000"))
    with pytest.raises(ValueError, match="published prefix 00000000"):
        load_encodec("encodec24", weights=None, cache_dir=cache)
    assert not (cache / spec.checkpoint).exists()
    # With the matching prefix it is kept, loaded, and used from the cache afterwards.
    monkeypatch.setitem(ENCODEC_MODELS, "encodec24", replace(spec, url=source.as_uri(), sha256_prefix=prefix))
    loaded = load_encodec("encodec24", weights=None, cache_dir=cache)
    assert (cache / spec.checkpoint).is_file()
    source.unlink()
    again = load_encodec("encodec24", weights=None, cache_dir=cache)
    for key, value in models["encodec24"].state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]) and torch.equal(value, again.state_dict()[key])


# ------------------------------------------------------------------------------------------------
# Bandwidths
# ------------------------------------------------------------------------------------------------


def test_unsupported_bandwidths_are_refused(models):
    assert check_bandwidth("encodec24", 1.5) == 1.5 and check_bandwidth("encodec48", 24) == 24.0
    with pytest.raises(ValueError, match=r"encodec48 does not support 1.5 kbps.*\[3.0, 6.0, 12.0, 24.0\]"):
        check_bandwidth("encodec48", 1.5)
    with pytest.raises(ValueError, match="encodec24 does not support 2"):
        check_bandwidth("encodec24", 2)
    with pytest.raises(ValueError, match="unknown EnCodec model"):
        check_bandwidth("encodec32", 6)
    with pytest.raises(ValueError, match="does not support 1.5 kbps"):
        encode_batch(models["encodec48"], noise_clips(1, 480), 1.5)
    with pytest.raises(ValueError, match="encodec48 does not support 1.5 kbps"):
        EncodecCodec(models["encodec48"], name="encodec48", bandwidth_kbps=1.5)
    with pytest.raises(ValueError, match="needs 'encodec_48khz'"):
        EncodecCodec(models["encodec24"], name="encodec48", bandwidth_kbps=6)


@pytest.mark.parametrize("name", NAMES)
def test_truncating_top_bandwidth_codes_equals_encoding_at_each_bandwidth(name, models):
    """The proof behind encoding once: identical codes, scales and decoded audio at every bandwidth.
    Clips of 1.02 s, so that the 48 kHz model cuts them into two normalised segments."""
    model = models[name]
    bandwidths = ENCODEC_MODELS[name].bandwidths_kbps
    clips = noise_clips(3 if name == "encodec24" else 2, int(1.02 * model.sample_rate), seed=7)
    top = encode_batch(model, clips, bandwidths[-1])
    for kbps in bandwidths:
        direct = encode_batch(model, clips, kbps)
        derived = [truncate_codes(c, model, kbps) for c in top]
        for d, e in zip(derived, direct):
            assert d.n_codebooks == e.n_codebooks == n_codebooks_for(model, kbps)
            assert len(d.frames) == len(e.frames) == (2 if model.normalize else 1)
            for (codes_d, scale_d), (codes_e, scale_e) in zip(d.frames, e.frames):
                assert torch.equal(codes_d, codes_e)
                assert (scale_d is None and scale_e is None) or torch.equal(scale_d, scale_e)
        for wav_d, wav_e in zip(decode_batch(model, derived), decode_batch(model, direct)):
            np.testing.assert_array_equal(wav_d, wav_e)
    with pytest.raises(ValueError, match="hold only"):
        truncate_codes(truncate_codes(top[0], model, bandwidths[0]), model, bandwidths[-1])


# ------------------------------------------------------------------------------------------------
# .ecdc files
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_ecdc_files_match_the_package_format_rate_and_decoding(name, models, tmp_path, monkeypatch):
    model = models[name]
    use_model_in_package_decompress(monkeypatch, model)
    duration = 1.0
    (clip,) = noise_clips(1, int(duration * model.sample_rate), seed=3)
    for kbps in ENCODEC_MODELS[name].bandwidths_kbps:
        path = tmp_path / f"{kbps}.ecdc"
        file_bytes, payload_bytes = write_ecdc(path, model, clip, kbps)
        content = path.read_bytes()
        assert file_bytes == len(content) and content == package_compress(model, clip, kbps)

        (codes,) = encode_batch(model, [clip], kbps)
        assert codes.n_codebooks == n_codebooks_for(model, kbps)
        packed = sum(math.ceil(codes.n_codebooks * c.shape[2] * 10 / 8) for c, _ in codes.frames)
        scales = 4 * len(codes.frames) if model.normalize else 0
        assert payload_bytes == packed + scales
        assert file_bytes - payload_bytes == 9 + int.from_bytes(content[5:9], "big")  # magic, version, JSON
        # Rate: nominal, plus at most the frames beyond duration x frame rate (the 48 kHz model's
        # overlapping segments), one padding byte and one float32 scale per segment.
        actual_bits = 8 * payload_bytes
        nominal_bits = kbps * 1000 * duration
        extra_frames = codes.n_frames - duration * model.frame_rate
        allowed = codes.n_codebooks * 10 * extra_frames + (8 + (32 if model.normalize else 0)) * len(codes.frames)
        assert 0 <= actual_bits - nominal_bits <= allowed
        if not model.normalize:  # one segment of exactly 75 frames: nominal up to the last byte
            assert codes.n_frames == 75 and actual_bits - nominal_bits < 8

        read_codes = read_ecdc_codes(path, model)
        assert read_codes.n_samples == codes.n_samples
        for (a, sa), (b, sb) in zip(read_codes.frames, codes.frames):
            assert torch.equal(a, b) and ((sa is None and sb is None) or torch.equal(sa, sb))
        in_memory = decode_batch(model, [codes])[0]
        from_file = read_ecdc(path, model)
        np.testing.assert_allclose(from_file, in_memory, rtol=0, atol=1e-7)
        package_wav, sample_rate = encodec_compress.decompress(content)
        assert sample_rate == model.sample_rate and package_wav.shape == (model.channels, clip.shape[0])
        np.testing.assert_allclose(package_wav.mean(0).numpy(), in_memory, rtol=0, atol=1e-6)


def test_broken_ecdc_files_are_refused(models, tmp_path):
    model = models["encodec24"]
    path = tmp_path / "a.ecdc"
    write_ecdc(path, model, noise_clips(1, 2400)[0], 6)
    truncated = tmp_path / "truncated.ecdc"
    truncated.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated.ecdc: the stream ended sooner"):
        read_ecdc(truncated, model)
    with pytest.raises(ValueError, match="not 'encodec_48khz'"):
        read_ecdc(path, models["encodec48"])
    junk = tmp_path / "junk.ecdc"
    junk.write_bytes(b"RIFF0000WAVE")
    with pytest.raises(ValueError, match="junk.ecdc: not an .ecdc file"):
        read_ecdc(junk, model)


def test_lengths_the_package_reader_would_misparse_are_refused(models, tmp_path):
    """encodec 0.1.1's decompress computes frames as ceil(L / sr * frame_rate) in floats: for e.g.
    6720 samples (21 frames) it reads 22 and fails; writing such a file is refused up front."""
    (codes,) = encode_batch(models["encodec24"], noise_clips(1, 6720), 6)
    assert codes.n_frames == 21
    with pytest.raises(ValueError, match="would read 22"):
        write_ecdc_codes(tmp_path / "x.ecdc", models["encodec24"], codes)
    assert not (tmp_path / "x.ecdc").exists()


# ------------------------------------------------------------------------------------------------
# Batching, alignment, codec
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_batch_of_four_equals_four_singles(name, models):
    model = models[name]
    kbps = ENCODEC_MODELS[name].bandwidths_kbps[2]
    clips = noise_clips(4, model.sample_rate // 2, seed=11)
    batched = decode_batch(model, encode_batch(model, clips, kbps))
    for clip, wav in zip(clips, batched):
        single = decode_batch(model, encode_batch(model, [clip], kbps))[0]
        np.testing.assert_allclose(wav, single, rtol=0, atol=1e-4)


@pytest.mark.parametrize("name,n_samples", [
    ("encodec24", 100), ("encodec24", 320), ("encodec24", 321), ("encodec24", 24017),
    ("encodec48", 100), ("encodec48", 47521), ("encodec48", 48480),
])
def test_decoded_length_equals_input_length(name, n_samples, models):
    model = models[name]
    codes = encode_batch(model, noise_clips(1, n_samples), ENCODEC_MODELS[name].bandwidths_kbps[0])
    (wav,) = decode_batch(model, codes)
    assert wav.dtype == np.float32 and wav.shape == (n_samples,) and np.all(np.isfinite(wav))


def test_24khz_model_is_causal_so_decoding_is_not_shifted_late(models):
    """Input changed from frame 30 (sample 9600) on: codes before frame 30 and decoded samples before
    9600 are unchanged, i.e. no look-ahead; with the package's own trimming (start at sample 0,
    matched exactly by the .ecdc test) the output is aligned with the input."""
    model = models["encodec24"]
    (a,) = noise_clips(1, 24000, seed=5)
    b = a.copy()
    b[9600:] = noise_clips(1, 24000 - 9600, seed=6)[0]
    codes_a, codes_b = (encode_batch(model, [x], 24)[0] for x in (a, b))
    changed = (codes_a.frames[0][0] != codes_b.frames[0][0]).any(dim=1)[0]
    assert not changed[:30].any() and changed[30:].any()
    wav_a, wav_b = (decode_batch(model, [c])[0] for c in (codes_a, codes_b))
    np.testing.assert_allclose(wav_a[:9600], wav_b[:9600], rtol=0, atol=1e-7)
    assert np.abs(wav_a[9600:] - wav_b[9600:]).max() > 1e-6


def test_codec_codes_a_batch_with_files_and_mixed_lengths(models, tmp_path):
    model = models["encodec24"]
    codec = EncodecCodec(model, name="encodec24", bandwidth_kbps=3)
    assert codec.sample_rate == 24000 and codec.extension == ".ecdc"
    clips = noise_clips(2, 24000, seed=1) + noise_clips(1, 12000, seed=2)
    paths = [tmp_path / "bits" / f"{i}.ecdc" for i in range(3)]
    coded = codec.code_batch(clips, paths)
    assert all(isinstance(c, CodedClip) for c in coded)
    for clip, path, result in zip(clips, paths, coded):
        assert result.decoded.shape == clip.shape and result.decoded.dtype == np.float32
        assert result.file_bytes == path.stat().st_size > result.payload_bytes
        assert result.payload_bytes == math.ceil(4 * math.ceil(clip.shape[0] / 320) * 10 / 8)
        np.testing.assert_allclose(result.decoded, read_ecdc(path, model), rtol=0, atol=1e-7)
    with pytest.raises(ValueError, match="2 clips but 1 bitstream paths"):
        codec.code_batch(clips[:2], paths[:1])


# ------------------------------------------------------------------------------------------------
# Edge cases
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_clip_shorter_than_one_frame_codes_to_one_frame(name, models, tmp_path):
    model = models[name]
    codec = EncodecCodec(model, name=name, bandwidth_kbps=ENCODEC_MODELS[name].bandwidths_kbps[0])
    (result,) = codec.code_batch(noise_clips(1, 100), [tmp_path / "short.ecdc"])
    assert result.decoded.shape == (100,) and np.all(np.isfinite(result.decoded))
    codes = read_ecdc_codes(tmp_path / "short.ecdc", model)
    assert codes.n_frames == 1 and codes.n_codebooks == 2
    assert result.payload_bytes == 3 + (4 if model.normalize else 0)  # 2 codes x 10 bits -> 3 bytes


@pytest.mark.parametrize("name", NAMES)
def test_silent_clip(name, models, tmp_path):
    model = models[name]
    codec = EncodecCodec(model, name=name, bandwidth_kbps=6)
    (result,) = codec.code_batch([np.zeros(4800, np.float32)], [tmp_path / "silence.ecdc"])
    assert result.decoded.shape == (4800,) and np.all(np.isfinite(result.decoded))
    if model.normalize:  # scale 1e-8 (RMS 0 + epsilon): the decoder output is scaled to ~0
        scale = read_ecdc_codes(tmp_path / "silence.ecdc", model).frames[0][1]
        assert scale.item() == pytest.approx(1e-8)
        assert np.abs(result.decoded).max() < 1e-6


def test_invalid_clips_are_refused(models, tmp_path):
    model = models["encodec24"]
    nan_clip = noise_clips(1, 2400)[0]
    nan_clip[100] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        encode_batch(model, [nan_clip], 6)
    codec = EncodecCodec(model, name="encodec24", bandwidth_kbps=6)
    with pytest.raises(ValueError, match="NaN"):
        codec.code_batch([nan_clip], [tmp_path / "nan.ecdc"])
    assert not (tmp_path / "nan.ecdc").exists()
    with pytest.raises(ValueError, match="holds no samples"):
        encode_batch(model, [np.zeros(0, np.float32)], 6)
    with pytest.raises(ValueError, match="1-D"):
        encode_batch(model, [np.zeros((2, 100), np.float32)], 6)
    with pytest.raises(ValueError, match="equal lengths"):
        encode_batch(model, noise_clips(1, 100) + noise_clips(1, 200), 6)
    mixed = encode_batch(model, noise_clips(1, 100), 6) + encode_batch(model, noise_clips(1, 200), 6)
    with pytest.raises(ValueError, match="equal length"):
        decode_batch(model, mixed)
