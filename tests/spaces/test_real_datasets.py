"""Done-when of issue 4: every space's default and 50 design configurations build and fit
on five real datasets (available offline), for every space in ``SPACES``.

Rows are subsampled and model sizes capped (``size_cap``) to keep the run short; every
one of the 51 configurations per space and dataset is really fitted and used to predict.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets as skd
from threadpoolctl import threadpool_limits

from metaopt.spaces import SPACES, DataShape, SearchSpace
from metaopt.tasks import Task, load_task, load_xy

MAX_ROWS = 150
SIZE_CAP = 8
PENGUINS = Path(__file__).resolve().parents[2] / "datasets" / "examples" / "penguins.csv"


def _sklearn(loader: Callable, kind: str, name: str) -> Callable[[], tuple[Task, pd.DataFrame]]:
    def load() -> tuple[Task, pd.DataFrame]:
        bunch = loader(as_frame=True)
        task = load_xy(bunch.data, bunch.target, kind=kind, name=name, max_rows=MAX_ROWS)
        return task, task.X

    return load


def _penguins() -> tuple[Task, pd.DataFrame]:
    raw = pd.read_csv(PENGUINS)
    task = load_task(PENGUINS, target="species", max_rows=MAX_ROWS)
    # predict on every raw row of the file (strings, NA), not only the subsample
    return task, raw.drop(columns=["species"])


DATASETS: dict[str, Callable[[], tuple[Task, pd.DataFrame]]] = {
    "iris": _sklearn(skd.load_iris, "multiclass", "iris"),
    "wine": _sklearn(skd.load_wine, "multiclass", "wine"),
    "breast_cancer": _sklearn(skd.load_breast_cancer, "binary", "breast_cancer"),
    "diabetes": _sklearn(skd.load_diabetes, "regression", "diabetes"),
    "penguins": _penguins,  # numeric + categorical columns with missing values
}


@pytest.fixture(autouse=True)
def _one_thread():
    """One OpenMP/BLAS thread, as the evaluation engine runs models (DESIGN.md, Scale):
    HGB's OpenMP threads otherwise spin against each other on busy machines."""
    with threadpool_limits(1):
        yield


@pytest.mark.slow
@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("space", SPACES, ids=[s.name for s in SPACES])
def test_default_and_50_design_configs_fit_on_real_data(space: SearchSpace, dataset: str) -> None:
    task, raw = DATASETS[dataset]()
    shape = DataShape.of(task)
    if space.supports(shape) is not None:
        pytest.skip(space.supports(shape))
    configs = [space.default(task.kind), *space.design(50, shape, seed=0)]
    assert len(configs) == 51
    for i, config in enumerate(configs):
        est = space.to_estimator(config, task, seed=i, size_cap=SIZE_CAP)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings of capped models
            est.fit(task.X, task.y)
            pred = np.asarray(est.predict(raw))
        assert pred.shape == (len(raw),), config
        if task.kind == "regression":
            assert np.isfinite(pred.astype(float)).all(), config
        else:
            assert set(pred.tolist()) <= set(task.classes), config
