"""A static, self-contained listening page: hear and see what each filter and codec did to a clip,
next to what the models predicted from it.

``build_listening_page`` writes ``<out_dir>/index.html`` with, for every clip, one table row per
condition (original, filters, codecs at each bitrate): a log-mel spectrogram, an HTML5 audio player,
the bitrate actually spent and each model's prediction. Audio is copied into ``<out_dir>/audio`` and
spectrograms into ``<out_dir>/spectrograms``, all referenced by relative URLs, so the folder can be
zipped, moved or served as it is. Every file is written atomically, the page last: an
``index.html`` that exists refers to files that exist.

The page's small inline script marks any player whose file the browser cannot load (visible to the
listener, recorded in ``data-state`` for tests). Opened as ``index.html#verify`` it also decodes
every file completely with Web Audio and records the decoded length (``data-decode``,
``data-decoded-seconds``), which :func:`browser_audio_report` reads back from headless Chromium:
this is how the tests prove each file decodes in a real browser, and how a truncated file (which
still loads its header) is caught.
"""

from __future__ import annotations

import html
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd
import soundfile as sf

from acom.io import atomic_output, read_audio, write_flac

REQUIRED_COLUMNS = ("clip_id", "category", "condition", "filter", "codec", "actual_kbps", "audio_path", "predictions")
#: Coded files a browser plays as they are (the optional ``bitstream_path`` column): extension -> MIME
#: type. Others (LC3, EnCodec's .ecdc) get a download link; their decode is what the row plays.
BROWSER_AUDIO_TYPES = {".opus": "audio/ogg", ".ogg": "audio/ogg", ".mp3": "audio/mpeg", ".m4a": "audio/mp4"}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
#: Flags every headless Chromium run here uses. --no-sandbox: Chromium refuses to start as root (and
#: in most containers) with its sandbox; --disable-dev-shm-usage: containers' /dev/shm is tiny;
#: --allow-file-access-from-files: lets the #verify check read the page's own audio over file://.
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--no-default-browser-check", "--mute-audio", "--hide-scrollbars", "--allow-file-access-from-files",
    "--autoplay-policy=no-user-gesture-required",
)
REPORT_COLUMNS = ["src", "exists", "state", "duration_s", "decode", "decoded_s", "expected_s", "error"]


@dataclass(frozen=True)
class SpectrogramStyle:
    """How spectrograms are computed and drawn: log-mel power (``n_mels`` bands from 0 Hz to the
    lowest Nyquist frequency among a clip's conditions, ``win_s`` Hann windows every ``hop_s``), in
    dB, coloured over ``top_db`` below the loudest bin of the clip (all its conditions share it)."""

    n_mels: int = 64
    win_s: float = 0.025
    hop_s: float = 0.010
    top_db: float = 80.0
    row_pixels: int = 2
    colormap: str = "magma"


# --------------------------------------------------------------------------------------------- audio


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (``"opus 12 kbps / lowpass"`` -> ``"opus_12_kbps_lowpass"``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._") or "x"


def copy_audio(source: str | os.PathLike, destination: str | os.PathLike) -> Path:
    """Put ``source`` at ``destination`` (a ``.flac`` path) atomically: a FLAC file is copied byte for
    byte (the listener hears exactly the decode the models saw); anything else soundfile reads is
    re-encoded as 16-bit FLAC, which every current browser plays."""
    source, destination = Path(source), Path(destination)
    if not source.is_file():
        raise FileNotFoundError(f"audio file {source} does not exist")
    if sf.info(str(source)).format == "FLAC":
        with atomic_output(destination) as tmp:
            shutil.copyfile(source, tmp)
    else:
        samples, sample_rate = read_audio(source)
        write_flac(destination, samples, sample_rate)
    return destination


# ------------------------------------------------------------------------------------- spectrograms


def mel_power(samples: np.ndarray, sample_rate: int, *, fmax: float, style: SpectrogramStyle) -> np.ndarray:
    """Mel band power (n_mels x frames) of one clip, comparable across sample rates.

    Each STFT bin's power is scaled to power per bin width (|X|^2 / (n_fft * sum(w^2))) and the mel
    triangles are unnormalised, so a band's value is the signal power inside it whatever the sample
    rate and FFT size: a 24 kHz decode and its 16 kHz original land on the same colour scale.
    """
    import librosa
    from scipy.signal import get_window

    win = round(style.win_s * sample_rate)
    n_fft = 1 << (win - 1).bit_length()
    hop = round(style.hop_s * sample_rate)
    window = get_window("hann", win, fftbins=True)
    spectrum = librosa.stft(np.asarray(samples, dtype=np.float32), n_fft=n_fft, hop_length=hop, win_length=win,
                            window=window, center=True)
    power = np.abs(spectrum) ** 2 / (n_fft * np.sum(window ** 2))
    bank = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=style.n_mels, fmin=0.0, fmax=fmax, norm=None)
    return bank @ power


def clip_spectrograms(waves: Sequence[tuple[np.ndarray, int]], style: SpectrogramStyle
                      ) -> tuple[list[np.ndarray], float, float]:
    """dB mel spectrograms of all conditions of one clip and their shared colour range (vmin, vmax):
    vmax is the loudest band of any condition, vmin ``top_db`` below it, so brightness means the same
    in every row of the clip."""
    fmax = min(sr for _, sr in waves) / 2.0
    dbs = [10.0 * np.log10(np.maximum(mel_power(x, sr, fmax=fmax, style=style), 1e-12)) for x, sr in waves]
    vmax = max(float(db.max()) for db in dbs)
    return dbs, vmax - style.top_db, vmax


def write_spectrogram_png(db: np.ndarray, path: str | os.PathLike, *, vmin: float, vmax: float,
                          style: SpectrogramStyle) -> tuple[int, int]:
    """Draw one dB spectrogram (low frequencies at the bottom) as a PNG, atomically; returns its
    (width, height) in pixels. Each mel band is ``row_pixels`` tall, each frame one pixel wide."""
    from matplotlib.image import imsave

    image = np.repeat(db, style.row_pixels, axis=0)
    with atomic_output(path) as tmp:
        imsave(tmp, image, vmin=vmin, vmax=vmax, cmap=style.colormap, origin="lower", format="png")
    return image.shape[1], image.shape[0]


# -------------------------------------------------------------------------------------- predictions


def top_predictions(probabilities: Sequence[float], class_names: Sequence[str], k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` most probable classes as (name, probability), best first: the form the page's
    ``predictions`` column takes per model. ``probabilities[i]`` belongs to ``class_names[i]`` (for the
    per-fold prediction tables: the classifier's sorted targets, i.e. ESC-50 target order)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.shape != (len(class_names),):
        raise ValueError(f"{probabilities.shape[0]} probabilities for {len(class_names)} classes")
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(str(class_names[i]), float(probabilities[i])) for i in order]


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def normalise_predictions(value) -> list[tuple[str, list[tuple[str, float]]]]:
    """The ``predictions`` cell as [(model name, [(label, probability), ...] best first), ...].

    Accepted: a mapping model -> ranked list of (label, probability) pairs or one such pair (several
    models side by side); a bare list or pair (one unnamed model); None, NaN or empty (no prediction).
    """
    if _is_missing(value):
        return []
    items = value.items() if isinstance(value, Mapping) else [("", value)]
    result = []
    for model, ranked in items:
        if _is_missing(ranked):
            continue
        ranked = list(ranked)
        if len(ranked) == 2 and isinstance(ranked[0], str):  # a single (label, probability) pair
            ranked = [ranked]
        pairs = [(str(label), float(prob)) for label, prob in ranked]
        if pairs:
            result.append((str(model), pairs))
    return result


def predictions_html(value, true_label: str) -> str:
    """One line per model: ``model: predicted: dog (0.93) ✓`` and, smaller, the runners-up."""
    lines = []
    for model, ranked in normalise_predictions(value):
        (label, prob), rest = ranked[0], ranked[1:]
        correct = label == str(true_label)
        name = f'<span class="model">{html.escape(model)}</span> ' if model else ""
        also = ""
        if rest:
            others = ", ".join(f"{html.escape(lab)} ({p:.2f})" for lab, p in rest)
            also = f' <span class="also">then {others}</span>'
        mark = "✓" if correct else "✗"
        lines.append(f'<div class="pred {"right" if correct else "wrong"}">{name}predicted: '
                     f'<b>{html.escape(label)}</b> ({prob:.2f}) <span class="mark">{mark}</span>{also}</div>')
    return "\n".join(lines) or '<span class="none">–</span>'


# ---------------------------------------------------------------------------------------------- page

_CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; }
p.note, p.scale { color: #555; font-size: 0.9em; max-width: 60em; }
nav a { margin-right: 0.8em; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #ddd; padding: 0.35em 0.6em; text-align: left; vertical-align: middle; }
th { background: #f4f4f4; font-weight: 600; }
td.kbps { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
img.spec { display: block; image-rendering: auto; }
td.predictions { min-width: 14em; max-width: 24em; } .pred { margin: 0.15em 0; } .pred.right .mark { color: #127a12; } .pred.wrong .mark { color: #b00; }
.pred .model { color: #555; } .pred .also { color: #777; font-size: 0.85em; }
div.bitstream { color: #555; font-size: 0.85em; margin-top: 0.3em; }
td.audio-failed::after { content: "⚠ this file could not be loaded or decoded"; display: block; color: #b00; }
"""

# Marks players that fail to load (for listeners) and, with #verify in the URL, decodes every file
# fully with Web Audio (for tests); body[data-audio-check] turns "done" once every check settled.
_SCRIPT = """
(() => {
  const verify = location.hash.includes('verify');
  const players = Array.from(document.querySelectorAll('audio[data-state]'));
  let pending = players.length * (verify ? 2 : 1);
  const settle = () => { pending -= 1; if (pending === 0) document.body.dataset.audioCheck = 'done'; };
  if (pending === 0) document.body.dataset.audioCheck = 'done';
  const context = verify ? new OfflineAudioContext(1, 1, 44100) : null;
  for (const audio of players) {
    const loaded = () => {
      if (audio.dataset.state !== 'pending') return;
      audio.dataset.state = 'ok'; audio.dataset.duration = String(audio.duration); settle();
    };
    const failed = () => {
      if (audio.dataset.state !== 'pending') return;
      audio.dataset.state = 'error';
      audio.dataset.error = audio.error ? audio.error.code + ': ' + audio.error.message : 'unknown error';
      audio.parentElement.classList.add('audio-failed'); settle();
    };
    audio.addEventListener('loadedmetadata', loaded);
    audio.addEventListener('error', failed);
    if (audio.error) failed(); else if (audio.readyState >= 1) loaded();
    if (!verify) continue;
    const request = new XMLHttpRequest();
    request.open('GET', audio.getAttribute('src'));
    request.responseType = 'arraybuffer';
    request.onload = () => context.decodeAudioData(request.response).then(
      buffer => { audio.dataset.decode = 'ok'; audio.dataset.decodedSeconds = String(buffer.duration); settle(); },
      error => { audio.dataset.decode = 'error'; audio.dataset.decodeError = String(error); settle(); });
    request.onerror = () => { audio.dataset.decode = 'unreadable'; settle(); };
    request.send();
  }
})();
"""


@dataclass(frozen=True)
class PageRow:
    """One condition of one clip as the page shows it (paths relative to the page)."""

    condition: str
    filter: str
    codec: str
    actual_kbps: float
    audio_src: str
    expected_s: float
    spectrogram_src: str
    spectrogram_size: tuple[int, int]
    predictions_html: str
    #: The coded file as a listener would receive it (relative URL), when the row has one.
    bitstream_src: str | None = None


def _url(relative: Path) -> str:
    return quote(relative.as_posix())


def _kbps_text(kbps: float) -> str:
    return "–" if _is_missing(kbps) else f"{kbps:.1f}"


def _row_html(row: PageRow) -> str:
    width, height = row.spectrogram_size
    esc = html.escape
    return (
        "<tr>"
        f'<td class="condition">{esc(row.condition)}</td><td>{esc(row.filter)}</td><td>{esc(row.codec)}</td>'
        f'<td class="kbps">{_kbps_text(row.actual_kbps)}</td>'
        f'<td><img class="spec" src="{esc(row.spectrogram_src)}" width="{width}" '
        f'height="{height}" alt="{esc("log-mel spectrogram of " + row.condition)}"></td>'
        f'<td><audio controls preload="metadata" src="{esc(row.audio_src)}" data-state="pending" '
        f'data-expected-seconds="{row.expected_s:.6f}"></audio>{_bitstream_html(row)}</td>'
        f'<td class="predictions">{row.predictions_html}</td>'
        "</tr>"
    )


def _bitstream_html(row: PageRow) -> str:
    """The coded file under the decode's player: a second player where browsers play the format,
    else a download link."""
    if row.bitstream_src is None:
        return ""
    esc = html.escape
    suffix = Path(unquote(row.bitstream_src)).suffix
    if suffix in BROWSER_AUDIO_TYPES:
        return (f'<div class="bitstream">coded file ({esc(suffix)}):<br><audio controls preload="metadata" '
                f'src="{esc(row.bitstream_src)}" data-state="pending" data-expected-seconds="{row.expected_s:.6f}">'
                "</audio></div>")
    return f'<div class="bitstream"><a href="{esc(row.bitstream_src)}" download>coded file ({esc(suffix)})</a></div>'


def _section_html(anchor: str, clip_id: str, category: str, rows: Sequence[PageRow], vmin: float, vmax: float,
                  fmax: float) -> str:
    esc = html.escape
    header = ("<tr><th>condition</th><th>filter</th><th>codec</th><th>actual kbps</th><th>log-mel spectrogram</th>"
              "<th>listen</th><th>predictions</th></tr>")
    body = "\n".join(_row_html(row) for row in rows)
    return (
        f'<section class="clip" id="{esc(anchor)}">\n'
        f'<h2>{esc(clip_id)} <span class="category">— true class: {esc(category)}</span></h2>\n'
        f'<p class="scale">Spectrograms: 0–{fmax / 1000:g} kHz on a mel scale; colour from {vmin:.0f} to '
        f"{vmax:.0f} dB (re digital full scale), shared by every row of this clip.</p>\n"
        f"<table>\n<thead>{header}</thead>\n<tbody>\n{body}\n</tbody>\n</table>\n</section>"
    )


def render_page(title: str, sections: Sequence[str], anchors: Sequence[tuple[str, str]]) -> str:
    """The whole HTML document around the clip sections (``anchors``: (id, link text) for the index)."""
    esc = html.escape
    nav = " ".join(f'<a href="#{esc(anchor)}">{esc(text)}</a>' for anchor, text in anchors)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        '<body data-audio-check="pending">\n'
        f"<h1>{esc(title)}</h1>\n"
        '<p class="note">Each row is one condition of the clip: the original, each ROI filter, each codec at '
        "each bitrate. <em>actual kbps</em> is the bitrate the codec really spent on this clip (payload bits / "
        "duration); for uncoded rows it is the PCM rate. Predictions are each model's most probable classes "
        "(✓: the true class).</p>\n"
        f"<nav>{nav}</nav>\n" + "\n".join(sections) + f"\n<script>{_SCRIPT}</script>\n</body>\n</html>\n"
    )


def _check_rows(rows: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"listening rows lack column(s) {missing}; need {list(REQUIRED_COLUMNS)}")
    if rows.empty:
        raise ValueError("no listening rows: nothing to put on the page")
    paths = list(rows["audio_path"])
    if "bitstream_path" in rows.columns:
        paths += [p for p in rows["bitstream_path"] if isinstance(p, str) and p]
    absent = [str(p) for p in paths if not Path(p).is_file()]
    if absent:
        raise FileNotFoundError(f"{len(absent)} audio file(s) do not exist, e.g. {absent[:3]}")


def _build_clip(number: int, clip_id: str, clip_rows: pd.DataFrame, out_dir: Path, style: SpectrogramStyle
                ) -> tuple[str, str]:
    """Copy one clip's audio, draw its spectrograms and return (anchor, section HTML)."""
    clip_dir = f"{number:03d}_{slug(clip_id)}"
    records = list(clip_rows.itertuples(index=False))
    waves = [read_audio(rec.audio_path) for rec in records]
    dbs, vmin, vmax = clip_spectrograms(waves, style)
    page_rows = []
    for i, (rec, (samples, sample_rate), db) in enumerate(zip(records, waves, dbs)):
        name = f"{i:02d}_{slug(rec.condition)}"
        audio = Path("audio") / clip_dir / f"{name}.flac"
        spectrogram = Path("spectrograms") / clip_dir / f"{name}.png"
        copy_audio(rec.audio_path, out_dir / audio)
        bitstream = getattr(rec, "bitstream_path", None)
        bitstream_src = None
        if isinstance(bitstream, str) and bitstream:
            coded = Path("audio") / clip_dir / f"{name}.coded{Path(bitstream).suffix}"
            with atomic_output(out_dir / coded) as tmp:
                shutil.copyfile(bitstream, tmp)
            bitstream_src = _url(coded)
        size = write_spectrogram_png(db, out_dir / spectrogram, vmin=vmin, vmax=vmax, style=style)
        page_rows.append(PageRow(
            condition=str(rec.condition), filter=str(rec.filter), codec=str(rec.codec),
            actual_kbps=float(rec.actual_kbps), audio_src=_url(audio), expected_s=samples.shape[0] / sample_rate,
            spectrogram_src=_url(spectrogram), spectrogram_size=size,
            predictions_html=predictions_html(rec.predictions, str(rec.category)), bitstream_src=bitstream_src,
        ))
    anchor = f"clip-{clip_dir}"
    fmax = min(sr for _, sr in waves) / 2.0
    return anchor, _section_html(anchor, clip_id, str(records[0].category), page_rows, vmin, vmax, fmax)


def build_listening_page(rows: pd.DataFrame, out_dir: str | os.PathLike, *, title: str = "ACoM listening page",
                         style: SpectrogramStyle = SpectrogramStyle()) -> Path:
    """Write the listening page for ``rows`` into ``out_dir``; return the path of ``index.html``.

    ``rows``: one row per (clip, condition) with columns clip_id, category (the true class), condition
    (the label shown, e.g. ``original`` or ``opus 12 kbps``), filter, codec, actual_kbps (the PCM rate
    for uncoded rows), audio_path (a mono audio file anywhere on disk, normally the FLAC the models
    heard) and predictions (see :func:`normalise_predictions`; e.g. ``{"mn04": [("dog", 0.93),
    ("cat", 0.04)], "mfcc": [("pig", 0.41)]}``); optionally bitstream_path (the coded file: a second
    player for formats browsers play, :data:`BROWSER_AUDIO_TYPES`, a download link otherwise). Clips appear in order of first appearance, their
    conditions in row order. Files of an earlier page in ``out_dir`` that this one no longer uses
    are left in place.
    """
    _check_rows(rows)
    out_dir = Path(out_dir)
    anchors, sections = [], []
    clip_ids = list(dict.fromkeys(rows["clip_id"]))
    for number, clip_id in enumerate(clip_ids):
        clip_rows = rows[rows["clip_id"] == clip_id]
        anchor, section = _build_clip(number, str(clip_id), clip_rows, out_dir, style)
        anchors.append((anchor, f"{clip_id} ({clip_rows['category'].iloc[0]})"))
        sections.append(section)
    page = out_dir / "index.html"
    with atomic_output(page) as tmp:
        tmp.write_text(render_page(title, sections, anchors), encoding="utf-8")
    return page


# ------------------------------------------------------------------------------------------ browser


def find_chromium(names: Sequence[str] = CHROMIUM_NAMES) -> str | None:
    """The first Chromium-family browser on PATH (Debian's package is ``chromium``), or None."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run_chromium(chromium: str | None, args: Sequence[str], *, timeout_s: float) -> subprocess.CompletedProcess:
    """Run headless Chromium with :data:`CHROMIUM_FLAGS`, a throw-away profile and ``args``."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError(f"no Chromium found on PATH (tried {list(CHROMIUM_NAMES)}); "
                                "install Debian's `chromium` package")
    with tempfile.TemporaryDirectory(prefix="acom-chromium-", ignore_cleanup_errors=True) as profile:
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"chromium exited with {result.returncode}: {result.stderr[-2000:]}")
    return result


class _AudioCollector(HTMLParser):
    """Attributes of every <audio> element and of <body> in a dumped DOM."""

    def __init__(self):
        super().__init__()
        self.audio: list[dict[str, str | None]] = []
        self.body: dict[str, str | None] = {}

    def handle_starttag(self, tag, attrs):
        if tag == "audio":
            self.audio.append(dict(attrs))
        elif tag == "body":
            self.body = dict(attrs)


def _number(value: str | None) -> float:
    try:
        return float(value) if value is not None else float("nan")
    except ValueError:
        return float("nan")


def browser_audio_report(page: str | os.PathLike, *, chromium: str | None = None, budget_ms: int = 20000,
                         timeout_s: float = 120.0) -> tuple[pd.DataFrame, bool]:
    """Open ``page#verify`` in headless Chromium and report, per <audio> element: src, whether the file
    exists beside the page, the element's load state and duration, the full Web Audio decode's result
    and length, and the length the page expected. Also returns whether the page's checks all settled
    within the ``budget_ms`` of virtual time (if not, raise it)."""
    page = Path(page).resolve()
    result = _run_chromium(chromium, [f"--virtual-time-budget={int(budget_ms)}", "--dump-dom",
                                      page.as_uri() + "#verify"], timeout_s=timeout_s)
    parser = _AudioCollector()
    parser.feed(result.stdout)
    rows = [{
        "src": attrs.get("src"),
        "exists": bool(attrs.get("src")) and (page.parent / unquote(attrs["src"])).is_file(),
        "state": attrs.get("data-state"),
        "duration_s": _number(attrs.get("data-duration")),
        "decode": attrs.get("data-decode"),
        "decoded_s": _number(attrs.get("data-decoded-seconds")),
        "expected_s": _number(attrs.get("data-expected-seconds")),
        "error": attrs.get("data-error") or attrs.get("data-decode-error"),
    } for attrs in parser.audio]
    return pd.DataFrame(rows, columns=REPORT_COLUMNS), parser.body.get("data-audio-check") == "done"


def audio_problems(report: pd.DataFrame, *, settled: bool = True, tolerance_s: float = 0.05) -> list[str]:
    """Human-readable problems in a :func:`browser_audio_report`: a missing file, a player that did
    not load, a decode that failed, or a decoded length off the expected one by more than
    ``tolerance_s`` (a truncated file still loads its header but decodes short). Empty: all good."""
    problems = [] if settled else ["the browser checks did not all finish: raise budget_ms"]
    if report.empty:
        problems.append("the page has no <audio> element")
    for row in report.itertuples(index=False):
        if not row.exists:
            problems.append(f"{row.src}: file not found beside the page")
        if row.state != "ok":
            problems.append(f"{row.src}: player state {row.state!r} ({row.error})")
        if row.decode != "ok":
            problems.append(f"{row.src}: decode {row.decode!r} ({row.error})")
        elif not abs(row.decoded_s - row.expected_s) <= tolerance_s:
            problems.append(f"{row.src}: decoded {row.decoded_s:.3f} s, expected {row.expected_s:.3f} s")
    return problems


def screenshot(page: str | os.PathLike, png_path: str | os.PathLike, *, chromium: str | None = None,
               width: int = 1400, height: int = 1800, budget_ms: int = 5000, timeout_s: float = 120.0) -> Path:
    """Screenshot of ``page`` (the top ``width`` x ``height`` CSS pixels) as a PNG, written atomically."""
    page, png_path = Path(page).resolve(), Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    # Chromium picks the image format from the file name, so it cannot write to atomic_output's
    # ".part" name directly: it writes shot.png in a scratch folder beside the target instead.
    with tempfile.TemporaryDirectory(prefix=f".{png_path.name}.", dir=png_path.parent) as scratch:
        shot = Path(scratch) / "shot.png"
        _run_chromium(chromium, [f"--window-size={int(width)},{int(height)}", f"--virtual-time-budget={int(budget_ms)}",
                                 f"--screenshot={shot}", page.as_uri()], timeout_s=timeout_s)
        if not shot.is_file() or shot.stat().st_size == 0:
            raise RuntimeError(f"chromium wrote no screenshot of {page}")
        with atomic_output(png_path) as tmp:
            os.replace(shot, tmp)
    return png_path


def listening_clips(manifest: pd.DataFrame, *, clips: Sequence[str] | None, n_clips: int) -> pd.DataFrame:
    """The listening page's clips (manifest rows): ``clips`` by id, or else the first clip (by id)
    of each of the first ``n_clips`` classes (by target) in the lowest fold."""
    if clips:
        unknown = sorted(set(clips) - set(manifest["clip_id"]))
        if unknown:
            raise ValueError(f"report.listen.clips: {unknown} are not clips of the ingested dataset")
        return manifest.set_index("clip_id").loc[list(clips)].reset_index()
    fold = manifest[manifest["fold"] == manifest["fold"].min()].sort_values(["target", "clip_id"])
    return fold.groupby("target", sort=True).head(1).head(n_clips).reset_index(drop=True)


def listening_rows(chosen: pd.DataFrame, conditions: Sequence[Mapping[str, Any]],
                   predictions: Mapping[tuple[str, str, str], pd.DataFrame], names: Sequence[str],
                   *, top_k: int = 3) -> pd.DataFrame:
    """The page's rows: one per (clip, condition), clips in order, conditions in the given order.

    ``conditions``: dicts with label, filter, codec and ``manifest`` (the condition's per-clip
    table for all folds: clip_id, path, actual_kbps). ``predictions``: (model, filter, codec) ->
    per-clip prediction table (clip_id, probabilities). Each row carries every model's top
    ``top_k`` classes for that clip under that condition.
    """
    rows = []
    by_condition = [(c, c["manifest"].set_index("clip_id")) for c in conditions]
    indexed = {key: table.set_index("clip_id") for key, table in predictions.items()}
    for clip in chosen.itertuples(index=False):
        for condition, manifest in by_condition:
            entry = manifest.loc[clip.clip_id]
            shown = {model: top_predictions(table.loc[clip.clip_id, "probabilities"], names, top_k)
                     for (model, filter_name, codec), table in indexed.items()
                     if (filter_name, codec) == (condition["filter"], condition["codec"])}
            bitstream = entry.get("bitstream_path")
            rows.append({"clip_id": clip.clip_id, "category": clip.category, "condition": condition["label"],
                         "filter": condition["filter"], "codec": condition["codec"],
                         "actual_kbps": float(entry["actual_kbps"]), "audio_path": str(entry["path"]),
                         "bitstream_path": bitstream if isinstance(bitstream, str) else None,
                         "predictions": shown or None})
    return pd.DataFrame(rows)
