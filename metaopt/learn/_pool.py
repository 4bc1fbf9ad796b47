"""The evaluated pool of each knowledge-base task as a function of any configuration.

The knowledge base evaluates a finite pool of configurations per task. To meta-train
the learned optimizer and to benchmark samplers that propose *arbitrary*
configurations (Optuna's random search, TPE, CMA-ES), :class:`PoolTable` answers
"what would this configuration have scored on task T?" with the normalized score
(:func:`metaopt.learn.normalized_scores`) of the **nearest evaluated configuration of
the same algorithm** on T, a real measurement rather than a model's guess (the
discrete setting of HPO-B, Pineda Arango et al. 2021, made usable by continuous
samplers by snapping).

Distance: configurations are encoded with the :class:`~metaopt.learn.ConfigEncoder`'s
config block (numeric parameters in unit coordinates, categoricals one-hot); the
squared Euclidean distance is taken over the columns that the *evaluated*
configuration defines (a parameter that is inactive there does not count), with
one-hot differences halved so that a different categorical choice costs 1, as a full
unit-interval step does. Ties go to the first evaluated configuration in
``(algorithm, config_id)`` order, so scores are deterministic.

Failed evaluations (``error``, ``timeout``) keep their normalized score 0: proposing a
configuration that failed is as bad as the worst one. ``skipped`` rows are left out;
an algorithm with no evaluated configuration on a task scores ``nan`` there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metaopt._exceptions import ModelError
from metaopt.learn._baselines import TrainingData, training_data
from metaopt.learn._encoding import ConfigEncoder
from metaopt.learn._targets import normalized_scores
from metaopt.spaces import DataShape

__all__ = ["PoolTable", "block_weights", "nearest_config"]


def block_weights(encoder: ConfigEncoder) -> np.ndarray:
    """Per config-block column: 0.5 for one-hot columns, 1 for numeric ones."""
    n_alg = len(encoder.algorithms)
    names = encoder.feature_names[encoder.n_metafeatures + n_alg :]
    return np.array([0.5 if "=" in name else 1.0 for name in names], dtype=np.float64)


def nearest_config(configs: np.ndarray, x: np.ndarray, weights: np.ndarray) -> int:
    """Row of ``configs`` nearest to the encoded config ``x`` (the module's distance).

    ``configs``: ``(n, width)`` config blocks, NaN where a config does not define a
    column (those columns do not count); ``x``: one block, NaN read as 0.5.
    """
    x = np.nan_to_num(x, nan=0.5)
    d = np.where(~np.isnan(configs), (np.nan_to_num(configs) - x) ** 2, 0.0) @ weights
    return int(np.argmin(d))


@dataclass
class _TaskPool:
    """One task's evaluated configurations, encoded."""

    algorithms: np.ndarray  # (n,) algorithm index into encoder.algorithms
    configs: np.ndarray  # (n, width) config block without the algorithm one-hot, NaN = undefined
    scores: np.ndarray  # (n,) normalized scores
    params: list[dict[str, Any]]
    config_ids: list[str]


class PoolTable:
    """Per-task evaluated configurations, scored by nearest evaluated neighbour.

    Parameters
    ----------
    source
        A :class:`~metaopt.kb.KnowledgeBase`, its path, or a
        :class:`~metaopt.learn.TrainingData`.
    tasks
        Task ids to keep (default: every task with evaluations and meta-features).
    encoder
        The config encoder whose coordinates define distances (default: a new
        :class:`~metaopt.learn.ConfigEncoder` fitted on the kept tasks' meta-features).

    Attributes
    ----------
    task_ids
        Kept task ids, sorted.
    encoder
        The encoder in use.

    Examples
    --------
    >>> pool = PoolTable("datasets/kb")                                # doctest: +SKIP
    >>> pool.score("keel:pima", "hgb", {"learning_rate": 0.05})       # doctest: +SKIP
    0.93
    """

    def __init__(
        self,
        source: Any,
        tasks: Sequence[str] | None = None,
        encoder: ConfigEncoder | None = None,
    ) -> None:
        data = source if isinstance(source, TrainingData) else training_data(source, tasks)
        if tasks is not None and isinstance(source, TrainingData):
            data = training_data(source, tasks)
        mf = data.metafeatures
        ev = data.evaluations
        ev = ev.assign(normalized=normalized_scores(ev))
        ev = ev[ev["normalized"].notna() & ev["task_id"].astype(str).isin(mf.index.astype(str))]
        if ev.empty:
            raise ModelError(
                "no task of the knowledge base has both evaluations and meta-features",
                "build the knowledge base with `metaopt kb build`",
            )
        mf = mf[mf.index.astype(str).isin(set(ev["task_id"].astype(str)))]
        self.encoder = (
            encoder
            if encoder is not None
            else ConfigEncoder(metafeature_names=[str(c) for c in mf.columns]).fit(mf)
        )
        self.data = data
        self.task_ids: list[str] = sorted(set(ev["task_id"].astype(str)))
        kinds = data.kinds
        self._kind = {t: str(kinds.get(t, "binary")) for t in self.task_ids}
        self._mf = {str(t): {k: float(v) for k, v in row.items()} for t, row in mf.iterrows()}
        tasks_frame = data.tasks.set_index(data.tasks["task_id"].astype(str))
        self._shape: dict[str, DataShape] = {}
        for t in self.task_ids:
            row = tasks_frame.loc[t] if t in tasks_frame.index else pd.Series(dtype=object)
            self._shape[t] = _shape_of(row, self._kind[t])
        alg_index = {a: i for i, a in enumerate(self.encoder.algorithms)}
        ev = ev[ev["algorithm"].astype(str).isin(alg_index)]
        ev = ev.sort_values(["task_id", "algorithm", "config_id"], kind="mergesort")
        ev = ev.drop_duplicates(["task_id", "algorithm", "config_id"], keep="first")
        self._pools: dict[str, _TaskPool] = {}
        n_alg = len(self.encoder.algorithms)
        for task_id, rows in ev.groupby(ev["task_id"].astype(str), sort=True):
            algs = rows["algorithm"].astype(str).tolist()
            params = [p if isinstance(p, Mapping) else json.loads(p) for p in rows["params"]]
            block = self.encoder.encode_configs(algs, params)[:, n_alg:]
            self._pools[str(task_id)] = _TaskPool(
                algorithms=np.array([alg_index[a] for a in algs], dtype=np.int64),
                configs=block.astype(np.float64),
                scores=rows["normalized"].to_numpy(dtype=np.float64),
                params=[dict(p) for p in params],
                config_ids=rows["config_id"].astype(str).tolist(),
            )
        self.task_ids = [t for t in self.task_ids if t in self._pools]
        self._onehot_weight = block_weights(self.encoder)

    # -- facts about tasks -------------------------------------------------------------

    def kind(self, task_id: str) -> str:
        """The task's kind."""
        return self._kind[task_id]

    def metafeatures(self, task_id: str) -> dict[str, float]:
        """The task's meta-features (raw, unscaled)."""
        return dict(self._mf[task_id])

    def shape(self, task_id: str) -> DataShape:
        """The shape the task's evaluations trained on (rows capped at the protocol's 3,000)."""
        return self._shape[task_id]

    def algorithms(self, task_id: str) -> list[str]:
        """Algorithms with at least one evaluated configuration on the task."""
        idx = sorted(set(self._pools[task_id].algorithms.tolist()))
        return [self.encoder.algorithms[i] for i in idx]

    def best(self, task_id: str) -> float:
        """The best normalized score on the task (1 unless every config failed)."""
        return float(np.max(self._pools[task_id].scores))

    def pool(self, task_id: str) -> list[tuple[str, dict[str, Any], float]]:
        """The task's evaluated ``(algorithm, params, normalized score)`` triples."""
        p = self._pools[task_id]
        return [
            (self.encoder.algorithms[a], dict(params), float(s))
            for a, params, s in zip(p.algorithms, p.params, p.scores, strict=True)
        ]

    def pool_algorithms(self, task_id: str) -> list[str]:
        """The algorithm of each row of :meth:`pool`."""
        return [self.encoder.algorithms[a] for a in self._pools[task_id].algorithms]

    def config_ids(self, task_id: str) -> list[str]:
        """The ``config_id`` of each row of :meth:`pool` (keys into the KB's evaluations)."""
        return list(self._pools[task_id].config_ids)

    # -- scoring -----------------------------------------------------------------------

    def encode(self, algorithm: str, params: Mapping[str, Any]) -> np.ndarray:
        """The config-block coordinates of one configuration (without the algorithm one-hot)."""
        n_alg = len(self.encoder.algorithms)
        return self.encoder.encode_configs([algorithm], [dict(params)])[0, n_alg:]

    def nearest(self, task_id: str, algorithm: str, params: Mapping[str, Any]) -> int | None:
        """Index (into :meth:`pool`) of the nearest evaluated config, or None if none."""
        p = self._pools[task_id]
        a = self.encoder.algorithms.index(algorithm)
        rows = np.flatnonzero(p.algorithms == a)
        if rows.size == 0:
            return None
        return int(
            rows[nearest_config(p.configs[rows], self.encode(algorithm, params), self._onehot_weight)]
        )

    def score(self, task_id: str, algorithm: str, params: Mapping[str, Any]) -> float:
        """Normalized score of the nearest evaluated config of ``algorithm`` (nan if none)."""
        i = self.nearest(task_id, algorithm, params)
        return float("nan") if i is None else float(self._pools[task_id].scores[i])

    # -- dense arrays for batched training ---------------------------------------------

    def arrays(self, task_ids: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Padded arrays of the pools of ``task_ids`` (default all), for vectorized lookups.

        Returns
        -------
        dict
            ``configs`` ``(T, C, W)`` (NaN where undefined or padding), ``algorithms``
            ``(T, C)`` (-1 for padding), ``scores`` ``(T, C)``, ``weights`` ``(W,)``,
            ``metafeatures`` ``(T, M)`` (scaled, NaN filled with 0), ``available``
            ``(T, A)`` (bool: the algorithm has configs on the task).
        """
        ids = list(self.task_ids if task_ids is None else task_ids)
        n_c = max(len(self._pools[t].scores) for t in ids)
        width = self._onehot_weight.shape[0]
        n_alg = len(self.encoder.algorithms)
        configs = np.full((len(ids), n_c, width), np.nan)
        algs = np.full((len(ids), n_c), -1, dtype=np.int64)
        scores = np.zeros((len(ids), n_c))
        available = np.zeros((len(ids), n_alg), dtype=bool)
        for i, t in enumerate(ids):
            p = self._pools[t]
            n = len(p.scores)
            configs[i, :n] = p.configs
            algs[i, :n] = p.algorithms
            scores[i, :n] = p.scores
            available[i, np.unique(p.algorithms)] = True
        mf = self.encoder.scale_metafeatures(pd.DataFrame([self._mf[t] for t in ids]))
        return {
            "configs": configs,
            "algorithms": algs,
            "scores": scores,
            "weights": self._onehot_weight.copy(),
            "metafeatures": np.nan_to_num(mf, nan=0.0),
            "available": available,
        }


def _shape_of(row: pd.Series, kind: str) -> DataShape:
    """A task's training shape from its ``tasks`` row (rows capped at the KB's 3,000)."""

    def num(name: str, default: float) -> float:
        value = pd.to_numeric(row.get(name, default), errors="coerce")
        return default if value is None or not np.isfinite(value) else float(value)

    n_rows = int(min(num("n_rows", 3000.0), 3000.0))
    n_features = int(num("n_features", 20.0))
    default_classes = {"binary": 2.0, "multiclass": 3.0}.get(kind, 0.0)
    n_classes = int(num("n_classes", default_classes)) if kind != "regression" else 0
    if kind == "binary":
        n_classes = 2
    return DataShape(
        n_rows=max(n_rows, 2), n_features=max(n_features, 1), kind=kind, n_classes=n_classes
    )
