"""Learned task similarity: how differently two tasks rank the shared config pool.

Meta-feature distance is a weak guide to which earlier datasets behave like a new one:
on the 265-task knowledge base the Spearman correlation between the (scaled,
Euclidean) meta-feature distance of a held-out task to each training task and how
differently the two rank the pool is 0.02 on binary tasks, 0.09 on multiclass and
0.24 on regression. :class:`TaskSimilarity` learns that relation instead (the idea of
learning dataset distances for warm starts, Feurer et al. 2015, with a rank target as
in RGPE, Feurer, Letham & Bakshy 2018):

- target, for each pair of training tasks ``(a, b)`` of a kind: the **discordance**
  of their normalized scores over the pool, the fraction of configuration pairs that
  ``a`` and ``b`` order the opposite way (:func:`rank_discordance`; ties count as
  agreeing, as in the transfer stage's own weights);
- features: ``|z_a − z_b|`` and ``(z_a + z_b) / 2`` of the scaled meta-features
  (symmetric, so one row per unordered pair; the mean lets the model learn that some
  regions of meta-feature space are more alike than others);
- model: one :class:`~sklearn.ensemble.HistGradientBoostingRegressor` per kind,
  exported to numpy arrays (:mod:`metaopt.learn._trees`), so predicting needs neither
  scikit-learn nor pickle.

It is metaopt's one notion of "a similar dataset": the suggestion ranking weights the
training tasks by it, the evidence shown with a suggestion lists the training tasks it
weights most, and it knows its own domain — :meth:`TaskSimilarity.novelty` is how much
farther (RMS distance over the scaled meta-features it reads) a new task lies from its
nearest training task of the kind than training tasks lie from their nearest
neighbour of *another* base dataset; beyond the 95th percentile of the latter
(``thresholds_``) a task is out of distribution.

Leave-dataset-out on the 265 tasks (5 grouped folds × 3 fold seeds; ``similarity_quality``
in ``benchmarks/harness``, run by ``benchmarks/bench_transfer.py``), the predicted
discordance of a held-out task to the training tasks correlates with the
real one at 0.40 (binary), 0.61 (multiclass) and 0.76 (regression). Weighting the training tasks by
``exp(−sharpness · standardized predicted discordance)`` (:meth:`TaskSimilarity.weights`)
before a greedy portfolio step lowered the first configuration's mean regret from
0.040–0.043 (uniform weights: the static portfolio's first member) to 0.031–0.035 on
each of three fold seeds (``python benchmarks/bench_transfer.py``, pool configs only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metaopt.learn._trees import TreeArrays, export_hgb, predict_trees

__all__ = ["TaskSimilarity", "rank_discordance"]


def rank_discordance(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Fraction of column pairs that rows of ``a`` and rows of ``b`` order oppositely.

    Parameters
    ----------
    a, b
        ``(n_a, m)`` and ``(n_b, m)`` score matrices over the same ``m`` columns
        (``b`` defaults to ``a``). NaN counts as tied with everything.

    Returns
    -------
    numpy.ndarray
        ``(n_a, n_b)``; entry ``[i, j]`` is the number of column pairs ``(c, d)`` with
        ``sign(a[i, c] − a[i, d]) · sign(b[j, c] − b[j, d]) < 0`` over all ``m(m−1)/2``
        pairs (0: the same order, up to ties; 1: the reverse order).
    """
    a = np.asarray(a, dtype=np.float64)
    b = a if b is None else np.asarray(b, dtype=np.float64)
    m = a.shape[1]
    if b.shape[1] != m:
        raise ValueError(f"a has {m} columns, b has {b.shape[1]}")
    out = np.zeros((a.shape[0], b.shape[0]))
    if m < 2:
        return out
    i, j = np.triu_indices(m, 1)
    # chunks of column pairs keep memory at ~ (n_a + n_b) × 20,000 float32s
    step = 20_000
    for s in range(0, i.size, step):
        ii, jj = i[s : s + step], j[s : s + step]
        with np.errstate(invalid="ignore"):
            sa = np.nan_to_num(np.sign(a[:, ii] - a[:, jj]), nan=0.0).astype(np.float32)
            sb = np.nan_to_num(np.sign(b[:, ii] - b[:, jj]), nan=0.0).astype(np.float32)
        both = (sa != 0).astype(np.float32) @ (sb != 0).astype(np.float32).T
        out += (both - sa @ sb.T) / 2.0  # discordant = (pairs both order − agreement) / 2
    return out / i.size


def _rms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMS distance between the rows of ``a`` and the rows of ``b``."""
    sq = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0) / max(a.shape[1], 1))


def _novelty_scale(z: np.ndarray, groups: Sequence[str] | None) -> tuple[float, float]:
    """``(reference, threshold)`` of :meth:`TaskSimilarity.novelty` for training tasks ``z``.

    Reference: the median distance of a training task to its nearest other task;
    threshold: the 95th percentile of the excess over it of each task's distance to the
    nearest task of another group (leave-group-out: a variant of a known dataset is not
    what "new" means).
    """
    n = z.shape[0]
    if n < 2:
        return 0.0, float("inf")
    d = _rms(z, z)
    np.fill_diagonal(d, np.inf)
    reference = float(np.median(d.min(axis=1)))
    g = np.asarray(list(groups) if groups is not None else [str(i) for i in range(n)], dtype=object)
    d[g[:, None] == g[None, :]] = np.inf
    nn = d.min(axis=1)
    nn = nn[np.isfinite(nn)]
    if not len(nn):
        return reference, float("inf")
    return reference, float(np.percentile(np.maximum(nn - reference, 0.0), 95))


def _pair_features(za: np.ndarray, zb: np.ndarray) -> np.ndarray:
    return np.hstack([np.abs(za - zb), (za + zb) / 2.0])


class TaskSimilarity:
    """Predicted rank discordance between a new task and each training task, per kind.

    Parameters
    ----------
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf
        The gradient-boosting model of each kind (scikit-learn's names);
        ``min_samples_leaf`` shrinks to a tenth of the pairs (at least 2) when a kind has
        fewer than ten times that many task pairs.
    min_tasks
        A kind with fewer training tasks gets no model (uniform weights).
    random_state
        Seed of the boosting model.

    Examples
    --------
    >>> sim = TaskSimilarity().fit({"binary": S}, {"binary": Z})          # doctest: +SKIP
    >>> w = sim.weights("binary", z_new, sharpness=2.0)                  # doctest: +SKIP
    """

    def __init__(
        self,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 20,
        min_tasks: int = 5,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.min_tasks = min_tasks
        self.random_state = random_state

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters."""
        return {
            "max_iter": self.max_iter,
            "learning_rate": self.learning_rate,
            "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": self.min_samples_leaf,
            "min_tasks": self.min_tasks,
            "random_state": self.random_state,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def fit(
        self,
        scores: Mapping[str, np.ndarray],
        metafeatures: Mapping[str, np.ndarray],
        groups: Mapping[str, Sequence[str]] | None = None,
    ) -> TaskSimilarity:
        """Fit one model per kind.

        Parameters
        ----------
        scores
            Kind → ``(n_tasks, n_configs)`` normalized scores of its training tasks on
            the kind's shared pool.
        metafeatures
            Kind → ``(n_tasks, n_metafeatures)`` scaled meta-features of the same tasks
            in the same order (NaN read as 0, the scaled median).
        groups
            Kind → base-dataset group of each task (default: every task its own group);
            the novelty threshold is calibrated against tasks of other groups.
        """
        from sklearn.ensemble import HistGradientBoostingRegressor

        self.models_: dict[str, TreeArrays] = {}
        self.metafeatures_: dict[str, np.ndarray] = {}
        self.references_: dict[str, float] = {}
        self.thresholds_: dict[str, float] = {}
        for kind, s in scores.items():
            z = np.nan_to_num(np.asarray(metafeatures[kind], dtype=np.float64), nan=0.0)
            s = np.asarray(s, dtype=np.float64)
            if z.shape[0] != s.shape[0]:
                raise ValueError(
                    f"{kind}: {s.shape[0]} tasks of scores but {z.shape[0]} of meta-features"
                )
            self.metafeatures_[str(kind)] = z
            g = None if groups is None else groups.get(kind)
            self.references_[str(kind)], self.thresholds_[str(kind)] = _novelty_scale(z, g)
            if s.shape[0] < max(int(self.min_tasks), 2):
                continue
            d = rank_discordance(s)
            ia, ib = np.triu_indices(s.shape[0], 1)
            est = HistGradientBoostingRegressor(
                max_iter=self.max_iter,
                learning_rate=self.learning_rate,
                max_leaf_nodes=self.max_leaf_nodes,
                # a small KB's few pairs could not be split at all with 20 per leaf
                min_samples_leaf=min(int(self.min_samples_leaf), max(2, ia.size // 10)),
                early_stopping=False,
                random_state=self.random_state,
            ).fit(_pair_features(z[ia], z[ib]), d[ia, ib])
            self.models_[str(kind)] = export_hgb(est)
        return self

    @property
    def kinds(self) -> list[str]:
        """Kinds with a model."""
        return list(getattr(self, "models_", {}))

    def discordance(self, kind: str, z: np.ndarray) -> np.ndarray | None:
        """Predicted discordance of a task (scaled meta-features ``z``) to each training task.

        None when the kind has no model.
        """
        model = getattr(self, "models_", {}).get(kind)
        if model is None:
            return None
        train = self.metafeatures_[kind]
        z = np.nan_to_num(np.asarray(z, dtype=np.float64).reshape(1, -1), nan=0.0)
        if z.shape[1] != train.shape[1]:
            raise ValueError(f"expected {train.shape[1]} meta-features, got {z.shape[1]}")
        return predict_trees(model, _pair_features(np.repeat(z, train.shape[0], 0), train))

    def novelty(self, kind: str, z: np.ndarray) -> tuple[float, float]:
        """``(excess distance, threshold)`` of a task to the kind's training tasks.

        The excess is the RMS distance of ``z`` to the nearest training task minus the
        median such distance among the training tasks (0 when closer); the task is out
        of distribution when it exceeds the threshold. ``(0.0, inf)`` without a model.
        """
        train = getattr(self, "metafeatures_", {}).get(kind)
        if train is None or not len(train):
            return 0.0, float("inf")
        z = np.nan_to_num(np.asarray(z, dtype=np.float64).reshape(1, -1), nan=0.0)
        nearest = float(_rms(z, train).min())
        return max(nearest - self.references_[kind], 0.0), self.thresholds_[kind]

    def log_weights(self, kind: str, z: np.ndarray, sharpness: float) -> np.ndarray | None:
        """``−sharpness · (d − min d) / std d`` of the predicted discordance ``d``.

        Standardizing makes ``sharpness`` mean the same on every kind and KB size
        (``d`` is then in units of its spread over the training tasks). None when the
        kind has no model; zeros when ``sharpness`` is 0 or every prediction is equal.
        """
        d = self.discordance(kind, z)
        if d is None:
            return None
        spread = float(np.std(d))
        if sharpness == 0 or spread <= 1e-12:
            return np.zeros_like(d)
        return -float(sharpness) * (d - d.min()) / spread

    def weights(self, kind: str, z: np.ndarray, sharpness: float) -> np.ndarray | None:
        """Training-task weights ``∝ exp(log_weights)`` (sum to 1); None without a model."""
        lw = self.log_weights(kind, z, sharpness)
        if lw is None:
            return None
        w = np.exp(lw - lw.max())
        return w / w.sum()

    # -- persistence (arrays + JSON) -------------------------------------------------

    def to_arrays(self, prefix: str = "similarity.") -> dict[str, np.ndarray]:
        """Tree arrays and training meta-features under ``prefix<kind>.`` keys."""
        out: dict[str, np.ndarray] = {}
        for kind, model in getattr(self, "models_", {}).items():
            out.update(model.to_arrays(f"{prefix}{kind}.tree."))
        for kind, z in getattr(self, "metafeatures_", {}).items():
            out[f"{prefix}{kind}.metafeatures"] = z
        return out

    def to_json(self) -> dict[str, Any]:
        """Parameters, the kinds that have a model and their novelty scales."""
        return {
            "params": self.get_params(),
            "kinds": self.kinds,
            "references": dict(getattr(self, "references_", {})),
            "thresholds": dict(getattr(self, "thresholds_", {})),
        }

    @classmethod
    def from_saved(
        cls, doc: Mapping[str, Any], arrays: Mapping[str, np.ndarray], prefix: str = "similarity."
    ) -> TaskSimilarity:
        """Rebuild from :meth:`to_json` and :meth:`to_arrays`."""
        sim = cls(**dict(doc.get("params") or {}))
        sim.models_ = {}
        sim.metafeatures_ = {}
        sim.references_ = {str(k): float(v) for k, v in dict(doc.get("references") or {}).items()}
        sim.thresholds_ = {
            str(k): float("inf") if v is None else float(v)
            for k, v in dict(doc.get("thresholds") or {}).items()
        }
        for kind in doc.get("kinds") or []:
            sim.models_[str(kind)] = TreeArrays.from_arrays(arrays, f"{prefix}{kind}.tree.")
        for kind in sim.thresholds_:
            sim.metafeatures_[kind] = np.asarray(arrays[f"{prefix}{kind}.metafeatures"], dtype=np.float64)
        return sim
