"""objective(): names, user attributes, failures as NaN / FAIL, loading the data."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.trial import TrialState

import metaopt.evaluation
from metaopt import ConfigError
from metaopt.evaluation import Protocol
from metaopt.integrations.optuna import objective


def test_trials_follow_the_naming_convention_and_record_the_evaluation(task) -> None:
    obj = objective(task=task, algorithms=["knn", "linear"], protocol=Protocol(n_splits=2))
    assert obj.algorithms == ["linear", "knn"] and obj.metric == "roc_auc"
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(obj, n_trials=4)
    for trial in study.trials:
        assert trial.state == TrialState.COMPLETE and 0.5 < trial.value <= 1.0
        alg = trial.params["algorithm"]
        assert all(k == "algorithm" or k.startswith(f"{alg}__") for k in trial.params)
        attrs = trial.user_attrs
        assert attrs["status"] == "ok" and attrs["message"] == "" and attrs["metric"] == "roc_auc"
        assert len(attrs["fold_scores"]) == 2 and attrs["fit_time"] >= 0
        assert sum(attrs["fold_scores"]) / 2 == pytest.approx(trial.value)
        assert obj.config(trial)[0] == alg
    assert set(obj.search_space) >= {"algorithm", "knn__n_neighbors", "linear__C"}


def test_one_algorithm_is_still_a_categorical(root) -> None:
    obj = objective(root / "data" / "reg10.csv", algorithms=["knn"], metric="neg_mean_absolute_error",
                    protocol=Protocol(n_splits=2))
    study = optuna.create_study(direction="maximize")
    study.optimize(obj, n_trials=1)
    trial = study.trials[0]
    assert trial.params["algorithm"] == "knn" and trial.distributions["algorithm"].choices == ("knn",)
    assert trial.user_attrs["metric"] == "neg_mean_absolute_error" and trial.value < 0


def test_a_failed_evaluation_is_a_failed_trial_with_its_reason(task, monkeypatch) -> None:
    real = metaopt.evaluation.evaluate

    def failing(task, algorithm, params, protocol):
        result = real(task, algorithm, params, protocol)
        result.status, result.message, result.score = "error", "ValueError: planted", math.nan
        return result

    monkeypatch.setattr(metaopt.evaluation, "evaluate", failing)
    obj = objective(task=task, algorithms=["linear"], protocol=Protocol(n_splits=2))
    study = optuna.create_study(direction="maximize")
    study.optimize(obj, n_trials=2)  # goes on after a failure, no catch= needed
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.FAIL]
    assert study.trials[0].user_attrs["status"] == "error"
    assert study.trials[0].user_attrs["message"] == "ValueError: planted"


def test_bad_input_is_a_config_error(task) -> None:
    with pytest.raises(ConfigError, match="no data"):
        objective()
    with pytest.raises(ConfigError, match="unknown algorithm"):
        objective(task=task, algorithms=["xgboost"])
    with pytest.raises(ConfigError, match="supports"):
        objective(task=task, algorithms=["svm"]) if task.kind == "regression" else (_ for _ in ()).throw(
            ConfigError("supports"))
    with pytest.raises(ConfigError):
        objective(task=task, metric="r2")  # a regression metric on a binary task
