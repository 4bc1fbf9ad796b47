"""The estimators inside scikit-learn's machinery: Pipeline, cross_val_score (also in
worker processes), GridSearchCV over their own parameters, clone and pickle."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from estimator_data import regression_data
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from metaopt.estimators import MetaoptClassifier, MetaoptRegressor
from metaopt.recommend import Recommender

FAST: dict[str, Any] = {"top": 1, "cv": 2, "algorithms": ["linear"], "random_state": 0}


def test_in_a_pipeline() -> None:
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MetaoptClassifier(**FAST)).fit(X, y)
    assert pipe.score(X, y) > 0.9
    assert pipe.predict_proba(X).shape == (150, 3)
    assert list(pipe.classes_) == [0, 1, 2]


def test_cross_val_score_in_worker_processes() -> None:
    X, y = regression_data(90)
    scores = cross_val_score(MetaoptRegressor(**FAST), X, y, cv=3, n_jobs=2)
    assert scores.shape == (3,) and (scores > 0.3).all()


def test_grid_search_over_its_own_parameters() -> None:
    X, y = load_iris(return_X_y=True)
    grid = GridSearchCV(
        MetaoptClassifier(**FAST), {"top": [1, 2], "algorithms": [["linear"], ["knn"]]}, cv=2
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_estimator_.best_params_["algorithm"] in ("linear", "knn")
    assert grid.score(X, y) > 0.9


def test_clone_keeps_parameters_and_drops_the_fit(fitted_classifier: Any) -> None:
    copy = clone(fitted_classifier)
    assert copy.get_params() == fitted_classifier.get_params()
    assert not hasattr(copy, "best_estimator_")


def test_a_loaded_recommender_as_models(fitted_classifier: Any, mixed: Any) -> None:
    X, y = mixed
    rec = Recommender.load()
    clf = MetaoptClassifier(top=3, cv=3, algorithms=["linear", "knn", "hgb"], random_state=0, models=rec)
    assert clone(clf).models is not None
    clf.fit(X, y)
    assert clf.cv_results_["params"] == fitted_classifier.cv_results_["params"]


def test_pickle_round_trip(fitted_classifier: Any, mixed: Any) -> None:
    X, _ = mixed
    back = pickle.loads(pickle.dumps(fitted_classifier))
    np.testing.assert_array_equal(back.predict_proba(X), fitted_classifier.predict_proba(X))
    assert back.suggestions_[0].spec == fitted_classifier.suggestions_[0].spec


@pytest.mark.parametrize("name", ["MetaoptClassifier", "MetaoptRegressor"])
def test_lazy_top_level_exports(name: str) -> None:
    import metaopt
    import metaopt.estimators

    assert getattr(metaopt, name) is getattr(metaopt.estimators, name)
    assert name in metaopt.__all__
