"""Opus codec: alignment, rate control, the Ogg Opus file (checked byte by byte and by libsndfile),
edge cases and determinism."""

from __future__ import annotations

import functools
import struct
import time
from pathlib import Path

import mutagen.oggopus
import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from acom.codecs.base import CodedClip
from acom.codecs.opus import (
    OpusCodec,
    OpusStream,
    decode_opus,
    encode_opus,
    payload_bytes,
    read_ogg_opus,
    roi_frame_mask,
    write_ogg_opus,
)
from acom.io import read_audio

# The opus entry's bitrates in config.yaml.
DEFAULT_KBPS = (6, 8, 12, 16, 24, 32, 64)
# One clip per class, all with energy (RMS > 0.03), from sparse barks to dense noise.
ESC50_CLIPS = {
    "dog": "1-100032-A-0",  # barks with ~94% near-silence: the "quiet" clip for VBR
    "rooster": "1-26806-A-1",
    "rain": "1-17367-A-10",
    "church_bells": "1-13571-A-46",
    "chainsaw": "1-116765-A-41",  # dense and loud
}
MAX_LAG = 400


@functools.cache
def _esc50(root: Path, clip_id: str) -> np.ndarray:
    samples, rate = read_audio(root / "audio" / f"{clip_id}.flac")
    assert rate == 16000
    return samples


def _noise(rate: int, seconds: float = 1.0, cutoff_hz: float = 2500.0, seed: int = 0) -> np.ndarray:
    """Band-limited noise at about -20 dBFS: a broadband probe whose autocorrelation has one sharp peak."""
    rng = np.random.default_rng(seed)
    sos = signal.butter(8, cutoff_hz, fs=rate, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal(int(rate * seconds)))
    return (0.1 * x / np.std(x)).astype(np.float32)


def _peak_lag(reference: np.ndarray, decoded: np.ndarray) -> int:
    """Lag (samples) of the cross-correlation peak within +-MAX_LAG; positive means the decode is late."""
    corr = signal.correlate(decoded, reference, mode="full", method="fft")
    lags = signal.correlation_lags(decoded.shape[0], reference.shape[0], mode="full")
    window = np.abs(lags) <= MAX_LAG
    return int(lags[window][np.argmax(corr[window])])


def _kbps(stream: OpusStream) -> float:
    return payload_bytes(stream) * 8 / (stream.n_samples / stream.sample_rate) / 1000


def _ogg_crc(data: bytes) -> int:
    """Ogg's CRC-32, written out bit by bit (polynomial 0x04c11db7, no reflection, init 0, no final
    xor) so it checks the writer's CRC independently of the library that produced it."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


def _raw_pages(data: bytes) -> list[dict]:
    """Split an Ogg file into pages by hand, checking capture pattern, version and CRC of each."""
    pages, pos = [], 0
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS", f"no capture pattern at byte {pos}"
        version, flags, granule, serial, sequence, crc, n_segments = struct.unpack_from("<BBqIIIB", data, pos + 4)
        lacing = list(data[pos + 27 : pos + 27 + n_segments])
        end = pos + 27 + n_segments + sum(lacing)
        page = data[pos:end]
        assert version == 0
        assert _ogg_crc(page[:22] + b"\0\0\0\0" + page[26:]) == crc, f"page {sequence}: CRC mismatch"
        body, packets, current = page[27 + n_segments :], [], b""
        offset = 0
        for value in lacing:
            current += body[offset : offset + value]
            offset += value
            if value < 255:
                packets.append(current)
                current = b""
        assert current == b"", "a packet continues past its page (the writer never splits packets)"
        pages.append({"flags": flags, "granule": granule, "serial": serial, "sequence": sequence,
                      "segments": n_segments, "packets": packets})
        pos = end
    return pages


# --- the file ------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate, n_samples, kbps, frame_ms", [
    (16000, 80000, 16, 20),   # a 5 s clip at the workflow's setting
    (16000, 100, 16, 20),     # shorter than one frame
    (48000, 48000, 64, 20),
    (8000, 8000, 12, 60),
    (24000, 24000, 32, 2.5),  # many small packets: pages split on the 255-lacing-value limit
])
def test_written_file_decodes_in_libsndfile_to_the_in_memory_decode(tmp_path, rate, n_samples, kbps, frame_ms):
    clip = _noise(rate, seconds=max(n_samples / rate, 0.1))[:n_samples]
    stream = encode_opus(clip, rate, bitrate_kbps=kbps, frame_ms=frame_ms)
    decoded = decode_opus(stream)
    path = tmp_path / "clip.opus"
    size = write_ogg_opus(path, stream)
    assert size == path.stat().st_size

    # libsndfile decodes with libopus's float API at the OpusHead input rate, drops pre-skip and
    # trims the end from the final granule: the float32 read is bit-identical to our decode.
    info = sf.info(str(path))
    assert (info.format, info.subtype, info.samplerate, info.channels, info.frames) == ("OGG", "OPUS", rate, 1,
                                                                                        n_samples)
    from_file, file_rate = sf.read(str(path), dtype="float32")
    assert file_rate == rate
    assert from_file.shape == decoded.shape == (n_samples,)
    np.testing.assert_array_equal(from_file, decoded)
    # Its int16 read is the same decode rounded to 16 bits: at most one LSB away.
    as_int16, _ = sf.read(str(path), dtype="int16")
    assert np.max(np.abs(as_int16 / 32768.0 - decoded)) <= 1.0001 / 32768

    back = read_ogg_opus(path)
    assert back == stream  # packets byte for byte, rate, pre-skip, length, frame size
    np.testing.assert_array_equal(decode_opus(back), decoded)


def test_ogg_pages_follow_rfc7845(tmp_path):
    clip = _noise(16000, seconds=5.0)
    stream = encode_opus(clip, 16000, bitrate_kbps=16)
    path = tmp_path / "clip.opus"
    write_ogg_opus(path, stream, tags={"TITLE": "noise", "ACOM_KBPS": "16"})
    pages = _raw_pages(path.read_bytes())

    assert [p["sequence"] for p in pages] == list(range(len(pages)))
    assert len({p["serial"] for p in pages}) == 1
    # Flags: BOS only on the first page, EOS only on the last, no continued packets anywhere.
    assert [p["flags"] for p in pages] == [0x02] + [0x00] * (len(pages) - 2) + [0x04]
    assert all(p["segments"] <= 255 for p in pages)

    head, tags = pages[0], pages[1]
    assert len(head["packets"]) == 1 and head["granule"] == 0
    magic, version, channels, pre_skip, input_rate, gain, family = struct.unpack("<8sBBHIhB", head["packets"][0])
    assert (magic, version, channels, pre_skip, input_rate, gain, family) == (b"OpusHead", 1, 1, 312, 16000, 0, 0)
    assert len(tags["packets"]) == 1 and tags["granule"] == 0 and tags["packets"][0].startswith(b"OpusTags")

    audio = pages[2:]
    assert [pkt for p in audio for pkt in p["packets"]] == stream.packets
    # 5 s + 104 samples of lookahead at 20 ms -> 251 packets; at most 1 s (50 packets) per page.
    assert len(stream.packets) == 251 and [len(p["packets"]) for p in audio] == [50, 50, 50, 50, 50, 1]
    # Granule: 48 kHz samples decoded through the page's last packet, pre-skip included; the last
    # page says pre-skip + clip length instead, which trims the zero padding off the end.
    assert [p["granule"] for p in audio[:-1]] == [960 * 50 * k for k in range(1, 6)]
    assert audio[-1]["granule"] == 312 + 80000 * 3

    meta = mutagen.oggopus.OggOpus(str(path))
    assert meta.info.length == pytest.approx(5.0, abs=1e-9)
    assert meta.tags.vendor == "acom" and meta.tags["TITLE"] == ["noise"] and meta.tags["ACOM_KBPS"] == ["16"]


def test_large_tags_span_pages_and_the_file_still_reads(tmp_path):
    stream = encode_opus(_noise(16000, seconds=0.5), 16000, bitrate_kbps=16)
    path = tmp_path / "clip.opus"
    write_ogg_opus(path, stream, tags={"COMMENT": "x" * 10000})
    pages = _raw_pages_allowing_continuation(path.read_bytes())
    # 10 kB of tags take two pages: the first carries granule -1 (no packet ends on it), the second
    # is flagged 'continued' and carries 0 (RFC 7845: zero where the comment header completes);
    # audio starts on a fresh, not-continued page (here the only one, so flagged EOS).
    assert [p["granule"] for p in pages[1:3]] == [-1, 0]
    assert [p["flags"] for p in pages[1:]] == [0x00, 0x01, 0x04]
    assert read_ogg_opus(path) == stream
    assert sf.read(str(path), dtype="float32")[0].shape == (8000,)
    assert mutagen.oggopus.OggOpus(str(path)).tags["COMMENT"] == ["x" * 10000]


def _raw_pages_allowing_continuation(data: bytes) -> list[dict]:
    """Page headers only (granule and flags), for files whose header packet spans pages."""
    pages, pos = [], 0
    while pos < len(data):
        _, flags, granule, _, sequence, _, n_segments = struct.unpack_from("<BBqIIIB", data, pos + 4)
        pages.append({"flags": flags, "granule": granule, "sequence": sequence})
        pos += 27 + n_segments + sum(data[pos + 27 : pos + 27 + n_segments])
    return pages


def test_a_corrupted_file_is_refused(tmp_path):
    stream = encode_opus(_noise(16000, seconds=0.5), 16000, bitrate_kbps=16)
    path = tmp_path / "clip.opus"
    write_ogg_opus(path, stream)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x01  # one bit in the last audio packet
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="CRC"):
        read_ogg_opus(path)


# --- alignment -----------------------------------------------------------------------------------


def test_decode_is_aligned_on_real_clips_at_every_default_bitrate(shared_esc50):
    for name, clip_id in ESC50_CLIPS.items():
        clip = _esc50(shared_esc50, clip_id)
        assert np.sqrt(np.mean(clip**2)) > 0.03, f"{name}: too quiet to locate a correlation peak"
        for kbps in DEFAULT_KBPS:
            decoded = decode_opus(encode_opus(clip, 16000, bitrate_kbps=kbps))
            assert decoded.shape == clip.shape and decoded.dtype == np.float32
            lag = _peak_lag(clip, decoded)
            if kbps <= 8:
                # At 6-8 kbps libopus codes SILK narrowband (8 kHz) and its decoder resamples to
                # 16 kHz with a filter whose delay differs from the encoder's compensation: the
                # decode leads by ~0.4-0.9 sample (measured), so the integer peak is 0 or -1.
                assert lag in (0, -1), f"{name} at {kbps} kbps: peak at lag {lag}"
            else:
                assert lag == 0, f"{name} at {kbps} kbps: peak at lag {lag}"


@pytest.mark.parametrize("rate, kbps, min_corr", [(48000, 64, 0.97), (8000, 12, 0.85)])
def test_decode_is_aligned_at_48k_and_8k(rate, kbps, min_corr):
    # 48 kHz at 64 kbps is CELT fullband; 8 kHz at 12 kbps is SILK narrowband with no resampling.
    clip = _noise(rate, seconds=2.0)
    decoded = decode_opus(encode_opus(clip, rate, bitrate_kbps=kbps))
    assert decoded.shape == clip.shape
    assert _peak_lag(clip, decoded) == 0
    # A check of the waveform, not only of the peak (measured: 0.99 and 0.90).
    assert np.corrcoef(clip, decoded)[0, 1] > min_corr


def test_removing_one_sample_less_would_be_caught():
    # The alignment check must be able to fail: shift a good decode by one sample and it does.
    clip = _noise(16000, seconds=2.0)
    decoded = decode_opus(encode_opus(clip, 16000, bitrate_kbps=32))
    assert _peak_lag(clip, decoded) == 0
    assert _peak_lag(clip, np.concatenate([[0.0], decoded[:-1]]).astype(np.float32)) == 1


# --- rate control --------------------------------------------------------------------------------


def test_cbr_spends_the_target_bitrate_on_real_clips(shared_esc50):
    for name, clip_id in ESC50_CLIPS.items():
        clip = _esc50(shared_esc50, clip_id)
        for kbps in (6, 12, 24, 64):
            stream = encode_opus(clip, 16000, bitrate_kbps=kbps, mode="cbr")
            # Every 20 ms packet is exactly target * 20 ms / 8 bytes; the one extra packet that
            # flushes the lookahead (251 packets for 5 s) is the only excess: +0.4%.
            assert {len(p) for p in stream.packets} == {kbps * 1000 * 20 // 1000 // 8}, name
            assert _kbps(stream) == pytest.approx(kbps * 251 / 250, rel=1e-9)
            assert abs(_kbps(stream) / kbps - 1) < 0.01


def test_vbr_spends_far_less_on_a_quiet_clip_than_on_a_loud_one(shared_esc50):
    quiet = _esc50(shared_esc50, ESC50_CLIPS["dog"])       # measured: 3.5 kbps at 16, 3.4 at 24
    loud = _esc50(shared_esc50, ESC50_CLIPS["chainsaw"])   # measured: 15.4 kbps at 16, 24.0 at 24
    for kbps in (16, 24):
        quiet_kbps = _kbps(encode_opus(quiet, 16000, bitrate_kbps=kbps, mode="vbr"))
        loud_kbps = _kbps(encode_opus(loud, 16000, bitrate_kbps=kbps, mode="vbr"))
        assert quiet_kbps < 0.3 * kbps
        assert 0.85 * kbps < loud_kbps < 1.1 * kbps
        # And VBR really is variable: packet sizes differ within a clip, unlike CBR.
    assert len({len(p) for p in encode_opus(loud, 16000, bitrate_kbps=16).packets}) > 10


def test_constrained_vbr_holds_the_target_where_free_vbr_overshoots(shared_esc50):
    # Church bells at 24 kbps (CELT): free VBR spends ~25% over target on the tonal attacks, CVBR
    # (libopus's default, which "vbr" must switch off) stays within a few percent. Measured:
    # VBR 29.9 kbps, max packet 117 B; CVBR 24.9 kbps, max packet 93 B.
    bells = _esc50(shared_esc50, ESC50_CLIPS["church_bells"])
    free = encode_opus(bells, 16000, bitrate_kbps=24, mode="vbr")
    constrained = encode_opus(bells, 16000, bitrate_kbps=24, mode="cvbr")
    assert _kbps(free) > 1.15 * 24
    assert abs(_kbps(constrained) / 24 - 1) < 0.06
    assert max(map(len, constrained.packets)) < max(map(len, free.packets))


# --- edge cases ----------------------------------------------------------------------------------


def test_a_clip_shorter_than_one_frame_decodes_to_its_own_length(tmp_path):
    clip = _noise(16000)[:100]
    stream = encode_opus(clip, 16000, bitrate_kbps=16)
    assert len(stream.packets) == 1  # 100 samples + 104 lookahead fit one 320-sample frame
    decoded = decode_opus(stream)
    assert decoded.shape == (100,)
    path = tmp_path / "short.opus"
    write_ogg_opus(path, stream)
    assert sf.read(str(path), dtype="float32")[0].shape == (100,)


def test_a_silent_clip_codes_to_silence_and_few_bytes():
    silence = np.zeros(80000, dtype=np.float32)
    stream = encode_opus(silence, 16000, bitrate_kbps=16)
    decoded = decode_opus(stream)
    assert decoded.shape == (80000,)
    assert np.max(np.abs(decoded)) < 1e-4  # measured: one 16-bit LSB at most
    assert _kbps(stream) < 0.25 * 16  # measured: 3.2 kbps (8-9 bytes per packet)


@pytest.mark.parametrize("bad, what", [(np.nan, "NaN"), (np.inf, "Inf")])
def test_non_finite_samples_are_refused(bad, what):
    clip = _noise(16000)
    clip[500] = bad
    with pytest.raises(ValueError, match=f"1 {what}"):
        encode_opus(clip, 16000, bitrate_kbps=16)


@pytest.mark.parametrize("kwargs, name", [
    ({"sample_rate": 44100}, "sample_rate"),
    ({"bitrate_kbps": 5.9}, "bitrate_kbps"),
    ({"bitrate_kbps": 511}, "bitrate_kbps"),
    ({"bitrate_kbps": float("nan")}, "bitrate_kbps"),
    ({"mode": "abr"}, "mode"),
    ({"complexity": 11}, "complexity"),
    ({"complexity": 5.5}, "complexity"),
    ({"frame_ms": 30}, "frame_ms"),
    ({"application": "music"}, "application"),
])
def test_bad_settings_are_refused_naming_the_setting(kwargs, name):
    settings = {"sample_rate": 16000, "bitrate_kbps": 16} | kwargs
    with pytest.raises(ValueError, match=name):
        OpusCodec(**settings)
    rate = settings.pop("sample_rate")
    with pytest.raises(ValueError, match=name):
        encode_opus(_noise(16000)[:1000], rate, **settings)


@pytest.mark.parametrize("clip, problem", [
    (np.zeros(0, dtype=np.float32), "empty"),
    (np.zeros((2, 100), dtype=np.float32), "mono"),
    (np.zeros(100, dtype=np.int16), "float"),
])
def test_bad_clips_are_refused(clip, problem):
    with pytest.raises(ValueError, match=problem):
        encode_opus(clip, 16000, bitrate_kbps=16)


# --- the codec object and determinism ------------------------------------------------------------


def test_codec_codes_a_real_clip_and_reports_its_bytes(shared_esc50, tmp_path):
    clip = _esc50(shared_esc50, ESC50_CLIPS["rain"])
    codec = OpusCodec(bitrate_kbps=12)
    assert (codec.sample_rate, codec.extension) == (16000, ".opus")
    path = tmp_path / "rain.opus"
    start = time.perf_counter()
    coded = codec.code(clip, path)
    elapsed = time.perf_counter() - start
    assert isinstance(coded, CodedClip)
    assert coded.file_bytes == path.stat().st_size
    stream = read_ogg_opus(path)
    assert coded.payload_bytes == payload_bytes(stream)
    # Ogg overhead, exactly: OpusHead page 27 + 1 + 19, OpusTags page 27 + 1 + 20, then per audio
    # page 27 header bytes, plus one lacing value per packet (all < 255 bytes at 12 kbps).
    # 251 packets on 6 pages: 508 bytes, 0.8 kbps over 5 s.
    pages = _raw_pages(path.read_bytes())
    assert coded.file_bytes - coded.payload_bytes == 47 + 48 + 27 * (len(pages) - 2) + len(stream.packets) == 508
    np.testing.assert_array_equal(coded.decoded, decode_opus(stream))
    assert coded.decoded.shape == clip.shape
    assert elapsed < 2.0  # measured ~60 ms per 5 s clip for encode + write + decode


def test_coding_is_deterministic_byte_for_byte(tmp_path):
    clip = _noise(16000, seconds=2.0)
    codec = OpusCodec(bitrate_kbps=16)
    first = codec.code(clip, tmp_path / "a.opus")
    second = OpusCodec(bitrate_kbps=16).code(clip, tmp_path / "sub" / "b.opus")
    assert (tmp_path / "a.opus").read_bytes() == (tmp_path / "sub" / "b.opus").read_bytes()
    np.testing.assert_array_equal(first.decoded, second.decoded)
    # A different clip gets a different stream serial (bytes 14-17 of every page).
    codec.code(_noise(16000, seconds=2.0, seed=1), tmp_path / "c.opus")
    assert (tmp_path / "a.opus").read_bytes()[14:18] != (tmp_path / "c.opus").read_bytes()[14:18]


def test_code_batch_codes_each_clip(tmp_path):
    clips = [_noise(16000, seconds=0.5, seed=s) for s in range(3)]
    paths = [tmp_path / f"{s}.opus" for s in range(3)]
    coded = OpusCodec(bitrate_kbps=16).code_batch(clips, paths)
    assert [c.decoded.shape for c in coded] == [(8000,)] * 3
    assert [c.file_bytes for c in coded] == [p.stat().st_size for p in paths]


# --- bit allocation by region of interest --------------------------------------------------------
ROI_S = [(1.0, 2.0), (3.5, 4.2)]


def test_frame_by_frame_bitrate_changes_the_bytes_exactly_where_the_roi_says(tmp_path):
    clip = _noise(16000, seconds=5.0)
    codec = OpusCodec(bitrate_kbps=32, mode="cbr")
    coded = codec.code_roi(clip, tmp_path / "roi.opus", ROI_S, floor_kbps=6)
    stream = read_ogg_opus(tmp_path / "roi.opus")  # the packets as stored in the file's Ogg pages
    sizes = np.array([len(packet) for packet in stream.packets])
    inside = roi_frame_mask(ROI_S, n_frames=len(sizes), frame_size=320, lookahead=104, sample_rate=16000,
                            n_samples=clip.size)
    # CBR: a 20 ms frame is exactly kbps * 20 / 8 bytes, 80 at 32 kbps and 15 at 6 kbps.
    assert set(sizes[inside]) == {80} and set(sizes[~inside]) == {15}
    # The region's frames are the ones whose decoded samples lie mostly inside it (lookahead shifted).
    starts_s = (np.arange(len(sizes)) * 320 - 104) / 16000
    assert inside.sum() == round(0.7 * 50 + 1.0 * 50)
    assert np.all((starts_s[inside] >= 1.0 - 0.011) & (starts_s[inside] < 4.2))
    assert coded.payload_bytes == sizes.sum()
    # The decode keeps the input's length and alignment, inside and outside the region.
    assert coded.decoded.shape == clip.shape
    assert _peak_lag(clip[16000:32000], coded.decoded[16000:32000]) == 0
    plain = codec.code(clip, tmp_path / "plain.opus")
    assert coded.payload_bytes < 0.6 * plain.payload_bytes


def test_roi_coding_on_a_real_clip_spends_more_inside_and_stays_aligned(shared_esc50, tmp_path):
    clip = _esc50(shared_esc50, ESC50_CLIPS["chainsaw"])  # dense: VBR spends on every frame
    coded = OpusCodec(bitrate_kbps=24).code_roi(clip, tmp_path / "saw.opus", [(0.0, 2.5)], floor_kbps=6)
    stream = read_ogg_opus(tmp_path / "saw.opus")
    sizes = np.array([len(packet) for packet in stream.packets])
    inside = roi_frame_mask([(0.0, 2.5)], n_frames=len(sizes), frame_size=320, lookahead=104, sample_rate=16000,
                            n_samples=clip.size)
    assert sizes[inside].mean() > 2 * sizes[~inside].mean()
    assert coded.decoded.shape == clip.shape
    assert _peak_lag(clip[:40000], coded.decoded[:40000]) == 0


def test_a_region_needs_a_valid_floor_rate():
    with pytest.raises(ValueError, match="floor_kbps"):
        encode_opus(_noise(16000), 16000, bitrate_kbps=24, roi=[(0.0, 0.5)])
    with pytest.raises(ValueError, match="bitrate_kbps: 2 is outside"):
        encode_opus(_noise(16000), 16000, bitrate_kbps=24, roi=[(0.0, 0.5)], floor_kbps=2)
    with pytest.raises(ValueError, match="not a forward interval"):
        encode_opus(_noise(16000), 16000, bitrate_kbps=24, roi=[(0.5, 0.2)], floor_kbps=6)
