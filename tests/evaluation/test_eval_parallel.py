"""evaluate_many: sequential, joblib processes, Dask cluster; validation up front."""

from __future__ import annotations

import sys

import pytest
from evaluation_fakes import pid_alive, sklearn_factory
from sklearn.tree import DecisionTreeClassifier

from metaopt import ConfigError
from metaopt.evaluation import Job, Protocol, evaluate, evaluate_many

FAST = Protocol(n_splits=3)


def _jobs(binary_task, regression_task) -> list:
    return [
        (binary_task, "hgb", {"max_iter": 15}),
        Job(binary_task, "hgb", {"max_iter": 25, "learning_rate": 0.3}),
        (regression_task, "hgb", {"max_iter": 15}),
    ]


def _by_key(evaluations) -> dict:
    return {(e.task_id, e.config_id): e for e in evaluations}


def test_sequential_matches_evaluate(binary_task, regression_task) -> None:
    seen: list[tuple[int, int, str]] = []
    results = list(
        evaluate_many(_jobs(binary_task, regression_task), FAST,
                      progress=lambda done, total, ev: seen.append((done, total, ev.status)))
    )
    assert len(results) == 3 and all(e.ok for e in results)
    assert seen == [(1, 3, "ok"), (2, 3, "ok"), (3, 3, "ok")]
    single = evaluate(binary_task, "hgb", {"max_iter": 15}, FAST)
    assert _by_key(results)[(single.task_id, single.config_id)].fold_scores == single.fold_scores


def test_two_loky_workers_give_the_same_results(binary_task, regression_task) -> None:
    jobs = _jobs(binary_task, regression_task)
    sequential = _by_key(evaluate_many(jobs, FAST))
    parallel = _by_key(evaluate_many(jobs, FAST, n_jobs=2, batch_size=1))
    assert parallel.keys() == sequential.keys()
    for key, ev in parallel.items():
        assert ev.ok and ev.fold_scores == sequential[key].fold_scores


def test_invalid_job_raises_before_anything_runs(binary_task) -> None:
    calls: list[int] = []
    with pytest.raises(ConfigError, match="learning_rate"):
        evaluate_many([(binary_task, "hgb", {}), (binary_task, "hgb", {"learning_rate": -1})],
                      FAST, progress=lambda *a: calls.append(1))
    assert calls == []
    with pytest.raises(ConfigError, match="a job is"):
        evaluate_many(["hgb"], FAST)  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="backend"):
        evaluate_many([], FAST, backend="spark")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="n_jobs"):
        evaluate_many([], FAST, n_jobs=0)


def test_timeout_inside_a_parallel_worker(binary_task, tmp_path) -> None:
    pid_file = tmp_path / "pid"
    jobs = [
        (binary_task, "forever", {"pid_file": str(pid_file)}),
        (binary_task, "tree", {"max_depth": 2}),
        (binary_task, "tree", {"max_depth": 4}),
    ]
    results = list(evaluate_many(jobs, Protocol(n_splits=3, time_limit=1.5), n_jobs=2,
                                 estimator_factory=sklearn_factory, batch_size=1))
    statuses = sorted(e.status for e in results)
    assert statuses == ["ok", "ok", "timeout"]
    assert not pid_alive(int(pid_file.read_text()))


@pytest.mark.slow
def test_dask_local_cluster_with_two_worker_processes(binary_task, regression_task) -> None:
    distributed = pytest.importorskip("distributed")
    jobs = _jobs(binary_task, regression_task)
    sequential = _by_key(evaluate_many(jobs, FAST))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as stream:
            results = list(evaluate_many(jobs, FAST, backend="dask", scheduler=client, batch_size=1))
        assert len(stream.data) >= 3  # the batches ran as tasks on the cluster
        # any time limit sends the job through the killable worker; 600 s never binds here
        limited = list(evaluate_many(jobs[:1], Protocol(n_splits=3, time_limit=600), backend="dask",
                                     scheduler=client))
    assert len(results) == 3
    for key, ev in _by_key(results).items():
        assert ev.ok and ev.fold_scores == sequential[key].fold_scores
    assert limited[0].ok and limited[0].fold_scores == _by_key(results)[
        (limited[0].task_id, limited[0].config_id)].fold_scores


class _RecordsJoblibBackend(DecisionTreeClassifier):
    """A tree that records the joblib backend active while it is fitted."""

    seen: list[str] = []

    def fit(self, X, y, **kwargs):
        import joblib

        backend, _ = joblib.parallel.get_active_backend()
        _RecordsJoblibBackend.seen.append(type(backend).__name__)
        return super().fit(X, y, **kwargs)


def _recording_factory(algorithm, params, task, seed):
    from evaluation_fakes import sklearn_factory

    pipeline = sklearn_factory("tree", {"max_depth": 2}, task, seed)
    pipeline.steps[-1] = (pipeline.steps[-1][0], _RecordsJoblibBackend(max_depth=2))
    return pipeline


def test_evaluation_body_runs_under_the_sequential_joblib_backend(binary_task) -> None:
    import joblib

    _RecordsJoblibBackend.seen.clear()
    with joblib.parallel_config(backend="threading", n_jobs=2):
        ev = evaluate(binary_task, "tree", {}, FAST, estimator_factory=_recording_factory)
    assert ev.ok, ev.message
    assert _RecordsJoblibBackend.seen == ["SequentialBackend"] * 3


def test_dask_sends_one_task_per_batch_not_the_inner_joblib_calls(binary_task) -> None:
    """Forests fit their trees through joblib: under the Dask backend those calls used to
    become dask tasks of their own (hundreds for a few configs); now they stay in the
    worker that runs the evaluation."""
    distributed = pytest.importorskip("distributed")
    jobs = [(binary_task, "random_forest", {"n_estimators": n}) for n in (16, 20, 24)]
    sequential = _by_key(evaluate_many(jobs, FAST))
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        with distributed.get_task_stream(client) as stream:
            results = list(evaluate_many(jobs, FAST, backend="dask", scheduler=client,
                                         batch_size=1))
    assert len(stream.data) == len(jobs), sorted({str(t["key"])[:40] for t in stream.data})
    for key, ev in _by_key(results).items():
        assert ev.ok and ev.fold_scores == sequential[key].fold_scores


def test_dask_backend_without_dask_names_the_extra(binary_task, monkeypatch) -> None:
    from metaopt import MissingDependencyError

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingDependencyError) as info:
        evaluate_many([(binary_task, "linear", {})], FAST, backend="dask")
    assert 'pip install "metaopt[dask]"' in str(info.value)
    assert "'distributed'" in str(info.value) and "\n" not in str(info.value)
