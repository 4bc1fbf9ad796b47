"""Greedy static portfolio (auto-sklearn 2.0 / TabRepo style): baseline and fallback."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metaopt._exceptions import ModelError
from metaopt.learn._baselines import (
    KINDS,
    BaseBaseline,
    Recommendation,
    TrainingData,
    _kind_matrix,
    _library_order,
    _params_lookup,
)

__all__ = ["GreedyPortfolio", "family_vote", "greedy_portfolio"]


def greedy_portfolio(
    scores: np.ndarray,
    size: int,
    weights: np.ndarray | None = None,
    available: np.ndarray | None = None,
    first: Sequence[int] = (),
) -> tuple[list[int], list[float]]:
    """Greedy forward selection of columns of a task × config matrix of normalized scores.

    The columns of ``first`` (those available) are taken first, in their order; then,
    at each step, add the column that minimises the (weighted) mean over tasks (rows) of
    the portfolio's regret, ``1 - max`` normalized score among the columns picked so
    far; ties go to the larger (weighted) mean score of the column itself, then to the
    lower column index. Once every task's regret is 0 the selection goes on by mean
    score.

    Parameters
    ----------
    scores
        ``(n_tasks, n_configs)`` normalized scores in [0, 1]; no NaN (fill with 0).
    size
        Number of columns to pick (at most the number of available ones).
    weights
        ``(n_tasks,)`` task weights summing to 1 (default uniform).
    available
        ``(n_configs,)`` boolean mask of the columns that may be picked (default all).
    first
        Columns picked before the greedy steps (e.g. :func:`family_vote`'s choice).

    Returns
    -------
    picks, regrets
        Column indices in pick order, and the (weighted) mean portfolio regret after
        each pick (non-increasing).
    """
    scores = np.asarray(scores, dtype=float)
    n_tasks, n_configs = scores.shape
    w = np.full(n_tasks, 1.0 / max(n_tasks, 1)) if weights is None else np.asarray(weights, float)
    open_ = np.ones(n_configs, dtype=bool) if available is None else np.asarray(available, bool).copy()
    size = min(int(size), int(open_.sum()))
    best = np.zeros(n_tasks)
    col_mean = w @ scores if n_tasks else np.zeros(n_configs)
    picks: list[int] = []
    regrets: list[float] = []
    queue = [int(j) for j in first]
    for _ in range(size):
        while queue and not open_[queue[0]]:
            queue.pop(0)
        if queue:
            choice = queue.pop(0)
        else:
            port = np.maximum(best[:, None], scores)  # (tasks, configs)
            objective = 1.0 - w @ port if n_tasks else np.zeros(n_configs)
            objective = np.where(open_, objective, np.inf)
            # lexicographic: objective, then -mean score, then index (np.lexsort: last key first)
            order = np.lexsort((np.arange(n_configs), -col_mean, np.round(objective, 12)))
            choice = int(order[0])
        picks.append(choice)
        open_[choice] = False
        best = np.maximum(best, scores[:, choice])
        regrets.append(float(1.0 - w @ best) if n_tasks else 0.0)
    return picks, regrets


def family_vote(
    scores: np.ndarray,
    algorithms: Sequence[str],
    weights: np.ndarray | None = None,
    available: np.ndarray | None = None,
) -> tuple[int | None, dict[str, float]]:
    """The family most likely to hold the best config, and that family's best config.

    Each task votes, with its weight, for the algorithm family whose best available
    config scores highest on it (a tie splits the vote). The family with the most votes
    wins (ties: the larger weighted mean score of its best config, then the name); its
    config with the highest weighted mean score is the pick. A greedy portfolio's first
    pick is the config with the best weighted mean over all families — often a robust
    all-rounder of a family that is rarely the best; voting first asks which family
    tends to win, then which of its configs.

    Parameters
    ----------
    scores
        ``(n_tasks, n_configs)`` normalized scores; no NaN.
    algorithms
        Family (algorithm) of each column.
    weights
        ``(n_tasks,)`` task weights (default uniform).
    available
        ``(n_configs,)`` boolean mask of the columns that may be picked (default all).

    Returns
    -------
    pick, votes
        The chosen column (None when no column is available) and each family's share of
        the votes.
    """
    scores = np.asarray(scores, dtype=float)
    n_tasks, n_configs = scores.shape
    algs = np.asarray([str(a) for a in algorithms], dtype=object)
    w = np.full(n_tasks, 1.0 / max(n_tasks, 1)) if weights is None else np.asarray(weights, float)
    open_ = np.ones(n_configs, dtype=bool) if available is None else np.asarray(available, bool)
    fams = sorted({str(a) for a in algs[open_]})
    if not fams or n_tasks == 0:
        return (int(np.flatnonzero(open_)[0]) if open_.any() else None), {}
    mean = w @ scores
    cols = {a: np.flatnonzero(open_ & (algs == a)) for a in fams}
    best = np.stack([scores[:, cols[a]].max(axis=1) for a in fams], axis=1)  # tasks × families
    top = best >= best.max(axis=1, keepdims=True) - 1e-12
    share = w @ (top / top.sum(axis=1, keepdims=True))
    votes = {a: float(v) for a, v in zip(fams, share, strict=True)}
    family = max(fams, key=lambda a: (round(votes[a], 12), float(mean[cols[a]].max()), a))
    c = cols[family]
    return int(c[np.argmax(mean[c])]), votes


class GreedyPortfolio(BaseBaseline):
    """Per kind, a static portfolio greedily picked from the shared config pool.

    The knowledge base evaluates the same pool of configs (each algorithm's default
    plus its Sobol design) on every task of a kind, so the task × config matrix of
    normalized scores is dense; :func:`greedy_portfolio` picks configs one by one to
    minimise the mean over training tasks of the portfolio's regret (the regret of the
    best config picked so far). ``recommend`` returns the first ``k`` picks, whatever
    the meta-features.

    Parameters
    ----------
    size
        Portfolio length per kind; ``None`` means every config of the pool (ranked).
    algorithms
        Restrict the pool to these algorithms; ``None`` means all.
    """

    def __init__(self, size: int | None = 32, algorithms: list[str] | None = None) -> None:
        self.size = size
        self.algorithms = algorithms

    def _fit(self, data: TrainingData) -> None:
        params = _params_lookup(data)
        self.portfolio_: dict[str, list[list[Any]]] = {}
        self.regret_curve_: dict[str, list[float]] = {}
        for kind in KINDS:
            matrix = _kind_matrix(data, kind)
            if matrix.empty:
                continue
            if self.algorithms is not None:
                matrix = matrix.loc[:, matrix.columns.get_level_values(0).isin(list(self.algorithms))]
            # deterministic column order: library order of algorithms, then config id
            algs = _library_order(matrix.columns.get_level_values(0))
            cols = sorted(matrix.columns, key=lambda c: (algs.index(c[0]), c[1]))
            if not cols:
                continue
            matrix = matrix[cols]
            size = len(cols) if self.size is None else int(self.size)
            picks, regrets = greedy_portfolio(matrix.to_numpy(), size)
            self.portfolio_[kind] = [
                [cols[i][0], cols[i][1], params.get((cols[i][0], cols[i][1]), {})] for i in picks
            ]
            self.regret_curve_[kind] = regrets

    def _recommend(self, metafeatures: Mapping[str, float] | None, kind: str, k: int) -> list[Recommendation]:
        if kind not in self.portfolio_:
            raise ModelError(
                f"{type(self).__name__} saw no training task of kind {kind!r}",
                "fit it on a knowledge base with tasks of that kind, or use LibraryDefaults",
            )
        return [(a, dict(p)) for a, _, p in self.portfolio_[kind]]

    def config_ids(self, kind: str) -> list[tuple[str, str]]:
        """The portfolio of ``kind`` as ``(algorithm, config_id)``, in pick order."""
        return [(a, c) for a, c, _ in self.portfolio_.get(kind, [])]

    def _state(self) -> dict[str, Any]:
        return {"portfolio": self.portfolio_, "regret_curve": self.regret_curve_}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        self.portfolio_ = {k: [list(e) for e in v] for k, v in state["portfolio"].items()}
        self.regret_curve_ = {k: [float(x) for x in v] for k, v in state["regret_curve"].items()}
