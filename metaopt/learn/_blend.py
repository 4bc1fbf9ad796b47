"""How much the recommender leans on the prior: chosen per task kind, out of bag.

The recommender ranks candidates by ``(1 - w) · predicted + w · prior`` (see
:func:`metaopt.recommend.rank_candidates`), where ``predicted`` is the surrogate's
mean and ``prior`` the config's mean normalized score over the knowledge base's tasks
of that kind — what a static portfolio ranks by. Which ``w`` is best is an empirical
question that differs by kind (on the knowledge base the surrogate helps less on
regression, where the library defaults are already strong), so it is chosen by data:

* the surrogate's members are trained on group bootstraps, so every base-dataset group
  is *out of bag* for about a third of them; their mean is a leave-group-out
  prediction for that group's tasks (:attr:`Surrogate.oob_prediction_`), free at fit
  time;
* the prior of a row is likewise left out: the config's mean target over the tasks of
  the same kind in *other* groups;
* for each kind and each ``w`` in :data:`PRIOR_WEIGHTS`, every task with out-of-bag
  predictions picks its argmax of the blended key among its evaluated configs, and the
  regret of that pick (``1 - its normalized score``) is averaged over the kind's tasks;
  the ``w`` with the lowest mean regret wins (ties: the smaller ``w``, i.e. more of the
  data's own content).

The grid stops at 0.75 on purpose: the surrogate's reading of the dataset's
meta-features always keeps a say in the ranking (the pure prior ranks every dataset of a
kind the same way, as the portfolio's first pick does). Measured on a 190-task snapshot
of the knowledge base (``benchmarks/bench_suggest.py``, 5 outer folds, 4-member
surrogates): mean regret@1 0.048 with this selection against 0.051 for the surrogate
alone; letting the grid reach 1.0 gave 0.052, because with 23 multiclass tasks the
out-of-bag choice flips between 0 and 1 from fold to fold. Differences of this size are
within the benchmark's noise. On the complete 265-task knowledge base the blend was
worse (0.047 against 0.042 for the surrogate alone), so ``metaopt suggest`` does not
blend (``w = 0`` except out of distribution); the selection stays available to the
benchmark (``MetaoptMethod(prior_blend=True)``) to be measured again as the knowledge
base grows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PRIOR_WEIGHTS", "choose_prior_weights", "leave_group_out_prior"]

#: The weights of the prior that :func:`choose_prior_weights` chooses from.
PRIOR_WEIGHTS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)


def leave_group_out_prior(table: pd.DataFrame, kinds: Mapping[str, str]) -> np.ndarray:
    """Per row: the config's mean target over the same kind's tasks of *other* groups.

    Parameters
    ----------
    table
        Rows with ``task_id``, ``group``, ``algorithm``, ``config_id`` and ``target``
        (:func:`metaopt.learn.training_table`).
    kinds
        Task id → kind.

    Returns
    -------
    numpy.ndarray
        Aligned with ``table``'s rows; NaN where no other group evaluated the config.
    """
    kind = table["task_id"].astype(str).map(dict(kinds)).fillna("?")
    frame = pd.DataFrame(
        {
            "kind": kind.to_numpy(),
            "group": table["group"].astype(str).to_numpy(),
            "algorithm": table["algorithm"].astype(str).to_numpy(),
            "config_id": table["config_id"].astype(str).to_numpy(),
            "target": table["target"].to_numpy(dtype=np.float64),
        }
    )
    key = ["kind", "algorithm", "config_id"]
    total = frame.groupby(key)["target"].transform("sum").to_numpy()
    count = frame.groupby(key)["target"].transform("count").to_numpy()
    own = frame.groupby([*key, "group"])["target"].transform("sum").to_numpy()
    own_n = frame.groupby([*key, "group"])["target"].transform("count").to_numpy()
    rest = count - own_n
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rest > 0, (total - own) / rest, np.nan)


def choose_prior_weights(
    table: pd.DataFrame,
    oob: np.ndarray,
    kinds: Mapping[str, str],
    grid: Sequence[float] = PRIOR_WEIGHTS,
) -> dict[str, dict[str, Any]]:
    """The prior weight of each kind, by out-of-bag regret of the top-1 pick.

    Parameters
    ----------
    table
        The surrogate's training rows (``task_id``, ``group``, ``algorithm``,
        ``config_id``, ``target``).
    oob
        The surrogate's out-of-bag predicted mean of each row (NaN where none).
    kinds
        Task id → kind.
    grid
        The weights to choose from.

    Returns
    -------
    dict
        Kind → ``{"weight": w, "regret": {str(w): mean regret@1}, "n_tasks": n}``, for
        each kind with at least one task that has out-of-bag predictions.
    """
    oob = np.asarray(oob, dtype=np.float64)
    if len(oob) != len(table):
        raise ValueError(f"{len(oob)} out-of-bag predictions for {len(table)} rows")
    grid = [float(w) for w in grid]
    prior = leave_group_out_prior(table, kinds)
    target = table["target"].to_numpy(dtype=np.float64)
    task = table["task_id"].astype(str).to_numpy()
    usable = np.isfinite(oob) & np.isfinite(prior) & np.isfinite(target)
    regrets: dict[str, list[list[float]]] = {}
    order = np.argsort(task, kind="stable")
    bounds = np.flatnonzero(np.r_[True, task[order][1:] != task[order][:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[a:b]
        rows = rows[usable[rows]]
        if rows.size == 0:
            continue
        kind = str(kinds.get(str(task[rows[0]]), "?"))
        per_w = []
        for w in grid:
            key = (1.0 - w) * oob[rows] + w * prior[rows]
            per_w.append(1.0 - float(target[rows][int(np.argmax(key))]))
        regrets.setdefault(kind, []).append(per_w)
    out: dict[str, dict[str, Any]] = {}
    for kind, values in sorted(regrets.items()):
        mean = np.asarray(values).mean(axis=0)
        best = int(np.flatnonzero(mean <= mean.min() + 1e-12)[0])
        out[kind] = {
            "weight": grid[best],
            "regret": {f"{w:g}": round(float(m), 6) for w, m in zip(grid, mean, strict=True)},
            "n_tasks": len(values),
        }
    return out
