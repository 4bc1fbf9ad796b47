"""Meta-feature extraction: the group list, the version, and :func:`extract`.

The names, their order, their descriptions and the version string live here and
nowhere else; bump :data:`VERSION` whenever a definition or a default limit changes,
because learned models are tied to it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import numpy as np

from metaopt._exceptions import ConfigError
from metaopt.metafeatures._base import MetaFeatureGroup
from metaopt.metafeatures._categorical import CategoricalGroup
from metaopt.metafeatures._context import Context
from metaopt.metafeatures._infotheory import InfoTheoryGroup
from metaopt.metafeatures._landmarking import LandmarkingGroup
from metaopt.metafeatures._result import MetaFeatures
from metaopt.metafeatures._simple import SimpleGroup
from metaopt.metafeatures._statistical import StatisticalGroup
from metaopt.tasks import Task

__all__ = [
    "FEATURE_DESCRIPTIONS",
    "FEATURE_GROUPS",
    "FEATURE_NAMES",
    "GROUPS",
    "VERSION",
    "describe",
    "extract",
]

#: Version of the meta-feature definitions (names, formulas, sampling limits).
VERSION = "1.0"

#: The groups, in output order. Adding a group = its module + one line here.
GROUPS: tuple[MetaFeatureGroup, ...] = (
    SimpleGroup(),
    StatisticalGroup(),
    InfoTheoryGroup(),
    CategoricalGroup(),
    LandmarkingGroup(),
)

#: Every meta-feature name, in output order.
FEATURE_NAMES: tuple[str, ...] = tuple(n for g in GROUPS for n in g.features)
#: Name -> one-line description.
FEATURE_DESCRIPTIONS: dict[str, str] = {n: d for g in GROUPS for n, d in g.features.items()}
#: Name -> group name.
FEATURE_GROUPS: dict[str, str] = {n: g.name for g in GROUPS for n in g.features}

if len(set(FEATURE_NAMES)) != len(FEATURE_NAMES):  # pragma: no cover - import-time check
    raise RuntimeError("duplicate meta-feature names across groups")


def describe() -> list[tuple[str, str, str]]:
    """The documented list: ``(name, group, description)`` for every meta-feature."""
    return [(n, FEATURE_GROUPS[n], FEATURE_DESCRIPTIONS[n]) for n in FEATURE_NAMES]


@functools.cache
def _controller() -> Any:
    """One threadpoolctl controller per process (scanning the loaded libraries is slow)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _select(groups: Iterable[str] | None) -> tuple[MetaFeatureGroup, ...]:
    if groups is None:
        return GROUPS
    if isinstance(groups, str):
        groups = [groups]
    wanted = list(dict.fromkeys(groups))
    known = {g.name: g for g in GROUPS}
    unknown = [g for g in wanted if g not in known]
    if unknown:
        raise ConfigError(
            f"unknown meta-feature group {unknown[0]!r}",
            hint=f"choose from {', '.join(known)}",
        )
    return tuple(g for g in GROUPS if g.name in wanted)


def extract(
    task: Task,
    *,
    groups: Iterable[str] | None = None,
    random_state: int = 0,
) -> MetaFeatures:
    """Compute the meta-features of a task.

    Parameters
    ----------
    task
        The task to describe.
    groups
        Names of the groups to compute (``simple``, ``statistical``, ``infotheory``,
        ``categorical``, ``landmarking``); ``None`` computes all of them, and only then
        are the names exactly :data:`FEATURE_NAMES`.
    random_state
        Seed of the row sample, the column subset and the landmarkers; the result is a
        deterministic function of the task's content and this seed (row order, column
        order and class label names do not matter).

    Returns
    -------
    MetaFeatures
        Ordered name -> float, NaN where a feature is undefined for the task (e.g.
        class entropy for regression, correlations without two numeric columns).

    Raises
    ------
    ConfigError
        If ``groups`` names an unknown group.
    """
    selected = _select(groups)
    with _controller().limit(limits=1), np.errstate(all="ignore"):
        ctx = Context(task, random_state=random_state)
        names: list[str] = []
        values: list[float] = []
        for group in selected:
            got = group.compute(ctx)
            for name in group.features:
                v = got.get(name, np.nan)
                names.append(name)
                values.append(float(v) if v is not None and np.isfinite(v) else np.nan)
        n_used = int(ctx.rows.size) if any(g.name in ("statistical", "infotheory") for g in selected) else ctx.n_rows
        n_lm = int(ctx.landmark_rows[0].size) if any(g.name == "landmarking" for g in selected) else 0
        return MetaFeatures(
            names,
            values,
            version=VERSION,
            n_rows=ctx.n_rows_total,
            n_columns=ctx.n_columns,
            n_rows_used=n_used,
            n_rows_landmark=n_lm,
            n_columns_used=ctx.n_columns_used,
            groups=[g.name for g in selected],
        )
