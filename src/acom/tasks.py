"""The task registry: what each evaluation task of acom is, in one place.

A task names its data (the rule that writes its manifest under ``results/<dataset>/``: clip_id,
fold, labels, source path, rate, frames), its protocol (k-fold over folds, or a fixed train/test
split), its heads, its metrics and its summary table. The resample, filter, codec and embedding
stages are shared by every task: they read any manifest of the ESC-50 manifest's columns.

Adding a task: a data module in :mod:`acom.data` whose ingest writes the manifest, one rules file in
``workflow/rules/`` (its data rules; a multi-label task's heads and summary come from
``multilabel.smk``), a config section of the same name, one :class:`TaskSpec` here, and a page in
``docs/tasks.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from acom.registry import Registry

#: Protocols: every fold tested by heads trained on the other folds, or one fixed train/test split.
PROTOCOLS = ("k-fold", "split")
#: The two folds of a fixed split: the training set is fold 1, the test set fold 2.
SPLIT_TRAIN_FOLD, SPLIT_TEST_FOLD = 1, 2


@dataclass(frozen=True)
class TaskSpec:
    """One task: ``type`` is its name, the config section that switches it on (``models`` not empty)
    and the folder of its results (``results/<dataset>/``)."""

    type: str
    kind: str          # classification (one label), multilabel, or sed
    protocol: str
    ingest: str        # the rule writing the task's manifest
    rules: str         # workflow/rules/<file>: the task's own rules
    summary: str       # results/<summary>
    heads: tuple[str, ...]
    metrics: tuple[str, ...]
    description: str
    dataset: str = ""  # results/<dataset>/ when it differs from the name (sed -> desed)
    training_dataset: str = ""  # a second data set only trained on (sed's cross-corpus protocol)

    @property
    def results(self) -> str:
        return self.dataset or self.type


TASKS: Registry[TaskSpec] = Registry("task", (
    TaskSpec(
        type="evaluation", dataset="esc50", kind="classification", protocol="k-fold", ingest="ingest_esc50",
        rules="evaluate.smk", summary="esc50_summary.csv", heads=("classifiers: logreg, mlp, svm",),
        metrics=("accuracy", "macro_f1"),
        description="ESC-50 single-label classification, official 5-fold cross-validation"),
    TaskSpec(
        type="sed", dataset="desed", training_dataset="esc50_soundscapes", kind="sed", protocol="k-fold",
        ingest="ingest_desed", rules="sed.smk", summary="desed_summary.csv",
        heads=("frame heads: linear, gru; outputs: frames, yoho",),
        metrics=("segment_f1", "segment_error_rate", "event_f1", "psds1", "psds2", "intersection_f1"),
        description="sound event detection on DESED-format soundscapes (synthesised from ESC-50 or a DESED copy); "
                    "protocols: cross_validation over its folds, or cross_corpus: trained on soundscapes "
                    "synthesised from ESC-50, tested on a DESED copy"),
    TaskSpec(
        type="esc10_mix", kind="multilabel", protocol="k-fold", ingest="mix_esc10", rules="esc10_mix.smk",
        summary="esc10_mix_summary.csv", heads=("one-vs-rest classifier per class", "source counter (1 or 2)"),
        metrics=("map", "micro_f1", "macro_f1", "exact_match", "counting_accuracy", "recall_louder",
                 "recall_quieter"),
        description="two-source ESC-10 mixtures and single clips: which classes, and how many sources"),
    TaskSpec(
        type="irmas", kind="multilabel", protocol="split", ingest="ingest_irmas", rules="irmas.smk",
        summary="irmas_summary.csv", heads=("one-vs-rest classifier per instrument",),
        metrics=("map", "micro_f1", "macro_f1", "exact_match", "per-class precision, recall, F1"),
        description="IRMAS predominant-instrument recognition: train on 3 s excerpts, test on 5-20 s excerpts"),
))


def task_datasets() -> list[str]:
    """Every data set folder a task reads or trains on (``results/<dataset>/``)."""
    return [name for spec in TASKS.specs for name in (spec.results, spec.training_dataset) if name]


def task_folds(task: str, config: Mapping[str, Any]) -> list[int]:
    """The folds of a task's manifest: ESC-50's (or the DESED copy's) folds for a k-fold task, the
    training and test fold of a fixed split."""
    spec = TASKS[task]
    if spec.protocol == "split":
        return [SPLIT_TRAIN_FOLD, SPLIT_TEST_FOLD]
    if spec.kind == "sed" and (config["datasets"].get("desed") or {}).get("root"):
        return sorted(entry["fold"] for entry in config["datasets"]["desed"]["folds"])
    return sorted(config["datasets"]["esc50"]["folds"])


def training_folds(task: str, folds: Sequence[int]) -> dict[int, list[int]]:
    """Test fold -> the folds its heads train on: every other fold (k-fold), or the training split."""
    if TASKS[task].protocol == "split":
        return {SPLIT_TEST_FOLD: [SPLIT_TRAIN_FOLD]}
    return {fold: [f for f in sorted(folds) if f != fold] for fold in sorted(folds)}


def multilabel_tasks(config: Mapping[str, Any]) -> list[str]:
    """The multi-label tasks the config switches on (their section's ``models`` not empty)."""
    return [spec.type for spec in TASKS.specs if spec.kind == "multilabel" and (config.get(spec.type) or {}).get("models")]
