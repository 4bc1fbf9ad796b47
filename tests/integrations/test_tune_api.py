"""tune(): options are checked before any work, studies of other runs are refused."""

from __future__ import annotations

import pytest

from metaopt import ConfigError
from metaopt.evaluation import Protocol
from metaopt.integrations.optuna import default_study_name, make_sampler, open_storage, tune


def test_default_study_name_follows_data_algorithms_and_scoring(task) -> None:
    name = default_study_name(task, ["linear", "knn"], Protocol(n_splits=2))
    assert name.startswith(f"metaopt-{task.task_id}-")
    assert name == default_study_name(task, ["knn", "linear"], Protocol(n_splits=2, time_limit=9.0))
    assert name != default_study_name(task, ["linear"], Protocol(n_splits=2))
    assert name != default_study_name(task, ["linear", "knn"], Protocol(n_splits=3))
    assert name.startswith(f"metaopt-{task.task_id}-meta-")  # the sampler: another one, another study
    assert name != default_study_name(task, ["linear", "knn"], Protocol(n_splits=2), "tpe")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sampler": "cmaes"}, "unknown sampler"),
        ({"n_trials": 0}, "n_trials must be an integer of at least 1"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"warm_start": -1}, "warm_start"),
        ({"storage": "not-a-url"}, "not a database URL"),
    ],
)
def test_bad_options(task, kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        tune(task=task, **kwargs)


def test_open_storage_and_make_sampler(tmp_path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'x.db'}")
    assert (tmp_path / "x.db").is_file() and storage is not None
    with pytest.raises(ConfigError, match="cannot open the Optuna storage"):
        open_storage("nosuchdialect://host/db")
    assert type(make_sampler("random", seed=1)).__name__ == "RandomSampler"


def test_a_named_study_with_other_algorithms_is_refused(task, tmp_path) -> None:
    common = {"task": task, "n_trials": 1, "sampler": "random", "warm_start": 0, "folds": 2,
              "storage": f"sqlite:///{tmp_path / 't.db'}", "study_name": "s"}
    result = tune(algorithms=["linear"], **common)
    assert result.n_trials == 1 and result.algorithm == "linear" and result.spec["class"].endswith("Pipeline")
    with pytest.raises(ConfigError, match="searches the algorithms linear, this run linear, knn"):
        tune(algorithms=["linear", "knn"], **common)
    with pytest.raises(ConfigError, match="scoring protocol"):
        tune(algorithms=["linear"], **{**common, "folds": 3})


def _race_error(text: str = "table studies already exists"):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    return OperationalError("CREATE TABLE studies (...)", {}, sqlite3.OperationalError(text))


def test_creation_is_retried_on_a_race_and_only_then() -> None:
    from metaopt.integrations.optuna._tune import _retry_creation

    calls: list[int] = []
    naps: list[float] = []

    def fails_once() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise _race_error()
        return "storage"

    assert _retry_creation(fails_once, sleep=naps.append) == "storage"
    assert len(calls) == 2 and len(naps) == 1 and 0 < naps[0] < 1

    def other_error() -> str:
        calls.append(1)
        raise _race_error("no such table: studies")

    calls.clear()
    with pytest.raises(Exception, match="no such table"):
        _retry_creation(other_error, sleep=naps.append)
    assert len(calls) == 1  # not a race: not retried

    def always_locked() -> str:
        calls.append(1)
        raise _race_error("database is locked")

    calls.clear()
    with pytest.raises(Exception, match="database is locked"):
        _retry_creation(always_locked, attempts=3, sleep=naps.append)
    assert len(calls) == 3


def test_a_race_that_outlasts_the_retries_gets_its_own_hint(tmp_path, monkeypatch) -> None:
    import optuna

    from metaopt.integrations.optuna import _tune

    def racing(*args, **kwargs):
        raise _race_error("database is locked")

    monkeypatch.setattr(_tune, "_RACE_BACKOFF_S", 0.0)
    monkeypatch.setattr(optuna.storages, "RDBStorage", racing)
    with pytest.raises(ConfigError) as info:
        open_storage(f"sqlite:///{tmp_path / 'x.db'}")
    msg = str(info.value)
    assert "database is locked" in msg and "another process" in msg and "run the command again" in msg
    assert "--storage" not in msg


def _open_and_create(url: str, barrier, outcomes: list[str], sampler) -> None:
    from metaopt.integrations.optuna._tune import _create_study

    barrier.wait()
    try:
        study = _create_study("shared", open_storage(url), sampler)
        outcomes.append(study.study_name)
    except Exception as exc:
        outcomes.append(f"{type(exc).__name__}: {exc}")


def test_opening_a_new_sqlite_file_at_once_everyone_succeeds(tmp_path) -> None:
    """Threads with storage objects of their own race as processes do: without the retry,
    one of four lost on Optuna's schema creation ('table ... already exists', 'UNIQUE
    constraint failed: alembic_version') in nearly every round."""
    import threading

    import optuna

    sampler = optuna.samplers.RandomSampler(seed=0)
    for round_ in range(3):
        url = f"sqlite:///{tmp_path / f'race{round_}.db'}"
        barrier = threading.Barrier(4)
        outcomes: list[str] = []
        threads = [
            threading.Thread(target=_open_and_create, args=(url, barrier, outcomes, sampler))
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes == ["shared"] * 4, outcomes
        assert [s.study_name for s in optuna.get_all_study_summaries(open_storage(url))] == ["shared"]
