"""Segment- and event-based SED metrics through sed_eval, without its NaN conventions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from acom.events import check_classes, check_event_table


def evaluate_events(reference: pd.DataFrame, estimated: pd.DataFrame, *, durations: Mapping[str, float],
                    classes: Sequence[str], segment_seconds: float = 1.0, t_collar: float = 0.2,
                    percentage_of_length: float = 0.2) -> dict[str, float]:
    """Segment- and event-based metrics (fractions, NaN-free) of ``estimated`` against ``reference``.

    Counting is sed_eval's (0.2.1): ``SegmentBasedMetrics(time_resolution=segment_seconds)`` and
    ``EventBasedMetrics(t_collar, percentage_of_length, evaluate_onset=True, evaluate_offset=True)``
    (optimal matching; the DCASE task 4 setting), fed file by file for EVERY file in ``durations`` --
    a file with no reference or no estimated events still counts. The segment-based evaluation is
    given ``evaluated_length_seconds=durations[file]``; without it sed_eval evaluates only up to the
    last event offset in either list, so event-free tails (and event-free files) would be dropped, and
    estimated events past the file's end would count. Segment ``k`` is ``[k * s, (k + 1) * s)`` and an
    event is active in every segment it touches (floor(onset / s) to ceil(offset / s)).

    The ratios are computed from sed_eval's accumulated counts, with sed_eval's formulas but without
    its NaN/eps conventions:

    - F1 = 2 TP / (Nref + Nsys) (= 2PR / (P + R); for event-based, Nsys and Nref include
      substitutions), precision = TP / Nsys (0 when nothing is estimated, sed_eval's ``zero_score``
      option; by default sed_eval returns NaN there, which turns a class that is never detected into
      NaN and drops it from its macro average), recall = TP / Nref.
    - micro ER = (S + D + I) / Nref; class-wise ER = (FN + FP) / Nref (sed_eval has no class-wise
      substitutions). sed_eval divides by ``Nref + eps``, so its ER is short by ~1e-16.
    - Macro values average over the classes with at least one reference event (event-based) or
      active reference segment (segment-based). For a class without reference, sed_eval reports
      F1 = NaN (whether or not it was estimated; its ``nanmean`` then skips it) and ER = Nfp / eps
      (~4.5e15 per false positive, which its macro ER would include); here both skip the class. Its
      false positives still count in the micro values.
    - With no reference event at all F1 and ER are undefined, and this raises ``ValueError``.

    Labels outside ``classes`` and files missing from ``durations`` raise ``ValueError``.
    Returned keys: ``{segment,event}_{f1,precision,recall,er}_micro``, ``{segment,event}_{f1,er}_macro``
    and ``segment_accuracy_micro`` ((TP + TN) / all class-segments: the only value in which event-free
    stretches, hence ``durations``, show).
    """
    import sed_eval  # imports dcase_util, which warns about pkg_resources: only pay for it here

    classes = check_classes(classes)
    if segment_seconds <= 0 or t_collar <= 0 or not 0 <= percentage_of_length <= 1:
        raise ValueError("need segment_seconds > 0, t_collar > 0 and 0 <= percentage_of_length <= 1 (got "
                         f"{segment_seconds}, {t_collar}, {percentage_of_length})")
    ref_by_file = _events_by_file(reference, "reference", classes, durations)
    est_by_file = _events_by_file(estimated, "estimated", classes, durations)
    segment = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=list(classes),
                                                       time_resolution=float(segment_seconds))
    event = event_based_metrics(classes, t_collar, percentage_of_length)
    for filename, duration in durations.items():
        if not duration > 0:
            raise ValueError(f"{filename}: duration must be > 0 (got {duration})")
        ref, est = ref_by_file.get(filename, []), est_by_file.get(filename, [])
        segment.evaluate(reference_event_list=ref, estimated_event_list=est, evaluated_length_seconds=float(duration))
        event.evaluate(reference_event_list=ref, estimated_event_list=est)
    seg, evt = segment.overall, event.overall
    if seg["Nref"] == 0 or evt["Nref"] == 0:
        raise ValueError("the reference has no events in the evaluated files; F1 and error rate are undefined")
    all_segments = seg["Ntp"] + seg["Ntn"] + seg["Nfp"] + seg["Nfn"]
    results = {
        **_micro("segment", seg["Ntp"], seg["Nref"], seg["Nsys"], seg["S"] + seg["D"] + seg["I"]),
        **_macro("segment", segment.class_wise),
        "segment_accuracy_micro": float((seg["Ntp"] + seg["Ntn"]) / all_segments),
        **_micro("event", evt["Ntp"], evt["Nref"], evt["Nsys"], evt["Nsubs"] + evt["Nfn"] + evt["Nfp"]),
        **_macro("event", event.class_wise),
    }
    return results


def _micro(prefix: str, tp: float, n_ref: float, n_sys: float, errors: float) -> dict[str, float]:
    return {
        f"{prefix}_f1_micro": float(2 * tp / (n_ref + n_sys)),
        f"{prefix}_precision_micro": float(tp / n_sys) if n_sys else 0.0,
        f"{prefix}_recall_micro": float(tp / n_ref),
        f"{prefix}_er_micro": float(errors / n_ref),
    }


def _macro(prefix: str, class_wise: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    present = [counts for counts in class_wise.values() if counts["Nref"] > 0]
    f1 = [2 * c["Ntp"] / (c["Nref"] + c["Nsys"]) for c in present]
    er = [(c["Nfn"] + c["Nfp"]) / c["Nref"] for c in present]
    return {f"{prefix}_f1_macro": float(np.mean(f1)), f"{prefix}_er_macro": float(np.mean(er))}


def _events_by_file(table: pd.DataFrame, name: str, classes: Sequence[str],
                    durations: Mapping[str, float]) -> dict[str, list[dict[str, Any]]]:
    """sed_eval's input: per file, a list of ``{filename, onset, offset, event_label}`` dicts."""
    check_event_table(table, name)
    known = set(classes)
    by_file: dict[str, list[dict[str, Any]]] = {}
    for row in table.itertuples(index=False):
        if row.filename not in durations:
            raise ValueError(f"{name} events of file {row.filename!r}, which has no entry in durations")
        if row.event_label not in known:
            raise ValueError(f"{name} events of file {row.filename!r}: label {row.event_label!r} is not among "
                             f"classes {list(classes)}")
        by_file.setdefault(row.filename, []).append({"filename": str(row.filename), "onset": float(row.onset),
                                                     "offset": float(row.offset), "event_label": str(row.event_label)})
    return by_file


def event_f1_by_class(reference: pd.DataFrame, estimated: pd.DataFrame, *, filenames: Sequence[str],
                      classes: Sequence[str], t_collar: float = 0.2, percentage_of_length: float = 0.2,
                      **_: Any) -> dict[str, float]:
    """Event-based F1 of each class (sed_eval's matching, as :func:`evaluate_events`; 2 TP / (Nref +
    Nsys), 0 for a class neither referenced nor estimated) over the files ``filenames``: what the
    decoding of each class is tuned by. Extra keyword arguments (the segment settings) are ignored."""
    classes = check_classes(classes)
    durations = dict.fromkeys(filenames, 1.0)  # only membership is checked; event metrics need no duration
    ref_by_file = _events_by_file(reference, "reference", classes, durations)
    est_by_file = _events_by_file(estimated, "estimated", classes, durations)
    event = event_based_metrics(classes, t_collar, percentage_of_length)
    for filename in filenames:
        event.evaluate(reference_event_list=ref_by_file.get(filename, []),
                       estimated_event_list=est_by_file.get(filename, []))
    return {label: (2 * counts["Ntp"] / (counts["Nref"] + counts["Nsys"]) if counts["Nref"] + counts["Nsys"] else 0.0)
            for label, counts in event.class_wise.items()}


def event_based_metrics(classes: Sequence[str], t_collar: float, percentage_of_length: float):
    """sed_eval's event-based counter as DCASE task 4 sets it: onset and offset evaluated, onset
    collar ``t_collar``, offset collar max(``t_collar``, ``percentage_of_length`` x the event)."""
    import sed_eval

    return sed_eval.sound_event.EventBasedMetrics(event_label_list=list(classes), evaluate_onset=True,
                                                  evaluate_offset=True, t_collar=float(t_collar),
                                                  percentage_of_length=float(percentage_of_length))
