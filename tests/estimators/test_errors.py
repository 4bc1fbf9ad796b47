"""Bad input gets metaopt's clear errors, which are ValueErrors (scikit-learn's convention)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from metaopt import ConfigError, DataError, ModelError, TargetError
from metaopt.estimators import MetaoptClassifier, MetaoptRegressor

FAST: dict[str, Any] = {"top": 1, "cv": 2, "algorithms": ["linear"], "random_state": 0}
X = np.random.default_rng(0).normal(size=(20, 2))
Y = np.array([0, 1] * 10)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"top": 0}, ConfigError, "top must be an integer of at least 1"),
        ({"cv": 1}, ConfigError, "cv must be an integer of at least 2"),
        ({"n_trials": -1}, ConfigError, "n_trials"),
        ({"ensemble": 0}, ConfigError, "ensemble"),
        ({"time_budget": 0}, ConfigError, "time_budget must be None or a positive number"),
        ({"n_jobs": 0}, ConfigError, "n_jobs"),
        ({"random_state": -1}, ConfigError, "random_state"),
        ({"algorithms": ["gbm"]}, ConfigError, "unknown algorithm 'gbm'"),
        ({"scoring": "accuracy_typo"}, ConfigError, "unknown metric"),
        ({"scoring": "r2"}, ConfigError, "cannot score a binary task"),
        ({"models": "/nonexistent/models"}, ModelError, "nonexistent"),
    ],
)
def test_bad_parameters(params: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        MetaoptClassifier(**{**FAST, **params}).fit(X, Y)


def test_errors_are_value_errors() -> None:
    assert issubclass(ConfigError, ValueError) and issubclass(DataError, ValueError)


@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        (np.array([0.0, np.nan] * 10), TargetError, "Input y contains NaN: 10 of 20"),
        (pd.Series(["a", None] * 10, dtype="string"), TargetError, "Input y contains NaN"),
        (np.ones(20), TargetError, "single class"),
        (np.array([0] * 19 + [1]), TargetError, "two classes with at least two rows"),
        (np.linspace(0, 1, 20), ValueError, "Unknown label type"),
        (np.array([0, 1] * 5), DataError, "X has 20 rows but y has 10 values"),
    ],
)
def test_bad_classification_targets(y: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        MetaoptClassifier(**FAST).fit(X, y)


def test_bad_regression_targets() -> None:
    with pytest.raises(TargetError, match="Input y contains infinity"):
        MetaoptRegressor(**FAST).fit(X, np.array([1.0, np.inf] * 10))
    with pytest.raises(TargetError, match="constant"):
        MetaoptRegressor(**FAST).fit(X, np.ones(20))


def test_bad_features() -> None:
    frame = pd.DataFrame({"a": np.arange(20.0), "b": [1.0, np.inf] * 10})
    with pytest.raises(DataError, match=r"Input X contains infinity: column\(s\) 'b' \(10\)"):
        MetaoptClassifier(**FAST).fit(frame, Y)
    with pytest.raises(ValueError, match="0 sample"):
        MetaoptClassifier(**FAST).fit(np.empty((0, 2)), [])
    with pytest.raises(ValueError, match="infinity"):
        MetaoptClassifier(**FAST).fit(np.where(X > 1, np.inf, X), Y)
    with pytest.raises(TypeError, match="Sparse"):
        from scipy import sparse

        MetaoptClassifier(**FAST).fit(sparse.csr_matrix(X), Y)


def test_no_usable_feature_column() -> None:
    frame = pd.DataFrame({"id": [f"row{i}" for i in range(20)]})
    with pytest.raises(DataError, match="no feature columns"):
        MetaoptClassifier(**FAST).fit(frame, Y)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_predict_checks_the_columns() -> None:
    clf = MetaoptClassifier(**FAST).fit(pd.DataFrame(X, columns=["a", "b"]), Y)
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(pd.DataFrame(X, columns=["a", "c"]))
    with pytest.raises(ValueError, match="X has 3 features"):
        clf.predict(np.zeros((2, 3)))
