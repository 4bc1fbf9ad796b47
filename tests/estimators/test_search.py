"""The search: reproducible for a seed, the time budget's skips, the sampler's trials, progress."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest
from estimator_data import FAST_ALGORITHMS, mixed_frame

from metaopt.estimators import MetaoptClassifier, _search


def test_reproducible_for_a_fixed_random_state(fitted_classifier: Any, mixed: Any) -> None:
    X, y = mixed
    again = MetaoptClassifier(top=3, cv=3, algorithms=FAST_ALGORITHMS, random_state=0).fit(X, y)
    first = fitted_classifier.cv_results_
    assert again.cv_results_["params"] == first["params"]
    np.testing.assert_array_equal(again.cv_results_["mean_test_score"], first["mean_test_score"])
    assert again.best_params_ == fitted_classifier.best_params_
    np.testing.assert_array_equal(again.predict_proba(X), fitted_classifier.predict_proba(X))


def test_a_spent_budget_skips_every_evaluation(mixed: Any) -> None:
    X, y = mixed
    clf = MetaoptClassifier(top=2, cv=2, algorithms=["linear", "knn"], time_budget=1e-3, random_state=0)
    with pytest.warns(UserWarning, match="no configuration finished"):
        clf.fit(X, y)
    assert list(clf.cv_results_["status"]) == ["skipped", "skipped"]
    assert "time budget" in clf.cv_results_["message"][0]
    assert clf.best_index_ == 0 and np.isnan(clf.best_score_)
    assert clf.predict(X).shape == (len(X),)


def test_budget_time_limits_end_within_the_slack(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = itertools.count()
    monkeypatch.setattr(_search, "clock", lambda: float(next(ticks)))
    budget = _search.Budget(20.0)  # started at 0; every reading advances the clock by 1 s
    limit = budget.time_limit()  # read at 1: 19 s left, 2 s of slack
    assert limit is not None and 1 + limit + min(5.0, 1 + 0.1 * limit) <= 22.0
    for _ in range(15):
        budget.elapsed()
    limit = budget.time_limit()  # read at 17: 3 s left, and the kill grace fits in the slack
    assert limit is not None and 17 + limit + min(5.0, 1 + 0.1 * limit) <= 22.0
    budget.elapsed(), budget.elapsed()
    with pytest.raises(_search._Exhausted):
        budget.time_limit()  # read at 20: nothing left
    assert _search.Budget(None).time_limit() is None


def test_evaluations_past_the_budget_are_skipped(monkeypatch: pytest.MonkeyPatch, mixed: Any) -> None:
    # A fake clock that advances 1 s per reading: the first wave (its limit read at
    # 2 s) fits in the 3.5 s budget, the next ones do not (whatever the real durations).
    ticks = itertools.count()
    monkeypatch.setattr(_search, "clock", lambda: float(next(ticks)))
    X, y = mixed
    clf = MetaoptClassifier(top=3, cv=2, algorithms=FAST_ALGORITHMS, time_budget=3.5, random_state=0)
    clf.fit(X, y)
    status = list(clf.cv_results_["status"])
    assert status[0] in ("ok", "timeout") and status[1:] == ["skipped", "skipped"]


def test_n_trials_adds_sampler_rows(mixed: Any) -> None:
    X, y = mixed
    clf = MetaoptClassifier(top=2, cv=2, algorithms=["linear", "knn"], n_trials=3, random_state=0).fit(X, y)
    results = clf.cv_results_
    sources = list(results["source"])
    assert sources[:2] == ["suggest", "suggest"]
    assert 1 <= sources.count("sampler") <= 3
    assert all(results["suggestion_rank"][i] == -1 for i, s in enumerate(sources) if s == "sampler")
    assert len(set(results["config_id"])) == len(sources)  # no config evaluated twice
    assert set(results["status"]) <= {"ok", "error", "timeout"}
    best = clf.best_index_
    assert results["mean_test_score"][best] == np.nanmax(results["mean_test_score"])
    again = MetaoptClassifier(top=2, cv=2, algorithms=["linear", "knn"], n_trials=3, random_state=0).fit(X, y)
    assert again.cv_results_["params"] == results["params"]


def test_verbose_logs_lines_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = mixed_frame(60)
    MetaoptClassifier(top=2, cv=2, algorithms=["linear", "knn"], verbose=1, random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert "metaopt: [1/2] " in err and "metaopt: [2/2] " in err
    assert "metaopt: best: " in err
    MetaoptClassifier(top=1, cv=2, algorithms=["linear"], random_state=0).fit(X, y)
    assert capsys.readouterr().err == ""


def test_cv_results_is_a_frame(fitted_classifier: Any) -> None:
    frame = pd.DataFrame(fitted_classifier.cv_results_)
    assert len(frame) == 3
    assert frame.sort_values("rank_test_score").index[0] == fitted_classifier.best_index_


def test_default_n_trials_tunes_until_the_budget_is_spent(monkeypatch: pytest.MonkeyPatch, mixed: Any) -> None:
    # n_trials=None: with a budget the sampler keeps proposing until it is spent (a fake
    # clock, 1 s per reading, makes "spent" independent of the real durations) ...
    ticks = itertools.count()
    monkeypatch.setattr(_search, "clock", lambda: float(next(ticks)))
    X, y = mixed
    clf = MetaoptClassifier(top=2, cv=2, algorithms=["linear", "knn"], time_budget=40, random_state=0).fit(X, y)
    sources = list(clf.cv_results_["source"])
    assert sources[:2] == ["suggest", "suggest"] and sources.count("sampler") >= 2
    assert clf.search_time_ >= 40  # it stopped because the budget ran out (fake seconds)
    assert sources.count("sampler") < _search.BUDGET_TRIALS
    # ... and without a budget there are no sampler trials
    plain = MetaoptClassifier(top=2, cv=2, algorithms=["linear", "knn"], random_state=0).fit(X, y)
    assert list(plain.cv_results_["source"]) == ["suggest", "suggest"]
