"""Leave-dataset-out regret of the transfer stage's variants on the KB's pool (no Optuna).

The learned optimizer's first trials come from its transfer stage
(:mod:`metaopt.learn._transfer`): a greedy portfolio over the knowledge base's shared
pool whose task weights follow a prior (the learned task similarity) and the rank
agreement of the trials seen. :func:`transfer_stage_curves` runs that stage alone, on
each held-out task's evaluated pool, for several settings side by side — cheap (numpy
only, a few seconds per fold), so the stage's choices can be measured on the whole KB
rather than through the slower Optuna benchmark (:func:`leave_dataset_out_tuning`,
whose ``meta`` method runs exactly this stage for its first 20 trials).

Variants (:data:`TRANSFER_VARIANTS`):

``static``
    Uniform weights throughout: the static greedy portfolio (auto-sklearn 2.0 /
    TabRepo), the same order on every task.
``rank``
    Rank-agreement weights (``beta = 20``), uniform prior.
``prior``
    The learned-similarity prior only (``prior_sharpness = 2``): a zero-shot portfolio
    ordered for this dataset's meta-features, no adaptation.
``prior+rank``
    Both: what the shipped optimizer does.
``oracle``
    Fixed weights from the held-out task's *true* rank discordance to each training task
    over the whole pool (``exp(−50 · discordance)``), which no method can know: the
    best that re-weighting the training tasks can do, a bound on this family of methods.

(The rank evidence counted in pairs rather than as a fraction, ``beta = 1``, measured no
better — 0.037 / 0.012 / 0.008 / 0.006 after 1 / 5 / 10 / 20 on the 290-task knowledge
base, ``benchmarks/results/transfer_ldo.md`` of that run — and left the library.)

The regret after ``t`` trials is ``1 −`` the best normalized score among them on the
held-out task (the task's pool; the proposals are pool configurations, so no snapping
is involved).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from metaopt.bench import BenchmarkError, ldo_folds
from metaopt.kb import KnowledgeBase

__all__ = ["TRANSFER_VARIANTS", "similarity_quality", "transfer_stage_curves", "transfer_summary"]

#: name → TransferPortfolio parameters (``oracle``: weights from the held-out task's truth).
TRANSFER_VARIANTS: dict[str, dict[str, Any]] = {
    "static": {"beta": 0.0, "prior_sharpness": 0.0},
    "rank": {"beta": 20.0, "prior_sharpness": 0.0},
    "prior": {"beta": 0.0, "prior_sharpness": 2.0},
    "prior+rank": {"beta": 20.0, "prior_sharpness": 2.0},
    "oracle": {"beta": 0.0, "prior_sharpness": 0.0, "oracle": 50.0},
}

#: Trials at which :func:`transfer_summary` reports.
CHECKPOINTS = (1, 2, 3, 5, 8, 10, 15, 20)


def transfer_stage_curves(
    kb: KnowledgeBase | str,
    *,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    folds: int = 5,
    fold_seed: int = 0,
    trials: int = 20,
    progress: Callable[[str], Any] | None = None,
) -> pd.DataFrame:
    """Regret curves of the transfer stage's variants, leave-dataset-out.

    Parameters
    ----------
    kb
        The knowledge base (or its path).
    variants
        Name → :class:`~metaopt.learn.TransferPortfolio` parameters (``oracle``: the
        sharpness of the oracle's weights, see the module); default
        :data:`TRANSFER_VARIANTS`.
    folds, fold_seed
        Grouped folds (:func:`~metaopt.bench.ldo_folds`).
    trials
        Trials per run (the stage's length; it ends earlier when no pool
        configuration of an allowed algorithm is left).

    Returns
    -------
    pandas.DataFrame
        One row per (variant, task): ``variant``, ``task_id``, ``kind``, ``fold``,
        ``regret`` (array, regret after trials 1..trials; the last value carried when
        the stage ended early).

    Raises
    ------
    BenchmarkError
        If the knowledge base has fewer than 2 groups of usable tasks.
    """
    from metaopt.learn import TransferPortfolio, rank_discordance

    say = progress or (lambda _m: None)
    variants = dict(TRANSFER_VARIANTS if variants is None else variants)
    pool, usable, plan = _folds(kb, folds, fold_seed)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for f, (train, test) in enumerate(plan):
        fitted = TransferPortfolio(max_trials=trials).fit(pool, [t for t in train if t in usable])
        for t in test:
            kind = pool.kind(t)
            if kind not in fitted.kinds:
                continue
            shape, algs, mf = pool.shape(t), pool.algorithms(t), pool.metafeatures(t)
            kp = fitted.pools_[kind]
            truth = _truth(pool, t, fitted, kind)
            scores = np.asarray([s for _a, _p, s in pool.pool(t)], dtype=float)
            for name, params in variants.items():
                params = dict(params)
                oracle = params.pop("oracle", None)
                tp = copy.copy(fitted)
                for key, value in params.items():
                    setattr(tp, key, value)
                run = tp.start(shape, algs, None if oracle is not None else mf)
                if oracle is not None:
                    run.log_prior = -float(oracle) * rank_discordance(
                        np.nan_to_num(truth)[None, :], kp.scores
                    )[0]
                rows.append({"variant": name, "task_id": t, "kind": kind, "fold": f,
                             "regret": _stage_curve(run, pool, t, scores, scores, trials)})
        say(f"fold {f + 1}/{len(plan)}: {len(test)} tasks ({time.perf_counter() - started:.0f} s)")
    return pd.DataFrame(rows, columns=["variant", "task_id", "kind", "fold", "regret"])


def _folds(kb: KnowledgeBase | str, folds: int, fold_seed: int) -> tuple[Any, list[str], list[Any]]:
    """The pool table, its usable task ids (some config reached the task's best) and the folds."""
    from metaopt.learn import PoolTable

    kb = kb if isinstance(kb, KnowledgeBase) else KnowledgeBase.open(kb)
    pool = PoolTable(kb)
    usable = [t for t in pool.task_ids if pool.best(t) >= 1.0 - 1e-9]
    tasks = pool.data.tasks[pool.data.tasks["task_id"].astype(str).isin(usable)].drop_duplicates("task_id")
    if tasks.empty:
        raise BenchmarkError("no usable task in the knowledge base", "build tasks with `metaopt kb build`")
    return pool, usable, ldo_folds(tasks.reset_index(drop=True), folds, fold_seed)


def _stage_curve(run: Any, pool: Any, task_id: str, observed: np.ndarray, evaluated: np.ndarray,
                 trials: int) -> np.ndarray:
    """Regret after each of ``trials`` picks of a started transfer run on a held-out task.

    Each proposal is the task's nearest pool row; the run observes its ``observed`` score
    and the regret is ``1 −`` the best ``evaluated`` score so far (both indexed like
    :meth:`~metaopt.learn.PoolTable.pool`). The last value is carried once the stage ends.
    """
    best = 0.0
    curve: list[float] = []
    while len(curve) < trials:
        proposed = run.propose()
        if proposed is None:
            break
        a, p = proposed
        i = pool.nearest(task_id, a, p)
        run.observe(a, p, None if i is None else float(observed[i]))
        best = max(best, 0.0 if i is None else float(evaluated[i]))
        curve.append(1.0 - best)
    return _pad(np.asarray(curve if curve else [1.0]), trials)


def _pad(curve: np.ndarray, n: int) -> np.ndarray:
    """``curve`` cut or extended to length ``n`` (its last value carried)."""
    curve = np.asarray(curve, dtype=float)[:n]
    return np.concatenate([curve, np.full(n - len(curve), curve[-1])]) if len(curve) < n else curve


def _truth(pool: Any, task_id: str, portfolio: Any, kind: str) -> np.ndarray:
    """The held-out task's normalized score on each column of ``portfolio``'s ``kind`` pool."""
    return np.array([pool.score(task_id, a, p) for a, p in portfolio.columns(kind)])


def transfer_summary(
    curves: pd.DataFrame, checkpoints: Sequence[int] = CHECKPOINTS, stat: str = "mean",
    by_kind: bool = False,
) -> pd.DataFrame:
    """``stat`` (mean / median) regret of each variant at ``checkpoints`` (rows: variants)."""
    out = []
    groups = curves.groupby(["variant", "kind"] if by_kind else ["variant"], sort=False)
    for key, g in groups:
        mat = np.stack(g["regret"].to_numpy())
        vals = mat.mean(axis=0) if stat == "mean" else np.median(mat, axis=0)
        row = dict(zip(["variant", "kind"] if by_kind else ["variant"],
                       key if isinstance(key, tuple) else (key,), strict=True))
        row["tasks"] = len(g)
        row.update({f"@{c}": float(vals[c - 1]) for c in checkpoints if c <= mat.shape[1]})
        out.append(row)
    return pd.DataFrame(out)


def similarity_quality(
    kb: KnowledgeBase | str, *, folds: int = 5, fold_seed: int = 0
) -> pd.DataFrame:
    """How well the learned task similarity ranks the training tasks, leave-dataset-out.

    For each held-out task, the Spearman correlation over the fold's training tasks of
    its kind between the true rank discordance (:func:`~metaopt.learn.rank_discordance`
    of the two tasks' pool scores) and (a) the discordance the fold's
    :class:`~metaopt.learn.TaskSimilarity` predicts from meta-features, (b) the plain
    Euclidean distance of the scaled meta-features.

    Returns
    -------
    pandas.DataFrame
        One row per held-out task: ``task_id``, ``kind``, ``fold``, ``learned``,
        ``distance`` (NaN where a correlation is undefined).
    """
    from scipy.stats import spearmanr

    from metaopt.learn import TransferPortfolio, rank_discordance

    pool, usable, plan = _folds(kb, folds, fold_seed)
    rows: list[dict[str, Any]] = []
    for f, (train, test) in enumerate(plan):
        tp = TransferPortfolio().fit(pool, [t for t in train if t in usable])
        for t in test:
            kind = pool.kind(t)
            if kind not in tp.similarity_.kinds:
                continue
            true_d = rank_discordance(np.nan_to_num(_truth(pool, t, tp, kind))[None, :],
                                      tp.pools_[kind].scores)[0]
            z = np.nan_to_num(tp.encoder_.scale_metafeatures(pool.metafeatures(t))[0], nan=0.0)
            learned = tp.similarity_.discordance(kind, z)
            assert learned is not None  # the kind has a model: checked above
            dist = np.sqrt(((tp.similarity_.metafeatures_[kind] - z) ** 2).sum(axis=1))
            with np.errstate(all="ignore"):
                r_l = spearmanr(learned, true_d)[0] if np.ptp(learned) > 0 else np.nan
                r_d = spearmanr(dist, true_d)[0] if np.ptp(dist) > 0 else np.nan
            rows.append({"task_id": t, "kind": kind, "fold": f, "learned": float(r_l), "distance": float(r_d)})
    return pd.DataFrame(rows, columns=["task_id", "kind", "fold", "learned", "distance"])
