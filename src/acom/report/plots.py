"""Report figures: rate-accuracy curves, rate-distortion curves and confusion matrices.

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas, never through ``pyplot``: no
global figure registry (nothing to close, nothing leaks across the many figures one report job
draws) and no display backend is ever touched. Each figure is written twice, atomically: PNG for
quick viewing and SVG for papers; SVG text is kept as text (``svg.fonttype: none``) so labels stay
editable and searchable, and the SVG carries no date and a fixed hash salt, so rerunning a job on the
same tables rewrites byte-identical files. Every ``plot_*`` function returns its Figure, whose
artists tests (and notebooks) can inspect.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from acom.conditions import codec_family
from acom.io import atomic_output

SAVE_FORMATS = ("png", "svg")
_SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "acom"}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_LINESTYLES = ("-", "--", "-.", ":")
#: Tick positions offered on log kbps axes: the rates codecs are usually run at.
KBPS_TICKS = (0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536)


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, out_stem: str | os.PathLike, *, dpi: int = 150) -> list[Path]:
    """Write ``<out_stem>.png`` and ``<out_stem>.svg`` atomically; return both paths."""
    out_stem, paths = Path(out_stem), []
    for fmt in SAVE_FORMATS:
        path = out_stem.with_name(f"{out_stem.name}.{fmt}")
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        with matplotlib.rc_context(_SVG_RC), atomic_output(path) as tmp:
            figure.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata)
        paths.append(path)
    return paths


def _kbps_axis(ax: Axes) -> None:
    """Log x axis labelled with plain kbps numbers (6, 12, 24 ...) instead of 6x10^0-style powers."""
    ax.set_xscale("log")
    low, high = ax.get_xlim()
    ticks = [t for t in KBPS_TICKS if low <= t <= high]
    while len(ticks) > 10:
        ticks = ticks[::2]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("actual bitrate (kbps, log scale)")


def line_gid(label: str) -> str:
    """The SVG id a line gets from its label (``"opus + lowpass_4000" -> "line-opus_lowpass_4000"``)."""
    return "line-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_")


def curve_label(family: str, filter_name: str) -> str:
    """Legend label of one (codec family, filter) line: ``"opus"`` or ``"opus + lowpass_4000"``."""
    return family if filter_name == "none" else f"{family} + {filter_name}"


def _curves(table: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(codec family, filter, rows sorted by actual kbps) of each coded curve, unfiltered ones first."""
    coded = table[table["codec"] != "none"].assign(codec_family=lambda t: t["codec"].map(codec_family))
    curves = [(family, filt, rows.sort_values("actual_kbps"))
              for (family, filt), rows in coded.groupby(["codec_family", "filter"], sort=True)]
    return sorted(curves, key=lambda c: (c[1] != "none", c[1], c[0]))


def _styles(curves: Sequence[tuple[str, str, pd.DataFrame]]) -> list[dict]:
    """One colour per line, one marker per codec family, one line style per filter: a line stays
    identifiable in greyscale print and for colour-blind readers."""
    families = sorted({family for family, _, _ in curves})
    filters = sorted({filt for _, filt, _ in curves}, key=lambda f: (f != "none", f))
    colours = matplotlib.colormaps["tab10"].colors
    return [{"color": colours[i % len(colours)], "marker": _MARKERS[families.index(family) % len(_MARKERS)],
             "linestyle": _LINESTYLES[filters.index(filt) % len(_LINESTYLES)]}
            for i, (family, filt, _) in enumerate(curves)]


def _error_bars(points: pd.DataFrame, metric: str = "accuracy") -> np.ndarray:
    """Error bars of a curve's points: the bootstrap interval where the summary has one, else +-1 std."""
    if {f"{metric}_ci_low", f"{metric}_ci_high"} <= set(points.columns):
        return np.vstack([points[f"{metric}_mean"] - points[f"{metric}_ci_low"],
                          points[f"{metric}_ci_high"] - points[f"{metric}_mean"]])
    return np.vstack([points[f"{metric}_std"], points[f"{metric}_std"]])


def plot_rate_accuracy(summary: pd.DataFrame, model: str, classifier: str, train_condition: str,
                       out_stem: str | os.PathLike, *, metric: str = "accuracy") -> Figure:
    """Accuracy (or another ``metric`` with ``<metric>_mean`` and ``<metric>_std`` columns, e.g. a
    multi-label task's ``map``) against ACTUAL kbps (log axis) for one model, classifier and train
    condition.

    One line per (codec family x filter), each point the mean over folds with its 95 % bootstrap
    interval as error bar (+-1 std for a summary without intervals);
    the uncoded reference (codec none, filter none) is a black dashed horizontal line whose label
    gives its PCM kbps; a filtered but uncoded condition is a dotted horizontal line in its
    filter's colour. Each line's SVG id is :func:`line_gid` of its label.
    """
    rows = summary[(summary["model"] == model) & (summary["classifier"] == classifier)
                   & (summary["train_condition"] == train_condition)]
    if rows.empty:
        raise ValueError(f"no summary rows for model={model!r}, classifier={classifier!r}, "
                         f"train_condition={train_condition!r}")
    figure = _new_figure(7.0, 4.5)
    ax = figure.add_subplot()
    curves = _curves(rows)
    filter_colour = {}
    for (family, filt, points), style in zip(curves, _styles(curves)):
        label = curve_label(family, filt)
        bars = ax.errorbar(points["actual_kbps"], points[f"{metric}_mean"], yerr=_error_bars(points, metric),
                           label=label, capsize=3, markersize=5, linewidth=1.5, **style)
        bars.lines[0].set_gid(line_gid(label))
        filter_colour.setdefault(filt, style["color"])
    uncoded = rows[rows["codec"] == "none"].sort_values("filter", key=lambda f: f != "none")
    for row in uncoded.itertuples(index=False):
        clean = row.filter == "none"
        label = (f"uncoded ({row.actual_kbps:g} kbps)" if clean
                 else f"{row.filter}, uncoded ({row.actual_kbps:g} kbps)")
        colour = "black" if clean else filter_colour.get(row.filter, "0.5")
        line = ax.axhline(getattr(row, f"{metric}_mean"), color=colour, linestyle="--" if clean else ":", linewidth=1.2,
                          label=label)
        line.set_gid(line_gid(label))
    _kbps_axis(ax)
    ax.set_ylabel(f"{metric} (mean over folds, 95 % CI)" if f"{metric}_ci_low" in rows.columns
                  else f"{metric} (mean over folds, ±1 std)")
    ax.set_title(f"{model} · {classifier} · trained on {train_condition}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    save_figure(figure, out_stem)
    return figure


def plot_rate_distortion(quality: pd.DataFrame, out_stem: str | os.PathLike) -> Figure:
    """SI-SNR (left) and log-mel distance (right) against ACTUAL kbps (log axis), one line per
    (codec family x filter), from the codec-quality table (:func:`acom.coding.codec_quality`)."""
    if quality.empty:
        raise ValueError("the codec quality table is empty")
    figure = _new_figure(10.0, 4.0)
    axes = figure.subplots(1, 2)
    panels = (("si_snr_mean", "SI-SNR (dB, higher is better)"),
              ("mel_distance_mean", "log-mel distance (lower is better)"))
    curves = _curves(quality)
    for ax, (column, ylabel) in zip(axes, panels):
        for (family, filt, points), style in zip(curves, _styles(curves)):
            label = curve_label(family, filt)
            (line,) = ax.plot(points["actual_kbps"], points[column], label=label, markersize=5, **style)
            line.set_gid(line_gid(f"{column}-{label}"))
        _kbps_axis(ax)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle("codec rate-distortion (mean over clips)")
    save_figure(figure, out_stem)
    return figure


def _class_indices(values: Sequence, labels: Sequence[str]) -> np.ndarray:
    """Class indices of ``values``: already indices into ``labels`` (ESC-50 ``target``), or names."""
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        if values.size and (values.min() < 0 or values.max() >= len(labels)):
            raise ValueError(f"class indices must lie in [0, {len(labels)}), got {values.min()}..{values.max()}")
        return values.astype(int)
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({str(v) for v in values} - set(index))
    if unknown:
        raise ValueError(f"classes {unknown[:5]} are not among the labels")
    return np.array([index[v] for v in values], dtype=int)


def recall_confusion(y_true: Sequence, y_pred: Sequence, labels: Sequence[str]) -> np.ndarray:
    """Confusion matrix normalised per true class (row i: where clips of class i went; the diagonal is
    each class's recall). A class without test clips is a row of NaN, not of zeros: no evidence is
    not zero recall."""
    true, pred = _class_indices(y_true, labels), _class_indices(y_pred, labels)
    if true.shape != pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {true.shape} vs {pred.shape}")
    counts = np.zeros((len(labels), len(labels)))
    np.add.at(counts, (true, pred), 1)
    support = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, counts / support, np.nan)


def plot_confusion(y_true: Sequence, y_pred: Sequence, labels: Sequence[str], title: str,
                   out_stem: str | os.PathLike) -> Figure:
    """Recall-normalised confusion matrix (rows: true class, columns: predicted class).

    ``y_true``/``y_pred`` are class indices into ``labels`` or class names. Sized for ESC-50's 50
    classes: tick labels in a small font, predicted-class labels rotated 90 degrees, cell values
    written only when there are at most 20 classes (beyond that they would be unreadable). The colour
    scale is a square-root (gamma 0.5) one, so that the few-percent confusions off the diagonal,
    which are the interesting part, are visible next to recalls near 1.
    """
    matrix = recall_confusion(y_true, y_pred, labels)
    n = len(labels)
    size = float(np.clip(0.22 * n + 2.5, 5.0, 14.0))
    font = 9 if n <= 20 else 6
    figure = _new_figure(size + 1.2, size)
    ax = figure.add_subplot()
    cmap = matplotlib.colormaps["Blues"].with_extremes(bad="0.85")
    image = ax.imshow(matrix, cmap=cmap, norm=PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0), interpolation="nearest")
    ax.set_xticks(np.arange(n), labels=list(labels), rotation=90, fontsize=font)
    ax.set_yticks(np.arange(n), labels=list(labels), fontsize=font)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"{title} (mean recall {np.nanmean(np.diag(matrix)):.3f})", fontsize=10)
    if n <= 20:
        for (i, j), value in np.ndenumerate(matrix):
            if np.isfinite(value) and value > 0:
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=font - 2,
                        color="white" if value > 0.6 else "black")
    figure.colorbar(image, ax=ax, shrink=0.8, label="fraction of the true class (sqrt scale)")
    save_figure(figure, out_stem)
    return figure
