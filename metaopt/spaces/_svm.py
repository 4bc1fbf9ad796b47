"""``svm``: kernel support vector machines (SVC / SVR with an RBF kernel)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from metaopt.spaces._base import DataShape, Param, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.base import BaseEstimator

    from metaopt.tasks import Task

__all__ = ["MAX_SVM_ROWS", "SVMSpace"]

#: Kernel SVMs scale quadratically or worse in the number of rows; above this many
#: rows the space reports itself unsupported (``supports`` returns the reason).
MAX_SVM_ROWS = 10_000


class SVMSpace(SearchSpace):
    """RBF-kernel SVMs on imputed, standardised numeric and one-hot categorical features.

    ``C`` float [1e-2, 1e3], log · ``gamma_mode`` ``"scale"`` (scikit-learn's
    ``1 / (n_features * X.var())``) or ``"value"`` · ``gamma`` float [1e-4, 10], log,
    active only when ``gamma_mode`` is ``"value"`` · classification: ``class_weight``
    ``None`` / ``"balanced"`` · regression: ``epsilon`` float [1e-3, 1], log, on the
    standardised target (``TransformedTargetRegressor``).

    Classifiers are built without Platt scaling (scikit-learn's default): scorers such
    as ROC-AUC use ``decision_function``. Skipped above :data:`MAX_SVM_ROWS` rows.
    """

    name = "svm"
    scale_sensitive = True
    encoding = "onehot"

    def params(self, shape: DataShape) -> list[Param]:
        params = [
            Param("C", "float", 1e-2, 1e3, log=True),
            Param("gamma_mode", "categorical", choices=("scale", "value")),
            Param("gamma", "float", 1e-4, 10.0, log=True, condition=("gamma_mode", ("value",))),
        ]
        if shape.kind == "regression":
            params.append(Param("epsilon", "float", 1e-3, 1.0, log=True))
        else:
            params.append(Param("class_weight", "categorical", choices=(None, "balanced")))
        return params

    def default(self, kind: str) -> dict[str, Any]:
        config: dict[str, Any] = {"C": 1.0, "gamma_mode": "scale"}
        if kind == "regression":
            config["epsilon"] = 0.1
        else:
            config["class_weight"] = None
        return config

    def supports(self, shape: DataShape) -> str | None:
        if shape.n_rows > MAX_SVM_ROWS:
            return (
                f"svm is skipped above {MAX_SVM_ROWS} rows (kernel SVMs scale quadratically), "
                f"this task has {shape.n_rows}"
            )
        return super().supports(shape)

    def build(self, params: dict[str, Any], task: Task, *, seed: int = 0) -> BaseEstimator:
        gamma = params["gamma"] if params["gamma_mode"] == "value" else "scale"
        if task.kind != "regression":
            from sklearn.svm import SVC

            return SVC(
                C=params["C"],
                kernel="rbf",
                gamma=gamma,
                class_weight=params["class_weight"],
                random_state=seed,
            )
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVR

        return TransformedTargetRegressor(
            regressor=SVR(C=params["C"], kernel="rbf", gamma=gamma, epsilon=params["epsilon"]),
            transformer=StandardScaler(),
        )
