"""evaluate() in-process: scores, metrics, ids, determinism, failures as data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from evaluation_fakes import sklearn_factory

from metaopt import ConfigError
from metaopt.evaluation import Evaluation, Protocol, evaluate
from metaopt.spaces import DataShape, config_id, get_space

FAST = Protocol(n_splits=3)


def test_hgb_on_binary_task(binary_task) -> None:
    ev = evaluate(binary_task, "hgb", {"max_iter": 20}, FAST)
    assert isinstance(ev, Evaluation) and ev.ok, ev.message
    assert ev.metric == "roc_auc" and len(ev.fold_scores) == 3
    assert ev.score == pytest.approx(float(np.mean(ev.fold_scores)))
    assert 0.5 < ev.score <= 1.0
    full = get_space("hgb").validate({"max_iter": 20}, DataShape.of(binary_task))
    assert ev.params == full and ev.config_id == config_id("hgb", full)
    assert ev.fit_time > 0 and ev.predict_time > 0
    assert ev.task_id == binary_task.task_id and ev.n_rows_used == binary_task.n_rows
    assert ev.protocol_id == FAST.protocol_id and ev.seed == 0 and ev.device == "cpu"
    assert ev.versions["sklearn"] and ev.started_at.endswith("+00:00") and ev.message == ""


def test_default_metrics_per_kind(multiclass_task, regression_task) -> None:
    assert evaluate(multiclass_task, "hgb", {"max_iter": 20}, FAST).metric == "balanced_accuracy"
    ev = evaluate(regression_task, "hgb", {"max_iter": 20}, FAST)
    assert ev.ok and ev.metric == "r2" and ev.score > 0


def test_metric_override_and_sign_convention(multiclass_task) -> None:
    ev = evaluate(multiclass_task, "hgb", {"max_iter": 20}, Protocol(n_splits=3, metric="neg_log_loss"))
    assert ev.ok and ev.metric == "neg_log_loss" and ev.score < 0  # greater is better


def test_deterministic_and_seed_dependent(binary_task) -> None:
    a = evaluate(binary_task, "tree", {}, FAST, estimator_factory=sklearn_factory)
    b = evaluate(binary_task, "tree", {}, FAST, estimator_factory=sklearn_factory)
    c = evaluate(binary_task, "tree", {}, Protocol(n_splits=3, seed=1), estimator_factory=sklearn_factory)
    assert a.ok and a.fold_scores == b.fold_scores
    assert c.fold_scores != a.fold_scores and c.seed == 1


def test_rows_are_capped(make_task) -> None:
    task = make_task("binary", n_rows=600)
    ev = evaluate(task, "tree", {"max_depth": 3}, Protocol(n_splits=3, max_rows=150),
                  estimator_factory=sklearn_factory)
    assert ev.ok and ev.n_rows_used == 150


def test_failing_config_is_recorded_not_raised(binary_task) -> None:
    ev = evaluate(binary_task, "failing", {}, FAST, estimator_factory=sklearn_factory)
    assert ev.status == "error" and math.isnan(ev.score)
    assert ev.message.startswith("ValueError: this config cannot be fitted")
    assert len(ev.message) <= 500 and ev.message.endswith("[truncated]")


def test_non_finite_scores_are_an_error(regression_task) -> None:
    ev = evaluate(regression_task, "nan", {}, FAST, estimator_factory=sklearn_factory)
    assert ev.status == "error" and math.isnan(ev.score) and ev.message


def test_invalid_inputs_raise_config_error(binary_task) -> None:
    with pytest.raises(ConfigError, match="unknown algorithm"):
        evaluate(binary_task, "xgboost", {}, FAST)
    with pytest.raises(ConfigError, match="learning_rate"):
        evaluate(binary_task, "hgb", {"learning_rate": 5.0}, FAST)
    with pytest.raises(ConfigError, match="no parameter"):
        evaluate(binary_task, "hgb", {"n_estimators": 5}, FAST)
    with pytest.raises(ConfigError, match="cannot score a binary task"):
        evaluate(binary_task, "hgb", {}, Protocol(metric="r2"))
    with pytest.raises(ConfigError, match="params must be a dict"):
        evaluate(binary_task, "hgb", [1, 2], FAST)  # type: ignore[arg-type]
