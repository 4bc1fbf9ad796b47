"""Search spaces: one module per algorithm, all behind :class:`SearchSpace`.

``SPACES`` holds one instance of every space, in a fixed order; ``ALGORITHMS`` their
names. Adding an algorithm means a module, one line in ``SPACES``, and its tests (the
shared contract suite in ``tests/spaces`` runs for every entry automatically).
"""

from __future__ import annotations

from metaopt._exceptions import ConfigError
from metaopt.spaces._base import DataShape, Param, ParamType, SearchSpace
from metaopt.spaces._config import Config, canonical_json, config_id
from metaopt.spaces._extra_trees import ExtraTreesSpace
from metaopt.spaces._hgb import HGBSpace
from metaopt.spaces._knn import KNNSpace
from metaopt.spaces._linear import LinearSpace
from metaopt.spaces._mlp import MLPSpace
from metaopt.spaces._random_forest import RandomForestSpace
from metaopt.spaces._save import save_fitted
from metaopt.spaces._spec import (
    ALLOWED_PREFIXES,
    estimator_from_spec,
    estimator_to_spec,
    spec_to_estimator,
)
from metaopt.spaces._svm import SVMSpace

__all__ = [
    "ALGORITHMS",
    "ALLOWED_PREFIXES",
    "SPACES",
    "Config",
    "DataShape",
    "ExtraTreesSpace",
    "HGBSpace",
    "KNNSpace",
    "LinearSpace",
    "Param",
    "ParamType",
    "RandomForestSpace",
    "SVMSpace",
    "SearchSpace",
    "canonical_json",
    "config_id",
    "estimator_from_spec",
    "estimator_to_spec",
    "get_space",
    "save_fitted",
    "spec_to_estimator",
]

#: Every search space, one instance each, in a fixed order. One line per space.
SPACES: tuple[SearchSpace, ...] = (
    HGBSpace(),
    RandomForestSpace(),
    ExtraTreesSpace(),
    LinearSpace(),
    SVMSpace(),
    KNNSpace(),
    MLPSpace(),
)

#: The algorithm names, in the order of :data:`SPACES`.
ALGORITHMS: tuple[str, ...] = tuple(space.name for space in SPACES)


def get_space(name: str) -> SearchSpace:
    """The search space called ``name`` (e.g. ``"hgb"``).

    Raises
    ------
    ConfigError
        If no space has that name; the message lists the valid names.
    """
    for space in SPACES:
        if space.name == name:
            return space
    raise ConfigError(
        f"unknown algorithm {name!r}",
        f"choose one of: {', '.join(ALGORITHMS)}",
    )
