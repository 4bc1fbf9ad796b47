"""scikit-learn's estimator contract (``parametrize_with_checks``) on both estimators.

The configuration is a small, fast one (one suggestion, the linear family, two folds):
the checks exercise the estimator's input handling, fitted state, cloning and pickling,
which do not depend on how many configurations the search looks at. No check is
expected to fail.
"""

from __future__ import annotations

from typing import Any

from sklearn.utils.estimator_checks import parametrize_with_checks

from metaopt.estimators import MetaoptClassifier, MetaoptRegressor

FAST: dict[str, Any] = {"top": 1, "cv": 2, "algorithms": ["linear"], "random_state": 0}


@parametrize_with_checks([MetaoptClassifier(**FAST), MetaoptRegressor(**FAST)])
def test_sklearn_contract(estimator: Any, check: Any) -> None:
    check(estimator)
