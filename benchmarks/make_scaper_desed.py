"""A DESED-format test set that acom's own synthesiser did not make: soundscapes generated with scaper
(Salamon et al., 2017; the tool DESED's own synthetic sets were made with) from the clips of one
ESC-50 fold held out of the cross-corpus training, with their own backgrounds, SNRs and event
placement. It is the test corpus of benchmarks/sed_cross_corpus_grid.yaml (docs/sed.md#cross-corpus).

Usage (scaper is not an acom dependency: it needs the sox binary and its own environment):

    apt-get install sox
    python3 -m venv /tmp/scaper-venv && /tmp/scaper-venv/bin/pip install "sox==1.4.0" jams pyloudnorm soundfile "numpy<2" "pandas<2.3"
    /tmp/scaper-venv/bin/pip install --no-deps scaper==1.6.5   # its soxbindings dependency needs libsox to build; scaper 1.6.5 predates NumPy 2
    /tmp/scaper-venv/bin/python benchmarks/make_scaper_desed.py --esc50 ../shared/data/esc50-16k --out /tmp/scaper-desed

Writes ``<out>/audio/*.wav`` (16 kHz mono, 10 s) and ``<out>/metadata/test.tsv`` (DESED columns),
and ``<out>/recipe.json`` (the settings below). What differs from acom's synthesiser
(``acom.data.soundscapes``, the training material): the held-out fold's clips only; backgrounds from
other ESC-50 categories (engines and machines, not weather); event SNRs from a truncated normal
around 10 dB (0-25 dB; training: uniform 6-30 dB), LUFS-normalised by scaper (training: RMS);
1-4 whole clips per soundscape, each onset uniform over where the clip fits, overlaps allowed
(training: 1-5 events);
clips trimmed here to their non-silent part before scaper places them (ESC-50 clips are padded with
digital silence to 5 s, which a strong label would otherwise count as event).
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

# The default class map of config.yaml (datasets.desed.synthetic.class_map): ESC-50 category -> DESED label.
CLASS_MAP = {"dog": "Dog", "cat": "Cat", "vacuum_cleaner": "Vacuum_cleaner", "clock_alarm": "Alarm_bell_ringing",
             "brushing_teeth": "Electric_shaver_toothbrush", "pouring_water": "Running_water",
             "water_drops": "Running_water"}
# Backgrounds none of the training soundscapes use (those are rain, wind, crackling_fire, sea_waves, crickets).
BACKGROUNDS = ["airplane", "engine", "train", "washing_machine", "insects"]


def trim_silence(x: np.ndarray, sr: int, top_db: float = 20.0, frame_s: float = 0.02) -> np.ndarray:
    """The part of ``x`` between the first and last 20 ms frame within ``top_db`` of the loudest."""
    n = max(1, int(frame_s * sr))
    frames = x[: len(x) // n * n].reshape(-1, n)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    active = np.flatnonzero(level > level.max() - top_db)
    return x[active[0] * n: (active[-1] + 1) * n] if active.size else x


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--esc50", type=Path, required=True, help="ESC-50 copy (meta/esc50.csv, audio/)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--fold", type=int, default=5, help="the ESC-50 fold held out of training")
    parser.add_argument("--n", type=int, default=200, help="soundscapes")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    import scaper

    recipe = {"esc50_fold": args.fold, "n": args.n, "seed": args.seed, "duration_s": 10.0, "sample_rate": 16000,
              "ref_db": -40, "n_events": [1, 4], "snr_db": {"dist": "truncnorm", "mean": 10, "std": 6, "min": 0, "max": 25},
              "event_time": "uniform over the soundscape", "backgrounds": BACKGROUNDS, "class_map": CLASS_MAP,
              "trim_top_db": 20.0, "scaper": scaper.__version__}
    with open(args.esc50 / "meta" / "esc50.csv") as f:
        meta = [row for row in csv.DictReader(f) if int(row["fold"]) == args.fold]
    (args.out / "audio").mkdir(parents=True, exist_ok=False)
    (args.out / "metadata").mkdir(parents=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fg, bg = Path(tmp) / "foreground", Path(tmp) / "background"
        for row in meta:
            path = args.esc50 / "audio" / Path(row["filename"]).with_suffix(".flac").name
            if row["category"] in CLASS_MAP:
                x, sr = sf.read(path, dtype="float64")
                folder = fg / CLASS_MAP[row["category"]]
                folder.mkdir(parents=True, exist_ok=True)
                sf.write(folder / f"{path.stem}.wav", trim_silence(x, sr), sr)
            elif row["category"] in BACKGROUNDS:
                folder = bg / row["category"]
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{path.stem}.flac").symlink_to(path.resolve())
        sc = scaper.Scaper(10.0, str(fg), str(bg), random_state=args.seed)
        sc.sr, sc.ref_db, sc.n_channels = 16000, -40, 1
        rng = np.random.default_rng(args.seed)
        sources = sorted(fg.glob("*/*.wav"))
        for i in range(args.n):
            sc.reset_bg_event_spec()
            sc.reset_fg_event_spec()
            sc.add_background(label=("choose", []), source_file=("choose", []), source_time=("const", 0))
            # Each event a whole trimmed clip, its onset uniform over where it fits (no event cut at the end).
            for source in rng.choice(sources, size=int(rng.integers(1, 5)), replace=False):
                length = sf.info(source).duration
                sc.add_event(label=("const", source.parent.name), source_file=("const", str(source)),
                             source_time=("const", 0), event_time=("uniform", 0, 10.0 - length),
                             event_duration=("const", length), snr=("truncnorm", 10, 6, 0, 25), pitch_shift=None,
                             time_stretch=None)
            name = f"scaper_{i:04d}"
            wav = args.out / "audio" / f"{name}.wav"
            _, _, annotations, _ = sc.generate(audio_path=str(wav), jams_path=None, allow_repeated_label=True,
                                               allow_repeated_source=False, disable_sox_warnings=True,
                                               no_audio=False, txt_path=None, disable_instantiation_warnings=True)
            events = [(round(on, 3), round(min(off, 10.0), 3), label) for on, off, label in annotations]
            rows += [f"{name}.wav\t{on}\t{off}\t{label}" for on, off, label in sorted(events)] or [f"{name}.wav\t\t\t"]
    (args.out / "metadata" / "test.tsv").write_text("filename\tonset\toffset\tevent_label\n" + "\n".join(rows) + "\n")
    (args.out / "recipe.json").write_text(json.dumps(recipe, indent=2) + "\n")
    print(f"{args.n} soundscapes, {sum(1 for r in rows if r.split(chr(9))[1])} events -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
