"""The irmas task end to end on an IRMAS-format folder written by the test: training excerpts in the
eleven instrument folders, test excerpts of 5 to 17 s with their label files; MFCC with the SVM and
logistic regression, uncoded and under Opus 6 kbps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from sklearn.metrics import average_precision_score, f1_score, precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer

from acom.data.irmas import IRMAS_INSTRUMENTS
from tests.helpers import REPO, write_irmas
from tests.workflow.helpers import snakemake

pytestmark = pytest.mark.workflow

TEST_EXCERPTS = (("a", 5.0, ["cel", "pia"]), ("b", 8.0, ["voi"]), ("c", 12.0, ["gac", "gel", "sax"]),
                 ("long one", 17.0, ["flu", "vio"]))


@pytest.fixture(scope="module")
def irmas_run(tmp_path_factory):
    data = tmp_path_factory.mktemp("irmas_data")
    write_irmas(data, per_instrument=5, test=TEST_EXCERPTS)
    workdir = tmp_path_factory.mktemp("irmas_run")
    overlay = workdir / "irmas_test.yaml"
    overlay.write_text(yaml.safe_dump({
        "datasets": {"irmas": {"root": str(data), "test": ["IRMAS-TestingData-Part1"]}},
        "codecs": {"opus": {"type": "opus", "bitrates_kbps": [6]}},
        "irmas": {"models": ["mfcc"], "classifiers": ["svm", "logreg"], "codecs": ["opus"], "filters": [],
                  "train_conditions": ["clean", "matched"]},
    }))
    snakemake(workdir, "results/irmas_summary.csv", configfiles=[REPO / "configs" / "synthetic.yaml", overlay])
    return workdir


def test_irmas_trains_on_the_training_set_and_scores_the_test_set(irmas_run):
    manifest = pd.read_parquet(irmas_run / "results/irmas/manifest.parquet")
    assert (manifest["fold"] == 1).sum() == 55 and (manifest["fold"] == 2).sum() == 4
    predictions = pd.read_parquet(irmas_run / "results/irmas/predictions/mfcc/svm/clean/none/opus_6.parquet")
    assert set(predictions["fold"]) == {2} and len(predictions) == 4  # only the test excerpts are scored
    per_fold = pd.read_csv(irmas_run / "results/irmas_per_fold.csv")
    binarizer = MultiLabelBinarizer(classes=IRMAS_INSTRUMENTS)
    for row in per_fold.itertuples(index=False):
        scored = pd.read_parquet(irmas_run / f"results/irmas/predictions/{row.model}/{row.classifier}/"
                                 f"{row.train_condition}/{row.filter}/{row.codec}.parquet")
        y, chosen = binarizer.fit_transform(scored["labels"]), binarizer.transform(scored["predicted"])
        scores = np.vstack(scored["scores"])
        present = y.sum(axis=0) > 0
        assert row.map == pytest.approx(np.mean([average_precision_score(y[:, k], scores[:, k])
                                                 for k in np.flatnonzero(present)]))
        assert row.micro_f1 == pytest.approx(f1_score(y, chosen, average="micro"))
        assert row.macro_f1 == pytest.approx(np.mean(precision_recall_fscore_support(
            y, chosen, average=None, zero_division=0)[2][present]))
        assert np.isnan(row.counting_accuracy) and np.isnan(row.recall_quieter)  # no counter, no levels
        assert row.n_train == 55 and row.n_clips == 4
    # Distinct tones per instrument: uncoded MFCC + SVM ranks the present instruments first.
    summary = pd.read_csv(irmas_run / "results/irmas_summary.csv")
    reference = summary[(summary["classifier"] == "svm") & (summary["codec"] == "none")]
    assert (reference["map_mean"] > 0.8).all(), reference
    assert set(summary["codec"]) == {"none", "opus_6"} and set(summary["classifier"]) == {"svm", "logreg"}


def test_the_17_s_excerpt_goes_through_every_stage_whole(irmas_run):
    manifest = pd.read_parquet(irmas_run / "results/irmas/manifest.parquet").set_index("clip_id")
    long = manifest.index[manifest["original"].str.endswith("long one.wav")][0]
    assert manifest.loc[long, "frames"] == 17 * 44100
    coded = pd.read_parquet(irmas_run / "results/irmas/coded/none/opus_6/fold2.parquet").set_index("clip_id")
    audio, rate = sf.read(irmas_run / coded.loc[long, "path"])
    assert len(audio) == 17 * rate  # decoded, aligned and trimmed to the input's length
    assert 4 < coded.loc[long, "actual_kbps"] < 8
    embeddings = pd.read_parquet(irmas_run / "results/irmas/embeddings/mfcc/none/opus_6/fold2.parquet")
    assert long in set(embeddings["clip_id"])
