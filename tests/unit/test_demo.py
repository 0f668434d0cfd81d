"""``acom demo``: a user's recording through the configured models, uncoded and coded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from acom.demo import DemoError, load_config, main, parse_conditions, read_recording, run_demo
from tests.helpers import REPO, SHARED_ESC50, require_shared


@pytest.fixture(scope="module")
def config():
    return load_config([])


def test_a_stereo_file_is_downmixed_and_bad_files_are_named(tmp_path):
    left = np.linspace(-0.5, 0.5, 4410, dtype=np.float32)
    sf.write(tmp_path / "s.wav", np.stack([left, -0.5 * left], axis=1), 44100)
    mono, rate, channels = read_recording(tmp_path / "s.wav")
    assert (rate, channels) == (44100, 2)
    np.testing.assert_allclose(mono, 0.25 * left, atol=1e-4)
    with pytest.raises(DemoError, match="nothere.wav: no such file"):
        read_recording(tmp_path / "nothere.wav")
    (tmp_path / "notes.txt").write_text("not audio")
    with pytest.raises(DemoError, match="notes.txt: not an audio file libsndfile reads"):
        read_recording(tmp_path / "notes.txt")


def test_conditions_are_filters_codecs_or_both(config):
    assert parse_conditions(["opus_6", "lowpass_4000", "lowpass_4000+opus_16", "opus_6"], config) == [
        ("none", "none"), ("none", "opus_6"), ("lowpass_4000", "none"), ("lowpass_4000", "opus_16")]
    with pytest.raises(DemoError, match="unknown condition 'flac_9': 'flac' is no codecs entry"):
        parse_conditions(["flac_9"], config)
    with pytest.raises(DemoError, match="unknown condition 'loud'"):
        parse_conditions(["loud"], config)
    with pytest.raises(DemoError, match="filter 'oracle_roi' needs a model or the mask search"):
        parse_conditions(["oracle_roi"], config)


def test_the_command_says_a_bad_input_in_one_line(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "missing.wav")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"acom demo: {tmp_path / 'missing.wav'}: no such file"
    sf.write(tmp_path / "ok.wav", np.zeros(16000, dtype=np.float32), 16000)
    assert main(["demo", str(tmp_path / "ok.wav"), "-c", "opus_1000x"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def _finished_run(results, model, clips):
    """A finished run's uncoded ESC-50 embeddings and soundscape frame embeddings of ``model``, made
    here from a few real clips (the demo trains its ESC-50 classifier and SED head on them)."""
    from acom.embed import embed_clip_frames, embed_clips
    from acom.io import write_parquet

    table = embed_clips(model, clips, batch_size=4)
    (results / "esc50" / "embeddings" / "efficientat_mn04" / "none" / "none").mkdir(parents=True)
    write_parquet(table, results / "esc50" / "embeddings" / "efficientat_mn04" / "none" / "none" / "fold1.parquet")
    write_parquet(clips.rename(columns={"path": "source_path"}), results / "esc50" / "manifest.parquet")
    frames, hop = embed_clip_frames(model, clips, batch_size=4)
    folder = results / "desed" / "frame_embeddings" / "efficientat_mn04" / "none" / "none"
    folder.mkdir(parents=True)
    write_parquet(frames, folder / "fold1.parquet", metadata={"hop_seconds": hop})
    manifest = clips.assign(source_path=clips["path"], sample_rate=16000, frames=80000)
    write_parquet(manifest, results / "desed" / "manifest.parquet")
    # Dogs bark from 1 to 3 s in every dog clip (a label for the head to learn), nothing else is labelled.
    dogs = clips[clips["category"] == "dog"]
    labels = pd.DataFrame({"filename": [f"{c}.flac" for c in dogs["clip_id"]], "onset": 1.0, "offset": 3.0,
                           "event_label": "Dog", "clip_id": dogs["clip_id"], "fold": 1})
    write_parquet(labels, results / "desed" / "labels.parquet")


def test_a_23_s_stereo_wav_and_an_ogg_file_offline_with_the_shared_weights(tmp_path):
    require_shared()
    from acom.embed import load_model

    config = load_config([REPO / "configs" / "shared.yaml"])
    meta = pd.read_csv(SHARED_ESC50 / "meta" / "esc50.csv")
    chosen = meta[meta["category"].isin(["dog", "rooster", "rain"])].groupby("category").head(3)
    clips = pd.DataFrame({"clip_id": chosen["filename"].str.replace(".wav", "", regex=False), "fold": 1,
                          "target": chosen["target"], "category": chosen["category"]})
    clips["path"] = [str(SHARED_ESC50 / "audio" / f"{c}.flac") for c in clips["clip_id"]]
    model = load_model(config["models"]["efficientat_mn04"], {}, cache_dir="resources/models")
    _finished_run(tmp_path / "results", model, clips.reset_index(drop=True))

    dog, rate = sf.read(clips["path"].iloc[0], dtype="float32")
    import librosa

    wave = np.tile(librosa.resample(dog, orig_sr=rate, target_sr=44100), 5)[: 23 * 44100]
    sf.write(tmp_path / "dog.wav", np.stack([wave, 0.5 * wave], axis=1), 44100)
    outcomes, page, notes = run_demo(tmp_path / "dog.wav", config=config, conditions=["opus_6"],
                                     models=["efficientat_mn04"], results=tmp_path / "results", out_dir=tmp_path / "out")
    assert [o.label for o in outcomes] == ["original", "opus_6"] and notes == []
    original, coded = outcomes
    # VBR on a clip with quiet stretches spends under the nominal 6 kbps.
    assert original.actual_kbps == pytest.approx(44.1 * 16) and 1 < coded.actual_kbps < 8
    assert "Dog" in [label for label, _ in original.audioset["efficientat_mn04"][:3]]
    assert original.esc50["efficientat_mn04"][0][0] == "dog"
    events = original.events["efficientat_mn04"]
    assert list(events.columns) == ["filename", "onset", "offset", "event_label"]
    assert set(events["event_label"]) <= set(config["datasets"]["desed"]["classes"] or
                                             [e["label"] for e in config["datasets"]["desed"]["synthetic"]["class_map"]])
    assert (events["offset"] <= 23.0 + 1e-6).all()
    assert sf.info(str(coded.audio_path)).duration == pytest.approx(23.0, abs=0.01)
    html = page.read_text()
    assert html.count("<audio") >= 2 and "events.png" in html and (tmp_path / "out" / "events.png").is_file()

    sf.write(tmp_path / "dog.ogg", np.stack([wave, wave], axis=1)[: 8 * 44100], 44100, format="OGG", subtype="VORBIS")
    outcomes, _, _ = run_demo(tmp_path / "dog.ogg", config=config, conditions=[], models=["efficientat_mn04"],
                              results=tmp_path / "nothing", out_dir=tmp_path / "out_ogg")
    assert "Dog" in [label for label, _ in outcomes[0].audioset["efficientat_mn04"][:3]]
