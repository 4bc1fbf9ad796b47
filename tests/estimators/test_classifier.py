"""MetaoptClassifier on mixed data and every label coding; predict_proba always; ensembles."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from estimator_data import mixed_frame
from sklearn.ensemble import VotingClassifier

from metaopt.estimators import MetaoptClassifier
from metaopt.spaces import estimator_from_spec

FAST: dict[str, Any] = {"top": 1, "cv": 2, "algorithms": ["linear"], "random_state": 0}


def test_fit_on_a_mixed_frame(fitted_classifier: Any, mixed: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = mixed
    clf = fitted_classifier
    assert list(clf.classes_) == ["no", "yes"]
    assert clf.n_features_in_ == 5
    assert list(clf.feature_names_in_) == list(X.columns)
    assert clf.metric_ == "roc_auc" and clf.n_splits_ == 3
    results = clf.cv_results_
    assert len(results["params"]) == 3 == len(clf.suggestions_)
    assert list(results["status"]) == ["ok"] * 3
    assert list(results["source"]) == ["suggest"] * 3
    assert list(results["suggestion_rank"]) == [1, 2, 3]
    assert {"split0_test_score", "split2_test_score", "std_test_score", "mean_fit_time"} <= set(results)
    best = clf.best_index_
    assert results["rank_test_score"][best] == 1
    assert clf.best_score_ == pytest.approx(np.nanmax(results["mean_test_score"]))
    assert clf.best_params_ == results["params"][best]
    assert clf.best_params_["algorithm"] == results["algorithm"][best]
    assert clf.refit_time_ >= 0 and clf.search_time_ > 0
    pred = clf.predict(X)
    assert set(pred) <= {"no", "yes"}
    assert (pred == y.to_numpy()).mean() > 0.7
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(X, y) > 0.7


def test_best_spec_rebuilds_the_best_pipeline(fitted_classifier: Any) -> None:
    model = estimator_from_spec(fitted_classifier.best_spec_)
    assert type(model).__name__ == "Pipeline"
    assert fitted_classifier.suggestions_[fitted_classifier.best_index_].spec == fitted_classifier.best_spec_


def test_predict_takes_an_array_with_the_fit_columns(fitted_classifier: Any, mixed: Any) -> None:
    X, _ = mixed
    with pytest.warns(UserWarning, match="feature names"):
        from_array = fitted_classifier.predict(X.to_numpy(dtype=object))
    np.testing.assert_array_equal(from_array, fitted_classifier.predict(X))


def _codings() -> dict[str, Any]:
    base = np.array([0, 1, 2] * 20)
    return {
        "int": (base, [0, 1, 2]),
        "str": (np.array(["b", "a", "c"])[base], ["a", "b", "c"]),
        "digit-str": (np.array(["10", "9", "0"])[base], ["0", "10", "9"]),
        "pandas-string": (pd.Series(np.array(["x", "y", "z"])[base], dtype="string"), ["x", "y", "z"]),
        "category": (pd.Series(pd.Categorical(np.array(["lo", "mid", "hi"])[base])), ["hi", "lo", "mid"]),
        "bool": (base == 1, [False, True]),
        "int-category": (pd.Series(pd.Categorical(np.array([3, 1, 2])[base])), [1, 2, 3]),
        "nullable-int": (pd.Series(np.array([7, 5, 6])[base], dtype="Int64"), [5, 6, 7]),
        "nullable-bool": (pd.Series(base == 1, dtype="boolean"), [False, True]),
    }


@pytest.mark.parametrize("coding", list(_codings()))
def test_label_codings(coding: str) -> None:
    labels, classes = _codings()[coding]
    rng = np.random.default_rng(0)
    codes = np.array([0, 1, 2] * 20)
    X = rng.normal(size=(60, 3)) + np.eye(3)[codes] * 3
    clf = MetaoptClassifier(**FAST).fit(X, labels)
    assert list(clf.classes_) == classes
    pred = clf.predict(X)
    truth = np.asarray(labels, dtype=object)
    assert (pred.astype(object) == truth).mean() > 0.9
    assert clf.predict_proba(X).shape == (60, len(classes))


def test_predict_proba_when_the_best_model_has_none() -> None:
    X, y = mixed_frame(80)
    clf = MetaoptClassifier(top=1, cv=2, algorithms=["svm"], random_state=0).fit(X, y)
    assert clf.best_params_["algorithm"] == "svm"
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert (clf.classes_[proba.argmax(axis=1)] == y.to_numpy()).mean() > 0.7


def test_soft_voting_ensemble(mixed: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = mixed
    clf = MetaoptClassifier(top=3, cv=2, algorithms=["linear", "knn"], ensemble=2, random_state=0).fit(X, y)
    assert isinstance(clf.best_estimator_, VotingClassifier)
    assert len(clf.ensemble_indices_) == 2
    assert clf.ensemble_indices_[0] == clf.best_index_
    ranks = clf.cv_results_["rank_test_score"][clf.ensemble_indices_]
    assert sorted(ranks) == [1, 2]
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= {"no", "yes"}


def test_tiny_data_falls_back_to_the_first_suggestion() -> None:
    X = np.array([[0.0], [0.1], [1.0], [1.1]])
    y = np.array(["a", "a", "b", "b"])
    clf = MetaoptClassifier(**FAST).fit(X, y)
    assert clf.n_splits_ == 2
    X3 = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    from metaopt.estimators import MetaoptRegressor

    reg = MetaoptRegressor(**FAST).fit(X3, [1.0, 2.0, 1.5])
    assert reg.n_splits_ == 0
    assert list(reg.cv_results_["status"]) == ["skipped"]
    assert "no cross-validation" in reg.cv_results_["message"][0]
    assert reg.predict(X3).shape == (3,)


def test_rare_class_is_kept_by_the_final_model() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(41, 2))
    y = np.array(["a"] * 20 + ["b"] * 20 + ["c"])
    clf = MetaoptClassifier(**FAST).fit(X, y)
    assert list(clf.classes_) == ["a", "b", "c"]
    assert clf.predict_proba(X).shape == (41, 3)
