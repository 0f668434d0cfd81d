"""The classifiers (probes) trained on frozen clip embeddings: one builder per type of the
``classifiers`` registry (:mod:`acom.classification`). Each takes a config entry with its type's
defaults filled in and returns an unfitted scikit-learn pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def logreg(params: Mapping[str, Any], *, seed: int) -> Pipeline:
    """Features standardised on the training folds, then multinomial logistic regression (L2, lbfgs)
    with inverse regularisation ``C``."""
    return make_pipeline(
        StandardScaler(),
        LogisticRegression(C=float(params["C"]), max_iter=int(params["max_iter"]), random_state=seed),
    )


def svm(params: Mapping[str, Any], *, seed: int) -> Pipeline:
    """Features standardised on the training folds, then an SVM (scikit-learn's libsvm ``SVC``,
    ``gamma="scale"``) whose probabilities come from Platt scaling fit by libsvm's internal 5-fold
    cross-validation on the training data (seeded): the MFCC + SVM baseline of instrument recognition."""
    return make_pipeline(
        StandardScaler(),
        SVC(C=float(params["C"]), kernel=params["kernel"], gamma="scale", probability=True, random_state=seed),
    )


def mlp(params: Mapping[str, Any], *, seed: int) -> Pipeline:
    """HEAR-style shallow probe: one hidden layer, Adam, early stopping on a validation split that
    scikit-learn draws (stratified, seeded) from the training data, i.e. the training folds only."""
    return make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(int(params["hidden_units"]),), alpha=float(params["alpha"]),
                      learning_rate_init=float(params["learning_rate"]), max_iter=int(params["max_iter"]),
                      early_stopping=True, validation_fraction=float(params["validation_fraction"]),
                      n_iter_no_change=int(params["patience"]), random_state=seed),
    )
