"""The warm-start surrogate: (meta-features, algorithm, config) → normalized score ± σ.

:class:`Surrogate` is an ensemble of ``n_members`` regressors, each trained on a
*group bootstrap* of the training tasks (tasks are drawn with replacement, whole, and
the rows of a task drawn twice weigh twice), so that the spread of the members says
how much the prediction depends on which datasets happened to be in the knowledge
base. Its predicted σ is

``sqrt(σ_err² + (ood_scale · excess_distance)²)``

* ``σ_err`` (``uncertainty="heteroscedastic"``, the default): the expected size of the
  error for *this* row. A small boosted-tree head, fitted on the out-of-bag squared
  errors (each training row predicted by the members whose bootstrap left its group
  out), predicts ``E[error²]`` from the row, the members' mean and their spread;
  ``σ_err = c · sqrt(max(head, 0) + f²)``. The head is two halves — the out-of-bag rows
  split in two by group, one head fitted on each, their mean used — so that every row
  has a prediction from the half that did not see its group, and the scale ``c`` and
  floor ``f`` are chosen by the Gaussian log-likelihood of those cross-fitted rows. Errors are heavy-tailed — most configs are predicted
  within a few hundredths, a few (failures, a task unlike the others) far off — so one
  σ for every row is either too wide for the many or too narrow for the few (README,
  "Benchmarks", for the measured coverage and log-likelihood of both).
  ``uncertainty="floor"`` (and models saved before the head):
  ``σ_err² = member_std² + floor²``, ``floor`` calibrated out of bag so that σ² matches
  the mean squared error;
* ``excess_distance``: how much farther the query's scaled meta-features lie from the
  nearest training task than training tasks typically lie from each other (0 for
  in-distribution queries). Trees extrapolate flat, so without this term a dataset
  unlike any in the knowledge base would look as certain as a familiar one.

Member kinds (:class:`MemberKind`, one small class each, listed in
:data:`MEMBER_KINDS`): ``"gbt"`` (scikit-learn's ``HistGradientBoostingRegressor``,
exported to numpy node arrays by :mod:`metaopt.learn._trees`) and ``"mlp"`` (a small
torch MLP on imputed inputs, exported to numpy weight matrices). Choose between them
with :func:`leave_dataset_out`. Training needs scikit-learn (and torch for ``"mlp"``);
prediction, :meth:`Surrogate.load` and everything the recommender calls are pure numpy.

A second, single-model head predicts ``log(fit seconds per 1,000 rows)``
(:meth:`Surrogate.predict_log_fit_time`, :meth:`Surrogate.expected_fit_time`).

Saved (alone, or inside a :class:`~metaopt.recommend.Recommender`) in the one save
format of :mod:`metaopt.learn._saved`: its JSON document holds the parameters, the
encoder, the knowledge base's summary and a training summary; its arrays the members
and heads.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from metaopt._exceptions import ModelError, ModelVersionError
from metaopt._version import __version__
from metaopt.learn._encoding import ConfigEncoder
from metaopt.learn._saved import read_saved, write_saved
from metaopt.learn._trees import TreeArrays, export_hgb, predict_trees

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from metaopt.kb import KnowledgeBase

__all__ = [
    "MEMBER_KINDS",
    "GBTMember",
    "MLPMember",
    "MemberKind",
    "Surrogate",
    "kb_fingerprint",
    "leave_dataset_out",
    "training_table",
]

_RETRAIN = "retrain with `metaopt train`"
_UNCERTAINTY = ("heteroscedastic", "floor")
#: The error head's trees (small: it learns a scale, not a score) and the floors tried.
_SIGMA_HEAD = {"max_iter": 100, "learning_rate": 0.1, "max_leaf_nodes": 15, "min_samples_leaf": 40,
               "l2_regularization": 0.0, "max_features": 1.0}
_SIGMA_FLOORS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.1)

# --------------------------------------------------------------------------- members


def _fit_gbt(
    X: np.ndarray, y: np.ndarray, w: np.ndarray | None, params: Mapping[str, Any], seed: int
) -> TreeArrays:
    from sklearn.ensemble import HistGradientBoostingRegressor

    est = HistGradientBoostingRegressor(
        max_iter=int(params["max_iter"]),
        learning_rate=float(params["learning_rate"]),
        max_leaf_nodes=int(params["max_leaf_nodes"]),
        min_samples_leaf=int(params["min_samples_leaf"]),
        l2_regularization=float(params["l2_regularization"]),
        max_features=float(params["max_features"]),
        early_stopping=False,
        random_state=seed,
    )
    # all-NaN columns (another algorithm's parameters) break scikit-learn's binning; a
    # constant column is never split on, so the exported trees ignore it either way
    X = np.where(np.isnan(X).all(axis=0), 0.0, X) if len(X) else X
    from threadpoolctl import threadpool_limits

    # one OpenMP thread: shared cores make multithreaded boosting far slower, not faster
    with threadpool_limits(limits=int(params.get("n_threads") or 1), user_api="openmp"):
        est.fit(X, y, sample_weight=w)
    return export_hgb(est)


def _fit_mlp(
    X: np.ndarray, y: np.ndarray, w: np.ndarray | None, params: Mapping[str, Any], seed: int
) -> list[np.ndarray]:
    """Train one MLP member in torch; return its weights as ``[W0, b0, W1, b1, ...]``."""
    import torch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y, dtype=torch.float32, device=device)
    wt = torch.as_tensor(np.ones(len(y)) if w is None else w, dtype=torch.float32, device=device)
    sizes = [X.shape[1], *[int(h) for h in params["hidden"]], 1]
    layers: list[torch.nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).to(device)
    opt = torch.optim.AdamW(
        net.parameters(), lr=float(params["mlp_lr"]), weight_decay=float(params["weight_decay"])
    )
    n = len(y)
    batch = int(min(max(n // 8, 32), 512))
    epochs = int(params["epochs"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=max(epochs * math.ceil(n / batch), 1)
    )
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen).to(device)
        for start in range(0, n, batch):
            idx = perm[start : start + batch]
            pred = net(Xt[idx]).squeeze(-1)
            loss = (wt[idx] * (pred - yt[idx]) ** 2).sum() / wt[idx].sum().clamp_min(1e-12)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    out: list[np.ndarray] = []
    for layer in net:
        if isinstance(layer, torch.nn.Linear):
            out.append(layer.weight.detach().cpu().numpy().astype(np.float64).T.copy())
            out.append(layer.bias.detach().cpu().numpy().astype(np.float64).copy())
    return out


def _predict_mlp(weights: Sequence[np.ndarray], X: np.ndarray) -> np.ndarray:
    h = X
    n_layers = len(weights) // 2
    for i in range(n_layers):
        h = h @ weights[2 * i] + weights[2 * i + 1]
        if i < n_layers - 1:
            h = np.maximum(h, 0.0)
    return h[:, 0]


class MemberKind(ABC):
    """One kind of ensemble member: how it trains, predicts and becomes arrays.

    Lifecycle: :meth:`fit` trains one member on a weighted bootstrap (training may use
    scikit-learn or torch) and returns its state as plain numpy arrays;
    :meth:`predict` evaluates that state with numpy alone. State round-trips through
    ``np.savez`` as the dict :meth:`fit` returned. Subclasses are stateless.
    """

    #: The value of :class:`Surrogate`'s ``model`` parameter that selects this kind.
    name: ClassVar[str]

    @abstractmethod
    def fit(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, params: Mapping[str, Any], seed: int
    ) -> dict[str, np.ndarray]:
        """Train one member on rows ``X`` (NaN allowed) with targets ``y`` and weights ``w``."""

    @abstractmethod
    def predict(self, state: Mapping[str, np.ndarray], X: np.ndarray) -> np.ndarray:
        """The member's predictions for rows ``X`` (numpy only)."""


class GBTMember(MemberKind):
    """Boosted trees (``HistGradientBoostingRegressor``), NaN routed natively."""

    name = "gbt"

    def fit(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, params: Mapping[str, Any], seed: int
    ) -> dict[str, np.ndarray]:
        return _fit_gbt(X, y, w, params, seed).to_arrays("")

    def predict(self, state: Mapping[str, np.ndarray], X: np.ndarray) -> np.ndarray:
        return predict_trees(TreeArrays.from_arrays(state, ""), X)


class MLPMember(MemberKind):
    """A ReLU MLP trained in torch (GPU when present) on NaN-imputed rows."""

    name = "mlp"

    def fit(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, params: Mapping[str, Any], seed: int
    ) -> dict[str, np.ndarray]:
        weights = _fit_mlp(np.nan_to_num(X, nan=0.0), y, w, params, seed)
        return {f"w{j}": a for j, a in enumerate(weights)}

    def predict(self, state: Mapping[str, np.ndarray], X: np.ndarray) -> np.ndarray:
        weights = [state[f"w{j}"] for j in range(len(state))]
        return _predict_mlp(weights, np.nan_to_num(X, nan=0.0))


#: The member kinds, one line each.
MEMBER_KINDS: dict[str, MemberKind] = {kind.name: kind for kind in (GBTMember(), MLPMember())}


def _rms_distance(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """RMS distance between rows of A and rows of B over dimensions present in both."""
    a_ok = ~np.isnan(A)
    b_ok = ~np.isnan(B)
    A0 = np.where(a_ok, A, 0.0)
    B0 = np.where(b_ok, B, 0.0)
    ai, bi = a_ok.astype(np.float64), b_ok.astype(np.float64)
    sq = (A0**2) @ bi.T + ai @ (B0**2).T - 2.0 * A0 @ B0.T
    count = ai @ bi.T
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.sqrt(np.maximum(sq, 0.0) / count)
    return np.where(count > 0, d, np.inf)


def _calibrated_floor(preds: np.ndarray, oob_mean: np.ndarray, y: np.ndarray) -> float:
    """The σ floor with which the out-of-bag σ² (spread² + floor²) matches the mean squared error."""
    resid2 = float(np.mean((oob_mean - y) ** 2))
    spread2 = float(np.mean(preds.var(axis=0)))
    return math.sqrt(max(resid2 - spread2, 0.0))


# --------------------------------------------------------------------------- the model


class Surrogate:
    """Ensemble surrogate of normalized scores with an uncertainty (see the module).

    Lifecycle: construct with hyperparameters (stored, not checked), :meth:`fit` on an
    encoded matrix (or :meth:`from_kb` to encode a knowledge base and fit), then
    :meth:`predict` / :meth:`predict_configs`; :meth:`save` and :meth:`load` move it
    to and from disk. Fitted state ends in ``_``.

    Parameters
    ----------
    model
        ``"gbt"`` (boosted trees) or ``"mlp"`` (torch-trained MLPs).
    n_members
        Ensemble size (group-bootstrap resamples of the training tasks).
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization, max_features
        Boosted-tree settings (``"gbt"``, and the fit-time head).
    hidden, epochs, mlp_lr, weight_decay
        MLP settings (``"mlp"``).
    ood_scale
        Weight of the out-of-distribution term of σ (per unit of excess RMS distance in
        robust-scaled meta-features); 0 disables it.
    calibrate_floor
        With ``uncertainty="floor"``: calibrate the σ floor out of bag (else it is 0).
    uncertainty
        ``"heteroscedastic"`` (a per-row error head, see the module) or ``"floor"``
        (member spread plus one calibrated floor). The head needs ``n_members > 1`` and
        out-of-bag rows of at least 4 groups; otherwise the floor is used.
    random_state
        Seed of the bootstraps and members.
    """

    # fitted state (annotations only: set by fit / from_kb / load)
    members_: list[dict[str, np.ndarray]]
    n_features_in_: int
    std_floor_: float
    #: ``uncertainty="heteroscedastic"``: the error head's two halves (empty: σ uses the
    #: floor) and its calibrated scale ``c`` and floor ``f`` (see the module).
    sigma_models_: list[TreeArrays]
    sigma_scale_: float
    sigma_floor_: float
    #: After :meth:`fit` (not saved): per input row, the mean prediction of the members
    #: whose bootstrap left the row's group out (NaN when every member saw it) — a
    #: leave-group-out prediction (the error head is fitted on it).
    oob_prediction_: np.ndarray
    #: After :meth:`from_kb` (not saved): the training rows (``task_id``, ``group``,
    #: ``algorithm``, ``config_id``, ``target``), aligned with ``oob_prediction_``.
    training_table_: pd.DataFrame
    n_metafeatures_: int
    train_metafeatures_: np.ndarray
    ood_reference_: float
    fit_time_model_: TreeArrays | None
    training_: dict[str, Any]
    encoder_: ConfigEncoder | None
    kb_info_: dict[str, Any] | None
    mf_version_: str

    def __init__(
        self,
        model: str = "gbt",
        n_members: int = 8,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        max_features: float = 1.0,
        hidden: tuple[int, ...] = (128, 64),
        epochs: int = 60,
        mlp_lr: float = 3e-3,
        weight_decay: float = 1e-4,
        ood_scale: float = 0.1,
        calibrate_floor: bool = True,
        uncertainty: str = "heteroscedastic",
        random_state: int = 0,
    ) -> None:
        self.model = model
        self.n_members = n_members
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_features = max_features
        self.hidden = hidden
        self.epochs = epochs
        self.mlp_lr = mlp_lr
        self.weight_decay = weight_decay
        self.ood_scale = ood_scale
        self.calibrate_floor = calibrate_floor
        self.uncertainty = uncertainty
        self.random_state = random_state

    # -- scikit-learn style parameters ---------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Surrogate:
        """Set constructor parameters; returns ``self``."""
        for key, value in params.items():
            if key not in self._param_names():
                raise ValueError(f"Surrogate has no parameter {key!r}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        return f"Surrogate(model={self.model!r}, n_members={self.n_members})"

    # -- fitting -------------------------------------------------------------------

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        groups: Sequence[Any] | np.ndarray | None = None,
        *,
        fit_time: np.ndarray | None = None,
        n_metafeatures: int | None = None,
    ) -> Surrogate:
        """Fit the ensemble.

        Parameters
        ----------
        X
            Encoded rows ``(n, d)`` (NaN allowed), e.g. from :class:`ConfigEncoder`.
        y
            Targets (normalized scores); rows with NaN targets are dropped.
        groups
            Group label of each row (task or base dataset); bootstraps draw whole
            groups. ``None``: every row is its own group.
        fit_time
            Optional per-row ``log(fit seconds per 1,000 rows)`` (NaN where unknown):
            trains the fit-time head.
        n_metafeatures
            The first ``n_metafeatures`` columns are meta-features: enables the
            out-of-distribution term of σ (needs ``groups``).
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] != y.shape[0]:
            raise ValueError(f"X {X.shape} and y {y.shape} do not match")
        if self.uncertainty not in _UNCERTAINTY:
            raise ValueError(
                f"uncertainty must be one of {', '.join(_UNCERTAINTY)}, got {self.uncertainty!r}"
            )
        kind = self._kind()
        g = np.arange(len(y)) if groups is None else np.asarray(groups)
        keep = np.isfinite(y)
        ft = None if fit_time is None else np.asarray(fit_time, dtype=np.float64)
        X_all, g_all = X, g
        X, y, g = X[keep], y[keep], g[keep]
        if len(y) == 0:
            raise ModelError(
                "no training rows with a finite target", "add evaluations to the knowledge base"
            )
        self.n_features_in_ = X.shape[1]
        uniq, gidx = np.unique(g, return_inverse=True)
        rng = np.random.default_rng(self.random_state)
        in_bag = self._fit_members(kind, X, y, gidx, len(uniq), rng)
        # out-of-bag calibration of the floor
        self.std_floor_ = 0.0
        preds, oob_rows, has = self._out_of_bag(X, ~in_bag[:, gidx], keep)
        if self.calibrate_floor and has.any() and self.n_members > 1:
            self.std_floor_ = _calibrated_floor(preds[:, has], oob_rows[has], y[has])
        self.sigma_models_, self.sigma_scale_, self.sigma_floor_ = [], 1.0, 0.0
        if self.uncertainty == "heteroscedastic" and self.n_members > 1 and has.any():
            self._fit_sigma_head(
                X[has], y[has], oob_rows[has], preds[:, has].std(axis=0), gidx[has], rng
            )
        self._fit_ood_reference(X_all, None if groups is None else g_all, n_metafeatures)
        self.fit_time_model_ = self._fit_time_head(X_all, ft)
        self.training_ = {
            "n_rows": int(len(y)),
            "n_groups": int(len(uniq)),
            "y_mean": float(y.mean()),
            "y_std": float(y.std()),
            "std_floor": self.std_floor_,
            "sigma_head": bool(self.sigma_models_),
            "sigma_scale": self.sigma_scale_,
            "sigma_floor": self.sigma_floor_,
            "ood_reference": self.ood_reference_,
            "fit_time_rows": 0 if ft is None else int(np.isfinite(ft).sum()),
        }
        return self

    def _fit_members(
        self,
        kind: MemberKind,
        X: np.ndarray,
        y: np.ndarray,
        gidx: np.ndarray,
        n_groups: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Fit ``members_`` on group bootstraps; return which groups each drew ``(members, groups)``."""
        params = self.get_params()
        members: list[dict[str, np.ndarray]] = []
        in_bag = np.zeros((self.n_members, n_groups), dtype=bool)
        for k in range(int(self.n_members)):
            counts = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
            in_bag[k] = counts > 0
            w = counts[gidx].astype(np.float64)
            rows = w > 0
            seed = int(rng.integers(0, 2**31 - 1))
            members.append(kind.fit(X[rows], y[rows], w[rows], params, seed))
        self.members_ = members
        return in_bag

    def _out_of_bag(
        self, X: np.ndarray, oob: np.ndarray, keep: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Member predictions, out-of-bag means and which rows have one; sets ``oob_prediction_``.

        ``oob`` is ``(members, rows)``: whether the member's bootstrap left the row's group
        out; ``keep`` marks the input rows that were trained on.
        """
        preds = self._member_predictions(X)
        has = np.asarray(oob.any(axis=0))  # (rows,)
        with np.errstate(invalid="ignore", divide="ignore"):
            oob_rows = np.where(oob, preds, 0.0).sum(0) / oob.sum(0)
        self.oob_prediction_ = np.full(len(keep), np.nan)
        self.oob_prediction_[np.flatnonzero(keep)[has]] = oob_rows[has]
        return preds, oob_rows, has

    def _fit_ood_reference(
        self, X: np.ndarray, groups: np.ndarray | None, n_metafeatures: int | None
    ) -> None:
        """The out-of-distribution reference: training meta-features, typical NN distance."""
        self.n_metafeatures_ = 0
        self.train_metafeatures_ = np.zeros((0, 0))
        self.ood_reference_ = 0.0
        if not n_metafeatures or groups is None:
            return
        block = np.nan_to_num(X[:, : int(n_metafeatures)], nan=np.inf)
        _, first = np.unique(block, axis=0, return_index=True)
        mf = X[np.sort(first), : int(n_metafeatures)]
        mf_groups = groups[np.sort(first)]
        self.n_metafeatures_ = int(n_metafeatures)
        self.train_metafeatures_ = mf
        if len(mf) > 1:
            d = _rms_distance(mf, mf)
            d[mf_groups[:, None] == mf_groups[None, :]] = np.inf  # other groups only
            nn = d.min(axis=1)
            nn = nn[np.isfinite(nn)]
            self.ood_reference_ = float(np.median(nn)) if len(nn) else 0.0

    def _fit_time_head(self, X: np.ndarray, ft: np.ndarray | None) -> TreeArrays | None:
        """The fit-time head, on the rows with a finite ``ft`` (``None``: fewer than 2)."""
        if ft is None:
            return None
        ok = np.isfinite(ft)
        if ok.sum() < 2:
            return None
        return _fit_gbt(
            X[ok],
            ft[ok],
            None,
            {**self.get_params(), "max_iter": min(int(self.max_iter), 200)},
            self.random_state,
        )

    def _fit_sigma_head(
        self,
        X: np.ndarray,
        y: np.ndarray,
        oob: np.ndarray,
        spread: np.ndarray,
        groups: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        """Fit the heteroscedastic error head on out-of-bag rows (see the module)."""
        uniq = np.unique(groups)
        if len(uniq) < 4:
            return
        F = np.column_stack([X, oob, spread])
        r2 = (oob - y) ** 2
        params = {**self.get_params(), **_SIGMA_HEAD}
        half = np.isin(groups, rng.permutation(uniq)[: len(uniq) // 2])
        heads, base2 = [], np.zeros(len(r2))
        for side in (half, ~half):  # each half's head predicts the other half's rows
            heads.append(_fit_gbt(F[side], r2[side], None, params, int(rng.integers(0, 2**31 - 1))))
            base2[~side] = np.maximum(predict_trees(heads[-1], F[~side]), 0.0)
        best = (np.inf, 1.0, 0.0)
        for f in _SIGMA_FLOORS:
            b2 = base2 + f * f
            c2 = float(np.mean(r2 / b2))
            if not np.isfinite(c2) or c2 <= 0:
                continue
            nll = float(np.mean(0.5 * r2 / (c2 * b2) + 0.5 * np.log(c2 * b2)))
            if nll < best[0]:
                best = (nll, math.sqrt(c2), f)
        if np.isfinite(best[0]):
            self.sigma_models_ = heads
            self.sigma_scale_, self.sigma_floor_ = best[1], best[2]

    # -- prediction ----------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise ModelError(
                "this Surrogate is not fitted", "call fit() or from_kb(), or load a saved one"
            )

    def _kind(self) -> MemberKind:
        try:
            return MEMBER_KINDS[self.model]
        except KeyError:
            raise ValueError(
                f"model must be one of {sorted(MEMBER_KINDS)}, got {self.model!r}"
            ) from None

    def _member_predictions(self, X: np.ndarray) -> np.ndarray:
        kind = self._kind()
        return np.stack([kind.predict(m, X) for m in self.members_])

    def ood_distance(self, X: np.ndarray) -> np.ndarray:
        """Excess RMS meta-feature distance of each row to the nearest training task."""
        self._check_fitted()
        X = np.asarray(X, dtype=np.float64)
        if self.n_metafeatures_ == 0 or len(self.train_metafeatures_) == 0:
            return np.zeros(len(X))
        d = _rms_distance(X[:, : self.n_metafeatures_], self.train_metafeatures_).min(axis=1)
        d = np.where(np.isfinite(d), d, 0.0)
        return np.maximum(d - self.ood_reference_, 0.0)

    def predict(self, X: np.ndarray, *, return_spread: bool = False) -> Any:
        """Mean and σ of the normalized score for encoded rows ``X``.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            ``mean`` and ``std``, each of shape ``(n,)``; with ``return_spread``, a third
            array: the members' standard deviation alone (how much the prediction
            depends on which training tasks were drawn — the recommender breaks ties
            between equal means with it, so that the σ model never reorders them).
        """
        self._check_fitted()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has shape {X.shape}, the surrogate expects (n, {self.n_features_in_})"
            )
        preds = self._member_predictions(X)
        mean = preds.mean(axis=0)
        spread = preds.std(axis=0)
        ood = float(self.ood_scale) * self.ood_distance(X)
        heads = getattr(self, "sigma_models_", [])
        if heads:
            F = np.column_stack([X, mean, spread])
            e2 = np.mean([np.maximum(predict_trees(h, F), 0.0) for h in heads], axis=0)
            err2 = self.sigma_scale_**2 * (e2 + self.sigma_floor_**2)
        else:
            err2 = spread**2 + self.std_floor_**2
        std = np.sqrt(err2 + ood**2)
        return (mean, std, spread) if return_spread else (mean, std)

    def predict_log_fit_time(self, X: np.ndarray) -> np.ndarray:
        """Predicted ``log(fit seconds per 1,000 rows)`` (NaN without a fit-time head)."""
        self._check_fitted()
        X = np.asarray(X, dtype=np.float64)
        if self.fit_time_model_ is None:
            return np.full(len(X), np.nan)
        return predict_trees(self.fit_time_model_, X)

    # -- knowledge-base level ------------------------------------------------------

    @classmethod
    def from_kb(
        cls,
        kb: KnowledgeBase,
        tasks: Sequence[str] | None = None,
        *,
        encoder: ConfigEncoder | None = None,
        candidates: Mapping[str, Mapping[str, Any]] | None = None,
        n_splits: int = 5,
        **params: Any,
    ) -> Surrogate:
        """Encode a knowledge base's evaluations and fit a surrogate on them.

        With ``candidates``, the settings are chosen by grouped leave-dataset-out
        validation first (:func:`leave_dataset_out`: highest mean per-task Spearman,
        then lowest top-1 regret); the comparison table is kept in the training summary
        (``training_["selection"]``) and the manifest.

        Parameters
        ----------
        kb
            The knowledge base.
        tasks
            Train on these task ids only (default: every task with meta-features).
        encoder
            An unfitted or fitted encoder (default: all algorithms and meta-features);
            its scaler is (re)fitted on the training tasks.
        candidates
            Name → constructor parameters of the settings to choose from (each updates
            ``params``).
        n_splits
            Folds of the leave-dataset-out selection.
        **params
            Constructor parameters of :class:`Surrogate`.
        """
        table = training_table(kb, tasks)
        enc, X = _encode_table(kb, table, encoder)
        selection = None
        if candidates:
            params, selection, best = _select_params(X, table, enc, params, candidates, n_splits)
        model = cls(**params).fit(
            X,
            table["target"].to_numpy(),
            table["group"].to_numpy(),
            fit_time=table["log_fit_time"].to_numpy(),
            n_metafeatures=enc.n_metafeatures,
        )
        model.encoder_ = enc
        model.training_table_ = table[["task_id", "group", "algorithm", "config_id", "target"]]
        if selection is not None:
            model.training_["selection"] = _selection_summary(selection, best, n_splits)
        model.kb_info_ = _kb_info(kb, table)
        model.mf_version_ = str(kb.manifest.get("mf_version"))
        return model

    def _encoder(self) -> ConfigEncoder:
        enc = getattr(self, "encoder_", None)
        if enc is None:
            raise ModelError(
                "this Surrogate was fitted on a matrix and has no encoder",
                "build it with Surrogate.from_kb(), or set .encoder_",
            )
        return enc

    def encode(
        self,
        metafeatures: Mapping[str, float],
        algorithm_param_pairs: Sequence[tuple[str, Mapping[str, Any]]],
    ) -> np.ndarray:
        """Encoded rows for one task's meta-features and a list of ``(algorithm, params)``."""
        enc = self._encoder()
        algs = [a for a, _ in algorithm_param_pairs]
        params = [p for _, p in algorithm_param_pairs]
        mf = enc.scale_metafeatures(metafeatures)
        return np.hstack([np.repeat(mf, len(algs), axis=0), enc.encode_configs(algs, params)])

    def predict_configs(
        self,
        metafeatures: Mapping[str, float],
        algorithm_param_pairs: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        return_spread: bool = False,
    ) -> Any:
        """Mean and σ of the normalized score of each ``(algorithm, params)`` on one task.

        With ``return_spread``, also the members' standard deviation (see :meth:`predict`).
        """
        if len(algorithm_param_pairs) == 0:
            return (np.zeros(0),) * (3 if return_spread else 2)
        return self.predict(self.encode(metafeatures, algorithm_param_pairs), return_spread=return_spread)

    def expected_fit_time(
        self,
        metafeatures: Mapping[str, float],
        algorithm_param_pairs: Sequence[tuple[str, Mapping[str, Any]]],
        n_rows: int,
    ) -> np.ndarray:
        """Expected fit seconds of each config on ``n_rows`` training rows (NaN if unknown)."""
        if len(algorithm_param_pairs) == 0:
            return np.zeros(0)
        log_t = self.predict_log_fit_time(self.encode(metafeatures, algorithm_param_pairs))
        return np.exp(log_t) * float(n_rows) / 1000.0

    # -- persistence ---------------------------------------------------------------

    def _weights(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        for k, m in enumerate(self.members_):
            arrays.update({f"m{k}_{key}": np.asarray(a) for key, a in m.items()})
        if self.fit_time_model_ is not None:
            arrays.update(self.fit_time_model_.to_arrays("ft_"))
        for k, head in enumerate(getattr(self, "sigma_models_", [])):
            arrays.update(head.to_arrays(f"sig{k}_"))
        arrays["train_metafeatures"] = np.asarray(self.train_metafeatures_, dtype=np.float64)
        return arrays

    def to_json(self) -> dict[str, Any]:
        """Parameters, encoder, fitted scalars and the training summary (see :meth:`to_arrays`)."""
        self._check_fitted()
        enc = getattr(self, "encoder_", None)
        params = self.get_params()
        params["hidden"] = list(params["hidden"])
        return {
            "params": params,
            "metafeature_names": list(enc.metafeature_names) if enc is not None else [],
            "kb": getattr(self, "kb_info_", None),
            "state": {
                "n_features_in": int(self.n_features_in_),
                "n_members": len(self.members_),
                "n_metafeatures": int(self.n_metafeatures_),
                "std_floor": float(self.std_floor_),
                "ood_reference": float(self.ood_reference_),
                "has_fit_time": self.fit_time_model_ is not None,
                "n_sigma_heads": len(getattr(self, "sigma_models_", [])),
                "sigma_scale": float(getattr(self, "sigma_scale_", 1.0)),
                "sigma_floor": float(getattr(self, "sigma_floor_", 0.0)),
            },
            "encoder": enc.to_json() if enc is not None else None,
            "training": getattr(self, "training_", {}),
        }

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Members, fit-time and error heads, training meta-features (keys under ``prefix``)."""
        self._check_fitted()
        return {prefix + k: v for k, v in self._weights().items()}

    @classmethod
    def from_saved(
        cls, doc: Mapping[str, Any], arrays: Mapping[str, np.ndarray], prefix: str = ""
    ) -> Surrogate:
        """Rebuild from :meth:`to_json` and :meth:`to_arrays`.

        Raises
        ------
        ModelVersionError
            If the document names a member kind or parameters this metaopt does not know.
        """
        params = dict(doc["params"])
        params["hidden"] = tuple(params["hidden"])
        unknown = sorted(set(params) - set(cls._param_names()))
        if params.get("model") not in MEMBER_KINDS or unknown:
            raise ModelVersionError(
                f"the surrogate uses member kind {params.get('model')!r} or parameters "
                f"{unknown} that this metaopt (version {__version__}) does not know",
                _RETRAIN,
            )
        model = cls(**params)
        state = doc["state"]
        arrays = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
        model.members_ = [
            {key[len(f"m{k}_"):]: arrays[key] for key in arrays if key.startswith(f"m{k}_")}
            for k in range(state["n_members"])
        ]
        model.fit_time_model_ = (
            TreeArrays.from_arrays(arrays, "ft_") if state["has_fit_time"] else None
        )
        model.train_metafeatures_ = np.asarray(arrays["train_metafeatures"])
        model.sigma_models_ = [
            TreeArrays.from_arrays(arrays, f"sig{k}_") for k in range(int(state["n_sigma_heads"]))
        ]
        model.n_features_in_ = int(state["n_features_in"])
        model.n_metafeatures_ = int(state["n_metafeatures"])
        model.std_floor_ = float(state["std_floor"])
        model.sigma_scale_ = float(state["sigma_scale"])
        model.sigma_floor_ = float(state["sigma_floor"])
        model.ood_reference_ = float(state["ood_reference"])
        model.training_ = doc.get("training") or {}
        model.kb_info_ = doc.get("kb")
        model.encoder_ = ConfigEncoder.from_json(doc["encoder"]) if doc.get("encoder") else None
        return model

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the surrogate into directory ``path`` (:mod:`metaopt.learn._saved`'s format)."""
        return write_saved(
            path, "surrogate", self.to_json(), self.to_arrays(),
            mf_version=getattr(self, "mf_version_", None),
        )

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, metafeature_version: str | None = None
    ) -> Surrogate:
        """Load a surrogate saved by :meth:`save`.

        Parameters
        ----------
        path
            The model directory.
        metafeature_version
            The meta-feature version the caller computes (default
            :data:`metaopt.metafeatures.VERSION`).

        Raises
        ------
        ModelError
            If the directory, manifest or arrays are missing or corrupt.
        ModelVersionError
            If the model was saved in another format version or trained on another
            meta-feature version.
        """
        manifest, arrays = read_saved(path, "surrogate", metafeature_version=metafeature_version)
        model = cls.from_saved(manifest["doc"], arrays)
        model.mf_version_ = str(manifest["mf_version"])
        return model


# --------------------------------------------------------------------------- KB helpers


def kb_fingerprint(kb: KnowledgeBase) -> str:
    """A short hash of the knowledge base's content (evaluation keys, statuses, scores, meta-features)."""
    h = hashlib.sha256()
    ev = kb.evaluations(
        columns=["task_id", "algorithm", "config_id", "protocol_id", "status", "score"]
    )
    if len(ev):
        ev = ev.sort_values(["task_id", "algorithm", "config_id", "protocol_id"]).reset_index(
            drop=True
        )
        h.update(
            ev[["task_id", "algorithm", "config_id", "protocol_id", "status"]]
            .to_csv(index=False)
            .encode()
        )
        h.update(np.round(ev["score"].to_numpy(dtype=np.float64, na_value=np.nan), 9).tobytes())
    mf = kb.metafeatures()
    if len(mf):
        mf = mf.sort_index()
        h.update("|".join(map(str, mf.index)).encode())
        h.update(np.round(mf.to_numpy(dtype=np.float64, na_value=np.nan), 9).tobytes())
    return h.hexdigest()[:16]


def training_table(kb: KnowledgeBase, tasks: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per usable evaluation: what :meth:`Surrogate.from_kb` trains on.

    Rows of ``skipped`` evaluations and of tasks without meta-features are left out.
    Columns: ``task_id``, ``group`` (the task's base-dataset group, else its id),
    ``algorithm``, ``config_id``, ``params``, ``status``, ``target`` (normalized
    score: failures 0) and ``log_fit_time`` (log fit seconds per 1,000 training rows,
    ``ok`` rows only, else NaN; the rows are ``n_rows_used``, else the task's
    ``n_rows`` capped at the protocol's ``max_rows``, else unknown → NaN).
    """
    import pandas as pd

    from metaopt.learn._targets import normalized_scores

    ev = kb.evaluations(task_ids=tasks)
    if ev.empty:
        raise ModelError(
            f"the knowledge base at {kb.path} holds no evaluations",
            "build it with `metaopt kb build`",
        )
    ev = ev.assign(target=normalized_scores(ev))
    mf = kb.metafeatures()
    ev = ev[ev["target"].notna() & ev["task_id"].isin(mf.index)].reset_index(drop=True)
    if ev.empty:
        raise ModelError(
            f"no evaluation of the knowledge base at {kb.path} has meta-features of version "
            f"{kb.manifest.get('mf_version')}",
            "rebuild the knowledge base with `metaopt kb build`",
        )
    task_table = kb.tasks()
    group = (
        dict(zip(task_table["task_id"], task_table["group"], strict=False))
        if len(task_table)
        else {}
    )
    ev["group"] = [
        str(group.get(t)) if isinstance(group.get(t), str) and group.get(t) else str(t)
        for t in ev["task_id"]
    ]
    rows = (
        ev["n_rows_used"].to_numpy(dtype=np.float64, na_value=np.nan)
        if "n_rows_used" in ev
        else np.full(len(ev), np.nan)
    )
    if np.isnan(rows).any() and "n_rows" in task_table:  # older rows: the task's size, capped
        cap = float((kb.manifest.get("protocol") or {}).get("max_rows") or np.inf)
        size = dict(
            zip(
                task_table["task_id"],
                pd.to_numeric(task_table["n_rows"], errors="coerce"),
                strict=False,
            )
        )
        fallback = np.minimum(
            np.array([size.get(t, np.nan) for t in ev["task_id"]], dtype=np.float64), cap
        )
        rows = np.where(np.isnan(rows), fallback, rows)
    ft = (
        ev["fit_time"].to_numpy(dtype=np.float64, na_value=np.nan)
        if "fit_time" in ev
        else np.full(len(ev), np.nan)
    )
    ok = (ev["status"] == "ok").to_numpy() & (ft > 0) & (rows > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ev["log_fit_time"] = np.where(ok, np.log(ft / rows * 1000.0), np.nan)
    return ev[
        ["task_id", "group", "algorithm", "config_id", "params", "status", "target", "log_fit_time"]
    ]


def _encode_table(
    kb: KnowledgeBase, table: pd.DataFrame, encoder: ConfigEncoder | None
) -> tuple[ConfigEncoder, np.ndarray]:
    """The encoder (scaler fitted on the table's tasks) and the table's encoded rows."""
    mf = kb.metafeatures()
    enc = encoder or ConfigEncoder(metafeature_names=list(mf.columns))
    enc.fit(mf.reindex(sorted(table["task_id"].unique())))
    X = enc.transform(
        mf.reindex(table["task_id"]), table["algorithm"].tolist(), table["params"].tolist()
    )
    return enc, X


def _select_params(
    X: np.ndarray,
    table: pd.DataFrame,
    enc: ConfigEncoder,
    params: Mapping[str, Any],
    candidates: Mapping[str, Mapping[str, Any]],
    n_splits: int,
) -> tuple[dict[str, Any], pd.DataFrame, Any]:
    """Choose among ``candidates`` (each over ``params``) by :func:`leave_dataset_out`.

    Best: highest mean per-task Spearman, then lowest top-1 regret. Returns its merged
    parameters, the comparison table and its name.
    """
    merged = {name: {**params, **cand} for name, cand in candidates.items()}
    selection = leave_dataset_out(
        X,
        table["target"].to_numpy(),
        table["group"].to_numpy(),
        table["task_id"].to_numpy(),
        merged,
        n_splits=n_splits,
        n_metafeatures=enc.n_metafeatures,
    )
    best = selection.sort_values(["spearman", "regret"], ascending=[False, True]).index[0]
    return merged[best], selection, best


def _selection_summary(selection: pd.DataFrame, best: Any, n_splits: int) -> dict[str, Any]:
    """``training_["selection"]``: the chosen candidate, the folds and the comparison table."""
    return {
        "chosen": str(best),
        "n_splits": int(n_splits),
        "table": {
            str(k): {c: float(v) for c, v in row.items()} for k, row in selection.iterrows()
        },
    }


def _kb_info(kb: KnowledgeBase, table: pd.DataFrame) -> dict[str, Any]:
    """``kb_info_``: the knowledge base's path, schema, protocol, fingerprint and size."""
    return {
        "path": str(kb.path),
        "schema_version": kb.manifest.get("schema_version"),
        "protocol_id": kb.manifest.get("protocol_id"),
        "fingerprint": kb_fingerprint(kb),
        "n_tasks": int(table["task_id"].nunique()),
        "n_evaluations": int(len(table)),
    }


# --------------------------------------------------------------------------- validation


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def leave_dataset_out(
    X: np.ndarray,
    y: np.ndarray,
    groups: Sequence[Any] | np.ndarray,
    tasks: Sequence[Any] | np.ndarray,
    candidates: Mapping[str, Mapping[str, Any]],
    *,
    n_splits: int = 5,
    n_metafeatures: int | None = None,
) -> pd.DataFrame:
    """Grouped leave-dataset-out comparison of surrogate settings.

    Folds are :class:`sklearn.model_selection.GroupKFold` over ``groups`` (variants of
    one base dataset never sit on both sides). For each held-out task: Spearman
    correlation of predicted and true normalized scores over its configs, top-1
    regret (1 − true normalized score of the config predicted best), and the z-scores
    of the errors for calibration.

    Parameters
    ----------
    candidates
        Name → :class:`Surrogate` constructor parameters; the name ``"blind"`` is
        reserved for nothing, pass any names you like.

    Returns
    -------
    pandas.DataFrame
        One row per candidate: ``spearman`` (mean over tasks), ``regret`` (mean top-1
        regret), ``rmse``, ``coverage_1sd`` / ``coverage_2sd`` / ``coverage_3sd`` (share
        of |error| ≤ σ, 2σ, 3σ), ``nll`` (mean Gaussian negative log-likelihood of the
        held-out scores, constant dropped: lower is better), ``median_sigma``,
        ``n_tasks``.
    """
    import pandas as pd
    from sklearn.model_selection import GroupKFold

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    groups = np.asarray(groups)
    tasks = np.asarray(tasks)
    n_splits = min(n_splits, len(np.unique(groups)))
    rows = []
    for name, params in candidates.items():
        mean = np.full(len(y), np.nan)
        std = np.full(len(y), np.nan)
        for train, test in GroupKFold(n_splits=n_splits).split(X, y, groups):
            model = Surrogate(**params).fit(
                X[train], y[train], groups[train], n_metafeatures=n_metafeatures
            )
            mean[test], std[test] = model.predict(X[test])
        sp, rg = [], []
        for t in np.unique(tasks):
            m = tasks == t
            sp.append(_spearman(mean[m], y[m]))
            rg.append(1.0 - y[m][int(np.argmax(mean[m]))])
        err = mean - y
        sd = np.maximum(std, 1e-6)  # a zero σ (no floor, members agree) would make it infinite
        rows.append(
            {
                "candidate": name,
                "spearman": float(np.nanmean(sp)) if np.isfinite(sp).any() else float("nan"),
                "regret": float(np.mean(rg)),
                "rmse": float(np.sqrt(np.mean(err**2))),
                "coverage_1sd": float(np.mean(np.abs(err) <= std)),
                "coverage_2sd": float(np.mean(np.abs(err) <= 2 * std)),
                "coverage_3sd": float(np.mean(np.abs(err) <= 3 * std)),
                "nll": float(np.mean(0.5 * (err / sd) ** 2 + np.log(sd))),
                "median_sigma": float(np.median(std)),
                "n_tasks": len(np.unique(tasks)),
            }
        )
    return pd.DataFrame(rows).set_index("candidate")
