"""MetaoptRegressor: fitted state, targets of any scale, averaging ensembles, text targets refused."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from estimator_data import regression_data
from sklearn.ensemble import VotingRegressor

from metaopt import TargetError
from metaopt.estimators import MetaoptRegressor

FAST: dict[str, Any] = {"top": 2, "cv": 2, "algorithms": ["linear", "knn"], "random_state": 0}


def test_fit_on_arrays(fitted_regressor: Any) -> None:
    X, y = regression_data()
    reg = fitted_regressor
    assert reg.metric_ == "r2"
    assert reg.n_features_in_ == 4
    assert not hasattr(reg, "feature_names_in_")
    assert not hasattr(reg, "classes_")
    assert list(reg.cv_results_["status"]) == ["ok"] * 3
    assert reg.best_score_ > 0.5
    assert reg.predict(X).dtype == np.float64
    assert reg.score(X, y) > 0.7


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_target_scale_does_not_matter(scale: float) -> None:
    X, y = regression_data(100)
    base = MetaoptRegressor(**FAST).fit(X, y)
    scaled = MetaoptRegressor(**FAST).fit(X, y * scale)
    assert scaled.best_params_ == base.best_params_
    np.testing.assert_allclose(scaled.best_score_, base.best_score_, atol=0.01)
    np.testing.assert_allclose(scaled.predict(X) / scale, base.predict(X), rtol=1e-3, atol=1e-3 * np.std(y))


def test_averaging_ensemble() -> None:
    X, y = regression_data(100)
    reg = MetaoptRegressor(**FAST, ensemble=2).fit(X, y)
    assert isinstance(reg.best_estimator_, VotingRegressor)
    members = [est.predict(X) for est in reg.best_estimator_.estimators_]
    np.testing.assert_allclose(reg.predict(X), np.mean(members, axis=0))


def test_integer_targets_are_regression() -> None:
    X, y = regression_data(100)
    reg = MetaoptRegressor(**FAST).fit(X, np.round(y).astype(int))
    assert reg.metric_ == "r2"


def test_text_targets_are_refused() -> None:
    X, _ = regression_data(20)
    with pytest.raises(TargetError, match="not numbers"):
        MetaoptRegressor(**FAST).fit(X, np.array(["a", "b"] * 10))
