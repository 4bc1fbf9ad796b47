"""Routing of MLP configs to the batched trainer (device forced; runs on CPU)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import metaopt.evaluation._parallel as parallel
import metaopt.evaluation._population as population
from metaopt.evaluation import Protocol, evaluate_many

FAST = Protocol(n_splits=3)


class _FakeTrainer:
    """Stands in for metaopt.models.train_population: one result per config."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[int, str, int]] = []
        self.fail = fail

    def __call__(self, X_train, y_train, X_val, y_val, configs, kind, device, seed):
        self.calls.append((len(configs), device, len(X_val)))
        if self.fail:
            raise RuntimeError("CUDA out of memory")
        assert isinstance(X_train, np.ndarray) and X_train.shape[1] == X_val.shape[1]
        out = []
        for c in configs:
            model = LogisticRegression(C=c["C"], max_iter=500).fit(X_train, y_train)
            out.append(SimpleNamespace(val_output=model.predict_proba(X_val), classes=model.classes_,
                                       seconds=0.0))
        return out


@pytest.fixture
def routed(monkeypatch):
    """Pretend 'linear' is the MLP algorithm, so its configs take the batched path."""
    monkeypatch.setattr(parallel, "MLP_ALGORITHM", "linear")
    trainer = _FakeTrainer()
    monkeypatch.setattr(population, "_load_trainer", lambda: trainer)
    return trainer


def _jobs(task):
    return [(task, "linear", {"C": 0.1}), (task, "linear", {"C": 1.0}), (task, "hgb", {"max_iter": 15})]


def test_forced_device_routes_mlp_configs_to_the_batched_trainer(binary_task, routed) -> None:
    results = list(evaluate_many(_jobs(binary_task), FAST, device="cuda:0"))
    assert len(results) == 3 and all(e.ok for e in results)
    # 3 folds, one call per fold with both linear configs, scored on the held-out rows
    assert [c[:2] for c in routed.calls] == [(2, "cuda:0")] * 3
    assert sum(c[2] for c in routed.calls) == binary_task.n_rows
    devices = {e.algorithm: e.device for e in results}
    assert devices == {"linear": "cuda:0", "hgb": "cpu"}
    one_by_one = {e.config_id: e for e in evaluate_many(_jobs(binary_task), FAST, device=None)}
    for e in results:
        assert e.config_id in one_by_one and len(e.fold_scores) == 3
        if e.algorithm == "linear":  # same folds, same model class: close to the per-config path
            assert e.score == pytest.approx(one_by_one[e.config_id].score, abs=0.05)


def test_no_gpu_or_device_none_keeps_the_ordinary_path(binary_task, routed, monkeypatch) -> None:
    monkeypatch.setattr(parallel, "_cuda_device", lambda: None)
    assert all(e.device == "cpu" for e in evaluate_many(_jobs(binary_task), FAST, device="auto"))
    assert all(e.ok for e in evaluate_many(_jobs(binary_task), FAST, device=None))
    assert routed.calls == []
    monkeypatch.setattr(parallel, "_cuda_device", lambda: "cuda")
    list(evaluate_many(_jobs(binary_task), FAST, device="auto"))
    assert len(routed.calls) == 3


def test_failing_batched_trainer_falls_back_to_one_at_a_time(binary_task, monkeypatch) -> None:
    monkeypatch.setattr(parallel, "MLP_ALGORITHM", "linear")
    trainer = _FakeTrainer(fail=True)
    monkeypatch.setattr(population, "_load_trainer", lambda: trainer)
    results = list(evaluate_many(_jobs(binary_task), FAST, device="cuda"))
    assert trainer.calls and all(e.ok and e.device == "cpu" for e in results)
