"""The real-tuning benchmark's judging on synthetic studies: incumbents, normalization, summaries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness._tune_methods import RandomMethod, TPEMethod, TuneTask, fixed_params, run_study
from harness._tune_real import (
    RealSettings,
    append_jsonl,
    incumbent_regret,
    read_jsonl,
    study_key,
    summarize,
    task_key,
    unique_configs,
)
from metaopt.spaces import DataShape


def test_incumbent_is_the_best_by_cv_and_is_judged_by_its_test_score() -> None:
    # trial 2 wins CV but generalizes worse than trial 1; trial 3 is better on both
    cv = [0.5, 0.9, None, 0.95]
    test = [0.8, 0.6, None, 1.0]
    r = incumbent_regret(cv, test, lo=0.6, hi=1.0)
    np.testing.assert_allclose(r, [0.5, 1.0, 1.0, 0.0])


def test_incumbent_before_any_success_ties_and_missing_test_scores() -> None:
    r = incumbent_regret([None, float("nan"), 0.7, 0.7], [None, None, 0.9, 1.0], lo=0.5, hi=1.0)
    np.testing.assert_allclose(r, [1.0, 1.0, 0.2, 0.2])  # the first of equal CV scores stays
    # a CV success whose refit failed is judged as the task's worst
    np.testing.assert_allclose(incumbent_regret([0.7], [None], lo=0.5, hi=1.0), [1.0])
    # a task where every config scored the same on the test part: no regret
    np.testing.assert_allclose(incumbent_regret([0.1, 0.2], [0.8, 0.8], lo=0.8, hi=0.8), [0.0, 0.0])


def _study(task: str, method: str, seed: int, cv: list[float | None], test: list[float | None],
           settings: RealSettings, kind: str = "binary") -> dict:
    trials = [{"algorithm": "hgb", "params": {"i": i}, "config_id": f"{task}-{method}-{i}-{c}", "cv": c, "test": t,
               "status": "ok" if c is not None else "error", "eval_s": 1.0, "refit_s": 0.5, "cached": False,
               "suggest_s": 0.01} for i, (c, t) in enumerate(zip(cv, test, strict=True))]
    return {"type": "study", "key": study_key(task, method, seed, settings), "task_id": task, "kind": kind,
            "group": task, "fold": 0, "method": method, "seed": seed, "n_trials": len(trials), "study_s": 3.0,
            "trials": trials}


def test_summarize_normalizes_per_task_over_every_method_and_reports() -> None:
    s = RealSettings(trials=3, noise_configs=1, noise_seeds=2)
    recs = [
        # task a: test scores span 0.5 .. 0.9 over both methods
        _study("a", "tpe", 0, [0.6, 0.7, 0.8], [0.5, 0.7, 0.9], s),
        _study("a", "meta_warm5", 0, [0.9, 0.5, 0.5], [0.8, 0.6, 0.6], s),
        # task b: a failed first trial
        _study("b", "tpe", 0, [None, 0.4, 0.3], [None, 2.0, 3.0], s, kind="regression"),
        _study("b", "meta_warm5", 0, [0.1, 0.2, 0.3], [1.0, 2.0, 3.0], s, kind="regression"),
        # a study of other settings is ignored
        _study("a", "tpe", 1, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], RealSettings(trials=99)),
        {"type": "task", "key": task_key("a", s), "task_id": "a", "kind": "binary", "fold": 0,
         "top1": {"algorithm": "hgb", "params": {}, "config_id": "top", "cv": 0.9, "test": 0.8},
         "noise": [{"config_id": "top", "algorithm": "hgb", "test": 0.8, "cv": {"0": 0.9, "1": 0.86, "2": 0.94}}]},
    ]
    res = summarize(recs, s, methods=["tpe", "meta_warm5"])
    assert res.methods == ["tpe", "meta_warm5"]
    assert len(res.runs) == 4 and res.info["n_tasks"] == 2
    curves = res.curves("tpe")
    np.testing.assert_allclose(curves.loc["a"].to_numpy(), [1.0, 0.5, 0.0])
    np.testing.assert_allclose(curves.loc["b"].to_numpy(), [1.0, 0.5, 0.5])
    np.testing.assert_allclose(res.curves("meta_warm5").loc["a"].to_numpy(), [0.25, 0.25, 0.25])
    table = res.regret_table("mean")
    assert list(table.columns) == ["@1", "@3"]
    assert table.loc["meta_warm5", "@1"] == pytest.approx((0.25 + 1.0) / 2)
    ranks = res.ranks()
    assert ranks.loc[1, "meta_warm5"] == pytest.approx(1.25)  # task a: 1; task b: tie at 1.5
    # metaopt suggest's top-1 judged like an incumbent; the noise floor in regret units
    assert res.top1.set_index("task_id").loc["a", "regret"] == pytest.approx(0.25)
    noise = res.noise_table()
    assert noise.loc["all", "mean_std_norm"] == pytest.approx(np.std([0.9, 0.86, 0.94], ddof=1) / 0.4)
    assert noise.loc["top1", "tasks"] == 1
    # targets need their horizons; the report renders
    assert all(t["met"] is None for t in res.targets())
    text = res.to_markdown()
    assert "Noise floor" in text and "meta_warm5" in text
    data = res.to_dict()
    assert data["mean_regret"] and data["noise_floor"]


def test_paired_comparison_over_common_tasks_with_counts_and_wilcoxon() -> None:
    s = RealSettings(trials=3)
    recs = []
    # six tasks: tpe's test score after 3 trials is always 0.9 (regret 0); meta's 0.8 on four tasks (regret
    # 0.5 there), 0.9 on two; a seventh task only tpe ran is not paired
    for i in range(6):
        worse = i < 4
        recs.append(_study(f"t{i}", "tpe", 0, [0.1, 0.2, 0.3], [0.7, 0.8, 0.9], s))
        recs.append(_study(f"t{i}", "meta", 0, [0.3, 0.3, 0.3], [0.8 if worse else 0.9] * 3, s))
    recs.append(_study("t6", "tpe", 0, [0.1, 0.2, 0.3], [0.7, 0.8, 0.9], s))
    res = summarize(recs, s)
    r = res.paired("meta", 3, "tpe", 3)
    assert r["tasks"] == 6 and (r["lower"], r["equal"], r["higher"]) == (0, 2, 4)
    assert r["diff"] == pytest.approx(4 * 0.5 / 6) and r["se"] > 0
    assert math.isnan(r["p"])  # fewer than five tasks differ: no test
    # at trial 1 meta (regret 0.5 or 0) is ahead of tpe (regret 1) on all six: Wilcoxon's exact p = 2 / 2**6
    r1 = res.paired("meta", 1, "tpe", 1)
    assert r1["lower"] == 6 and r1["p"] == pytest.approx(2 / 64)
    assert res.paired("meta", 9, "tpe", 3)["tasks"] == 0  # beyond the trials run
    table = res.paired_table()  # only the listed pairs whose methods ran and whose horizons fit
    assert list(table.index) == []
    res3 = summarize(recs, RealSettings(trials=3))
    assert "Paired comparisons" in res3.to_markdown()


def test_jsonl_round_trip_nan_as_null_and_a_torn_line(tmp_path) -> None:
    path = tmp_path / "runs.jsonl"
    append_jsonl(path, {"key": "x", "cv": float("nan"), "v": np.float64(0.5), "a": np.arange(2).tolist()})
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"key": "torn"')
    assert read_jsonl(path) == [{"key": "x", "cv": None, "v": 0.5, "a": [0, 1]}]
    assert read_jsonl(tmp_path / "missing.jsonl") == []


def test_unique_configs_counts_the_shared_trials() -> None:
    all7 = ["random", "tpe", "tpe_warm5", "cmaes_source", "meta", "meta_warm5", "meta_rnn"]
    # 7 × 2 × 30 = 420, less TPE's 10 random startup trials per seed, less 3 repeats of the 5 warm starts
    assert unique_configs(all7, 2, 30, 5) == 420 - 20 - 15
    assert unique_configs(["tpe"], 1, 3, 5) == 3


def test_run_study_with_a_real_objective_and_a_warm_start_hook() -> None:
    shape = DataShape(n_rows=500, n_features=5, kind="binary", n_classes=2)
    task = TuneTask(task_id="t", kind="binary", group="t", fold=0, shape=shape, algorithms=["hgb", "linear"],
                    metafeatures={}, pool=None)  # type: ignore[arg-type]
    seen: list[tuple[str, dict]] = []

    def objective(alg: str, params: dict) -> float:
        seen.append((alg, params))
        return float("nan") if len(seen) == 2 else float(len(seen))

    def warm(study) -> int:
        study.enqueue_trial(fixed_params("linear", {}, shape))
        return 1

    run = run_study(TPEMethod(warm_start=True), task, 0, 4, objective=objective, warm_start=warm)
    assert seen[0][0] == "linear" and len(seen) == 4
    assert math.isnan(run.scores[1]) and run.scores[3] == 4.0
    # without the flag the hook is not called
    seen.clear()
    run_study(RandomMethod(), task, 0, 2, objective=objective, warm_start=warm)
    assert len(seen) == 2
