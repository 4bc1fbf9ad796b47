"""``knn``: k-nearest neighbours (KNeighborsClassifier / KNeighborsRegressor)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from metaopt.spaces._base import DataShape, Param, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.base import BaseEstimator

    from metaopt.tasks import Task

__all__ = ["KNNSpace", "max_neighbors"]


def max_neighbors(n_rows: int) -> int:
    """Upper bound of ``n_neighbors``: a quarter of the rows, at most 100, at least 1.

    A quarter leaves room for cross-validation folds (each trains on most rows); the
    cap at 100 keeps the range the same on every task with 400 rows or more.
    """
    return int(max(1, min(100, n_rows // 4)))


class KNNSpace(SearchSpace):
    """k-NN on imputed, standardised numeric and one-hot categorical features.

    ``n_neighbors`` int [1, :func:`max_neighbors`], log (the default 5 is clipped
    into the range on tiny data) · ``weights`` ``uniform`` / ``distance`` · ``p``
    1 (Manhattan) or 2 (Euclidean), as a categorical.
    """

    name = "knn"
    scale_sensitive = True
    encoding = "onehot"

    def params(self, shape: DataShape) -> list[Param]:
        return [
            Param("n_neighbors", "int", 1, max_neighbors(shape.n_rows), log=True),
            Param("weights", "categorical", choices=("uniform", "distance")),
            Param("p", "categorical", choices=(1, 2)),
        ]

    def default(self, kind: str) -> dict[str, Any]:
        return {"n_neighbors": 5, "weights": "uniform", "p": 2}

    def build(self, params: dict[str, Any], task: Task, *, seed: int = 0) -> BaseEstimator:
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        cls = KNeighborsRegressor if task.kind == "regression" else KNeighborsClassifier
        return cls(
            n_neighbors=params["n_neighbors"], weights=params["weights"], p=params["p"], n_jobs=1
        )
