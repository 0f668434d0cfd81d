"""The task registry: each task's rules file, config section and protocol."""

from __future__ import annotations

import yaml

from acom.tasks import TASKS, multilabel_tasks, task_folds, training_folds
from tests.helpers import REPO


def test_every_task_has_its_rules_file_included_and_its_config_section():
    snakefile = (REPO / "Snakefile").read_text()
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for spec in TASKS.specs:
        assert (REPO / "workflow" / "rules" / spec.rules).is_file(), spec.rules
        assert f'include: "workflow/rules/{spec.rules}"' in snakefile, spec.rules
        assert "models" in config[spec.type], spec.type
        rules = (REPO / "workflow" / "rules" / spec.rules).read_text()
        assert f"rule {spec.ingest}:" in rules or f"rule {spec.ingest}:" in (
            REPO / "workflow" / "rules" / "data.smk").read_text(), spec.ingest


def test_protocols_give_each_test_fold_its_training_folds():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert task_folds("esc10_mix", config) == [1, 2, 3, 4, 5]
    assert training_folds("esc10_mix", [1, 2, 3]) == {1: [2, 3], 2: [1, 3], 3: [1, 2]}
    assert task_folds("irmas", config) == [1, 2]
    assert training_folds("irmas", [1, 2]) == {2: [1]}  # train on the training set, test on the test set


def test_the_default_config_runs_esc10_mix_and_not_irmas():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert multilabel_tasks(config) == ["esc10_mix"]
    config["irmas"]["models"] = ["mfcc"]
    assert multilabel_tasks(config) == ["esc10_mix", "irmas"]
