"""The workflow end to end: the synthetic config (no data, no network) and a real ESC-50 subset."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from acom.evaluate import PER_FOLD_COLUMNS, SUMMARY_COLUMNS
from conftest import REPO, SHARED_ESC50, SHARED_MN04, require_shared

pytestmark = pytest.mark.workflow


def snakemake(workdir: Path, *args: str, configfiles=(), check=True) -> subprocess.CompletedProcess:
    """Run the repository's workflow in ``workdir`` with this interpreter's Snakemake."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", "2", *args]
    if configfiles:  # one flag, several files: a repeated --configfile would replace the earlier ones
        cmd += ["--configfile", *map(str, configfiles)]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1500)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    return result


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table ({} when there is nothing to do)."""
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    block = text.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", block, re.M)}


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("synthetic")
    config = REPO / "tests" / "configs" / "synthetic.yaml"
    snakemake(workdir, "results/esc50_summary.csv", configfiles=[config])
    return workdir, config


def test_synthetic_summary(synthetic_run):
    workdir, _ = synthetic_run
    summary = pd.read_csv(workdir / "results" / "esc50_summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert sorted(summary["model"]) == ["efficientat_mn04", "mfcc"]
    assert (summary[["classifier", "train_condition", "filter", "codec"]].to_numpy()
            == ["logreg", "clean", "none", "none"]).all()
    assert (summary["n_folds"] == 5).all() and (summary["n_clips"] == 75).all()
    # Uncoded 16-bit PCM at each model's rate: mfcc 16 kHz, mn04 32 kHz.
    kbps = summary.set_index("model")["actual_kbps"]
    assert kbps["mfcc"] == 256.0 and kbps["efficientat_mn04"] == 512.0
    # Five distinguishable synthetic classes (chance 0.2): both models must separate them.
    assert (summary["accuracy_mean"] > 0.8).all(), summary


def test_synthetic_summary_equals_aggregation_of_per_fold_table(synthetic_run):
    workdir, _ = synthetic_run
    per_fold = pd.read_csv(workdir / "results" / "esc50_per_fold.csv")
    assert list(per_fold.columns) == PER_FOLD_COLUMNS and len(per_fold) == 10
    summary = pd.read_csv(workdir / "results" / "esc50_summary.csv").set_index("model")
    for model, group in per_fold.groupby("model"):
        assert summary.loc[model, "accuracy_mean"] == pytest.approx(group["accuracy"].mean())
        assert summary.loc[model, "accuracy_std"] == pytest.approx(group["accuracy"].std(ddof=1))
        assert summary.loc[model, "n_clips"] == group["n_clips"].sum() == 75
    # Recompute fold accuracies from the saved predictions.
    predictions = pd.read_parquet(workdir / "results/esc50/predictions/mfcc/logreg/clean/none/none.parquet")
    recomputed = predictions.groupby("fold").apply(lambda g: np.mean(g["target"] == g["predicted"]))
    np.testing.assert_allclose(per_fold[per_fold["model"] == "mfcc"].set_index("fold")["accuracy"], recomputed)


def test_synthetic_intermediate_artifacts(synthetic_run):
    workdir, _ = synthetic_run
    manifest = pd.read_parquet(workdir / "results/esc50/manifest.parquet")
    assert len(manifest) == 75 and (manifest["sample_rate"] == 44100).all()
    fold = pd.read_parquet(workdir / "results/esc50/resampled/sr32000/fold2.parquet")
    assert len(fold) == 15 and (fold["frames"] == 160000).all()
    assert all((workdir / p).is_file() for p in fold["path"])
    emb = pd.read_parquet(workdir / "results/esc50/embeddings/efficientat_mn04/none/none/fold2.parquet")
    assert emb["clip_id"].tolist() == fold["clip_id"].tolist()
    assert len(emb["embedding"][0]) == 384 and len(emb["probabilities"][0]) == 527 and len(emb["top_labels"][0]) == 5
    emb = pd.read_parquet(workdir / "results/esc50/embeddings/mfcc/none/none/fold2.parquet")
    assert len(emb["embedding"][0]) == 160 and emb["probabilities"].isna().all()


def test_second_run_has_nothing_to_do_and_one_model_change_reruns_only_it(synthetic_run, tmp_path):
    workdir, config = synthetic_run
    assert planned_jobs(snakemake(workdir, "-n", "results/esc50_summary.csv", configfiles=[config])) == {}
    overlay = tmp_path / "mfcc13.yaml"
    overlay.write_text(yaml.safe_dump({"models": {"mfcc": {"type": "mfcc", "n_mfcc": 13}}}))
    jobs = planned_jobs(snakemake(workdir, "-n", "results/esc50_summary.csv", configfiles=[config, overlay]))
    assert jobs == {"embed_fold": 5, "classify": 1, "summarize_esc50": 1}, jobs


def test_real_esc10_subset_end_to_end(tmp_path):
    require_shared()
    overlay = tmp_path / "subset.yaml"
    overlay.write_text(yaml.safe_dump({
        "datasets": {"esc50": {"root": str(SHARED_ESC50), "esc10_only": True, "max_clips_per_class_per_fold": 2}},
        "models": {"efficientat_mn04": {"type": "efficientat_mn04",
                                        "weights": str(SHARED_MN04 / "mn04_as_mAP_432.pt"),
                                        "labels": str(SHARED_MN04 / "audioset_class_labels_indices.csv")}},
    }))
    snakemake(tmp_path, "results/esc50_summary.csv", configfiles=[overlay])
    summary = pd.read_csv(tmp_path / "results" / "esc50_summary.csv").set_index("model")
    assert (summary["n_clips"] == 100).all()
    # 10 classes, 8 training clips per class: the AudioSet-pretrained model is far above chance (0.1)
    # and above the MFCC baseline.
    assert summary.loc["efficientat_mn04", "accuracy_mean"] >= 0.8, summary
    assert summary.loc["efficientat_mn04", "accuracy_mean"] > summary.loc["mfcc", "accuracy_mean"]
    # Real AudioSet predictions: the dog clips are tagged with dog-related labels.
    emb = pd.concat(pd.read_parquet(p) for p in (tmp_path / "results/esc50/embeddings/efficientat_mn04/none/none").glob("*.parquet"))
    dogs = emb[emb["category"] == "dog"]
    assert len(dogs) == 10
    assert np.mean([bool({"Dog", "Bark", "Animal"} & set(labels)) for labels in dogs["top_labels"]]) >= 0.8
