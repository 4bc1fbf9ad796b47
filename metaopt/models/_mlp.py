"""scikit-learn compatible torch MLPs whose architecture is a hyperparameter."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from metaopt._exceptions import ConfigError, ModelError, ModelVersionError
from metaopt.models._core import Bucket, MemberSpec, forward, resolve_device, split_monitor

__all__ = ["FORMAT_VERSION", "MLPClassifier", "MLPRegressor"]

#: Version of the on-disk format written by :meth:`_BaseMLP.save`.
FORMAT_VERSION = 1

_CHOICES: dict[str, tuple[str, ...]] = {
    "shape": ("shared", "tapering"),
    "activation": ("relu", "gelu", "silu", "tanh"),
    "norm": ("none", "batch", "layer"),
    "optimizer": ("adam", "adamw", "sgd"),
    "schedule": ("constant", "cosine", "onecycle"),
}
# name -> (low, high) for ints; (low, high, low inclusive, high inclusive) for floats
_INT_RANGES: dict[str, tuple[int, float]] = {
    "hidden_layers": (1, np.inf),
    "width": (1, np.inf),
    "batch_size": (1, np.inf),
    "max_epochs": (1, np.inf),
    "patience": (1, np.inf),
}
_FLOAT_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "taper_ratio": (0.0, 1.0, False, True),
    "dropout": (0.0, 1.0, True, False),
    "learning_rate": (0.0, np.inf, True, False),
    "momentum": (0.0, 1.0, True, False),
    "weight_decay": (0.0, np.inf, True, False),
    "validation_fraction": (0.0, 1.0, False, False),
    "tol": (0.0, np.inf, True, False),
}
_BOOLS = ("residual", "early_stopping")
# hyperparameters that describe the model, as opposed to where/with which seed it runs
_NOT_TRAINING = ("device", "random_state")


def validate_hyperparameters(params: dict[str, Any]) -> None:
    """Raise :class:`~metaopt.ConfigError` for the first invalid hyperparameter.

    Parameters
    ----------
    params
        A complete parameter dictionary (``get_params()`` of an MLP estimator).
    """
    for name, choices in _CHOICES.items():
        if params[name] not in choices:
            raise ConfigError(
                f"MLP hyperparameter {name}={params[name]!r} is not one of {list(choices)}",
                f"pass one of {', '.join(map(repr, choices))}",
            )
    for name, (lo, hi) in _INT_RANGES.items():
        v = params[name]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
            raise ConfigError(
                f"MLP hyperparameter {name}={v!r} must be an integer >= {lo}",
                f"pass e.g. {name}={lo}",
            )
    for name, (flo, fhi, lo_in, hi_in) in _FLOAT_RANGES.items():
        v = params[name]
        ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        ok = bool(ok and np.isfinite(v))
        if ok:
            ok = bool((v >= flo if lo_in else v > flo) and (v <= fhi if hi_in else v < fhi))
        if not ok:
            lb = "[" if lo_in else "("
            rb = "]" if hi_in else ")"
            raise ConfigError(
                f"MLP hyperparameter {name}={v!r} is outside {lb}{flo}, {fhi}{rb}",
                f"pass a number in {lb}{flo}, {fhi}{rb}",
            )
    for name in _BOOLS:
        if not isinstance(params[name], (bool, np.bool_)):
            raise ConfigError(
                f"MLP hyperparameter {name}={params[name]!r} must be True or False",
                f"pass {name}=True or {name}=False",
            )
    dev = params["device"]
    if not (isinstance(dev, str) and (dev in ("auto", "cpu") or dev.startswith("cuda"))):
        raise ConfigError(
            f"MLP device={dev!r} is not 'auto', 'cpu' or 'cuda[:N]'",
            "pass device='auto' to use a GPU when one is visible",
        )


def resolve_seed(random_state: Any) -> int:
    """An integer seed: the int itself, or one drawn from a RandomState / global numpy."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(0, 2**31 - 1))


class _BaseMLP(BaseEstimator):
    """Shared machinery of :class:`MLPClassifier` and :class:`MLPRegressor`.

    The network is ``hidden_layers`` blocks of Linear -> normalisation -> activation ->
    dropout (-> + input when ``residual`` and the block keeps its width), then a linear
    output layer. Weights are Glorot-uniform, biases zero; weight decay applies to the
    weight matrices only.
    """

    _classification = False

    def __init__(
        self,
        hidden_layers: int = 2,
        width: int = 128,
        shape: str = "shared",
        taper_ratio: float = 0.5,
        activation: str = "relu",
        dropout: float = 0.0,
        norm: str = "none",
        residual: bool = False,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        momentum: float = 0.9,
        schedule: str = "constant",
        weight_decay: float = 0.0,
        batch_size: int = 256,
        max_epochs: int = 100,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        patience: int = 10,
        tol: float = 1e-4,
        device: str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.hidden_layers = hidden_layers
        self.width = width
        self.shape = shape
        self.taper_ratio = taper_ratio
        self.activation = activation
        self.dropout = dropout
        self.norm = norm
        self.residual = residual
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.schedule = schedule
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.device = device
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting

    def _fit_arrays(self, X: np.ndarray, targets: np.ndarray, n_out: int, strat: Any) -> None:
        import torch

        params = self.get_params()
        validate_hyperparameters(params)
        seed = resolve_seed(self.random_state)
        n = X.shape[0]
        if self.early_stopping:
            tr, mon = split_monitor(n, strat, self.validation_fraction, seed)
        else:
            tr, mon = np.arange(n), None
        device = resolve_device(self.device)
        Xt = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32), device=device)
        Yt = torch.as_tensor(targets, device=device)
        member = MemberSpec(params=params, seed=seed, train_idx=tr, monitor_idx=mon)
        bucket = Bucket([member], Xt, Yt, n_out, self._classification)
        kept: dict[str, Any] = {}

        def on_finish(b: Bucket, finished: torch.Tensor) -> None:
            P, S = b.final_params(), b.final_state()
            kept["weights"] = {k: v[0].detach().cpu().numpy().copy() for k, v in P.items()}
            for k, v in S.items():
                if k.startswith(("rm", "rv")):
                    kept["weights"][k] = v[0].detach().cpu().numpy().copy()
            kept["outcome"] = b.outcome(0)

        bucket.train(on_finish, compact=False)
        out = kept["outcome"]
        self.weights_: dict[str, np.ndarray] = kept["weights"]
        self.n_iter_ = out.n_epochs
        self.best_epoch_ = out.best_epoch
        self.loss_curve_ = out.loss_curve
        self.validation_loss_curve_ = out.monitor_curve
        self.device_ = device

    def _raw_output(self, X: np.ndarray) -> np.ndarray:
        import torch

        from metaopt.models._core import layer_widths

        device = resolve_device(self.device)
        P: dict[str, torch.Tensor] = {}
        S: dict[str, torch.Tensor] = {}
        for k, v in self.weights_.items():
            (S if k.startswith(("rm", "rv")) else P)[k] = torch.as_tensor(v, device=device)[None]
        widths = layer_widths(self.hidden_layers, self.width, self.shape, self.taper_ratio)
        for layer, w in enumerate(widths):
            S[f"mask{layer}"] = torch.ones(1, 1, w, device=device)
            S[f"n{layer}"] = torch.full((1, 1, 1), float(w), device=device)
            if layer > 0:
                S[f"res{layer}"] = torch.full(
                    (1, 1, 1), float(w == widths[layer - 1]), device=device
                )
        # predictions in float64: exact row-by-row, whatever the batch (subset invariance)
        P = {k: v.double() for k, v in P.items()}
        S = {k: v.double() for k, v in S.items()}
        x = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float64), device=device)
        with torch.no_grad():
            out = forward(
                P,
                S,
                x,
                n_layers=len(widths),
                norm=self.norm,
                residual=bool(self.residual),
                activation=self.activation,
            )
        return out[0].cpu().numpy()

    # ------------------------------------------------------------------ persistence

    def _fitted_json(self) -> dict[str, Any]:
        return {}

    def _load_fitted_json(self, data: dict[str, Any]) -> None:
        pass

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted model to the directory ``path`` without pickle.

        ``weights.safetensors`` holds the arrays, ``model.json`` the class, the
        constructor parameters, the fitted attributes and the format version.

        Returns
        -------
        Path
            The directory written.
        """
        from safetensors.numpy import save_file

        check_is_fitted(self, "weights_")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file(
            {k: np.ascontiguousarray(v) for k, v in self.weights_.items()},
            str(path / "weights.safetensors"),
        )
        params = self.get_params()
        if not isinstance(params["random_state"], (int, type(None))):
            params["random_state"] = None
        meta = {
            "format": "metaopt.mlp",
            "format_version": FORMAT_VERSION,
            "class": f"{type(self).__module__.replace('._mlp', '')}.{type(self).__name__}",
            "params": params,
            "fitted": {
                "n_features_in_": int(self.n_features_in_),
                "feature_names_in_": (
                    [str(c) for c in self.feature_names_in_]
                    if hasattr(self, "feature_names_in_")
                    else None
                ),
                "n_iter_": int(self.n_iter_),
                "best_epoch_": int(self.best_epoch_),
                "loss_curve_": list(self.loss_curve_),
                "validation_loss_curve_": list(self.validation_loss_curve_),
                **self._fitted_json(),
            },
        }
        (path / "model.json").write_text(json.dumps(meta, indent=1))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: str | None = None) -> Any:
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        path
            The directory passed to :meth:`save`.
        device
            Override the saved ``device`` parameter (e.g. ``"cpu"`` on a machine
            without a GPU); by default the saved one is kept.
        """
        from safetensors.numpy import load_file

        path = Path(path)
        meta_path, w_path = path / "model.json", path / "weights.safetensors"
        if not meta_path.is_file() or not w_path.is_file():
            raise ModelError(
                f"{path} is not a saved metaopt MLP (model.json or weights.safetensors missing)",
                "pass the directory that MLPClassifier.save / MLPRegressor.save wrote",
            )
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != "metaopt.mlp":
            raise ModelError(f"{meta_path} is not a metaopt MLP file", "pass a saved MLP")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelVersionError(
                f"{path} holds MLP format version {meta.get('format_version')}, this "
                f"metaopt reads version {FORMAT_VERSION}",
                "refit the model with this metaopt version and save it again",
            )
        name = meta["class"].rsplit(".", 1)[-1]
        if name != cls.__name__:
            raise ModelError(
                f"{path} holds a {name}, not a {cls.__name__}", f"load it with {name}.load"
            )
        est = cls(**meta["params"])
        if device is not None:
            est.set_params(device=device)
        fitted = meta["fitted"]
        est.weights_ = dict(load_file(str(w_path)))
        est.n_features_in_ = fitted["n_features_in_"]
        if fitted.get("feature_names_in_") is not None:
            est.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
        est.n_iter_ = fitted["n_iter_"]
        est.best_epoch_ = fitted["best_epoch_"]
        est.loss_curve_ = fitted["loss_curve_"]
        est.validation_loss_curve_ = fitted["validation_loss_curve_"]
        est.device_ = resolve_device(est.device)
        est._load_fitted_json(fitted)
        return est


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A torch MLP classifier whose architecture and training are hyperparameters.

    Parameters
    ----------
    hidden_layers
        Number of hidden blocks (depth).
    width
        Units of the first hidden layer.
    shape
        ``"shared"``: every hidden layer has ``width`` units; ``"tapering"``: layer
        ``l`` has ``max(4, round(width * taper_ratio**l))`` units.
    taper_ratio
        Width ratio of consecutive layers when ``shape="tapering"``.
    activation
        ``"relu"``, ``"gelu"``, ``"silu"`` or ``"tanh"``.
    dropout
        Dropout rate after each hidden activation.
    norm
        ``"none"``, ``"batch"`` or ``"layer"`` normalisation before the activation.
    residual
        Add a block's input to its output where the width does not change.
    optimizer
        ``"adam"``, ``"adamw"`` (decoupled weight decay) or ``"sgd"`` (with momentum).
    learning_rate
        Peak learning rate.
    momentum
        Momentum of SGD (unused by Adam/AdamW).
    schedule
        ``"constant"``, ``"cosine"`` (decay to zero over ``max_epochs``) or
        ``"onecycle"`` (linear warm-up over 30 % of the steps, then cosine decay).
    weight_decay
        L2 penalty on the weight matrices (decoupled for AdamW).
    batch_size
        Minibatch size (capped at the number of training rows).
    max_epochs
        Upper bound on the number of epochs.
    early_stopping
        Hold out ``validation_fraction`` of the rows (stratified) and stop when their
        loss has not improved by ``tol`` for ``patience`` epochs; the best epoch's
        weights are kept. Off automatically when fewer than 2 rows would be held out.
    validation_fraction, patience, tol
        See ``early_stopping``.
    device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"`` or ``"cuda[:N]"``.
    random_state
        Seed of initialisation, shuffling, dropout and the hold-out split; with an int
        the fit is deterministic.

    Attributes
    ----------
    classes_ : ndarray
        Class labels.
    weights_ : dict of str to ndarray
        Trained arrays (``W{l}``, ``b{l}``, norm parameters and running statistics).
    n_iter_ : int
        Epochs trained.
    best_epoch_ : int
        Epoch whose weights were kept.
    loss_curve_, validation_loss_curve_ : list of float
        Training and hold-out loss per epoch.
    """

    _classification = True

    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Fit on numeric features ``X`` and class labels ``y``.

        Returns
        -------
        MLPClassifier
            The fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float32)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"MLPClassifier needs at least 2 classes in y, got 1 class: {self.classes_[0]!r}"
            )
        self._fit_arrays(X, codes.astype(np.int64), len(self.classes_), codes)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        check_is_fitted(self, "weights_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        logits = self._raw_output(X)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        return np.log(np.clip(self.predict_proba(X), 1e-300, None))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class labels."""
        check_is_fitted(self, "weights_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _fitted_json(self) -> dict[str, Any]:
        return {
            "classes_": self.classes_.tolist(),
            "classes_dtype": self.classes_.dtype.str if self.classes_.dtype != object else "O",
        }

    def _load_fitted_json(self, data: dict[str, Any]) -> None:
        self.classes_ = np.asarray(data["classes_"], dtype=np.dtype(data["classes_dtype"]))


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A torch MLP regressor whose architecture and training are hyperparameters.

    Targets (one or several columns) are standardised internally. The parameters are
    those of :class:`MLPClassifier`; the loss is the mean squared error.

    Attributes
    ----------
    y_mean_, y_scale_ : ndarray
        Mean and standard deviation used to standardise the targets.
    n_outputs_ : int
        Number of target columns.
    weights_, n_iter_, best_epoch_, loss_curve_, validation_loss_curve_
        As in :class:`MLPClassifier`.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Fit on numeric features ``X`` and numeric targets ``y`` (1-D or 2-D).

        Returns
        -------
        MLPRegressor
            The fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float32, multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1
        Y = y.reshape(len(y), -1)
        self.n_outputs_ = Y.shape[1]
        self.y_mean_ = Y.mean(axis=0)
        scale = Y.std(axis=0)
        self.y_scale_ = np.where(scale > 0, scale, 1.0)
        Z = ((Y - self.y_mean_) / self.y_scale_).astype(np.float32)
        self._fit_arrays(X, Z, self.n_outputs_, None)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, shaped like the ``y`` passed to :meth:`fit`."""
        check_is_fitted(self, "weights_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        out = self._raw_output(X) * self.y_scale_ + self.y_mean_
        return out[:, 0] if self._y_1d else out

    def _fitted_json(self) -> dict[str, Any]:
        return {
            "y_mean_": self.y_mean_.tolist(),
            "y_scale_": self.y_scale_.tolist(),
            "n_outputs_": int(self.n_outputs_),
            "y_1d": bool(self._y_1d),
        }

    def _load_fitted_json(self, data: dict[str, Any]) -> None:
        self.y_mean_ = np.asarray(data["y_mean_"], dtype=np.float64)
        self.y_scale_ = np.asarray(data["y_scale_"], dtype=np.float64)
        self.n_outputs_ = int(data["n_outputs_"])
        self._y_1d = bool(data["y_1d"])
