"""``mlp``: metaopt's torch MLP, architecture included (:mod:`metaopt.models`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from metaopt.spaces._base import DataShape, Param, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.base import BaseEstimator

    from metaopt.tasks import Task

__all__ = ["MLPSpace"]


class MLPSpace(SearchSpace):
    """Multi-layer perceptrons on imputed, standardised numeric and one-hot features.

    Architecture: ``hidden_layers`` int [1, 6] · ``width`` int [16, 1024], log (units
    of the first hidden layer) · ``shape`` ``"shared"`` / ``"tapering"`` ·
    ``taper_ratio`` float [0.25, 0.9], active only when ``shape="tapering"`` (layer
    ``l`` has ``width * taper_ratio**l`` units, at least 4) · ``activation`` relu /
    gelu / silu / tanh · ``dropout`` float [0, 0.5] · ``norm`` none / batch / layer ·
    ``residual`` bool (skip connections where the width is kept).

    Training: ``optimizer`` adam / adamw / sgd · ``learning_rate`` float [1e-4, 0.1],
    log · ``momentum`` float [0.5, 0.99], active only for sgd · ``schedule`` constant
    / cosine / onecycle · ``weight_decay`` float [1e-8, 0.1], log (1e-8 stands for
    none) · ``batch_size`` int [16, 1024], log (capped at the training rows) ·
    ``max_epochs`` int [10, 300], log · ``patience`` int [3, 30]: early stopping on a
    stratified 10 % hold-out, best epoch kept (off on data too small to hold out 2 rows).

    Built as :class:`metaopt.models.MLPClassifier` / :class:`~metaopt.models.MLPRegressor`
    with ``device="auto"`` (CUDA when present); regression targets are standardised
    inside the estimator. Many configurations can be trained at once with
    :func:`metaopt.models.train_population`.
    """

    name = "mlp"
    scale_sensitive = True
    encoding = "onehot"
    size_params = ("max_epochs",)

    def params(self, shape: DataShape) -> list[Param]:
        return [
            Param("hidden_layers", "int", 1, 6),
            Param("width", "int", 16, 1024, log=True),
            Param("shape", "categorical", choices=("shared", "tapering")),
            Param("taper_ratio", "float", 0.25, 0.9, condition=("shape", ("tapering",))),
            Param("activation", "categorical", choices=("relu", "gelu", "silu", "tanh")),
            Param("dropout", "float", 0.0, 0.5),
            Param("norm", "categorical", choices=("none", "batch", "layer")),
            Param("residual", "categorical", choices=(False, True)),
            Param("optimizer", "categorical", choices=("adam", "adamw", "sgd")),
            Param("learning_rate", "float", 1e-4, 0.1, log=True),
            Param("momentum", "float", 0.5, 0.99, condition=("optimizer", ("sgd",))),
            Param("schedule", "categorical", choices=("constant", "cosine", "onecycle")),
            Param("weight_decay", "float", 1e-8, 0.1, log=True),
            Param("batch_size", "int", 16, 1024, log=True),
            Param("max_epochs", "int", 10, 300, log=True),
            Param("patience", "int", 3, 30),
        ]

    def default(self, kind: str) -> dict[str, Any]:
        return {
            "hidden_layers": 2,
            "width": 128,
            "shape": "shared",
            "activation": "relu",
            "dropout": 0.0,
            "norm": "none",
            "residual": False,
            "optimizer": "adam",
            "learning_rate": 1e-3,
            "schedule": "constant",
            "weight_decay": 1e-8,
            "batch_size": 256,
            "max_epochs": 100,
            "patience": 10,
        }

    def low_cost(self, kind: str) -> dict[str, Any]:
        return {**self.default(kind), "width": 64, "hidden_layers": 1, "max_epochs": 20}

    def build(self, params: dict[str, Any], task: Task, *, seed: int = 0) -> BaseEstimator:
        from metaopt.models import MLPClassifier, MLPRegressor

        cls = MLPRegressor if task.kind == "regression" else MLPClassifier
        kwargs = dict(params)
        kwargs.setdefault("taper_ratio", 0.5)  # inactive unless shape="tapering"
        kwargs.setdefault("momentum", 0.9)  # inactive unless optimizer="sgd"
        return cls(
            **kwargs,
            early_stopping=True,
            validation_fraction=0.1,
            device="auto",
            random_state=seed,
        )
