"""Shared fixtures: small deterministic tasks for every part of metaopt's tests.

``make_task(kind, n_rows, n_numeric, n_categorical, missing, seed)`` builds a
:class:`metaopt.tasks.Task` whose target depends on the features (so models can learn
something), with numeric (``float64``) and categorical (``category``) columns and a
fraction ``missing`` of feature values set to NaN. ``binary_task``, ``multiclass_task``
and ``regression_task`` are ready-made ones (200 rows, 4 numeric + 2 categorical
columns, 5% missing values).

``tuning_root`` (session-scoped, read-only) is the tiny real-task knowledge base of
``tests/recommend/recommend_fakes.py`` with models and a small learned optimizer
trained on it (``tests/integrations/integration_fakes.py``'s ``build_root``), shared by
``tests/integrations`` and ``tests/cli/test_cli_tune.py`` so it is trained once.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metaopt._paths import use_checkout_cli
from metaopt.tasks import Task

# Tests run this checkout's command, even where an editable install of another
# checkout (a git worktree) maps `metaopt.cli` to its own cli/ folder.
use_checkout_cli()


def _make_task(
    kind: str = "binary",
    n_rows: int = 200,
    n_numeric: int = 4,
    n_categorical: int = 2,
    missing: float = 0.05,
    seed: int = 0,
) -> Task:
    if kind not in ("binary", "multiclass", "regression"):
        raise ValueError(f"kind must be binary, multiclass or regression, not {kind!r}")
    if n_numeric + n_categorical < 1:
        raise ValueError("a task needs at least one feature column")
    rng = np.random.default_rng(seed)
    columns: dict[str, pd.Series] = {}
    signal = np.zeros(n_rows)
    for j in range(n_numeric):
        values = rng.normal(loc=j, scale=1.0 + j, size=n_rows)
        signal += values / (1.0 + j) * (1 if j % 2 == 0 else -0.5)
        columns[f"num{j}"] = pd.Series(values, dtype="float64")
    for j in range(n_categorical):
        levels = [f"c{j}_{k}" for k in range(3 + j)]
        codes = rng.integers(0, len(levels), size=n_rows)
        signal += (codes - codes.mean()) * 0.7
        columns[f"cat{j}"] = pd.Series(pd.Categorical.from_codes(codes, categories=levels))
    X = pd.DataFrame(columns)
    if missing > 0:
        for col in X.columns:
            mask = rng.random(n_rows) < missing
            X.loc[mask, col] = np.nan
    noise = rng.normal(scale=0.5, size=n_rows)
    score = signal + noise
    if kind == "regression":
        y = pd.Series(score, name="target", dtype="float64")
    else:
        n_classes = 2 if kind == "binary" else 3
        edges = np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1])
        labels = np.array(["no", "yes"] if n_classes == 2 else ["a", "b", "c"], dtype=object)
        y = pd.Series(
            pd.Categorical(labels[np.searchsorted(edges, score)], categories=list(labels)),
            name="target",
        )
    digest = hashlib.sha256(
        pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes()
        + pd.util.hash_pandas_object(y, index=False).to_numpy().tobytes()
    ).hexdigest()[:16]
    roles = {c: "categorical" if c.startswith("cat") else "numeric" for c in X.columns}
    return Task(
        X=X,
        y=y,
        kind=kind,  # type: ignore[arg-type]
        task_id=f"frame:{digest}",
        name=f"synthetic-{kind}-{seed}",
        source="frame",
        target="target",
        column_roles=roles,
        provenance={"generator": "tests/conftest.py", "seed": seed},
    )


@pytest.fixture
def make_task() -> Callable[..., Task]:
    """Factory: ``make_task(kind, n_rows=200, n_numeric=4, n_categorical=2, missing=0.05, seed=0)``."""
    return _make_task


@pytest.fixture
def binary_task() -> Task:
    """200 rows, 4 numeric + 2 categorical columns, 5% missing, classes ``no``/``yes``."""
    return _make_task("binary")


@pytest.fixture
def multiclass_task() -> Task:
    """200 rows, 4 numeric + 2 categorical columns, 5% missing, classes ``a``/``b``/``c``."""
    return _make_task("multiclass")


@pytest.fixture
def regression_task() -> Task:
    """200 rows, 4 numeric + 2 categorical columns, 5% missing, ``float64`` target."""
    return _make_task("regression")


@pytest.fixture(scope="session")
def tuning_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``data/`` (bin00..bin05.csv, reg10/11.csv), ``kb/``, ``models/`` (with ``optimizer/``).

    Built once per session by ``integration_fakes.build_root``; do not write to it.
    """
    fakes = Path(__file__).resolve().parent / "integrations" / "integration_fakes.py"
    spec = importlib.util.spec_from_file_location("integration_fakes", fakes)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_root(tmp_path_factory.mktemp("tuning"))
