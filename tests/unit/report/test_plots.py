"""Report figures: both files written and readable, and each line carrying the data it should."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from acom.classification.protocol import SUMMARY_COLUMNS
from acom.report.plots import line_gid, plot_confusion, plot_rate_accuracy, plot_rate_distortion, recall_confusion

SVG = "{http://www.w3.org/2000/svg}"


def _summary_rows(model, filt, family, nominal, actual, accuracy, std=0.01):
    return [{"model": model, "classifier": "logreg", "train_condition": "clean", "filter": filt,
             "codec": f"{family}_{n:g}", "nominal_kbps": n, "actual_kbps": r, "accuracy_mean": a,
             "accuracy_std": std, "macro_f1_mean": a, "n_folds": 5, "n_clips": 2000}
            for n, r, a in zip(nominal, actual, accuracy)]


def _uncoded(model, filt, accuracy, kbps=256.0):
    return {"model": model, "classifier": "logreg", "train_condition": "clean", "filter": filt, "codec": "none",
            "nominal_kbps": kbps, "actual_kbps": kbps, "accuracy_mean": accuracy, "accuracy_std": 0.01,
            "macro_f1_mean": accuracy, "n_folds": 5, "n_clips": 2000}


@pytest.fixture
def summary():
    rows = [_uncoded("m", "none", 0.93), _uncoded("m", "lowpass_4000", 0.88), _uncoded("other", "none", 0.5)]
    # Condition names deliberately out of rate order as strings (opus_6 > opus_24).
    rows += _summary_rows("m", "none", "opus", [24.0, 6.0, 12.0], [20.7, 4.5, 9.9], [0.92, 0.61, 0.87])
    rows += _summary_rows("m", "lowpass_4000", "opus", [6.0, 12.0, 24.0], [4.1, 8.8, 18.0], [0.55, 0.80, 0.86])
    rows += _summary_rows("m", "none", "encodec24", [1.5, 3.0, 6.0], [1.5, 3.0, 6.0], [0.40, 0.60, 0.75],
                          std=float("nan"))
    rows += _summary_rows("other", "none", "opus", [6.0, 12.0], [4.5, 9.9], [0.3, 0.4])
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _check_files(stem, expected_texts=()):
    png, svg = stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")
    image = matplotlib.image.imread(png)
    assert image.ndim == 3 and 300 < image.shape[0] < 4000 and 300 < image.shape[1] < 4000
    assert image[..., :3].std() > 0.05  # not a blank canvas
    root = ET.parse(svg).getroot()
    assert root.tag == f"{SVG}svg"
    texts = {"".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")}
    for text in expected_texts:
        assert text in texts, f"{text!r} not among the SVG's text elements"
    assert not list(stem.parent.glob(".*.part")), "a temporary file was left behind"
    return root, texts


def test_rate_accuracy_lines_carry_the_actual_kbps(tmp_path, summary):
    stem = tmp_path / "figs" / "rate_accuracy"
    figure = plot_rate_accuracy(summary, "m", "logreg", "clean", stem)
    ax = figure.axes[0]
    assert ax.get_xscale() == "log"
    curves = {c.get_label(): c.lines[0] for c in ax.containers}
    assert set(curves) == {"opus", "opus + lowpass_4000", "encodec24"}
    for label, filt, family in [("opus", "none", "opus"), ("opus + lowpass_4000", "lowpass_4000", "opus"),
                                ("encodec24", "none", "encodec24")]:
        rows = summary[(summary.model == "m") & (summary["filter"] == filt)
                       & summary.codec.str.startswith(family + "_")].sort_values("actual_kbps")
        np.testing.assert_array_equal(curves[label].get_xdata(), rows.actual_kbps.to_numpy())
        np.testing.assert_array_equal(curves[label].get_ydata(), rows.accuracy_mean.to_numpy())
    # Error bars are +-std around each point.
    opus = next(c for c in ax.containers if c.get_label() == "opus")
    segments = opus.lines[2][0].get_segments()
    assert [tuple(np.round(s[:, 1], 6)) for s in segments] == [(0.60, 0.62), (0.86, 0.88), (0.91, 0.93)]
    # The uncoded references: horizontal lines at their accuracy, kbps in the label.
    flat = {line.get_label(): line for line in ax.get_lines() if line.get_label().startswith(("uncoded", "lowpass"))}
    assert set(flat) == {"uncoded (256 kbps)", "lowpass_4000, uncoded (256 kbps)"}
    assert tuple(flat["uncoded (256 kbps)"].get_ydata()) == (0.93, 0.93)
    assert flat["uncoded (256 kbps)"].get_linestyle() == "--"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(legend) == set(curves) | set(flat)
    root, _ = _check_files(stem, expected_texts=legend)
    ids = {el.get("id") for el in root.iter()}
    assert {line_gid(label) for label in legend} <= ids


def test_rate_accuracy_files_are_reproducible_and_unknown_selection_fails(tmp_path, summary):
    plot_rate_accuracy(summary, "m", "logreg", "clean", tmp_path / "a")
    plot_rate_accuracy(summary, "m", "logreg", "clean", tmp_path / "b")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    with pytest.raises(ValueError, match="no summary rows"):
        plot_rate_accuracy(summary, "m", "logreg", "matched", tmp_path / "c")


def test_rate_distortion_has_two_panels_with_one_line_per_curve(tmp_path):
    quality = pd.DataFrame({
        "filter": ["none"] * 4 + ["oracle_roi"] * 2,
        "codec_family": ["opus", "opus", "encodec24", "encodec24", "opus", "opus"],
        "codec": ["opus_6", "opus_12", "encodec24_1.5", "encodec24_3", "opus_6", "opus_12"],
        "nominal_kbps": [6.0, 12.0, 1.5, 3.0, 6.0, 12.0],
        "actual_kbps": [4.5, 9.9, 1.5, 3.0, 3.2, 7.1],
        "container_kbps": [5.3, 10.7, 1.6, 3.1, 4.0, 7.9],
        "si_snr_mean": [-3.4, 6.4, -10.0, -5.0, -2.0, 7.0],
        "mel_distance_mean": [0.84, 0.26, 0.9, 0.7, 0.8, 0.3],
        "n_clips": [2000] * 6,
    })
    figure = plot_rate_distortion(quality, tmp_path / "rd")
    assert len(figure.axes) == 2
    for ax, column in zip(figure.axes, ["si_snr_mean", "mel_distance_mean"]):
        assert ax.get_xscale() == "log"
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {"opus", "encodec24", "opus + oracle_roi"}
        rows = quality[(quality["filter"] == "oracle_roi")].sort_values("actual_kbps")
        np.testing.assert_array_equal(lines["opus + oracle_roi"].get_xdata(), rows.actual_kbps)
        np.testing.assert_array_equal(lines["opus + oracle_roi"].get_ydata(), rows[column])
    _check_files(tmp_path / "rd", expected_texts=["opus", "encodec24", "opus + oracle_roi"])


def test_recall_confusion_rows_are_per_true_class():
    labels = ["dog", "cat", "cow"]
    matrix = recall_confusion([0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0], labels)
    np.testing.assert_allclose(matrix[:2], [[0.75, 0.25, 0.0], [0.5, 0.5, 0.0]])
    assert np.isnan(matrix[2]).all()  # no "cow" clips: unknown, not zero recall
    by_name = recall_confusion(["dog", "dog", "cat"], ["dog", "cat", "cat"], labels)
    np.testing.assert_allclose(by_name[:2], [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])
    with pytest.raises(ValueError, match="not among the labels"):
        recall_confusion(["dog"], ["horse"], labels)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        recall_confusion([0], [3], labels)


def test_confusion_plot_for_fifty_classes(tmp_path):
    rng = np.random.default_rng(0)
    labels = [f"class_{i:02d}" for i in range(50)]
    y_true = np.repeat(np.arange(50), 8)
    y_pred = np.where(rng.random(len(y_true)) < 0.7, y_true, rng.integers(0, 50, len(y_true)))
    figure = plot_confusion(y_true, y_pred, labels, "mn04 / opus_6", tmp_path / "confusion")
    ax = figure.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), recall_confusion(y_true, y_pred, labels))
    ticks = ax.get_xticklabels()
    assert [t.get_text() for t in ticks] == labels and ticks[0].get_rotation() == 90
    assert ticks[0].get_fontsize() <= 6
    assert "mean recall" in ax.get_title()
    _check_files(tmp_path / "confusion", expected_texts=["class_00", "class_49", "predicted class", "true class"])
