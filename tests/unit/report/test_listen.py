"""Listening page: content and escaping, spectrogram scale, a portable folder, and - in a real headless
Chromium - every player loading and every file decoding to its full length (and broken files caught)."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from matplotlib.image import imread

from acom.report.listen import (
    SpectrogramStyle,
    audio_problems,
    browser_audio_report,
    build_listening_page,
    clip_spectrograms,
    find_chromium,
    normalise_predictions,
    predictions_html,
    screenshot,
    top_predictions,
)

DURATION_S = 2.0


class _Elements(HTMLParser):
    """Start tags with their attributes, and the page's text."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def of(self, tag):
        return [attrs for name, attrs in self.tags if name == tag]


def _parse(page: Path) -> _Elements:
    parser = _Elements()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _chirp(sample_rate, *, gain=0.3, seconds=DURATION_S):
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (gain * np.sin(2 * np.pi * (200 + 900 * t) * t)).astype(np.float32)


def _rows(source_dir: Path) -> pd.DataFrame:
    """Two clips x three conditions: a 16 kHz original (FLAC), a low-passed copy given as WAV (gets
    re-encoded), and a 24 kHz "decode" (a codec's output rate differs from the original's)."""
    source_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for clip, category in [("1-100032-A-0", "dog"), ("2-99/x&y", "<b>cat & co</b>")]:
        name = clip.replace("/", "_")
        original, lowpass, decoded = (source_dir / f"{name}_orig.flac", source_dir / f"{name}_lp.wav",
                                      source_dir / f"{name}_opus.flac")
        sf.write(original, _chirp(16000), 16000, subtype="PCM_16")
        sf.write(lowpass, _chirp(16000, gain=0.1), 16000, subtype="FLOAT")
        sf.write(decoded, _chirp(24000), 24000, subtype="PCM_16")
        preds = {"mn04": [(category, 0.93), ("rooster", 0.04)], "mfcc": ("pig", 0.41)}
        rows += [
            {"clip_id": clip, "category": category, "condition": "original", "filter": "none", "codec": "none",
             "actual_kbps": 256.0, "audio_path": str(original), "predictions": preds},
            {"clip_id": clip, "category": category, "condition": "lowpass_4000", "filter": "lowpass_4000",
             "codec": "none", "actual_kbps": 256.0, "audio_path": str(lowpass), "predictions": None},
            {"clip_id": clip, "category": category, "condition": "opus 12 kbps / <i>", "filter": "none",
             "codec": "opus_12", "actual_kbps": 9.9, "audio_path": str(decoded), "predictions": float("nan")},
        ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("listen")
    rows = _rows(base / "sources")
    return rows, build_listening_page(rows, base / "page", title="Listening <test>")


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium on PATH (Debian package `chromium`, installed by install.sh): browser checks skipped")
    return path


def test_top_predictions_and_prediction_cells():
    assert top_predictions([0.1, 0.7, 0.2], ["dog", "cat", "pig"], k=2) == [("cat", 0.7), ("pig", 0.2)]
    with pytest.raises(ValueError, match="3 probabilities for 2 classes"):
        top_predictions([0.1, 0.7, 0.2], ["dog", "cat"])
    assert normalise_predictions(None) == [] and normalise_predictions(float("nan")) == []
    assert normalise_predictions(("dog", 0.9)) == [("", [("dog", 0.9)])]
    assert normalise_predictions({"a": [("dog", 0.9), ("cat", 0.1)], "b": ("cat", 0.6), "c": None}) == [
        ("a", [("dog", 0.9), ("cat", 0.1)]), ("b", [("cat", 0.6)])]
    cell = predictions_html({"mn04": [("dog", 0.93), ("<cat>", 0.04)], "mfcc": ("pig", 0.41)}, "dog")
    assert 'class="pred right"><span class="model">mn04</span> predicted: <b>dog</b> (0.93)' in cell
    assert "✓" in cell and "✗" in cell and "&lt;cat&gt; (0.04)" in cell and "<cat>" not in cell
    assert 'class="pred wrong"><span class="model">mfcc</span> predicted: <b>pig</b> (0.41)' in cell


def test_spectrograms_share_one_scale_per_clip_across_sample_rates():
    style = SpectrogramStyle()
    loud16, quiet16, loud24 = _chirp(16000), _chirp(16000, gain=0.03), _chirp(24000)
    (db_loud, db_quiet, db_24), vmin, vmax = clip_spectrograms([(loud16, 16000), (quiet16, 16000), (loud24, 24000)],
                                                               style)
    assert db_loud.shape == db_quiet.shape == db_24.shape == (64, int(DURATION_S / 0.01) + 1)
    assert vmax == pytest.approx(max(db_loud.max(), db_24.max())) and vmax - vmin == 80.0
    active = db_loud > vmax - 40
    np.testing.assert_allclose(db_quiet[active], db_loud[active] - 20.0, atol=1e-3)  # 0.1x amplitude: -20 dB
    # The same sound at 24 kHz lands on the same colours (calibrated band power, common 0-8 kHz bands).
    assert np.median(np.abs(db_24[active] - db_loud[active])) < 0.5


def test_page_content_files_and_escaping(built):
    rows, page = built
    root = page.parent
    parsed = _parse(page)
    audio, images = parsed.of("audio"), parsed.of("img")
    assert len(audio) == len(images) == len(rows)
    for attrs, source in zip(audio, rows["audio_path"]):
        src = attrs["src"]
        assert not src.startswith(("/", "file:")) and src.startswith("audio/") and src.endswith(".flac")
        copied = root / src
        assert sf.info(str(copied)).format == "FLAC"
        assert float(attrs["data-expected-seconds"]) == pytest.approx(DURATION_S)
        if source.endswith(".flac"):
            assert copied.read_bytes() == Path(source).read_bytes()  # exactly what the models heard
        else:
            np.testing.assert_allclose(sf.read(copied)[0], sf.read(source)[0], atol=1 / 32768)
        assert "controls" in attrs and attrs["data-state"] == "pending"
    for attrs in images:
        png = imread(root / attrs["src"])
        assert png.shape[:2] == (int(attrs["height"]), int(attrs["width"])) == (128, int(DURATION_S / 0.01) + 1)
    text = "".join(parsed.text)
    assert "true class: <b>cat & co</b>" in text  # shown literally ...
    html_text = page.read_text(encoding="utf-8")
    assert "&lt;b&gt;cat &amp; co&lt;/b&gt;" in html_text and "<b>cat & co</b>" not in html_text  # ... escaped
    assert "opus 12 kbps / &lt;i&gt;" in html_text and "<title>Listening &lt;test&gt;</title>" in html_text
    assert "9.9" in text and "256.0" in text and "predicted: " in text
    assert not list(root.rglob(".*.part")), "a temporary file was left behind"


def test_bad_rows_are_refused(tmp_path):
    rows = _rows(tmp_path / "sources")
    with pytest.raises(ValueError, match="lack column"):
        build_listening_page(rows.drop(columns=["predictions"]), tmp_path / "page")
    broken = rows.assign(audio_path=rows["audio_path"].where(rows.index != 1, str(tmp_path / "gone.flac")))
    with pytest.raises(FileNotFoundError, match="gone.flac"):
        build_listening_page(broken, tmp_path / "page")


def test_every_player_loads_and_decodes_in_chromium_after_moving_the_folder(built, chromium, tmp_path):
    rows, page = built
    moved = tmp_path / "elsewhere" / "listening"
    shutil.copytree(page.parent, moved)  # the folder is self-contained: nothing outside it is used
    report, settled = browser_audio_report(moved / "index.html", chromium=chromium)
    assert settled and len(report) == len(rows)
    assert report["exists"].all() and (report["state"] == "ok").all() and (report["decode"] == "ok").all()
    np.testing.assert_allclose(report["decoded_s"], DURATION_S, atol=0.01)
    np.testing.assert_allclose(report["duration_s"], DURATION_S, atol=0.01)
    assert audio_problems(report, settled=settled) == []


def test_broken_audio_is_reported_by_the_browser_check(built, chromium, tmp_path):
    _, page = built
    copy = tmp_path / "page"
    shutil.copytree(page.parent, copy)
    srcs = [attrs["src"] for attrs in _parse(copy / "index.html").of("audio")]
    garbage, truncated, missing = srcs[0], srcs[2], srcs[4]
    (copy / garbage).write_bytes(b"fLaC" + bytes(range(256)) * 16)
    whole = (copy / truncated).read_bytes()
    (copy / truncated).write_bytes(whole[: len(whole) // 3])
    (copy / missing).unlink()
    report, settled = browser_audio_report(copy / "index.html", chromium=chromium)
    by_src = report.set_index("src")
    assert by_src.loc[garbage, "state"] == "error" and by_src.loc[garbage, "decode"] == "error"
    assert by_src.loc[truncated, "decoded_s"] < DURATION_S / 2  # the header still loads; decoding comes up short
    assert not by_src.loc[missing, "exists"] and by_src.loc[missing, "state"] == "error"
    problems = audio_problems(report, settled=settled)
    flagged = {src for src in srcs if any(p.startswith(src + ":") for p in problems)}
    assert flagged == {garbage, truncated, missing}


def test_screenshot(built, chromium, tmp_path):
    _, page = built
    png = screenshot(page, tmp_path / "shots" / "listening.png", chromium=chromium, width=900, height=700)
    image = imread(png)
    assert image.shape[:2] == (700, 900) and image[..., :3].std() > 0.05
    assert not list(png.parent.glob(".*")), "scratch files were left behind"



def test_coded_files_of_every_browser_format_play_and_decode_to_the_clip_length_in_chromium(chromium, tmp_path):
    from acom.codecs import build_codec

    clip = _chirp(16000)
    source = tmp_path / "sources"
    original = source / "orig.flac"
    source.mkdir()
    sf.write(original, clip, 16000, subtype="PCM_16")
    rows = [{"clip_id": "1-1-A-1", "category": "dog", "condition": "original", "filter": "none", "codec": "none",
             "actual_kbps": 256.0, "audio_path": str(original), "predictions": None, "bitstream_path": None}]
    for entry, kbps in [({"type": "opus"}, 12), ({"type": "mp3"}, 16), ({"type": "mp3", "mode": "abr"}, 24),
                        ({"type": "aac"}, 16), ({"type": "vorbis"}, 32), ({"type": "lc3"}, 24)]:
        codec = build_codec({**entry, "bitrates_kbps": [kbps]}, kbps, cache_dir=tmp_path)
        bitstream = source / f"{entry['type']}_{entry.get('mode', '')}_{kbps}{codec.extension}"
        coded = codec.code_batch([clip], [bitstream])[0]
        decoded = source / f"{bitstream.stem}.flac"
        sf.write(decoded, coded.decoded, 16000, subtype="PCM_16")
        rows.append({"clip_id": "1-1-A-1", "category": "dog", "condition": bitstream.stem, "filter": "none",
                     "codec": f"{entry['type']}_{kbps}", "actual_kbps": float(kbps), "audio_path": str(decoded),
                     "predictions": None, "bitstream_path": str(bitstream)})
    page = build_listening_page(pd.DataFrame(rows), tmp_path / "page")
    links = [attrs["href"] for attrs in _parse(page).of("a") if "download" in attrs]
    assert len(links) == 1 and links[0].endswith(".coded.lc3")  # browsers do not play LC3: a download link
    report, settled = browser_audio_report(page, chromium=chromium)
    coded_players = report[report["src"].str.contains(".coded.")]
    assert sorted(src.rsplit(".", 1)[1] for src in coded_players["src"]) == ["m4a", "mp3", "mp3", "ogg", "opus"]
    assert len(report) == len(rows) + 5
    assert audio_problems(report, settled=settled) == []
    # Gapless to the sample period: each decodes to the clip's length within 10 ms, except that
    # Chromium's FFmpeg drops the last short Vorbis block of these streams (256
    # samples here; libvorbisfile decodes all of it, see acom/codecs/ffmpeg.py).
    exact = report[~report["src"].str.endswith(".ogg")]
    assert audio_problems(exact, settled=settled, tolerance_s=0.01) == []
