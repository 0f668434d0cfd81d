"""MP3, AAC, Vorbis and LC3 on real ESC-50 clips: decodes aligned with the input (cross-correlation
peak at lag 0) and of its length, the bitrate actually spent against the nominal one, files that
other decoders read the same way, and the settings each codec refuses."""

from __future__ import annotations

import functools
import struct

import numpy as np
import pytest
import soundfile as sf
import yaml
from scipy import signal

from acom.codecs import build_codec
from acom.codecs.ffmpeg import read_coded_file
from acom.codecs.lc3 import Lc3Codec, decode_lc3, read_lc3
from acom.codecs.mp3 import Mp3Codec
from acom.codecs.vorbis import VorbisCodec
from acom.io import read_audio
from tests.helpers import REPO

with open(REPO / "config.yaml") as _fh:
    DEFAULT_CODECS = yaml.safe_load(_fh)["codecs"]
CLASSICAL = ("mp3", "aac", "vorbis", "lc3")
# One loud clip per kind of sound (as in test_opus), from sparse barks to dense noise.
LOUD_CLIPS = ("1-100032-A-0", "1-26806-A-1", "1-17367-A-10", "1-13571-A-46", "1-116765-A-41")
MAX_LAG = 2048  # 128 ms at 16 kHz: beyond every codec delay here (LAME 1105 samples, AAC 1024)
# Rate control: constant bitrate (within 10 % of the target) or aimed at it on average (at most 1.25 x).
CBR = {"mp3", "lc3"}


@functools.cache
def _clip(root, clip_id: str) -> np.ndarray:
    samples, rate = read_audio(root / "audio" / f"{clip_id}.flac")
    assert rate == 16000
    return samples


def _rate_clips(root) -> list[str]:
    """25 clips spread over the data set (every 80th file): quiet and loud, every fold."""
    return sorted(p.stem for p in (root / "audio").glob("*.flac"))[::80]


def _peak_lag(reference: np.ndarray, decoded: np.ndarray) -> int:
    """Lag (samples) of the cross-correlation peak within +-MAX_LAG; positive: the decode is late."""
    corr = signal.correlate(decoded, reference, mode="full", method="fft")
    lags = signal.correlation_lags(decoded.shape[0], reference.shape[0], mode="full")
    window = np.abs(lags) <= MAX_LAG
    return int(lags[window][np.argmax(corr[window])])


def _codec(name: str, kbps: float):
    return build_codec(DEFAULT_CODECS[name], kbps, cache_dir="unused")


def _settings():
    return [(name, kbps) for name in CLASSICAL for kbps in DEFAULT_CODECS[name]["bitrates_kbps"]]


@pytest.mark.parametrize("name, kbps", _settings(), ids=[f"{n}_{k:g}" for n, k in _settings()])
def test_decode_is_aligned_and_of_the_input_length_on_real_clips(shared_esc50, tmp_path, name, kbps):
    codec = _codec(name, kbps)
    assert codec.sample_rate == 16000
    for clip_id in LOUD_CLIPS:
        clip = _clip(shared_esc50, clip_id)
        coded = codec.code_batch([clip], [tmp_path / f"{clip_id}{codec.extension}"])[0]
        assert coded.decoded.shape == clip.shape and coded.decoded.dtype == np.float32
        assert _peak_lag(clip, coded.decoded) == 0, f"{name} {kbps} kbps, {clip_id}"
        # A check of the waveform, not only of the peak: at 8 kbps LAME keeps about 3 kHz of the rain
        # clip's broadband noise (measured 0.48); every other setting and clip is above 0.6.
        min_corr = 0.4 if kbps <= 8 else 0.6
        assert np.corrcoef(clip, coded.decoded)[0, 1] > min_corr, f"{name} {kbps} kbps, {clip_id}"


@pytest.mark.parametrize("name, kbps", _settings(), ids=[f"{n}_{k:g}" for n, k in _settings()])
def test_bitrate_spent_on_real_clips(shared_esc50, tmp_path, name, kbps):
    codec = _codec(name, kbps)
    spent = []
    for clip_id in _rate_clips(shared_esc50):
        clip = _clip(shared_esc50, clip_id)
        coded = codec.code_batch([clip], [tmp_path / f"{clip_id}{codec.extension}"])[0]
        duration = clip.shape[0] / 16000
        spent.append(coded.payload_bytes * 8 / duration / 1000)
        assert coded.file_bytes > coded.payload_bytes  # a container, a header or tags around the payload
    ratio = np.mean(spent) / kbps
    if name in CBR:
        assert 0.9 <= ratio <= 1.1, f"{name} {kbps} kbps: mean {np.mean(spent):.2f} kbps ({ratio:.3f} x)"
    else:
        assert ratio <= 1.25, f"{name} {kbps} kbps: mean {np.mean(spent):.2f} kbps ({ratio:.3f} x)"


def test_mp3_declares_its_delay_and_another_decoder_trims_it_too(shared_esc50, tmp_path):
    clip = _clip(shared_esc50, LOUD_CLIPS[1])
    path = tmp_path / "clip.mp3"
    ours = Mp3Codec(bitrate_kbps=32).code(clip, path).decoded
    data = path.read_bytes()
    # The Info (CBR Xing) frame's LAME tag: encoder delay and padding as two 12-bit fields, 21 bytes
    # after the start of the 9-byte encoder string (FFmpeg writes "Lavf...").
    tag = data.find(b"Lavf", data.find(b"Info"))
    assert tag > 0
    fields = int.from_bytes(data[tag + 21: tag + 24], "big")
    delay, padding = fields >> 12, fields & 0xFFF
    assert delay == 576  # LAME's encoder delay
    n_frames = struct.unpack(">I", data[data.find(b"Info") + 8: data.find(b"Info") + 12])[0]
    assert n_frames * 576 - delay - padding == clip.shape[0]
    # libsndfile decodes MP3 with mpg123, which reads the same tag: the same length, aligned.
    theirs, rate = sf.read(path, dtype="float32")
    assert rate == 16000 and theirs.shape == clip.shape
    assert _peak_lag(clip, theirs) == 0
    np.testing.assert_allclose(theirs, ours, atol=2e-3)


def test_mp3_abr_varies_its_frames_and_cbr_does_not(shared_esc50, tmp_path):
    import av

    clip = _clip(shared_esc50, LOUD_CLIPS[0])  # barks between near-silence
    sizes = {}
    for mode in ("cbr", "abr"):
        path = tmp_path / f"{mode}.mp3"
        Mp3Codec(bitrate_kbps=32, mode=mode).code(clip, path)
        with av.open(str(path)) as container:
            sizes[mode] = {packet.size for packet in container.demux(container.streams.audio[0]) if packet.size}
    assert len(sizes["cbr"]) <= 2  # one frame size, plus the padding byte some frames take
    assert len(sizes["abr"]) > 3


def test_aac_file_declares_its_priming_in_the_mp4_edit_list(shared_esc50, tmp_path):
    import av

    clip = _clip(shared_esc50, LOUD_CLIPS[2])
    path = tmp_path / "clip.m4a"
    _codec("aac", 24).code(clip, path)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "aac" and stream.codec_context.profile == "LC"
        raw = np.concatenate([frame.to_ndarray().reshape(-1) for frame in container.decode(stream)])
    # The decoder output starts at the clip (priming skipped from the edit list) and runs past its
    # end to the last whole frame; the duration the container declares is the clip's.
    decoded = read_coded_file(path)
    assert decoded.declared_samples == clip.shape[0] and raw.shape[0] > clip.shape[0]
    assert _peak_lag(clip, raw[: clip.shape[0]]) == 0


def test_vorbis_quality_declares_the_nominal_bitrate(shared_esc50, tmp_path):
    clip = _clip(shared_esc50, LOUD_CLIPS[3])
    for kbps in DEFAULT_CODECS["vorbis"]["bitrates_kbps"]:
        path = tmp_path / f"{kbps}.ogg"
        VorbisCodec(bitrate_kbps=kbps).code(clip, path)
        data = path.read_bytes()
        start = data.find(b"\x01vorbis")
        _version, channels, rate, _high, nominal, _low = struct.unpack_from("<IBIiii", data, start + 7)
        assert (channels, rate) == (1, 16000)
        assert nominal == pytest.approx(kbps * 1000, rel=0.005)


def test_lc3_file_reads_back_to_the_same_decode(shared_esc50, tmp_path):
    clip = _clip(shared_esc50, LOUD_CLIPS[4])
    path = tmp_path / "clip.lc3"
    coded = Lc3Codec(bitrate_kbps=32, frame_ms=7.5).code(clip, path)
    stream = read_lc3(path)
    assert (stream.sample_rate, stream.frame_ms, stream.n_samples, stream.bitrate_bps) == (16000, 7.5, 80000, 32000)
    assert {len(frame) for frame in stream.frames} == {30}  # 32 kbps x 7.5 ms / 8
    assert coded.payload_bytes == 30 * len(stream.frames)
    np.testing.assert_array_equal(decode_lc3(stream), coded.decoded)


@pytest.mark.parametrize("make, message", [
    (lambda: Mp3Codec(bitrate_kbps=12), "12 is not an MP3 frame bitrate at 16000 Hz"),
    (lambda: Mp3Codec(bitrate_kbps=32, mode="vbr"), "mode: 'vbr' is not one of"),
    (lambda: Mp3Codec(bitrate_kbps=32, sample_rate=96000), "96000 Hz is not an MP3 sample rate"),
    (lambda: build_codec({"type": "aac", "bitrates_kbps": [100]}, 100, cache_dir="x"), "outside 6-96 kbps"),
    (lambda: VorbisCodec(bitrate_kbps=16), "outside the 24-99.992 kbps"),
    (lambda: Lc3Codec(bitrate_kbps=20.5), "not a whole number"),
    (lambda: Lc3Codec(bitrate_kbps=32, sample_rate=44100), "44100 Hz is not an LC3 coding rate"),
])
def test_settings_a_codec_cannot_take_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()
