"""The SED branch end to end: soundscapes synthesised from the synthetic ESC-50 corpus, resampled and
coded by the shared stages, MFCC frame embeddings, per-fold heads, sed_eval metrics, the summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sed_eval
import soundfile as sf

from acom.sed.protocol import SED_METRICS
from tests.helpers import REPO
from tests.workflow.helpers import planned_jobs, snakemake

pytestmark = pytest.mark.workflow

CONFIGS = [REPO / "configs" / "synthetic.yaml", REPO / "configs" / "sed.yaml"]
CLASSES = ["Chirp", "Clicks", "Tone"]


@pytest.fixture(scope="module")
def sed_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sed")
    snakemake(workdir, "results/desed_summary.csv", configfiles=CONFIGS)
    return workdir


def test_synthesised_soundscapes_are_a_desed_folder(sed_run):
    root = sed_run / "resources" / "desed_synthetic"
    for fold in (1, 2, 3):
        files = sorted((root / "audio" / f"fold{fold}").glob("*.flac"))
        assert [f.name for f in files] == [f"fold{fold}_{i:04d}.flac" for i in range(12)]
        info = sf.info(str(files[0]))
        assert (info.samplerate, info.frames, info.channels) == (16000, 160000, 1)
        tsv = pd.read_csv(root / "metadata" / f"fold{fold}.tsv", sep="\t")
        assert list(tsv.columns) == ["filename", "onset", "offset", "event_label"]
        assert set(tsv["event_label"]) <= set(CLASSES)
        assert tsv.groupby("filename").size().between(1, 3).all()
    labels = pd.read_parquet(sed_run / "results" / "desed" / "labels.parquet")
    manifest = pd.read_parquet(sed_run / "results" / "desed" / "manifest.parquet")
    assert len(manifest) == 36 and manifest.groupby("fold").size().tolist() == [12, 12, 12]
    assert set(labels["clip_id"]) <= set(manifest["clip_id"])


def test_soundscapes_go_through_the_shared_codec_stage(sed_run):
    resampled = pd.read_parquet(sed_run / "results" / "desed" / "resampled" / "sr16000" / "fold1.parquet")
    coded = pd.read_parquet(sed_run / "results" / "desed" / "coded" / "none" / "opus_16" / "fold1.parquet")
    assert coded["clip_id"].tolist() == resampled["clip_id"].tolist()
    # Decodes are aligned to the input: same length, and close to it sample by sample.
    ref, _ = sf.read(sed_run / resampled["path"].iloc[0], dtype="float32")
    dec, _ = sf.read(sed_run / coded["path"].iloc[0], dtype="float32")
    assert dec.shape == ref.shape
    snr = 10 * np.log10(np.sum(ref**2) / np.sum((ref - dec) ** 2))
    assert snr > 5.0
    assert 8.0 < coded["actual_kbps"].mean() < 20.0


def test_sed_summary_rows_and_learning(sed_run):
    summary = pd.read_csv(sed_run / "results" / "desed_summary.csv")
    assert summary[["model", "filter", "codec", "train_condition"]].values.tolist() == [
        ["mfcc", "none", "none", "clean"], ["mfcc", "none", "opus_16", "clean"], ["mfcc", "none", "sq_2", "clean"],
        ["mfcc", "none", "sq_8", "clean"]]
    assert (summary["n_folds"] == 3).all() and (summary["n_clips"] == 36).all()
    assert summary["nominal_kbps"].tolist() == [256.0, 16.0, 2.0, 8.0]  # a feature condition's number: its budget
    for metric in SED_METRICS:  # F1 within [0, 1]; error rates count insertions, so have no upper bound
        assert summary[metric].between(0, 1 if "_f1_" in metric else np.inf).all(), metric
        assert f"{metric}_std" in summary.columns
    clean = summary.iloc[0]
    # Three classes that MFCCs tell apart easily: the head learns them.
    assert clean["segment_f1_micro"] > 0.6, clean
    assert clean["segment_er_micro"] < 0.5, clean


def test_frame_embeddings_quantised_frame_by_frame(sed_run):
    from acom.embed import frame_matrices
    from acom.io import read_parquet_metadata

    root = sed_run / "results" / "desed"
    clean = pd.read_parquet(root / "frame_embeddings/mfcc/none/none/fold1.parquet")
    coded = pd.read_parquet(root / "frame_embeddings/mfcc/none/sq_8/fold1.parquet")
    rates = pd.read_parquet(root / "feature_rates/mfcc/sq_8/fold1.parquet")
    dim = frame_matrices(clean)[0].shape[1]
    # bits per frame x frames sent per 10 s soundscape: MFCC's 16 ms frames averaged in fours to the
    # head's 64 ms hop (sed.min_hop_s) before coding
    hop = read_parquet_metadata(root / "frame_embeddings/mfcc/none/none/fold1.parquet")["hop_seconds"]
    assert hop == pytest.approx(0.016)
    sent = -(-clean["n_frames"].to_numpy() // 4)
    assert (rates["bits"] == sent * dim * 8).all()
    np.testing.assert_allclose(rates["actual_kbps"], rates["bits"] / 10.0 / 1000)
    assert read_parquet_metadata(root / "frame_embeddings/mfcc/none/sq_8/fold1.parquet")["hop_seconds"] == \
        read_parquet_metadata(root / "frame_embeddings/mfcc/none/none/fold1.parquet")["hop_seconds"]
    for a, b in zip(frame_matrices(clean), frame_matrices(coded), strict=True):
        assert a.shape == b.shape
    summary = pd.read_csv(sed_run / "results" / "desed_summary.csv").set_index("codec")
    assert summary.loc["sq_8", "actual_kbps"] == pytest.approx(rates["actual_kbps"].mean(), rel=0.05)
    # 8 bits per dimension detect about as well as the unquantised frames; 2 bits no better.
    assert abs(summary.loc["sq_8", "segment_f1_micro"] - summary.loc["none", "segment_f1_micro"]) < 0.05
    assert summary.loc["sq_2", "segment_f1_micro"] <= summary.loc["sq_8", "segment_f1_micro"] + 0.02


def test_sed_summary_equals_aggregation_of_per_fold_table(sed_run):
    per_fold = pd.read_csv(sed_run / "results" / "desed_per_fold.csv")
    summary = pd.read_csv(sed_run / "results" / "desed_summary.csv").set_index("codec")
    for codec, rows in per_fold.groupby("codec"):
        for metric in ["actual_kbps", *SED_METRICS]:
            assert summary.loc[codec, metric] == pytest.approx(rows[metric].mean(), abs=1e-12)
            assert summary.loc[codec, f"{metric}_std"] == pytest.approx(rows[metric].std(ddof=1), abs=1e-12)


def test_per_fold_metrics_match_sed_eval_run_on_the_written_event_lists(sed_run):
    """Re-score fold 2 of the clean condition from the event TSV and the labels, with sed_eval
    directly: an independent computation of the per-fold table's numbers."""
    events = pd.read_csv(sed_run / "results" / "desed" / "events" / "mfcc" / "clean" / "none" / "none.tsv", sep="\t")
    labels = pd.read_parquet(sed_run / "results" / "desed" / "labels.parquet")
    manifest = pd.read_parquet(sed_run / "results" / "desed" / "manifest.parquet")
    names = sorted(f"{clip}.flac" for clip in manifest.loc[manifest["fold"] == 2, "clip_id"])
    segment = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=CLASSES, time_resolution=1.0)
    event = sed_eval.sound_event.EventBasedMetrics(event_label_list=CLASSES, t_collar=0.2, percentage_of_length=0.2)

    def event_list(table, name):
        return [{"filename": name, "event_label": r.event_label, "onset": float(r.onset), "offset": float(r.offset)}
                for r in table[table["filename"] == name].itertuples()]

    for name in names:
        ref, est = event_list(labels, name), event_list(events, name)
        segment.evaluate(reference_event_list=ref, estimated_event_list=est, evaluated_length_seconds=10.0)
        event.evaluate(reference_event_list=ref, estimated_event_list=est)
    per_fold = pd.read_csv(sed_run / "results" / "desed_per_fold.csv")
    row = per_fold[(per_fold["codec"] == "none") & (per_fold["fold"] == 2)].iloc[0]
    seg, evt = segment.results_overall_metrics(), event.results_overall_metrics()
    assert row["segment_f1_micro"] == pytest.approx(seg["f_measure"]["f_measure"], abs=1e-9)
    assert row["segment_er_micro"] == pytest.approx(seg["error_rate"]["error_rate"], abs=1e-9)
    assert row["event_f1_micro"] == pytest.approx(evt["f_measure"]["f_measure"], abs=1e-9)
    assert row["n_clips"] == 12


def test_sed_second_run_has_nothing_to_do(sed_run):
    assert planned_jobs(snakemake(sed_run, "-n", "results/desed_summary.csv", configfiles=CONFIGS)) == {}


def test_filters_apply_to_soundscapes_through_the_shared_filter_rule(tmp_path):
    """sed.filters plans filter_fold jobs on the soundscapes (the ESC-50 rule, dataset desed), and
    codes and embeds the filtered audio; oracle_roi is refused (its masks are ESC-50 clips')."""
    overlay = tmp_path / "filters.yaml"
    overlay.write_text("sed:\n  filters: [lowpass_4000]\n")
    result = snakemake(tmp_path, "-n", "results/desed_summary.csv", configfiles=[*CONFIGS, overlay])
    jobs = planned_jobs(result)
    text = result.stdout + result.stderr
    assert jobs["filter_fold"] == 3  # 3 folds at the 16 kHz of MFCC and Opus
    assert "results/desed/filtered/lowpass_4000/sr16000/fold1.parquet" in text
    assert "results/desed/coded/lowpass_4000/opus_16/fold1.parquet" in text
    assert jobs["detect_events"] == 6  # (none, lowpass_4000) x (none, opus_16), and sq_2, sq_8 unfiltered; clean
    overlay.write_text("sed:\n  filters: [oracle_roi]\n")
    refused = snakemake(tmp_path, "-n", "results/desed_summary.csv", configfiles=[*CONFIGS, overlay], check=False)
    assert refused.returncode != 0
    assert "sed.filters: 'oracle_roi' uses the mask search" in refused.stdout + refused.stderr


def test_psds_equals_sed_scores_eval_on_the_written_score_tables(sed_run):
    """Each fold's PSDS1, PSDS2 and intersection-based F1 equal sed_scores_eval run here, directly on
    the per-clip score tables the workflow wrote (read back from their folder) and the strong labels."""
    from sed_scores_eval.base_modules.io import read_sed_scores

    from acom.sed.scores import intersection_based

    module = intersection_based()
    per_fold = pd.read_csv(sed_run / "results" / "desed_per_fold.csv")
    labels = pd.read_parquet(sed_run / "results" / "desed" / "labels.parquet")
    manifest = pd.read_parquet(sed_run / "results" / "desed" / "manifest.parquet")
    folder = sed_run / "results" / "desed" / "scores" / "mfcc" / "clean" / "none" / "opus_16"
    assert len(list(folder.glob("*.tsv"))) == 36
    rows = per_fold[(per_fold["model"] == "mfcc") & (per_fold["train_condition"] == "clean")
                    & (per_fold["codec"] == "opus_16")].set_index("fold")
    for fold in (1, 2, 3):
        ids = manifest.loc[manifest["fold"] == fold, "clip_id"].tolist()
        scores = {clip: read_sed_scores(folder / f"{clip}.tsv") for clip in ids}
        # Overlapping events of one class merged (sed_scores_eval refuses them), done here by hand.
        truth = {clip: [] for clip in ids}
        ordered = labels[labels["clip_id"].isin(ids)].sort_values(["clip_id", "event_label", "onset"])
        for row in ordered.itertuples(index=False):
            events = truth[row.clip_id]
            if events and events[-1][2] == row.event_label and row.onset <= events[-1][1]:
                events[-1] = (events[-1][0], max(events[-1][1], row.offset), row.event_label)
            else:
                events.append((row.onset, row.offset, row.event_label))
        durations = {clip: 10.0 for clip in ids}
        psds1, *_ = module.psds(scores=scores, ground_truth=truth, audio_durations=durations, dtc_threshold=0.7,
                                gtc_threshold=0.7, alpha_ct=0.0, alpha_st=1.0, max_efpr=100.0)
        psds2, *_ = module.psds(scores=scores, ground_truth=truth, audio_durations=durations, dtc_threshold=0.1,
                                gtc_threshold=0.1, cttc_threshold=0.3, alpha_ct=0.5, alpha_st=1.0, max_efpr=100.0)
        f1, *_ = module.fscore(scores=scores, ground_truth=truth, threshold=dict.fromkeys(CLASSES, 0.5),
                               dtc_threshold=0.5, gtc_threshold=0.5)
        assert rows.loc[fold, "psds1"] == pytest.approx(psds1, abs=1e-9)
        assert rows.loc[fold, "psds2"] == pytest.approx(psds2, abs=1e-9)
        assert rows.loc[fold, "intersection_f1_dtc05_gtc05_micro"] == pytest.approx(f1["micro_average"], abs=1e-9)
    assert per_fold["psds2"].between(0, 1).all() and per_fold["psds1"].between(0, 1).all()


def write_test_corpus(root, n_files=8, seed=1):
    """A DESED-format test set made here, not by acom's synthesiser: 8 s files at 22.05 kHz, events of
    the three mapped classes at fixed places over a quiet hum, plus a class the ESC-50 class map lacks
    (Hiss: noise bursts) and one file named as a marker."""
    from acom.data.synthetic import synthesize_clip
    from acom.io import write_flac

    rng = np.random.default_rng(seed)
    sr, duration = 22050, 8.0
    (root / "audio").mkdir(parents=True)
    rows = []
    for i in range(n_files):
        name = "MARKER_0.flac" if i == 0 else f"val_{i:02d}.flac"
        wave = 0.05 * synthesize_clip("hum", rng, sr, duration)  # its own background level and noise
        for slot, (category, label) in enumerate([("tone", "Tone"), ("chirp", "Chirp"), ("click_train", "Clicks"),
                                                  ("noise_bursts", "Hiss")]):
            if (i + slot) % 3 == 2:
                continue
            onset = round(slot * 2.0 + float(rng.uniform(0.0, 0.4)), 3)
            length = round(float(rng.uniform(1.0, 1.5)), 3)
            event = 0.5 * synthesize_clip(category, rng, sr, length)
            start = int(onset * sr)
            wave[start:start + event.size] += event
            rows.append(f"{name}\t{onset}\t{round(onset + length, 3)}\t{label}")
        write_flac(root / "audio" / name, wave.astype(np.float32), sr)
    (root / "validation.tsv").write_text("filename\tonset\toffset\tevent_label\n" + "\n".join(rows) + "\n")


def test_cross_corpus_protocol_trains_on_esc50_soundscapes_and_tests_on_the_copy(tmp_path):
    """sed.protocols: [cross_corpus]: heads trained on the soundscapes synthesised from ESC-50 folds 1
    and 2 (fold 3 held out), tested on a DESED copy acom did not make; only the class map's classes
    are scored, and the table says which; no training input comes from the copy."""
    corpus = tmp_path / "corpus"
    write_test_corpus(corpus)
    overlay = tmp_path / "cross_corpus.yaml"
    overlay.write_text(
        f"datasets:\n  desed:\n    root: {corpus}\n    folds: [{{fold: 1, audio: audio, labels: validation.tsv}}]\n"
        "    classes: [Chirp, Clicks, Hiss, Tone]\n"
        "sed:\n  protocols: [cross_corpus]\n  cross_corpus_folds: [1, 2]\n")
    workdir = tmp_path / "run"
    snakemake(workdir, "results/desed_summary.csv", configfiles=[*CONFIGS, overlay])
    summary = pd.read_csv(workdir / "results" / "desed_summary.csv")
    assert summary[["protocol", "codec", "scored_classes"]].values.tolist() == [
        ["cross_corpus", "none", "Chirp;Clicks;Tone"], ["cross_corpus", "opus_16", "Chirp;Clicks;Tone"]]
    assert (summary["n_clips"] == 8).all() and (summary["n_folds"] == 1).all()
    per_fold = pd.read_csv(workdir / "results" / "desed_per_fold.csv")
    assert (per_fold["n_train_clips"] == 24).all()  # 12 soundscapes of each of ESC-50 folds 1 and 2
    # The heads trained on the synthesised soundscapes of folds 1 and 2 only: no copy file, no fold 3.
    train = pd.read_parquet(workdir / "results" / "esc50_soundscapes" / "manifest.parquet")
    embedded = sorted(p.name for p in (workdir / "results" / "esc50_soundscapes" / "frame_embeddings" / "mfcc" / "none"
                                       / "none").glob("*.parquet"))
    assert embedded == ["fold1.parquet", "fold2.parquet"]
    assert not train["clip_id"].str.contains("MARKER|val_").any()
    log = (workdir / "results" / "logs" / "detect_events_cross_corpus" / "mfcc" / "clean" / "none" / "none.log").read_text()
    assert "training on 24 soundscapes of folds [1, 2]" in log
    events = pd.read_csv(workdir / "results" / "desed" / "cross_corpus" / "events" / "mfcc" / "clean" / "none" / "none.tsv",
                         sep="\t")
    assert set(events["event_label"]) <= {"Chirp", "Clicks", "Tone"} and "MARKER_0.flac" in set(events["filename"])
    # Trained on other material, the head still finds most segments of the mapped classes.
    assert summary.loc[0, "segment_f1_micro"] > 0.5, summary.loc[0]
    scores = workdir / "results" / "desed" / "cross_corpus" / "scores" / "mfcc" / "clean" / "none" / "none"
    assert list(pd.read_csv(scores / "val_01.tsv", sep="\t").columns) == ["onset", "offset", "Chirp", "Clicks", "Tone"]
    # A copy with one fold cannot be cross-validated: refused with the fix.
    overlay.write_text(overlay.read_text().replace("[cross_corpus]", "[cross_validation, cross_corpus]"))
    refused = snakemake(workdir, "-n", "results/desed_summary.csv", configfiles=[*CONFIGS, overlay], check=False)
    assert refused.returncode != 0 and "takes protocols: [cross_corpus]" in refused.stdout + refused.stderr
