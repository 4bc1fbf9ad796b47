"""get_space / SPACES / ALGORITHMS, and the import-cost rule."""

from __future__ import annotations

import subprocess
import sys

import pytest

from metaopt import ConfigError
from metaopt.spaces import ALGORITHMS, SPACES, DataShape, SearchSpace, get_space
from metaopt.spaces._svm import MAX_SVM_ROWS


def test_algorithms_follow_spaces() -> None:
    assert ALGORITHMS == tuple(s.name for s in SPACES)
    assert len(set(ALGORITHMS)) == len(ALGORITHMS)
    for expected in ("hgb", "random_forest", "extra_trees", "linear", "svm", "knn"):
        assert expected in ALGORITHMS
    for space in SPACES:
        assert isinstance(space, SearchSpace)
        assert get_space(space.name) is space


def test_unknown_algorithm_lists_the_valid_names() -> None:
    with pytest.raises(ConfigError, match="'xgboost'") as info:
        get_space("xgboost")
    assert all(name in info.value.hint for name in ALGORITHMS)


def test_importing_spaces_is_cheap() -> None:
    code = (
        "import sys, metaopt, metaopt.spaces\n"
        "heavy = [m for m in ('optuna', 'torch', 'sklearn') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_svm_is_skipped_on_large_data() -> None:
    svm = get_space("svm")
    reason = svm.supports(DataShape(MAX_SVM_ROWS + 1, 10, "binary", 2))
    assert reason is not None and str(MAX_SVM_ROWS) in reason
    assert svm.supports(DataShape(MAX_SVM_ROWS, 10, "binary", 2)) is None


def test_knn_range_is_the_same_on_every_task_and_clipped_when_built(make_task) -> None:
    knn = get_space("knn")
    small = {p.name: p for p in knn.params(DataShape(12, 3, "binary", 2))}
    large = {p.name: p for p in knn.params(DataShape(100_000, 3, "binary", 2))}
    assert small["n_neighbors"].high == large["n_neighbors"].high == 100
    # one config means the same thing everywhere ...
    assert knn.validate({"n_neighbors": 40}, DataShape(12, 3, "binary", 2))["n_neighbors"] == 40
    # ... and the estimator is built with at most half the rows as neighbours
    task = make_task("binary", n_rows=20, n_numeric=3, n_categorical=0)
    est = knn.to_estimator({"n_neighbors": 40, "weights": "uniform", "p": 2}, task)
    assert est.named_steps["model"].n_neighbors == 10
    est.fit(task.X, task.y)


def test_forest_max_features_is_an_exponent(make_task) -> None:
    task = make_task("binary", n_rows=60, n_numeric=14, n_categorical=2)
    rf = get_space("random_forest")
    for exponent, expected in ((0.0, 1), (0.5, 4), (1.0, 16)):
        est = rf.to_estimator({"max_features": exponent}, task)
        assert est.named_steps["model"].max_features == expected


def test_hgb_max_depth_none_and_categorical_features(make_task) -> None:
    task = make_task("regression", n_rows=60, n_numeric=3, n_categorical=2)
    hgb = get_space("hgb")
    wrapper = hgb.to_estimator({}, task).named_steps["model"]
    # regression targets are standardised: early stopping's absolute tol is scale-free then
    assert type(wrapper).__name__ == "TransformedTargetRegressor"
    assert type(wrapper.transformer).__name__ == "StandardScaler"
    model = wrapper.regressor
    assert model.max_depth is None and model.categorical_features == [3, 4]
    assert (
        hgb.to_estimator({"limit_depth": True, "max_depth": 4}, task)
        .named_steps["model"]
        .regressor.max_depth
        == 4
    )
    assert model.early_stopping is False  # 60 rows: no validation split
    assert (
        hgb.to_estimator({}, make_task("regression", n_rows=400))
        .named_steps["model"]
        .regressor.early_stopping
        is True
    )
    classifier = hgb.to_estimator({}, make_task("binary", n_rows=60)).named_steps["model"]
    assert type(classifier).__name__ == "HistGradientBoostingClassifier"


def test_size_cap_lowers_only_size_parameters(make_task) -> None:
    task = make_task("binary", n_rows=60)
    hgb = get_space("hgb").to_estimator({"max_iter": 500}, task, size_cap=8).named_steps["model"]
    assert hgb.max_iter == 8 and hgb.max_leaf_nodes == 31
    rf = get_space("random_forest").to_estimator({}, task, size_cap=8).named_steps["model"]
    assert rf.n_estimators == 8
    lr = get_space("linear").to_estimator({}, task, size_cap=8).named_steps["model"]
    assert lr.max_iter == 1000


def test_unsupported_task_is_a_config_error(make_task) -> None:
    task = make_task("binary", n_rows=MAX_SVM_ROWS + 1, n_numeric=1, n_categorical=0, missing=0.0)
    with pytest.raises(ConfigError, match="svm is skipped"):
        get_space("svm").to_estimator({}, task)


def test_hgb_early_stopping_needs_a_stratifiable_split() -> None:
    """A class with 2 members breaks scikit-learn's stratified validation split: no early stopping."""
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import cross_val_score

    from metaopt.tasks import load_task

    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame["y"] = np.where(frame["a"] > 0, "up", "down")
    hgb = get_space("hgb")
    common = load_task(frame, target="y")
    assert hgb.to_estimator({}, common).named_steps["model"].early_stopping is True
    rare = frame.copy()
    rare.loc[:1, "y"] = "rare"  # two members
    task = load_task(rare, target="y")
    est = hgb.to_estimator({"max_iter": 20}, task)
    assert est.named_steps["model"].early_stopping is False
    scores = cross_val_score(est, task.X, task.y, cv=3, scoring="balanced_accuracy")
    assert np.isfinite(scores).all()
