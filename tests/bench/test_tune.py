"""Leave-dataset-out tuning benchmark on the synthetic KB (tiny settings, fixed seeds)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness import (
    TuneTask,
    TuningResult,
    default_tuning_methods,
    leave_dataset_out_tuning,
)
from harness._tune import _source_trials
from harness._tune_methods import (
    CmaEsSourceMethod,
    RandomMethod,
    TPEMethod,
    _decode_flat,
    encode_flat,
    fixed_params,
    flat_space,
    run_study,
)
from metaopt.kb import KnowledgeBase
from metaopt.learn import PoolTable
from metaopt.spaces import get_space

TINY_OPTIMIZER = {"hidden_size": 8, "horizon": 4, "iterations": 2, "tasks_per_batch": 4, "rollouts": 2,
                  "seed": 0}
TINY_SURROGATE = {"n_members": 2, "max_iter": 30, "min_samples_leaf": 5}
GROUPS = {f"bin{i:02d}": f"g{i // 3}" for i in range(12)} | {"reg00": "r", "reg01": "r"}


def _regrouped(kb: KnowledgeBase, path: Path) -> KnowledgeBase:
    """A copy of the synthetic KB whose tasks share base-dataset groups (3 per group)."""
    new = KnowledgeBase.create(path, mf_version=kb.manifest["mf_version"],
                               protocol_id=kb.manifest["protocol_id"])
    tasks = kb.tasks()
    tasks["group"] = tasks["task_id"].map(GROUPS)
    new.append("tasks", tasks)
    mf = kb.metafeatures(long=True)
    new.add_metafeatures([(t, g["mf_version"].iloc[0], dict(zip(g["feature"], g["value"], strict=True)))
                          for t, g in mf.groupby("task_id")])
    new.append("evaluations", kb.evaluations())
    return KnowledgeBase.open(path)


@pytest.fixture(scope="module")
def kb(bench_kb, tmp_path_factory) -> KnowledgeBase:
    return _regrouped(bench_kb.kb, tmp_path_factory.mktemp("tune") / "kb")


@pytest.fixture(scope="module")
def pool(kb) -> PoolTable:
    return PoolTable(kb)


def _task(pool: PoolTable, tid: str, **kw) -> TuneTask:
    return TuneTask(task_id=tid, kind=pool.kind(tid), group=GROUPS[tid], fold=0, shape=pool.shape(tid),
                    algorithms=pool.algorithms(tid), metafeatures=pool.metafeatures(tid), pool=pool, **kw)


def _best(pool: PoolTable, tid: str) -> tuple[str, dict]:
    alg, params, _ = max(pool.pool(tid), key=lambda r: r[2])
    return alg, params


def _with_source(pool: PoolTable, tid: str) -> TuneTask:
    task = _task(pool, tid)
    z = {t: np.zeros(1) + i for i, t in enumerate(pool.task_ids)}
    train = [t for t in pool.task_ids if t != tid]
    names, unit, values, _ = _source_trials(pool, tid, train, z, task.algorithms, task.shape)
    task.source = (names, unit, values)
    return task


def _check_curve(regret: np.ndarray, n: int) -> None:
    regret = np.asarray(regret, dtype=float)
    assert regret.shape == (n,)
    assert np.all((regret >= 0) & (regret <= 1))
    assert np.all(np.diff(regret) <= 1e-12)


# -- one study ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", [RandomMethod(), TPEMethod(), CmaEsSourceMethod()], ids=lambda m: m.name)
def test_curves_monotone_in_unit_interval(pool, method) -> None:
    task = _with_source(pool, "bin03")
    run = run_study(method, task, seed=0, n_trials=14)
    _check_curve(run.regret, 14)
    assert np.all(run.seconds >= 0)
    assert len(run.configs) == 14
    assert {a for a, _ in run.configs} <= set(task.algorithms)


@pytest.mark.parametrize("method", [RandomMethod(), TPEMethod(), CmaEsSourceMethod()], ids=lambda m: m.name)
def test_study_is_deterministic(pool, method) -> None:
    task = _with_source(pool, "bin08")
    a = run_study(method, task, seed=3, n_trials=12)
    b = run_study(method, task, seed=3, n_trials=12)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.configs == b.configs


def test_regret_zero_when_best_found_and_warm_start_comes_first(pool) -> None:
    tid = "bin02"
    best = _best(pool, tid)
    worst = min(pool.pool(tid), key=lambda r: r[2])[:2]
    task = _task(pool, tid, warm=[best, worst])
    run = run_study(TPEMethod(warm_start=True), task, seed=0, n_trials=6)
    assert run.configs[0][0] == best[0]
    assert run.configs[0][1] == fixed_config(*best, task)
    assert run.regret[0] == 0.0 and np.all(run.regret == 0.0)
    # the unwarmed study does not start there
    cold = run_study(TPEMethod(), task, seed=0, n_trials=1)
    assert cold.regret[0] > 0.0


def fixed_config(alg: str, params: dict, task: TuneTask) -> dict:
    fixed = fixed_params(alg, params, task.shape)
    return {k.split("__", 1)[1]: v for k, v in fixed.items() if k != "algorithm"}


def test_fixed_params_clip_into_the_task_ranges(pool) -> None:
    shape = pool.shape("bin00")
    knn = {p.name: p for p in get_space("knn").params(shape)}
    fixed = fixed_params("knn", {"n_neighbors": 10**6, "weights": "nonsense", "unknown": 1}, shape)
    assert fixed["algorithm"] == "knn"
    assert fixed["knn__n_neighbors"] == knn["n_neighbors"].high
    assert "knn__weights" not in fixed and "knn__unknown" not in fixed


def test_flat_space_round_trip(pool) -> None:
    import optuna

    tid = "bin05"
    shape, algs = pool.shape(tid), pool.algorithms(tid)
    names = flat_space(algs, shape)
    assert names[0] == "u_algorithm" and len(set(names)) == len(names)
    rng = np.random.default_rng(0)
    checked = 0
    for alg, params, _ in pool.pool(tid):
        space = get_space(alg)
        try:
            if space.validate(params, shape) != params:
                continue
        except Exception:
            continue
        x = encode_flat(alg, params, algs, shape, rng)
        assert x is not None and np.all((x >= 0) & (x <= 1))
        got_alg, got = _decode_flat(optuna.trial.FixedTrial(dict(zip(names, x, strict=True))), algs, shape)
        assert got_alg == alg
        assert got.keys() == params.keys()
        for k, v in params.items():
            assert got[k] == pytest.approx(v, rel=1e-6) if isinstance(v, float) else got[k] == v
        checked += 1
    assert checked >= 10
    assert encode_flat("svm", {}, algs, shape, rng) is None  # not offered on this task


def test_source_trials_come_from_the_nearest_tasks_of_the_same_kind(pool) -> None:
    tid = "bin00"
    shape, algs = pool.shape(tid), pool.algorithms(tid)
    ids = pool.task_ids
    z = {t: np.array([float(i)]) for i, t in enumerate(ids)}  # distance = index distance
    train = [t for t in ids if t != tid]
    names, unit, values, near = _source_trials(pool, tid, train, z, algs, shape)
    assert near == ["bin01", "bin02", "bin03"]
    assert unit.shape == (sum(len(pool.pool(t)) for t in near), len(names))
    assert np.all((unit >= 0) & (unit <= 1)) and values.shape == (unit.shape[0],)
    reg = _source_trials(pool, "reg00", [t for t in ids if t != "reg00"], z, algs, shape)[3]
    assert reg == ["reg01"]  # only one training task of its kind


# -- result summaries from known curves ------------------------------------------------


def _fake_result() -> TuningResult:
    curves = {
        "random": lambda t: 0.5 / t,  # 100 trials
        "tpe": lambda t: 0.4 / t,
        "meta": lambda t: 0.3 / t**2,
        "meta_warm5": lambda t: 0.1 / t,
    }
    rows = []
    for m, f in curves.items():
        n = 100 if m == "random" else 50
        for task in ("a", "b"):
            for seed in (0, 1):
                scale = 1.0 if task == "a" else 2.0
                reg = np.array([min(1.0, scale * f(t)) for t in range(1, n + 1)])
                rows.append({"method": m, "task_id": task, "kind": "binary", "group": task, "fold": 0,
                             "seed": seed, "n_trials": n, "regret": reg, "seconds": np.full(n, 0.001),
                             "first_algorithm": "hgb", "first_params": {}})
    top1 = pd.DataFrame([{"task_id": "a", "kind": "binary", "fold": 0, "algorithm": "hgb", "params": {},
                          "regret": 0.1}, {"task_id": "b", "kind": "binary", "fold": 0, "algorithm": "hgb",
                                            "params": {}, "regret": 0.0}])
    return TuningResult(pd.DataFrame(rows), top1, 50, 100, {"n_tasks": 2})


def test_targets_are_computed_from_the_curves() -> None:
    res = _fake_result()
    mean = {m: res.mean_curve(m) for m in res.methods}
    t1, t2, t3 = res.targets()
    assert t1["measured"] == pytest.approx(mean["meta"][10]) == pytest.approx(1.5 * 0.3 / 100)
    assert t1["threshold"] == pytest.approx(mean["tpe"][50])
    assert t1["met"] is (t1["measured"] <= t1["threshold"])
    level = mean["random"][100]
    first = int(np.flatnonzero(mean["meta"].to_numpy() <= level)[0]) + 1
    assert t2["measured"] == first == res.trials_to_reach("meta", level)
    assert first == 8 and t2["met"] is True  # 0.45 / t² <= random@100 = 0.0075 from t = 8
    # task a: regret@20 = 0.005 < 0.1 (won); task b: top-1 0 and tune 0.01 (lost)
    assert t3["measured"] == pytest.approx(0.5) and t3["met"] is False


def test_regret_tables_ranks_and_seconds() -> None:
    res = _fake_result()
    table = res.regret_table("mean")
    assert table.loc["meta", "@10"] == pytest.approx(1.5 * 0.003)
    assert np.isnan(table.loc["tpe", "@100"]) and table.loc["random", "@100"] == pytest.approx(1.5 * 0.005)
    ranks = res.ranks()
    assert list(ranks.index) == list(range(1, 51))
    assert (ranks.loc[20] == [4.0, 3.0, 1.0, 2.0]).all()
    np.testing.assert_allclose(ranks.sum(axis=1), 10.0)
    sec = res.seconds()
    assert sec.loc["random", "suggestions"] == 400 and sec.loc["tpe", "mean_s"] == pytest.approx(0.001)


# -- the whole benchmark ------------------------------------------------------------------


@pytest.fixture(scope="module")
def light(kb) -> TuningResult:
    methods = [m for m in default_tuning_methods() if m.name in ("random", "tpe_warm5", "cmaes_source")]
    return leave_dataset_out_tuning(kb, folds=2, seeds=2, trials=8, random_trials=10, methods=methods,
                                    surrogate_params=TINY_SURROGATE)


def test_folds_never_share_a_group(light) -> None:
    plan = light.info["plan"]
    assert len(plan) == 2
    held = []
    for fold in plan:
        train_groups = {GROUPS[t] for t in fold["train"]}
        assert not train_groups & {GROUPS[t] for t in fold["test"]}
        held += fold["test"]
    assert sorted(held) == sorted(GROUPS)
    for row in light.runs.itertuples():
        assert row.task_id in plan[row.fold]["test"]
    # WS-CMA-ES's source tasks are training tasks of the held-out task's fold
    fold_of = {t: f["fold"] for f in plan for t in f["test"]}
    for t, near in light.info["cmaes_source_tasks"].items():
        train = set(plan[fold_of[t]]["train"])
        assert near and set(near) <= train
        same = {x for x in train if x[:3] == t[:3]}  # same kind (bin / reg); else any kind
        assert set(near) <= same if same else True
        assert len(near) == min(3, len(same) if same else len(train))


def test_light_run_curves_and_warm_start(light, pool) -> None:
    runs = light.runs
    assert set(runs["method"]) == {"random", "tpe_warm5", "cmaes_source"}
    assert len(runs) == 3 * 14 * 2
    for row in runs.itertuples():
        _check_curve(row.regret, 10 if row.method == "random" else 8)
    top1 = light.top1.set_index("task_id")
    # both regression tasks share a group, so their fold has no regression training task
    assert set(top1.index) == {t for t in GROUPS if t.startswith("bin")}
    assert any("no warm start for reg00" in n for n in light.info["notes"])
    warm = runs[(runs["method"] == "tpe_warm5") & runs["task_id"].isin(top1.index)]
    for row in warm.itertuples():
        t = top1.loc[row.task_id]
        assert row.first_algorithm == t["algorithm"]
        assert row.first_params == fixed_config(t["algorithm"], t["params"], _task(pool, row.task_id))
        assert row.regret[0] == pytest.approx(t["regret"])
    # random search's curve at trial t never beats its own later trials
    assert light.regret_table("mean").loc["random"].is_monotonic_decreasing


def test_report_json_and_plots(light, tmp_path) -> None:
    text = light.to_markdown(tmp_path / "tune_ldo.md")
    assert "## Targets" in text and "tpe_warm5" in text and "Milliseconds per suggestion" in text
    assert (tmp_path / "tune_ldo.md").read_text(encoding="utf-8") == text
    light.to_json(tmp_path / "tune_ldo.json")
    data = json.loads((tmp_path / "tune_ldo.json").read_text(encoding="utf-8"))
    assert [t["met"] for t in data["targets"]] == [None, None, None]  # no meta methods ran
    assert len(data["runs"]) == len(light.runs) and data["hpob_anchors"]["random_regret_100"] == 0.054
    paths = light.plot(tmp_path)
    assert [p.name for p in paths] == ["tune_ldo_regret.png", "tune_ldo_rank.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


@pytest.fixture(scope="module")
def full(kb) -> TuningResult:
    return leave_dataset_out_tuning(kb, folds=2, seeds=2, trials=8, random_trials=10,
                                    optimizer_params=TINY_OPTIMIZER, surrogate_params=TINY_SURROGATE,
                                    max_tasks=6)


@pytest.mark.slow
def test_all_methods_with_the_learned_optimizer(full) -> None:
    runs = full.runs
    names = ["random", "tpe", "tpe_warm5", "cmaes_source", "meta", "meta_warm5", "meta_rnn"]
    assert full.methods == names
    assert runs["task_id"].nunique() == 6 and len(runs) == 7 * 6 * 2
    for row in runs.itertuples():
        _check_curve(row.regret, 10 if row.method == "random" else 8)
    top1 = full.top1.set_index("task_id")
    for row in runs[(runs["method"] == "meta_warm5") & runs["task_id"].isin(top1.index)].itertuples():
        assert row.first_algorithm == top1.loc[row.task_id, "algorithm"]
        assert row.regret[0] == pytest.approx(top1.loc[row.task_id, "regret"])
    t1, t2, t3 = full.targets()
    assert t1["measured"] == pytest.approx(full.mean_curve("meta")[8])
    assert t1["threshold"] == pytest.approx(full.mean_curve("tpe")[8])
    assert t2["measured"] == full.trials_to_reach("meta", full.mean_curve("random")[10])
    assert t3["measured"] == pytest.approx(full.tune_vs_suggest(20)[0])
    assert all(t["met"] in (True, False) for t in (t1, t3))
    assert not any("not available" in n for n in full.info["notes"])


@pytest.mark.slow
def test_parallel_equals_sequential(kb, light) -> None:
    methods = [m for m in default_tuning_methods() if m.name in ("random", "tpe_warm5", "cmaes_source")]
    par = leave_dataset_out_tuning(kb, folds=2, seeds=2, trials=8, random_trials=10, methods=methods,
                                   surrogate_params=TINY_SURROGATE, n_jobs=2)
    for a, b in zip(light.runs.itertuples(), par.runs.itertuples(), strict=True):
        assert (a.method, a.task_id, a.seed) == (b.method, b.task_id, b.seed)
        np.testing.assert_array_equal(a.regret, b.regret)


@pytest.mark.slow
def test_bench_script_writes_the_report(kb, tmp_path, capsys) -> None:
    path = Path(__file__).parents[2] / "benchmarks" / "bench_tune.py"
    spec = importlib.util.spec_from_file_location("bench_tune", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(["--kb", str(kb.path), "--folds", "2", "--seeds", "1", "--trials", "5", "--random-trials", "6",
              "--max-tasks", "3", "-j", "1", "--iterations", "1", "--methods", "random,tpe,meta",
              "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "## Targets" in out and "meta" in out
    for name in ("tune_ldo.md", "tune_ldo.json", "tune_ldo_regret.png", "tune_ldo_rank.png"):
        assert (tmp_path / name).exists()


class _Missing(RandomMethod):
    def unavailable(self) -> str | None:
        return "needs a package that is not installed"


def test_unavailable_method_is_left_out_with_a_note(kb) -> None:
    res = leave_dataset_out_tuning(kb, folds=2, seeds=1, trials=3, random_trials=3,
                                   methods=[RandomMethod(), _Missing(name="missing")], max_tasks=2)
    assert res.methods == ["random"] and res.runs["task_id"].nunique() == 2
    assert "missing left out: needs a package that is not installed" in res.info["notes"]
