"""Train a population of MLP configurations at once on one device."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metaopt._exceptions import ConfigError
from metaopt.models._core import Bucket, MemberSpec, resolve_device, split_monitor
from metaopt.models._mlp import MLPClassifier, resolve_seed, validate_hyperparameters

__all__ = ["PopulationResult", "resolve_config", "train_population"]

_CLASSIFICATION_KINDS = ("binary", "multiclass", "classification")
_KINDS = (*_CLASSIFICATION_KINDS, "regression")


@dataclass
class PopulationResult:
    """The outcome of one member of a population.

    Attributes
    ----------
    config
        The complete hyperparameters the member was trained with (estimator kwargs,
        ``random_state`` set to the member's seed).
    val_output
        Class probabilities ``(n_val, n_classes)`` (columns in ``classes``) or
        predictions ``(n_val,)`` / ``(n_val, k)`` in the target's units.
    val_score
        Accuracy (classification) or R² (regression) on the validation rows.
    val_loss
        Log loss (classification) or mean squared error (regression).
    classes
        The class labels (empty for regression).
    n_epochs, best_epoch
        Epochs trained and the epoch whose weights were kept.
    seconds
        This member's share of its training pass (the pass's wall time divided by its
        members).
    bucket
        Index of the pass that trained it; ``members_in_pass`` members shared it.
    """

    config: dict[str, Any]
    val_output: np.ndarray
    val_score: float
    val_loss: float
    classes: np.ndarray
    n_epochs: int
    best_epoch: int
    seconds: float
    bucket: int
    members_in_pass: int


def resolve_config(config: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Complete ``config`` with the estimator's defaults and validate it.

    ``random_state`` defaults to ``seed``; ``device`` is dropped (the population's
    device applies). Unknown names raise :class:`~metaopt.ConfigError`.
    """
    defaults = MLPClassifier().get_params()
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        raise ConfigError(
            f"unknown MLP hyperparameter(s) {unknown}",
            f"use the arguments of metaopt.models.MLPClassifier: {sorted(defaults)}",
        )
    full = {**defaults, **dict(config)}
    full["device"] = "auto"
    validate_hyperparameters(full)
    if full.get("random_state") is None:
        full["random_state"] = int(seed)
    full["random_state"] = resolve_seed(full["random_state"])
    return full


def _member_bytes(spec: MemberSpec, d: int, n_out: int) -> int:
    """Rough device bytes one member needs while training (weights, optimizer state,
    best copy, activations kept for the backward pass, gathered inputs)."""
    widths = spec.widths
    dims = [d, *widths, n_out]
    n_params = sum(dims[i] * dims[i + 1] + dims[i + 1] for i in range(len(dims) - 1))
    batch = int(spec.params["batch_size"])
    activations = batch * (sum(widths) * 10 + d + n_out * 4)
    monitor = (
        0 if spec.monitor_idx is None else min(len(spec.monitor_idx), 4096) * (d + max(widths))
    )
    return 4 * (6 * n_params + activations + monitor)


def train_population(
    X_train: Any,
    y_train: Any,
    X_val: Any,
    y_val: Any,
    configs: Sequence[Mapping[str, Any]],
    kind: str,
    device: str = "auto",
    seed: int = 0,
    *,
    memory_budget: int | None = None,
    max_members: int = 1024,
    compact: bool = True,
) -> list[PopulationResult]:
    """Train every configuration in ``configs`` and score it on the validation rows.

    Member ``i`` trains the same model as ``MLPClassifier(**configs[i],
    random_state=seed).fit(X_train, y_train)`` (or ``MLPRegressor``): same hold-out
    split for early stopping, initial weights, minibatch order and dropout masks;
    only floating-point rounding of batched matrix products differs. Configurations
    are grouped by depth, normalisation, residual, activation, optimizer, batch size
    and training-set size; each group is trained in passes of as many members as fit
    ``memory_budget``, with widths padded and masked, and per-member learning rates,
    schedules, weight decays, momenta, dropout rates, epoch budgets and early stopping.

    Parameters
    ----------
    X_train, y_train
        Numeric training features and targets.
    X_val, y_val
        Rows to score every member on (not used for training or early stopping).
    configs
        Hyperparameter dictionaries with :class:`MLPClassifier`'s argument names;
        missing names take the estimator's defaults.
    kind
        ``"binary"``, ``"multiclass"`` (or ``"classification"``) or ``"regression"``.
    device
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:N]"``.
    seed
        ``random_state`` of every member whose config does not set one.
    memory_budget
        Bytes of device memory one pass may use; default half the free GPU memory, or
        4 GiB on the CPU.
    max_members
        Upper bound on the members of one pass.
    compact
        Drop finished members from a pass once half of them have stopped.

    Returns
    -------
    list of PopulationResult
        One per configuration, in the order of ``configs``.
    """
    import torch

    if kind not in _KINDS:
        raise ConfigError(f"kind={kind!r} is not one of {list(_KINDS)}", "pass the task's kind")
    classification = kind in _CLASSIFICATION_KINDS
    dev = resolve_device(device)
    Xtr, Xv = _feature_matrices(X_train, X_val)
    y_v = np.asarray(y_val)
    enc = _encode_targets(np.asarray(y_train), classification)
    full = [resolve_config(c, seed) for c in configs]
    specs = _member_specs(full, len(Xtr), enc.strat)
    if memory_budget is None:
        memory_budget = _default_memory_budget(dev)
    Xt = torch.as_tensor(Xtr, device=dev)
    Yt = torch.as_tensor(enc.targets, device=dev)
    Xvt = torch.as_tensor(Xv, device=dev)
    passes = _plan_passes(specs, Xtr.shape[1], enc.n_out, memory_budget, max_members)

    results: list[PopulationResult | None] = [None] * len(specs)
    for pass_id, members in enumerate(passes):
        pending, share = _train_pass(specs, members, Xt, Yt, Xvt, enc.n_out, classification, dev, compact)
        for i, outcome, raw in pending:
            results[i] = _score(
                full[i], raw, outcome, classification, enc.classes, y_v, enc.y_mean, enc.y_scale,
                share, pass_id, len(members),
            )  # fmt: skip
    return [r for r in results if r is not None]


@dataclass
class _Targets:
    """Training targets as the engine takes them, and what maps its outputs back.

    ``targets`` holds int64 class codes (classification) or float32 standardised targets
    ``(n, k)`` (regression); ``strat`` the class codes that stratify the early-stopping
    split (None for regression); ``y_mean`` and ``y_scale`` undo the standardisation.
    """

    targets: np.ndarray
    strat: np.ndarray | None
    n_out: int
    classes: np.ndarray
    y_mean: np.ndarray | None
    y_scale: np.ndarray | None


def _feature_matrices(X_train: Any, X_val: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both feature matrices as contiguous float32 arrays; 2-D with the same columns."""
    Xtr = np.ascontiguousarray(np.asarray(X_train, dtype=np.float32))
    Xv = np.ascontiguousarray(np.asarray(X_val, dtype=np.float32))
    if Xtr.ndim != 2 or Xv.ndim != 2 or Xtr.shape[1] != Xv.shape[1]:
        raise ConfigError(
            f"X_train {Xtr.shape} and X_val {Xv.shape} must be 2-D with the same columns",
            "pass numeric feature matrices after preprocessing",
        )
    return Xtr, Xv


def _encode_targets(y_tr: np.ndarray, classification: bool) -> _Targets:
    """Class codes, or the target standardised per column."""
    if classification:
        classes, codes = np.unique(y_tr, return_inverse=True)
        return _Targets(
            targets=codes.astype(np.int64), strat=codes, n_out=len(classes), classes=classes,
            y_mean=None, y_scale=None,
        )
    Y = y_tr.astype(np.float64).reshape(len(y_tr), -1)
    y_mean = Y.mean(axis=0)
    y_scale = Y.std(axis=0)
    y_scale = np.where(y_scale > 0, y_scale, 1.0)
    return _Targets(
        targets=((Y - y_mean) / y_scale).astype(np.float32), strat=None, n_out=Y.shape[1],
        classes=np.array([]), y_mean=y_mean, y_scale=y_scale,
    )


def _member_specs(full: list[dict[str, Any]], n_rows: int, strat: np.ndarray | None) -> list[MemberSpec]:
    """One member per config, with its training rows and early-stopping monitor rows."""
    specs = []
    for params in full:
        if params["early_stopping"]:
            tr, mon = split_monitor(
                n_rows, strat, params["validation_fraction"], params["random_state"]
            )
        else:
            tr, mon = np.arange(n_rows), None
        specs.append(MemberSpec(params, params["random_state"], tr, mon))
    return specs


def _default_memory_budget(dev: str) -> int:
    """Half the free GPU memory on a CUDA device, else 4 GiB."""
    import torch

    if dev.startswith("cuda"):
        free, _ = torch.cuda.mem_get_info(torch.device(dev))
        return int(free // 2)
    return 4 * 2**30


def _plan_passes(
    specs: list[MemberSpec], d: int, n_out: int, memory_budget: int, max_members: int
) -> list[list[int]]:
    """Group the members by structure, then cut each group into passes that fit
    ``memory_budget`` and ``max_members``; each pass is a list of member indices."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, s in enumerate(specs):
        groups.setdefault(s.structure_key(), []).append(i)
    passes: list[list[int]] = []
    for members in groups.values():
        current: list[int] = []
        used = 0
        for i in members:
            need = _member_bytes(specs[i], d, n_out)
            if current and (used + need > memory_budget or len(current) >= max_members):
                passes.append(current)
                current, used = [], 0
            current.append(i)
            used += need
        passes.append(current)
    return passes


def _train_pass(
    specs: list[MemberSpec],
    members: list[int],
    Xt: Any,
    Yt: Any,
    Xvt: Any,
    n_out: int,
    classification: bool,
    dev: str,
    compact: bool,
) -> tuple[list[tuple[int, Any, np.ndarray]], float]:
    """Train one pass; return ``(member index, outcome, raw validation output)`` of each
    member, and each member's share of the pass's wall time."""
    import torch

    if dev.startswith("cuda"):
        torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    bucket = Bucket([specs[i] for i in members], Xt, Yt, n_out, classification)
    pending: list[tuple[int, Any, np.ndarray]] = []

    def on_finish(b: Bucket, finished: Any) -> None:
        idx = finished.nonzero().view(-1)
        if len(idx) == 0:
            return
        out = b.predict(Xvt, members=idx).double().cpu().numpy()
        for j, local in enumerate(idx.tolist()):
            outcome = b.outcome(local)
            pending.append((members[outcome.index], outcome, out[j]))

    bucket.train(on_finish, compact=compact)
    if dev.startswith("cuda"):
        torch.cuda.synchronize(dev)
    return pending, (time.perf_counter() - t0) / len(members)


def _score(
    config: dict[str, Any],
    raw: np.ndarray,
    outcome: Any,
    classification: bool,
    classes: np.ndarray,
    y_val: np.ndarray,
    y_mean: np.ndarray | None,
    y_scale: np.ndarray | None,
    seconds: float,
    pass_id: int,
    n_members: int,
) -> PopulationResult:
    if classification:
        logits = raw - raw.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        pred = classes[np.argmax(proba, axis=1)]
        score = float(np.mean(pred == y_val))
        pos = np.searchsorted(classes, y_val)
        pos = np.clip(pos, 0, len(classes) - 1)
        known = classes[pos] == y_val
        p_true = np.where(known, proba[np.arange(len(y_val)), pos], 0.0)
        loss = float(-np.mean(np.log(np.clip(p_true, 1e-15, None))))
        output = proba
    else:
        assert y_mean is not None and y_scale is not None
        pred2 = raw * y_scale + y_mean
        yv = np.asarray(y_val, dtype=np.float64).reshape(len(y_val), -1)
        loss = float(np.mean((pred2 - yv) ** 2))
        denom = np.sum((yv - yv.mean(axis=0)) ** 2, axis=0)
        num = np.sum((pred2 - yv) ** 2, axis=0)
        r2 = np.where(denom > 0, 1 - num / np.where(denom > 0, denom, 1), 0.0)
        score = float(np.mean(r2))
        output = pred2[:, 0] if np.asarray(y_val).ndim == 1 else pred2
    return PopulationResult(
        config=config,
        val_output=output,
        val_score=score,
        val_loss=loss,
        classes=classes,
        n_epochs=outcome.n_epochs,
        best_epoch=outcome.best_epoch,
        seconds=seconds,
        bucket=pass_id,
        members_in_pass=n_members,
    )
