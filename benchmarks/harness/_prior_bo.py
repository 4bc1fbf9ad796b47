"""Bayesian optimisation with a meta-learned prior mean: the study adapts the surrogate (experiment).

The surrogate (:class:`metaopt.learn.Surrogate`) predicts every configuration's
normalized score on a new dataset from its meta-features before any trial has run:
that is the meta-learned *initialization*. :class:`PriorBO` adapts it to the study on
its first trials, in closed form — the MAML / Reptile idea of "a few steps from a
meta-learned start" done as Bayesian inference rather than gradient steps — with one
Gaussian process whose covariance has three parts:

* ``σ_a² · μ0(x) μ0(x')``: the study's scores are an unknown affine map of the
  surrogate's prediction (a study reports raw metric values, in any units);
* ``σ_b²``: an unknown offset;
* ``s² · exp(−‖x − x'‖² / 2ℓ²)`` over the encoded configuration (algorithm one-hot and
  unit coordinates): where the surrogate is wrong for *this* dataset, the residual is
  smooth in configuration space;

plus observation noise. ``s`` and ``ℓ`` are chosen by marginal likelihood over a small
grid at each step (a few dozen observations at most, so this costs milliseconds).
Proposals maximise expected improvement over a candidate set: the knowledge base's
pool configurations (fitted to the data) and, with ``local`` > 0, Gaussian moves of
the best observed configurations in unit coordinates.

Lives in ``benchmarks/harness`` until it beats the shipped sampler on the real-tuning
benchmark (``bench_tune_real.py``); measured first on the evaluated pools
(``benchmarks/experiments_prior_bo.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness._tune_methods import Config, Proposer

__all__ = ["PriorBO", "gp_posterior"]

_LENGTHS = (0.35, 0.7, 1.4)
_AMPS = (0.3, 0.7, 1.5)
_NOISE = 0.05


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None, :]
    return np.maximum(d, 0.0)


def gp_posterior(
    Z: np.ndarray, m: np.ndarray, y: np.ndarray, Zc: np.ndarray, mc: np.ndarray,
    amp: float, length: float, noise: float = _NOISE, sa: float = 1.0, sb: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Posterior mean and sd at candidates, and the log marginal likelihood of ``y``.

    ``Z`` / ``Zc``: encoded observed / candidate configs; ``m`` / ``mc``: the prior
    feature (standardized surrogate mean) there; ``y``: standardized observations.
    """
    def kern(A: np.ndarray, ma: np.ndarray, B: np.ndarray, mb: np.ndarray) -> np.ndarray:
        return sa**2 * np.outer(ma, mb) + sb**2 + amp**2 * np.exp(-_sqdist(A, B) / (2.0 * length**2))

    K = kern(Z, m, Z, m) + (noise**2 + 1e-8) * np.eye(len(y))
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    Ks = kern(Zc, mc, Z, m)
    mean = Ks @ alpha
    v = np.linalg.solve(L, Ks.T)
    prior_var = sa**2 * mc**2 + sb**2 + amp**2
    var = np.maximum(prior_var - (v * v).sum(0), 1e-12)
    lml = float(-0.5 * y @ alpha - np.log(np.diag(L)).sum() - 0.5 * len(y) * math.log(2 * math.pi))
    return mean, np.sqrt(var), lml


def _ei(mean: np.ndarray, sd: np.ndarray, best: float) -> np.ndarray:
    from scipy.stats import norm

    z = (mean - best) / sd
    return (mean - best) * norm.cdf(z) + sd * norm.pdf(z)


class PriorBO(Proposer):
    """Expected improvement under the surrogate-prior GP (see the module docstring)."""

    def __init__(
        self,
        surrogate: Any,
        metafeatures: Mapping[str, float],
        candidates: Sequence[Config],
        shape: Any = None,
        seed: int = 0,
        local: int = 0,
        use_gp: bool = True,
    ) -> None:
        self.surrogate = surrogate
        self.metafeatures = dict(metafeatures)
        self.shape = shape
        self.rng = np.random.default_rng(seed)
        self.local = int(local)
        self.use_gp = use_gp
        self.cands: list[Config] = [(a, dict(p)) for a, p in candidates]
        self._mu_all: list[float] = []
        self._Z: list[np.ndarray] = []
        self._keys: dict[str, int] = {}
        self._add(self.cands)
        self.obs: list[tuple[int, float]] = []

    # -- bookkeeping ----------------------------------------------------------------

    def _encode(self, configs: Sequence[Config]) -> tuple[np.ndarray, np.ndarray]:
        X = self.surrogate.encode(self.metafeatures, configs)
        mu, _ = self.surrogate.predict(X)
        n_mf = self.surrogate._encoder().n_metafeatures
        Z = np.nan_to_num(X[:, n_mf:], nan=0.5)
        return Z, mu

    def _key(self, alg: str, params: Mapping[str, Any]) -> str:
        from metaopt.spaces import config_id

        return config_id(alg, dict(params))

    def _add(self, configs: Sequence[Config]) -> list[int]:
        new = [(a, dict(p)) for a, p in configs if self._key(a, p) not in self._keys]
        idx = []
        if new:
            Z, mu = self._encode(new)
            for (a, p), z, m in zip(new, Z, mu, strict=True):
                k = self._key(a, p)
                if k in self._keys:
                    continue
                self._keys[k] = len(self._Z)
                if (a, p) not in self.cands:
                    self.cands.append((a, p))
                self._Z.append(z)
                self._mu_all.append(float(m))
        for a, p in configs:
            idx.append(self._keys[self._key(a, p)])
        return idx

    def observe(self, algorithm: str, params: Mapping[str, Any], value: float) -> None:
        (i,) = self._add([(algorithm, dict(params))])
        self.obs.append((i, float(value) if math.isfinite(value) else math.nan))

    # -- proposals --------------------------------------------------------------------

    def _local_moves(self) -> None:
        """Gaussian moves of the 3 best observed configs (unit coordinates), added as candidates."""
        from metaopt.spaces import get_space

        good = sorted((v, i) for i, v in self.obs if math.isfinite(v))[::-1][:3]
        moves: list[Config] = []
        for _, i in good:
            alg, params = self.cands[i]
            space = get_space(alg)
            for _ in range(self.local):
                p = dict(params)
                for prm in space.params(self.shape):
                    if prm.type == "categorical" or prm.name not in p or p[prm.name] is None:
                        continue
                    u = float(np.clip(prm.to_unit(float(p[prm.name])) + self.rng.normal(0, 0.1), 0, 1))
                    p[prm.name] = prm.from_unit(u)
                try:
                    moves.append((alg, space.validate(p, self.shape)))
                except Exception:
                    continue
        if moves:
            self._add(moves)

    def propose(self) -> Config:
        tried = {i for i, _ in self.obs}
        mu = np.asarray(self._mu_all)
        free = np.array([i for i in range(len(self.cands)) if i not in tried and i < len(mu)])
        if not self.obs or not self.use_gp:
            return self.cands[int(free[np.argmax(mu[free])])]
        if self.local:
            self._local_moves()
            mu = np.asarray(self._mu_all)
            free = np.array([i for i in range(len(self.cands)) if i not in tried])
        ok = [(i, v) for i, v in self.obs if math.isfinite(v)]
        if len(ok) < 2:
            return self.cands[int(free[np.argmax(mu[free])])]
        idx = np.array([i for i, _ in ok])
        y = np.array([v for _, v in ok])
        sd_y = y.std()
        if sd_y <= 0:
            sd_y = 1.0
        ys = (y - y.mean()) / sd_y
        mstd = mu.std() or 1.0
        mz = (mu - mu.mean()) / mstd
        Z = np.asarray(self._Z)
        best_lml, best = -math.inf, None
        for amp in _AMPS:
            for length in _LENGTHS:
                mean, sd, lml = gp_posterior(Z[idx], mz[idx], ys, Z[free], mz[free], amp, length)
                if lml > best_lml:
                    best_lml, best = lml, (mean, sd)
        assert best is not None
        mean, sd = best
        ei = _ei(mean, sd, float(ys.max()))
        return self.cands[int(free[np.argmax(ei)])]
