"""Fixtures of the MLP tests: one torch thread, small deterministic data."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def binary_data():
    from sklearn.datasets import make_classification

    X, y = make_classification(600, 10, n_informative=5, random_state=0)
    return X[:400], y[:400], X[400:], y[400:]


@pytest.fixture
def multiclass_data():
    from sklearn.datasets import make_classification

    X, y = make_classification(600, 8, n_informative=5, n_classes=3, random_state=1)
    labels = np.array(["a", "b", "c"])[y]
    return X[:400], labels[:400], X[400:], labels[400:]


@pytest.fixture
def regression_data():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(500, 6))
    y = 3 * X[:, 0] - 2 * X[:, 1] ** 2 + 0.1 * rng.normal(size=500) + 50
    return X[:350], y[:350], X[350:], y[350:]
