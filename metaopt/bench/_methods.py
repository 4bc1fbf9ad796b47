"""Methods compared by the leave-dataset-out benchmark: one small base, a few adapters.

A :class:`BenchMethod` is fitted once per fold on the training tasks only, then asked
for ``k`` configurations for each held-out task. Lifecycle: construct, :meth:`fit`
(per fold, may be called many times), :meth:`recommend` (per held-out task).
Optionally :meth:`predict_pool` returns predicted means and σ of pool configs (for
the calibration of the uncertainty) and :meth:`score_outside_pool` scores a
configuration that the knowledge base never evaluated (FLAML's).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metaopt.kb import KnowledgeBase
from metaopt.learn import BaseBaseline, TrainingData, config_table

__all__ = [
    "BaselineMethod",
    "BenchMethod",
    "HeldOutTask",
    "MetaoptMethod",
    "Recommendation",
]

#: One recommended configuration: ``(algorithm, params)``.
Recommendation = tuple[str, dict[str, Any]]


@dataclass
class HeldOutTask:
    """What a method may know about a held-out task (never its evaluations).

    Attributes
    ----------
    task_id, kind, group
        From the knowledge base's ``tasks`` table.
    metafeatures
        Name → value (NaN where undefined).
    row
        The task's full row of the ``tasks`` table (source spec, entry, size...), so a
        method can load the data itself (FLAML).
    """

    task_id: str
    kind: str
    group: str
    metafeatures: dict[str, float]
    row: dict[str, Any] = field(default_factory=dict)


class BenchMethod(ABC):
    """A recommender under test: fitted per fold, asked for ``k`` configs per task."""

    #: Short name used in every table and plot.
    name: str = "method"
    #: Whether the method is a baseline (the Wilcoxon test picks the best baseline).
    is_baseline: bool = True

    @abstractmethod
    def fit(self, kb: KnowledgeBase, data: TrainingData) -> None:
        """Learn from the training tasks of one fold (``data`` holds only those)."""

    @abstractmethod
    def recommend(self, task: HeldOutTask, k: int) -> list[Recommendation]:
        """Up to ``k`` configurations for ``task``, best first."""

    def predict_pool(
        self, task: HeldOutTask, pool: Sequence[Recommendation]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Predicted normalized score and σ of each pool config (``None``: no model)."""
        return None

    def score_outside_pool(self, task: HeldOutTask, rec: Recommendation) -> float | None:
        """Normalized score of a config the KB never evaluated (``None``: unscored)."""
        return None


class BaselineMethod(BenchMethod):
    """Adapter for a :class:`metaopt.learn.BaseBaseline` (fitted on the fold's tasks).

    Parameters
    ----------
    name
        Table name.
    factory
        Makes a fresh, unfitted baseline (called once per fold).
    """

    def __init__(self, name: str, factory: Callable[[], BaseBaseline]) -> None:
        self.name = name
        self.factory = factory

    def fit(self, kb: KnowledgeBase, data: TrainingData) -> None:
        self.model_ = self.factory().fit(data)

    def recommend(self, task: HeldOutTask, k: int) -> list[Recommendation]:
        return self.model_.recommend(task.metafeatures, task.kind, k)


def _rank_candidates() -> Callable[..., Any] | None:
    try:
        from metaopt.recommend._rank import rank_candidates
    except ImportError:
        return None
    return rank_candidates  # type: ignore[no-any-return]


class MetaoptMethod(BenchMethod):
    """metaopt's recommender: the similarity-weighted portfolio, or the surrogate, over the pool.

    ``ranker="similarity"`` (what ``metaopt suggest`` does): per fold a
    :class:`~metaopt.learn.TransferPortfolio` is fitted on the training tasks, and the
    held-out task's suggestions are its prior-weighted greedy portfolio
    (:meth:`~metaopt.learn.TransferPortfolio.order`: training tasks weighted by the
    learned similarity of their meta-features to the held-out task's), capped per
    algorithm as ``rank_candidates`` does when ``diversify``. The surrogate is fitted
    as well: it supplies the predicted scores and σ (:meth:`predict_pool`, the
    calibration).

    ``ranker="surrogate"`` (``metaopt suggest`` before the learned similarity):
    per fold, a :class:`~metaopt.learn.Surrogate` is fitted with
    ``Surrogate.from_kb(kb, tasks=train, **surrogate_params)`` (cheap settings by
    default), and the candidates are the training tasks' pool configs of the held-out
    task's kind. They are ranked by ``metaopt.recommend.rank_candidates`` (exactly what
    ``metaopt suggest`` does, diversity included) when that module exists, else by the
    surrogate's predicted mean (``ranker`` is then ``"mean"``). As in ``metaopt
    train``, the ranking key blends the surrogate with each config's mean score over
    the fold's training tasks of that kind, with the kind's prior weight chosen from
    the fold's surrogate out of bag (:func:`metaopt.learn.choose_prior_weights`; kept
    in :attr:`prior_weights_`, per fold) — when ``prior_blend`` is on. It is off by
    default: on the 265-task knowledge base it did not help (mean regret@1 0.047 with
    the blend against 0.042 without, ``benchmarks/bench_suggest.py``), so ``metaopt
    suggest`` ranks by the surrogate alone.

    Parameters
    ----------
    surrogate_params
        :class:`~metaopt.learn.Surrogate` constructor parameters.
    diversify
        Cap each algorithm at ``ceil(k / 2)`` places (``rank_candidates``' rule).
    ranker
        ``"similarity"`` or ``"surrogate"`` (see above).
    prior_blend
        Blend with the prior as above (default ``False``: the surrogate alone, as
        ``metaopt suggest`` ranks).
    """

    is_baseline = False

    def __init__(
        self,
        surrogate_params: Mapping[str, Any] | None = None,
        diversify: bool = True,
        name: str = "metaopt",
        prior_blend: bool = False,
        ranker: str = "similarity",
    ) -> None:
        if ranker not in ("similarity", "surrogate"):
            raise ValueError(f"ranker must be 'similarity' or 'surrogate', got {ranker!r}")
        self.surrogate_params = dict(
            surrogate_params
            if surrogate_params is not None
            else {"n_members": 4, "max_iter": 100, "calibrate_floor": True}
        )
        self.diversify = diversify
        self.prior_blend = prior_blend
        self.weights_by_fold_: list[dict[str, float]] = []
        self.name = name
        self.ranker = ranker

    def fit(self, kb: KnowledgeBase, data: TrainingData) -> None:
        from metaopt.learn import Surrogate, choose_prior_weights, score_matrix

        train = sorted(data.tasks["task_id"].astype(str))
        self.surrogate_ = Surrogate.from_kb(kb, tasks=train, **self.surrogate_params)
        if self.ranker == "similarity":
            from metaopt.learn import PoolTable, TransferPortfolio

            self.transfer_ = TransferPortfolio().fit(PoolTable(data))
        kinds = data.kinds
        self.prior_weights_: dict[str, float] = {}
        self.prior_: dict[tuple[str, str], float] = {}
        if self.prior_blend:
            selection = choose_prior_weights(
                self.surrogate_.training_table_, self.surrogate_.oob_prediction_, dict(kinds)
            )
            self.prior_weights_ = {k: float(v["weight"]) for k, v in selection.items()}
            self.weights_by_fold_.append(dict(self.prior_weights_))
            for kind in sorted(set(kinds)):
                matrix = score_matrix(data.evaluations, kind, task_kinds=kinds)
                if not matrix.empty:
                    mean = matrix.fillna(0.0).mean(axis=0)
                    self.prior_.update({(str(a), str(c)): float(v) for (a, c), v in mean.items()})
        table = config_table(data.evaluations)
        ev = data.evaluations[["task_id", "algorithm", "config_id", "status"]]
        ev = ev[ev["status"].astype(str) != "skipped"]
        self.pool_: dict[str, list[Recommendation]] = {}
        for kind in sorted(set(kinds)):
            ids = set(kinds[kinds == kind].index)
            keys = ev[ev["task_id"].astype(str).isin(ids)][["algorithm", "config_id"]].drop_duplicates()
            self.pool_[kind] = [
                (str(a), dict(table.loc[(a, c), "params"]))
                for a, c in sorted(map(tuple, keys.to_numpy().tolist()))
            ]

    def recommend(self, task: HeldOutTask, k: int) -> list[Recommendation]:
        pool = self.pool_.get(task.kind, [])
        if not pool:
            from metaopt._exceptions import ModelError

            raise ModelError(
                f"no training task of kind {task.kind!r} in this fold, so no candidate pool",
                "use more folds' worth of tasks of that kind",
            )
        if self.ranker == "similarity":
            return self._recommend_similarity(task, k)
        rank = _rank_candidates()
        if rank is not None:
            from metaopt.spaces import config_id

            weight = self.prior_weights_.get(task.kind, 0.0)
            prior = [self.prior_.get((a, config_id(a, p)), 0.0) for a, p in pool] if weight else None
            ranked = rank(self.surrogate_, task.metafeatures, task.kind, pool, k,
                          diversify=self.diversify, prior=prior, prior_weight=weight)
            return [(str(r[0]), dict(r[1])) for r in ranked][:k]
        mean, _ = self.surrogate_.predict_configs(task.metafeatures, pool)
        order = np.argsort(-mean, kind="stable")[:k]
        return [pool[i] for i in order]

    def _recommend_similarity(self, task: HeldOutTask, k: int) -> list[Recommendation]:
        from metaopt.recommend._rank import diversify_order

        tp = self.transfer_
        cols = tp.columns(task.kind)  # the fold's pool of this kind (recommend checked it exists)
        order = [j for j, _ in tp.order(task.kind, len(cols), task.metafeatures)]
        if self.diversify:
            order = diversify_order([a for a, _ in cols], order, k)
        return [cols[j] for j in order[:k]]

    def predict_pool(
        self, task: HeldOutTask, pool: Sequence[Recommendation]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        mean, std = self.surrogate_.predict_configs(task.metafeatures, list(pool))
        return np.asarray(mean, dtype=float), np.asarray(std, dtype=float)


def metafeatures_of(mf: pd.DataFrame, task_id: str) -> dict[str, float]:
    """One task's meta-features as a name → float mapping (empty if unknown)."""
    if task_id not in mf.index:
        return {}
    return {str(k): float(v) for k, v in mf.loc[task_id].items()}
