"""FLAML's benchmark method reuses cached raw scores and re-normalizes them."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from metaopt.bench import _flaml
from metaopt.bench._methods import HeldOutTask


class _FakeKB:
    def evaluations(self, task_ids=None):
        return pd.DataFrame({"status": ["ok", "ok", "error"], "score": [0.5, 0.9, np.nan]})


@pytest.fixture
def method_factory(monkeypatch):
    monkeypatch.setattr(_flaml, "flaml_available", lambda: True)
    calls: list[dict] = []

    def fake_evaluate(data, algorithm, params, protocol, estimator_factory=None):
        calls.append(params)
        return SimpleNamespace(status="ok", score=0.8, message="")

    import metaopt.evaluation

    monkeypatch.setattr(metaopt.evaluation, "evaluate", fake_evaluate)

    def make(cache):
        m = _flaml.FlamlZeroShot(["rf"], check_content=False, cache=cache)
        m.fit(_FakeKB(), None)
        m._tasks = {"t1": object()}
        return m

    return make, calls


def test_cache_is_written_then_reused(method_factory, tmp_path) -> None:
    make, calls = method_factory
    cache = tmp_path / "scores.json"
    task = HeldOutTask("t1", "binary", "g1", {})
    rec = ("flaml:rf", {"class": "sklearn.ensemble.RandomForestClassifier", "params": {"n_estimators": 4}})

    first = make(cache).score_outside_pool(task, rec)
    assert first == pytest.approx((0.8 - 0.5) / (0.9 - 0.5))
    assert len(calls) == 1
    stored = json.loads(cache.read_text())
    assert stored["format"] == "metaopt-flaml-scores"
    (entry,) = stored["scores"].values()
    assert entry["score"] == 0.8 and entry["task_id"] == "t1"

    again = make(cache)
    assert again.score_outside_pool(task, rec) == pytest.approx(first)
    assert len(calls) == 1, "a cached score must not be evaluated again"
    assert again.cache_hits_ == 1
    assert any("reused" in n for n in again.notes)

    other = (rec[0], {**rec[1], "params": {"n_estimators": 5}})
    again.score_outside_pool(task, other)
    assert len(calls) == 2, "a different suggestion is a cache miss"
    assert len(json.loads(cache.read_text())["scores"]) == 2


def test_without_cache_nothing_is_written(method_factory, tmp_path) -> None:
    make, calls = method_factory
    m = make(None)
    m.score_outside_pool(HeldOutTask("t1", "binary", "g1", {}), ("flaml:rf", {"class": "x.Y", "params": {}}))
    assert len(calls) == 1 and not list(tmp_path.iterdir())


def test_unreadable_cache_is_one_clear_error(method_factory, tmp_path) -> None:
    make, _ = method_factory
    bad = tmp_path / "scores.json"
    bad.write_text("{not json")
    with pytest.raises(_flaml.MetaoptError, match="cannot be read"):
        make(bad)


def test_a_failed_evaluation_is_cached_as_null_and_scores_zero(monkeypatch, tmp_path) -> None:
    """A failed FLAML fit (score NaN) is written as null, and the next write still works."""
    monkeypatch.setattr(_flaml, "flaml_available", lambda: True)
    results = iter([SimpleNamespace(status="error", score=float("nan"), message="boom"),
                    SimpleNamespace(status="ok", score=0.9, message="")])
    import metaopt.evaluation

    monkeypatch.setattr(metaopt.evaluation, "evaluate", lambda *a, **k: next(results))
    cache = tmp_path / "scores.json"
    m = _flaml.FlamlZeroShot(["rf"], check_content=False, cache=cache)
    m.fit(_FakeKB(), None)
    m._tasks = {"t1": object()}
    task = HeldOutTask("t1", "binary", "g1", {})
    failed = ("flaml:rf", {"class": "x.Y", "params": {"a": 1}})
    assert m.score_outside_pool(task, failed) == 0.0
    assert m.score_outside_pool(task, ("flaml:rf", {"class": "x.Y", "params": {"a": 2}})) == 1.0
    stored = json.loads(cache.read_text())["scores"]
    assert sorted(v["score"] for v in stored.values() if v["score"] is not None) == [0.9]
    assert [v["status"] for v in stored.values() if v["score"] is None] == ["error"]
    again = _flaml.FlamlZeroShot(["rf"], check_content=False, cache=cache)
    again.fit(_FakeKB(), None)
    assert again.score_outside_pool(task, failed) == 0.0 and again.cache_hits_ == 1
