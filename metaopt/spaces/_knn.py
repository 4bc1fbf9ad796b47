"""``knn``: k-nearest neighbours (KNeighborsClassifier / KNeighborsRegressor)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from metaopt.spaces._base import DataShape, Param, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.base import BaseEstimator

    from metaopt.tasks import Task

__all__ = ["MAX_NEIGHBORS", "KNNSpace", "usable_neighbors"]

#: Upper bound of ``n_neighbors`` in the space, the same on every task.
MAX_NEIGHBORS = 100


def usable_neighbors(n_neighbors: int, n_rows: int) -> int:
    """``n_neighbors`` clipped to half the task's rows (at least 1).

    The space's range does not depend on the data, so that one config means the same
    thing on every task (the knowledge base evaluates one shared pool of configs);
    on tiny data the estimator is built with at most ``n_rows // 2`` neighbours, which
    every cross-validation fold of two or more folds can fit.
    """
    return int(max(1, min(n_neighbors, n_rows // 2)))


class KNNSpace(SearchSpace):
    """k-NN on imputed, standardised numeric and one-hot categorical features.

    ``n_neighbors`` int [1, 100], log (clipped to half the rows when the estimator is
    built on tiny data, see :func:`usable_neighbors`) · ``weights`` ``uniform`` / ``distance`` · ``p``
    1 (Manhattan) or 2 (Euclidean), as a categorical.
    """

    name = "knn"
    scale_sensitive = True
    encoding = "onehot"

    def params(self, shape: DataShape) -> list[Param]:
        return [
            Param("n_neighbors", "int", 1, MAX_NEIGHBORS, log=True),
            Param("weights", "categorical", choices=("uniform", "distance")),
            Param("p", "categorical", choices=(1, 2)),
        ]

    def default(self, kind: str) -> dict[str, Any]:
        return {"n_neighbors": 5, "weights": "uniform", "p": 2}

    def build(self, params: dict[str, Any], task: Task, *, seed: int = 0) -> BaseEstimator:
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        cls = KNeighborsRegressor if task.kind == "regression" else KNeighborsClassifier
        return cls(
            n_neighbors=usable_neighbors(params["n_neighbors"], task.n_rows),
            weights=params["weights"],
            p=params["p"],
            n_jobs=1,
        )
