"""``hgb``: scikit-learn's histogram gradient boosting (HistGradientBoosting*)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from metaopt.spaces._base import DataShape, Param, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.base import BaseEstimator

    from metaopt.tasks import Task

__all__ = ["HGBSpace"]

#: Tasks with at least this many rows use early stopping on a 10 % validation split;
#: smaller ones run all ``max_iter`` iterations (a split would be too small to trust).
EARLY_STOPPING_MIN_ROWS = 300


def _early_stopping(task: Task) -> bool:
    """Whether the task gets early stopping (see :class:`HGBSpace`).

    scikit-learn draws the validation split *stratified* for classifiers and fails when a
    class has a single member in the training data, or when the split holds fewer rows
    than there are classes. Under 3-fold cross-validation a class with 3 members keeps at
    least 2 in every training fold, and 6 % of the rows is 10 % of a fold's training
    part, so classification tasks need ``min class count >= 3`` and
    ``0.06 · n_rows >= n_classes`` as well.
    """
    if task.n_rows < EARLY_STOPPING_MIN_ROWS:
        return False
    if task.kind == "regression":
        return True
    counts = task.y.value_counts()
    return bool(len(counts) and counts.min() >= 3 and 0.06 * task.n_rows >= len(counts))


class HGBSpace(SearchSpace):
    """Histogram gradient boosting, classification and regression.

    Parameters (same for every kind):

    ``learning_rate`` float [0.01, 1], log · ``max_iter`` int [10, 1000], log; with
    early stopping (10 % validation split, patience 10) on tasks of at least
    :data:`EARLY_STOPPING_MIN_ROWS` rows (classification: also every class with at
    least 3 members and at least one validation row per class, else scikit-learn's
    stratified split fails) · ``max_leaf_nodes`` int [4, 256], log ·
    ``limit_depth`` bool and ``max_depth`` int [2, 20], log, active only when
    ``limit_depth`` is True (``limit_depth=False`` means ``max_depth=None``) ·
    ``min_samples_leaf`` int [1, 200], log · ``l2_regularization`` float [1e-6, 10],
    log (scikit-learn's default 0 is represented by 1e-6) · ``max_features`` float
    [0.1, 1] (share of features per split) · ``max_bins`` int [32, 255].

    Categorical columns are ordinal-encoded (at most ``max_bins`` codes, unknown and
    missing → NaN) and declared as ``categorical_features`` by position; NaN in numeric
    columns is handled natively, and a numeric column without any value at fit time is
    set to 0 (:class:`~metaopt.preprocessing.EmptyColumnFiller`; scikit-learn's binning
    fails on it).

    Regression targets are standardised (``TransformedTargetRegressor`` with a
    ``StandardScaler``). Boosting with the squared error is otherwise equivariant in the
    target's scale, but early stopping is not: scikit-learn compares validation losses
    with an absolute ``tol`` (1e-7), which a target of scale 1e-4 (losses near 1e-8)
    never beats, so such a model stopped after about ``n_iter_no_change`` iterations.
    On the standardised target the stopping rule means the same on every scale.
    """

    name = "hgb"
    fill_empty_numeric = True
    size_params = ("max_iter",)

    def params(self, shape: DataShape) -> list[Param]:
        return [
            Param("learning_rate", "float", 0.01, 1.0, log=True),
            Param("max_iter", "int", 10, 1000, log=True),
            Param("max_leaf_nodes", "int", 4, 256, log=True),
            Param("limit_depth", "categorical", choices=(False, True)),
            Param("max_depth", "int", 2, 20, log=True, condition=("limit_depth", (True,))),
            Param("min_samples_leaf", "int", 1, 200, log=True),
            Param("l2_regularization", "float", 1e-6, 10.0, log=True),
            Param("max_features", "float", 0.1, 1.0),
            Param("max_bins", "int", 32, 255),
        ]

    def default(self, kind: str) -> dict[str, Any]:
        return {
            "learning_rate": 0.1,
            "max_iter": 100,
            "max_leaf_nodes": 31,
            "limit_depth": False,
            "min_samples_leaf": 20,
            "l2_regularization": 1e-6,
            "max_features": 1.0,
            "max_bins": 255,
        }

    def low_cost(self, kind: str) -> dict[str, Any]:
        return {**self.default(kind), "max_iter": 20, "max_leaf_nodes": 8}

    def ordinal_max_categories(self, params: dict[str, Any]) -> int:
        return int(params.get("max_bins", 255))

    def build(self, params: dict[str, Any], task: Task, *, seed: int = 0) -> BaseEstimator:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        regression = task.kind == "regression"
        cls = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
        model = cls(
            learning_rate=params["learning_rate"],
            max_iter=params["max_iter"],
            max_leaf_nodes=params["max_leaf_nodes"],
            max_depth=params["max_depth"] if params["limit_depth"] else None,
            min_samples_leaf=params["min_samples_leaf"],
            l2_regularization=params["l2_regularization"],
            max_features=params["max_features"],
            max_bins=params["max_bins"],
            categorical_features=self.categorical_indices(task) or None,
            early_stopping=_early_stopping(task),
            validation_fraction=0.1,
            n_iter_no_change=10,
            random_state=seed,
        )
        if not regression:
            return model
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.preprocessing import StandardScaler

        return TransformedTargetRegressor(regressor=model, transformer=StandardScaler())
