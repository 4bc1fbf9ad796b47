"""``suggest(data)``: ranked, diversified, explained configurations for a new dataset.

How a suggestion list is made:

1. the data is loaded (:func:`metaopt.load_task`) and its meta-features extracted;
2. candidates: the knowledge base's shared config pool for the task's kind (stored
   with the models, so the knowledge base is not needed here), the
   :class:`~metaopt.learn.NearestDatasets` and :class:`~metaopt.learn.GreedyPortfolio`
   picks, every algorithm's library default, and ``n_fresh`` new configs from each
   space's Sobol design for this data's shape; each is validated against the data's
   shape (algorithms that do not support it are dropped), ``algorithms`` filters them,
   and ``time_budget`` drops those whose expected fit time on this data exceeds it
   (unknown fit times are kept);
3. the ranking is the knowledge base's pool ordered by a **similarity-weighted greedy
   portfolio** (:meth:`metaopt.learn.TransferPortfolio.order`): every training task is
   weighted by how alike a learned model (:class:`~metaopt.learn.TaskSimilarity`)
   predicts its ranking of the pool to be to this dataset's, from their meta-features,
   and each place goes to the configuration with the highest weighted expected best
   score given the places before it — at most ``ceil(top/2)`` per algorithm
   (:func:`~metaopt.recommend.diversify_order`). Pool configs are fitted to the data's
   shape; the surrogate gives every suggestion its predicted score, σ and fit time,
   and ranks the other candidates (fresh Sobol configs, defaults) only when the
   filters leave fewer than ``top`` pool configs, or when the models have no transfer
   portfolio (trained by an older metaopt). Leave-dataset-out this ranking has lower
   regret than the surrogate's own (README, ``benchmarks/bench_suggest.py``); blending
   the surrogate with each config's mean score (:mod:`metaopt.learn._blend`) did not
   help.

Out of distribution: when the surrogate's excess meta-feature distance of the dataset
to the knowledge base exceeds the threshold stored at training time (see
:mod:`metaopt.recommend._models`), every suggestion is flagged ``ood`` and the ranking
falls back toward robust choices: the similarity prior's sharpness is scaled by
``1 − w`` (toward uniform weights: the static portfolio), and where the surrogate ranks,
its key becomes ``(1 - w) · predicted + w · prior``, where ``prior`` is the config's mean normalized score over the knowledge base's tasks of
that kind (the quantity :class:`~metaopt.learn.BestDefault` and
:class:`~metaopt.learn.GreedyPortfolio` rank by; configs outside the pool get their
algorithm's median pool prior) and ``w = max(0.5, 1 - threshold / distance)`` —
at least half the weight on what worked on average, more the farther out the data is.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from metaopt._exceptions import ConfigError, ModelError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from metaopt.recommend._models import ModelBundle
    from metaopt.tasks import Task

__all__ = ["Evidence", "Suggestion", "suggest", "suggestions_document"]


@dataclass(frozen=True)
class Evidence:
    """How one similar knowledge-base dataset supports a suggestion.

    Attributes
    ----------
    task_id, name
        The knowledge-base task.
    distance
        Its meta-feature distance to the new dataset (robust-scaled, L1).
    config_id
        The suggested algorithm's best config there (``None`` if never evaluated).
    normalized
        That config's normalized score there (1 = the best of all configs tried).
    score, metric
        Its raw cross-validated score and the metric.
    """

    task_id: str
    name: str
    distance: float
    config_id: str | None
    normalized: float | None
    score: float | None
    metric: str


@dataclass(frozen=True)
class Suggestion:
    """One recommended configuration.

    Attributes
    ----------
    rank
        1 = the best.
    algorithm, params, config_id
        The configuration (validated for the data's shape).
    spec
        The full scikit-learn Pipeline as a plain-JSON estimator spec
        (:func:`metaopt.spaces.estimator_to_spec`); it fits the raw table read with
        ``pandas.read_csv`` (target column removed). Built on first access (it needs
        scikit-learn, whose import would otherwise dominate a table-only
        ``metaopt suggest``), then kept.
    score, uncertainty
        The surrogate's predicted normalized score (0 = worst, 1 = best of the
        knowledge base's configs on a task) and its σ.
    fit_time
        Expected seconds to fit once on this data (``None`` if unknown).
    evidence
        The most similar knowledge-base datasets and how this algorithm did there.
    ood, ood_distance
        Whether the dataset lies outside the knowledge base's meta-feature range, and
        the excess distance that decided it.
    """

    rank: int
    algorithm: str
    params: dict[str, Any]
    config_id: str
    spec_source: dict[str, Any] | Callable[[], dict[str, Any]] = field(repr=False, compare=False)
    score: float
    uncertainty: float
    fit_time: float | None
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)
    ood: bool = False
    ood_distance: float = 0.0

    @property
    def spec(self) -> dict[str, Any]:
        """The estimator spec (see the class docstring), built once on first access."""
        source = self.spec_source
        if callable(source):
            source = source()
            object.__setattr__(self, "spec_source", source)  # frozen: cache by hand
        return source

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (``spec`` included, ``evidence`` as a list of dicts)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "spec_source":
                out["spec"] = self.spec
            elif f.name == "evidence":
                out["evidence"] = [asdict(e) for e in self.evidence]
            else:
                out[f.name] = getattr(self, f.name)
        return out


def suggest(
    data: str | os.PathLike[str] | pd.DataFrame | Task,
    target: str | None = None,
    top: int = 5,
    algorithms: Sequence[str] | None = None,
    time_budget: float | None = None,
    *,
    models: str | os.PathLike[str] | ModelBundle | None = None,
    kind: str | None = None,
    n_fresh: int = 4,
    n_evidence: int = 3,
    seed: int = 0,
) -> list[Suggestion]:
    """Recommend ``top`` configurations for a dataset (see the module docstring).

    Parameters
    ----------
    data
        A file path, a DataFrame, or a loaded :class:`~metaopt.tasks.Task`.
    target
        Target column (default: the last); ignored for a Task.
    top
        How many suggestions.
    algorithms
        Only these algorithms (names of :data:`metaopt.spaces.ALGORITHMS`).
    time_budget
        Drop configs whose expected fit time on this data exceeds this many seconds.
    models
        The models directory or a loaded bundle; default ``$METAOPT_MODELS``, then
        ``datasets/models``.
    kind
        Task kind override (``binary``, ``multiclass``, ``regression``).
    n_fresh
        New Sobol configs per algorithm added to the candidates.
    n_evidence
        Similar knowledge-base datasets listed per suggestion.
    seed
        Seed of the fresh configs and of the meta-features' sampling.

    Returns
    -------
    list of Suggestion
        Best first; fewer than ``top`` only if fewer candidates pass the filters.

    Raises
    ------
    ModelError, ModelVersionError
        If the models are missing or were trained for another metaopt.
    ConfigError
        If ``algorithms`` names an unknown algorithm, or no candidate passes the
        filters.
    DataError
        If the data cannot be loaded.
    """
    from metaopt.metafeatures import extract
    from metaopt.recommend._models import ModelBundle, load_models
    from metaopt.recommend._rank import rank_candidates
    from metaopt.spaces import ALGORITHMS, DataShape, config_id, estimator_to_spec, get_space
    from metaopt.tasks import Task, load_task

    if top < 1:
        raise ConfigError(f"top must be at least 1, got {top}", "pass --top 1 or more")
    if time_budget is not None and not time_budget > 0:
        raise ConfigError(f"time budget must be positive, got {time_budget}", "pass seconds > 0")
    wanted = list(ALGORITHMS) if algorithms is None else [a.strip() for a in algorithms if a.strip()]
    for alg in wanted:
        get_space(alg)  # ConfigError naming the valid algorithms
    bundle = models if isinstance(models, ModelBundle) else load_models(models)
    task = data if isinstance(data, Task) else load_task(data, target, kind=kind)
    surrogate = bundle.surrogate
    mf = dict(extract(task, random_state=seed))
    shape = DataShape.of(task)
    spaces = {a: get_space(a) for a in wanted if get_space(a).supports(shape) is None}
    if not spaces:
        raise ConfigError(
            f"none of the algorithms {', '.join(wanted)} supports this {task.kind} task "
            f"of {task.n_rows} rows",
            "allow more algorithms (--algorithms)",
        )

    # -- candidates ------------------------------------------------------------------
    pool = bundle.pool.get(task.kind, [])
    prior_by_id = {(c["algorithm"], c["config_id"]): float(c["prior"]) for c in pool}
    raw: list[tuple[str, dict[str, Any]]] = [(c["algorithm"], dict(c["params"])) for c in pool]
    for baseline in (bundle.nearest, bundle.portfolio):
        try:
            raw.extend(baseline.recommend(mf, task.kind, k=2 * top))
        except ModelError:  # no training task of this kind: the rest still works
            pass
    for alg, space in spaces.items():
        raw.append((alg, dict(space.default(task.kind))))
        raw.extend((alg, p) for p in space.design(n_fresh, shape, seed=seed))
    cands: list[tuple[str, dict[str, Any]]] = []
    priors: list[float] = []
    seen: set[str] = set()
    alg_prior: dict[str, float] = {}
    for alg in spaces:
        vals = [p for (a, _), p in prior_by_id.items() if a == alg]
        alg_prior[alg] = float(np.median(vals)) if vals else 0.0
    for alg, params in raw:
        if alg not in spaces:
            continue
        pool_prior = prior_by_id.get((alg, config_id(alg, params)))
        try:
            params = spaces[alg].validate(params, shape)
        except ConfigError:
            continue
        cid = config_id(alg, params)
        if cid in seen:
            continue
        seen.add(cid)
        cands.append((alg, params))
        priors.append(pool_prior if pool_prior is not None else alg_prior[alg])
    fit_times = surrogate.expected_fit_time(mf, cands, task.n_rows)
    if time_budget is not None:
        keep = [i for i, t in enumerate(fit_times) if not (np.isfinite(t) and t > time_budget)]
        if not keep:
            fastest = float(np.nanmin(fit_times)) if len(fit_times) else float("nan")
            raise ConfigError(
                f"no candidate is expected to fit within {time_budget:g} s on this data "
                f"(the fastest is expected to take {fastest:.3g} s)",
                "raise --time-budget or allow more algorithms",
            )
        cands = [cands[i] for i in keep]
        priors = [priors[i] for i in keep]
        fit_times = fit_times[keep]
    fit_time_by_id = {config_id(a, p): t for (a, p), t in zip(cands, fit_times, strict=True)}

    # -- out of distribution -------------------------------------------------------------
    distance = float(surrogate.ood_distance(surrogate.encode(mf, cands[:1]))[0])
    threshold = bundle.ood_threshold
    ood = distance > threshold
    weight = max(0.5, 1.0 - threshold / distance) if ood and distance > 0 else 0.0

    ranked = _similarity_ranking(
        bundle, mf, task.kind, shape, task.n_rows, spaces, top, time_budget,
        sharpness_scale=1.0 - weight,
    )
    if ranked is None:  # models without a transfer portfolio of this kind: the surrogate ranks
        ranked = rank_candidates(
            surrogate, mf, task.kind, cands, top, prior=priors, prior_weight=weight
        )
    elif len(ranked) < top:  # the filters left too few pool configs: the surrogate fills up
        taken = {config_id(a, p) for a, p, _, _ in ranked}
        rest = [(c, pr) for c, pr in zip(cands, priors, strict=True) if config_id(*c) not in taken]
        ranked += rank_candidates(
            surrogate, mf, task.kind, [c for c, _ in rest], top - len(ranked),
            prior=[pr for _, pr in rest], prior_weight=weight,
        )
    missing = [(a, p) for a, p, _, _ in ranked if config_id(a, p) not in fit_time_by_id]
    for (a, p), t in zip(missing, surrogate.expected_fit_time(mf, missing, task.n_rows), strict=True):
        fit_time_by_id[config_id(a, p)] = float(t)

    # -- evidence and specs ----------------------------------------------------------------
    try:
        neighbours = bundle.nearest.neighbors(mf, task.kind, n_evidence)
    except (ModelError, AttributeError):
        neighbours = []
    out: list[Suggestion] = []
    for rank, (alg, params, mean, std) in enumerate(ranked, start=1):
        cid = config_id(alg, params)
        evidence = []
        for task_id, dist in neighbours:
            info = bundle.evidence.get(task_id, {})
            best = (info.get("best") or {}).get(alg) or {}
            evidence.append(
                Evidence(
                    task_id=task_id,
                    name=str(info.get("name", task_id)),
                    distance=float(dist),
                    config_id=best.get("config_id"),
                    normalized=best.get("normalized"),
                    score=best.get("score"),
                    metric=str(info.get("metric", "")),
                )
            )
        def spec(alg: str = alg, params: dict[str, Any] = params) -> dict[str, Any]:
            return estimator_to_spec(spaces[alg].to_estimator(params, task, seed=seed))

        ft = fit_time_by_id.get(cid)
        out.append(
            Suggestion(
                rank=rank,
                algorithm=alg,
                params=params,
                config_id=cid,
                spec_source=spec,
                score=float(mean),
                uncertainty=float(std),
                fit_time=None if ft is None or not math.isfinite(ft) else float(ft),
                evidence=tuple(evidence),
                ood=bool(ood),
                ood_distance=distance,
            )
        )
    return out


def _similarity_ranking(
    bundle: ModelBundle,
    mf: Mapping[str, float],
    kind: str,
    shape: Any,
    n_rows: int,
    spaces: Mapping[str, Any],
    top: int,
    time_budget: float | None,
    sharpness_scale: float,
) -> list[tuple[str, dict[str, Any], float, float]] | None:
    """The prior-weighted greedy portfolio's top configs (see the module), or None.

    None when the bundle has no transfer portfolio for ``kind``. Pool configs are fitted
    to the data's shape (:func:`metaopt.learn._transfer.fit_to_shape`); those of
    algorithms outside ``spaces``, invalid for the shape, or expected to exceed
    ``time_budget`` are skipped. The result may be shorter than ``top``.
    """
    from metaopt.learn._transfer import fit_to_shape
    from metaopt.recommend._rank import diversify_order
    from metaopt.spaces import config_id

    transfer = bundle.transfer
    if transfer is None or kind not in transfer.kinds:
        return None
    columns = transfer.columns(kind)
    fitted: list[tuple[str, dict[str, Any]] | None] = []
    for alg, params in columns:
        if alg not in spaces:
            fitted.append(None)
            continue
        try:
            fitted.append((alg, fit_to_shape(alg, params, shape)))
        except ConfigError:
            fitted.append(None)
    usable = np.array([f is not None for f in fitted], dtype=bool)
    valid = {i: f for i, f in enumerate(fitted) if f is not None}
    if time_budget is not None and usable.any():
        idx = np.flatnonzero(usable)
        times = bundle.surrogate.expected_fit_time(mf, [valid[int(i)] for i in idx], n_rows)
        usable[idx[np.isfinite(times) & (times > time_budget)]] = False
    sharpness = float(transfer.prior_sharpness) * max(0.0, float(sharpness_scale))
    order = [j for j, _ in transfer.order(kind, int(usable.sum()), mf, usable, sharpness)]
    unique: list[int] = []
    seen: set[str] = set()
    for j in order:  # clipping can map two pool configs onto one for a small dataset
        cid = config_id(*valid[j])
        if cid not in seen:
            seen.add(cid)
            unique.append(j)
    picked = diversify_order([a for a, _ in columns], unique, top)
    if not picked:
        return []
    chosen = [valid[j] for j in picked]
    mean, std = bundle.surrogate.predict_configs(mf, chosen)
    return [
        (a, p, float(m), float(sd)) for (a, p), m, sd in zip(chosen, mean, std, strict=True)
    ]


def suggestions_document(
    suggestions: Sequence[Suggestion], extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON document ``metaopt suggest --json`` prints."""
    return {**(extra or {}), "suggestions": [s.to_dict() for s in suggestions]}
