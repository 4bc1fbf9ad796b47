"""The knowledge-base builder: plan, failures as rows, idempotency, SIGKILL resume, Dask."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import kb_fakes  # noqa: E402

from metaopt import ConfigError, KnowledgeBaseError  # noqa: E402
from metaopt.kb import KnowledgeBase, ParquetDirectoryBackend  # noqa: E402
from metaopt.kb._build import build, parse_shard, plan_task  # noqa: E402

KEY = ["task_id", "algorithm", "config_id", "protocol_id"]
HERE = Path(__file__).parent
REPO = HERE.parents[1]


def _expected_keys(components, n_configs: int) -> set[tuple[str, ...]]:
    """The evaluation keys of the full plan, computed independently of any build."""
    source = components.get_source("fake")
    keys: set[tuple[str, ...]] = set()
    for entry in source.entries():
        if entry.name.startswith("broken"):
            continue
        plan = plan_task(source.load(entry), components.algorithms, n_configs, components)
        keys |= plan.keys("pfake-1")
    return keys


def _raw_keys(kb_path: Path) -> list[tuple[str, ...]]:
    raw = ParquetDirectoryBackend(kb_path).read("evaluations", KEY)
    return list(raw[KEY].itertuples(index=False, name=None))


def test_build_records_everything_including_failures(tmp_path):
    comp = kb_fakes.components()
    report = build(tmp_path / "kb", "fake", configs_per_algorithm=4, components=comp, batch_size=3)
    kb = KnowledgeBase(tmp_path / "kb")
    tasks = kb.tasks().set_index("task_id")
    assert set(tasks.index) == {"fake:alpha", "fake:beta", "fake:gamma", "fake:broken"}
    assert tasks.loc["fake:broken", "status"] == "error"
    assert "constant" in tasks.loc["fake:broken", "message"]
    assert tasks.loc["fake:beta", "kind"] == "regression" and tasks.loc["fake:beta", "n_rows"] == 150
    ev = kb.evaluations()
    assert set(ev[KEY].itertuples(index=False, name=None)) == _expected_keys(comp, 4)
    skipped = ev[ev["status"] == "skipped"]
    assert list(skipped["task_id"]) == ["fake:beta"] and list(skipped["algorithm"]) == ["wide"]
    assert "limited to 100 rows" in skipped["message"].iloc[0]
    assert (ev["status"] == "error").sum() == report.evaluations_failed > 0
    assert list(kb.metafeatures().index) == ["fake:alpha", "fake:beta", "fake:gamma"]
    assert kb.manifest["protocol_id"] == "pfake-1" and kb.manifest["mf_version"] == "fake-mf-1"
    # the plan is deterministic: the same task plans the same configs every time
    task = comp.get_source("fake").load(comp.get_source("fake").entries()[0])
    assert plan_task(task, ["narrow"], 4, comp).jobs == plan_task(task, ["narrow"], 4, comp).jobs
    assert len(plan_task(task, ["narrow"], 4, comp).jobs) == 5


def test_second_build_adds_nothing(tmp_path):
    comp = kb_fakes.components()
    build(tmp_path / "kb", "fake", configs_per_algorithm=3, components=comp, compact=False)
    parts = sorted(p.name for p in (tmp_path / "kb").rglob("part-*.parquet"))
    again = build(tmp_path / "kb", "fake", configs_per_algorithm=3, components=comp, compact=False)
    assert again.evaluations_run == 0 and again.parts_written == 0 and again.tasks_complete_before == 3
    assert sorted(p.name for p in (tmp_path / "kb").rglob("part-*.parquet")) == parts


def test_more_configs_later_extends_the_plan(tmp_path):
    comp = kb_fakes.components(specs=[("alpha", "binary", 60)], algorithms=("narrow",))
    build(tmp_path / "kb", "fake", configs_per_algorithm=2, components=comp)
    more = build(tmp_path / "kb", "fake", configs_per_algorithm=5, components=comp)
    assert more.evaluations_present == 3 and more.evaluations_run == 3
    assert len(KnowledgeBase(tmp_path / "kb").evaluations()) == 6


def test_retry_failed_reruns_errors_and_ok_wins(tmp_path, monkeypatch):
    comp = kb_fakes.components(specs=[("alpha", "binary", 60)], algorithms=("narrow",))
    original = comp.evaluate_many

    def flaky(jobs, protocol, **kw):
        for i, rec in enumerate(original(jobs, protocol, **kw)):
            yield {**rec, "status": "error", "message": "MemoryError: "} if i % 2 else rec

    comp.evaluate_many = flaky
    build(tmp_path / "kb", "fake", configs_per_algorithm=12, components=comp)
    kb = KnowledgeBase(tmp_path / "kb")
    n_err = len(kb.evaluations(status="error"))
    assert n_err >= 6
    again = build(tmp_path / "kb", "fake", configs_per_algorithm=12, components=comp)
    assert again.evaluations_run == 0  # failures are kept, not retried by default

    def healed(jobs, protocol, **kw):
        for rec in original(jobs, protocol, **kw):
            yield {**rec, "status": "ok", "message": "", "score": 0.5}

    comp.evaluate_many = healed
    report = build(tmp_path / "kb", "fake", configs_per_algorithm=12, components=comp, retry_failed=True)
    assert report.evaluations_run == n_err
    assert kb.evaluations(status="error").empty and len(kb.evaluations()) == 13


def test_unevaluable_task_becomes_error_rows(tmp_path):
    # "tiny" shares a window with "alpha": it gets error rows, alpha is evaluated normally
    comp = kb_fakes.components(specs=[("tiny", "binary", 6), ("alpha", "binary", 60)],
                               algorithms=("narrow",))
    report = build(tmp_path / "kb", "fake", configs_per_algorithm=2, components=comp, window_jobs=100)
    ev = KnowledgeBase(tmp_path / "kb").evaluations().set_index("task_id")
    assert report.evaluations_failed == 3 and set(ev.loc["fake:tiny", "status"]) == {"error"}
    assert ev.loc["fake:tiny", "message"].str.startswith("EvaluationError").all()
    assert set(ev.loc["fake:alpha", "status"]) == {"ok"}


def test_filters_and_shards(tmp_path):
    comp = kb_fakes.components()
    r = build(tmp_path / "a", "fake", configs_per_algorithm=0, components=comp, tasks=["al*", "fake:gamma"])
    assert r.tasks_selected == 2
    r = build(tmp_path / "b", "fake", configs_per_algorithm=0, components=comp, max_rows=80)
    assert r.tasks_selected == 2  # alpha (60) and broken (50)
    r = build(tmp_path / "c", "fake", configs_per_algorithm=0, components=comp, limit_tasks=1)
    assert r.tasks_selected == 1
    shards = [build(tmp_path / f"s{k}", "fake", configs_per_algorithm=0, components=comp,
                    shard=(k, 3)).tasks_selected for k in range(3)]
    assert sum(shards) == 4
    assert parse_shard("1/4") == (1, 4)
    with pytest.raises(ConfigError):
        parse_shard("4/4")


def test_other_protocol_and_unknown_algorithm_are_errors(tmp_path):
    comp = kb_fakes.components(specs=[("alpha", "binary", 60)])
    build(tmp_path / "kb", "fake", configs_per_algorithm=0, components=comp)
    with pytest.raises(KnowledgeBaseError, match="protocol"):
        build(tmp_path / "kb", "fake", components=comp, protocol=kb_fakes.FakeProtocol(1, "pother"))
    with pytest.raises(ConfigError, match="unknown algorithms"):
        build(tmp_path / "kb", "fake", components=comp, algorithms=["nope"])


def _wait_for_parts(kb_path: Path, proc: subprocess.Popen, n: int, timeout: float = 120) -> int:
    """Poll the KB directory until ``n`` evaluation parts exist (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parts = list((kb_path / "evaluations").glob("part-*.parquet"))
        if len(parts) >= n:
            return len(parts)
        if proc.poll() is not None:
            pytest.fail(f"the build ended before writing {n} parts: {proc.stderr.read()}")
        time.sleep(0.02)
    pytest.fail("the build wrote no parts in time")


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the build and its worker processes (its own session), as a crash would."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_sigkill_then_resume_loses_and_duplicates_nothing(tmp_path):
    kb_path = tmp_path / "kb"
    env = {**os.environ, "FAKE_EVAL_DELAY": "0.1"}
    cmd = [sys.executable, str(HERE / "kb_build_script.py"), str(kb_path)]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    _wait_for_parts(kb_path, proc, 3)
    _kill_group(proc)
    partial = _raw_keys(kb_path)
    expected = _expected_keys(kb_fakes.components(), 6)
    assert 0 < len(set(partial)) < len(expected)
    # restart to completion
    subprocess.run(cmd, env={**os.environ, "FAKE_EVAL_DELAY": "0"}, check=True, timeout=120)
    raw = _raw_keys(kb_path)
    assert len(raw) == len(set(raw)), "duplicated evaluations"
    assert set(raw) == expected, "lost evaluations"
    assert set(partial) <= set(raw)


def _write_csvs(folder: Path) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir()
    for name, kind in (("small_binary", "binary"), ("small_regression", "regression")):
        n = 90
        df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                           "c": rng.choice(["x", "y", "z"], size=n)})
        signal_ = df["a"] - df["b"]
        df["target"] = np.where(signal_ > 0, "yes", "no") if kind == "binary" else signal_
        df.to_csv(folder / f"{name}.csv", index=False)


def test_real_cli_build_sigkill_resume(tmp_path):
    """`metaopt kb build` with the real components, killed with SIGKILL mid-way."""
    data = tmp_path / "data"
    _write_csvs(data)
    kb_path = tmp_path / "kb"
    cmd = [sys.executable, "-c", "from metaopt.cli import main; main()", "kb", "build",
           "--source", f"dir:{data}", "--kb", str(kb_path), "-a", "linear,knn", "-n", "3",
           "--batch-size", "2", "--no-compact", "--quiet"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=REPO, start_new_session=True)
    _wait_for_parts(kb_path, proc, 2)
    _kill_group(proc)
    partial = set(_raw_keys(kb_path))
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    raw = _raw_keys(kb_path)
    assert len(raw) == len(set(raw)) == 16 and partial <= set(raw)
    kb = KnowledgeBase(kb_path)
    assert len(kb.tasks(status="ok")) == 2 and len(kb.metafeatures()) == 2
    assert set(kb.evaluations()["status"]) == {"ok"}


@pytest.mark.slow
def test_dask_cluster_build_equals_local_build(tmp_path):
    distributed = pytest.importorskip("distributed")
    from metaopt.evaluation import Protocol

    data = tmp_path / "data"
    _write_csvs(data)
    protocol = Protocol(n_splits=3, max_rows=3000, time_limit=120.0)  # sandboxed, as `kb build`
    kw = dict(algorithms=["linear", "hgb"], configs_per_algorithm=2, protocol=protocol)
    build(tmp_path / "local", f"dir:{data}", n_jobs=1, **kw)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        build(tmp_path / "dask", f"dir:{data}", scheduler=cluster.scheduler_address, **kw)
    local = KnowledgeBase(tmp_path / "local").evaluations()
    remote = KnowledgeBase(tmp_path / "dask").evaluations()
    assert len(local) == 12
    assert set(local[KEY].itertuples(index=False, name=None)) == set(remote[KEY].itertuples(index=False, name=None))
    merged = local.merge(remote, on=KEY)
    np.testing.assert_allclose(merged["score_x"], merged["score_y"])


@pytest.mark.parametrize("mode", ["rich", "log"])
def test_progress_modes(tmp_path, capsys, mode):
    comp = kb_fakes.components()
    report = build(tmp_path / "kb", "fake", configs_per_algorithm=2, components=comp, progress=mode)
    assert report.evaluations_run > 0
    if mode == "log":
        err = capsys.readouterr().err
        assert "[kb build] tasks 4/4" in err and "eta" in err


def test_report_says_why_no_task_loaded(tmp_path):
    comp = kb_fakes.components()
    report = build(tmp_path / "kb", "fake", configs_per_algorithm=1, components=comp)
    assert report.tasks_loaded == 3 and report.first_failure.startswith("fake:broken: ")
    only_broken = build(tmp_path / "kb2", "fake", configs_per_algorithm=1, components=comp,
                        tasks=["fake:broken"])
    assert only_broken.tasks_selected == 1 and only_broken.tasks_loaded == 0
    assert "constant" in only_broken.first_failure
    again = build(tmp_path / "kb2", "fake", configs_per_algorithm=1, components=comp,
                  tasks=["fake:broken"])
    assert again.tasks_loaded == 0 and "--retry-failed" in again.first_failure


def test_missing_dask_stops_the_build_and_is_not_recorded(tmp_path, monkeypatch):
    from metaopt import MissingDependencyError

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "metaopt\[dask\]"'):
        build(tmp_path / "kb", "fake", components=kb_fakes.components(), scheduler="tcp://x:1")
    assert not (tmp_path / "kb").exists()

    comp = kb_fakes.components()

    def no_dask(*args, **kwargs):
        raise MissingDependencyError("backend='dask' needs 'distributed'", "pip install ...")

    comp.evaluate_many = no_dask
    with pytest.raises(MissingDependencyError):
        build(tmp_path / "kb2", "fake", configs_per_algorithm=1, components=comp)
    ev = KnowledgeBase(tmp_path / "kb2").evaluations()
    assert set(ev["status"]) <= {"skipped"}  # no error rows that a resumed build would keep
