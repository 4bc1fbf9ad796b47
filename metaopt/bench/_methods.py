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
    "SurrogateMethod",
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

    def out_of_distribution(self, task: HeldOutTask) -> bool | None:
        """Whether the method flags ``task`` as unlike its training tasks (``None``: no flag)."""
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


#: Cheap surrogate settings of the benchmark's per-fold recommenders.
BENCH_SURROGATE: dict[str, Any] = {"max_iter": 100, "calibrate_floor": True}


class MetaoptMethod(BenchMethod):
    """metaopt as it ships: a :class:`~metaopt.recommend.Recommender` per fold.

    Per fold a Recommender is fitted on the training tasks (surrogate with
    ``n_members`` cheap members, no learned optimizer: the ranking does not use it) and
    each held-out task is ranked by :meth:`~metaopt.recommend.Recommender.rank` — the
    call :func:`metaopt.suggest` makes, out-of-distribution fallback and per-algorithm
    cap included — over the pool configurations as the knowledge base evaluated them
    (``suggest`` also fits them to the data's shape; ``tests/bench/test_ldo.py`` checks
    that both give the same ranking).
    """

    is_baseline = False

    def __init__(
        self,
        n_members: int = 4,
        surrogate_params: Mapping[str, Any] | None = None,
        name: str = "metaopt",
    ) -> None:
        self.n_members = n_members
        self.surrogate_params = dict(BENCH_SURROGATE if surrogate_params is None else surrogate_params)
        self.name = name

    def fit(self, kb: KnowledgeBase, data: TrainingData) -> None:
        from metaopt.recommend import Recommender

        train = sorted(data.tasks["task_id"].astype(str))
        self.recommender_ = Recommender(
            n_members=self.n_members,
            surrogate_params=self.surrogate_params,
            optimizer_params={"iterations": 0},
        ).fit(kb, train)

    def recommend(self, task: HeldOutTask, k: int) -> list[Recommendation]:
        ranked = self.recommender_.rank(task.metafeatures, task.kind, k)
        return [(c.algorithm, dict(c.params)) for c in ranked]

    def predict_pool(
        self, task: HeldOutTask, pool: Sequence[Recommendation]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        mean, std = self.recommender_.surrogate_.predict_configs(task.metafeatures, list(pool))
        return np.asarray(mean, dtype=float), np.asarray(std, dtype=float)

    def out_of_distribution(self, task: HeldOutTask) -> bool | None:
        """The flag ``metaopt suggest`` shows (:meth:`~metaopt.recommend.Recommender.ood_weight`)."""
        if task.kind not in self.recommender_.transfer_.kinds:
            return None
        return self.recommender_.ood_weight(task.metafeatures, task.kind)[0]


class SurrogateMethod(BenchMethod):
    """The warm-start surrogate alone ranks the fold's pool (what the similarity replaced).

    Per fold a :class:`~metaopt.learn.Surrogate` is fitted on the training tasks (the
    cheap settings of :class:`MetaoptMethod`) and the pool configurations of the held-out
    task's kind are ranked by :func:`metaopt.recommend.rank_candidates` (its
    per-algorithm cap included). Kept in the benchmark to show what the learned
    similarity adds.
    """

    is_baseline = False

    def __init__(self, n_members: int = 4, name: str = "metaopt_surrogate") -> None:
        self.n_members = n_members
        self.name = name

    def fit(self, kb: KnowledgeBase, data: TrainingData) -> None:
        from metaopt.learn import Surrogate

        train = sorted(data.tasks["task_id"].astype(str))
        self.surrogate_ = Surrogate.from_kb(
            kb, tasks=train, n_members=self.n_members, max_iter=100, calibrate_floor=True
        )
        table = config_table(data.evaluations)
        ev = data.evaluations[["task_id", "algorithm", "config_id", "status"]]
        ev = ev[ev["status"].astype(str) != "skipped"]
        kinds = data.kinds
        self.pool_: dict[str, list[Recommendation]] = {}
        for kind in sorted(set(kinds)):
            ids = set(kinds[kinds == kind].index)
            keys = ev[ev["task_id"].astype(str).isin(ids)][["algorithm", "config_id"]].drop_duplicates()
            self.pool_[kind] = [
                (str(a), dict(table.loc[(a, c), "params"]))
                for a, c in sorted(map(tuple, keys.to_numpy().tolist()))
            ]

    def recommend(self, task: HeldOutTask, k: int) -> list[Recommendation]:
        from metaopt.recommend import rank_candidates

        pool = self.pool_.get(task.kind, [])
        if not pool:
            from metaopt._exceptions import ModelError

            raise ModelError(
                f"no training task of kind {task.kind!r} in this fold, so no candidate pool",
                "use more folds' worth of tasks of that kind",
            )
        ranked = rank_candidates(self.surrogate_, task.metafeatures, task.kind, pool, k)
        return [(str(r[0]), dict(r[1])) for r in ranked][:k]

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
