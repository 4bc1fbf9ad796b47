"""Fitted estimators shared by the estimator tests (fitted once per module)."""

from __future__ import annotations

import pandas as pd
import pytest
from estimator_data import FAST_ALGORITHMS, mixed_frame, regression_data


@pytest.fixture(scope="module")
def mixed() -> tuple[pd.DataFrame, pd.Series]:
    return mixed_frame()


@pytest.fixture(scope="module")
def fitted_classifier(mixed: tuple[pd.DataFrame, pd.Series]) -> object:
    from metaopt.estimators import MetaoptClassifier

    X, y = mixed
    return MetaoptClassifier(top=3, cv=3, algorithms=FAST_ALGORITHMS, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def fitted_regressor() -> object:
    from metaopt.estimators import MetaoptRegressor

    X, y = regression_data()
    return MetaoptRegressor(top=3, cv=3, algorithms=FAST_ALGORITHMS, random_state=0).fit(X, y)
