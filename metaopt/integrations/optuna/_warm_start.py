"""``warm_start(study, data)``: enqueue metaopt's suggestions as an Optuna study's first trials."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import TYPE_CHECKING, Any

from metaopt._exceptions import ConfigError
from metaopt.integrations.optuna._naming import (
    ALGORITHM_PARAM,
    SEPARATOR,
    param_name,
    resolve_param_map,
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

__all__ = ["OUT_OF_RANGE", "contains", "study_search_space", "warm_start"]

#: What ``warm_start(on_out_of_range=...)`` does with a suggested value the study's
#: distribution does not contain.
OUT_OF_RANGE = ("skip", "clip", "raise")

#: User attribute of every trial a warm start enqueues: who proposed it.
PROPOSER_ATTR = "metaopt_proposer"

_SKIP = object()  # drop the suggestion
_LEAVE = object()  # leave the parameter to the sampler


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
        f"which the study's distribution {dist!r} does not contain (on_out_of_range='raise')",
        f"widen the distribution of {name!r}, pass on_out_of_range='skip' or 'clip', "
        "or pass a smaller n or other algorithms",
    )


def _fit(pick: _Pick, name: str, value: Any, dist: BaseDistribution | None, mode: str) -> Any:
    """``value`` as the study holds it; ``_SKIP`` (drop the suggestion) or ``_LEAVE``
    (leave the parameter to the sampler) when ``dist`` does not contain it."""
    from optuna.distributions import CategoricalDistribution

    from metaopt.integrations.optuna._sampler import _MISSING, _into_distribution
    from metaopt.spaces._base import _plain

    if dist is None:  # a param_map name the study has not shown yet: unchecked
        return _plain(value)
    if contains(dist, value):
        return _as_choice(dist, value)
    if mode == "raise":
        raise _refuse(pick, name, value, dist)
    if mode == "skip" or name == ALGORITHM_PARAM:
        return _SKIP
    clipped = _into_distribution(value, dist)
    if clipped is _MISSING:
        return _LEAVE if isinstance(dist, CategoricalDistribution) else _SKIP
    return clipped


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
    param_map: Mapping[str, str] | None = None,
    on_out_of_range: str = "skip",
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

    * with ``param_map`` (the objective's own names: ``{"lr": "hgb__learning_rate",
      "depth": "hgb__max_depth"}``, ``{"model": "algorithm"}``), a suggestion sets
      exactly the mapped names it has a value for; suggestions are drawn from the
      algorithms the map names. The study's space is then ``search_space`` or its
      trials' distributions (metaopt's own are never assumed); a mapped name whose
      distribution is not known yet is enqueued unchecked.

    Suggestion params that the study does not search are left out (and reported);
    study params that a suggestion lacks are left to the sampler. A suggestion that
    sets none of the study's parameters is not enqueued (never ``{}``, never names
    the objective does not ask for); when nothing is enqueued for that reason, or
    suggestions were skipped as out of range, a ``UserWarning`` says why and what to
    pass (``param_map``, ``on_out_of_range``).

    Every enqueued trial gets the user attributes ``metaopt_proposer = "warm_start"``,
    ``metaopt_source``, ``metaopt_rank``, and the prediction, uncertainty and config id
    when known. Two processes that warm-start one study at once (two ``metaopt tune``
    runs on one database) may both enqueue a suggestion; after enqueueing, every
    waiting warm-start trial that repeats an earlier one is turned into a plain
    trial for the sampler (its fixed params emptied, its ``metaopt_*`` attributes set
    to None), so each suggestion runs once.

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
    param_map
        The study's parameter names mapped onto metaopt's (see above); the targets are
        checked (:func:`metaopt.integrations.optuna._naming.resolve_param_map`).
    on_out_of_range
        A suggested value outside the study's distribution: ``"skip"`` that suggestion,
        ``"clip"`` it into the distribution (numbers into ``[low, high]`` and onto the
        step grid; a categorical value that is not a choice is left to the sampler), or
        ``"raise"`` a ``ConfigError`` before anything is enqueued.

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
        With ``on_out_of_range="raise"``, if a suggested value lies outside the study's
        distribution for it; if the study's algorithm cannot be told, ``param_map``
        names an unknown algorithm or parameter, ``on_out_of_range`` is unknown, or
        ``n`` < 0.
    ModelError
        If the suggestion models are missing (run ``metaopt train``).
    """
    _check_request(study, n)
    if on_out_of_range not in OUT_OF_RANGE:
        raise ConfigError(
            f"on_out_of_range must be one of {', '.join(map(repr, OUT_OF_RANGE))}, got {on_out_of_range!r}",
            "pass on_out_of_range='skip' (the default), 'clip' or 'raise'",
        )
    if n == 0:
        return []
    loaded = _load_if_given(data, target, task)
    if param_map:
        mapping = resolve_param_map(param_map, algorithms)
        space = dict(search_space or {}) or study_search_space(study)
        wanted = _mapped_algorithms(mapping, space, algorithms)
        picks = _picks(suggestions, loaded, wanted, ("", ""), algorithms, n, models)
        planned = [_plan_mapped(pick, mapping, space, on_out_of_range) for pick in picks]
    else:
        space = _study_space(study, search_space, loaded, algorithms)
        single, wanted = _wanted_algorithms(space, algorithms)
        picks = _picks(suggestions, loaded, wanted, single, algorithms, n, models)
        planned = [_plan(pick, space, single, on_out_of_range) for pick in picks]
    kept = _report(planned, space, bool(param_map), on_out_of_range)
    enqueued = _enqueue_all(study, kept)
    _dedupe_waiting(study)
    return enqueued


def _mapped_algorithms(
    mapping: Mapping[str, tuple[str, str | None]],
    space: Mapping[str, BaseDistribution],
    algorithms: Sequence[str] | None,
) -> list[str]:
    """The algorithms to draw suggestions from for a ``param_map``."""
    from optuna.distributions import CategoricalDistribution

    from metaopt.spaces import ALGORITHMS

    named = [a for a in ALGORITHMS if any(alg == a for alg, _ in mapping.values())]
    wanted = named or list(ALGORITHMS)
    if algorithms is not None:
        wanted = [a for a in wanted if a in algorithms]
    for name, (alg, _) in mapping.items():
        dist = space.get(name)
        if alg == ALGORITHM_PARAM and isinstance(dist, CategoricalDistribution):
            wanted = [a for a in wanted if any(c == a for c in dist.choices)]
    if not wanted:
        raise ConfigError(
            f"param_map {dict((k, v[0]) for k, v in mapping.items())} leaves no algorithm to "
            "suggest (check algorithms= and the choices of the mapped 'algorithm' parameter)",
            "map parameters of the algorithms the study searches",
        )
    return wanted


def _plan_mapped(
    pick: _Pick, mapping: Mapping[str, tuple[str, str | None]], space: Mapping[str, BaseDistribution], mode: str
) -> _Planned | None:
    """One suggestion under the study's own names; None when it is skipped."""
    params: dict[str, Any] = {}
    used: set[str] = set()
    n_params = 0
    for name, (alg, pname) in mapping.items():
        if alg == ALGORITHM_PARAM:
            value: Any = pick.algorithm
        elif alg == pick.algorithm and pname in pick.params:
            value = pick.params[pname]
            used.add(str(pname))
        else:
            continue
        fitted = _fit(pick, name, value, space.get(name), mode)
        if fitted is _SKIP:
            return None
        if fitted is _LEAVE:
            continue
        params[name] = fitted
        n_params += alg != ALGORITHM_PARAM
    left_out = {k: v for k, v in pick.params.items() if k not in used}
    return pick, (params if n_params or not pick.params else {}), left_out


def _report(
    planned: list[_Planned | None], space: Mapping[str, BaseDistribution], mapped: bool, mode: str
) -> list[_Planned]:
    """The planned trials that set something; warn about the skipped and the unmapped."""
    kept = [p for p in planned if p is not None and p[1]]
    skipped = sum(p is None for p in planned)
    unmapped = sum(p is not None and not p[1] for p in planned)
    if skipped:
        warnings.warn(
            f"warm start: {skipped} of {len(planned)} suggestions set values outside the study's "
            f"distributions and were skipped (on_out_of_range={mode!r}); pass "
            "on_out_of_range='clip' to enqueue them clipped into the distributions, or widen them",
            UserWarning,
            stacklevel=3,
        )
    if unmapped and not kept:
        names = sorted(space) or ["(none known yet)"]
        hint = (
            "check that param_map's targets are parameters of the suggested algorithms"
            if mapped
            else "pass param_map={'your_name': 'hgb__learning_rate', ...} mapping the objective's "
            "names onto metaopt's ('algorithm' and '{algorithm}__{param}')"
        )
        warnings.warn(
            f"warm start enqueued nothing: none of the {unmapped} suggestions sets a parameter "
            f"of the study ({', '.join(names)}); {hint}",
            UserWarning,
            stacklevel=3,
        )
    return kept


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


def _plan(
    pick: _Pick, space: Mapping[str, BaseDistribution], single: tuple[str, str] | None, mode: str
) -> _Planned | None:
    """One suggestion as the study's params (checked against its distributions); None
    when it is skipped. Every suggestion is planned before any is enqueued: a refused
    value must not leave half a warm start behind."""
    params: dict[str, Any] = {}
    left_out: dict[str, Any] = {}
    if single is None:
        fitted = _fit(pick, ALGORITHM_PARAM, pick.algorithm, space[ALGORITHM_PARAM], mode)
        if fitted is _SKIP:
            return None
        params[ALGORITHM_PARAM] = pick.algorithm
        prefix = pick.algorithm + SEPARATOR
    else:
        prefix = single[1]
    n_params = 0
    for key, value in pick.params.items():
        name = param_name(pick.algorithm, key) if prefix else key
        dist = space.get(name)
        if dist is None:
            left_out[key] = value
            continue
        fitted = _fit(pick, name, value, dist, mode)
        if fitted is _SKIP:
            return None
        if fitted is _LEAVE:
            left_out[key] = value
            continue
        params[name] = fitted
        n_params += 1
    if pick.params and not n_params and (single is not None or _searches_params(space, pick.algorithm)):
        params = {}  # nothing of the suggestion maps onto the study: not enqueued
    return pick, params, left_out


def _searches_params(space: Mapping[str, BaseDistribution], algorithm: str) -> bool:
    """Whether the study searches anything besides the algorithm: names that are not
    metaopt's (an objective's own) or parameters of ``algorithm``."""
    return any(
        name != ALGORITHM_PARAM and (SEPARATOR not in name or name.startswith(algorithm + SEPARATOR))
        for name in space
    )


def _enqueue_all(study: optuna.Study, planned: list[_Planned]) -> list[dict[str, Any]]:
    """Enqueue the planned trials not already in the study; describe each one enqueued."""
    enqueued: list[dict[str, Any]] = []
    for pick, params, left_out in planned:
        if _already_in(study, params):
            continue
        attrs: dict[str, Any] = {
            PROPOSER_ATTR: "warm_start", "metaopt_source": "suggest", "metaopt_rank": pick.rank,
        }
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


def _params_key(params: Mapping[str, Any]) -> str:
    from metaopt.integrations.optuna._sampler import _config_key

    return _config_key("", params)


def _dedupe_waiting(study: optuna.Study) -> None:
    """Turn waiting warm-start trials that repeat an earlier warm-start trial into plain
    trials (two processes warm-starting one study at once both enqueue)."""
    from optuna.trial import TrialState

    first: dict[str, int] = {}
    repeats = []
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if trial.user_attrs.get(PROPOSER_ATTR) != "warm_start":
            continue
        key = _params_key(trial.system_attrs.get("fixed_params") or trial.params)
        if key in first:
            if trial.state == TrialState.WAITING:
                repeats.append(trial)
        else:
            first[key] = trial.number
    storage = study._storage
    for trial in repeats:
        storage.set_trial_system_attr(trial._trial_id, "fixed_params", {})
        for attr in trial.user_attrs:
            if attr.startswith("metaopt_"):
                storage.set_trial_user_attr(trial._trial_id, attr, None)


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
