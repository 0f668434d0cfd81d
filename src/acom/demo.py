"""``acom demo FILE``: what the configured models hear in one recording, uncoded and under the
filters and codec conditions a user names.

For each condition the recording is filtered and coded exactly as the workflow's stages do (the
same registries and settings), then each model gives its top AudioSet labels (models with an
AudioSet head), the ESC-50 classes of a logistic regression trained on every fold of the
workflow's uncoded ESC-50 embeddings, and the events of a SED head trained on every fold of its
uncoded soundscape frame embeddings (both read from a finished run's ``results/``; left out, with a
note, where that run has not made them). An HTML page in the listening page's style (players,
spectrograms, the labels, an event timeline per condition) is written beside.

Any length, rate, channel count (downmixed to mono: the mean of the channels) or format libsndfile
reads. Every problem the user can fix (no such file, not audio, an unknown condition, a filter
that needs the mask search) is a :class:`DemoError` with a one-line message.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: The uncoded, unfiltered condition.
ORIGINAL = ("none", "none")


class DemoError(Exception):
    """A problem with the user's input, said in one line."""


@dataclass
class ConditionResult:
    """What one condition of the recording gave."""

    label: str
    filter: str
    codec: str
    actual_kbps: float
    audio_path: Path
    bitstream_path: Path | None = None
    audioset: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    esc50: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    events: dict[str, pd.DataFrame] = field(default_factory=dict)


def read_recording(path: str | os.PathLike) -> tuple[np.ndarray, int, int]:
    """(mono float32 samples, rate, channels in the file) of any file libsndfile reads."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise DemoError(f"{path}: no such file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise DemoError(f"{path}: not an audio file libsndfile reads ({err})") from None
    if len(data) == 0:
        raise DemoError(f"{path}: the file holds no samples")
    if not np.isfinite(data).all():
        raise DemoError(f"{path}: the file holds NaN or Inf samples")
    return data.mean(axis=1).astype(np.float32), int(rate), int(data.shape[1])


def parse_conditions(names: Sequence[str], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(filter, codec) of each name: ``none``, a ``filters`` entry, a coded condition
    ``<codec>_<kbps>`` of a ``codecs`` entry, or ``<filter>+<codec>_<kbps>``. The original always
    comes first."""
    from acom.conditions import parse_condition
    from acom.filters import filter_model, filter_predictor, uses_masks

    filters, codecs = config.get("filters") or {}, config.get("codecs") or {}
    known = sorted([*filters, *(f"{c}_<kbps>" for c in codecs)])
    result = [ORIGINAL]
    for name in names:
        filter_name, _, codec = name.rpartition("+") if "+" in name else ("none", "", name)
        if codec in filters and filter_name == "none":
            filter_name, codec = codec, "none"
        if filter_name != "none" and filter_name not in filters:
            raise DemoError(f"unknown condition {name!r}: {filter_name!r} is no filters entry; known: {known}")
        if filter_name != "none" and (uses_masks(filters[filter_name]) or filter_model(filters[filter_name])
                                      or filter_predictor(filters[filter_name])):
            raise DemoError(f"condition {name!r}: filter {filter_name!r} needs a model or the mask search; the demo "
                            "applies filters that need neither (lowpass, bandpass, energy ROI, ...)")
        if codec != "none":
            try:
                codec_name, _ = parse_condition(codec)
            except ValueError:
                raise DemoError(f"unknown condition {name!r}; known: none, {known}, <filter>+<codec>_<kbps>") from None
            if codec_name not in codecs:
                raise DemoError(f"unknown condition {name!r}: {codec_name!r} is no codecs entry; known: {known}")
        if (filter_name, codec) not in result:
            result.append((filter_name, codec))
    return result


def apply_condition(samples: np.ndarray, rate: int, condition: tuple[str, str], config: Mapping[str, Any], *,
                    work_dir: Path, cache_dir: str) -> tuple[np.ndarray, int, float, Path | None]:
    """The recording under (filter, codec): filtered at the codec's rate (or as it is, uncoded),
    then coded and decoded; returns (samples, rate, actual kbps, bitstream file or None)."""
    from acom.codecs import CODECS, build_codec, codec_sample_rate
    from acom.conditions import parse_condition, pcm_kbps
    from acom.filters import build_filter
    from acom.resample import ClipResampler

    filter_name, codec = condition
    if codec != "none":
        codec_name, kbps = parse_condition(codec)
        params = config["codecs"][codec_name]
        if CODECS[params["type"]].encode_full is not None:
            raise DemoError(f"condition {codec!r}: {params['type']} codes from its full-rate encoding, which the "
                            "workflow makes per fold; name a codec that codes a clip on its own (opus, mp3, ...)")
        rate_out = codec_sample_rate(params)
        samples = ClipResampler(rate_out)(samples[None, :], rate)[0] if rate != rate_out else samples
        rate = rate_out
    if filter_name != "none":
        samples = build_filter(config["filters"][filter_name])(filter_name, samples, rate).samples
    if codec == "none":
        return samples, rate, pcm_kbps(rate), None
    coder = build_codec(params, kbps, cache_dir=cache_dir)
    bitstream = work_dir / f"{filter_name}+{codec}{coder.extension}"
    coded = coder.code_batch([samples.astype(np.float32)], [bitstream])[0]
    # As the codec stage counts it: payload bits over the duration.
    return coded.decoded, rate, 8 * coded.payload_bytes / 1000 / (len(samples) / rate), bitstream


def esc50_classifier(results: Path, model: str, classifier: Mapping[str, Any], *, seed: int):
    """(fitted classifier, target -> class name) from every fold of a finished run's uncoded ESC-50
    embeddings of ``model``, or None where the run has not made them."""
    from acom.classification import build_classifier
    from acom.embed import embedding_matrix

    paths = sorted(glob.glob(str(results / "esc50" / "embeddings" / model / "none" / "none" / "fold*.parquet")))
    manifest = results / "esc50" / "manifest.parquet"
    if not paths or not manifest.is_file():
        return None
    train = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    fitted = build_classifier(classifier, seed=seed).fit(embedding_matrix(train), train["target"].to_numpy())
    meta = pd.read_parquet(manifest, columns=["target", "category"])
    return fitted, dict(zip(meta["target"].astype(int), meta["category"], strict=True))


def sed_head(results: Path, model: str, sed: Mapping[str, Any], classes: Sequence[str]):
    """(head, hop seconds, pool factor) trained on every fold of a finished run's uncoded soundscape
    frame embeddings of ``model`` and their strong labels, or None where the run has not made them."""
    from acom.embed import pool_factor
    from acom.io import read_parquet_metadata
    from acom.sed.heads import HeadConfig, train_frame_head
    from acom.sed.protocol import clip_targets, soundscape_files, table_frames

    paths = sorted(glob.glob(str(results / "desed" / "frame_embeddings" / model / "none" / "none" / "fold*.parquet")))
    labels, manifest = results / "desed" / "labels.parquet", results / "desed" / "manifest.parquet"
    if not paths or not labels.is_file() or not manifest.is_file():
        return None
    hop = float(read_parquet_metadata(paths[0])["hop_seconds"])
    factor = pool_factor(hop, sed.get("min_hop_s"))
    table = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    frames = table_frames(table, factor)
    config = HeadConfig.from_mapping(sed["head"])
    targets = clip_targets(table["clip_id"], [m.shape[0] for m in frames], pd.read_parquet(labels),
                           soundscape_files(pd.read_parquet(manifest)), hop_seconds=hop * factor, classes=classes,
                           output=config.output)
    return train_frame_head(frames, targets, config=config, seed=int(sed.get("seed", 0))), hop, factor


def run_demo(recording: str | os.PathLike, *, config: Mapping[str, Any], conditions: Sequence[str],
             models: Sequence[str] | None = None, results: str | os.PathLike = "results",
             out_dir: str | os.PathLike = "demo", cache_dir: str = "resources/models", top_k: int = 5,
             ) -> tuple[list[ConditionResult], Path, list[str]]:
    """Run the demo; return every condition's results, the HTML page's path and notes on what was
    left out (no ESC-50 or SED results to train on)."""
    from acom.data.desed import desed_classes
    from acom.embed import embed_clip_frames, embed_clips, embedding_matrix, load_model, pool_frames
    from acom.io import write_flac
    from acom.sed.heads import predict_frames
    from acom.sed.protocol import decode_clip

    samples, rate, _ = read_recording(recording)
    chosen = parse_conditions(conditions, config)
    models = list(models or config["evaluation"]["models"])
    for name in models:
        if name not in config["models"]:
            raise DemoError(f"unknown model {name!r}; known: {sorted(config['models'])}")
    out_dir, results = Path(out_dir), Path(results)
    audio_dir = out_dir / "conditions"
    audio_dir.mkdir(parents=True, exist_ok=True)
    outcomes, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for condition in chosen:
            heard, heard_rate, kbps, bitstream = apply_condition(samples, rate, condition, config, work_dir=Path(tmp),
                                                                 cache_dir=cache_dir)
            label = "original" if condition == ORIGINAL else "+".join(c for c in condition if c != "none")
            path = audio_dir / f"{label}.flac"
            write_flac(path, heard, heard_rate)
            kept = None
            if bitstream is not None:
                kept = audio_dir / f"{label}{bitstream.suffix}"
                kept.write_bytes(bitstream.read_bytes())
            outcomes.append(ConditionResult(label=label, filter=condition[0], codec=condition[1], actual_kbps=kbps,
                                            audio_path=path, bitstream_path=kept))
    classes = desed_classes(config["datasets"].get("desed") or {})
    sed = config.get("sed") or {}
    for name in models:
        try:
            model = load_model(config["models"][name], {}, cache_dir=cache_dir, name=name)
        except (ValueError, FileNotFoundError, RuntimeError) as err:  # missing weights: the loader names the key
            raise DemoError(f"model {name}: {str(err).splitlines()[0]}") from None
        esc50 = esc50_classifier(results, name, config["classifiers"][config["evaluation"]["classifiers"][0]],
                                 seed=int(config["evaluation"].get("seed", 0)))
        head = sed_head(results, name, sed, classes) if hasattr(model, "frame_embed") else None
        if esc50 is None:
            notes.append(f"{name}: no ESC-50 classes: {results}/esc50 has no uncoded embeddings of {name} (run the "
                         "workflow with this config first)")
        if head is None and hasattr(model, "frame_embed"):
            notes.append(f"{name}: no events: {results}/desed has no uncoded frame embeddings of {name} (run "
                         "results/desed_summary.csv first)")
        for outcome in outcomes:
            clip = pd.DataFrame({"clip_id": [outcome.label], "fold": [0], "target": [-1], "category": ["demo"],
                                 "path": [str(outcome.audio_path)]})
            table = embed_clips(model, clip, batch_size=1, top_k=top_k)
            if table["top_labels"].iloc[0] is not None and len(table["top_labels"].iloc[0]):
                outcome.audioset[name] = list(zip(table["top_labels"].iloc[0], map(float, table["top_probs"].iloc[0])))
            if esc50 is not None:
                fitted, names = esc50
                proba = fitted.predict_proba(embedding_matrix(table))[0]
                order = np.argsort(proba)[::-1][:top_k]
                outcome.esc50[name] = [(names[int(fitted.classes_[i])], float(proba[i])) for i in order]
            if head is not None:
                trained, hop, factor = head
                frames, _ = embed_clip_frames(model, clip, batch_size=1)
                matrix = pool_frames(np.asarray(frames["embedding"].iloc[0], dtype=np.float32).reshape(
                    int(frames["n_frames"].iloc[0]), -1), factor)
                probabilities = predict_frames(trained, [matrix])[0]
                events, _ = decode_clip(probabilities, head=trained.config, hop_seconds=hop * factor, classes=classes,
                                        thresholds=sed.get("thresholds", 0.5),
                                        median_filter_s=sed.get("median_filter_s", 0.45),
                                        filename=Path(recording).name)
                # The last frame may reach past the end of the recording: events end with it.
                outcome.events[name] = events.assign(offset=events["offset"].clip(upper=len(samples) / rate))
    page = write_demo_page(outcomes, out_dir, title=f"acom demo: {Path(recording).name}",
                           duration=len(samples) / rate)
    return outcomes, page, notes


def write_demo_page(outcomes: Sequence[ConditionResult], out_dir: Path, *, title: str, duration: float) -> Path:
    """The listening page of the recording's conditions, with an event timeline per condition."""
    from acom.io import atomic_output
    from acom.report.listen import build_listening_page

    rows = pd.DataFrame([{
        "clip_id": "recording", "category": "unlabelled", "condition": o.label, "filter": o.filter, "codec": o.codec,
        "actual_kbps": o.actual_kbps, "audio_path": str(o.audio_path),
        "bitstream_path": None if o.bitstream_path is None else str(o.bitstream_path),
        "predictions": {**{f"{m} (AudioSet)": v for m, v in o.audioset.items()},
                        **{f"{m} (ESC-50)": v for m, v in o.esc50.items()}} or None,
    } for o in outcomes])
    page = build_listening_page(rows, out_dir, title=title)
    if any(o.events for o in outcomes):
        timeline = out_dir / "events.png"
        plot_event_timeline(outcomes, timeline, duration=duration)
        html = page.read_text(encoding="utf-8").replace(
            "</body>", '<h2>Detected events</h2>\n<img src="events.png" alt="event timeline per condition">\n</body>')
        with atomic_output(page) as tmp:
            tmp.write_text(html, encoding="utf-8")
    return page


def plot_event_timeline(outcomes: Sequence[ConditionResult], path: Path, *, duration: float) -> None:
    """One row per (condition, model), one lane per class within it (events of two classes may
    overlap), one bar per detected event, coloured by class."""
    from acom.report.plots import _new_figure, save_figure

    rows = [(f"{o.label} · {m}", events) for o in outcomes for m, events in o.events.items()]
    labels = sorted({label for _, events in rows for label in events["event_label"]})
    colours = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    lane = 0.8 / max(len(labels), 1)
    figure = _new_figure(8.0, 1.2 + 0.5 * len(rows))
    ax = figure.add_subplot()
    for y, (_, events) in enumerate(rows):
        for event in events.itertuples(index=False):
            offset = (labels.index(event.event_label) - (len(labels) - 1) / 2) * lane
            ax.barh(y + offset, event.offset - event.onset, left=event.onset, height=lane,
                    color=colours[event.event_label])
    ax.set_yticks(range(len(rows)), [name for name, _ in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, duration)
    ax.set_xlabel("time (s)")
    ax.grid(True, axis="x", alpha=0.3)
    for label, colour in colours.items():
        ax.barh(np.nan, 0, color=colour, label=label)
    if labels:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.3 / max(len(rows), 1)),
                  ncols=min(len(labels), 4), frameon=False)
    save_figure(figure, path.with_suffix(""))


def format_report(outcomes: Sequence[ConditionResult], page: Path, notes: Sequence[str] = ()) -> str:
    """The console summary: per condition, each model's labels and events; then the notes."""
    lines = []
    for o in outcomes:
        lines.append(f"[{o.label}] {o.actual_kbps:.2f} kbps")
        for kind, table in (("AudioSet", o.audioset), ("ESC-50", o.esc50)):
            for model, ranked in table.items():
                lines.append(f"  {model} {kind}: " + ", ".join(f"{label} {p:.2f}" for label, p in ranked))
        for model, events in o.events.items():
            shown = "; ".join(f"{e.event_label} {e.onset:.2f}-{e.offset:.2f} s" for e in events.itertuples()) or "none"
            lines.append(f"  {model} events: {shown}")
    lines.extend(f"note: {note}" for note in notes)
    lines.append(f"page: {page}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``acom`` console command."""
    parser = argparse.ArgumentParser(prog="acom", description="Audio Coding for Machines")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="what the configured models hear in one recording, uncoded and coded")
    demo.add_argument("recording", help="any audio file libsndfile reads (any length, rate, channels)")
    demo.add_argument("--condition", "-c", action="append", default=[], metavar="NAME",
                      help="opus_6, lowpass_4000, lowpass_4000+opus_6, ... (repeatable; the original always runs)")
    demo.add_argument("--model", "-m", action="append", default=None, help="models entries (default: evaluation.models)")
    demo.add_argument("--configfile", nargs="+", default=[], help="overlays on config.yaml, as snakemake takes them")
    demo.add_argument("--results", default="results", help="a finished run's results/ (ESC-50 classes, SED events)")
    demo.add_argument("--out", default="demo", help="folder of the HTML page (default: demo/)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.configfile)
        outcomes, page, notes = run_demo(args.recording, config=config, conditions=args.condition,
                                         models=args.model, results=args.results, out_dir=args.out)
    except DemoError as err:
        print(f"acom demo: {err}", file=sys.stderr)
        return 2
    print(format_report(outcomes, page, notes))
    return 0


def load_config(overlays: Sequence[str | os.PathLike]) -> dict[str, Any]:
    """config.yaml of this checkout with ``overlays`` merged on top, key by key, and validated."""
    import yaml

    from acom.config import validate_config

    root = Path(__file__).resolve().parents[2]
    config = yaml.safe_load((root / "config.yaml").read_text())
    for overlay in overlays:
        if not Path(overlay).is_file():
            raise DemoError(f"{overlay}: no such config file")
        _merge(config, yaml.safe_load(Path(overlay).read_text()) or {})
    try:
        validate_config(config)
    except ValueError as err:
        raise DemoError(str(err).replace("\n", " ")) from None
    return config


def _merge(base: dict, overlay: Mapping) -> None:
    # What snakemake.utils.update_config does to --configfile overlays; the package imports no Snakemake.
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
