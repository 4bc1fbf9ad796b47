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
