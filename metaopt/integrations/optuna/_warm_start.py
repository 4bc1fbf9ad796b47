"""``warm_start(study, data)``: enqueue metaopt's suggestions as an Optuna study's first trials."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import TYPE_CHECKING, Any

from metaopt._exceptions import ConfigError
from metaopt.integrations.optuna._naming import (
    ALGORITHM_PARAM,
    SEPARATOR,
    param_name,
)
from metaopt.integrations.optuna._naming import (
    search_space as metaopt_search_space,
)

if TYPE_CHECKING:  # pragma: no cover
    import optuna
    import pandas as pd
    from optuna.distributions import BaseDistribution

    from metaopt.recommend import Recommender
    from metaopt.tasks import Task

__all__ = ["contains", "study_search_space", "warm_start"]


@dataclass(frozen=True)
class _Pick:
    """A suggestion reduced to what a warm start needs."""

    rank: int
    algorithm: str
    params: dict[str, Any]
    prediction: float | None
    uncertainty: float | None
    config_id: str | None


def _as_pick(item: Any, position: int) -> _Pick:
    """A :class:`~metaopt.Suggestion`, a ``{"algorithm", "params", ...}`` dict or a pair."""
    if isinstance(item, Mapping):
        get = item.get
        alg, params = get("algorithm"), get("params")
        rank, score, unc, cid = get("rank"), get("score"), get("uncertainty"), get("config_id")
    elif isinstance(item, tuple) and len(item) == 2:
        (alg, params), rank, score, unc, cid = item, None, None, None, None
    else:
        alg, params = getattr(item, "algorithm", None), getattr(item, "params", None)
        rank, score = getattr(item, "rank", None), getattr(item, "score", None)
        unc, cid = getattr(item, "uncertainty", None), getattr(item, "config_id", None)
    if not isinstance(alg, str) or not isinstance(params, Mapping):
        raise ConfigError(
            f"suggestion {position} is {item!r}, not an (algorithm, params) configuration",
            "pass metaopt.Suggestion objects, {'algorithm': ..., 'params': {...}} dicts or "
            "(algorithm, params) pairs",
        )
    return _Pick(
        rank=int(rank) if rank is not None else position,
        algorithm=alg,
        params=dict(params),
        prediction=None if score is None else float(score),
        uncertainty=None if unc is None else float(unc),
        config_id=None if cid is None else str(cid),
    )


def contains(dist: BaseDistribution, value: Any) -> bool:
    """Whether ``value`` is a value of the Optuna distribution ``dist`` (no clipping).

    Categorical choices compare like :meth:`metaopt.spaces.Param.index` does (``True``
    is not ``1``); a numeric distribution takes only real, finite, non-bool numbers
    that lie in its range and on its step grid.
    """
    from optuna.distributions import CategoricalDistribution

    from metaopt.spaces._base import _plain, _same_choice

    value = _plain(value)
    if isinstance(dist, CategoricalDistribution):
        return any(_same_choice(c, value) for c in dist.choices)
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        return False
    try:
        return bool(dist._contains(dist.to_internal_repr(value)))
    except (ValueError, TypeError):
        return False


def study_search_space(study: optuna.Study) -> dict[str, BaseDistribution]:
    """The distributions seen in a study's trials, by name (the latest trial's wins)."""
    out: dict[str, BaseDistribution] = {}
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        out.update(trial.distributions)
    return out


def _single_algorithm(
    space: Mapping[str, BaseDistribution], algorithms: Sequence[str] | None
) -> tuple[str, str]:
    """``(algorithm, prefix)`` of a study without an ``"algorithm"`` parameter."""
    from metaopt.spaces import ALGORITHMS, get_space

    names = set(space)
    if algorithms is not None:
        algs = [a for a in algorithms if a]
        if len(algs) != 1:
            raise ConfigError(
                f"the study has no {ALGORITHM_PARAM!r} parameter, so it searches one algorithm, "
                f"but algorithms= names {len(algs)}: {algs}",
                "pass algorithms=[the one algorithm the study tunes]",
            )
        alg = algs[0]
        get_space(alg)  # ConfigError for an unknown name
        prefixed = any(n.startswith(alg + SEPARATOR) for n in names)
        return alg, alg + SEPARATOR if prefixed else ""
    prefixes = sorted({n.split(SEPARATOR, 1)[0] for n in names if SEPARATOR in n} & set(ALGORITHMS))
    if len(prefixes) == 1:
        return prefixes[0], prefixes[0] + SEPARATOR
    if len(prefixes) > 1:
        raise ConfigError(
            f"the study has parameters of several algorithms ({', '.join(prefixes)}) but no "
            f"{ALGORITHM_PARAM!r} parameter to choose between them",
            f"add a categorical {ALGORITHM_PARAM!r} parameter, or pass algorithms=[one]",
        )
    matches = [a for a in ALGORITHMS if names and names <= _param_names(a)]
    if len(matches) == 1:
        return matches[0], ""
    found = f"{', '.join(matches)} all have them" if matches else "no metaopt algorithm has all of them"
    raise ConfigError(
        f"cannot tell which algorithm the study tunes from its parameters "
        f"{sorted(names) or '(none yet)'}: {found}",
        "pass algorithms=[the algorithm], or search_space= with the study's distributions",
    )


def _param_names(algorithm: str) -> set[str]:
    """Every parameter name ``algorithm`` has for some task kind."""
    from metaopt.spaces import DataShape, get_space

    space = get_space(algorithm)
    names: set[str] = set()
    for kind, n_classes in (("binary", 2), ("multiclass", 3), ("regression", 0)):
        shape = DataShape(n_rows=1000, n_features=10, kind=kind, n_classes=n_classes)
        if space.supports(shape) is None:
            names.update(p.name for p in space.params(shape))
    return names


def _refuse(pick: _Pick, name: str, value: Any, dist: BaseDistribution) -> ConfigError:
    return ConfigError(
        f"warm start: suggestion #{pick.rank} ({pick.algorithm}) sets {name!r} = {value!r}, "
        f"which the study's distribution {dist!r} does not contain (values are never clipped)",
        f"widen the distribution of {name!r}, or pass a smaller n or other algorithms",
    )


def _already_in(study: optuna.Study, params: Mapping[str, Any]) -> bool:
    """Whether a trial (of any state) has these params: the rule of ``skip_if_exists``."""
    import numpy as np

    for trial in study.get_trials(deepcopy=False):
        existing = trial.system_attrs.get("fixed_params", trial.params)
        if existing.keys() != params.keys():
            continue
        same = True
        for key, value in params.items():
            old = existing[key]
            if not isinstance(value, type(old)):
                same = False
            elif isinstance(value, Real):
                same = bool(np.isclose(float(value), float(old), atol=0.0, equal_nan=True))
            else:
                same = value == old
            if not same:
                break
        if same:
            return True
    return False


def warm_start(
    study: optuna.Study,
    data: str | os.PathLike[str] | pd.DataFrame | Task | None = None,
    target: str | None = None,
    n: int = 5,
    *,
    task: Task | None = None,
    algorithms: Sequence[str] | None = None,
    search_space: Mapping[str, BaseDistribution] | None = None,
    suggestions: Sequence[Any] | None = None,
    models: str | os.PathLike[str] | Recommender | None = None,
) -> list[dict[str, Any]]:
    """Enqueue metaopt's top ``n`` suggestions as the study's next trials.

    The suggestions (:func:`metaopt.suggest`, or ``suggestions=``) are mapped onto the
    study's own parameter names and distributions and enqueued with
    ``study.enqueue_trial(params, user_attrs=..., skip_if_exists=True)``, best first;
    a suggestion already in the study (same params, in any state) is not enqueued
    again, so calling this twice is harmless.

    The study's search space is, in order: ``search_space``; the distributions seen in
    the study's trials; metaopt's own distributions for the data
    (:func:`metaopt.integrations.optuna.search_space`). How it is read:

    * with an ``"algorithm"`` parameter, a suggestion becomes
      ``{"algorithm": alg, "alg__param": value, ...}``; suggestions are drawn from the
      algorithms among its choices (and ``algorithms``);
    * without one, the study tunes a single algorithm: ``algorithms=[one]``, else the
      one algorithm whose ``"alg__"`` prefix the names carry, else the one algorithm
      whose parameter names include all the study's (unprefixed) names; suggestions
      are filtered to it, and the names are prefixed the way the study's are.

    Suggestion params that the study does not search are left out (and reported);
    study params that a suggestion lacks are left to the sampler.

    Parameters
    ----------
    study
        A single-objective study. The suggestions are configs metaopt expects to do
        well, whatever the objective reports (a score to maximize or a loss to minimize).
    data, target, task
        The dataset (anything :func:`metaopt.load_task` accepts) or a loaded Task;
        needed unless ``suggestions`` and a search space are both given.
    n
        How many suggestions to enqueue at most.
    algorithms
        Only these algorithms.
    search_space
        The study's distributions by name, when its trials do not show them yet.
    suggestions
        Use these (:class:`metaopt.Suggestion` objects, ``{"algorithm", "params"}``
        dicts or ``(algorithm, params)`` pairs) instead of calling :func:`metaopt.suggest`.
    models
        Models directory or bundle for :func:`metaopt.suggest`.

    Returns
    -------
    list of dict
        One per enqueued trial: ``params`` (as enqueued), ``algorithm``, ``rank``,
        ``prediction`` and ``uncertainty`` (the surrogate's normalized score and σ, None
        for hand-made suggestions), ``config_id``, and ``left_out`` (the suggestion's
        params that the study does not search). Suggestions already in the study are
        not listed.

    Raises
    ------
    ConfigError
        If a suggested value lies outside the study's distribution for it (values are
        never clipped: widen the distribution, or pass a smaller ``n`` or other
        algorithms), if the study's algorithm cannot be told, or ``n`` < 0.
    ModelError
        If the suggestion models are missing (run ``metaopt train``).
    """
    _check_request(study, n)
    if n == 0:
        return []
    loaded = _load_if_given(data, target, task)
    space = _study_space(study, search_space, loaded, algorithms)
    single, wanted = _wanted_algorithms(space, algorithms)
    picks = _picks(suggestions, loaded, wanted, single, algorithms, n, models)
    planned = _plan_all(picks, space, single)
    return _enqueue_all(study, planned)


#: One planned trial: the suggestion, the study params to enqueue, and the params left out.
_Planned = tuple[_Pick, dict[str, Any], dict[str, Any]]


def _check_request(study: optuna.Study, n: Any) -> None:
    """Refuse a bad ``n`` or a multi-objective study."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ConfigError(f"n must be a non-negative integer, got {n!r}", "pass n=5, or 0 for none")
    if len(study.directions) > 1:
        raise ConfigError(
            "warm start needs a single-objective study, this one has "
            f"{len(study.directions)} objectives",
            "create the study with one direction (maximize)",
        )


def _load_if_given(
    data: str | os.PathLike[str] | pd.DataFrame | Task | None, target: str | None, task: Task | None
) -> Task | None:
    """The task that ``data``/``task`` name, or None when neither is given."""
    from metaopt.integrations.optuna._objective import resolve_task

    if data is None and task is None:
        return None
    return resolve_task(data, target, task)


def _study_space(
    study: optuna.Study,
    search_space: Mapping[str, BaseDistribution] | None,
    loaded: Task | None,
    algorithms: Sequence[str] | None,
) -> dict[str, BaseDistribution]:
    """The study's search space: ``search_space``, else its trials', else metaopt's own."""
    space: dict[str, BaseDistribution] = dict(search_space or {}) or study_search_space(study)
    if not space:
        if loaded is None:
            raise ConfigError(
                "cannot tell the study's search space: it has no trials, and neither "
                "search_space= nor the data was given",
                "pass search_space= (name -> optuna distribution), or data=/task=",
            )
        from metaopt.spaces import DataShape

        space = metaopt_search_space(DataShape.of(loaded), algorithms)
    elif not search_space and loaded is not None and ALGORITHM_PARAM in space:
        _complete_from_metaopt(space, loaded)
    return space


def _wanted_algorithms(
    space: Mapping[str, BaseDistribution], algorithms: Sequence[str] | None
) -> tuple[tuple[str, str] | None, list[str]]:
    """``(single, wanted)``: the study's one ``(algorithm, prefix)`` (None when it has an
    ``"algorithm"`` parameter), and the algorithms to draw suggestions from."""
    from optuna.distributions import CategoricalDistribution

    if ALGORITHM_PARAM not in space:
        single = _single_algorithm(space, algorithms)
        return single, [single[0]]
    alg_dist = space[ALGORITHM_PARAM]
    if not isinstance(alg_dist, CategoricalDistribution):
        raise ConfigError(
            f"the study's {ALGORITHM_PARAM!r} parameter is {alg_dist!r}, not a categorical "
            "of algorithm names",
            f"make {ALGORITHM_PARAM!r} a categorical over metaopt algorithms, e.g. ('hgb', 'linear')",
        )
    choices = [c for c in alg_dist.choices if isinstance(c, str)]
    wanted = [a for a in choices if algorithms is None or a in algorithms]
    if not wanted:
        raise ConfigError(
            f"none of the algorithms {list(algorithms or [])} is a choice of the study's "
            f"{ALGORITHM_PARAM!r} parameter {alg_dist!r}",
            "pass algorithms= among its choices, or leave algorithms= out",
        )
    return None, wanted


def _picks(
    suggestions: Sequence[Any] | None,
    loaded: Task | None,
    wanted: list[str],
    single: tuple[str, str] | None,
    algorithms: Sequence[str] | None,
    n: int,
    models: str | os.PathLike[str] | Recommender | None,
) -> list[_Pick]:
    """The suggestions to enqueue: the given ones (filtered to ``wanted``) or metaopt's."""
    if suggestions is not None:
        picks = [_as_pick(s, i) for i, s in enumerate(suggestions, 1)]
        if single is not None or algorithms is not None:
            picks = [p for p in picks if p.algorithm in wanted]
        return picks[:n]
    if loaded is None:
        raise ConfigError(
            "warm start needs the data to ask metaopt.suggest for configurations",
            "pass data= or task=, or suggestions=",
        )
    from metaopt.recommend import suggest
    from metaopt.spaces import ALGORITHMS

    known = [a for a in wanted if a in ALGORITHMS]
    if not known:
        raise ConfigError(
            f"the study's algorithms {wanted or list(algorithms or [])} include none that "
            "metaopt knows",
            f"use metaopt algorithm names ({', '.join(ALGORITHMS)})",
        )
    return [_as_pick(s, i) for i, s in enumerate(suggest(loaded, top=n, algorithms=known, models=models), 1)]


def _plan_all(
    picks: list[_Pick], space: Mapping[str, BaseDistribution], single: tuple[str, str] | None
) -> list[_Planned]:
    """Map every suggestion onto the study's names before enqueueing any: a refused
    value must not leave half a warm start behind."""
    return [_plan(pick, space, single) for pick in picks]


def _plan(
    pick: _Pick, space: Mapping[str, BaseDistribution], single: tuple[str, str] | None
) -> _Planned:
    """One suggestion as the study's params (checked against its distributions)."""
    params: dict[str, Any] = {}
    left_out: dict[str, Any] = {}
    if single is None:
        alg_dist = space[ALGORITHM_PARAM]
        if not contains(alg_dist, pick.algorithm):
            raise _refuse(pick, ALGORITHM_PARAM, pick.algorithm, alg_dist)
        params[ALGORITHM_PARAM] = pick.algorithm
        prefix = pick.algorithm + SEPARATOR
    else:
        prefix = single[1]
    for key, value in pick.params.items():
        name = param_name(pick.algorithm, key) if prefix else key
        dist = space.get(name)
        if dist is None:
            left_out[key] = value
            continue
        if not contains(dist, value):
            raise _refuse(pick, name, value, dist)
        params[name] = _as_choice(dist, value)
    return pick, params, left_out


def _enqueue_all(study: optuna.Study, planned: list[_Planned]) -> list[dict[str, Any]]:
    """Enqueue the planned trials not already in the study; describe each one enqueued."""
    enqueued: list[dict[str, Any]] = []
    for pick, params, left_out in planned:
        if _already_in(study, params):
            continue
        attrs: dict[str, Any] = {"metaopt_source": "suggest", "metaopt_rank": pick.rank}
        if pick.prediction is not None:
            attrs["metaopt_prediction"] = pick.prediction
        if pick.uncertainty is not None:
            attrs["metaopt_uncertainty"] = pick.uncertainty
        if pick.config_id is not None:
            attrs["metaopt_config_id"] = pick.config_id
        study.enqueue_trial(params, user_attrs=attrs, skip_if_exists=True)
        enqueued.append(
            {
                "params": params,
                "algorithm": pick.algorithm,
                "rank": pick.rank,
                "prediction": pick.prediction,
                "uncertainty": pick.uncertainty,
                "config_id": pick.config_id,
                "left_out": left_out,
            }
        )
    return enqueued


def _complete_from_metaopt(space: dict[str, BaseDistribution], task: Task) -> None:
    """Add metaopt's distributions for the names the study's trials have not shown yet.

    A study's trials show only the parameters of the algorithms tried so far; the
    parameters of an algorithm not yet tried are those of metaopt's own space.
    """
    from optuna.distributions import CategoricalDistribution

    from metaopt.spaces import ALGORITHMS, DataShape

    dist = space[ALGORITHM_PARAM]
    if not isinstance(dist, CategoricalDistribution):
        return
    algs = [c for c in dist.choices if isinstance(c, str) and c in ALGORITHMS]
    try:
        own = metaopt_search_space(DataShape.of(task), algs)
    except ConfigError:
        return
    for name, d in own.items():
        space.setdefault(name, d)


def _as_choice(dist: BaseDistribution, value: Any) -> Any:
    """``value`` as the distribution holds it: its own choice object, a float or an int."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    from metaopt.spaces._base import _plain, _same_choice

    value = _plain(value)
    if isinstance(dist, CategoricalDistribution):
        return next(c for c in dist.choices if _same_choice(c, value))
    if isinstance(dist, FloatDistribution):
        return float(value)
    return int(value)
