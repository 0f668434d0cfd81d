"""The catalogue of bad ESC-50 inputs: each is named with its path, the problem and the fix; under
``on_bad_clip: error`` ingest stops listing them all, under ``skip`` it leaves them out and lists them.
Some problems (duplicate clip ids, two files of one clip, missing metadata columns) are never skipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from acom.data.esc50 import (
    META_COLUMNS,
    SKIPPED_COLUMNS,
    build_manifest,
    check_folds_have_clips,
    read_metadata,
    select_clips,
)
from acom.data.synthetic import synthesize_esc50_corpus
from acom.io import BadAudioError, mono_audio_info, read_audio

SR = 8000  # 5-s clips at 8 kHz: real length, little to write
FRAMES = 5 * SR
HINT = "set on_bad_clip: skip in the config to leave these clips out (they are listed in results/esc50_skipped.csv)"


@pytest.fixture
def esc50(tmp_path):
    """An ESC-50-layout copy of three 5-s 16-bit WAV clips (fold 1, one class) and its metadata."""
    root = tmp_path / "esc50"
    meta = synthesize_esc50_corpus(root, categories=["tone"], folds=[1], clips_per_class_per_fold=3,
                                   sample_rate=SR, duration_s=5.0, seed=0)
    return root, meta


def ingest(root: Path, *, folds=(1, 2, 3, 4, 5), **kwargs):
    return build_manifest(root, select_clips(read_metadata(root / "meta" / "esc50.csv"), folds=list(folds)),
                          **kwargs)


def first_clip(root: Path, meta: pd.DataFrame) -> Path:
    return root / "audio" / meta["filename"][0]


def signal(frames: int = FRAMES, channels: int = 1) -> np.ndarray:
    t = np.arange(frames) / SR
    x = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def assert_bad_clip(root: Path, path: Path, problem: str, *, clip_id: str | None = None, fold=1, **kwargs):
    """``path`` is reported as "{path}: ... {problem}" under error, and is the one skipped row under skip."""
    with pytest.raises(ValueError) as err:
        ingest(root, on_bad_clip="error", **kwargs)
    message = str(err.value)
    assert f"has 1 problem(s):\n  {path}: " in message
    assert problem in message
    assert message.endswith(HINT)
    manifest, skipped = ingest(root, on_bad_clip="skip", **kwargs)
    assert list(skipped.columns) == SKIPPED_COLUMNS and len(skipped) == 1
    row = skipped.iloc[0]
    clip_id = clip_id or path.stem
    assert (row.clip_id, row.path) == (clip_id, str(path)) and problem in row.problem
    assert pd.isna(row.fold) if fold is None else row.fold == fold
    assert clip_id not in set(manifest["clip_id"]) and len(manifest) == 2
    return row


# --- 1-5: files libsndfile cannot use -------------------------------------------------------------

def _truncated_wav(path: Path) -> tuple[Path, str]:
    sf.write(str(path), signal(), SR, subtype="PCM_16")
    data = path.read_bytes()  # 44-byte header + 2 bytes a frame
    path.write_bytes(data[: 44 + 2 * 12345 + 1])  # cut mid-frame: 12345 whole frames left
    return path, "truncated: header declares 40000 frames, file holds 12345: copy it again"


def _truncated_float_wav(path: Path) -> tuple[Path, str]:
    sf.write(str(path), signal(), SR, subtype="FLOAT")
    data = path.read_bytes()
    path.write_bytes(data[:-4])  # the last frame gone
    return path, "truncated: header declares 40000 frames, file holds 39999"


def _truncated_flac(path: Path) -> tuple[Path, str]:
    path = path.with_suffix(".flac")
    sf.write(str(path), signal(), SR, format="FLAC")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path, "truncated or corrupt: header declares 40000 frames but decoding fails (libsndfile: "


def _streamed_flac(path: Path) -> tuple[Path, str]:
    # STREAMINFO total_samples 0 ("unknown", as a FLAC encoder writing to a pipe leaves it):
    # soundfile cannot read such a file, so it is named now rather than failing later.
    path = path.with_suffix(".flac")
    sf.write(str(path), signal(), SR, format="FLAC")
    data = bytearray(path.read_bytes())
    field = int.from_bytes(data[18:26], "big") & ~((1 << 36) - 1)  # the low 36 bits: total samples
    data[18:26] = field.to_bytes(8, "big")
    path.write_bytes(bytes(data))
    return path, "its header gives no length"


def _empty(path: Path) -> tuple[Path, str]:
    path.write_bytes(b"")
    return path, "empty file (0 bytes): copy it again"


def _text(path: Path) -> tuple[Path, str]:
    path.write_text("filename,fold\nnot,audio\n")
    return path, "not a readable audio file (libsndfile: Format not recognised): replace it"


def _header_only(path: Path) -> tuple[Path, str]:
    sf.write(str(path), np.zeros(0), SR, subtype="PCM_16")
    return path, "the file holds no samples"


def _non_finite(path: Path) -> tuple[Path, str]:
    x = signal().astype(np.float32)
    x[[10, 20, 30]] = np.nan
    x[[40, 50]] = [np.inf, -np.inf]
    sf.write(str(path), x, SR, subtype="FLOAT")
    return path, "holds 5 NaN/Inf samples (of 40000): replace it"


def _stereo(path: Path) -> tuple[Path, str]:
    sf.write(str(path), signal(channels=2), SR, subtype="PCM_16")
    return path, "expected a mono clip, found 2 channels: downmix it (e.g. sox in.wav -c 1 out.wav)"


BAD_FILES = [_truncated_wav, _truncated_float_wav, _truncated_flac, _streamed_flac, _empty, _text, _header_only,
             _non_finite, _stereo]


@pytest.mark.parametrize("make", BAD_FILES, ids=lambda f: f.__name__.strip("_"))
def test_bad_file_is_named_with_its_problem(esc50, make):
    root, meta = esc50
    clip = first_clip(root, meta)
    clip.unlink()
    path, problem = make(clip)
    assert_bad_clip(root, path, problem)
    # Later stages read audio with the same check and the same words.
    with pytest.raises(BadAudioError) as err:
        read_audio(path)
    assert str(err.value).startswith(f"{path}: ") and problem in str(err.value)
    assert err.value.path == str(path) and problem in err.value.problem
    info, message = mono_audio_info(path, what="clip")
    assert info is None and message == str(err.value)


def test_wav_header_with_placeholder_length_is_read_whole(tmp_path):
    # A WAV written as a stream may leave the data size 0 or 0xFFFFFFFF: no declared length, not truncated.
    path = tmp_path / "stream.wav"
    sf.write(str(path), signal(), SR, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    assert data[36:40] == b"data"
    data[40:44] = (0xFFFFFFFF).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    samples, rate = read_audio(path)
    assert (len(samples), rate) == (FRAMES, SR)


# --- 6-7: unusual but good files are accepted -------------------------------------------------------

@pytest.mark.parametrize(("subtype", "atol"), [("PCM_U8", 1 / 128), ("DOUBLE", 1e-7), ("PCM_24", 1e-6)])
def test_8_bit_and_double_clips_are_read_as_float32(esc50, subtype, atol):
    root, meta = esc50
    clip = first_clip(root, meta)
    x = signal()
    sf.write(str(clip), x, SR, subtype=subtype)
    manifest, skipped = ingest(root)
    assert skipped.empty and clip.stem in set(manifest["clip_id"])
    samples, rate = read_audio(clip)
    assert samples.dtype == np.float32 and rate == SR
    np.testing.assert_allclose(samples, x, atol=atol)


@pytest.mark.parametrize("rate", [8000, 11025, 96000])
def test_any_sample_rate_is_accepted_and_recorded(esc50, rate):
    root, meta = esc50
    clip = first_clip(root, meta)
    sf.write(str(clip), np.zeros(5 * rate, np.float32), rate, subtype="PCM_16")
    manifest, skipped = ingest(root)
    assert skipped.empty
    row = manifest.set_index("clip_id").loc[clip.stem]
    assert (row.sample_rate, row.frames) == (rate, 5 * rate)


# --- 8: length --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("seconds", "shown"), [(4.2, "4.20"), (5.3, "5.30"), (4.985, "4.99")])
def test_clip_of_the_wrong_length(esc50, seconds, shown):
    root, meta = esc50
    clip = first_clip(root, meta)
    sf.write(str(clip), np.zeros(round(seconds * SR), np.float32), SR, subtype="PCM_16")
    assert_bad_clip(root, clip, f"is {shown} s long; clips must be 5.00 s (datasets.esc50.clip_seconds; null "
                                "accepts any length)")
    manifest, skipped = ingest(root, clip_seconds=None)  # any length
    assert skipped.empty and len(manifest) == 3


@pytest.mark.parametrize("frames", [FRAMES - 80, FRAMES + 80])  # 10 ms either way: still 5 s
def test_length_within_10_ms_is_accepted(esc50, frames):
    root, meta = esc50
    clip = first_clip(root, meta)
    sf.write(str(clip), np.zeros(frames, np.float32), SR, subtype="PCM_16")
    manifest, skipped = ingest(root)
    assert skipped.empty and manifest.set_index("clip_id").loc[clip.stem, "frames"] == frames


# --- 9-11: metadata and files that do not match -----------------------------------------------------

def test_metadata_row_without_audio_file(esc50):
    root, meta = esc50
    clip = first_clip(root, meta)
    clip.unlink()
    assert_bad_clip(root, root / "audio" / clip.stem,
                    f"no audio file with stem {clip.stem} in {root / 'audio'} (metadata row {clip.name}): add the "
                    "file or remove the row")


def test_audio_file_without_metadata_row(esc50):
    root, _ = esc50
    stray = root / "audio" / "9-999-A-0.flac"
    sf.write(str(stray), signal(), SR, format="FLAC")
    with pytest.raises(ValueError) as err:
        ingest(root)
    assert f"{stray}: audio file without a metadata row in {root / 'meta' / 'esc50.csv'}: add its row or remove the " \
           "file" in str(err.value)
    manifest, skipped = ingest(root, on_bad_clip="skip")
    assert len(manifest) == 3 and len(skipped) == 1  # the stray file was never a clip of the manifest
    row = skipped.iloc[0]
    assert (row.clip_id, row.path) == ("9-999-A-0", str(stray)) and pd.isna(row.fold) and pd.isna(row.category)


@pytest.mark.parametrize("fold", [7, 0])
def test_row_with_a_fold_that_is_not_an_esc50_fold(esc50, fold):
    root, meta = esc50
    meta.loc[0, "fold"] = fold
    meta.to_csv(root / "meta" / "esc50.csv", index=False)
    clip = first_clip(root, meta)
    assert_bad_clip(root, clip, f"fold {fold} is not an ESC-50 fold (1-5): correct the row of {clip.name} in "
                                f"{root / 'meta' / 'esc50.csv'}", fold=fold)
    # Only folds outside 1-5 are problems: rows of ESC-50 folds not asked for are simply not selected.
    manifest, skipped = ingest(root, folds=[2], on_bad_clip="skip")
    assert manifest.empty and skipped["clip_id"].tolist() == [clip.stem]


def test_empty_fold_cell_is_reported(esc50):
    root, meta = esc50
    meta["fold"] = meta["fold"].astype(float)
    meta.loc[1, "fold"] = np.nan
    meta.to_csv(root / "meta" / "esc50.csv", index=False)
    clip = root / "audio" / meta["filename"][1]
    assert_bad_clip(root, clip, "fold (empty) is not an ESC-50 fold (1-5)", fold=None)
    manifest, _ = ingest(root, on_bad_clip="skip")
    assert manifest["fold"].tolist() == [1, 1] and manifest["fold"].dtype == np.int64


# --- every problem at once, in a stable order ---------------------------------------------------------

def test_every_bad_clip_is_listed_at_once_and_skipped_in_path_order(esc50):
    root, meta = esc50
    clips = [root / "audio" / name for name in meta["filename"]]
    clips[2].write_bytes(b"")
    sf.write(str(clips[0]), signal(channels=2), SR)
    (root / "audio" / "0-stray.wav").write_text("stray")
    with pytest.raises(ValueError) as err:
        ingest(root)
    lines = str(err.value).splitlines()
    assert lines[0] == f"ESC-50 copy at {root} has 3 problem(s):"
    assert [line.split(": ")[0].strip() for line in lines[1:4]] == sorted(map(str, [clips[0], clips[2],
                                                                                    root / "audio" / "0-stray.wav"]))
    assert lines[4] == HINT
    manifest, skipped = ingest(root, on_bad_clip="skip")
    assert manifest["clip_id"].tolist() == [clips[1].stem]
    assert skipped["path"].tolist() == sorted(skipped["path"])
    assert skipped["clip_id"].tolist() == ["0-stray", clips[0].stem, clips[2].stem]
    again = ingest(root, on_bad_clip="skip")[1]
    pd.testing.assert_frame_equal(skipped, again)


def test_nothing_skipped_gives_an_empty_table_with_the_columns(esc50):
    root, _ = esc50
    manifest, skipped = ingest(root, on_bad_clip="skip")
    assert len(manifest) == 3 and manifest["clip_id"].is_monotonic_increasing
    assert skipped.empty and list(skipped.columns) == SKIPPED_COLUMNS


def test_unknown_policy_is_rejected(esc50):
    root, _ = esc50
    with pytest.raises(ValueError, match=r"on_bad_clip must be one of \['error', 'skip'\], got 'ignore'"):
        ingest(root, on_bad_clip="ignore")


# --- 12 and the other problems no policy can skip -----------------------------------------------------

@pytest.mark.parametrize("policy", ["error", "skip"])
def test_duplicate_clip_ids_are_always_an_error(esc50, policy):
    root, meta = esc50
    dup = pd.concat([meta, meta.iloc[:1].assign(filename=meta["filename"][0].replace(".wav", ".flac"))])
    dup.to_csv(root / "meta" / "esc50.csv", index=False)
    clip_id = meta["filename"][0][:-4]
    with pytest.raises(ValueError, match="duplicate clip ids") as err:
        ingest(root, on_bad_clip=policy)
    assert f"{clip_id} ({clip_id}.flac, {clip_id}.wav)" in str(err.value)
    assert "always an error, on_bad_clip: skip does not apply: ingest cannot choose which row is right" in str(err.value)
    # A hand-built selection is checked too.
    with pytest.raises(ValueError, match="selected metadata rows: duplicate clip ids"):
        build_manifest(root, pd.concat([meta, meta.iloc[:1]]).assign(clip_id=lambda m: m["filename"].str[:-4]),
                       on_bad_clip=policy)


@pytest.mark.parametrize("policy", ["error", "skip"])
def test_two_files_of_one_clip_are_always_an_error(esc50, policy):
    root, meta = esc50
    clip = first_clip(root, meta)
    sf.write(str(clip.with_suffix(".flac")), signal(), SR, format="FLAC")
    with pytest.raises(ValueError) as err:
        ingest(root, on_bad_clip=policy)
    assert (f"{root / 'audio'}: clip {clip.stem} exists 2 times ({clip.stem}.flac, {clip.name}): keep one file per "
            "clip (never skipped, whatever on_bad_clip says: ingest cannot tell which file is right)") == str(err.value)


@pytest.mark.parametrize("policy", ["error", "skip"])
def test_metadata_without_its_columns_is_always_an_error(esc50, policy):
    root, meta = esc50
    meta.drop(columns=["target"]).to_csv(root / "meta" / "esc50.csv", index=False)
    with pytest.raises(ValueError, match=r"esc50.csv: missing columns \['target'\]"):
        read_metadata(root / "meta" / "esc50.csv")
    selected = select_clips(meta.assign(clip_id=meta["filename"].str[:-4]), folds=[1])
    with pytest.raises(ValueError, match=r"missing columns \['target'\].*always an error, on_bad_clip: skip does not "
                                         "apply"):
        build_manifest(root, selected, on_bad_clip=policy)


def test_a_fold_left_without_clips_is_named(esc50):
    root, meta = esc50
    for name in meta["filename"]:
        (root / "audio" / name).write_text("not audio")
    manifest, skipped = ingest(root, folds=[1], on_bad_clip="skip")
    assert manifest.empty and len(skipped) == 3
    with pytest.raises(ValueError, match=r"no usable clip left in fold 1 \(3 skipped\), fold 2 \(0 skipped\)"):
        check_folds_have_clips(manifest, [1, 2], skipped)
    check_folds_have_clips(pd.DataFrame({"fold": [1, 2, 2]}), [1, 2], skipped)  # every fold has a clip


def test_a_header_over_the_wrong_columns_names_each_column_in_one_short_message(esc50):
    root, meta = esc50
    csv = root / "meta" / "esc50.csv"
    # The header of ESC-50 in another order over rows in the original order: every name is over
    # another column's values.
    header = ["fold", "filename", "category", "target", "esc10", "src_file", "take"]
    rows = meta[META_COLUMNS].astype(str).to_numpy().tolist()  # filename, fold, target, category, ...
    csv.write_text(",".join(header) + "\n" + "\n".join(",".join(row) for row in rows) + "\n")
    with pytest.raises(ValueError) as err:
        read_metadata(csv)
    message = str(err.value)
    first = meta["filename"][0]
    assert message.startswith(f"{csv}: column 'filename' does not hold file names (line 2: 1); column 'fold' does "
                              f"not hold fold numbers (line 2: '{first}'); column 'target' does not hold class "
                              "numbers (line 2: 'tone'); column 'category' does not hold category names (line 2: 0)")
    assert "duplicate" not in message and len(message) < 600


def test_columns_in_another_order_under_a_correct_header_are_read_by_name(esc50):
    root, meta = esc50
    csv = root / "meta" / "esc50.csv"
    meta[list(reversed(META_COLUMNS))].to_csv(csv, index=False)
    manifest, skipped = ingest(root)
    assert skipped.empty and sorted(manifest["clip_id"]) == sorted(meta["filename"].str[:-4])
    assert (manifest["fold"] == 1).all() and (manifest["category"] == "tone").all()
