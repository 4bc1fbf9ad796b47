"""Rank candidate configurations with the surrogate, diversified across algorithms.

Diversification rule (documented once, here): candidates are sorted by predicted mean
normalized score (optionally blended with a prior, see :func:`rank_candidates`; ties:
smaller ensemble spread, then input order), then picked greedily; an
algorithm may fill at most ``ceil(top / 2)`` of the ``top`` places while other
algorithms still have candidates left. When fewer algorithms than needed are
available, the remaining places are filled from the skipped candidates in the same
order, so the result always has ``min(top, n_unique_candidates)`` entries. With
``diversify=False`` the ranking is the plain sort.

Duplicate candidates (same ``config_id``) are scored once; the first occurrence wins.
Only numpy and the surrogate's pure-numpy prediction are used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from metaopt._exceptions import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from metaopt.learn import Surrogate

__all__ = ["Ranked", "diversify_order", "rank_candidates"]

#: One ranked candidate: ``(algorithm, params, predicted mean, predicted σ)``.
Ranked = tuple[str, dict[str, Any], float, float]

_KINDS = ("binary", "multiclass", "regression")


def diversify_order(algorithms: Sequence[str], order: Sequence[int], top: int) -> list[int]:
    """Greedy pick of ``top`` indices from ``order`` with at most ``ceil(top/2)`` per algorithm.

    Parameters
    ----------
    algorithms
        Algorithm of each candidate (indexed by the entries of ``order``).
    order
        Candidate indices, best first.
    top
        How many to pick.

    Returns
    -------
    list of int
        The picked indices, in the order they rank; skipped candidates fill the tail
        when the cap cannot be met (too few algorithms).
    """
    top = max(0, int(top))
    cap = max(1, math.ceil(top / 2))
    picked: list[int] = []
    counts: dict[str, int] = {}
    for i in order:
        if len(picked) >= top:
            break
        alg = algorithms[i]
        if counts.get(alg, 0) < cap:
            counts[alg] = counts.get(alg, 0) + 1
            picked.append(i)
    if len(picked) < top:
        chosen = set(picked)
        rest = [i for i in order if i not in chosen]
        picked.extend(rest[: top - len(picked)])
    return picked


def rank_candidates(
    surrogate: Surrogate,
    metafeatures: Mapping[str, float],
    kind: str,
    candidates: Sequence[tuple[str, Mapping[str, Any]]],
    top: int,
    *,
    diversify: bool = True,
    prior: Sequence[float] | None = None,
    prior_weight: float = 0.0,
) -> list[Ranked]:
    """The ``top`` candidates by the surrogate's predicted normalized score.

    Parameters
    ----------
    surrogate
        A fitted (or loaded) :class:`~metaopt.learn.Surrogate` with an encoder.
    metafeatures
        The task's meta-features (name → value).
    kind
        The task kind (``"binary"``, ``"multiclass"``, ``"regression"``); the
        candidates must be configs for this kind (e.g. the knowledge base's pool).
    candidates
        ``(algorithm, params)`` pairs; duplicates (same config id) are scored once.
    top
        How many to return.
    diversify
        Apply the per-algorithm cap described in the module docstring.
    prior, prior_weight
        Optional robust prior score per candidate (aligned with ``candidates``, e.g.
        its mean normalized score over the knowledge base): the ranking key becomes
        ``(1 - prior_weight) * mean + prior_weight * prior``. The returned ``mean`` and
        ``std`` stay the surrogate's. The recommender uses it for out-of-distribution
        datasets.

    Returns
    -------
    list of (str, dict, float, float)
        ``(algorithm, params, mean, std)``, best first.

    Raises
    ------
    ConfigError
        If ``kind`` is unknown or ``top`` is negative.
    """
    if kind not in _KINDS:
        raise ConfigError(f"unknown task kind {kind!r}", f"use one of: {', '.join(_KINDS)}")
    if top < 0:
        raise ConfigError(f"top must be >= 0, got {top}", "ask for at least one suggestion")
    from metaopt.spaces import config_id

    if prior is not None and len(prior) != len(candidates):
        raise ConfigError(
            f"prior has {len(prior)} entries for {len(candidates)} candidates",
            "pass one prior score per candidate",
        )
    unique: list[tuple[str, dict[str, Any]]] = []
    unique_prior: list[float] = []
    seen: set[str] = set()
    for j, (alg, params) in enumerate(candidates):
        cid = config_id(alg, dict(params))
        if cid not in seen:
            seen.add(cid)
            unique.append((alg, dict(params)))
            unique_prior.append(float(prior[j]) if prior is not None else 0.0)
    if not unique or top == 0:
        return []
    mean, std, spread = surrogate.predict_configs(metafeatures, unique, return_spread=True)
    mean = np.nan_to_num(np.asarray(mean, dtype=np.float64), nan=-np.inf)
    std = np.nan_to_num(np.asarray(std, dtype=np.float64), nan=np.inf)
    spread = np.nan_to_num(np.asarray(spread, dtype=np.float64), nan=np.inf)
    w = min(max(float(prior_weight), 0.0), 1.0) if prior is not None else 0.0
    key = (1.0 - w) * mean + w * np.nan_to_num(np.asarray(unique_prior), nan=0.0)
    # equal means: the one the members agree on first (the σ model never reorders them)
    order = sorted(range(len(unique)), key=lambda i: (-key[i], spread[i], i))
    if diversify:
        order = diversify_order([a for a, _ in unique], order, top)
    else:
        order = order[:top]
    return [(unique[i][0], unique[i][1], float(mean[i]), float(std[i])) for i in order]
