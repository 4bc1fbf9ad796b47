"""The trained recommender: one object behind ``train``, ``suggest``, MetaSampler and the benchmark.

A :class:`Recommender` is fitted on a knowledge base (``fit(kb)``; ``fit(kb, tasks)``
on a subset, as the leave-dataset-out benchmark does per fold), saved to and loaded
from one directory (``save`` / ``load``), and asked for a ranking (:meth:`rank`). It
holds:

``transfer_`` (:class:`~metaopt.learn.TransferPortfolio`)
    The knowledge base's shared config pool per kind with every training task's
    normalized scores on it, and the learned task similarity
    (:class:`~metaopt.learn.TaskSimilarity`) — metaopt's one notion of "a similar
    dataset". It ranks (family vote first, then the similarity-weighted greedy portfolio), names the evidence
    (the training tasks it weights most) and flags a dataset out of distribution
    (:meth:`TaskSimilarity.novelty`).
``surrogate_`` (:class:`~metaopt.learn.Surrogate`)
    Predicts each suggestion's normalized score, σ and fit time; ranks the candidates
    outside the pool when the filters leave fewer than ``top`` pool configs.
``optimizer_`` (:class:`~metaopt.learn.LearnedOptimizer` or None)
    The RNN policy of the Optuna :class:`~metaopt.integrations.optuna.MetaSampler`;
    its transfer stage *is* ``transfer_`` (stored once).
``evidence_``
    Per kind, the raw cross-validated score of every training task on every pool
    config (what the evidence shown to a user quotes), the tasks' names and metrics.

Saved as one directory in the one save format of :mod:`metaopt.learn._saved`: a
``manifest.json`` whose document records the knowledge base's fingerprint and size,
the meta-feature version, the algorithms with a fingerprint of each search space, the
components' parameters, and the SHA-256 of ``arrays.npz`` (checked on load). Loading
models that do not know an algorithm this metaopt offers, or whose space changed,
raises :class:`~metaopt.ModelVersionError` naming the algorithms and the fix.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from metaopt._exceptions import ConfigError, ModelError, ModelVersionError
from metaopt._paths import data_path

if TYPE_CHECKING:  # pragma: no cover
    from metaopt.kb import KnowledgeBase
    from metaopt.learn import LearnedOptimizer, Surrogate, TransferPortfolio
    from metaopt.spaces import DataShape

__all__ = [
    "MODELS_ENV",
    "Candidate",
    "Recommender",
    "default_models_path",
    "load_optimizer",
    "space_fingerprint",
]

#: Environment variable naming the models directory.
MODELS_ENV = "METAOPT_MODELS"
_KIND = "recommender"
_KINDS = ("binary", "multiclass", "regression")
_TRAIN = "run `metaopt kb build` for it, then `metaopt train` (or pass --algorithms without it)"


def default_models_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Where the recommender lives: ``path``, else ``$METAOPT_MODELS``, else ``datasets/models``.

    ``datasets/models`` of the source checkout, else ``metaopt/datasets/models`` inside
    the installed package.
    """
    if path is not None:
        return Path(path).expanduser()
    return data_path("models", MODELS_ENV, "manifest.json")


def space_fingerprint(algorithm: str) -> str:
    """A short hash of an algorithm's search space (parameters, ranges, defaults).

    Models record it per algorithm; a space edited since training is caught at load.
    """
    from metaopt.learn import reference_shape
    from metaopt.spaces import get_space

    space = get_space(algorithm)
    doc = {
        kind: {
            "params": [p.describe() for p in space.params(reference_shape(kind))],
            "default": space.default(kind),
        }
        for kind in _KINDS
    }
    blob = json.dumps(doc, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


@dataclass(frozen=True)
class Candidate:
    """One ranked configuration.

    Attributes
    ----------
    algorithm, params
        The configuration (fitted to the data's shape when :meth:`Recommender.rank`
        was given one; else as the knowledge base evaluated it).
    score, uncertainty
        The surrogate's predicted normalized score and σ.
    fit_time
        Expected seconds to fit once (None without ``n_rows`` or when unknown).
    column
        Its column in the kind's pool (None for a candidate from outside the pool).
    """

    algorithm: str
    params: dict[str, Any]
    score: float
    uncertainty: float
    fit_time: float | None = None
    column: int | None = None


@dataclass(frozen=True)
class Evidence:
    """How one similar knowledge-base dataset supports a suggestion.

    Attributes
    ----------
    task_id, name
        The knowledge-base task.
    agreement
        The learned similarity's predicted rank agreement with the new dataset: the
        share of pool config pairs the two order the same way (1 = the same ranking,
        0.5 = unrelated); None for a kind with too few tasks for a model (then the
        nearest tasks by meta-features are listed).
    config_id
        The suggested algorithm's best config there (None if never evaluated).
    normalized
        That config's normalized score there (1 = the best of all configs tried).
    score, metric
        Its raw cross-validated score and the metric.
    """

    task_id: str
    name: str
    agreement: float | None
    config_id: str | None
    normalized: float | None
    score: float | None
    metric: str


class _Steps:
    """``with steps("name"):`` reports ``progress(name, None)``, then ``progress(name, seconds)``."""

    def __init__(self, progress: Callable[[str, float | None], None] | None) -> None:
        self.progress = progress

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(name, None)
        t0 = time.perf_counter()
        yield
        if self.progress is not None:
            self.progress(name, time.perf_counter() - t0)


class Recommender:
    """The trained recommender (see the module).

    Parameters
    ----------
    n_members, random_state
        Surrogate ensemble size and the seed of everything trained.
    surrogate_params
        More :class:`~metaopt.learn.Surrogate` parameters (they win over the two above).
    optimizer_params
        :class:`~metaopt.learn.LearnedOptimizer` parameters (its defaults, seeded with
        ``random_state``, when None); ``{"iterations": 0}`` trains no optimizer (the
        transfer portfolio is then fitted alone, with the same defaults).

    Examples
    --------
    >>> rec = Recommender().fit(kb).save("datasets/models")            # doctest: +SKIP
    >>> rec = Recommender.load()                                        # doctest: +SKIP
    >>> rec.rank(metafeatures, "binary", top=5, shape=shape)            # doctest: +SKIP
    """

    surrogate_: Surrogate
    transfer_: TransferPortfolio
    optimizer_: LearnedOptimizer | None
    evidence_: dict[str, dict[str, Any]]
    info_: dict[str, Any]

    def __init__(
        self,
        n_members: int = 8,
        random_state: int = 0,
        surrogate_params: Mapping[str, Any] | None = None,
        optimizer_params: Mapping[str, Any] | None = None,
    ) -> None:
        self.n_members = n_members
        self.random_state = random_state
        self.surrogate_params = surrogate_params
        self.optimizer_params = optimizer_params

    def __repr__(self) -> str:
        return f"Recommender(n_members={self.n_members}, random_state={self.random_state})"

    # -- fitting ---------------------------------------------------------------------------

    def fit(
        self,
        kb: KnowledgeBase | str | os.PathLike[str],
        tasks: Sequence[str] | None = None,
        *,
        progress: Callable[[str, float | None], None] | None = None,
    ) -> Recommender:
        """Train every component on the knowledge base (``tasks``: only these task ids).

        ``progress(component, seconds)`` is called as each component starts (``seconds``
        None) and ends (the seconds it took): ``"surrogate"``, ``"pool"`` (the knowledge
        base's config pool), ``"optimizer and similarity"`` (or ``"similarity"`` without a
        learned optimizer) and ``"evidence"``; within the optimizer's meta-training,
        ``"optimizer and similarity: k/n updates"`` after every tenth of the updates.

        Raises
        ------
        ModelError
            If the knowledge base holds no usable evaluations.
        """
        from metaopt.kb import KnowledgeBase
        from metaopt.learn import LearnedOptimizer, PoolTable, Surrogate, TransferPortfolio

        if not isinstance(kb, KnowledgeBase):
            kb = KnowledgeBase.open(kb)
        started = time.perf_counter()
        step = _Steps(progress)
        ids = None if tasks is None else sorted({str(t) for t in tasks})
        params = {"n_members": self.n_members, "random_state": self.random_state}
        with step("surrogate"):
            self.surrogate_ = Surrogate.from_kb(kb, tasks=ids, **{**params, **dict(self.surrogate_params or {})})
        with step("pool"):
            pool = PoolTable(kb, ids)
        opt_params = {"seed": self.random_state, **dict(self.optimizer_params or {})}
        self.optimizer_ = None
        if int(opt_params.get("iterations", 1)) > 0:
            name = "optimizer and similarity"
            with step(name):
                updates = None if progress is None else (
                    lambda done, total: progress(f"{name}: {done}/{total} updates", None))
                self.optimizer_ = LearnedOptimizer(**opt_params).fit(pool, progress=updates)
        transfer = None if self.optimizer_ is None else self.optimizer_.transfer_
        if transfer is None:
            with step("similarity"):
                transfer = TransferPortfolio().fit(pool)
        self.transfer_ = transfer
        with step("evidence"):
            self.evidence_ = _evidence_tables(kb, self.transfer_)
            self.info_ = _kb_info(kb, self.transfer_, ids)
        self.info_["train_seconds"] = round(time.perf_counter() - started, 1)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "transfer_"):
            raise ModelError("this Recommender is not fitted", "call fit(kb) or Recommender.load()")

    # -- persistence -------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str] | None = None) -> Recommender:
        """Write everything into one directory (default :func:`default_models_path`); returns self."""
        from metaopt.learn._saved import write_saved

        self._check_fitted()
        root = default_models_path(path)
        doc = {
            "kb": self.info_,
            "algorithms": {a: space_fingerprint(a) for a in self.algorithms},
            "params": {"n_members": self.n_members, "random_state": self.random_state},
            "encoder": self.transfer_.encoder_.to_json(),
            "surrogate": self.surrogate_.to_json(),
            "transfer": self.transfer_.to_json(),
            "optimizer": None if self.optimizer_ is None else self.optimizer_.to_json(),
            "evidence": {k: {"names": v["names"], "metrics": v["metrics"]} for k, v in self.evidence_.items()},
        }
        arrays = {**self.surrogate_.to_arrays("surrogate."), **self.transfer_.to_arrays()}
        if self.optimizer_ is not None:
            arrays.update(self.optimizer_.to_arrays("optimizer."))
        for kind, ev in self.evidence_.items():
            arrays[f"evidence.{kind}.raw"] = ev["raw"].astype(np.float32)
        write_saved(root, _KIND, doc, arrays)
        _remove_legacy_files(root)
        self.path_ = root
        return self

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        algorithms: Sequence[str] | None = None,
    ) -> Recommender:
        """Load a recommender saved by :meth:`save` (default :func:`default_models_path`).

        Parameters
        ----------
        algorithms
            The algorithms the caller will ask for: each must be known to the models,
            with the space it was trained on (default: the spaces of the algorithms the
            models know are checked; :attr:`unknown_algorithms` lists the others).

        Raises
        ------
        ModelError
            If the directory or its files are missing or corrupt.
        ModelVersionError
            If the models were saved in another format or meta-feature version, or do
            not know one of ``algorithms`` (or its space changed since training).
        """
        from metaopt.learn import ConfigEncoder, LearnedOptimizer, Surrogate, TransferPortfolio
        from metaopt.learn._saved import RETRAIN, read_saved

        root = default_models_path(path)
        manifest, arrays = read_saved(root, _KIND)
        doc = manifest["doc"]
        _check_algorithms(root, dict(doc.get("algorithms") or {}), algorithms)
        rec = cls(**dict(doc.get("params") or {}))
        try:
            encoder = ConfigEncoder.from_json(doc["encoder"])
            rec.surrogate_ = Surrogate.from_saved(doc["surrogate"], arrays, "surrogate.")
            rec.surrogate_.mf_version_ = str(manifest["mf_version"])
            rec.transfer_ = TransferPortfolio.from_saved(doc["transfer"], arrays, encoder)
            rec.optimizer_ = None
            if doc.get("optimizer"):
                rec.optimizer_ = LearnedOptimizer.from_saved(
                    doc["optimizer"], arrays, "optimizer.", rec.transfer_
                )
                rec.optimizer_.mf_version_ = str(manifest["mf_version"])
            rec.evidence_ = {
                kind: {**dict(info), "raw": np.asarray(arrays[f"evidence.{kind}.raw"], dtype=np.float64)}
                for kind, info in dict(doc.get("evidence") or {}).items()
            }
            _check_loaded(rec)
        except (ModelVersionError, ModelError):
            raise
        except (KeyError, ValueError, TypeError, AttributeError, IndexError, ConfigError) as exc:
            raise ModelError(
                f"the models at {root} are damaged or incomplete ({exc!r}; file "
                f"{root / 'manifest.json'})",
                RETRAIN,
            ) from exc
        rec.info_ = dict(doc.get("kb") or {})
        rec.path_ = root
        return rec

    # -- what it knows -------------------------------------------------------------------------

    @property
    def algorithms(self) -> list[str]:
        """The algorithms the models know: those with configs in the knowledge base's pool."""
        self._check_fitted()
        known = {a for k in self.transfer_.kinds for a in self.transfer_.pools_[k].algorithms}
        return [a for a in self.transfer_.encoder_.algorithms if a in known]

    @property
    def unknown_algorithms(self) -> list[str]:
        """Algorithms this metaopt offers that the models do not know (train them in)."""
        from metaopt.spaces import ALGORITHMS

        return [a for a in ALGORITHMS if a not in self.algorithms]

    def novelty(self, metafeatures: Mapping[str, float], kind: str) -> tuple[float, float]:
        """``(excess distance, threshold)`` of a dataset to the training tasks of ``kind``.

        The dataset is out of distribution when the excess exceeds the threshold
        (:meth:`metaopt.learn.TaskSimilarity.novelty`).
        """
        self._check_fitted()
        z = self.transfer_.encoder_.scale_metafeatures(dict(metafeatures))[0]
        return self.transfer_.similarity_.novelty(kind, z)

    def ood_weight(self, metafeatures: Mapping[str, float], kind: str) -> tuple[bool, float, float]:
        """``(ood, distance, w)``: the flag, the excess distance, and the fallback weight.

        ``w = max(0.5, 1 − threshold / distance)`` out of distribution, else 0: the
        share of the ranking that falls back on what worked on average.
        """
        distance, threshold = self.novelty(metafeatures, kind)
        ood = bool(distance > threshold)
        weight = max(0.5, 1.0 - threshold / distance) if ood and distance > 0 else 0.0
        return ood, float(distance), float(weight)

    def priors(self, kind: str) -> dict[tuple[str, str], float]:
        """``(algorithm, config_id)`` → mean normalized score over the kind's training tasks."""
        from metaopt.spaces import config_id

        pool = self.transfer_.pools_.get(kind)
        if pool is None:
            return {}
        mean = pool.scores.mean(axis=0)
        return {
            (a, config_id(a, p)): float(m)
            for a, p, m in zip(pool.algorithms, pool.params, mean, strict=True)
        }

    # -- ranking ----------------------------------------------------------------------------

    def rank(
        self,
        metafeatures: Mapping[str, float],
        kind: str,
        top: int = 5,
        *,
        shape: DataShape | None = None,
        n_rows: int | None = None,
        algorithms: Sequence[str] | None = None,
        time_budget: float | None = None,
        extra: Sequence[tuple[str, Mapping[str, Any]]] = (),
    ) -> list[Candidate]:
        """The ``top`` configurations for a dataset, best first.

        The kind's pool ordered family first: the training tasks, weighted by the
        learned similarity, vote for the algorithm family whose best config wins on them,
        and the first pick is that family's config of the best weighted mean score
        (:func:`~metaopt.learn.family_vote`); the similarity-weighted greedy portfolio
        orders the rest around it (:meth:`~metaopt.learn.TransferPortfolio.order`; out of
        distribution the prior's sharpness is scaled by ``1 − w``, see :meth:`ood_weight`), at most
        ``ceil(top / 2)`` per algorithm (:func:`~metaopt.recommend.diversify_order`).
        With ``shape`` pool configs are fitted to it and those of algorithms that do
        not support it are dropped; ``algorithms`` filters; with ``n_rows``, configs
        expected to fit slower than ``time_budget`` seconds are dropped. When fewer
        than ``top`` pool configs are left, the surrogate ranks the remaining ones and
        ``extra`` (e.g. defaults and fresh Sobol configs), its key blended with each
        config's prior by ``w``.
        """
        self._check_fitted()
        if kind not in self.transfer_.kinds:
            raise ModelError(
                f"the models know no {kind} task, so they cannot rank for one",
                "build tasks of that kind into the knowledge base, then `metaopt train`",
            )
        ood, _, weight = self.ood_weight(metafeatures, kind)
        configs, usable = self._usable_pool(metafeatures, kind, shape, n_rows, algorithms, time_budget)
        if extra and time_budget is not None and n_rows is not None:
            pairs = [(a, dict(p)) for a, p in extra]
            times = self.surrogate_.expected_fit_time(metafeatures, pairs, n_rows)
            extra = [e for e, t in zip(pairs, times, strict=True) if not (np.isfinite(t) and t > time_budget)]
        picked = self._portfolio_order(metafeatures, kind, configs, usable, top, 1.0 - weight)
        chosen: list[tuple[str, dict[str, Any], int | None]] = [(*configs[j], j) for j in picked]
        if len(chosen) < top:
            chosen += self._surrogate_fill(
                metafeatures, kind, configs, usable, picked, extra, top - len(chosen), weight,
                shape, algorithms,
            )
        return self._predict(metafeatures, chosen, n_rows)

    def _usable_pool(
        self,
        metafeatures: Mapping[str, float],
        kind: str,
        shape: DataShape | None,
        n_rows: int | None,
        algorithms: Sequence[str] | None,
        time_budget: float | None,
    ) -> tuple[list[tuple[str, dict[str, Any]]], np.ndarray]:
        """The kind's pool configs (fitted to ``shape``) and which of them pass the filters."""
        from metaopt.learn._transfer import fit_to_shape

        allowed = None if algorithms is None else set(algorithms)
        configs: list[tuple[str, dict[str, Any]]] = []
        usable = []
        for alg, params in self.transfer_.columns(kind):
            ok = allowed is None or alg in allowed
            if ok and shape is not None:
                try:
                    params = fit_to_shape(alg, params, shape)
                except ConfigError:
                    ok = False
            configs.append((alg, params))
            usable.append(ok)
        mask = np.array(usable, dtype=bool)
        if time_budget is not None and n_rows is not None and mask.any():
            idx = np.flatnonzero(mask)
            times = self.surrogate_.expected_fit_time(metafeatures, [configs[i] for i in idx], n_rows)
            mask[idx[np.isfinite(times) & (times > time_budget)]] = False
        return configs, mask

    def _portfolio_order(
        self,
        metafeatures: Mapping[str, float],
        kind: str,
        configs: list[tuple[str, dict[str, Any]]],
        usable: np.ndarray,
        top: int,
        sharpness_scale: float,
    ) -> list[int]:
        """Pool columns: the family vote's pick, then the prior-weighted greedy order; deduplicated
        and diversified."""
        from metaopt.recommend._rank import diversify_order
        from metaopt.spaces import config_id

        sharpness = float(self.transfer_.prior_sharpness) * max(0.0, float(sharpness_scale))
        order = [j for j, _ in self.transfer_.order(kind, int(usable.sum()), metafeatures, usable, sharpness,
                                                     family_first=True)]
        unique: list[int] = []
        seen: set[str] = set()
        for j in order:  # clipping can map two pool configs onto one for a small dataset
            cid = config_id(*configs[j])
            if cid not in seen:
                seen.add(cid)
                unique.append(j)
        return diversify_order([a for a, _ in configs], unique, top)

    def _surrogate_fill(
        self,
        metafeatures: Mapping[str, float],
        kind: str,
        configs: list[tuple[str, dict[str, Any]]],
        usable: np.ndarray,
        picked: list[int],
        extra: Sequence[tuple[str, Mapping[str, Any]]],
        n: int,
        weight: float,
        shape: DataShape | None,
        algorithms: Sequence[str] | None,
    ) -> list[tuple[str, dict[str, Any], int | None]]:
        """Up to ``n`` more configs, ranked by the surrogate (blended with the prior by ``weight``)."""
        from metaopt.recommend._rank import rank_candidates
        from metaopt.spaces import config_id, get_space

        taken = {config_id(*configs[j]) for j in picked}
        prior = self.priors(kind)
        by_alg: dict[str, list[float]] = {}
        for (a, _), v in prior.items():
            by_alg.setdefault(a, []).append(v)
        cands: list[tuple[str, dict[str, Any]]] = []
        column: dict[str, int | None] = {}
        for j in np.flatnonzero(usable):
            cid = config_id(*configs[j])
            if cid not in taken and cid not in column:
                cands.append(configs[j])
                column[cid] = int(j)
        for alg, params in extra:
            if (algorithms is not None and alg not in algorithms) or alg not in self.algorithms:
                continue
            try:
                p = get_space(alg).validate(dict(params), shape) if shape is not None else dict(params)
            except ConfigError:
                continue
            cid = config_id(alg, p)
            if cid not in taken and cid not in column:
                cands.append((alg, p))
                column[cid] = None
        if not cands:
            return []
        pri = [prior.get((a, config_id(a, p)), float(np.median(by_alg.get(a, [0.0])))) for a, p in cands]
        ranked = rank_candidates(self.surrogate_, metafeatures, kind, cands, n, prior=pri, prior_weight=weight)
        return [(a, p, column.get(config_id(a, p))) for a, p, _, _ in ranked]

    def _predict(
        self,
        metafeatures: Mapping[str, float],
        chosen: list[tuple[str, dict[str, Any], int | None]],
        n_rows: int | None,
    ) -> list[Candidate]:
        if not chosen:
            return []
        pairs = [(a, p) for a, p, _ in chosen]
        mean, std = self.surrogate_.predict_configs(metafeatures, pairs)
        times: Sequence[float | None] = [None] * len(pairs)
        if n_rows is not None:
            times = [
                float(t) if math.isfinite(t) else None
                for t in self.surrogate_.expected_fit_time(metafeatures, pairs, n_rows)
            ]
        return [
            Candidate(a, dict(p), float(m), float(s), t, j)
            for (a, p, j), m, s, t in zip(chosen, mean, std, times, strict=True)
        ]

    # -- evidence ------------------------------------------------------------------------------

    def similar_tasks(
        self, metafeatures: Mapping[str, float], kind: str, n: int
    ) -> list[tuple[int, float | None]]:
        """The ``n`` training tasks of ``kind`` the similarity weights most: ``(row, agreement)``.

        ``agreement`` is ``1 − predicted discordance``; for a kind without a similarity
        model the nearest tasks by the scaled meta-features it reads, with None.
        """
        self._check_fitted()
        sim = self.transfer_.similarity_
        z = self.transfer_.encoder_.scale_metafeatures(dict(metafeatures))[0]
        d = sim.discordance(kind, z)
        if d is not None:
            order = np.argsort(d, kind="stable")[:n]
            return [(int(i), float(1.0 - d[i])) for i in order]
        train = sim.metafeatures_.get(kind)
        if train is None or not len(train):
            return []
        z0 = np.nan_to_num(z, nan=0.0)
        dist = np.sqrt(((train - z0) ** 2).mean(axis=1))
        return [(int(i), None) for i in np.argsort(dist, kind="stable")[:n]]

    def evidence(
        self,
        metafeatures: Mapping[str, float],
        kind: str,
        algorithm: str,
        n: int = 3,
        similar: Sequence[tuple[int, float | None]] | None = None,
    ) -> list[Evidence]:
        """How ``algorithm`` did on the ``n`` most similar training tasks (:meth:`similar_tasks`).

        ``similar``: that list, when the caller already has it (one per dataset, not one
        per suggestion).
        """
        from metaopt.spaces import config_id

        pool = self.transfer_.pools_.get(kind)
        info = self.evidence_.get(kind)
        if pool is None or info is None or n <= 0:
            return []
        cols = np.flatnonzero(pool.alg_names == algorithm)
        out = []
        if similar is None:
            similar = self.similar_tasks(metafeatures, kind, n)
        for i, agreement in similar[:n]:
            raw = info["raw"][i, cols] if cols.size else np.zeros(0)
            ok = np.isfinite(raw)
            best = None
            if ok.any():
                sub = cols[ok]
                best = int(sub[np.argmax(pool.scores[i, sub])])
            out.append(
                Evidence(
                    task_id=pool.task_ids[i],
                    name=str(info["names"][i]),
                    agreement=agreement,
                    config_id=None if best is None else config_id(algorithm, pool.params[best]),
                    normalized=None if best is None else float(pool.scores[i, best]),
                    score=None if best is None else float(info["raw"][i, best]),
                    metric=str(info["metrics"][i]),
                )
            )
        return out


def _check_loaded(rec: Recommender) -> None:
    """Raise ValueError where the loaded parts do not fit together (a damaged or crafted
    file whose checksum was recomputed): evidence tables of the pools' shapes, and a
    surrogate that predicts a row of its own width."""
    for kind, info in rec.evidence_.items():
        pool = rec.transfer_.pools_.get(kind)
        if pool is None:
            raise ValueError(f"evidence for kind {kind!r}, which has no pool")
        shape = (len(pool.task_ids), len(pool.algorithms))
        if info["raw"].shape != shape or len(info.get("names") or []) != shape[0] or len(
            info.get("metrics") or []
        ) != shape[0]:
            raise ValueError(
                f"evidence of {kind!r} has shape {info['raw'].shape} and "
                f"{len(info.get('names') or [])} names, the pool {shape}"
            )
    surrogate = rec.surrogate_
    row = np.zeros((1, int(surrogate.n_features_in_)))
    mean, std = surrogate.predict(row)
    if mean.shape != (1,) or std.shape != (1,):
        raise ValueError(f"the surrogate predicts shapes {mean.shape}, {std.shape} for one row")
    if getattr(surrogate, "fit_time_model_", None) is not None:
        surrogate.predict_log_fit_time(row)


#: What models directories held before the one save format (removed when one is rewritten).
_LEGACY = ("surrogate", "optimizer", "transfer", "nearest.json", "portfolio.json",
           "best_default.json", "pool.json", "evidence.json")


def _remove_legacy_files(root: Path) -> None:
    """Delete an older metaopt's model files next to a freshly written recommender."""
    import shutil

    for name in _LEGACY:
        path = root / name
        if path.is_dir() and (path / "manifest.json").is_file():
            shutil.rmtree(path)
        elif path.is_file():
            path.unlink()


def _check_algorithms(root: Path, known: Mapping[str, str], wanted: Sequence[str] | None) -> None:
    """Raise ModelVersionError when the models lack one of ``wanted`` or a space changed.

    ``wanted=None``: only the spaces of the algorithms the models know are checked (an
    algorithm they lack is reported by :attr:`Recommender.unknown_algorithms`).
    """
    from metaopt.spaces import ALGORITHMS

    names = [a for a in ALGORITHMS if a in known] if wanted is None else [str(a) for a in wanted]
    missing = [a for a in names if a not in known]
    if missing:
        raise ModelVersionError(
            f"the models at {root} know the algorithms {', '.join(sorted(known)) or 'none'}, "
            f"not {', '.join(missing)}",
            _TRAIN,
        )
    changed = [a for a in names if known[a] != space_fingerprint(a)]
    if changed:
        raise ModelVersionError(
            f"the search space of {', '.join(changed)} changed since the models at {root} "
            "were trained",
            "rebuild its knowledge-base rows (`metaopt kb build`), then `metaopt train`",
        )


def _evidence_tables(kb: KnowledgeBase, transfer: TransferPortfolio) -> dict[str, dict[str, Any]]:
    """Per kind: raw scores of the pool (tasks × columns, NaN where not evaluated), names, metrics."""
    from metaopt.spaces import config_id

    ev = kb.evaluations(columns=["task_id", "algorithm", "config_id", "status", "score", "metric"])
    ev = ev[ev["status"].astype(str) == "ok"]
    raw = ev.groupby(["task_id", "algorithm", "config_id"])["score"].max().to_dict()
    metric = ev.groupby("task_id")["metric"].first().to_dict()
    tasks = kb.tasks()
    names = dict(zip(tasks["task_id"].astype(str), tasks["name"].astype(str), strict=False))
    out: dict[str, dict[str, Any]] = {}
    for kind in transfer.kinds:
        pool = transfer.pools_[kind]
        keys = [(a, config_id(a, p)) for a, p in zip(pool.algorithms, pool.params, strict=True)]
        table = np.full((len(pool.task_ids), len(keys)), np.nan)
        for i, t in enumerate(pool.task_ids):
            for j, (a, c) in enumerate(keys):
                v = raw.get((t, a, c))
                if v is not None and np.isfinite(v):
                    table[i, j] = float(v)
        out[kind] = {
            "raw": table,
            "names": [names.get(t, t) for t in pool.task_ids],
            "metrics": [str(metric.get(t, "")) for t in pool.task_ids],
        }
    return out


def _kb_info(kb: KnowledgeBase, transfer: TransferPortfolio, tasks: Sequence[str] | None) -> dict[str, Any]:
    """What the manifest records about the knowledge base it was trained on."""
    from metaopt.learn import kb_fingerprint

    return {
        "fingerprint": kb_fingerprint(kb),
        "task_subset": None if tasks is None else len(tasks),
        "n_tasks": int(sum(transfer.n_tasks(k) for k in transfer.kinds)),
        "n_tasks_by_kind": {k: transfer.n_tasks(k) for k in _KINDS},
        "n_evaluations": int(len(kb.evaluations(columns=["task_id"]))),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def load_optimizer(path: str | os.PathLike[str] | None = None) -> LearnedOptimizer:
    """The learned optimizer of the models at ``path`` (default :func:`default_models_path`).

    ``path`` may also be a directory written by :meth:`LearnedOptimizer.save`.

    Raises
    ------
    ModelError
        If there are no models there, or they were trained without an optimizer.
    """
    from metaopt.learn import LearnedOptimizer
    from metaopt.learn._saved import read_manifest

    root = default_models_path(path)
    if read_manifest(root).get("kind") == "optimizer":
        return LearnedOptimizer.load(root)
    rec = Recommender.load(root)
    if rec.optimizer_ is None:
        raise ModelError(
            f"the models at {root} were trained without a learned optimizer",
            "run `metaopt train` without --optimizer-iterations 0, or use another sampler (--sampler tpe)",
        )
    return rec.optimizer_
