"""Nearest-datasets recommender (auto-sklearn 1.x style meta-learning warm start)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

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
from metaopt.learn._portfolio import GreedyPortfolio

__all__ = ["NearestDatasets", "RobustScaler"]


class RobustScaler:
    """Median / IQR standardisation of meta-features, NaN → 0 after scaling.

    A feature with zero (or undefined) IQR is only centred; a feature undefined on every
    training task is centred at 0. Plain arrays and names: saved as JSON.
    """

    def __init__(self) -> None:
        self.names_: list[str] = []
        self.center_ = np.zeros(0)
        self.scale_ = np.ones(0)

    def fit(self, frame: pd.DataFrame) -> RobustScaler:
        """Learn centre and scale per column of ``frame`` (rows = tasks)."""
        values = frame.to_numpy(dtype=float)
        self.names_ = [str(c) for c in frame.columns]
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                center = np.nanmedian(values, axis=0) if len(values) else np.zeros(values.shape[1])
                q75 = np.nanpercentile(values, 75, axis=0) if len(values) else np.ones(values.shape[1])
                q25 = np.nanpercentile(values, 25, axis=0) if len(values) else np.zeros(values.shape[1])
        scale = q75 - q25
        self.center_ = np.where(np.isfinite(center), center, 0.0)
        self.scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scale rows of ``values`` (columns in ``names_`` order); NaN/inf → 0."""
        out = (np.asarray(values, dtype=float) - self.center_) / self.scale_
        return np.where(np.isfinite(out), out, 0.0)

    def vector(self, metafeatures: Mapping[str, float]) -> np.ndarray:
        """One scaled vector from a name → value mapping (missing names are NaN → 0)."""
        raw = np.array([_float(metafeatures.get(n)) for n in self.names_], dtype=float)
        return self.transform(raw)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state."""
        return {"names": self.names_, "center": self.center_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> RobustScaler:
        """Inverse of :meth:`to_dict`."""
        scaler = cls()
        scaler.names_ = [str(n) for n in state["names"]]
        scaler.center_ = np.asarray(state["center"], dtype=float)
        scaler.scale_ = np.asarray(state["scale"], dtype=float)
        return scaler


def _float(value: Any) -> float:
    try:
        return float(value) if value is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


class NearestDatasets(BaseBaseline):
    """Recommend the best configs of the most similar training datasets.

    Meta-features are standardised over the training tasks with a
    :class:`RobustScaler` (median / IQR, NaN → 0, stored with the model). For a new task,
    the ``k`` nearest training tasks of the same kind (L1 or L2 distance, ties by task
    id) each contribute their best ``configs_per_task`` configs, in order of distance,
    deduplicated; when that yields fewer than ``k`` configs, or no meta-features are
    given, the rest comes from a :class:`GreedyPortfolio` fitted on the same tasks.

    Parameters
    ----------
    metric
        ``"l1"`` or ``"l2"``.
    configs_per_task
        Best configs taken from each neighbour.
    features
        Meta-feature names to use; ``None`` means every column of the KB's meta-features.
    portfolio_size
        Length of the fallback portfolio per kind.
    """

    uses_metafeatures = True

    def __init__(
        self,
        metric: str = "l1",
        configs_per_task: int = 1,
        features: list[str] | None = None,
        portfolio_size: int | None = 32,
    ) -> None:
        self.metric = metric
        self.configs_per_task = configs_per_task
        self.features = features
        self.portfolio_size = portfolio_size

    def _fit(self, data: TrainingData) -> None:
        if self.metric not in ("l1", "l2"):
            raise ModelError(f"NearestDatasets metric must be 'l1' or 'l2', got {self.metric!r}", "pass metric='l1'")
        mf = data.metafeatures
        names = list(self.features) if self.features is not None else [str(c) for c in mf.columns]
        mf = mf.reindex(columns=names)
        params = _params_lookup(data)
        kinds = data.kinds
        self.scaler_ = RobustScaler().fit(mf)
        self.tasks_: list[dict[str, Any]] = []
        per_task = max(1, int(self.configs_per_task))
        for kind in KINDS:
            matrix = _kind_matrix(data, kind)
            if matrix.empty:
                continue
            algs = _library_order(matrix.columns.get_level_values(0))
            cols = sorted(matrix.columns, key=lambda c: (algs.index(c[0]), c[1]))
            matrix = matrix[cols]
            for task_id in matrix.index:
                if task_id not in mf.index or kinds.get(task_id) != kind:
                    continue
                row = matrix.loc[task_id].to_numpy()
                order = sorted(range(len(cols)), key=lambda i: (-row[i], i))[:per_task]
                self.tasks_.append({
                    "task_id": str(task_id),
                    "kind": kind,
                    "x": [float(v) for v in self.scaler_.vector(mf.loc[task_id].to_dict())],
                    "best": [[cols[i][0], cols[i][1], params.get(cols[i], {})] for i in order],
                })
        self.portfolio_ = GreedyPortfolio(size=self.portfolio_size).fit(data)

    def neighbors(self, metafeatures: Mapping[str, float], kind: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest training tasks of ``kind``: ``(task_id, distance)``, nearest first."""
        x = self.scaler_.vector(metafeatures)
        found = []
        for task in self.tasks_:
            if task["kind"] != kind:
                continue
            diff = np.asarray(task["x"], dtype=float) - x
            dist = float(np.abs(diff).sum()) if self.metric == "l1" else float(np.sqrt((diff**2).sum()))
            found.append((dist, task["task_id"]))
        found.sort()
        return [(t, d) for d, t in found[: max(0, int(k))]]

    def _recommend(self, metafeatures: Mapping[str, float] | None, kind: str, k: int) -> list[Recommendation]:
        out: list[Recommendation] = []
        seen: set[tuple[str, str]] = set()
        if metafeatures is not None:
            by_id = {t["task_id"]: t for t in self.tasks_}
            for task_id, _ in self.neighbors(metafeatures, kind, k):
                for alg, cid, params in by_id[task_id]["best"]:
                    if (alg, cid) not in seen:
                        seen.add((alg, cid))
                        out.append((alg, dict(params)))
        if len(out) < k:
            if kind not in self.portfolio_.portfolio_ and not out:
                raise ModelError(
                    f"{type(self).__name__} saw no training task of kind {kind!r}",
                    "fit it on a knowledge base with tasks of that kind, or use LibraryDefaults",
                )
            for alg, cid, params in self.portfolio_.portfolio_.get(kind, []):
                if len(out) >= k:
                    break
                if (alg, cid) not in seen:
                    seen.add((alg, cid))
                    out.append((alg, dict(params)))
        return out

    def _state(self) -> dict[str, Any]:
        return {
            "scaler": self.scaler_.to_dict(),
            "tasks": self.tasks_,
            "portfolio": self.portfolio_._state(),
        }

    def _set_state(self, state: Mapping[str, Any]) -> None:
        self.scaler_ = RobustScaler.from_dict(state["scaler"])
        self.tasks_ = [dict(t) for t in state["tasks"]]
        portfolio = GreedyPortfolio(size=self.portfolio_size)
        portfolio._set_state(state["portfolio"])
        portfolio.versions_ = dict(getattr(self, "versions_", {}))
        self.portfolio_ = portfolio
