"""``linear``: regularised linear models (logistic regression; ridge / elastic net)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from metaopt.spaces._base import DataShape, Param, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.base import BaseEstimator

    from metaopt.tasks import Task

__all__ = ["LinearSpace"]


class LinearSpace(SearchSpace):
    """Linear models on imputed, standardised numeric and one-hot categorical features.

    Classification - ``LogisticRegression``: ``C`` float [1e-3, 1e3], log ·
    ``penalty`` ``l2`` / ``l1`` / ``elasticnet`` (scikit-learn ≥ 1.8 expresses it as
    ``l1_ratio`` 0 / 1 / in between; ``l2`` uses the ``lbfgs`` solver, the others
    ``saga``) · ``l1_ratio`` float [0.05, 0.95], active only for ``elasticnet`` ·
    ``class_weight`` ``None`` / ``"balanced"``.

    Regression - the target is standardised (``TransformedTargetRegressor``), then
    ``alpha`` float [1e-4, 100], log · ``penalty``: ``l2`` → ``Ridge(alpha)``,
    ``l1`` → ``ElasticNet(alpha, l1_ratio=1)`` (the lasso), ``elasticnet`` →
    ``ElasticNet(alpha, l1_ratio)`` · ``l1_ratio`` as above. ``alpha`` is passed as is,
    so it means Ridge's alpha for ``l2`` and ElasticNet's (per-sample) alpha otherwise;
    with the standardised target an ElasticNet alpha above about 1 leaves only the
    intercept.
    """

    name = "linear"
    scale_sensitive = True
    encoding = "onehot"

    def params(self, shape: DataShape) -> list[Param]:
        if shape.kind == "regression":
            return [
                Param("alpha", "float", 1e-4, 100.0, log=True),
                Param("penalty", "categorical", choices=("l2", "l1", "elasticnet")),
                Param("l1_ratio", "float", 0.05, 0.95, condition=("penalty", ("elasticnet",))),
            ]
        return [
            Param("C", "float", 1e-3, 1e3, log=True),
            Param("penalty", "categorical", choices=("l2", "l1", "elasticnet")),
            Param("l1_ratio", "float", 0.05, 0.95, condition=("penalty", ("elasticnet",))),
            Param("class_weight", "categorical", choices=(None, "balanced")),
        ]

    def default(self, kind: str) -> dict[str, Any]:
        if kind == "regression":
            return {"alpha": 1.0, "penalty": "l2"}
        return {"C": 1.0, "penalty": "l2", "class_weight": None}

    def build(self, params: dict[str, Any], task: Task, *, seed: int = 0) -> BaseEstimator:
        penalty = params["penalty"]
        l1_ratio = {"l2": 0.0, "l1": 1.0}.get(penalty, params.get("l1_ratio", 0.5))
        if task.kind != "regression":
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(
                C=params["C"],
                l1_ratio=l1_ratio,
                solver="lbfgs" if penalty == "l2" else "saga",
                class_weight=params["class_weight"],
                max_iter=1000,
                random_state=seed,
            )
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.linear_model import ElasticNet, Ridge
        from sklearn.preprocessing import StandardScaler

        if penalty == "l2":
            model: Any = Ridge(alpha=params["alpha"], random_state=seed)
        else:
            model = ElasticNet(
                alpha=params["alpha"], l1_ratio=l1_ratio, max_iter=2000, random_state=seed
            )
        return TransformedTargetRegressor(regressor=model, transformer=StandardScaler())
