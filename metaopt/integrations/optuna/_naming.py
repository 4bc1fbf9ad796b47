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
