"""Clip classification on frozen embeddings: the classifier registry (here), the classifiers
themselves (:mod:`.heads`) and ESC-50's cross-validation protocol (:mod:`.protocol`).

Adding a classifier type: a builder ``name(params, *, seed) -> sklearn Pipeline`` in :mod:`.heads`
and one :class:`ClassifierSpec` in :data:`CLASSIFIERS` declaring its config keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from acom.registry import ConfigKey, Registry, resolve, with_defaults

_POSITIVE_INT = {"type": "integer", "minimum": 1}


@dataclass(frozen=True)
class ClassifierSpec:
    """One classifier type: its builder (``"module:function"``) and the config keys it reads."""

    type: str
    build: str
    description: str
    keys: Mapping[str, ConfigKey] = field(default_factory=dict)


CLASSIFIERS: Registry[ClassifierSpec] = Registry("classifier", (
    ClassifierSpec(
        type="logreg",
        build="acom.classification.heads:logreg",
        description="standardised features, multinomial L2 logistic regression (lbfgs)",
        keys={
            "C": ConfigKey({"type": "number", "exclusiveMinimum": 0}, 1.0, "inverse L2 regularisation"),
            "max_iter": ConfigKey(_POSITIVE_INT, 5000, "iterations of the solver"),
        },
    ),
    ClassifierSpec(
        type="mlp",
        build="acom.classification.heads:mlp",
        description="HEAR-style shallow probe: one hidden layer, early stopping on a split of the training folds",
        keys={
            "hidden_units": ConfigKey(_POSITIVE_INT, 1024, "units of the hidden layer"),
            "alpha": ConfigKey({"type": "number", "minimum": 0}, 1e-4, "L2 penalty"),
            "learning_rate": ConfigKey({"type": "number", "exclusiveMinimum": 0}, 1e-3, "Adam's initial step"),
            "max_iter": ConfigKey(_POSITIVE_INT, 500, "epochs at most"),
            "validation_fraction": ConfigKey({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, 0.1,
                                             "share of the training folds held out for early stopping"),
            "patience": ConfigKey(_POSITIVE_INT, 20, "epochs without validation gain before stopping"),
        },
    ),
    ClassifierSpec(
        type="svm",
        build="acom.classification.heads:svm",
        description="standardised features, support vector machine (libsvm) with Platt-scaled probabilities",
        keys={
            "C": ConfigKey({"type": "number", "exclusiveMinimum": 0}, 1.0, "inverse regularisation"),
            "kernel": ConfigKey({"type": "string", "enum": ["rbf", "linear"]}, "rbf", "kernel of the SVM"),
        },
    ),
))


def build_classifier(params: Mapping[str, Any], *, seed: int):
    """A fresh, unfitted classifier from a ``classifiers.<name>`` config entry."""
    spec = CLASSIFIERS[params["type"]]
    return resolve(spec.build)(with_defaults(params, spec), seed=seed)
