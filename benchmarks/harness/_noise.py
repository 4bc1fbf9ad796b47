"""How much of the benchmarks' regret is evaluation noise: regret on a held-out CV fold.

Every benchmark (:mod:`metaopt.bench` and this harness) scores a method's picks on the
held-out task with the *same* cross-validated scores that define the task's best
configuration (the normalized scores of :mod:`metaopt.learn._targets`). On small or
noisy datasets the best of ~230 evaluated configurations is partly the luckiest one, so
a regret near 0 needs either the task's own evaluations or luck; a method that has seen
neither (any zero-shot recommender) or only a few trials (a tuner after 8 trials) cannot
get below this *noise floor*, however good its meta-knowledge.

:func:`split_fold_curves` measures the floor. For each held-out task (leave-dataset-out,
the folds of :func:`~metaopt.bench.ldo_folds`) and each of its ``m`` CV folds ``b``:

* **selection scores** — the mean over the other ``m − 1`` folds, normalized over the
  task's configurations as :func:`~metaopt.learn.normalized_scores` does (min-max over
  the ``ok`` rows; failed rows 0);
* **evaluation scores** — fold ``b`` alone, normalized the same way;

and a method's regret after ``t`` picks is ``1 −`` the best evaluation score among them,
averaged over ``b``. Methods (``variant`` column):

``self``
    The task's own ranking: its configurations in decreasing selection score — what a
    method that had already evaluated the whole pool on ``m − 1`` of the folds would
    pick. No method that sees less of the task can be expected to do better.
``random``
    ``t`` pool configurations drawn uniformly without replacement (expected value over
    ``n_random`` draws).
``static``, ``similarity``, ``transfer``
    The transfer stage of :mod:`metaopt.learn._transfer` fitted on the fold's training
    tasks: uniform task weights (the static greedy portfolio), the learned-similarity
    prior alone (``metaopt suggest``'s zero-shot order, before its per-algorithm cap), and
    the prior with the rank agreement of the trials seen (the learned optimizer's first
    20 trials; its observations are the selection scores). These stop where the stage
    does (at most ``stage_trials`` picks; the last value is carried).

Each method is scored twice (``evaluation`` column): ``split`` as above, and ``full`` —
the benchmarks' own protocol, picks and observations on the mean of all ``m`` folds
(``self`` is 0 there by construction and is left out). ``split`` is noisier than
``full`` (one fold against ``m``), for every method alike: compare methods within one
evaluation, not across.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness._transfer import _folds, _pad, _stage_curve
from metaopt.kb import KnowledgeBase

__all__ = ["NOISE_VARIANTS", "noise_curves", "noise_table", "split_fold_curves"]

#: Transfer-stage variants scored by :func:`split_fold_curves`: name → TransferPortfolio parameters.
NOISE_VARIANTS: dict[str, dict[str, float]] = {
    "static": {"beta": 0.0, "prior_sharpness": 0.0},
    "similarity": {"beta": 0.0, "prior_sharpness": 2.0},
    "transfer": {"beta": 20.0, "prior_sharpness": 2.0},
}


def split_fold_curves(
    kb: KnowledgeBase | str,
    *,
    folds: int = 5,
    fold_seed: int = 0,
    trials: int = 100,
    stage_trials: int = 20,
    n_random: int = 200,
    seed: int = 0,
    progress: Callable[[str], Any] | None = None,
) -> pd.DataFrame:
    """Regret curves on a held-out CV fold and on the full CV mean (see the module).

    Parameters
    ----------
    kb
        The knowledge base (or its path); its evaluations' ``fold_scores`` are used.
    folds, fold_seed
        Grouped leave-dataset-out folds (:func:`~metaopt.bench.ldo_folds`).
    trials
        Length of the ``self`` and ``random`` curves.
    stage_trials
        Most picks of the transfer-stage variants (the learned optimizer's stage length).
    n_random, seed
        Draws (and their seed) behind the ``random`` curve's expectation.

    Returns
    -------
    pandas.DataFrame
        One row per (variant, evaluation, task): ``variant``, ``evaluation``
        (``split`` | ``full``), ``task_id``, ``kind``, ``fold``, ``cv_folds`` (the task's
        ``m``), ``regret`` (array of length ``trials``). Tasks whose evaluations have
        fewer than 2 CV folds, or fewer than 2 configurations with every fold scored,
        are left out.

    Raises
    ------
    BenchmarkError
        If the knowledge base has no usable task.
    """
    from metaopt.learn import TransferPortfolio

    say = progress or (lambda _m: None)
    rng = np.random.default_rng(seed)
    pool, usable, plan = _folds(kb, folds, fold_seed)
    fold_table = _fold_scores(pool)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for f, (train, test) in enumerate(plan):
        fitted = TransferPortfolio(max_trials=stage_trials).fit(pool, [t for t in train if t in usable])
        for t in test:
            kind = pool.kind(t)
            scores = fold_table.get(t)
            if scores is None or kind not in fitted.kinds:
                continue
            base = {"task_id": t, "kind": kind, "fold": f, "cv_folds": scores.shape[1]}
            for variant, evaluation, curve in _task_curves(fitted, pool, t, scores, trials, n_random, rng):
                rows.append({"variant": variant, "evaluation": evaluation, **base,
                             "regret": _pad(curve, trials)})
        say(f"fold {f + 1}/{len(plan)}: {len(test)} tasks ({time.perf_counter() - started:.0f} s)")
    return pd.DataFrame(rows, columns=["variant", "evaluation", "task_id", "kind", "fold", "cv_folds", "regret"])


def _task_curves(fitted: Any, pool: Any, t: str, scores: np.ndarray, trials: int, n_random: int,
                 rng: np.random.Generator) -> list[tuple[str, str, np.ndarray]]:
    """``(variant, evaluation, regret curve)`` of every method on held-out task ``t``.

    ``scores`` are the task's CV fold scores (:func:`_fold_scores`); ``fitted`` is the
    fold's transfer portfolio; ``rng`` draws the ``random`` curve's permutations.
    """
    m = scores.shape[1]
    complete = np.all(np.isfinite(scores), axis=1)
    full = np.asarray([s for _a, _p, s in pool.pool(t)], dtype=float)
    held = [_normalize(scores[:, b], complete) for b in range(m)]
    chosen = [_normalize(np.delete(scores, b, axis=1).mean(axis=1), complete) for b in range(m)]
    out = [("self", "split", np.mean(
        [1.0 - np.maximum.accumulate(e[np.argsort(-c, kind="stable")]) for e, c in zip(held, chosen, strict=True)],
        axis=0))]
    perms = np.argsort(rng.random((n_random, len(full))), axis=1)[:, :trials]
    out.append(("random", "full", (1.0 - np.maximum.accumulate(full[perms], axis=1)).mean(axis=0)))
    out.append(("random", "split", np.mean(
        [(1.0 - np.maximum.accumulate(e[perms], axis=1)).mean(axis=0) for e in held], axis=0)))
    for name, params in NOISE_VARIANTS.items():
        tp = copy.copy(fitted)
        for key, value in params.items():
            setattr(tp, key, value)
        out.append((name, "full", _stage_curve(_start(tp, pool, t), pool, t, full, full, trials)))
        out.append((name, "split", np.mean(
            [_stage_curve(_start(tp, pool, t), pool, t, c, e, trials)
             for e, c in zip(held, chosen, strict=True)], axis=0)))
    return out


def _fold_scores(pool: Any) -> dict[str, np.ndarray]:
    """Per task: the CV fold scores of its pool rows ``(rows, m)``, NaN where a row has none.

    ``m`` is the task's most common number of folds among its ``ok`` rows; rows that are
    not ``ok`` or have another count are NaN (they count as failed, as in the
    normalization). Tasks with ``m < 2`` are left out.
    """
    ev = pool.data.evaluations
    by_key = {
        (str(t), str(a), str(c)): (str(s), fs)
        for t, a, c, s, fs in zip(ev["task_id"], ev["algorithm"], ev["config_id"], ev["status"],
                                  ev["fold_scores"], strict=True)
    }
    out: dict[str, np.ndarray] = {}
    for t in pool.task_ids:
        lists = []
        for a, cid in zip(pool.pool_algorithms(t), pool.config_ids(t), strict=True):
            status, fs = by_key.get((t, a, cid), ("missing", None))
            values = np.asarray([] if fs is None else fs, dtype=float)
            lists.append(values if status == "ok" else np.zeros(0))
        counts = [len(v) for v in lists if len(v)]
        if not counts:
            continue
        m = int(np.bincount(counts).argmax())
        if m < 2:
            continue
        mat = np.full((len(lists), m), np.nan)
        for i, v in enumerate(lists):
            if len(v) == m:
                mat[i] = v
        if np.all(np.isfinite(mat), axis=1).sum() >= 2:
            out[t] = mat
    return out


def _start(portfolio: Any, pool: Any, task_id: str) -> Any:
    """A transfer run for the held-out task, with its meta-features' prior."""
    return portfolio.start(pool.shape(task_id), pool.algorithms(task_id), pool.metafeatures(task_id))


def _normalize(values: np.ndarray, complete: np.ndarray) -> np.ndarray:
    """Min-max over the complete rows (1 for all when they tie); incomplete rows 0."""
    v = values[complete]
    lo, hi = float(v.min()), float(v.max())
    norm = (values - lo) / (hi - lo) if hi > lo else np.ones_like(values)
    return np.where(complete, np.clip(norm, 0.0, 1.0), 0.0)


def noise_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """Mean regret curve per (evaluation, variant), over tasks.

    Each task's rows are averaged first (e.g. over fold seeds). Columns: ``evaluation``,
    ``variant``, ``tasks``, ``regret`` (the mean curve), in order of first appearance.
    """
    per_task = (curves.groupby(["evaluation", "variant", "task_id"], sort=False)["regret"]
                .apply(lambda s: np.mean(np.stack(s.to_numpy()), axis=0)).reset_index())
    rows = [{"evaluation": e, "variant": v, "tasks": len(g),
             "regret": np.stack(g["regret"].to_numpy()).mean(axis=0)}
            for (e, v), g in per_task.groupby(["evaluation", "variant"], sort=False)]
    return pd.DataFrame(rows, columns=["evaluation", "variant", "tasks", "regret"])


def noise_table(curves: pd.DataFrame, checkpoints: Sequence[int]) -> pd.DataFrame:
    """Mean regret per (evaluation, variant) at ``checkpoints`` (see :func:`noise_curves`)."""
    out = []
    for r in noise_curves(curves).itertuples(index=False):
        row: dict[str, Any] = {"evaluation": r.evaluation, "variant": r.variant, "tasks": r.tasks}
        row.update({f"@{c}": float(r.regret[c - 1]) for c in checkpoints if c <= len(r.regret)})
        out.append(row)
    return pd.DataFrame(out).sort_values(["evaluation", "variant"], ignore_index=True)
