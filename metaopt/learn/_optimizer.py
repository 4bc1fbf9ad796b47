"""The learned optimizer: a GRU that proposes the next configuration from the trials so far.

:class:`LearnedOptimizer` is a recurrent policy in the spirit of Chen et al. 2017
("Learning to learn without gradient descent by gradient descent"). Given a dataset's
meta-features and the history of trials (configurations and scores), it outputs a
distribution over the next configuration: which algorithm (a softmax over the
algorithms) and, for every algorithm, its hyperparameters in the unit coordinates of
:class:`~metaopt.learn.ConfigEncoder` (numeric parameters: a logit-normal on
``[0, 1]``; categoricals: a softmax over the choices).

Inputs of one step
    ``scaled meta-features ‖ previous config (algorithm one-hot and config block, NaN
    as 0) ‖ its score normalized within the history so far ‖ improved-the-best flag ‖
    first-step flag ‖ step / horizon ‖ task kind one-hot``. Scores enter only through the min–max
    normalization over the trials seen so far (and the improvement flag), so the policy
    works on any metric in any units, as an Optuna study reports them. The initial
    hidden state is ``tanh(W · meta-features + b)``.

Meta-training (:meth:`LearnedOptimizer.fit`, torch)
    Episodes run on the knowledge base's training tasks through
    :class:`~metaopt.learn.PoolTable`: a proposal scores what the nearest evaluated
    configuration of that algorithm scored on the task (real measurements, normalized
    per task). The objective is the mean over the horizon of the best normalized score
    found so far (one minus the area under the regret curve) — Chen et al.'s
    observed-improvement loss, summed with the weight that makes early improvements
    count more. Since the lookup is not differentiable, the gradient is the
    score-function (REINFORCE) estimate with returns-to-go, a leave-one-out baseline
    over the ``rollouts`` episodes of the same task, and an entropy bonus; this departs
    from Chen et al., who backpropagate through a differentiable (GP) objective.

Transfer stage (:mod:`metaopt.learn._transfer`)
    Before the policy proposes anything, a run starts with a *transfer stage*: the
    training tasks' scores on the knowledge base's shared configuration pool, kept
    with the weights, drive a greedy portfolio whose task weights follow how well each
    training task ranks the trials observed so far (RGPE-style), starting from a prior
    that a learned task similarity (:class:`~metaopt.learn.TaskSimilarity`) derives
    from the dataset's meta-features. Its first proposal is the pool configuration
    with the best similarity-weighted mean score; it ends after
    ``transfer_trials`` trials or when the pool has no expected gain left, and the
    policy — which has observed every trial, so its state carries the whole history —
    proposes from then on. On the knowledge base's pool the transfer stage finds
    better configurations in the first 10–20 trials than the policy does (README,
    tuning benchmark, ``meta`` against ``meta_rnn``); the policy is what searches
    beyond the pool. ``transfer=False`` (at fit or at :meth:`LearnedOptimizer.start`)
    gives the policy alone. This departs from DESIGN.md, which maps the optimizer as
    the RNN alone: measured on the 265-task knowledge base (README, tuning
    benchmark), the RNN alone still had a higher mean regret after 20 trials (0.011)
    than with the transfer stage after 10 (0.0073), so the shipped optimizer runs both.

Inference (:meth:`LearnedOptimizer.start` → :class:`OptimizerRun`) is plain numpy: a
GRU step and a head, well under a millisecond. Saved models are a directory with
``manifest.json`` (format, versions, the encoder, the layout, hyperparameters,
training summary) and ``weights.npz`` (loaded with ``allow_pickle=False``).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metaopt._exceptions import ConfigError, ModelError, ModelVersionError
from metaopt.learn._encoding import ConfigEncoder, reference_shape
from metaopt.learn._saved import RETRAIN, read_saved, write_saved
from metaopt.learn._transfer import TransferPortfolio, TransferRun
from metaopt.spaces import DataShape, get_space

__all__ = ["LearnedOptimizer", "OptimizerRun", "rollout_regret"]

_KINDS = ("binary", "multiclass", "regression")
_LOG_STD = (-3.0, 1.0)
_N_EXTRA = 4 + len(_KINDS)  # y_norm, improved, first, step / horizon, kind one-hot


# --------------------------------------------------------------------------- layout


@dataclass
class _Layout:
    """How the head's outputs map onto the encoder's config block.

    ``num_cols``: block columns of numeric parameters; ``num_alg``: their algorithm;
    ``groups``: per categorical parameter, its block columns; ``group_alg``. Masks per
    kind say which parameters / choices / algorithms exist for that kind.
    """

    n_alg: int
    width: int
    num_cols: np.ndarray
    num_alg: np.ndarray
    num_names: list[tuple[str, str]]
    groups: list[list[int]]
    group_alg: np.ndarray
    group_names: list[tuple[str, str]]
    alg_valid: dict[str, np.ndarray]
    num_valid: dict[str, np.ndarray]
    choice_valid: dict[str, np.ndarray]  # (G, K) per kind
    max_choices: int

    @property
    def n_out(self) -> int:
        return self.n_alg + 2 * len(self.num_cols) + len(self.groups) * self.max_choices

    @classmethod
    def of(cls, encoder: ConfigEncoder) -> _Layout:
        n_alg = len(encoder.algorithms)
        base = encoder.n_metafeatures + n_alg
        width = encoder.n_features - base
        num_cols, num_alg, num_names = [], [], []
        groups, group_alg, group_names, group_choices = [], [], [], []
        for a, alg in enumerate(encoder.algorithms):
            for p in encoder.params_[alg]:
                col = encoder._offsets[alg][p.name] - base
                if p.type == "categorical":
                    groups.append(list(range(col, col + len(p.choices))))
                    group_alg.append(a)
                    group_names.append((alg, p.name))
                    group_choices.append(list(p.choices))
                else:
                    num_cols.append(col)
                    num_alg.append(a)
                    num_names.append((alg, p.name))
        max_choices = max([len(g) for g in groups], default=1)
        alg_valid, num_valid, choice_valid = {}, {}, {}
        for kind in _KINDS:
            live: dict[str, dict[str, Any]] = {}
            av = np.zeros(n_alg, dtype=bool)
            for a, alg in enumerate(encoder.algorithms):
                space = get_space(alg)
                if kind in space.kinds:
                    av[a] = True
                    live[alg] = {p.name: p for p in space.params(reference_shape(kind))}
            nv = np.array(
                [alg in live and name in live[alg] for alg, name in num_names], dtype=bool
            )
            cv = np.zeros((len(groups), max_choices), dtype=bool)
            for g, ((alg, name), choices) in enumerate(
                zip(group_names, group_choices, strict=True)
            ):
                lp: Any = live.get(alg, {}).get(name)
                if lp is None or lp.type != "categorical":
                    continue
                for k, choice in enumerate(choices):
                    try:
                        lp.index(choice)
                        cv[g, k] = True
                    except ValueError:
                        pass
            alg_valid[kind], num_valid[kind], choice_valid[kind] = av, nv, cv
        return cls(
            n_alg=n_alg,
            width=width,
            num_cols=np.array(num_cols, dtype=np.int64),
            num_alg=np.array(num_alg, dtype=np.int64),
            num_names=num_names,
            groups=groups,
            group_alg=np.array(group_alg, dtype=np.int64),
            group_names=group_names,
            alg_valid=alg_valid,
            num_valid=num_valid,
            choice_valid=choice_valid,
            max_choices=max_choices,
        )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _history_features(
    lo: float, hi: float, best: float, value: float | None
) -> tuple[list[float], float, float, float]:
    """``[y_norm, improved]`` of a new observation and the updated ``(lo, hi, best)``."""
    if value is None or not math.isfinite(value):
        return [0.0, 0.0], lo, hi, best
    lo, hi = min(lo, value), max(hi, value)
    y = (value - lo) / (hi - lo) if hi > lo else 0.5
    improved = 1.0 if value > best else 0.0
    return [y, improved], lo, hi, max(best, value)


# --------------------------------------------------------------------------- the run


class OptimizerRun:
    """One optimization run: observe trials, propose the next configuration.

    Created by :meth:`LearnedOptimizer.start`. Not thread-safe; cheap to rebuild from
    a history (one GRU step per observed trial).
    """

    def __init__(
        self,
        optimizer: LearnedOptimizer,
        metafeatures: Mapping[str, float],
        shape: DataShape,
        algorithms: Sequence[str] | None,
        seed: int | None,
        transfer: bool = True,
        sample_transfer: bool = False,
    ) -> None:
        opt = optimizer
        self.sample_transfer = bool(sample_transfer)
        self.last_stage: str | None = None  # who made the last proposal
        self.optimizer = opt
        self.shape = shape
        self.kind = str(shape.kind)
        if self.kind not in _KINDS:
            raise ConfigError(f"unknown task kind {self.kind!r}", f"use one of {', '.join(_KINDS)}")
        known = list(opt.encoder_.algorithms)
        allowed = known if algorithms is None else [str(a) for a in algorithms]
        unknown = [a for a in allowed if a not in known]
        if unknown:
            raise ConfigError(
                f"the learned optimizer knows algorithms {known}, not {unknown[0]!r}",
                "pass algorithms it knows, or retrain it with `metaopt train`",
            )
        mask = (
            np.array([a in allowed for a in known], dtype=bool) & opt.layout_.alg_valid[self.kind]
        )
        for a, alg in enumerate(known):
            if mask[a] and get_space(alg).supports(shape) is not None:
                mask[a] = False
        if not mask.any():
            raise ConfigError(
                f"none of the algorithms {allowed} applies to this {self.kind} task",
                "pass other algorithms",
            )
        self.alg_mask = mask
        portfolio = getattr(opt, "transfer_", None)
        self.transfer: TransferRun | None = (
            portfolio.start(shape, [a for i, a in enumerate(known) if mask[i]], metafeatures)
            if transfer and portfolio is not None and self.kind in portfolio.kinds
            else None
        )
        self.rng = np.random.default_rng(seed)
        mf = opt.encoder_.scale_metafeatures(dict(metafeatures))
        self.mf = np.nan_to_num(mf[0], nan=0.0)
        w = opt.weights_
        self.h = np.tanh(w["init_W"] @ self.mf + w["init_b"])
        self.pending = self._input(
            np.zeros(opt.layout_.n_alg + opt.layout_.width), [0.0, 0.0], 1.0, 0
        )
        self.n_observed = 0
        self._lo, self._hi, self._best = math.inf, -math.inf, -math.inf
        self._next: np.ndarray | None = None

    def _input(self, config: np.ndarray, hist: list[float], first: float, step: int) -> np.ndarray:
        frac = step / max(self.optimizer.horizon, 1)
        kind = np.eye(len(_KINDS))[_KINDS.index(self.kind)]
        return np.concatenate([self.mf, config, np.array([*hist, first, frac]), kind])

    def _step(self) -> np.ndarray:
        if self._next is None:
            self._next = self.optimizer._gru(self.pending, self.h)
        return self._next

    def observe(self, algorithm: str, params: Mapping[str, Any], value: float | None) -> None:
        """Record one finished trial (``value``: greater is better; None if it failed)."""
        opt = self.optimizer
        self.h = self._step()
        self._next = None
        enc = opt.encoder_
        try:
            row = enc.encode_configs([str(algorithm)], [dict(params)])[0]
        except ConfigError:
            known = {p.name for p in enc.params_.get(str(algorithm), [])}
            kept = {k: v for k, v in params.items() if k in known}
            try:
                row = enc.encode_configs([str(algorithm)], [kept])[0]
            except ConfigError:
                row = np.zeros(opt.layout_.n_alg + opt.layout_.width)
        row = np.nan_to_num(row, nan=0.0)
        v = None if value is None else float(value)
        if self.transfer is not None:
            self.transfer.observe(str(algorithm), dict(params), v)
        hist, self._lo, self._hi, self._best = _history_features(self._lo, self._hi, self._best, v)
        self.n_observed += 1
        self.pending = self._input(row, hist, 0.0, self.n_observed)

    def in_flight(self, algorithm: str, params: Mapping[str, Any]) -> None:
        """Record a trial in flight (no result yet): the transfer stage will not propose its
        pool configuration and proposes what best complements it
        (:meth:`~metaopt.learn.TransferRun.in_flight`); the policy's state is unchanged."""
        if self.transfer is not None:
            self.transfer.in_flight(str(algorithm), dict(params))

    def reject_last(self) -> None:
        """The last proposal is taken already (a duplicate): the transfer stage will not
        propose its pool configuration again; the policy draws afresh anyway."""
        if self.transfer is not None and self.last_stage == "transfer" and self.transfer.last_index is not None:
            self.transfer.in_flight("", {}, column=self.transfer.last_index)

    def _head(self) -> dict[str, np.ndarray]:
        opt = self.optimizer
        lay = opt.layout_
        out = opt._head(self._step())
        n_num = len(lay.num_cols)
        logits = out[: lay.n_alg]
        mean = out[lay.n_alg : lay.n_alg + n_num]
        log_std = np.clip(out[lay.n_alg + n_num : lay.n_alg + 2 * n_num], *_LOG_STD)
        cat = out[lay.n_alg + 2 * n_num :].reshape(len(lay.groups), lay.max_choices)
        return {"logits": logits, "mean": mean, "log_std": log_std, "cat": cat}

    @property
    def stage(self) -> str:
        """Who proposes the next trial: ``"transfer"`` (the pool stage) or ``"policy"``."""
        if self.transfer is not None and self.transfer.propose_index() is not None:
            return "transfer"
        return "policy"

    def algorithm_probabilities(self) -> dict[str, float]:
        """The probability of each allowed algorithm for the next trial.

        In the transfer stage, all of it on the algorithm of the pool configuration it
        would propose next, split evenly on exact ties of the best expected gain per
        algorithm (an algorithm with nothing left in the pool gets 0); otherwise the
        policy's softmax.
        """
        names = [a for i, a in enumerate(self.optimizer.encoder_.algorithms) if self.alg_mask[i]]
        if self.stage == "transfer":
            assert self.transfer is not None
            best = {}
            for a in names:
                gain, _ = self.transfer.gains(a)
                best[a] = float(np.max(gain)) if gain.size else -np.inf
            top = max(best.values())
            winners = [a for a in names if best[a] == top]
            return {a: (1.0 / len(winners) if a in winners else 0.0) for a in names}
        logits = np.where(self.alg_mask, self._head()["logits"], -np.inf)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return {
            a: float(p[i])
            for i, a in enumerate(self.optimizer.encoder_.algorithms)
            if self.alg_mask[i]
        }

    def propose(self, algorithm: str | None = None) -> tuple[str, dict[str, Any]]:
        """The next configuration: ``(algorithm, complete params for the shape)``.

        In the transfer stage (:mod:`metaopt.learn._transfer`) the pool configuration
        with the best expected gain (deterministic; with ``sample_transfer``, a seeded
        Thompson draw among the near-best); then a sample of the policy.
        :attr:`last_stage` says which of the two proposed it.

        Parameters
        ----------
        algorithm
            Fix the algorithm (e.g. an enqueued trial chose it) and propose its params.
        """
        if self.transfer is not None:  # an unknown algorithm has no pool column: None
            proposed = self.transfer.propose(algorithm, self.rng if self.sample_transfer else None)
            if proposed is not None:
                self.last_stage = "transfer"
                return proposed
        self.last_stage = "policy"
        opt = self.optimizer
        lay = opt.layout_
        enc = opt.encoder_
        head = self._head()
        if algorithm is None:
            probs = self.algorithm_probabilities()
            names = list(probs)
            prob = np.array([probs[n] for n in names])
            algorithm = names[int(self.rng.choice(len(names), p=prob / prob.sum()))]
        algorithm = str(algorithm)
        if algorithm not in enc.algorithms:
            raise ConfigError(
                f"the learned optimizer knows algorithms {enc.algorithms}, not {algorithm!r}",
                "pass one of those",
            )
        space = get_space(algorithm)
        frozen = {p.name: p for p in enc.params_[algorithm]}
        num_index = {name: i for i, (alg, name) in enumerate(lay.num_names) if alg == algorithm}
        group_index = {name: g for g, (alg, name) in enumerate(lay.group_names) if alg == algorithm}
        config: dict[str, Any] = {}
        for p in space.params(self.shape):
            if not p.is_active(config):
                continue
            if p.type == "categorical" and p.name in group_index:
                g = group_index[p.name]
                choices = frozen[p.name].choices
                ok = np.array(
                    [_has_choice(p, c) for c in choices]
                    + [False] * (lay.max_choices - len(choices))
                )
                if not ok.any():
                    continue
                logits = np.where(ok, head["cat"][g], -np.inf)
                q = np.exp(logits - logits.max())
                q /= q.sum()
                config[p.name] = p.choices[p.index(choices[int(self.rng.choice(len(q), p=q))])]
            elif p.type != "categorical" and p.name in num_index:
                i = num_index[p.name]
                z = head["mean"][i] + math.exp(head["log_std"][i]) * self.rng.standard_normal()
                value = frozen[p.name].from_unit(float(_sigmoid(np.array(z))))
                config[p.name] = _clip(p, value)
        return algorithm, space.validate(config, self.shape)


def _has_choice(p: Any, choice: Any) -> bool:
    try:
        p.index(choice)
    except ValueError:
        return False
    return True


def _clip(p: Any, value: Any) -> Any:
    low, high = p.low, p.high
    value = min(max(value, low), high)
    return int(round(value)) if p.type == "int" else float(value)


# --------------------------------------------------------------------------- the model


class LearnedOptimizer:
    """A GRU policy over configurations, meta-trained on the knowledge base.

    Parameters
    ----------
    hidden_size
        Width of the GRU state and of the head's hidden layer.
    horizon
        Trials per meta-training episode (and the step count the policy knows).
    iterations
        Meta-training updates.
    tasks_per_batch, rollouts
        Each update runs ``rollouts`` episodes on each of ``tasks_per_batch`` tasks.
    learning_rate
        Adam's step size.
    entropy_weight
        Weight of the policy's entropy in the objective (keeps it exploring).
    metafeature_noise
        Standard deviation of Gaussian noise added to the scaled meta-features of every
        training episode, so the policy cannot memorize the (few) training tasks by
        their exact meta-features.
    metafeature_dropout
        Probability that an episode sees no meta-features at all (zeros, the training
        median): the policy also learns to search from the history alone, which is
        what it falls back on for a dataset unlike the training ones.
    validation_fraction
        Share of the training tasks' base-dataset groups held out to select the
        checkpoint (evaluated every ``iterations / 20`` updates); none with fewer than
        five tasks.
    transfer, transfer_beta, transfer_trials, transfer_min_gain
        Keep the training tasks' pool scores for the transfer stage
        (:class:`~metaopt.learn.TransferPortfolio`: its ``beta``, ``max_trials`` and
        ``min_gain``), which proposes the first trials before the policy takes over.
        It beats the policy on the knowledge base's pool (README, tuning benchmark), so
        it is on by default.
    seed
        Seed of the initialization and of the episodes.

    Examples
    --------
    >>> opt = LearnedOptimizer(iterations=300).fit(kb)               # doctest: +SKIP
    >>> run = opt.start(metafeatures, DataShape.of(task))           # doctest: +SKIP
    >>> algorithm, params = run.propose()                           # doctest: +SKIP
    >>> run.observe(algorithm, params, 0.91)                        # doctest: +SKIP
    """

    def __init__(
        self,
        hidden_size: int = 64,
        horizon: int = 10,
        iterations: int = 600,
        tasks_per_batch: int = 16,
        rollouts: int = 8,
        learning_rate: float = 3e-3,
        entropy_weight: float = 0.1,
        metafeature_noise: float = 0.25,
        metafeature_dropout: float = 0.5,
        validation_fraction: float = 0.2,
        transfer: bool = True,
        transfer_beta: float = 20.0,
        transfer_trials: int = 20,
        transfer_min_gain: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.hidden_size = hidden_size
        self.horizon = horizon
        self.iterations = iterations
        self.tasks_per_batch = tasks_per_batch
        self.rollouts = rollouts
        self.learning_rate = learning_rate
        self.entropy_weight = entropy_weight
        self.metafeature_noise = metafeature_noise
        self.metafeature_dropout = metafeature_dropout
        self.validation_fraction = validation_fraction
        self.transfer = transfer
        self.transfer_beta = transfer_beta
        self.transfer_trials = transfer_trials
        self.transfer_min_gain = transfer_min_gain
        self.seed = seed

    _PARAMS = (
        "hidden_size",
        "horizon",
        "iterations",
        "tasks_per_batch",
        "rollouts",
        "learning_rate",
        "entropy_weight",
        "metafeature_noise",
        "metafeature_dropout",
        "validation_fraction",
        "transfer",
        "transfer_beta",
        "transfer_trials",
        "transfer_min_gain",
        "seed",
    )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn style)."""
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params: Any) -> LearnedOptimizer:
        """Set constructor parameters (scikit-learn style)."""
        for k, v in params.items():
            if k not in self._PARAMS:
                raise ValueError(f"LearnedOptimizer has no parameter {k!r}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._PARAMS)
        return f"LearnedOptimizer({inner})"

    @property
    def algorithms(self) -> list[str]:
        """The algorithms the fitted policy chooses among."""
        self._check_fitted()
        return list(self.encoder_.algorithms)

    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise ModelError(
                "this LearnedOptimizer is not fitted",
                "call fit(kb) first, or load one with LearnedOptimizer.load(path)",
            )

    # -- numpy forward -----------------------------------------------------------------

    def _gru(self, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        w = self.weights_
        gi = w["gru_W_ih"] @ x + w["gru_b_ih"]
        gh = w["gru_W_hh"] @ h + w["gru_b_hh"]
        n = self.hidden_size
        r = _sigmoid(gi[:n] + gh[:n])
        z = _sigmoid(gi[n : 2 * n] + gh[n : 2 * n])
        cand = np.tanh(gi[2 * n :] + r * gh[2 * n :])
        return (1.0 - z) * cand + z * h

    def _head(self, h: np.ndarray) -> np.ndarray:
        w = self.weights_
        return w["head2_W"] @ np.tanh(w["head1_W"] @ h + w["head1_b"]) + w["head2_b"]

    def start(
        self,
        metafeatures: Mapping[str, float],
        shape: DataShape,
        algorithms: Sequence[str] | None = None,
        seed: int | None = None,
        transfer: bool = True,
        sample_transfer: bool = False,
    ) -> OptimizerRun:
        """A new run for a dataset with these meta-features and this shape.

        Parameters
        ----------
        metafeatures
            The dataset's meta-features (:func:`metaopt.metafeatures.extract`).
        shape
            Its data shape (fixes the kind and the parameter ranges).
        algorithms
            Restrict the proposals to these algorithms (default all it knows that
            support the shape).
        seed
            Seed of the run's sampling.
        transfer
            Start with the transfer stage when the optimizer has one (``False``: the
            policy alone, e.g. to compare the two).
        sample_transfer
            Let ``seed`` pick among the transfer stage's near-equal pool configurations
            (a Thompson draw over the training tasks' weights,
            :meth:`~metaopt.learn.TransferRun.propose_index`); ``False``: its best one,
            the same for every seed.
        """
        self._check_fitted()
        return OptimizerRun(
            self, metafeatures, shape, algorithms, seed, transfer=transfer, sample_transfer=sample_transfer
        )

    @property
    def meta_trials(self) -> int:
        """Trials it was made for: the policy's horizon, or the transfer stage's if longer."""
        stage = int(self.transfer_trials) if getattr(self, "transfer_", None) is not None else 0
        return max(int(self.horizon), stage)

    # -- meta-training -----------------------------------------------------------------

    def fit(
        self,
        source: Any,
        tasks: Sequence[str] | None = None,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> LearnedOptimizer:
        """Meta-train on the tasks of a knowledge base (needs torch).

        Parameters
        ----------
        source
            A :class:`~metaopt.kb.KnowledgeBase`, its path, a
            :class:`~metaopt.learn.TrainingData` or a :class:`~metaopt.learn.PoolTable`.
        tasks
            Training task ids (leave-dataset-out folds); default all.
        progress
            Called as ``progress(updates done, iterations)`` after every tenth of the
            meta-training updates (``metaopt train`` prints it).
        """
        from metaopt.learn._pool import PoolTable

        try:
            import torch
        except ImportError as exc:  # pragma: no cover - torch is a dependency
            raise ModelError(
                "training the learned optimizer needs torch", "pip install torch"
            ) from exc
        started = time.perf_counter()
        pool = source if isinstance(source, PoolTable) else PoolTable(source, tasks)
        task_ids = list(
            pool.task_ids if tasks is None else [t for t in pool.task_ids if t in set(tasks)]
        )
        if not task_ids:
            raise ModelError(
                "no training task for the learned optimizer", "pass task ids the KB holds"
            )
        self.encoder_ = pool.encoder
        self.layout_ = _Layout.of(self.encoder_)
        train_ids, valid_ids = _validation_split(
            pool, task_ids, self.validation_fraction, self.seed
        )
        train = _Episodes(self.layout_, pool.arrays(train_ids), [pool.kind(t) for t in train_ids])
        valid = (
            _Episodes(self.layout_, pool.arrays(valid_ids), [pool.kind(t) for t in valid_ids])
            if valid_ids
            else None
        )
        torch.manual_seed(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        net = _PolicyNet(self.encoder_.n_metafeatures, self.layout_, self.hidden_size)
        result = _train(net, train, valid, self.get_params(), gen, progress)
        curve = result["curve"]
        self.weights_ = net.export()
        self.transfer_ = (
            TransferPortfolio(
                beta=self.transfer_beta,
                max_trials=self.transfer_trials,
                min_gain=self.transfer_min_gain,
            ).fit(pool, task_ids)
            if self.transfer
            else None
        )
        self.mf_version_ = _mf_version(pool)
        self.training_ = {
            "tasks": len(task_ids),
            "train_tasks": len(train_ids),
            "validation_tasks": len(valid_ids),
            "task_ids_sha256": hashlib.sha256("\n".join(sorted(task_ids)).encode()).hexdigest(),
            "seconds": round(time.perf_counter() - started, 2),
            "objective_first": curve[0] if curve else None,
            "objective_last": float(np.mean(curve[-20:])) if curve else None,
            "validation": [[int(i), round(v, 5)] for i, v in result["validation"]],
            "best_validation": result["best_validation"] if valid_ids else None,
        }
        return self

    # -- persistence -------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Parameters, encoder and training summary (the transfer stage is saved apart)."""
        self._check_fitted()
        return {
            "params": self.get_params(),
            "encoder": self.encoder_.to_json(),
            "training": self.training_,
        }

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The policy's weights (float32) under ``prefix``."""
        self._check_fitted()
        return {prefix + k: np.asarray(v, dtype=np.float32) for k, v in self.weights_.items()}

    @classmethod
    def from_saved(
        cls,
        doc: Mapping[str, Any],
        arrays: Mapping[str, np.ndarray],
        prefix: str = "",
        transfer: TransferPortfolio | None = None,
    ) -> LearnedOptimizer:
        """Rebuild from :meth:`to_json` and :meth:`to_arrays`, with its transfer stage.

        Raises
        ------
        ModelVersionError
            If the policy's outputs do not fit this metaopt's search-space layout.
        """
        opt = cls(**doc["params"])
        opt.encoder_ = ConfigEncoder.from_json(doc["encoder"])
        opt.layout_ = _Layout.of(opt.encoder_)
        opt.weights_ = {
            k[len(prefix):]: np.asarray(v, dtype=np.float64)
            for k, v in arrays.items()
            if k.startswith(prefix)
        }
        n_out = opt.weights_["head2_W"].shape[0] if "head2_W" in opt.weights_ else -1
        if n_out != opt.layout_.n_out:
            raise ModelVersionError(
                f"the learned optimizer has {n_out} outputs, its search-space layout needs "
                f"{opt.layout_.n_out}",
                "retrain with `metaopt train`",
            )
        _check_weights(opt.weights_, opt.encoder_.n_metafeatures, opt.layout_, int(opt.hidden_size))
        opt.transfer_ = transfer
        opt.training_ = dict(doc.get("training") or {})
        return opt

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the optimizer and its transfer stage into directory ``path``."""
        transfer: TransferPortfolio | None = getattr(self, "transfer_", None)
        doc = {"optimizer": self.to_json(), "transfer": None if transfer is None else transfer.to_json()}
        arrays = self.to_arrays("optimizer.")
        if transfer is not None:
            arrays.update(transfer.to_arrays())
        return write_saved(path, "optimizer", doc, arrays, mf_version=self.mf_version_)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, metafeature_version: str | None = None
    ) -> LearnedOptimizer:
        """Load an optimizer saved by :meth:`save`.

        Raises
        ------
        ModelError
            If the directory holds no optimizer, or its arrays are corrupt.
        ModelVersionError
            If its format or meta-feature version differs from this metaopt's.
        """
        manifest, arrays = read_saved(path, "optimizer", metafeature_version=metafeature_version)
        doc = manifest["doc"]
        try:
            encoder = ConfigEncoder.from_json(doc["optimizer"]["encoder"])
        except (KeyError, ValueError, TypeError, AttributeError, IndexError, ConfigError) as exc:
            raise ModelError(
                f"the learned optimizer at {path} is damaged (its encoder: {exc!r})", RETRAIN
            ) from exc
        try:
            transfer = (
                TransferPortfolio.from_saved(doc["transfer"], arrays, encoder)
                if doc.get("transfer")
                else None
            )
        except (KeyError, ValueError, TypeError, AttributeError, IndexError, ConfigError) as exc:
            raise ModelVersionError(
                f"the learned optimizer at {path} has an unreadable transfer pool ({exc})",
                "retrain with `metaopt train`",
            ) from exc
        try:
            opt = cls.from_saved(doc["optimizer"], arrays, "optimizer.", transfer)
        except ModelVersionError:
            raise
        except (KeyError, ValueError, TypeError, AttributeError, IndexError, ConfigError) as exc:
            raise ModelError(f"the learned optimizer at {path} is damaged ({exc})", RETRAIN) from exc
        opt.mf_version_ = str(manifest["mf_version"])
        return opt


def _check_weights(weights: Mapping[str, np.ndarray], n_mf: int, layout: _Layout, hidden: int) -> None:
    """Raise ValueError unless ``weights`` are the policy's arrays, finite, of the right shapes."""
    n_in = n_mf + layout.n_alg + layout.width + _N_EXTRA
    h3 = 3 * hidden
    expected = {
        "init_W": (hidden, n_mf), "init_b": (hidden,),
        "gru_W_ih": (h3, n_in), "gru_W_hh": (h3, hidden), "gru_b_ih": (h3,), "gru_b_hh": (h3,),
        "head1_W": (hidden, hidden), "head1_b": (hidden,),
        "head2_W": (layout.n_out, hidden), "head2_b": (layout.n_out,),
    }  # fmt: skip
    for name, shape in expected.items():
        w = weights.get(name)
        if w is None:
            raise ValueError(f"the optimizer's weights lack {name!r}")
        if w.shape != shape:
            raise ValueError(f"the optimizer's {name} has shape {w.shape}, expected {shape}")
        if not np.isfinite(w).all():
            raise ValueError(f"the optimizer's {name} holds non-finite values")


def _validation_split(
    pool: Any, task_ids: Sequence[str], fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """Hold out whole base-dataset groups (a share ``fraction`` of them) for validation."""
    if fraction <= 0 or len(task_ids) < 5:
        return list(task_ids), []
    tasks = pool.data.tasks.set_index(pool.data.tasks["task_id"].astype(str))
    group_of = {}
    for t in task_ids:
        g = tasks["group"].get(t) if "group" in tasks.columns and t in tasks.index else None
        group_of[t] = str(g) if isinstance(g, str) and g else t
    groups = sorted(set(group_of.values()))
    order = sorted(groups, key=lambda g: hashlib.sha256(f"{seed}|{g}".encode()).hexdigest())
    n_valid = min(max(1, round(fraction * len(groups))), len(groups) - 1)
    held = set(order[:n_valid])
    return [t for t in task_ids if group_of[t] not in held], [
        t for t in task_ids if group_of[t] in held
    ]


def _mf_version(pool: Any) -> str:
    from metaopt.metafeatures import VERSION

    return str(pool.data.versions.get("mf_version") or VERSION)


# --------------------------------------------------------------------------- torch


def _PolicyNet(n_mf: int, layout: _Layout, hidden: int) -> Any:
    """The torch module of the policy (built lazily so importing this module needs no torch)."""
    import torch
    from torch import nn

    n_in = n_mf + layout.n_alg + layout.width + _N_EXTRA

    class PolicyNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.init = nn.Linear(n_mf, hidden)
            self.gru = nn.GRUCell(n_in, hidden)
            self.head1 = nn.Linear(hidden, hidden)
            self.head2 = nn.Linear(hidden, layout.n_out)
            with torch.no_grad():
                self.head2.weight.mul_(0.1)
                self.head2.bias.zero_()

        def h0(self, mf: torch.Tensor) -> torch.Tensor:
            return torch.tanh(self.init(mf))

        def head(self, h: torch.Tensor) -> torch.Tensor:
            return self.head2(torch.tanh(self.head1(h)))

        def export(self) -> dict[str, np.ndarray]:
            def a(t: torch.Tensor) -> np.ndarray:
                return t.detach().cpu().numpy().astype(np.float64)

            return {
                "init_W": a(self.init.weight),
                "init_b": a(self.init.bias),
                "gru_W_ih": a(self.gru.weight_ih),
                "gru_W_hh": a(self.gru.weight_hh),
                "gru_b_ih": a(self.gru.bias_ih),
                "gru_b_hh": a(self.gru.bias_hh),
                "head1_W": a(self.head1.weight),
                "head1_b": a(self.head1.bias),
                "head2_W": a(self.head2.weight),
                "head2_b": a(self.head2.bias),
            }

    return PolicyNet()


class _Episodes:
    """Batched episodes on the pools of ``arrays`` (torch): the policy proposes, the pool scores."""

    def __init__(
        self, lay: _Layout, arrays: Mapping[str, np.ndarray], kinds: Sequence[str]
    ) -> None:
        import torch

        f32 = torch.float32
        self.lay = lay
        configs = torch.as_tensor(arrays["configs"], dtype=f32)
        self.defined = ~torch.isnan(configs)
        self.configs0 = torch.nan_to_num(configs, nan=0.0)
        self.algs = torch.as_tensor(arrays["algorithms"])
        self.scores = torch.as_tensor(arrays["scores"], dtype=f32)
        self.weights = torch.as_tensor(arrays["weights"], dtype=f32)
        self.mf = torch.as_tensor(arrays["metafeatures"], dtype=f32)
        self.kind_idx = torch.as_tensor([_KINDS.index(k) for k in kinds])
        alg_ok = torch.stack([torch.as_tensor(lay.alg_valid[k]) for k in _KINDS])[self.kind_idx]
        self.alg_ok = alg_ok & torch.as_tensor(arrays["available"])
        self.num_valid = torch.stack([torch.as_tensor(lay.num_valid[k]) for k in _KINDS])
        self.choice_valid = torch.stack([torch.as_tensor(lay.choice_valid[k]) for k in _KINDS])
        self.num_cols = torch.as_tensor(lay.num_cols)
        self.num_alg = torch.as_tensor(lay.num_alg)
        self.group_alg = torch.as_tensor(lay.group_alg)
        self.n_groups, self.kmax, self.n_num = len(lay.groups), lay.max_choices, len(lay.num_cols)
        g_cols = torch.full((max(self.n_groups, 1), self.kmax), -1, dtype=torch.long)
        for g, cols in enumerate(lay.groups):
            g_cols[g, : len(cols)] = torch.as_tensor(cols)
        self.g_cols = g_cols
        self.eye_alg = torch.eye(lay.n_alg)
        self.eye_kind = torch.eye(len(_KINDS))
        self.n_tasks = configs.shape[0]

    def run(
        self,
        net: Any,
        t_idx: Any,
        horizon: int,
        gen: Any,
        mf_noise: float = 0.0,
        mf_dropout: float = 0.0,
    ) -> tuple[Any, Any, Any]:
        """Episodes on tasks ``t_idx``: log-probabilities, entropies, best-so-far ``(E, T)``."""
        import torch

        f32 = torch.float32
        lay = self.lay
        e = t_idx.shape[0]
        kind_e = self.kind_idx[t_idx]
        mf = self.mf[t_idx]
        if mf_noise > 0:
            mf = mf + mf_noise * torch.randn(mf.shape, generator=gen)
        if mf_dropout > 0:
            keep = (torch.rand((e, 1), generator=gen) >= mf_dropout).to(f32)
            mf = mf * keep
        kind_hot = self.eye_kind[kind_e]
        h = net.h0(mf)
        x_cfg = torch.zeros(e, lay.n_alg + lay.width)
        extra = torch.zeros(e, 4)
        extra[:, 2] = 1.0
        lo = torch.full((e,), math.inf)
        hi = torch.full((e,), -math.inf)
        best = torch.full((e,), -math.inf)
        logps, ents, bests = [], [], []
        rows = torch.arange(e)
        for t in range(horizon):
            h = net.gru(torch.cat([mf, x_cfg, extra, kind_hot], dim=1), h)
            out = net.head(h)
            logits = out[:, : lay.n_alg].masked_fill(~self.alg_ok[t_idx], -1e9)
            mean = out[:, lay.n_alg : lay.n_alg + self.n_num]
            log_std = out[:, lay.n_alg + self.n_num : lay.n_alg + 2 * self.n_num].clamp(*_LOG_STD)
            cat = out[:, lay.n_alg + 2 * self.n_num :].reshape(e, self.n_groups, self.kmax)
            alg_dist = torch.distributions.Categorical(logits=logits)
            a = alg_dist.sample()
            z = (mean + log_std.exp() * torch.randn(mean.shape, generator=gen)).detach()
            normal = torch.distributions.Normal(mean, log_std.exp())
            num_mask = (self.num_alg[None, :] == a[:, None]) & self.num_valid[kind_e]
            lp = alg_dist.log_prob(a) + (normal.log_prob(z) * num_mask).sum(1)
            ent = alg_dist.entropy() + 0.1 * (log_std * num_mask).sum(1)
            v = torch.zeros(e, lay.width)
            v[:, self.num_cols] = torch.sigmoid(z)
            if self.n_groups:
                cv = self.choice_valid[kind_e]
                g_ok = cv.any(-1)
                cat_logits = cat.masked_fill(~cv, -1e9)
                cat_logits = torch.where(g_ok[..., None], cat_logits, torch.zeros_like(cat_logits))
                cat_dist = torch.distributions.Categorical(logits=cat_logits)
                c = cat_dist.sample()
                g_mask = (self.group_alg[None, :] == a[:, None]) & g_ok
                lp = lp + (cat_dist.log_prob(c) * g_mask).sum(1)
                cols = self.g_cols[torch.arange(self.n_groups)[None, :].expand(e, -1), c]
                v.scatter_(1, cols.clamp(min=0), (cols >= 0).to(f32))
            # snap to the nearest evaluated config of the chosen algorithm
            pc = self.configs0[t_idx]
            d = (((pc - v[:, None, :]) ** 2) * self.defined[t_idx] * self.weights).sum(-1)
            d = d.masked_fill(self.algs[t_idx] != a[:, None], math.inf)
            j = d.argmin(1)
            s = self.scores[t_idx, j]
            x_cfg = torch.cat([self.eye_alg[a], pc[rows, j]], dim=1)
            lo, hi = torch.minimum(lo, s), torch.maximum(hi, s)
            span = hi - lo
            y = torch.where(span > 0, (s - lo) / span.clamp(min=1e-12), torch.full_like(s, 0.5))
            improved = (s > best).to(f32)
            best = torch.maximum(best, s)
            frac = torch.full((e,), (t + 1) / horizon)
            extra = torch.stack([y, improved, torch.zeros(e), frac], 1)
            logps.append(lp)
            ents.append(ent)
            bests.append(best)
        return torch.stack(logps, 1), torch.stack(ents, 1), torch.stack(bests, 1)


def _train(
    net: Any,
    train: _Episodes,
    valid: _Episodes | None,
    params: Mapping[str, Any],
    gen: Any,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """REINFORCE meta-training of ``net``; keeps the weights that validate best.

    Returns the training objective curve and the validation curve (mean best-so-far
    normalized score over the horizon, i.e. one minus the mean regret). ``progress(done,
    iterations)`` is called after every tenth of the updates.
    """
    import copy

    import torch

    horizon = int(params["horizon"])
    b_tasks = min(int(params["tasks_per_batch"]), train.n_tasks)
    m = int(params["rollouts"])
    opt = torch.optim.Adam(net.parameters(), lr=float(params["learning_rate"]), weight_decay=1e-5)
    curve: list[float] = []
    val_curve: list[tuple[int, float]] = []
    best_val, best_state = -math.inf, None
    n_iter = int(params["iterations"])
    every = max(n_iter // 20, 5)
    val_gen = torch.Generator()
    for it in range(n_iter):
        chosen = torch.randperm(train.n_tasks, generator=gen)[:b_tasks]
        t_idx = chosen.repeat_interleave(m)
        lp, ent, bt = train.run(
            net,
            t_idx,
            horizon,
            gen,
            float(params["metafeature_noise"]),
            float(params["metafeature_dropout"]),
        )
        e = t_idx.shape[0]
        returns = bt.flip(1).cumsum(1).flip(1) / horizon
        grouped = returns.view(b_tasks, m, horizon)
        base = (grouped.sum(1, keepdim=True) - grouped) / max(m - 1, 1)
        adv = (grouped - base).view(e, horizon)
        adv = adv / (adv.std() + 1e-6)
        loss = (
            -(adv.detach() * lp).sum(1).mean() - float(params["entropy_weight"]) * ent.sum(1).mean()
        )
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        curve.append(float(bt.mean()))
        last = it == n_iter - 1
        if progress is not None and not last and (it + 1) % max(n_iter // 10, 1) == 0:
            progress(it + 1, n_iter)
        if valid is not None and ((it + 1) % every == 0 or last):
            val_gen.manual_seed(int(params["seed"]) + 7)
            with torch.no_grad():
                v_idx = torch.arange(valid.n_tasks).repeat_interleave(4)
                _, _, vb = valid.run(net, v_idx, horizon, val_gen)
            score = float(vb.mean())
            val_curve.append((it + 1, score))
            if score > best_val:
                best_val, best_state = score, copy.deepcopy(net.state_dict())
    if best_state is not None:
        net.load_state_dict(best_state)
    return {"curve": curve, "validation": val_curve, "best_validation": best_val}


# --------------------------------------------------------------------------- evaluation


def rollout_regret(
    optimizer: LearnedOptimizer,
    pool: Any,
    task_ids: Sequence[str],
    trials: int = 30,
    seeds: Sequence[int] = (0, 1, 2),
    transfer: bool = True,
) -> np.ndarray:
    """Regret curves of the optimizer run alone on ``pool``'s tasks (numpy inference).

    ``transfer``: start with the transfer stage (``False``: the policy alone).

    Returns
    -------
    numpy.ndarray
        ``(len(task_ids), len(seeds), trials)``: ``1 - best normalized score`` after each
        trial, scored with :meth:`~metaopt.learn.PoolTable.score`.
    """
    out = np.zeros((len(task_ids), len(seeds), trials))
    for i, task in enumerate(task_ids):
        for k, seed in enumerate(seeds):
            run = optimizer.start(
                pool.metafeatures(task),
                pool.shape(task),
                pool.algorithms(task),
                seed,
                transfer=transfer,
            )
            best = 0.0
            for t in range(trials):
                alg, params = run.propose()
                s = pool.score(task, alg, params)
                s = 0.0 if not math.isfinite(s) else s
                best = max(best, s)
                run.observe(alg, params, s)
                out[i, k, t] = 1.0 - best
    return out
