"""Variants of the suggestion ranking, scored by the benchmark's own folds and regret.

``metaopt suggest`` ranks the knowledge base's config pool of the task's kind by the
similarity-weighted greedy portfolio (:meth:`metaopt.recommend.Recommender.rank`). This
module measures alternatives to that order without touching the library: each variant
is a :class:`~metaopt.bench.BenchMethod` that reads the same per-fold
:class:`~metaopt.recommend.Recommender` the benchmark's ``metaopt`` method fits
(:class:`FoldRecommenders`: fitted once per fold's training tasks, saved under a work
directory and reused on a rerun), so :func:`metaopt.bench.leave_dataset_out_benchmark`
runs all of them in one pass over either protocol's folds and scores them with its own
regret (the held-out task's true normalized score of each pick).

Variants (:func:`default_variants`):

``shipped``
    ``Recommender.rank`` as it ships (since issue 20: ``family P greedy (fallback)``).
``previous``
    The rank before issue 20: the similarity-weighted greedy portfolio with the hard
    out-of-distribution fallback (sharpness × ``1 − w``, :meth:`Recommender.ood_weight`).
``uniform``
    Uniform task weights: the static greedy portfolio (with ``rank``'s per-algorithm cap).
``sharp×f``
    The prior's sharpness multiplied by ``f`` (no out-of-distribution fallback).
``smooth c`` / ``mix c``
    A novelty-adaptive fallback instead of the hard threshold: the sharpness scaled by
    ``exp(−r / c)`` (``smooth``), or the weights mixed with uniform ones by
    ``1 − exp(−r / c)`` (``mix``), ``r`` = novelty distance / its threshold.
``knn k a``
    A kNN-adaptive bandwidth: ``log w_i = −a · (d_i − d_(1)) / (d_(k) − d_(1))`` of the
    predicted discordance ``d`` (instead of dividing by its spread over every task).
``family P|E greedy|interleave``
    Family first: each algorithm family's similarity-weighted probability of holding the
    task's best config (``P``, ties split) or expected best-of-family score (``E``)
    picks the family, the weighted mean score the config within it; the other places
    by the greedy portfolio given that pick, or round-robin over the families in order.
``blend α``
    Top-1 by ``α · surrogate mean + (1 − α) · weighted pool mean``, then greedy.
``surrogate family``
    The family whose best surrogate-predicted config is highest, the config within it by
    the weighted mean; then greedy.

σ variants are post-hoc (:func:`sigma_variants`): the ``shipped`` method records the
surrogate's σ of every held-out (task, pool config) pair and each task's novelty ratio,
and a widening ``σ · (s0 + b · r)`` is fitted per test fold on the *other* folds' rows
only (their held-out tasks; the test fold's truth is never read).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt.bench import BenchMethod, HeldOutTask, MetaoptMethod
from metaopt.kb import KnowledgeBase

__all__ = ["FoldRecommenders", "RankVariant", "default_variants", "sigma_variants", "variant_table"]

#: One ranking variant: ``(recommender, metafeatures, kind, top) → pool columns, best first``.
Order = Callable[[Any, Mapping[str, float], str, int], list[int]]


class FoldRecommenders:
    """The benchmark's per-fold Recommender (``MetaoptMethod``'s), fitted once and cached.

    Keyed by the knowledge base's fingerprint, the library code (:func:`code_fingerprint`)
    and the fold's training task ids; saved to ``work/<key>`` and loaded on a rerun.
    """

    def __init__(self, work: str | Path) -> None:
        self.work = Path(work)
        self._loaded: dict[str, Any] = {}

    def get(self, kb: KnowledgeBase, data: Any) -> Any:
        """The Recommender of the fold whose training data is ``data`` (fitted or loaded)."""
        from harness._heldout import code_fingerprint
        from metaopt.learn import kb_fingerprint
        from metaopt.recommend import Recommender

        ids = sorted(data.tasks["task_id"].astype(str))
        if not hasattr(self, "_prefix"):
            self._prefix = [kb_fingerprint(kb), code_fingerprint()]
        blob = json.dumps([*self._prefix, ids]).encode()
        key = hashlib.sha1(blob).hexdigest()[:16]
        if key not in self._loaded:
            folder = self.work / key
            if (folder / "manifest.json").is_file():
                self._loaded[key] = Recommender.load(folder)
            else:
                method = MetaoptMethod()
                method.fit(kb, data)
                method.recommender_.save(folder)
                self._loaded[key] = method.recommender_
        return self._loaded[key]


class RankVariant(BenchMethod):
    """A ranking variant on the fold's cached Recommender.

    ``record``: a dict that receives, per held-out task, its novelty ``(distance,
    threshold)``; ``with_sigma``: the method reports the surrogate's mean and σ of the
    pool (the benchmark's calibration rows).
    """

    is_baseline = False

    def __init__(self, name: str, order: Order | None, folds: FoldRecommenders,
                 record: dict[str, tuple[float, float]] | None = None, with_sigma: bool = False) -> None:
        self.name = name
        self.order = order
        self.folds = folds
        self.record = record
        self.with_sigma = with_sigma

    def fit(self, kb: KnowledgeBase, data: Any) -> None:
        self.rec_ = self.folds.get(kb, data)

    def recommend(self, task: HeldOutTask, k: int) -> list[tuple[str, dict[str, Any]]]:
        rec = self.rec_
        if self.record is not None:
            self.record[task.task_id] = rec.novelty(task.metafeatures, task.kind)
        if self.order is None:
            return [(c.algorithm, dict(c.params)) for c in rec.rank(task.metafeatures, task.kind, k)]
        if task.kind not in rec.transfer_.kinds:
            return []
        cols = _finish(rec, task.kind, self.order(rec, task.metafeatures, task.kind, k), k)
        return [rec.transfer_.column(task.kind, j) for j in cols]

    def predict_pool(self, task: HeldOutTask, pool: Sequence[tuple[str, dict[str, Any]]]) -> Any:
        if not self.with_sigma:
            return None
        mean, std = self.rec_.surrogate_.predict_configs(task.metafeatures, list(pool))
        return np.asarray(mean, dtype=float), np.asarray(std, dtype=float)


# -- building blocks ------------------------------------------------------------------
def _finish(rec: Any, kind: str, order: Sequence[int], top: int) -> list[int]:
    """Deduplicate by config id and apply ``rank``'s per-algorithm cap, as ``rank`` does."""
    from metaopt.recommend._rank import diversify_order
    from metaopt.spaces import config_id

    configs = rec.transfer_.columns(kind)
    unique, seen = [], set()
    for j in order:
        cid = config_id(*configs[j])
        if cid not in seen:
            seen.add(cid)
            unique.append(int(j))
    return diversify_order([a for a, _ in configs], unique, top)


def _norm(lw: np.ndarray) -> np.ndarray:
    w = np.exp(lw - lw.max())
    return w / w.sum()


def _ratio(rec: Any, mf: Mapping[str, float], kind: str) -> float:
    d, thr = rec.novelty(mf, kind)
    return float(d / thr) if thr > 0 and math.isfinite(thr) else 0.0


def _weights(rec: Any, mf: Mapping[str, float], kind: str, sharpness: float) -> np.ndarray:
    return _norm(rec.transfer_.prior_log_weights(kind, mf, sharpness))


def _greedy(S: np.ndarray, w: np.ndarray, n: int, first: Sequence[int] = ()) -> list[int]:
    """Greedy portfolio columns (expected best score), continuing after ``first``."""
    picks = [int(j) for j in first]
    best = S[:, picks].max(axis=1) if picks else np.zeros(S.shape[0])
    col_mean = w @ S
    while len(picks) < min(n, S.shape[1]):
        gain = w @ np.maximum(S, best[:, None])
        gain[picks] = -np.inf
        # ties as greedy_portfolio breaks them: larger mean score, then lower index
        order = np.lexsort((np.arange(S.shape[1]), -col_mean, -np.round(gain, 12)))
        j = int(order[0])
        picks.append(j)
        best = np.maximum(best, S[:, j])
    return picks


def _depth(S: np.ndarray, top: int) -> int:
    """How far to run the greedy order: enough for ``top`` places after the per-algorithm cap."""
    return min(S.shape[1], 4 * int(top) + 10)


def _pool(rec: Any, kind: str) -> tuple[np.ndarray, np.ndarray]:
    p = rec.transfer_.pools_[kind]
    return p.scores, p.alg_names


def weighted_order(weights: Callable[[Any, Mapping[str, float], str], np.ndarray]) -> Order:
    """The greedy portfolio under the task weights ``weights(rec, mf, kind)``."""
    def order(rec: Any, mf: Mapping[str, float], kind: str, top: int) -> list[int]:
        S, _ = _pool(rec, kind)
        return _greedy(S, weights(rec, mf, kind), _depth(S, top))
    return order


def sharp(f: float) -> Order:
    return weighted_order(lambda rec, mf, kind: _weights(rec, mf, kind, rec.transfer_.prior_sharpness * f))


def smooth(c: float) -> Order:
    def w(rec: Any, mf: Mapping[str, float], kind: str) -> np.ndarray:
        scale = math.exp(-_ratio(rec, mf, kind) / c)
        return _weights(rec, mf, kind, rec.transfer_.prior_sharpness * scale)
    return weighted_order(w)


def mix(c: float) -> Order:
    def w(rec: Any, mf: Mapping[str, float], kind: str) -> np.ndarray:
        lam = 1.0 - math.exp(-_ratio(rec, mf, kind) / c)
        base = _weights(rec, mf, kind, rec.transfer_.prior_sharpness)
        return (1.0 - lam) * base + lam / len(base)
    return weighted_order(w)


def knn(k: int, a: float) -> Order:
    def w(rec: Any, mf: Mapping[str, float], kind: str) -> np.ndarray:
        z = rec.transfer_.encoder_.scale_metafeatures(dict(mf))[0]
        d = rec.transfer_.similarity_.discordance(kind, z)
        if d is None:
            return np.full(rec.transfer_.n_tasks(kind), 1.0 / rec.transfer_.n_tasks(kind))
        ds = np.sort(d)
        width = float(ds[min(k, len(ds)) - 1] - ds[0])
        if width <= 1e-12:
            return np.full(len(d), 1.0 / len(d))
        return _norm(-a * (d - ds[0]) / width)
    return weighted_order(w)


def _family_scores(S: np.ndarray, algs: np.ndarray, w: np.ndarray, mode: str) -> tuple[list[str], np.ndarray]:
    fams = sorted(set(algs))
    B = np.stack([S[:, algs == a].max(axis=1) for a in fams], axis=1)  # tasks × families
    if mode == "E":
        return fams, w @ B
    top = B >= B.max(axis=1, keepdims=True) - 1e-12
    share = top / top.sum(axis=1, keepdims=True)
    return fams, w @ share


def family(mode: str, rest: str, sharpness_factor: float = 1.0, fallback: bool = False) -> Order:
    def order(rec: Any, mf: Mapping[str, float], kind: str, top: int) -> list[int]:
        S, algs = _pool(rec, kind)
        scale = 1.0 - rec.ood_weight(mf, kind)[2] if fallback else 1.0
        w = _weights(rec, mf, kind, rec.transfer_.prior_sharpness * sharpness_factor * scale)
        fams, p = _family_scores(S, algs, w, mode)
        mean = w @ S
        by_fam = {a: [int(j) for j in sorted(np.flatnonzero(algs == a), key=lambda j: -mean[j])] for a in fams}
        ranked = [fams[i] for i in np.argsort(-p, kind="stable")]
        if rest == "greedy":
            return _greedy(S, w, _depth(S, top), first=[by_fam[ranked[0]][0]])
        out: list[int] = []
        depth = 0
        while len(out) < S.shape[1]:
            for a in ranked:
                if depth < len(by_fam[a]):
                    out.append(by_fam[a][depth])
            depth += 1
        return out
    return order


def _surrogate_means(rec: Any, mf: Mapping[str, float], kind: str) -> np.ndarray:
    mean, _ = rec.surrogate_.predict_configs(mf, rec.transfer_.columns(kind))
    return np.nan_to_num(np.asarray(mean, dtype=float), nan=-np.inf)


def blend(alpha: float) -> Order:
    def order(rec: Any, mf: Mapping[str, float], kind: str, top: int) -> list[int]:
        S, _ = _pool(rec, kind)
        w = _weights(rec, mf, kind, rec.transfer_.prior_sharpness)
        key = alpha * _surrogate_means(rec, mf, kind) + (1.0 - alpha) * (w @ S)
        return _greedy(S, w, _depth(S, top), first=[int(np.argmax(key))])
    return order


def surrogate_family() -> Order:
    def order(rec: Any, mf: Mapping[str, float], kind: str, top: int) -> list[int]:
        S, algs = _pool(rec, kind)
        w = _weights(rec, mf, kind, rec.transfer_.prior_sharpness)
        sm = _surrogate_means(rec, mf, kind)
        fam = algs[int(np.argmax(sm))]
        mean = np.where(algs == fam, w @ S, -np.inf)
        return _greedy(S, w, _depth(S, top), first=[int(np.argmax(mean))])
    return order


def previous() -> Order:
    """The greedy portfolio under the prior, sharpness scaled by ``1 − w`` out of distribution."""
    return weighted_order(lambda rec, mf, kind: _weights(
        rec, mf, kind, rec.transfer_.prior_sharpness * (1.0 - rec.ood_weight(mf, kind)[2])))


def default_variants() -> dict[str, Order | None]:
    """Name → order (``None``: ``Recommender.rank`` as it ships)."""
    out: dict[str, Order | None] = {"shipped": None, "previous": previous(), "uniform": sharp(0.0)}
    for f in (0.25, 0.5, 1.0, 2.0):
        out[f"sharp×{f:g}"] = sharp(f)
    for c in (0.5, 1.0, 2.0):
        out[f"smooth {c:g}"] = smooth(c)
        out[f"mix {c:g}"] = mix(c)
    for k in (5, 15, 40):
        for a in (1.0, 2.0):
            out[f"knn {k} {a:g}"] = knn(k, a)
    for mode in ("P", "E"):
        for rest in ("greedy", "interleave"):
            out[f"family {mode} {rest}"] = family(mode, rest)
    out["family P greedy (uniform)"] = family("P", "greedy", 0.0)
    out["family P greedy (fallback)"] = family("P", "greedy", fallback=True)
    out["family P interleave (fallback)"] = family("P", "interleave", fallback=True)
    out["family P greedy (sharp×2)"] = family("P", "greedy", 2.0)
    out["blend 0.5"] = blend(0.5)
    out["blend 0.25"] = blend(0.25)
    out["surrogate family"] = surrogate_family()
    return out


# -- tables -----------------------------------------------------------------------------
def variant_table(result: Any, reference: str = "portfolio", current: str = "previous") -> pd.DataFrame:
    """Per method: mean / median regret@1 and @k, win rate and one-sided Wilcoxon p vs ``reference``
    (is the method's regret@1 lower?), and the mean difference to ``current``."""
    from scipy.stats import wilcoxon

    wide1 = result.rows.pivot(index="task_id", columns="method", values="regret_1")
    widek = result.rows.pivot(index="task_id", columns="method", values="regret_k")
    rows = []
    for m in result.methods:
        diff = (wide1[m] - wide1[reference]).dropna().to_numpy()
        p = float("nan")
        if len(diff) >= 2 and np.any(diff != 0):
            p = float(wilcoxon(diff, zero_method="zsplit", alternative="less").pvalue)
        pc = float("nan")
        dc = (wide1[m] - wide1[current]).dropna().to_numpy()
        if len(dc) >= 2 and np.any(dc != 0):
            pc = float(wilcoxon(dc, zero_method="zsplit").pvalue)
        rows.append({
            "method": m,
            "mean_regret_1": float(wide1[m].mean()),
            "median_regret_1": float(wide1[m].median()),
            f"mean_regret_{result.top}": float(widek[m].mean()),
            f"median_regret_{result.top}": float(widek[m].median()),
            f"wins_vs_{reference}": float(((diff < 0).sum() + 0.5 * (diff == 0).sum()) / max(len(diff), 1)),
            f"p_vs_{reference}": p,
            f"diff_vs_{current}": float(dc.mean()) if len(dc) else float("nan"),
            f"p2_vs_{current}": pc,
        })
    return pd.DataFrame(rows).set_index("method")


def per_block(result: Any) -> pd.DataFrame:
    """Mean regret@1 per held-out block (rows) and method (columns)."""
    col = "held_out" if "held_out" in result.rows.columns else "fold"
    return result.rows.pivot_table(index=col, columns="method", values="regret_1", aggfunc="mean")[result.methods]


# -- σ -------------------------------------------------------------------------------------
def _coverage(err: np.ndarray, std: np.ndarray) -> float:
    return float(np.mean(err <= std)) if len(err) else float("nan")


def _fit_widening(err: np.ndarray, std: np.ndarray, r: np.ndarray, target: float,
                  s0_grid: Sequence[float], b_grid: Sequence[float]) -> tuple[float, float]:
    """``(s0, b)`` whose ``σ · (s0 + b · r)`` brings ±1σ coverage nearest ``target`` in both
    novelty groups (flagged: ``r > 1``), each group counted once."""
    flag = r > 1.0
    best, arg = np.inf, (1.0, 0.0)
    for s0 in s0_grid:
        for b in b_grid:
            sd = std * (s0 + b * r)
            loss = 0.0
            for g in (flag, ~flag):
                if g.any():
                    loss += (_coverage(err[g], sd[g]) - target) ** 2
            if loss < best - 1e-12:
                best, arg = loss, (float(s0), float(b))
    return arg


def sigma_variants(calibration: pd.DataFrame, ratio: Mapping[str, float], fold_of: Mapping[str, Any],
                   target: float = 0.6827) -> tuple[pd.DataFrame, pd.DataFrame]:
    """±1σ coverage of the surrogate's σ as it is and widened by novelty.

    ``calibration``: the benchmark's rows of one method (``task_id``, ``true``, ``mean``,
    ``std``); ``ratio``: each task's novelty distance / threshold; ``fold_of``: each task's
    held-out block. Variants: ``raw``; ``widen (inner)``: ``σ · (s0 + b · r)`` with ``(s0, b)``
    fitted for each block on the other blocks' rows (never its own); ``scale (inner)``: the
    same with ``b = 0``. Returns the coverage per (variant, flagged group) and the fitted
    ``(s0, b)`` per block.
    """
    cal = calibration.copy()
    cal["r"] = cal["task_id"].map(ratio).astype(float).fillna(0.0)
    cal["block"] = cal["task_id"].map(fold_of)
    err = np.abs(cal["mean"].to_numpy() - cal["true"].to_numpy())
    std = cal["std"].to_numpy()
    r = cal["r"].to_numpy()
    s0_grid = np.round(np.arange(0.3, 2.01, 0.05), 3)
    b_grid = np.round(np.arange(0.0, 1.51, 0.05), 3)
    widened = {"raw": std.copy(), "widen (inner)": std.copy(), "scale (inner)": std.copy(),
               "flag scales (inner)": std.copy()}
    fits = []
    blocks = cal["block"].to_numpy()
    for blk in pd.unique(blocks):
        test = blocks == blk
        inner = ~test
        if not inner.any():
            continue
        s0, b = _fit_widening(err[inner], std[inner], r[inner], target, s0_grid, b_grid)
        s0s, _ = _fit_widening(err[inner], std[inner], r[inner], target, s0_grid, [0.0])
        widened["widen (inner)"][test] = std[test] * (s0 + b * r[test])
        widened["scale (inner)"][test] = std[test] * s0s
        flag_in, flag_test = r[inner] > 1.0, r[test] > 1.0
        s_un = _fit_widening(err[inner][~flag_in], std[inner][~flag_in], r[inner][~flag_in], target,
                             s0_grid, [0.0])[0] if (~flag_in).any() else 1.0
        s_fl = _fit_widening(err[inner][flag_in], std[inner][flag_in], r[inner][flag_in], target,
                             s0_grid, [0.0])[0] if flag_in.any() else 1.0
        widened["flag scales (inner)"][test] = std[test] * np.where(flag_test, s_fl, s_un)
        fits.append({"held_out": blk, "s0": s0, "b": b, "s0 (scale only)": s0s,
                     "s unflagged": s_un, "s flagged": s_fl})
    rows = []
    flag = r > 1.0
    for name, sd in widened.items():
        groups = [("all", np.ones_like(flag)), ("flagged", flag), ("unflagged", ~flag)]
        groups += [(f"held out: {blk}", blocks == blk) for blk in pd.unique(blocks)]
        for gname, g in groups:
            rows.append({"variant": name, "group": gname, "pairs": int(g.sum()),
                         "tasks": int(cal.loc[g, "task_id"].nunique()),
                         "coverage_1sd": _coverage(err[g], sd[g])})
    return pd.DataFrame(rows), pd.DataFrame(fits)
