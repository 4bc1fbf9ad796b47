"""Shared parameters of the two randomised tree ensembles (``random_forest``, ``extra_trees``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from metaopt.spaces._base import DataShape, Param, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.base import BaseEstimator

    from metaopt.tasks import Task

__all__ = ["ForestSpace"]


class ForestSpace(SearchSpace):
    """Base of the tree-ensemble spaces; subclasses name the two estimator classes.

    Parameters:

    ``n_estimators`` int [16, 512], log · ``max_features`` float [0, 1]: an *exponent*
    ``e``, the model draws ``max(1, floor(p ** e))`` of the ``p`` features per split
    (``e = 0.5`` is scikit-learn's ``"sqrt"``, ``e = 1`` all features), so the value
    means the same on every task · ``min_samples_leaf`` int [1, 64], log ·
    ``min_samples_split`` int [2, 64], log · ``limit_depth`` bool and ``max_depth``
    int [2, 32], log, active only when ``limit_depth`` (False means unlimited) ·
    ``bootstrap`` bool · classification only: ``criterion`` ``gini`` / ``entropy`` and
    ``class_weight`` ``None`` / ``"balanced"``. Regression always uses ``squared_error``
    (``friedman_mse`` is deprecated as an alias of it in scikit-learn 1.9, and
    ``absolute_error`` / ``poisson`` are too slow or need positive targets).

    ``class_weight="balanced"`` forests are wrapped in
    :class:`~metaopt.preprocessing.LabelEncodedClassifier` (fitted on integer class
    codes), since scikit-learn 1.9 rejects that preset on digit-string labels.

    Missing values are handled natively by scikit-learn's trees (≥ 1.6 for extra
    trees); categorical columns are ordinal-encoded with unknown and missing → NaN.
    """

    classifier: ClassVar[str]
    regressor: ClassVar[str]
    default_bootstrap: ClassVar[bool]
    size_params = ("n_estimators",)

    def params(self, shape: DataShape) -> list[Param]:
        classification = shape.kind != "regression"
        params = [
            Param("n_estimators", "int", 16, 512, log=True),
            Param("max_features", "float", 0.0, 1.0),
            Param("min_samples_leaf", "int", 1, 64, log=True),
            Param("min_samples_split", "int", 2, 64, log=True),
            Param("limit_depth", "categorical", choices=(False, True)),
            Param("max_depth", "int", 2, 32, log=True, condition=("limit_depth", (True,))),
            Param("bootstrap", "categorical", choices=(True, False)),
        ]
        if classification:
            params.append(Param("criterion", "categorical", choices=("gini", "entropy")))
            params.append(Param("class_weight", "categorical", choices=(None, "balanced")))
        return params

    def default(self, kind: str) -> dict[str, Any]:
        classification = kind != "regression"
        config: dict[str, Any] = {
            "n_estimators": 100,
            "max_features": 0.5 if classification else 1.0,
            "min_samples_leaf": 1,
            "min_samples_split": 2,
            "limit_depth": False,
            "bootstrap": self.default_bootstrap,
        }
        if classification:
            config["criterion"] = "gini"
            config["class_weight"] = None
        return config

    def low_cost(self, kind: str) -> dict[str, Any]:
        return {**self.default(kind), "n_estimators": 16}

    def build(self, params: dict[str, Any], task: Task, *, seed: int = 0) -> BaseEstimator:
        import importlib

        classification = task.kind != "regression"
        module, _, cls_name = (self.classifier if classification else self.regressor).rpartition(
            "."
        )
        cls = getattr(importlib.import_module(module), cls_name)
        p = max(int(task.n_features), 1)
        kwargs: dict[str, Any] = {
            "n_estimators": params["n_estimators"],
            "max_features": int(min(max(int(p ** params["max_features"] + 1e-9), 1), p)),
            "min_samples_leaf": params["min_samples_leaf"],
            "min_samples_split": params["min_samples_split"],
            "max_depth": params["max_depth"] if params["limit_depth"] else None,
            "bootstrap": params["bootstrap"],
            "n_jobs": 1,
            "random_state": seed,
        }
        if classification:
            kwargs["criterion"] = params["criterion"]
            kwargs["class_weight"] = params["class_weight"]
        model = cls(**kwargs)
        if classification and params["class_weight"] == "balanced":
            # scikit-learn 1.9's forests fail with "balanced" on labels that are strings
            # looking like integers ("0", "1"): fit on the class codes instead (the
            # same model, whatever the user's label coding).
            from metaopt.preprocessing import LabelEncodedClassifier

            return LabelEncodedClassifier(model)
        return model
