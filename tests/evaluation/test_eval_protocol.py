"""Protocol: validation, ids, metrics per kind, stratified subsampling and folds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metaopt import ConfigError, EvaluationError
from metaopt.evaluation import DEFAULT_METRICS, Protocol
from metaopt.tasks import Task


def test_defaults_and_kb_preset() -> None:
    p = Protocol()
    assert (p.n_splits, p.seed, p.max_rows, p.metric, p.time_limit) == (5, 0, 10_000, None, None)
    kb = Protocol.kb()
    assert kb.n_splits == 3 and kb.max_rows == 3_000 and kb.time_limit and kb.memory_limit
    assert kb.isolated and not p.isolated


def test_protocol_id_is_stable_and_ignores_limits() -> None:
    assert Protocol().protocol_id == Protocol().protocol_id
    assert Protocol().protocol_id.startswith("p1-")
    assert Protocol(time_limit=10, memory_limit=1024).protocol_id == Protocol().protocol_id
    ids = {Protocol().protocol_id, Protocol(seed=1).protocol_id, Protocol(metric="accuracy").protocol_id,
           Protocol(n_splits=3).protocol_id, Protocol(max_rows=None).protocol_id}
    assert len(ids) == 5


def test_round_trip_through_json() -> None:
    p = Protocol(n_splits=3, seed=7, max_rows=500, metric="accuracy", time_limit=2.5, memory_limit=1024)
    again = Protocol.from_dict(json.loads(json.dumps(p.to_dict())))
    assert again == p and again.protocol_id == p.protocol_id
    with pytest.raises(ConfigError, match="unknown protocol fields"):
        Protocol.from_dict({"folds": 3})


@pytest.mark.parametrize(
    "kwargs",
    [{"n_splits": 1}, {"n_splits": 2.5}, {"seed": -1}, {"max_rows": 3}, {"time_limit": 0},
     {"time_limit": float("inf")}, {"memory_limit": 10}],
)
def test_invalid_settings_raise_config_error(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        Protocol(**kwargs)


def test_unknown_metric_lists_valid_names() -> None:
    with pytest.raises(ConfigError) as info:
        Protocol(metric="auc_roc")
    assert "auc_roc" in str(info.value) and "roc_auc" in info.value.hint


def test_metric_per_kind_and_overrides() -> None:
    p = Protocol()
    for kind, name in DEFAULT_METRICS.items():
        assert p.metric_for(kind) == name
    assert DEFAULT_METRICS == {"binary": "roc_auc", "multiclass": "balanced_accuracy", "regression": "r2"}
    assert Protocol(metric="neg_log_loss").metric_for("multiclass") == "neg_log_loss"
    assert Protocol(metric="f1").metric_for("binary") == "f1"
    assert Protocol(metric="neg_root_mean_squared_error").metric_for("regression")


@pytest.mark.parametrize(
    ("metric", "kind"),
    [("r2", "binary"), ("accuracy", "regression"), ("roc_auc", "multiclass"), ("f1", "multiclass")],
)
def test_metric_that_does_not_apply_raises(metric: str, kind: str) -> None:
    with pytest.raises(ConfigError, match=f"cannot score a {kind} task"):
        Protocol(metric=metric).metric_for(kind)


def _task(y: pd.Series, kind: str) -> Task:
    X = pd.DataFrame({"a": np.arange(len(y), dtype=float)})
    return Task(X=X, y=y, kind=kind, task_id="test:t", name="t")  # type: ignore[arg-type]


def test_stratified_subsample_keeps_shares_and_rare_classes() -> None:
    labels = ["a"] * 900 + ["b"] * 97 + ["c"] * 3
    y = pd.Series(pd.Categorical(labels, categories=["a", "b", "c"]))
    task = _task(y, "multiclass")
    p = Protocol(n_splits=3, max_rows=100, seed=1)
    rows = p.subsample(task)
    assert len(rows) == 100 and np.all(np.diff(rows) > 0)
    counts = y.iloc[rows].value_counts()
    assert counts["c"] == 3  # at least n_splits of a rare class
    assert 84 <= counts["a"] <= 90 and 8 <= counts["b"] <= 12
    assert np.array_equal(rows, p.subsample(task))  # deterministic
    assert not np.array_equal(rows, Protocol(n_splits=3, max_rows=100, seed=2).subsample(task))


def test_regression_subsample_and_no_cap() -> None:
    task = _task(pd.Series(np.linspace(0, 1, 1000)), "regression")
    rows = Protocol(max_rows=50).subsample(task)
    assert len(rows) == 50 and len(set(rows)) == 50
    assert np.array_equal(Protocol(max_rows=None).subsample(task), np.arange(1000))


def test_folds_are_reduced_for_small_classes() -> None:
    y = np.array([0] * 20 + [1] * 3)
    p = Protocol(n_splits=5)
    folds = list(p.folds(y, len(y)))
    assert len(folds) == 3
    for train, test in folds:
        assert set(y[test]) == {0, 1} and len(set(train) & set(test)) == 0


def test_single_member_class_raises_evaluation_error() -> None:
    with pytest.raises(EvaluationError, match="single example"):
        Protocol().n_folds_for(np.array([0] * 10 + [1]), 11)
    with pytest.raises(EvaluationError, match="at least 4"):
        Protocol().n_folds_for(None, 3)
