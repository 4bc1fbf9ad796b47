"""Score normalization: the single place where raw scores become comparable targets.

DESIGN.md, "Scores and comparisons": per task, raw scores (greater is better: ROC-AUC,
balanced accuracy, R²) are normalized over the ``ok`` evaluations of *all* algorithms
on that task, so that 1 is the best configuration evaluated on the task and 0 the
worst; the regret of an incumbent is ``1 - its normalized score``.

Rows that are not ``ok``:

* ``error`` / ``timeout`` (and ``ok`` rows without a finite score) get 0: a config that
  fails is as bad as the worst one;
* ``skipped`` rows (the algorithm does not apply to the task) get NaN: not applicable.

Everything that learns from or benchmarks against the knowledge base (baselines,
surrogate, benchmark) takes its targets from here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from metaopt.spaces import config_id, get_space

__all__ = [
    "task_groups",
    "config_table",
    "default_config_id",
    "is_default_config",
    "normalized_scores",
    "regret",
    "score_matrix",
]

_REQUIRED = ("task_id", "score", "status")


def task_groups(tasks: pd.DataFrame) -> pd.Series:
    """Each task's base-dataset group (its ``task_id`` where ``group`` is missing or empty).

    Aligned with ``tasks``; leave-dataset-out folds and the novelty calibration never let
    two tasks of one group sit on both sides.
    """
    ids = tasks["task_id"]
    if "group" not in tasks.columns:
        return ids.astype(str)
    g = tasks["group"]
    return g.where(g.notna() & (g.astype(str) != ""), ids).astype(str)


def _check_columns(evaluations: pd.DataFrame, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in evaluations.columns]
    if missing:
        raise ValueError(
            f"evaluations frame lacks columns {missing}; pass rows of KnowledgeBase.evaluations()"
        )


def normalized_scores(evaluations: pd.DataFrame) -> pd.Series:
    """Per-task min-max normalized scores, aligned to the rows of ``evaluations``.

    Parameters
    ----------
    evaluations
        Rows of :meth:`metaopt.kb.KnowledgeBase.evaluations` (at least ``task_id``,
        ``score`` and ``status``), possibly of many tasks and algorithms.

    Returns
    -------
    pandas.Series
        Float, same index as ``evaluations``, named ``normalized``. For each task,
        over its ``ok`` rows with a finite score: ``(score - min) / (max - min)``, or 1
        for all of them when ``max == min``. ``error``/``timeout`` rows and ``ok`` rows
        without a finite score: 0. ``skipped`` rows: NaN.
    """
    _check_columns(evaluations, _REQUIRED)
    if evaluations.empty:
        return pd.Series(np.zeros(0), index=evaluations.index, name="normalized", dtype=float)
    score = pd.to_numeric(evaluations["score"], errors="coerce").astype(float)
    status = evaluations["status"].astype(str)
    usable = (status == "ok") & np.isfinite(score.to_numpy())
    valid = score.where(usable)
    groups = valid.groupby(evaluations["task_id"].astype(str).to_numpy())
    lo = groups.transform("min")
    hi = groups.transform("max")
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = (valid - lo) / span
    norm = norm.where(~(usable & (span <= 0)), 1.0)
    norm = norm.where(usable, 0.0)
    norm = norm.where(status != "skipped", np.nan)
    return norm.clip(0.0, 1.0).astype(float).rename("normalized")


def regret(normalized: float | np.ndarray | pd.Series) -> Any:
    """Regret of an incumbent: ``1 - normalized score`` (0 = the best config of the task)."""
    return 1.0 - normalized


def default_config_id(algorithm: str, kind: str) -> str:
    """The ``config_id`` of ``algorithm``'s library default for task kind ``kind``.

    This is the id the knowledge-base builder gives the default config (the first job
    of every algorithm's plan, and the key of ``skipped`` rows).
    """
    return config_id(algorithm, dict(get_space(algorithm).default(kind)))


def is_default_config(
    evaluations: pd.DataFrame, task_kinds: Mapping[str, str] | pd.Series | None = None
) -> pd.Series:
    """Whether each row evaluates its algorithm's default config (else a design config).

    Parameters
    ----------
    evaluations
        Rows with ``task_id``, ``algorithm``, ``config_id`` (and ``kind``, unless
        ``task_kinds`` is given).
    task_kinds
        Task id → kind; by default the frame's ``kind`` column.

    Returns
    -------
    pandas.Series
        Boolean, aligned to the rows. Rows of unknown algorithms are ``False``.
    """
    _check_columns(evaluations, ("task_id", "algorithm", "config_id"))
    kinds = _kinds_of(evaluations, task_kinds)
    cache: dict[tuple[str, str], str | None] = {}
    out = []
    for alg, kind, cid in zip(evaluations["algorithm"], kinds, evaluations["config_id"], strict=True):
        key = (str(alg), str(kind))
        if key not in cache:
            try:
                cache[key] = default_config_id(*key)
            except Exception:  # unknown algorithm or kind: cannot be a library default
                cache[key] = None
        out.append(cache[key] == cid)
    return pd.Series(out, index=evaluations.index, name="is_default", dtype=bool)


def _kinds_of(
    evaluations: pd.DataFrame, task_kinds: Mapping[str, str] | pd.Series | None
) -> pd.Series:
    if task_kinds is None:
        if "kind" not in evaluations.columns:
            raise ValueError("evaluations frame has no 'kind' column; pass task_kinds={task_id: kind}")
        return evaluations["kind"].astype(str)
    mapping = dict(task_kinds.items())
    return evaluations["task_id"].map(mapping)


def score_matrix(
    evaluations: pd.DataFrame,
    kind: str | None = None,
    *,
    task_kinds: Mapping[str, str] | pd.Series | None = None,
) -> pd.DataFrame:
    """The task × config matrix of normalized scores.

    Parameters
    ----------
    evaluations
        Rows of :meth:`~metaopt.kb.KnowledgeBase.evaluations` (``task_id``,
        ``algorithm``, ``config_id``, ``score``, ``status``). Normalization uses all the
        rows of each task, so pass every algorithm's rows of the tasks you want.
    kind
        Keep only tasks of this kind (needs ``task_kinds`` or a ``kind`` column).
    task_kinds
        Task id → kind.

    Returns
    -------
    pandas.DataFrame
        Index ``task_id`` (sorted), columns a MultiIndex ``(algorithm, config_id)``
        (sorted); NaN where a config was not evaluated on a task or was skipped.
    """
    _check_columns(evaluations, (*_REQUIRED, "algorithm", "config_id"))
    frame = evaluations.assign(normalized=normalized_scores(evaluations))
    if kind is not None:
        frame = frame[(_kinds_of(frame, task_kinds) == kind).to_numpy()]
    if frame.empty:
        empty = pd.DataFrame(
            index=pd.Index([], name="task_id"),
            columns=pd.MultiIndex.from_tuples([], names=["algorithm", "config_id"]),
            dtype=float,
        )
        return empty
    matrix = (
        frame.groupby(["task_id", "algorithm", "config_id"], sort=True)["normalized"]
        .max()
        .unstack(["algorithm", "config_id"])
    )
    matrix = matrix.reindex(sorted(frame["task_id"].astype(str).unique()))
    matrix = matrix.sort_index(axis=1)
    matrix.index.name = "task_id"
    return matrix.astype(float)


def config_table(evaluations: pd.DataFrame) -> pd.DataFrame:
    """One row per ``(algorithm, config_id)``: its ``params`` as a dict.

    Parameters
    ----------
    evaluations
        Rows with ``algorithm``, ``config_id`` and ``params`` (canonical JSON text, as
        the knowledge base stores it, or dicts).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(algorithm, config_id)`` (sorted), one column ``params``.
    """
    _check_columns(evaluations, ("algorithm", "config_id", "params"))
    first = evaluations.drop_duplicates(["algorithm", "config_id"])
    params = [_as_params(p) for p in first["params"]]
    out = pd.DataFrame(
        {"params": params},
        index=pd.MultiIndex.from_arrays(
            [first["algorithm"].astype(str), first["config_id"].astype(str)],
            names=["algorithm", "config_id"],
        ),
    )
    return out.sort_index()


def _as_params(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return {}
    return dict(json.loads(value))
