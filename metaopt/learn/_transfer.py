"""The transfer stage of the learned optimizer: a portfolio that adapts to the trials seen.

The knowledge base evaluated one shared pool of configurations on every task of a
kind. :class:`TransferPortfolio` keeps that task × configuration matrix of normalized
scores (:func:`metaopt.learn.score_matrix`) and proposes, at each step, the pool
configuration with the highest *expected best score so far* over the training tasks,

``gain(j) = Σ_i w_i · max(S[i, j], best_i)``,  ``best_i = max over observed columns c of S[i, c]``,

a greedy step of a static portfolio (auto-sklearn 2.0 / TabRepo) whose task weights
``w_i`` follow the trials observed so far: a training task whose scores order the
observed configurations the way the study's own results do is a better guide to what
comes next. As in RGPE (Feurer, Letham & Bakshy 2018), the agreement is a ranking
loss, so any metric in any unit works (an Optuna study reports raw values):

``w_i ∝ exp(-beta · discordant_i)``, ``discordant_i`` = the fraction of pairs of
observed trials that task ``i`` orders the other way (ties count as agreeing).

Before any trial the weights are a *prior* from the dataset's meta-features: a
learned task similarity (:class:`~metaopt.learn.TaskSimilarity`) predicts how
differently the new task and each training task rank the pool, and
``log w_i = −prior_sharpness · (standardized predicted discordance)``; the observed
rank agreement then multiplies in, ``log w_i = log prior_i − beta · discordant_i``.
Without meta-features (or with ``prior_sharpness=0``) the prior is uniform and the first
proposal is the pool configuration with the best mean score — the static portfolio's
first member.
Observed trials are mapped onto the pool by the nearest configuration of their
algorithm (the distance of :class:`~metaopt.learn.PoolTable`: encoder unit
coordinates over the columns the pool configuration defines, one-hot differences
halved); a failed trial ranks below every finished one. Pool configurations already
observed are not proposed again.

The stage ends — :meth:`TransferRun.propose` returns ``None`` and the recurrent
policy takes over — after ``max_trials`` observed trials, when no unobserved pool
configuration of an allowed algorithm is left, or when the best expected gain over the
current expected best is below ``min_gain`` (normalized score units): the knowledge
base has nothing more to say about this task and the policy, which proposes any
configuration, not only pool ones, searches on.

Measured on the 265-task knowledge base (leave-dataset-out, 5 grouped folds × 3 fold
seeds, pool configs only, ``python benchmarks/bench_transfer.py``), mean regret after
1 / 5 / 10 / 20 trials: static portfolio 0.042 / 0.015 / 0.010 / 0.006; rank weights
alone (``beta = 20``) 0.042 / 0.014 / 0.008 / 0.005; the learned prior alone 0.033 /
0.014 / 0.009 / 0.005; **both** 0.033 / 0.013 / 0.007 / 0.005 (the rank evidence counted
in pairs instead of as a fraction measured 0.033 / 0.013 / 0.007 / 0.006 and was removed,
``benchmarks/results/transfer.md``); an oracle that weights
the training tasks by their true discordance to the held-out task over the whole pool
0.019 / 0.010 / 0.006 / 0.005 — the bound of any re-weighting of the training tasks.
(On a 176-task snapshot a prior from plain meta-feature distance lowered the first
trial's regret but raised the tenth's; the learned similarity is a far better guide
than raw distance, see :mod:`metaopt.learn._similarity`.)

Everything here is numpy. Saved in the one format of :mod:`metaopt.learn._saved`: the
pool's scores (``transfer.<kind>.scores``) and the similarity's trees as arrays, the
pool's configurations and training task ids in the JSON document.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt._exceptions import ConfigError, ModelError
from metaopt.learn._encoding import ConfigEncoder
from metaopt.learn._pool import block_weights, nearest_config
from metaopt.learn._portfolio import family_vote, greedy_portfolio
from metaopt.learn._saved import read_saved, write_saved
from metaopt.learn._similarity import TaskSimilarity
from metaopt.spaces import DataShape, get_space

__all__ = ["TransferPortfolio", "TransferRun", "clip_to_shape", "fit_to_shape"]

_KINDS = ("binary", "multiclass", "regression")

#: Concentration of the seeded draw's weight factors (:meth:`TransferRun.propose_index`).
#: Measured on the shipped pool (20 random priors × 5 seeds, no results observed): the
#: expected best normalized score after 2 / 3 / 5 proposals is 0.0009 / 0.0008 / 0.0003
#: below the greedy order's for binary tasks (0.0014 / 0.0008 / 0.0002 multiclass) while
#: 4-5 of 5 seeds give distinct orders; the plain bootstrap (c = 1) cost 0.0031 / 0.0026 /
#: 0.0012, c = 16 gave about 3 distinct orders in 5.
DRAW_CONCENTRATION = 4.0


class _KindPool:
    """One kind's pool: configurations, their encoded blocks and the training scores."""

    def __init__(
        self,
        encoder: ConfigEncoder,
        algorithms: Sequence[str],
        params: Sequence[Mapping[str, Any]],
        scores: np.ndarray,
        task_ids: Sequence[str] | None = None,
    ) -> None:
        self.task_ids = [str(t) for t in (task_ids or [])]
        self.algorithms = [str(a) for a in algorithms]
        self.alg_names = np.array(self.algorithms, dtype=object)
        self.params = [dict(p) for p in params]
        self.scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0)
        n_alg = len(encoder.algorithms)
        alg_index = {a: i for i, a in enumerate(encoder.algorithms)}
        self.alg_index = np.array([alg_index[a] for a in self.algorithms], dtype=np.int64)
        if self.algorithms:
            self.blocks = encoder.encode_configs(self.algorithms, self.params)[:, n_alg:]
        else:
            self.blocks = np.zeros((0, encoder.n_features - encoder.n_metafeatures - n_alg))


class TransferPortfolio:
    """A greedy portfolio over the knowledge base's pool, re-weighted by the trials seen.

    Parameters
    ----------
    beta
        Sharpness of the task weights: ``exp(-beta · discordant fraction)``; 0 gives
        the static greedy portfolio.
    max_trials
        Observed trials after which the stage ends.
    prior_sharpness
        Sharpness of the prior task weights from the learned task similarity
        (:class:`~metaopt.learn.TaskSimilarity`): ``exp(−prior_sharpness ·
        standardized predicted discordance)``; 0 (or a run started without
        meta-features) gives uniform prior weights, the static portfolio's start.
    min_gain
        The stage ends when the best proposal's expected gain is below this (default
        0: only when no gain is left at all). A threshold of 0.001 ended the stage
        after a few trials on most tasks and handed them to the policy too early:
        mean regret after 10 trials 0.011 against 0.008 with 0, after 20 0.008 against
        0.004 (``benchmarks/bench_tune.py``, 265 tasks, 5 seeds).

    Examples
    --------
    >>> tp = TransferPortfolio().fit(pool)                              # doctest: +SKIP
    >>> run = tp.start(shape)                                           # doctest: +SKIP
    >>> algorithm, params = run.propose()                               # doctest: +SKIP
    >>> run.observe("hgb", params, 0.91)                                # doctest: +SKIP
    """

    def __init__(
        self,
        beta: float = 20.0,
        max_trials: int = 20,
        min_gain: float = 0.0,
        prior_sharpness: float = 2.0,
    ) -> None:
        self.beta = beta
        self.max_trials = max_trials
        self.min_gain = min_gain
        self.prior_sharpness = prior_sharpness

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters."""
        return {
            "beta": self.beta,
            "max_trials": self.max_trials,
            "min_gain": self.min_gain,
            "prior_sharpness": self.prior_sharpness,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- fitting -----------------------------------------------------------------------

    def fit(self, pool: Any, tasks: Sequence[str] | None = None) -> TransferPortfolio:
        """Keep the score matrix of ``pool``'s tasks (a :class:`~metaopt.learn.PoolTable`).

        Parameters
        ----------
        pool
            The pool table (its ``data`` and ``encoder`` are used).
        tasks
            Training task ids (default: all of the pool's).
        """
        from metaopt.learn._targets import config_table, score_matrix, task_groups

        ids = set(pool.task_ids if tasks is None else [str(t) for t in tasks])
        data = pool.data
        ev = data.evaluations[data.evaluations["task_id"].astype(str).isin(ids)]
        ev = ev[ev["algorithm"].astype(str).isin(pool.encoder.algorithms)]
        self.encoder_ = pool.encoder
        self.pools_: dict[str, _KindPool] = {}
        self.similarity_ = TaskSimilarity()
        self.__dict__.pop("_prior_cache", None)  # priors of the previous fit
        if ev.empty:
            return self
        params = config_table(ev)["params"]
        mf_rows: dict[str, np.ndarray] = {}
        groups: dict[str, list[str]] = {}
        group_of = dict(zip(data.tasks["task_id"].astype(str), task_groups(data.tasks), strict=True))
        for kind in _KINDS:
            matrix = score_matrix(ev, kind, task_kinds=data.kinds)
            if matrix.empty or matrix.shape[1] == 0:
                continue
            cols = list(matrix.columns)
            self.pools_[kind] = _KindPool(
                self.encoder_,
                [str(a) for a, _ in cols],
                [dict(params.loc[(a, c)]) for a, c in cols],
                matrix.to_numpy(dtype=np.float64),
                [str(t) for t in matrix.index],
            )
            frame = pd.DataFrame([pool.metafeatures(str(t)) for t in matrix.index])
            mf_rows[kind] = self.encoder_.scale_metafeatures(frame)
            groups[kind] = [group_of.get(str(t), str(t)) for t in matrix.index]
        self.similarity_ = TaskSimilarity().fit(
            {k: p.scores for k, p in self.pools_.items()}, mf_rows, groups
        )
        return self

    @property
    def kinds(self) -> list[str]:
        """Kinds with a pool."""
        return list(getattr(self, "pools_", {}))

    def n_tasks(self, kind: str) -> int:
        """Training tasks of ``kind``."""
        p = self.pools_.get(kind)
        return 0 if p is None else int(p.scores.shape[0])

    # -- persistence (arrays + JSON) -----------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The score matrices (``transfer.<kind>.scores``, tasks × configs) and the task
        similarity's arrays (``transfer.similarity.*``)."""
        out = {f"transfer.{k}.scores": p.scores for k, p in self.pools_.items()}
        out.update(self.similarity_.to_arrays("transfer.similarity."))
        return out

    def to_json(self) -> dict[str, Any]:
        """Parameters, each kind's pool configurations (``[algorithm, params]``) and task ids."""
        return {
            "params": self.get_params(),
            "similarity": self.similarity_.to_json(),
            "kinds": {
                k: [[a, p.params[i]] for i, a in enumerate(p.algorithms)]
                for k, p in self.pools_.items()
            },
            "task_ids": {k: p.task_ids for k, p in self.pools_.items()},
        }

    @classmethod
    def from_saved(
        cls, doc: Mapping[str, Any], arrays: Mapping[str, np.ndarray], encoder: ConfigEncoder
    ) -> TransferPortfolio:
        """Rebuild from :meth:`to_json` and :meth:`to_arrays` (as saved by the optimizer)."""
        tp = cls(**dict(doc.get("params") or {}))
        tp.encoder_ = encoder
        tp.pools_ = {}
        task_ids = dict(doc.get("task_ids") or {})
        for kind, configs in dict(doc.get("kinds") or {}).items():
            scores = np.asarray(arrays[f"transfer.{kind}.scores"], dtype=np.float64)
            if scores.ndim != 2 or scores.shape[1] != len(configs):
                raise ValueError(
                    f"transfer pool of {kind!r}: {len(configs)} configurations but scores "
                    f"of shape {scores.shape}"
                )
            tp.pools_[str(kind)] = _KindPool(
                encoder,
                [str(a) for a, _ in configs],
                [dict(p) for _, p in configs],
                scores,
                task_ids.get(kind),
            )
        sim = doc.get("similarity")
        tp.similarity_ = (
            TaskSimilarity.from_saved(sim, arrays, "transfer.similarity.")
            if sim
            else TaskSimilarity()
        )
        for kind in tp.similarity_.kinds:
            n = tp.n_tasks(kind)
            if tp.similarity_.metafeatures_[kind].shape[0] != n:
                raise ValueError(
                    f"task similarity of {kind!r} knows "
                    f"{tp.similarity_.metafeatures_[kind].shape[0]} tasks, the pool {n}"
                )
        return tp

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the portfolio into directory ``path`` (:mod:`metaopt.learn._saved`'s format)."""
        doc = {"encoder": self.encoder_.to_json(), "transfer": self.to_json()}
        return write_saved(path, "transfer", doc, self.to_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TransferPortfolio:
        """Read a directory written by :meth:`save`.

        Raises
        ------
        ModelError
            If a file is missing or unreadable, or the arrays do not match the checksum.
        ModelVersionError
            If it was saved in another format or for another meta-feature version.
        """
        manifest, arrays = read_saved(path, "transfer")
        doc = manifest["doc"]
        try:
            return cls.from_saved(doc["transfer"], arrays, ConfigEncoder.from_json(doc["encoder"]))
        except (ValueError, KeyError, TypeError, ConfigError) as exc:
            raise ModelError(
                f"the transfer portfolio at {path} is unreadable ({exc})", "retrain with `metaopt train`"
            ) from exc

    # -- a zero-shot order ------------------------------------------------------------

    def order(
        self,
        kind: str,
        k: int,
        metafeatures: Mapping[str, float] | None = None,
        usable: np.ndarray | None = None,
        sharpness: float | None = None,
        family_first: bool = False,
    ) -> list[tuple[int, float]]:
        """The first ``k`` pool columns of the prior-weighted greedy portfolio.

        The order the stage would propose if no trial ever reported back: each step
        takes the column with the highest expected best score so far over the training
        tasks, weighted by the prior from ``metafeatures`` (uniform without them). With
        ``family_first`` the first column is :func:`~metaopt.learn.family_vote`'s
        instead (the family the weighted tasks most often see win, then its config of
        the best weighted mean), and the greedy steps complement it.

        Parameters
        ----------
        kind
            Task kind (its pool).
        k
            How many columns.
        metafeatures
            The dataset's meta-features (raw, as :func:`metaopt.metafeatures.extract`).
        usable
            Boolean mask over the kind's columns (default: all).
        sharpness
            Prior sharpness (default the portfolio's ``prior_sharpness``).
        family_first
            Pick the first column by family vote (what ``metaopt suggest`` ranks with).

        Returns
        -------
        list of (int, float)
            ``(column, expected best normalized score after it)``, best first; fewer than
            ``k`` when fewer columns are usable.
        """
        pool = self.pools_.get(kind)
        if pool is None:
            return []
        s = pool.scores
        mask = np.ones(s.shape[1], dtype=bool) if usable is None else np.asarray(usable, bool)
        if mask.shape != (s.shape[1],):
            raise ValueError(f"usable has shape {mask.shape}, the {kind} pool {s.shape[1]} columns")
        lw = self.prior_log_weights(kind, metafeatures, sharpness)
        w = np.exp(lw - lw.max())
        w = w / w.sum()
        first: list[int] = []
        if family_first:
            pick, _ = family_vote(s, pool.algorithms, w, mask)
            first = [] if pick is None else [pick]
        picks, regrets = greedy_portfolio(s, k, weights=w, available=mask, first=first)
        return [(j, 1.0 - r) for j, r in zip(picks, regrets, strict=True)]

    def column(self, kind: str, j: int) -> tuple[str, dict[str, Any]]:
        """Column ``j`` of ``kind``'s pool: ``(algorithm, params)`` as evaluated."""
        pool = self.pools_[kind]
        return pool.algorithms[j], dict(pool.params[j])

    def columns(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """Every column of ``kind``'s pool (empty when the kind has none)."""
        pool = self.pools_.get(kind)
        return [] if pool is None else [(a, dict(p)) for a, p in zip(pool.algorithms, pool.params, strict=True)]

    # -- running -------------------------------------------------------------------------

    def start(
        self,
        shape: DataShape,
        algorithms: Sequence[str] | None = None,
        metafeatures: Mapping[str, float] | None = None,
    ) -> TransferRun:
        """A run for a task of this shape, proposing only ``algorithms`` (default all).

        ``metafeatures`` (the dataset's, :func:`metaopt.metafeatures.extract`) set the
        prior task weights through the learned similarity; without them the prior is
        uniform.
        """
        return TransferRun(self, shape, algorithms, metafeatures)

    def prior_log_weights(
        self,
        kind: str,
        metafeatures: Mapping[str, float] | None,
        sharpness: float | None = None,
    ) -> np.ndarray:
        """Log prior weight of each training task of ``kind`` (zeros: uniform).

        ``sharpness`` defaults to ``prior_sharpness``.
        """
        pool = self.pools_.get(kind)
        n = 0 if pool is None else pool.scores.shape[0]
        sim = getattr(self, "similarity_", None)
        b = float(self.prior_sharpness if sharpness is None else sharpness)
        if metafeatures is None or sim is None or not b:
            return np.zeros(n)
        z = self.encoder_.scale_metafeatures(dict(metafeatures))[0]
        key = (kind, b, np.nan_to_num(z, nan=0.0).tobytes())
        cache: dict[Any, np.ndarray] = self.__dict__.setdefault("_prior_cache", {})
        if key not in cache:  # a sampler restarts the run on every trial of one dataset
            lw = sim.log_weights(kind, z, b)
            while len(cache) >= 8:
                cache.pop(next(iter(cache)))
            cache[key] = np.zeros(n) if lw is None else lw
        return cache[key].copy()


class TransferRun:
    """One study's transfer stage: observe trials, propose the next pool configuration."""

    def __init__(
        self,
        portfolio: TransferPortfolio,
        shape: DataShape,
        algorithms: Sequence[str] | None,
        metafeatures: Mapping[str, float] | None = None,
    ) -> None:
        self.portfolio = portfolio
        self.shape = shape
        self.kind = str(shape.kind)
        if self.kind not in _KINDS:
            raise ConfigError(f"unknown task kind {self.kind!r}", f"use one of {', '.join(_KINDS)}")
        self.pool = portfolio.pools_.get(self.kind)
        allowed = None if algorithms is None else {str(a) for a in algorithms}
        self._col_weight = block_weights(portfolio.encoder_)
        if self.pool is None:
            self._usable = np.zeros(0, dtype=bool)
        else:
            ok = {
                a: (allowed is None or a in allowed) and get_space(a).supports(shape) is None
                for a in set(self.pool.algorithms)
            }
            self._usable = np.array([ok[a] for a in self.pool.algorithms], dtype=bool)
        self.log_prior = portfolio.prior_log_weights(self.kind, metafeatures)
        self._observed: list[int] = []
        self._values: list[float] = []
        self._pending: list[int] = []
        self.n_observed = 0
        self.last_index: int | None = None

    # -- observations ----------------------------------------------------------------------

    def nearest(self, algorithm: str, params: Mapping[str, Any]) -> int | None:
        """The pool column nearest to a configuration (same algorithm), or None."""
        if self.pool is None:
            return None
        enc = self.portfolio.encoder_
        if algorithm not in enc.algorithms:
            return None
        rows = np.flatnonzero(self.pool.alg_names == algorithm)
        if rows.size == 0:
            return None
        n_alg = len(enc.algorithms)
        try:
            x = enc.encode_configs([algorithm], [dict(params)])[0, n_alg:]
        except ConfigError:
            known = {p.name for p in enc.params_.get(algorithm, [])}
            x = enc.encode_configs([algorithm], [{k: v for k, v in params.items() if k in known}])[
                0, n_alg:
            ]
        return int(rows[nearest_config(self.pool.blocks[rows], x, self._col_weight)])

    def observe(self, algorithm: str, params: Mapping[str, Any], value: float | None) -> None:
        """Record a finished trial (``value``: greater is better; None if it failed)."""
        self.n_observed += 1
        col = self.nearest(str(algorithm), params)
        if col is None:
            return
        v = -np.inf if value is None or not np.isfinite(value) else float(value)
        self._observed.append(col)
        self._values.append(v)

    def in_flight(self, algorithm: str, params: Mapping[str, Any], column: int | None = None) -> None:
        """Record a trial in flight (or a configuration already taken): its pool column.

        The column (``column``, else the one nearest to the configuration) is not
        proposed again and counts as a member of the portfolio, its training scores
        included in the expected best so far — the greedy step then proposes what best
        complements it, as a static portfolio would. The task weights do not change:
        a trial in flight has no result yet.
        """
        col = self.nearest(str(algorithm), params) if column is None else int(column)
        if col is not None and col not in self._pending:
            self._pending.append(col)

    def weights(self) -> np.ndarray:
        """Current weight of each training task (sums to 1): prior × rank agreement."""
        assert self.pool is not None
        if len(self._observed) < 2 or self.portfolio.beta == 0:
            w = np.exp(self.log_prior - self.log_prior.max())
            return w / w.sum()
        cols = np.array(self._observed)
        vals = np.array(self._values)
        i, j = np.triu_indices(len(cols), 1)
        with np.errstate(invalid="ignore"):
            observed = np.sign(vals[i] - vals[j])  # -inf - -inf is nan: two failures tie
        observed = np.nan_to_num(observed, nan=0.0)
        s = self.pool.scores[:, cols]
        known = np.sign(s[:, i] - s[:, j])
        disagree = (known * observed) < 0
        discordant = disagree.mean(axis=1)
        log_w = self.log_prior - float(self.portfolio.beta) * discordant
        w = np.exp(log_w - log_w.max())
        return w / w.sum()

    # -- proposals ---------------------------------------------------------------------------

    def gains(
        self, algorithm: str | None = None, weights: np.ndarray | None = None
    ) -> tuple[np.ndarray, float]:
        """Expected best score of proposing each column, and the current expected best.

        ``weights`` replaces the task weights (default :meth:`weights`); columns observed
        or :meth:`in_flight` are members already (in the expected best) and are not proposed.
        """
        assert self.pool is not None
        w = self.weights() if weights is None else weights
        s = self.pool.scores
        taken = self._observed + self._pending
        cur = s[:, taken].max(axis=1) if taken else np.zeros(s.shape[0])
        gain = w @ np.maximum(s, cur[:, None])
        mask = self._usable.copy()
        if algorithm is not None:
            mask &= self.pool.alg_names == algorithm
        mask[taken] = False
        return np.where(mask, gain, -np.inf), float(w @ cur)

    def propose_index(
        self, algorithm: str | None = None, rng: np.random.Generator | None = None
    ) -> int | None:
        """The pool column to try next, or None when the stage is over.

        Without ``rng`` the column of the best expected gain. With ``rng`` (after the
        first trial: the first proposal is always the best) a Thompson draw over which
        training tasks the new one resembles: the task weights are multiplied by
        i.i.d. Gamma(c, 1/c) factors, a tempered Bayesian bootstrap (Rubin 1981;
        ``c`` = :data:`DRAW_CONCENTRATION`), and the column of the best expected gain
        under the drawn weights is taken. Columns whose gains differ by less than the
        uncertainty of the weighted mean trade places from seed to seed; a column that
        is clearly best stays first. Whether the stage is over does not depend on the draw.
        """
        if self.pool is None or self.n_observed >= int(self.portfolio.max_trials):
            return None
        gain, current = self.gains(algorithm)
        j = int(np.argmax(gain))
        if not np.isfinite(gain[j]):
            return None
        if self._observed and gain[j] - current < float(self.portfolio.min_gain):
            return None
        if rng is not None and (self._observed or self._pending):
            c = DRAW_CONCENTRATION
            w = self.weights() * rng.gamma(c, 1.0 / c, size=self.pool.scores.shape[0])
            drawn, _ = self.gains(algorithm, w / w.sum())
            j = int(np.argmax(drawn))
        return j

    def propose(
        self, algorithm: str | None = None, rng: np.random.Generator | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """The next pool configuration, fitted to this shape; None when the stage is over.

        ``rng``: draw the column as :meth:`propose_index` describes (default: the best).
        The column proposed is kept in :attr:`last_index`.
        """
        j = self.propose_index(algorithm, rng)
        self.last_index = j
        if j is None:
            return None
        assert self.pool is not None
        return self.pool.algorithms[j], self.params_for_shape(j)

    def params_for_shape(self, j: int) -> dict[str, Any]:
        """Column ``j``'s parameters for this shape (numbers clipped into its ranges)."""
        assert self.pool is not None
        return fit_to_shape(self.pool.algorithms[j], self.pool.params[j], self.shape)


def clip_to_shape(
    algorithm: str, given: Mapping[str, Any], shape: DataShape, *, active_only: bool = True
) -> dict[str, Any]:
    """The parameters of ``given`` that ``shape``'s space offers, numbers clipped into range.

    Numeric values are clipped into the shape's bounds (e.g. ``n_neighbors`` on a small
    dataset) and rounded for integers; a categorical value the shape does not offer,
    and a parameter the space does not know, are left out. With ``active_only`` a
    parameter whose condition fails on the values kept so far is left out too. Nothing
    is filled in: :func:`fit_to_shape` validates the result into a full config, the
    tuning benchmark enqueues it as fixed trial parameters.
    """
    config: dict[str, Any] = {}
    for p in get_space(algorithm).params(shape):
        if p.name not in given or (active_only and not p.is_active(config)):
            continue
        value = given[p.name]
        if p.type == "categorical":
            try:
                config[p.name] = p.choices[p.index(value)]
            except ValueError:
                continue
        else:
            v = min(max(float(value), float(p.low)), float(p.high))  # type: ignore[arg-type]
            config[p.name] = int(round(v)) if p.type == "int" else v
    return config


def fit_to_shape(algorithm: str, given: Mapping[str, Any], shape: DataShape) -> dict[str, Any]:
    """A pool configuration's parameters made valid for ``shape``.

    :func:`clip_to_shape` (active parameters only), then the space validates the result
    (its defaults fill what was left out).
    """
    return get_space(algorithm).validate(clip_to_shape(algorithm, given, shape), shape)
