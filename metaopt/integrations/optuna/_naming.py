"""The parameter naming convention shared by the objective, warm starts and the sampler.

A study over metaopt's search spaces has

* one categorical parameter ``"algorithm"`` whose choices are the allowed algorithms
  that support the data (a one-choice categorical when only one is allowed, so that
  names are the same in every study), and
* for the chosen algorithm, its active hyperparameters named ``"{algorithm}__{param}"``
  (``"hgb__learning_rate"``), as :meth:`metaopt.spaces.SearchSpace.sample` names them
  with ``prefix="hgb__"``.

A study of a single algorithm may instead use the unprefixed names
(``"learning_rate"``) and no ``"algorithm"`` parameter; :func:`warm_start` and
:class:`MetaSampler` understand that form too (see their docstrings).

An objective with its own names (``"lr"``, ``"depth"``) is mapped onto this convention
by a ``param_map`` from the study's name to metaopt's: ``{"lr": "hgb__learning_rate",
"depth": "hgb__max_depth"}`` (and ``{"model": "algorithm"}`` for a categorical over
metaopt algorithm names); see :func:`resolve_param_map`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from metaopt._exceptions import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from optuna.distributions import BaseDistribution

    from metaopt.spaces import DataShape, Param

__all__ = [
    "ALGORITHM_PARAM",
    "SEPARATOR",
    "allowed_algorithms",
    "config_from_params",
    "param_name",
    "resolve_param_map",
    "search_space",
]

#: Name of the categorical parameter that picks the algorithm.
ALGORITHM_PARAM = "algorithm"

#: Between an algorithm's name and its parameter's name: ``"hgb__max_depth"``.
SEPARATOR = "__"


def param_name(algorithm: str, param: str) -> str:
    """The study's name of ``algorithm``'s parameter ``param``: ``"{algorithm}__{param}"``."""
    return f"{algorithm}{SEPARATOR}{param}"


def allowed_algorithms(shape: DataShape, algorithms: Sequence[str] | None = None) -> list[str]:
    """The algorithms (in :data:`metaopt.spaces.ALGORITHMS` order) allowed and fit for ``shape``.

    Raises
    ------
    ConfigError
        If ``algorithms`` names an unknown algorithm, or none of them supports data of
        this shape.
    """
    from metaopt.spaces import ALGORITHMS, get_space

    wanted = list(ALGORITHMS) if algorithms is None else [str(a).strip() for a in algorithms]
    wanted = [a for a in wanted if a]
    for alg in wanted:
        get_space(alg)  # ConfigError naming the valid algorithms
    out = [a for a in ALGORITHMS if a in wanted and get_space(a).supports(shape) is None]
    if not out:
        raise ConfigError(
            f"none of the algorithms {', '.join(wanted) or '(none)'} supports this "
            f"{shape.kind} task of {shape.n_rows} rows",
            f"allow other algorithms (choose from {', '.join(ALGORITHMS)})",
        )
    return out


def search_space(
    shape: DataShape, algorithms: Sequence[str] | None = None
) -> dict[str, BaseDistribution]:
    """The Optuna distributions of a study over metaopt's spaces, by parameter name.

    ``"algorithm"`` first, then every parameter of every allowed algorithm (conditional
    ones included) under its ``"{algorithm}__{param}"`` name. Imports optuna.
    """
    from optuna.distributions import CategoricalDistribution

    from metaopt.spaces import get_space

    algs = allowed_algorithms(shape, algorithms)
    out: dict[str, BaseDistribution] = {ALGORITHM_PARAM: CategoricalDistribution(tuple(algs))}
    for alg in algs:
        for name, dist in get_space(alg).distributions(shape).items():
            out[param_name(alg, name)] = dist
    return out


def params_by_name(shape: DataShape, algorithms: Sequence[str]) -> dict[str, dict[str, Param]]:
    """``{algorithm: {param name: Param}}`` for data of this shape."""
    from metaopt.spaces import get_space

    return {alg: {p.name: p for p in get_space(alg).params(shape)} for alg in algorithms}


def config_from_params(
    params: Mapping[str, Any],
    *,
    algorithm: str | None = None,
    algorithms: Sequence[str] | None = None,
) -> tuple[str, dict[str, Any]] | None:
    """The ``(algorithm, params)`` pair behind a trial's parameters, names unprefixed.

    ``{"algorithm": "knn", "knn__n_neighbors": 7, "hgb__max_depth": 3}`` gives
    ``("knn", {"n_neighbors": 7})``. Without an ``"algorithm"`` parameter: the one
    algorithm whose prefix the names carry, or, when ``algorithm`` is given (a
    single-algorithm study), its prefixed or else unprefixed names. ``None`` when no
    algorithm can be told (or it is not among ``algorithms``). The values are returned
    as they are; validating them is the caller's business.
    """
    alg: str | None = None
    chosen = params.get(ALGORITHM_PARAM)
    if isinstance(chosen, str):
        alg = chosen
    elif algorithm is not None:
        alg = algorithm
    else:
        prefixes = {k.split(SEPARATOR, 1)[0] for k in params if SEPARATOR in k}
        if len(prefixes) == 1:
            alg = prefixes.pop()
    if alg is None or (algorithms is not None and alg not in algorithms):
        return None
    prefix = alg + SEPARATOR
    config = {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
    if not config and algorithm is not None and ALGORITHM_PARAM not in params:
        config = {k: v for k, v in params.items() if SEPARATOR not in k}
    return alg, config


def resolve_param_map(
    param_map: Mapping[str, str] | None, algorithms: Sequence[str] | None = None
) -> dict[str, tuple[str, str | None]]:
    """``{study name: (algorithm, param)}`` of a ``param_map``; ``("algorithm", None)`` for
    the name that picks the algorithm.

    A target is ``"algorithm"``, ``"{algorithm}__{param}"``, or, when ``algorithms``
    names exactly one algorithm, that algorithm's unprefixed parameter name.

    Raises
    ------
    ConfigError
        If a target names an unknown algorithm or parameter, or an algorithm outside
        ``algorithms``.
    """
    from metaopt.spaces import ALGORITHMS, get_space

    out: dict[str, tuple[str, str | None]] = {}
    allowed = None if algorithms is None else [str(a) for a in algorithms]
    for name, target in dict(param_map or {}).items():
        if not isinstance(name, str) or not isinstance(target, str):
            raise ConfigError(
                f"param_map maps {name!r} to {target!r}; both must be strings",
                'map your parameter names to metaopt\'s: {"lr": "hgb__learning_rate"}',
            )
        if target == ALGORITHM_PARAM:
            out[name] = (ALGORITHM_PARAM, None)
            continue
        if SEPARATOR in target:
            alg, pname = target.split(SEPARATOR, 1)
        elif allowed is not None and len(allowed) == 1:
            alg, pname = allowed[0], target
        else:
            raise ConfigError(
                f"param_map maps {name!r} to {target!r}, which names no algorithm",
                f'use "{{algorithm}}__{{param}}" (e.g. "hgb__{target}") or "algorithm"; '
                f"algorithms: {', '.join(ALGORITHMS)}",
            )
        get_space(alg)  # ConfigError naming the valid algorithms
        if allowed is not None and alg not in allowed:
            raise ConfigError(
                f"param_map maps {name!r} to {target!r}, but {alg!r} is not among the "
                f"algorithms {allowed}",
                "map onto the parameters of the allowed algorithms, or allow that algorithm",
            )
        names = _all_param_names(alg)
        if pname not in names:
            raise ConfigError(
                f"param_map maps {name!r} to {target!r}, but {alg} has no parameter {pname!r}",
                f"choose one of {', '.join(sorted(names))}",
            )
        out[name] = (alg, pname)
    return out


def _all_param_names(algorithm: str) -> set[str]:
    """Every parameter name ``algorithm`` has for some task kind."""
    from metaopt.spaces import DataShape, get_space

    space = get_space(algorithm)
    names: set[str] = set()
    for kind, n_classes in (("binary", 2), ("multiclass", 3), ("regression", 0)):
        shape = DataShape(n_rows=1000, n_features=10, kind=kind, n_classes=n_classes)
        if space.supports(shape) is None:
            names.update(p.name for p in space.params(shape))
    return names
