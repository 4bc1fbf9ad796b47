"""Module-level estimator factories for the evaluation tests.

They are imported by reference in the evaluation worker processes, so they live in a
module (not inside a test) on the test's ``sys.path``.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OrdinalEncoder
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor


class Forever(ClassifierMixin, BaseEstimator):
    """A classifier whose ``fit`` never returns (a pure-Python busy loop), after
    writing its process id to ``pid_file``."""

    def __init__(self, pid_file: str = "", mode: str = "loop") -> None:
        self.pid_file = pid_file
        self.mode = mode

    def fit(self, X: Any, y: Any) -> Forever:
        if self.pid_file:
            with open(self.pid_file, "w") as fh:
                fh.write(str(os.getpid()))
        if self.mode == "sleep":
            time.sleep(10_000)
        n = 0
        while True:
            n += 1

    def predict(self, X: Any) -> np.ndarray:  # pragma: no cover - never reached
        return np.zeros(len(X), dtype=int)


class Failing(ClassifierMixin, BaseEstimator):
    """A classifier that raises a long ValueError in ``fit``."""

    def fit(self, X: Any, y: Any) -> Failing:
        raise ValueError("this config cannot be fitted " + "x" * 2000)


class Hog(ClassifierMixin, BaseEstimator):
    """A classifier that tries to allocate ``gib`` GiB in ``fit``."""

    def __init__(self, gib: float = 16.0) -> None:
        self.gib = gib

    def fit(self, X: Any, y: Any) -> Hog:
        block = np.ones(int(self.gib * 2**30 // 8))
        self.total_ = float(block.sum())
        self.classes_ = np.unique(y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), self.classes_[0])


class NaNRegressor(BaseEstimator):
    """A regressor predicting NaN."""

    def fit(self, X: Any, y: Any) -> NaNRegressor:
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), np.nan)


def _encode(task: Any) -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="median"), task.numeric_columns),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                ),
                task.categorical_columns,
            ),
        ]
    )


def sklearn_factory(algorithm: str, params: dict[str, Any], task: Any, seed: int) -> Any:
    """Plain scikit-learn estimators (and misbehaving ones) by name."""
    if algorithm == "tree":
        cls = DecisionTreeRegressor if task.kind == "regression" else DecisionTreeClassifier
        return Pipeline([("encode", _encode(task)), ("model", cls(**params))])
    if algorithm == "forever":
        return Pipeline([("encode", _encode(task)), ("model", Forever(**params))])
    if algorithm == "failing":
        return Failing()
    if algorithm == "hog":
        return Hog(**params)
    if algorithm == "nan":
        return NaNRegressor()
    raise ValueError(f"unknown test algorithm {algorithm!r}")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
