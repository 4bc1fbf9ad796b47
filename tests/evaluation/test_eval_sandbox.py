"""Limits: a runaway config is recorded as a timeout and its worker is killed."""

from __future__ import annotations

import math
import time

import pytest
from evaluation_fakes import pid_alive, sklearn_factory

from metaopt.evaluation import Protocol, evaluate
from metaopt.evaluation._sandbox import current_worker_pid


def _wait_gone(pid: int) -> bool:
    # the parent reaps the worker before evaluate() returns; poll briefly all the same
    for _ in range(50):
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("mode", ["loop", "sleep"])
def test_runaway_config_times_out_and_worker_is_gone(binary_task, tmp_path, mode) -> None:
    pid_file = tmp_path / "pid"
    ev = evaluate(binary_task, "forever", {"pid_file": str(pid_file), "mode": mode},
                  Protocol(n_splits=3, time_limit=1.0), estimator_factory=sklearn_factory)
    assert ev.status == "timeout" and math.isnan(ev.score) and ev.time_limit == 1.0
    assert "time limit" in ev.message
    pid = int(pid_file.read_text())
    assert _wait_gone(pid)
    assert current_worker_pid() is None


def test_worker_is_reused_and_restarted_after_a_timeout(binary_task, tmp_path) -> None:
    limited = Protocol(n_splits=3, time_limit=60.0)
    first = evaluate(binary_task, "hgb", {"max_iter": 20}, limited)
    pid = current_worker_pid()
    second = evaluate(binary_task, "hgb", {"max_iter": 25}, limited)
    assert first.ok and second.ok and current_worker_pid() == pid
    evaluate(binary_task, "forever", {"pid_file": str(tmp_path / "p")},
             Protocol(n_splits=3, time_limit=1.0), estimator_factory=sklearn_factory)
    again = evaluate(binary_task, "hgb", {"max_iter": 20}, limited)
    assert again.ok and again.fold_scores == first.fold_scores
    assert current_worker_pid() not in (None, pid)


def test_isolated_and_in_process_scores_agree(multiclass_task) -> None:
    inproc = evaluate(multiclass_task, "hgb", {"max_iter": 20}, Protocol(n_splits=3))
    isolated = evaluate(multiclass_task, "hgb", {"max_iter": 20}, Protocol(n_splits=3, time_limit=60))
    assert isolated.ok and isolated.fold_scores == inproc.fold_scores
    assert isolated.protocol_id == inproc.protocol_id


def test_memory_hungry_config_is_bounded(binary_task) -> None:
    ev = evaluate(binary_task, "hog", {"gib": 8.0}, Protocol(n_splits=3, metric="accuracy", memory_limit=1024),
                  estimator_factory=sklearn_factory)
    assert ev.status == "error" and "MemoryError" in ev.message
    ok = evaluate(binary_task, "hog", {"gib": 0.01}, Protocol(n_splits=3, metric="accuracy", memory_limit=1024),
                  estimator_factory=sklearn_factory)
    assert ok.status == "ok", ok.message  # the limit was lifted after the failing request


def test_errors_in_the_worker_are_recorded(binary_task) -> None:
    ev = evaluate(binary_task, "failing", {}, Protocol(n_splits=3, time_limit=60),
                  estimator_factory=sklearn_factory)
    assert ev.status == "error" and ev.message.startswith("ValueError: this config")


def test_start_worker_starts_this_threads_worker_once(binary_task) -> None:
    from metaopt.evaluation import shutdown_workers, start_worker

    shutdown_workers()
    assert start_worker() > 0 and current_worker_pid() is not None
    pid = current_worker_pid()
    assert start_worker() == 0.0
    assert evaluate(binary_task, "linear", None, Protocol(n_splits=2, time_limit=60)).ok
    assert current_worker_pid() == pid  # the evaluation used the started worker
