"""describe_task: what the loader understood about a dataset, as a JSON-ready dict."""

from __future__ import annotations

from typing import Any

import numpy as np

from metaopt.tasks._task import Task

__all__ = ["describe_task"]


def _num(value: Any) -> float | None:
    value = float(value)
    return None if not np.isfinite(value) else value


def describe_task(task: Task) -> dict[str, Any]:
    """Summarise a task: shape, column roles, target, missing values, what was dropped.

    Parameters
    ----------
    task
        A loaded task.

    Returns
    -------
    dict
        JSON-serialisable: ``task_id``, ``name``, ``source``, ``target``, ``kind``,
        ``rows``, ``features``, ``columns`` (raw column names by role), ``target_summary``
        (class counts, or min/max/mean/std/median for regression), ``missing``
        (feature column → number of missing values, largest first, only columns with
        some), ``missing_cells`` (share of missing feature values), ``dropped``,
        ``notices`` and ``provenance``.
    """
    by_role: dict[str, list[str]] = {"numeric": [], "categorical": [], "datetime": []}
    for col, role in task.column_roles.items():
        by_role.setdefault(role, []).append(col)
    if task.is_classification:
        counts = task.y.value_counts(sort=False)
        target_summary: dict[str, Any] = {
            "classes": {
                str(k): {"count": int(v), "share": round(float(v) / task.n_rows, 4)}
                for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
            },
            "n_classes": int(counts.shape[0]),
            "imbalance_ratio": round(float(counts.max() / counts.min()), 3),
        }
    else:
        y = task.y.to_numpy(dtype="float64")
        target_summary = {
            "min": _num(y.min()),
            "max": _num(y.max()),
            "mean": _num(y.mean()),
            "std": _num(y.std(ddof=1)) if y.size > 1 else None,
            "median": _num(np.median(y)),
            "distinct": int(np.unique(y).size),
        }
    na = task.X.isna().sum()
    missing = {
        str(c): int(n) for c, n in na.sort_values(ascending=False, kind="stable").items() if n
    }
    cells = task.X.shape[0] * task.X.shape[1]
    return {
        "task_id": task.task_id,
        "name": task.name,
        "source": task.source,
        "target": task.target,
        "kind": task.kind,
        "rows": task.n_rows,
        "features": task.n_features,
        "columns": by_role,
        "target_summary": target_summary,
        "missing": missing,
        "missing_cells": round(float(na.sum()) / cells, 4) if cells else 0.0,
        "dropped": dict(task.dropped),
        "notices": list(task.notices),
        "provenance": dict(task.provenance),
    }
