"""Contract tests that every group in GROUPS gets for free (CONVENTIONS.md 8)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from metaopt.metafeatures import GROUPS, Context, MetaFeatureGroup
from metaopt.tasks import Task


@pytest.fixture(params=GROUPS, ids=lambda g: g.name)
def group(request: pytest.FixtureRequest) -> MetaFeatureGroup:
    return request.param


def test_declares_names_and_descriptions(group: MetaFeatureGroup) -> None:
    assert isinstance(group, MetaFeatureGroup)
    assert group.name and group.name.isidentifier()
    assert group.features
    for name, desc in group.features.items():
        assert name.isidentifier() and name == name.lower()
        assert isinstance(desc, str) and 0 < len(desc) <= 100


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("missing", [0.0, 0.2])
def test_computes_only_declared_finite_values(
    group: MetaFeatureGroup, make_task: Callable[..., Task], kind: str, missing: float
) -> None:
    task = make_task(kind, n_rows=150, missing=missing, seed=1)
    got = group.compute(Context(task, random_state=0))
    assert set(got) <= set(group.features)
    for name, value in got.items():
        assert isinstance(value, float), name
        assert math.isfinite(value) or math.isnan(value), name


def test_tolerates_a_task_without_usable_columns(
    group: MetaFeatureGroup, make_task: Callable[..., Task]
) -> None:
    task = make_task("binary", n_rows=40, n_numeric=1, n_categorical=0, missing=0.0)
    task.X["num0"] = 1.0
    got = group.compute(Context(task))
    assert set(got) <= set(group.features)
