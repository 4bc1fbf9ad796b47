"""The training engine behind :class:`MLPClassifier`, :class:`MLPRegressor` and
:func:`train_population`.

One engine trains a *bucket* of ``M`` MLPs at once: members that share the structural
hyperparameters (depth, normalisation, residual, activation, optimizer, batch size and
training-set size) are stacked along a leading member axis, weights as ``(M, in, out)``
tensors, and every layer is one batched matrix product (``torch.baddbmm``). Widths may
differ between members: each layer is padded to the widest member and padded units are
masked to zero, so they neither receive gradient nor influence real units. Learning
rates, schedules, weight decays, momenta, dropout rates, epoch budgets and patience are
per-member tensors; Adam, AdamW and SGD with momentum are implemented directly on the
stacked tensors. A member that stops early is frozen (learning rate zero), and the
bucket is compacted once half of its members have finished.

An estimator's ``fit`` is the same engine with ``M = 1``. All randomness (weight
initialisation, shuffling, dropout masks) comes from a counter-based hash of
``(random_state, purpose, step, layer, element)``, so member ``i`` of a population sees
exactly the initial weights, minibatches and dropout masks that a single estimator with
the same configuration and ``random_state`` sees, on any device; the only differences
are floating-point rounding of batched versus single matrix products.

torch is imported by the functions that need it, never at module import.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["Bucket", "MemberSpec", "layer_widths", "resolve_device", "split_monitor"]

_MASK32 = 0xFFFFFFFF
_HASH_MULT = 0x45D9F3B
_STREAM_INIT, _STREAM_SHUFFLE, _STREAM_DROPOUT = 1, 2, 3
_ROW_STRIDE = 1 << 16  # element (r, c) of a matrix has counter r * 2**16 + c
_ADAM_BETAS = (0.9, 0.999)
_ADAM_EPS = 1e-8
_NORM_EPS = 1e-5
_BN_MOMENTUM = 0.1
_MIN_WIDTH = 4


# --------------------------------------------------------------------------- helpers


def resolve_device(device: str | None) -> str:
    """Map ``"auto"`` to ``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    import torch

    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def layer_widths(hidden_layers: int, width: int, shape: str, taper_ratio: float) -> list[int]:
    """Widths of the hidden layers: ``width`` everywhere, or ``width * taper_ratio**l``."""
    if shape == "shared":
        return [int(width)] * int(hidden_layers)
    return [max(_MIN_WIDTH, int(round(width * taper_ratio**i))) for i in range(int(hidden_layers))]


def split_monitor(
    n: int, y_strat: np.ndarray | None, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Hold out ``fraction`` of the rows for early stopping.

    Returns ``(train_idx, monitor_idx)``; ``monitor_idx`` is None when the data are too
    small for a hold-out (fewer than 2 rows on either side), in which case early
    stopping is off and every row trains. The split is stratified by ``y_strat`` when
    every class can be represented.
    """
    from sklearn.model_selection import train_test_split

    n_mon = int(math.ceil(fraction * n))
    if n_mon < 2 or n - n_mon < 2:
        return np.arange(n), None
    idx = np.arange(n)
    rs = int(seed) % (2**32)
    try:
        tr, mon = train_test_split(idx, test_size=n_mon, random_state=rs, stratify=y_strat)
    except ValueError:
        tr, mon = train_test_split(idx, test_size=n_mon, random_state=rs)
    return np.sort(tr), np.sort(mon)


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer hash (values in ``[0, 2**32)`` held in int64, no overflow)."""
    x = x ^ (x >> 16)
    x = (x * _HASH_MULT) & _MASK32
    x = x ^ (x >> 16)
    x = (x * _HASH_MULT) & _MASK32
    return x ^ (x >> 16)


def _member_keys(seeds: torch.Tensor, *counters: int) -> torch.Tensor:
    """Per-member stream keys from the members' seeds and a tuple of counters."""
    k = _mix32((seeds & _MASK32) ^ ((seeds >> 32) & _MASK32))
    for c in counters:
        k = _mix32(k ^ (int(c) & _MASK32))
    return k


def _uniform(keys: torch.Tensor, mixed_index: torch.Tensor) -> torch.Tensor:
    """Uniform(0, 1) float32 of shape ``(M, *mixed_index.shape)``."""
    view = (keys.shape[0],) + (1,) * mixed_index.dim()
    x = _mix32(keys.view(view) ^ mixed_index.unsqueeze(0))
    import torch

    return ((x >> 8).to(torch.float32) + 0.5) * (1.0 / (1 << 24))


def _matrix_index(rows: int, cols: int, device: Any) -> torch.Tensor:
    import torch

    r = torch.arange(rows, device=device, dtype=torch.int64).view(-1, 1)
    c = torch.arange(cols, device=device, dtype=torch.int64).view(1, -1)
    return _mix32((r * _ROW_STRIDE + c) & _MASK32)


def _schedule_factors(schedule: str, total: int) -> np.ndarray:
    t = np.arange(total, dtype=np.float64)
    if schedule == "constant":
        return np.ones(total)
    if schedule == "cosine":
        return 0.5 * (1.0 + np.cos(np.pi * t / max(total, 1)))
    if schedule == "onecycle":
        warm = max(1, int(0.3 * total))
        up = 0.04 + 0.96 * t / warm
        down = 0.5 * (1.0 + np.cos(np.pi * (t - warm) / max(total - warm, 1)))
        return np.where(t < warm, up, down)
    raise ValueError(f"unknown schedule {schedule!r}")


# --------------------------------------------------------------------------- members


@dataclass
class MemberSpec:
    """One member of a bucket: its resolved hyperparameters and data split."""

    params: dict[str, Any]
    seed: int
    train_idx: np.ndarray
    monitor_idx: np.ndarray | None

    @property
    def widths(self) -> list[int]:
        p = self.params
        return layer_widths(p["hidden_layers"], p["width"], p["shape"], p["taper_ratio"])

    def structure_key(self) -> tuple[Any, ...]:
        """Hyperparameters that must be equal for members trained together."""
        p = self.params
        n_mon = 0 if self.monitor_idx is None else len(self.monitor_idx)
        return (
            int(p["hidden_layers"]),
            p["norm"],
            bool(p["residual"]),
            p["activation"],
            p["optimizer"],
            int(min(p["batch_size"], len(self.train_idx))),
            len(self.train_idx),
            n_mon,
        )


@dataclass
class MemberOutcome:
    """What the engine reports for a finished member."""

    index: int
    n_epochs: int
    best_epoch: int
    best_monitor_loss: float
    loss_curve: list[float] = field(default_factory=list)
    monitor_curve: list[float] = field(default_factory=list)


# --------------------------------------------------------------------------- forward


def _activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    import torch
    import torch.nn.functional as F

    return {"relu": torch.relu, "gelu": F.gelu, "silu": F.silu, "tanh": torch.tanh}[name]


def forward(
    P: dict[str, torch.Tensor],
    S: dict[str, torch.Tensor],
    x: torch.Tensor,
    *,
    n_layers: int,
    norm: str,
    residual: bool,
    activation: str,
    train: bool = False,
    dropout_keys: list[torch.Tensor] | None = None,
    index_cache: dict[tuple[int, int], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Forward pass of ``M`` stacked MLPs.

    ``P`` holds parameters (``W{l}``, ``b{l}``, ``g{l}``, ``be{l}``), ``S`` the state
    that is not trained: unit masks ``mask{l}`` ``(M, 1, W)``, real widths ``n{l}``
    ``(M, 1, 1)``, residual flags ``res{l}``, dropout rates ``p_drop`` and batch-norm
    running statistics ``rm{l}``/``rv{l}``. ``x`` is ``(M, B, d)`` or a shared
    ``(B, d)``. In training mode batch-norm running statistics are updated in place
    (scaled by ``S["bn_mom"]``, zero for frozen members).
    """
    import torch

    act = _activation(activation)
    h = x
    for layer in range(n_layers):
        W, b = P[f"W{layer}"], P[f"b{layer}"]
        z = torch.baddbmm(b, h, W) if h.dim() == 3 else torch.matmul(h, W) + b
        mask = S[f"mask{layer}"]
        if norm == "batch":
            if train:
                mean = z.mean(1, keepdim=True)
                var = z.var(1, unbiased=False, keepdim=True)
                with torch.no_grad():
                    bsz = z.shape[1]
                    unb = var * (bsz / (bsz - 1)) if bsz > 1 else var
                    mom = S["bn_mom"]
                    S[f"rm{layer}"].mul_(1 - mom).add_(mom * mean.detach())
                    S[f"rv{layer}"].mul_(1 - mom).add_(mom * unb.detach())
            else:
                mean, var = S[f"rm{layer}"], S[f"rv{layer}"]
            z = (z - mean) * torch.rsqrt(var + _NORM_EPS) * P[f"g{layer}"] + P[f"be{layer}"]
        elif norm == "layer":
            n = S[f"n{layer}"]
            mean = (z * mask).sum(-1, keepdim=True) / n
            cen = (z - mean) * mask
            var = (cen * cen).sum(-1, keepdim=True) / n
            z = cen * torch.rsqrt(var + _NORM_EPS) * P[f"g{layer}"] + P[f"be{layer}"]
        a = act(z) * mask
        if train and dropout_keys is not None:
            p = S["p_drop"]
            shape = (a.shape[1], a.shape[2])
            if index_cache is None:
                index_cache = {}
            if shape not in index_cache:
                index_cache[shape] = _matrix_index(shape[0], shape[1], a.device)
            u = _uniform(dropout_keys[layer], index_cache[shape])
            a = a * ((u >= p).to(a.dtype) / (1.0 - p))
        if residual and layer > 0:
            prev = h
            w_now, w_prev = a.shape[-1], prev.shape[-1]
            if w_prev > w_now:
                prev = prev[..., :w_now]
            elif w_prev < w_now:
                prev = torch.nn.functional.pad(prev, (0, w_now - w_prev))
            a = a + S[f"res{layer}"] * prev
        h = a
    W, b = P[f"W{n_layers}"], P[f"b{n_layers}"]
    return torch.baddbmm(b, h, W) if h.dim() == 3 else torch.matmul(h, W) + b


# --------------------------------------------------------------------------- bucket


class Bucket:
    """``M`` members with the same structure, trained together on one device.

    Parameters
    ----------
    members
        The members; all share :meth:`MemberSpec.structure_key`.
    X, Y
        Training data on the device: ``X`` float32 ``(n, d)``; ``Y`` int64 class
        codes ``(n,)`` (classification) or float32 standardised targets ``(n, k)``.
    n_out
        Number of outputs (classes, or regression targets).
    classification
        Loss: cross-entropy or mean squared error.
    """

    def __init__(
        self,
        members: Sequence[MemberSpec],
        X: torch.Tensor,
        Y: torch.Tensor,
        n_out: int,
        classification: bool,
    ) -> None:
        import torch

        self.members = list(members)
        self.X, self.Y = X, Y
        self.device = X.device
        self.classification = classification
        self.n_out = n_out
        first = self.members[0]
        p0 = first.params
        self.n_layers = int(p0["hidden_layers"])
        self.norm, self.residual = p0["norm"], bool(p0["residual"])
        self.activation, self.optimizer = p0["activation"], p0["optimizer"]
        self.n_train = len(first.train_idx)
        self.batch_size = int(min(p0["batch_size"], self.n_train))
        self.steps_per_epoch = int(math.ceil(self.n_train / self.batch_size))
        self.monitored = first.monitor_idx is not None
        M = len(self.members)
        dev = self.device
        widths = [m.widths for m in self.members]
        self.pad = [max(w[i] for w in widths) for i in range(self.n_layers)]
        hp = [m.params for m in self.members]
        self.orig = torch.arange(M, device=dev)
        self.seeds = torch.tensor([m.seed for m in self.members], dtype=torch.int64, device=dev)
        self._init_rows()
        self._init_hyperparameters(hp)
        self.S = self._init_state(widths, hp)
        self.use_dropout = any(h["dropout"] > 0 for h in hp)
        self.P = self._init_params(int(X.shape[1]), widths, n_out)
        self.O = self._init_optimizer_state()
        self.best: dict[str, torch.Tensor] | None = None
        if self.monitored:
            self.best = {k: t.detach().clone() for k, t in {**self.P, **self._bn_state()}.items()}
        self._init_progress()

    # ------------------------------------------------------------------ construction

    def _column(self, values: Sequence[float]) -> torch.Tensor:
        """One float32 value per member, shaped ``(M, 1, 1)`` to broadcast over a layer."""
        import torch

        return torch.tensor(list(values), dtype=torch.float32, device=self.device).view(len(self.members), 1, 1)

    def _init_rows(self) -> None:
        """Per-member training rows and monitor rows, on the device."""
        import torch

        dev = self.device
        self.train_idx = torch.as_tensor(
            np.stack([m.train_idx for m in self.members]), dtype=torch.int64, device=dev
        )
        self.mon_idx = (
            torch.as_tensor(
                np.stack([m.monitor_idx for m in self.members]),  # type: ignore[misc]
                dtype=torch.int64,
                device=dev,
            )
            if self.monitored
            else None
        )

    def _init_hyperparameters(self, hp: list[dict[str, Any]]) -> None:
        """Per-member hyperparameter vectors and the (step, member) learning-rate table."""
        import torch

        dev = self.device
        self.H: dict[str, torch.Tensor] = {
            "wd": self._column([h["weight_decay"] for h in hp]),
            "mom": self._column([h["momentum"] for h in hp]),
            "max_epochs": torch.tensor([int(h["max_epochs"]) for h in hp], device=dev),
            "patience": torch.tensor([int(h["patience"]) for h in hp], device=dev),
            "tol": torch.tensor([float(h["tol"]) for h in hp], device=dev),
        }
        totals = [int(h["max_epochs"]) * self.steps_per_epoch for h in hp]
        table = np.zeros((max(totals), len(hp)), dtype=np.float32)
        for i, h in enumerate(hp):
            table[: totals[i], i] = h["learning_rate"] * _schedule_factors(h["schedule"], totals[i])
        self.lr_table = torch.as_tensor(table, device=dev)

    def _init_state(self, widths: list[list[int]], hp: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """State: masks, widths, residual flags, dropout rates, batch-norm statistics."""
        import torch

        M, dev, f32 = len(self.members), self.device, torch.float32
        S: dict[str, torch.Tensor] = {}
        for layer in range(self.n_layers):
            real = torch.tensor([w[layer] for w in widths], device=dev)
            S[f"mask{layer}"] = (
                torch.arange(self.pad[layer], device=dev).view(1, 1, -1) < real.view(M, 1, 1)
            ).to(f32)
            S[f"n{layer}"] = real.to(f32).view(M, 1, 1)
            if layer > 0:
                S[f"res{layer}"] = self._column([float(w[layer] == w[layer - 1]) for w in widths])
            if self.norm == "batch":
                S[f"rm{layer}"] = torch.zeros(M, 1, self.pad[layer], device=dev)
                S[f"rv{layer}"] = torch.ones(M, 1, self.pad[layer], device=dev)
        S["p_drop"] = self._column([h["dropout"] for h in hp])
        S["bn_mom"] = torch.full((M, 1, 1), _BN_MOMENTUM, device=dev)
        return S

    def _init_params(self, d: int, widths: list[list[int]], n_out: int) -> dict[str, torch.Tensor]:
        """Parameters: Glorot-uniform weights from the hash stream, zero biases (padded
        units masked to zero); norm gains and shifts when the members normalise."""
        import torch

        M, dev, f32 = len(self.members), self.device, torch.float32
        P: dict[str, torch.Tensor] = {}
        fan_in_real = [[d] * M] + [[w[i] for w in widths] for i in range(self.n_layers)]
        fan_out_real = [[w[i] for w in widths] for i in range(self.n_layers)] + [[n_out] * M]
        dims_in = [d, *self.pad]
        dims_out = [*self.pad, n_out]
        for layer in range(self.n_layers + 1):
            fi = torch.tensor(fan_in_real[layer], device=dev, dtype=f32).view(M, 1, 1)
            fo = torch.tensor(fan_out_real[layer], device=dev, dtype=f32).view(M, 1, 1)
            bound = torch.sqrt(6.0 / (fi + fo))
            keys = _member_keys(self.seeds, _STREAM_INIT, layer)
            u = _uniform(keys, _matrix_index(dims_in[layer], dims_out[layer], dev))
            W = (2.0 * u - 1.0) * bound
            in_mask = (
                torch.arange(dims_in[layer], device=dev).view(1, -1, 1) < fi.view(M, 1, 1)
            ).to(f32)
            out_mask = (
                torch.arange(dims_out[layer], device=dev).view(1, 1, -1) < fo.view(M, 1, 1)
            ).to(f32)
            P[f"W{layer}"] = W * in_mask * out_mask
            P[f"b{layer}"] = torch.zeros(M, 1, dims_out[layer], device=dev)
            if layer < self.n_layers and self.norm != "none":
                P[f"g{layer}"] = self.S[f"mask{layer}"].clone()
                P[f"be{layer}"] = torch.zeros(M, 1, dims_out[layer], device=dev)
        for t in P.values():
            t.requires_grad_(True)
        return P

    def _init_optimizer_state(self) -> dict[str, torch.Tensor]:
        """Optimizer state, keys ``"<kind>.<param>"``: SGD momentum buffers, or Adam moments."""
        import torch

        state: dict[str, torch.Tensor] = {}
        for k, t in self.P.items():
            if self.optimizer == "sgd":
                state[f"buf.{k}"] = torch.zeros_like(t, requires_grad=False)
            else:
                state[f"m.{k}"] = torch.zeros_like(t, requires_grad=False)
                state[f"v.{k}"] = torch.zeros_like(t, requires_grad=False)
        return state

    def _init_progress(self) -> None:
        """Training progress: active members, epochs, early-stopping bookkeeping, curves."""
        import torch

        M, dev = len(self.members), self.device
        self.active = torch.ones(M, dtype=torch.bool, device=dev)
        self.epochs_done = torch.zeros(M, dtype=torch.int64, device=dev)
        self.best_loss = torch.full((M,), float("inf"), device=dev)
        self.best_epoch = torch.zeros(M, dtype=torch.int64, device=dev)
        self.bad_epochs = torch.zeros(M, dtype=torch.int64, device=dev)
        self.loss_sum = torch.zeros(M, device=dev)
        self.loss_curve: list[torch.Tensor] = []
        self.mon_curve: list[torch.Tensor] = []
        self.index_cache: dict[tuple[int, int], torch.Tensor] = {}
        self.step = 0

    # ------------------------------------------------------------------ pieces

    def _bn_state(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.S.items() if k.startswith(("rm", "rv"))}

    def _fwd(self, P: dict[str, torch.Tensor], x: torch.Tensor, **kw: Any) -> torch.Tensor:
        return forward(
            P,
            self.S,
            x,
            n_layers=self.n_layers,
            norm=self.norm,
            residual=self.residual,
            activation=self.activation,
            **kw,
        )

    def _losses(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-member mean loss, shape ``(M,)``."""
        import torch.nn.functional as F

        if self.classification:
            M, B, C = out.shape
            ce = F.cross_entropy(out.reshape(M * B, C), y.reshape(M * B), reduction="none")
            return ce.view(M, B).mean(1)
        return ((out - y) ** 2).mean(dim=(1, 2))

    def _update(self, grads: Sequence[torch.Tensor], lr: torch.Tensor) -> None:
        import torch

        lr = lr.view(-1, 1, 1)
        wd, mom = self.H["wd"], self.H["mom"]
        b1, b2 = _ADAM_BETAS
        t = self.step + 1
        c1, c2 = 1 - b1**t, 1 - b2**t
        with torch.no_grad():
            for (k, p), g in zip(self.P.items(), grads, strict=True):
                decays = k.startswith("W")
                if self.optimizer == "sgd":
                    if decays:
                        g = g + wd * p
                    buf = self.O[f"buf.{k}"]
                    buf.mul_(mom).add_(g)
                    p.sub_(lr * buf)
                    continue
                if decays and self.optimizer == "adam":
                    g = g + wd * p
                if decays and self.optimizer == "adamw":
                    p.mul_(1 - lr * wd)
                m, v = self.O[f"m.{k}"], self.O[f"v.{k}"]
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (v / c2).sqrt_().add_(_ADAM_EPS)
                p.sub_(lr * (m / c1) / denom)

    def _monitor_losses(self, P: dict[str, torch.Tensor]) -> torch.Tensor:
        import torch

        assert self.mon_idx is not None
        M, n = self.mon_idx.shape
        total = torch.zeros(M, device=self.device)
        chunk = max(1, 2**22 // max(1, M * max(self.pad + [self.X.shape[1]])))
        with torch.no_grad():
            for s in range(0, n, chunk):
                idx = self.mon_idx[:, s : s + chunk]
                out = self._fwd(P, self.X[idx])
                total += self._losses(out, self.Y[idx]) * idx.shape[1]
        return total / n

    # ------------------------------------------------------------------ training

    def run_epoch(self, epoch: int) -> None:
        """One epoch for every member (finished members are frozen)."""
        import torch

        keys = _member_keys(self.seeds, _STREAM_SHUFFLE, epoch)
        pos = _mix32(torch.arange(self.n_train, device=self.device, dtype=torch.int64))
        order = torch.argsort(_mix32(keys.view(-1, 1) ^ pos.view(1, -1)), dim=1, stable=True)
        rows = self.train_idx.gather(1, order)
        params = list(self.P.values())
        lr_scale = self.active.to(torch.float32)
        self.S["bn_mom"] = (_BN_MOMENTUM * lr_scale).view(-1, 1, 1)
        self.loss_sum.zero_()
        for s in range(self.steps_per_epoch):
            idx = rows[:, s * self.batch_size : (s + 1) * self.batch_size]
            drop = None
            if self.use_dropout:
                drop = [
                    _member_keys(self.seeds, _STREAM_DROPOUT, self.step, layer)
                    for layer in range(self.n_layers)
                ]
            out = self._fwd(
                self.P, self.X[idx], train=True, dropout_keys=drop, index_cache=self.index_cache
            )
            losses = self._losses(out, self.Y[idx])
            grads = torch.autograd.grad(losses.sum(), params)
            self._update(grads, self.lr_table[self.step] * lr_scale)
            self.loss_sum += losses.detach() * idx.shape[1]
            self.step += 1
        self.loss_curve.append(self.loss_sum / self.n_train)
        self.epochs_done += self.active.to(torch.int64)
        done = self.epochs_done >= self.H["max_epochs"]
        if self.monitored:
            assert self.best is not None
            mon = self._monitor_losses(self.P)
            self.mon_curve.append(mon)
            better = (mon < self.best_loss - self.H["tol"]) & self.active
            self.best_loss = torch.where(better, mon, self.best_loss)
            self.best_epoch = torch.where(better, self.epochs_done, self.best_epoch)
            self.bad_epochs = torch.where(better, 0, self.bad_epochs + self.active.to(torch.int64))
            sel = better.view(-1, 1, 1)
            current = {**self.P, **self._bn_state()}
            with torch.no_grad():
                for k, b in self.best.items():
                    b.copy_(torch.where(sel, current[k].detach(), b))
            done = done | (self.bad_epochs >= self.H["patience"])
        self.active = self.active & ~done

    def final_params(self) -> dict[str, torch.Tensor]:
        """Parameters to keep: best monitored epoch, or the last epoch."""
        if self.best is not None:
            return {k: v for k, v in self.best.items() if not k.startswith(("rm", "rv"))}
        return {k: v.detach() for k, v in self.P.items()}

    def final_state(self) -> dict[str, torch.Tensor]:
        """The non-trained state belonging to :meth:`final_params`."""
        S = dict(self.S)
        if self.best is not None:
            S.update({k: v for k, v in self.best.items() if k.startswith(("rm", "rv"))})
        return S

    def predict(self, x: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
        """Raw outputs ``(M, n, n_out)`` of the kept parameters on shared rows ``x``."""
        import torch

        P, S = self.final_params(), self.final_state()
        if members is not None:
            P = {k: v[members] for k, v in P.items()}
            S = {k: v[members] for k, v in S.items()}
        M = next(iter(P.values())).shape[0]
        outs = []
        chunk = max(1, 2**23 // max(1, M * max(self.pad + [x.shape[1]])))
        with torch.no_grad():
            for s in range(0, x.shape[0], chunk):
                outs.append(
                    forward(
                        P,
                        S,
                        x[s : s + chunk],
                        n_layers=self.n_layers,
                        norm=self.norm,
                        residual=self.residual,
                        activation=self.activation,
                    )
                )
        return torch.cat(outs, dim=1)

    def outcome(self, i: int) -> MemberOutcome:
        """Epoch counts and curves of (current) member ``i``."""
        n_ep = int(self.epochs_done[i])
        return MemberOutcome(
            index=int(self.orig[i]),
            n_epochs=n_ep,
            best_epoch=int(self.best_epoch[i]) if self.monitored else n_ep,
            best_monitor_loss=float(self.best_loss[i]) if self.monitored else float("nan"),
            loss_curve=[float(c[i]) for c in self.loss_curve[:n_ep]],
            monitor_curve=[float(c[i]) for c in self.mon_curve[:n_ep]],
        )

    def compact(self, keep: torch.Tensor) -> None:
        """Drop every member not in ``keep`` (a boolean mask)."""
        import torch

        idx = keep.nonzero().view(-1)
        with torch.no_grad():
            self.P = {k: v.detach()[idx].clone().requires_grad_(True) for k, v in self.P.items()}
        self.S = {k: v[idx] for k, v in self.S.items()}
        self.O = {k: v[idx] for k, v in self.O.items()}
        self.H = {k: v[idx] for k, v in self.H.items()}
        if self.best is not None:
            self.best = {k: v[idx] for k, v in self.best.items()}
        self.lr_table = self.lr_table[:, idx]
        self.train_idx = self.train_idx[idx]
        if self.mon_idx is not None:
            self.mon_idx = self.mon_idx[idx]
        for name in (
            "seeds", "orig", "active", "epochs_done", "best_loss",
            "best_epoch", "bad_epochs", "loss_sum",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name)[idx])
        self.loss_curve = [c[idx] for c in self.loss_curve]
        self.mon_curve = [c[idx] for c in self.mon_curve]

    def train(
        self,
        on_finish: Callable[[Bucket, torch.Tensor], None],
        compact: bool = True,
    ) -> None:
        """Train to the end; ``on_finish(bucket, finished_mask)`` sees finished members
        (kept parameters still in place) before they are dropped."""
        max_epochs = int(self.H["max_epochs"].max())
        for epoch in range(max_epochs):
            self.run_epoch(epoch)
            n_active = int(self.active.sum())
            if n_active == 0:
                break
            M = int(self.active.shape[0])
            if compact and M >= 4 and n_active <= M // 2:
                on_finish(self, ~self.active)
                self.compact(self.active)
        on_finish(self, self.active | ~self.active)
