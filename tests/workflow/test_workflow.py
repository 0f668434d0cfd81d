"""The workflow end to end: the synthetic config (no data, no network) and a real ESC-50 subset."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from acom.classification.protocol import PER_FOLD_COLUMNS, SUMMARY_COLUMNS
from acom.classification.significance import PAIRED_TEST_COLUMNS, REFERENCE_TEST_COLUMNS
from acom.io import read_parquet_metadata
from tests.helpers import REPO, SHARED_ESC50, SHARED_MN04, require_shared
from tests.workflow.helpers import planned_jobs, snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("synthetic")
    config = REPO / "configs" / "synthetic.yaml"
    snakemake(workdir, configfiles=[config])  # the default target: summary and codec quality
    return workdir, config


SYNTHETIC_CODECS = ["encodec24_1.5", "none", "opus_16", "opus_6", "sq_2", "sq_8"]


def test_synthetic_summary(synthetic_run):
    workdir, _ = synthetic_run
    summary = pd.read_csv(workdir / "results" / "esc50_summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS + REFERENCE_TEST_COLUMNS
    assert (summary["accuracy_ci_low"] <= summary["accuracy_mean"]).all()
    assert (summary["accuracy_mean"] <= summary["accuracy_ci_high"]).all()
    # One row per model x train condition x condition (3 codec, 2 feature conditions, uncoded).
    assert len(summary) == 4 * 2 * 6
    for (model, train), group in summary.groupby(["model", "train_condition"]):
        assert sorted(group["codec"]) == SYNTHETIC_CODECS, (model, train)
    assert set(summary["model"]) == {"efficientat_mn04", "mfcc", "ast", "beats"}
    assert set(summary["train_condition"]) == {"clean", "matched"}
    assert (summary["n_folds"] == 3).all() and (summary["n_clips"] == 60).all()
    assert (summary["classifier"] == "logreg").all()
    rows = summary.set_index(["model", "train_condition", "codec"])
    # Uncoded 16-bit PCM at each model's rate: mfcc 16 kHz, mn04 32 kHz.
    assert rows.loc[("mfcc", "clean", "none"), "actual_kbps"] == 256.0
    assert rows.loc[("efficientat_mn04", "clean", "none"), "actual_kbps"] == 512.0
    # Measured bitrates: EnCodec's payload is exact; Opus VBR spends at most about its target.
    assert rows.loc[("mfcc", "clean", "encodec24_1.5"), "actual_kbps"] == pytest.approx(1.5, rel=0.01)
    for kbps in (6, 16):
        assert 0.5 * kbps < rows.loc[("mfcc", "clean", f"opus_{kbps}"), "actual_kbps"] < 1.1 * kbps
    # Five distinguishable synthetic classes (chance 0.2): both models separate them uncoded, and
    # accuracy under the clean protocol falls with the Opus bitrate.
    for model in ("mfcc", "efficientat_mn04"):
        clean = rows.loc[model].loc["clean"]["accuracy_mean"]
        assert clean["none"] > 0.8 and clean["none"] >= clean["opus_16"] > clean["opus_6"], clean
        # Matched training on the reference condition is the clean protocol itself.
        assert rows.loc[(model, "matched", "none"), "accuracy_mean"] == clean["none"]


def test_synthetic_summary_equals_aggregation_of_per_fold_table(synthetic_run):
    workdir, _ = synthetic_run
    per_fold = pd.read_csv(workdir / "results" / "esc50_per_fold.csv")
    assert list(per_fold.columns) == PER_FOLD_COLUMNS and len(per_fold) == 48 * 3
    summary = pd.read_csv(workdir / "results" / "esc50_summary.csv").set_index(["model", "train_condition", "codec"])
    for key, group in per_fold.groupby(["model", "train_condition", "codec"]):
        assert summary.loc[key, "accuracy_mean"] == pytest.approx(group["accuracy"].mean())
        assert summary.loc[key, "accuracy_std"] == pytest.approx(group["accuracy"].std(ddof=1))
        assert summary.loc[key, "macro_f1_mean"] == pytest.approx(group["macro_f1"].mean())
        assert summary.loc[key, "n_clips"] == group["n_clips"].sum() == 60
    # Recompute fold accuracies from the saved predictions.
    predictions = pd.read_parquet(workdir / "results/esc50/predictions/mfcc/logreg/clean/none/opus_6.parquet")
    recomputed = predictions.groupby("fold").apply(lambda g: np.mean(g["target"] == g["predicted"]))
    mask = (per_fold["model"] == "mfcc") & (per_fold["train_condition"] == "clean") & (per_fold["codec"] == "opus_6")
    np.testing.assert_allclose(per_fold[mask].set_index("fold")["accuracy"], recomputed)


def test_synthetic_intermediate_artifacts(synthetic_run):
    workdir, _ = synthetic_run
    manifest = pd.read_parquet(workdir / "results/esc50/manifest.parquet")
    assert len(manifest) == 60 and (manifest["sample_rate"] == 44100).all()
    fold = pd.read_parquet(workdir / "results/esc50/resampled/sr32000/fold2.parquet")
    assert len(fold) == 20 and (fold["frames"] == 160000).all()
    assert all((workdir / p).is_file() for p in fold["path"])
    emb = pd.read_parquet(workdir / "results/esc50/embeddings/efficientat_mn04/none/none/fold2.parquet")
    assert emb["clip_id"].tolist() == fold["clip_id"].tolist()
    assert len(emb["embedding"][0]) == 384 and len(emb["probabilities"][0]) == 527 and len(emb["top_labels"][0]) == 5
    emb = pd.read_parquet(workdir / "results/esc50/embeddings/mfcc/none/opus_6/fold2.parquet")
    assert len(emb["embedding"][0]) == 160 and emb["probabilities"].isna().all()
    # AST and BEATs (tiny, random init): the embedding tables say how the clips were fitted to the model.
    for model, dim, key, value in (("ast", 64, "max_length", 512), ("beats", 64, "clip_seconds", 5.0)):
        path = workdir / f"results/esc50/embeddings/{model}/none/encodec24_1.5/fold1.parquet"
        emb = pd.read_parquet(path)
        assert len(emb) == 20 and len(emb["embedding"][0]) == dim and len(emb["probabilities"][0]) == 527
        meta = read_parquet_metadata(path)
        assert meta["model"] == model and meta["type"] == model and meta[key] == value and meta["init"] == "random"


def test_synthetic_feature_conditions(synthetic_run):
    workdir, _ = synthetic_run
    rows = pd.read_csv(workdir / "results" / "esc50_summary.csv").set_index(["model", "train_condition", "codec"])
    for model, dim in (("mfcc", 160), ("efficientat_mn04", 384), ("ast", 64)):
        # The rate is the codes' bits over the clip's 5 s: dim x bits per dimension.
        for bits in (2, 8):
            assert rows.loc[(model, "clean", f"sq_{bits}"), "actual_kbps"] == pytest.approx(dim * bits / 5.0 / 1000)
        rates = pd.read_parquet(workdir / f"results/esc50/feature_rates/{model}/sq_8/fold1.parquet")
        assert len(rates) == 20 and (rates["bits"] == dim * 8).all()
        codebook = np.load(workdir / f"results/esc50/feature_codebooks/{model}/sq_8/fold1.npz")
        assert codebook["low"].shape == (dim,) and (codebook["code_bits"] == 8).all()
    for model in ("mfcc", "efficientat_mn04"):  # 8 bits per dimension classify like the original
        clean = rows.loc[model].loc["clean"]["accuracy_mean"]
        assert abs(clean["sq_8"] - clean["none"]) <= 1 / 60 + 1e-9, clean  # at most one of 60 clips differs
    # The ranges for test fold 1 are those of folds 2 and 3 alone.
    from acom.embed import embedding_matrix

    train = np.concatenate([embedding_matrix(pd.read_parquet(workdir / f"results/esc50/embeddings/mfcc/none/none/fold{k}.parquet"))
                            for k in (2, 3)])
    np.testing.assert_array_equal(np.load(workdir / "results/esc50/feature_codebooks/mfcc/sq_8/fold1.npz")["low"],
                                  train.min(axis=0).astype(np.float64))
    emb = pd.read_parquet(workdir / "results/esc50/embeddings/mfcc/none/sq_8/fold1.parquet")
    assert len(emb) == 20 and emb["probabilities"].isna().all()


def test_synthetic_codec_artifacts(synthetic_run):
    workdir, _ = synthetic_run
    coded = pd.read_parquet(workdir / "results/esc50/coded/none/opus_16/fold1.parquet")
    assert len(coded) == 20 and (coded["sample_rate"] == 16000).all() and (coded["decode_length"] == 80000).all()
    for rec in coded.head(3).itertuples():
        # The bitstream is a real Ogg Opus file: libsndfile decodes it to the stored decode.
        from_opus, sr = sf.read(workdir / rec.bitstream_path, dtype="float32")
        stored, _ = sf.read(workdir / rec.path, dtype="float32")
        assert sr == 16000 and from_opus.shape == stored.shape
        np.testing.assert_allclose(from_opus, stored, atol=1.5 / 32768)  # FLAC's 16-bit rounding
        assert rec.actual_kbps == pytest.approx(rec.payload_bytes * 8 / 5.0 / 1000)
        assert rec.container_kbps > rec.actual_kbps
    ecdc = pd.read_parquet(workdir / "results/esc50/coded/none/encodec24_1.5/fold3.parquet")
    assert all((workdir / p).suffix == ".ecdc" and (workdir / p).is_file() for p in ecdc["bitstream_path"])
    assert (ecdc["decode_length"] == 120000).all()
    quality = pd.read_csv(workdir / "results" / "esc50_codec_quality.csv").set_index("codec")
    assert sorted(quality.index) == ["encodec24_1.5", "opus_16", "opus_6"]
    assert (quality["n_clips"] == 60).all()
    assert quality.loc["opus_16", "si_snr_mean"] > quality.loc["opus_6", "si_snr_mean"]
    assert quality.loc["opus_16", "mel_distance_mean"] < quality.loc["opus_6", "mel_distance_mean"]


def test_synthetic_per_fold_metrics_hold_recall_and_confusion(synthetic_run):
    workdir, _ = synthetic_run
    metrics = pd.read_parquet(workdir / "results/esc50/metrics/mfcc/logreg/clean/none/opus_6.parquet")
    predictions = pd.read_parquet(workdir / "results/esc50/predictions/mfcc/logreg/clean/none/opus_6.parquet")
    for row in metrics.itertuples():
        fold = predictions[predictions["fold"] == row.fold]
        confusion = np.stack(row.confusion)
        assert confusion.sum() == row.n_clips == len(fold) and list(row.classes) == [0, 1, 2, 3, 4]
        for i, target in enumerate(row.classes):
            truth = fold[fold["target"] == target]
            assert row.per_class_recall[i] == pytest.approx(np.mean(truth["predicted"] == target))
            assert confusion[i].tolist() == [int(np.sum(truth["predicted"] == c)) for c in row.classes]


def test_synthetic_report_plots_comparisons_and_listening_page(synthetic_run, tmp_path):
    from acom.report.listen import audio_problems, browser_audio_report, find_chromium, screenshot

    workdir, config = synthetic_run
    plots = workdir / "results" / "plots"
    for model in ("mfcc", "efficientat_mn04", "ast", "beats"):
        for train in ("clean", "matched"):
            for ext in ("png", "svg"):
                assert (plots / "rate_accuracy" / f"{model}_logreg_{train}.{ext}").stat().st_size > 1000
    svg = (plots / "rate_accuracy" / "mfcc_logreg_clean.svg").read_text()
    assert "opus" in svg and "encodec24" in svg
    assert (plots / "rate_distortion.png").is_file()
    assert (plots / "confusion/efficientat_mn04/logreg/clean/none/opus_6.png").is_file()
    drop = pd.read_csv(workdir / "results" / "esc50_accuracy_drop.csv")
    summary = pd.read_csv(workdir / "results" / "esc50_summary.csv")
    assert len(drop) == len(summary)
    clean = drop[(drop["filter"] == "none") & (drop["codec"] == "none")]
    assert (clean["accuracy_delta"] == 0).all()
    delta = pd.read_csv(workdir / "results" / "esc50_delta_rate.csv")
    assert set(delta["reference"]) == {"none/opus"} and set(delta["test"]) == {"none/encodec24", "none/sq"}
    paired = pd.read_csv(workdir / "results" / "esc50_paired_tests.csv")  # budgets are not kbps: never paired
    assert not paired[["codec_a", "codec_b"]].stack().str.startswith("sq_").any()
    # The listening page: 4 clips x (original + 3 codec conditions) decodes and the Opus files as
    # coded (EnCodec's .ecdc is a download link); every file plays in a browser.
    page = workdir / "results" / "listen" / "index.html"
    html = page.read_text()
    assert html.count("<audio") == 4 * 4 + 4 * 2 and "opus 6 kbps" in html and "encodec24 1.5 kbps" in html
    assert html.count(".coded.ecdc") == 4
    if find_chromium() is None:
        pytest.skip("no chromium binary: the browser check of the listening page needs Debian's chromium")
    report, settled = browser_audio_report(page)
    assert settled and len(report) == 24
    assert audio_problems(report, settled=settled) == []
    shot = screenshot(page, tmp_path / "listen.png")
    assert shot.stat().st_size > 10000
    # snakemake --report embeds the tables and plots.
    snakemake(workdir, "--report", str(workdir / "results" / "report.html"), configfiles=[config])
    assert (workdir / "results" / "report.html").stat().st_size > 100000


def test_second_run_has_nothing_to_do_and_one_model_change_reruns_only_it(synthetic_run, tmp_path):
    workdir, config = synthetic_run
    assert planned_jobs(snakemake(workdir, "-n", configfiles=[config])) == {}
    overlay = tmp_path / "mfcc13.yaml"
    overlay.write_text(yaml.safe_dump({"models": {"mfcc": {"type": "mfcc", "n_mfcc": 13}}}))
    jobs = planned_jobs(snakemake(workdir, "-n", "results/esc50_summary.csv", configfiles=[config, overlay]))
    # mfcc only: 4 conditions' embeddings (every fold in one job) and its 2 quantised ones; classifiers
    # fit on the reference score every condition (clean) and the reference (matched), the 3 coded and
    # 2 feature conditions' own fits the rest.
    assert jobs == {"embed": 4, "quantize_embeddings": 2, "classify_reference": 1, "classify_matched": 5,
                    "summarize_esc50": 1}, jobs


def test_esc10_mixtures_are_sums_of_clips_of_one_fold_and_their_metrics_recompute(synthetic_run):
    """The esc10_mix task on the synthetic corpus: each mixture is the sum of its two normalised
    clips (recomputed here from the ESC-50 copy with pyloudnorm), both from the mixture's fold; the
    per-fold metrics equal scikit-learn on the written predictions; the summary carries the ESC-50
    summary's condition columns and every condition."""
    import pyloudnorm
    from sklearn.metrics import accuracy_score, average_precision_score, f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    workdir, _ = synthetic_run
    esc50 = pd.read_parquet(workdir / "results/esc50/manifest.parquet").set_index("clip_id")
    manifest = pd.read_parquet(workdir / "results/esc10_mix/manifest.parquet")
    mixtures = manifest[manifest["n_sources"] == 2]
    assert mixtures.groupby("fold").size().to_dict() == {1: 8, 2: 8, 3: 8}
    assert (manifest["n_sources"] == 1).sum() == len(esc50)
    for item in mixtures.itertuples(index=False):
        assert [esc50.loc[c, "fold"] for c in item.sources] == [item.fold, item.fold]
        expected = 0
        for clip_id, level in zip(item.sources, item.levels_db, strict=True):
            source, rate = sf.read(esc50.loc[clip_id, "source_path"], dtype="float64")
            loudness = pyloudnorm.Meter(rate).integrated_loudness(source)
            expected = expected + source * 10 ** ((-27.0 + level - loudness) / 20)
        rendered, _ = sf.read(item.source_path, dtype="float64")
        np.testing.assert_allclose(rendered, item.output_gain * expected, atol=1.5 / 32768)

    per_fold = pd.read_csv(workdir / "results/esc10_mix_per_fold.csv")
    classes = sorted(esc50["category"].unique())
    binarizer = MultiLabelBinarizer(classes=classes)
    for row in per_fold.itertuples(index=False):
        predictions = pd.read_parquet(workdir / f"results/esc10_mix/predictions/{row.model}/{row.classifier}/"
                                      f"{row.train_condition}/{row.filter}/{row.codec}.parquet")
        fold = predictions[predictions["fold"] == row.fold]
        y, chosen = binarizer.fit_transform(fold["labels"]), binarizer.transform(fold["predicted"])
        scores = np.vstack(fold["scores"])
        assert row.map == pytest.approx(np.mean([average_precision_score(y[:, k], scores[:, k])
                                                 for k in range(len(classes))]))
        assert row.micro_f1 == pytest.approx(f1_score(y, chosen, average="micro"))
        assert row.macro_f1 == pytest.approx(f1_score(y, chosen, average="macro", zero_division=0))
        assert row.exact_match == pytest.approx(accuracy_score(y, chosen))
        assert row.counting_accuracy == pytest.approx(accuracy_score(fold["n_sources"], fold["predicted_sources"]))
        assert row.n_clips == len(fold) == 28
    recall = pd.read_csv(workdir / "results/esc10_mix_source_recall.csv")
    # Every mixture (3 folds x 8) falls in one of the three level bins of every condition.
    assert (recall.groupby(["model", "train_condition", "codec"])["n_mixtures"].sum() == 24).all()
    summary = pd.read_csv(workdir / "results/esc10_mix_summary.csv")
    assert list(summary.columns[:7]) == SUMMARY_COLUMNS[:7]
    assert set(zip(summary["model"], summary["train_condition"], summary["codec"])) == {
        (model, train, codec) for model in ("mfcc", "efficientat_mn04") for train in ("clean", "matched")
        for codec in ("none", "opus_6", "opus_16")}
    assert summary.loc[summary["codec"] == "opus_6", "actual_kbps"].between(4, 8).all()
    for model in ("mfcc", "efficientat_mn04"):
        for train in ("clean", "matched"):
            assert (workdir / f"results/plots/esc10_mix_rate_map/{model}_logreg_{train}.png").stat().st_size > 0


@pytest.fixture(scope="module")
def roi_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("roi")
    configs = [REPO / "configs" / "synthetic.yaml", REPO / "configs" / "roi.yaml"]
    snakemake(workdir, configfiles=configs)  # default target: summary, codec quality, ROI summary
    return workdir, configs


ROI_FILTERS = ["frame_energy_noise_p50", "frame_predicted_bits_p50", "frame_saliency_p50", "freq_band_p50",
               "lowpass_4000", "oracle_roi"]
ROI_FOLDS = (1, 2)


def test_roi_summary_has_every_filter_coded_and_uncoded(roi_run):
    workdir, _ = roi_run
    summary = pd.read_csv(workdir / "results" / "esc50_summary.csv")
    assert sorted(set(summary["filter"])) == sorted(ROI_FILTERS + ["none"])
    # Every filter uncoded and coded; the bit-allocating one (it changes no sample) only coded.
    assert len(summary) == 7 * 2 - 1 and (summary["n_clips"] == 40).all()
    assert not ((summary["filter"] == "frame_predicted_bits_p50") & (summary["codec"] == "none")).any()
    rows = summary.set_index(["filter", "codec"])
    assert (rows.xs("none", level="codec")["actual_kbps"] == 256.0).all()
    # Zeroing half of every clip's frames leaves Opus less to code: it spends fewer bits; so does
    # coding half of them at the 6 kbps floor.
    plain = rows.loc[("none", "opus_16"), "actual_kbps"]
    assert rows.loc[("frame_saliency_p50", "opus_16"), "actual_kbps"] < plain
    assert rows.loc[("frame_predicted_bits_p50", "opus_16"), "actual_kbps"] < 0.8 * plain
    quality = pd.read_csv(workdir / "results" / "esc50_codec_quality.csv")
    assert sorted(quality["filter"]) == sorted(ROI_FILTERS + ["none"]) and (quality["codec"] == "opus_16").all()
    delta = pd.read_csv(workdir / "results" / "esc50_delta_rate.csv")
    assert {"bd_rate_ci_low", "bd_rate_ci_high"} <= set(delta.columns)
    assert sorted(delta["test"]) == sorted(f"{name}/opus" for name in ROI_FILTERS)


def test_bit_allocation_codes_the_predicted_region_at_the_high_rate(roi_run):
    from acom.codecs.opus import read_ogg_opus, roi_frame_mask

    workdir, _ = roi_run
    results = workdir / "results" / "esc50"
    filtered = pd.read_parquet(results / "filtered/frame_predicted_bits_p50/sr16000/fold1.parquet")
    assert (filtered["kept_share"] == 0.5).all() and filtered["floor_kbps"].eq(6.0).all()
    coded = pd.read_parquet(results / "coded/frame_predicted_bits_p50/opus_16/fold1.parquet").set_index("clip_id")
    for rec in filtered.head(4).itertuples():
        regions = json.loads(rec.bit_roi)
        assert sum(end - start for start, end in regions) == pytest.approx(2.5)  # half of 5 s in 250 ms frames
        x, _ = sf.read(workdir / rec.path)  # the filter changed no sample: it only chose the region
        original, _ = sf.read(workdir / "results/esc50/resampled/sr16000/fold1" / f"{rec.clip_id}.flac")
        np.testing.assert_array_equal(x, original)
        sizes = np.array([len(p) for p in read_ogg_opus(workdir / coded.loc[rec.clip_id, "bitstream_path"]).packets])
        inside = roi_frame_mask(regions, n_frames=len(sizes), frame_size=320, lookahead=104, sample_rate=16000,
                                n_samples=len(x))
        assert sizes[inside].mean() > 1.5 * sizes[~inside].mean()
        assert coded.loc[rec.clip_id, "decode_length"] == len(x)


def test_comfort_noise_fills_the_dropped_frames(roi_run):
    workdir, _ = roi_run
    frames = pd.read_parquet(workdir / "results/esc50/filtered/frame_energy_noise_p50/sr16000/fold1.parquet")
    assert (frames["kept_share"] == 0.5).all()
    for path in frames["path"].head(5):
        y, _ = sf.read(workdir / path)
        assert np.mean(y == 0) < 0.05  # unlike zeroing: noise where frames were dropped


def test_mask_predictor_is_trained_on_the_other_folds_and_scored_on_its_own(roi_run):
    import torch

    from acom.roi.predictor import QUALITY_PERCENTAGES

    workdir, _ = roi_run
    for fold, others in ((1, [2]), (2, [1])):
        state = torch.load(workdir / f"results/esc50/mask_predictor/mfcc/fold{fold}.pt", weights_only=False)
        assert state["train_folds"] == others  # never a clip or mask of its test fold
    table = pd.read_csv(workdir / "results" / "esc50_mask_predictor.csv")
    assert sorted(zip(table["ranking"], table["axis"])) == [(r, a) for r in ("energy", "predicted", "random")
                                                            for a in ("freq", "time")]
    assert (table["n_clips"] == 40).all() and (table["n_folds"] == 2).all()
    assert table["frame_auc"].between(0, 1).all()
    predicted = table[table["ranking"] == "predicted"]
    assert (predicted["n_parameters"] <= 100_000).all() and (predicted["ms_per_clip"] > 0).all()
    assert table.loc[table["ranking"] != "predicted", "ms_per_clip"].isna().all()
    for p in QUALITY_PERCENTAGES:
        assert table[f"accuracy_keep_{p}"].between(0, 1).all()


def test_roi_filtered_audio_is_playable_and_filtered(roi_run):
    workdir, _ = roi_run
    results = workdir / "results" / "esc50"
    original = pd.read_parquet(results / "resampled/sr16000/fold1.parquet").set_index("clip_id")
    lowpass = pd.read_parquet(results / "filtered/lowpass_4000/sr16000/fold1.parquet")
    assert len(lowpass) == 20 and (lowpass["filter"] == "lowpass_4000").all()
    for rec in lowpass.head(5).itertuples():
        x, sr = sf.read(workdir / original.loc[rec.clip_id, "path"])
        y, sr_y = sf.read(workdir / rec.path)
        assert sr == sr_y == 16000 and x.shape == y.shape
        freqs = np.fft.rfftfreq(len(x), 1 / sr)
        above = freqs > 5000
        ex, ey = np.abs(np.fft.rfft(x)) ** 2, np.abs(np.fft.rfft(y)) ** 2
        if ex[above].sum() > 1e-3 * ex.sum():  # clips with content above 5 kHz lose it (> 40 dB)
            assert 10 * np.log10(ey[above].sum() / ex[above].sum()) < -40
    frames = pd.read_parquet(results / "filtered/frame_saliency_p50/sr16000/fold1.parquet")
    assert (frames["kept_share"] == 0.5).all() and (frames["roi_axis"] == "time").all()
    for path in frames["path"].head(5):
        y, _ = sf.read(workdir / path)
        assert np.mean(y == 0) >= 0.45  # half of the 500 ms frames are dropped: silent but for the ramps


def test_roi_mask_tables_follow_the_schema_and_the_oracle_applies_the_best_masks(roi_run):
    from acom.roi.search import MASK_COLUMNS

    workdir, _ = roi_run
    masks = pd.concat(pd.read_parquet(workdir / f"results/esc50/masks/mfcc/fold{k}.parquet") for k in ROI_FOLDS)
    assert list(masks.columns) == MASK_COLUMNS and masks["clip_id"].nunique() == 40
    assert len(masks) == 40 * 2 * 3  # axes x percentages [20, 50, 80]
    assert set(masks["region_unit"]) == {"frame", "hz"}
    assert (masks.groupby("clip_id")["best"].sum() <= 1).all()
    best = masks[masks["best"]]
    assert best["correct_masked"].all()
    # The chosen mask is the smallest percentage at which some region keeps the clip correct.
    smallest = masks[masks["correct_masked"]].groupby("clip_id")["percentage"].min()
    assert (best.set_index("clip_id")["percentage"] == smallest.loc[best["clip_id"]]).all()
    time_rows = masks[masks["axis"] == "time"]
    assert ((time_rows["region_end"] - time_rows["region_start"]) == time_rows["units_kept"]).all()
    assert (time_rows["n_units"] == 20).all()  # 5 s in 250 ms frames
    oracle = pd.concat(pd.read_parquet(workdir / f"results/esc50/filtered/oracle_roi/sr16000/fold{k}.parquet")
                       for k in ROI_FOLDS).set_index("clip_id")
    expected_axis = best.set_index("clip_id")["axis"].reindex(oracle.index).fillna("none")
    assert (oracle["roi_axis"] == expected_axis).all()


def test_roi_summary_matches_the_mask_tables(roi_run):
    from acom.roi.summary import ROI_SUMMARY_COLUMNS

    workdir, _ = roi_run
    summary = pd.read_csv(workdir / "results" / "esc50_roi_summary.csv")
    assert list(summary.columns) == ROI_SUMMARY_COLUMNS and len(summary) == 2 * 3
    masks = pd.concat(pd.read_parquet(workdir / f"results/esc50/masks/mfcc/fold{k}.parquet") for k in ROI_FOLDS)
    rates = pd.concat(pd.read_parquet(workdir / f"results/esc50/masks/mfcc/kbps/opus_16/fold{k}.parquet")
                      for k in ROI_FOLDS)
    assert len(rates) == 40 * (1 + 6)  # the unmasked clip and its best region at each axis x percentage
    for row in summary.itertuples():
        group = masks[(masks["axis"] == row.axis) & (masks["percentage"] == row.percentage)]
        assert row.n_clips == 40 and row.share_correct == pytest.approx(group["correct_masked"].mean())
        coded = rates[(rates["axis"] == row.axis) & (rates["percentage"] == row.percentage)]
        assert row.actual_kbps == pytest.approx(coded["actual_kbps"].mean())
    full = rates[rates["axis"] == "none"]
    np.testing.assert_allclose(summary["actual_kbps_full"], full["actual_kbps"].mean())
    # Keeping 20 % of the frames (silence elsewhere) costs Opus far fewer bits than the whole clip.
    time20 = summary[(summary["axis"] == "time") & (summary["percentage"] == 20)].iloc[0]
    assert time20["actual_kbps"] < 0.6 * time20["actual_kbps_full"]


def test_real_esc10_subset_end_to_end(tmp_path):
    require_shared()
    overlay = tmp_path / "subset.yaml"
    overlay.write_text(yaml.safe_dump({
        "datasets": {"esc50": {"root": str(SHARED_ESC50), "esc10_only": True, "max_clips_per_class_per_fold": 2}},
        "models": {"efficientat_mn04": {"type": "efficientat_mn04",
                                        "weights": str(SHARED_MN04 / "mn04_as_mAP_432.pt"),
                                        "labels": str(SHARED_MN04 / "audioset_class_labels_indices.csv")}},
        # Every classical codec at 16 kbps (Vorbis's lowest nominal rate at 16 kHz is 24).
        "codecs": {"opus": {"type": "opus", "bitrates_kbps": [6, 16]}, "mp3": {"type": "mp3", "bitrates_kbps": [16]},
                   "aac": {"type": "aac", "bitrates_kbps": [16]}, "vorbis": {"type": "vorbis", "bitrates_kbps": [24]},
                   "lc3": {"type": "lc3", "bitrates_kbps": [16]}},
        "evaluation": {"models": ["mfcc", "efficientat_mn04"], "classifiers": ["logreg", "mlp"],
                       "codecs": ["opus", "mp3", "aac", "vorbis", "lc3"], "train_conditions": ["clean"], "filters": [],
                       "feature_codecs": []},
        # The real model's best masks on one fold, on a coarse grid (CI time).
        "mask_search": {"models": ["efficientat_mn04"], "folds": [1], "percentages": [25, 50, 75],
                        "time": {"frame_ms": 500, "stride_frames": 2}, "freq": {"n_bands": 8, "stride_bands": 2},
                        "codecs": ["opus_16"]},
        "mask_predictor": {"models": []},  # its quality table needs every fold's search
        # 100 clips: one thread per job, two jobs at a time on 2 cores.
        "threads": {"embed": 1, "classify": 1, "search": 1},
    }))
    # ESC-10's targets are not 0..9 (0, 1, 10, 11, ...): the default confusion matrix must still draw.
    confusion = "results/plots/confusion/efficientat_mn04/logreg/clean/none/opus_6.png"
    snakemake(tmp_path, "results/esc50_summary.csv", "results/esc50_roi_summary.csv", confusion, configfiles=[overlay])
    assert (tmp_path / confusion).stat().st_size > 10_000
    table = pd.read_csv(tmp_path / "results" / "esc50_summary.csv")
    assert (table["n_clips"] == 100).all() and len(table) == 2 * 2 * 7
    # Every codec decoded aligned with its input (the codec stage checks each clip and records the lag).
    for condition in ("mp3_16", "aac_16", "vorbis_24", "lc3_16"):
        coded = pd.concat(pd.read_parquet(p) for p in (tmp_path / "results/esc50/coded/none").glob(f"{condition}/fold*.parquet"))
        assert len(coded) == 100 and (coded["decode_length"] == 80000).all()
        assert coded["alignment_lag"].dropna().abs().max() <= 1 and coded["alignment_lag"].notna().mean() > 0.8
    # Equal-rate comparisons: Opus, MP3, AAC and LC3 at 16 kbps, pairwise, per model and classifier.
    paired = pd.read_csv(tmp_path / "results" / "esc50_paired_tests.csv")
    assert list(paired.columns) == PAIRED_TEST_COLUMNS
    assert len(paired) == 2 * 2 * 6 and set(paired["nominal_kbps"]) == {16.0}
    assert ((paired["p_value"] > 0) & (paired["p_value"] <= 1)).all()
    # The MLP probe (early stopping on the training folds) learns the real embeddings too.
    mlp = table[(table["classifier"] == "mlp") & (table["codec"] == "none")].set_index("model")
    assert mlp.loc["efficientat_mn04", "accuracy_mean"] >= 0.7
    table = table[table["classifier"] == "logreg"]
    coded = table[table["codec"] == "opus_6"].set_index("model")
    summary = table[table["codec"] == "none"].set_index("model")
    # Opus at 6 kbps (VBR) on real clips: spends at most its target, and costs the model accuracy.
    assert (coded["actual_kbps"] < 6.0).all()
    assert coded.loc["efficientat_mn04", "accuracy_mean"] < summary.loc["efficientat_mn04", "accuracy_mean"]
    # 10 classes, 8 training clips per class: the AudioSet-pretrained model is far above chance (0.1)
    # and above the MFCC baseline.
    assert summary.loc["efficientat_mn04", "accuracy_mean"] >= 0.8, summary
    assert summary.loc["efficientat_mn04", "accuracy_mean"] > summary.loc["mfcc", "accuracy_mean"]
    # Real AudioSet predictions: the dog clips are tagged with dog-related labels.
    emb = pd.concat(pd.read_parquet(p) for p in (tmp_path / "results/esc50/embeddings/efficientat_mn04/none/none").glob("*.parquet"))
    dogs = emb[emb["category"] == "dog"]
    assert len(dogs) == 10
    assert np.mean([bool({"Dog", "Bark", "Animal"} & set(labels)) for labels in dogs["top_labels"]]) >= 0.8
    # Best masks of the real model: most clips it gets right keep being right with a part of them.
    masks = pd.read_parquet(tmp_path / "results/esc50/masks/efficientat_mn04/fold1.parquet")
    assert masks["clip_id"].nunique() == 20 and len(masks) == 20 * 2 * 3
    correct = masks.groupby("clip_id")["correct_full"].first()
    assert correct.mean() >= 0.7
    assert masks[masks["correct_full"]].groupby("clip_id")["best"].any().mean() >= 0.7
    roi = pd.read_csv(tmp_path / "results" / "esc50_roi_summary.csv").set_index(["axis", "percentage"])
    assert len(roi) == 6 and (roi["n_clips"] == 20).all()
    # Share of clips still correct grows with the share of the clip kept.
    for axis in ("time", "freq"):
        assert roi.loc[(axis, 75.0), "share_correct"] >= roi.loc[(axis, 25.0), "share_correct"]
