"""Features change only where they should: row/column order, constant column, labels."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from metaopt.metafeatures import FEATURE_NAMES, extract
from metaopt.metafeatures._context import Limits
from metaopt.tasks import Task

# Columns counted by the simple group: they must change when a column is added.
COUNTS = {
    "n_columns",
    "log_n_columns",
    "log_rows_per_column",
    "n_numeric",
    "n_categorical",
    "share_numeric",
    "share_categorical",
    "share_constant",
    "missing_cell_share",
    "missing_column_share",
}


def _replace(task: Task, X: pd.DataFrame | None = None, y: pd.Series | None = None) -> Task:
    return Task(
        X=task.X if X is None else X,
        y=task.y if y is None else y,
        kind=task.kind,
        task_id=task.task_id,
        name=task.name,
    )


def _same(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)


@pytest.fixture(params=["binary", "multiclass", "regression"])
def task(request: pytest.FixtureRequest, make_task: Callable[..., Task]) -> Task:
    return make_task(request.param, n_rows=300, n_numeric=5, n_categorical=2, missing=0.05, seed=7)


def test_row_order(task: Task) -> None:
    perm = np.random.default_rng(1).permutation(task.n_rows)
    shuffled = _replace(
        task, task.X.iloc[perm].reset_index(drop=True), task.y.iloc[perm].reset_index(drop=True)
    )
    _same(extract(task).to_array(), extract(shuffled).to_array())


def test_row_order_with_subsampling(make_task: Callable[..., Task], monkeypatch) -> None:
    monkeypatch.setattr(Limits, "max_rows", 120)
    monkeypatch.setattr(Limits, "max_landmark_rows", 60)
    task = make_task("multiclass", n_rows=400, seed=2)
    perm = np.random.default_rng(2).permutation(task.n_rows)
    shuffled = _replace(
        task, task.X.iloc[perm].reset_index(drop=True), task.y.iloc[perm].reset_index(drop=True)
    )
    a, b = extract(task), extract(shuffled)
    assert a.n_rows_used < 130 and a.n_rows_landmark < 70
    _same(a.to_array(), b.to_array())


def test_column_order(task: Task) -> None:
    cols = list(task.X.columns)[::-1]
    _same(extract(task).to_array(), extract(_replace(task, task.X[cols])).to_array())


@pytest.mark.parametrize("value", [0.0, "const"])
def test_constant_column_changes_only_counts(task: Task, value: object) -> None:
    X = task.X.copy()
    X["zz_constant"] = (
        pd.Series(pd.Categorical([value] * task.n_rows))
        if isinstance(value, str)
        else np.full(task.n_rows, value)
    )
    a, b = extract(task), extract(_replace(task, X))
    changed = {n for n, x, y in zip(FEATURE_NAMES, a.to_array(), b.to_array(), strict=False)
               if not (np.isclose(x, y, rtol=1e-9) or (np.isnan(x) and np.isnan(y)))}
    assert changed <= COUNTS
    assert {"n_columns", "share_constant"} <= changed


def test_class_labels_renamed(make_task: Callable[..., Task]) -> None:
    task = make_task("multiclass", n_rows=300, seed=3)
    renamed = task.y.cat.rename_categories(["zeta", "alpha", "mid"])
    _same(extract(task).to_array(), extract(_replace(task, y=renamed)).to_array())
    # Recoding from strings reorders the categories: still the same features.
    recoded = pd.Series(pd.Categorical(np.asarray(renamed, dtype=object)))
    _same(extract(task).to_array(), extract(_replace(task, y=recoded)).to_array())


def test_seed_changes_only_sampled_parts(make_task: Callable[..., Task]) -> None:
    task = make_task("binary", n_rows=300, seed=4)
    a, b = extract(task, random_state=0), extract(task, random_state=1)
    for name in FEATURE_NAMES:
        if not name.startswith("lm_"):
            assert a[name] == b[name] or (np.isnan(a[name]) and np.isnan(b[name])), name
