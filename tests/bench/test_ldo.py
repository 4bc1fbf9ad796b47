"""Leave-dataset-out benchmark on the synthetic KB with planted structure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from metaopt.bench import (
    BaselineMethod,
    BenchmarkError,
    BenchMethod,
    HeldOutTask,
    MetaoptMethod,
    ldo_folds,
    leave_dataset_out_benchmark,
)
from metaopt.learn import LibraryDefaults, config_table, score_matrix


class _ByTruth(BenchMethod):
    """Test-only method that reads the held-out task's true scores (best or worst first)."""

    def __init__(self, kb, name: str, best: bool) -> None:
        self.name = name
        ev = kb.evaluations()
        kinds = kb.tasks().set_index("task_id")["kind"]
        self.truth = score_matrix(ev, task_kinds=kinds)
        self.params = {k: p for k, p in config_table(ev)["params"].items()}
        self.best = best

    def fit(self, kb, data) -> None:
        pass

    def recommend(self, task: HeldOutTask, k: int):
        row = self.truth.loc[task.task_id].dropna().sort_values(ascending=not self.best, kind="stable")
        return [(a, dict(self.params[(a, c)])) for a, c in row.index[:k]]


@pytest.fixture(scope="module")
def result(bench_kb):
    kb = bench_kb.kb
    methods = [
        MetaoptMethod(n_members=2, surrogate_params={"max_iter": 30, "min_samples_leaf": 5}),
        BaselineMethod("library_defaults", LibraryDefaults),
        _ByTruth(kb, "oracle", best=True),
        _ByTruth(kb, "worst", best=False),
    ]
    return leave_dataset_out_benchmark(kb, folds=5, seed=0, methods=methods, top=3)


def test_folds_never_split_a_group() -> None:
    tasks = pd.DataFrame({
        "task_id": [f"t{i}" for i in range(12)],
        "group": ["yeast"] * 4 + ["iris"] * 3 + ["a", "b", "c", None, ""],
    })
    folds = ldo_folds(tasks, folds=5, seed=3)
    assert len(folds) == 5
    group = dict(zip(tasks["task_id"], tasks["group"].fillna(""), strict=True))
    seen = []
    for train, test in folds:
        assert not set(train) & set(test)
        for g in ("yeast", "iris"):
            sides = {t in train for t in tasks["task_id"] if group[t] == g}
            assert len(sides) == 1
        seen += test
    assert sorted(seen) == sorted(tasks["task_id"])  # every task held out exactly once


def test_folds_need_two_groups() -> None:
    with pytest.raises(BenchmarkError, match="at least 2 groups"):
        ldo_folds(pd.DataFrame({"task_id": ["a", "b"], "group": ["g", "g"]}))


def test_regrets_in_unit_interval_and_oracle_worst(result) -> None:
    rows = result.rows
    assert set(rows["method"]) == {"metaopt", "library_defaults", "oracle", "worst"}
    assert rows["task_id"].nunique() == 14
    # a fold may hold every task of a kind out: metaopt then has no pool (NaN, noted)
    missing = rows[rows["regret_1"].isna()]
    assert set(missing["method"]) <= {"metaopt"} and set(missing["kind"]) <= {"regression"}
    assert all(any(t in n for n in result.info["notes"]) for t in missing["task_id"])
    for col in ("regret_1", "regret_k"):
        assert rows[col].dropna().between(0.0, 1.0).all()
    ok = rows.dropna(subset=["regret_1"])
    assert (ok["regret_k"] <= ok["regret_1"] + 1e-12).all()
    oracle = rows[rows["method"] == "oracle"]
    worst = rows[rows["method"] == "worst"]
    np.testing.assert_allclose(oracle["regret_1"], 0.0, atol=1e-12)
    np.testing.assert_allclose(worst["regret_1"], 1.0, atol=1e-12)
    # every held-out task sits in exactly one fold
    assert rows.groupby(["method", "task_id"]).size().eq(1).all()


def test_metaopt_learns_the_planted_structure(result) -> None:
    summary = result.summary()
    # the planted best algorithm flips with the side: a good surrogate beats defaults
    assert summary.loc["metaopt", "mean_regret_1"] < summary.loc["library_defaults", "mean_regret_1"]
    ranks = result.ranks()
    assert ranks["oracle"].max() <= ranks.min(axis=1).max() + 2  # sanity: ranks computed
    assert summary.loc["oracle", "avg_rank_1"] <= summary.loc["worst", "avg_rank_1"]


def test_summary_wilcoxon_coverage(result) -> None:
    summary = result.summary()
    assert {"mean_regret_1", "median_regret_1", "mean_regret_3", "avg_rank_1"} <= set(summary.columns)
    wins = result.win_rates()
    assert wins.loc["oracle", "worst"] == 1.0
    assert wins.loc["worst", "oracle"] == 0.0
    w = result.wilcoxon("metaopt")
    assert w["baseline"] in {"library_defaults", "oracle", "worst"}
    assert np.isnan(w["p"]) or 0.0 <= w["p"] <= 1.0
    cov = result.coverage(1.0)
    assert set(cov) == {"metaopt"}
    assert 0.0 <= cov["metaopt"] <= 1.0
    curve = result.coverage_curve()
    assert curve["metaopt"].is_monotonic_increasing


def test_markdown_json_and_plots(result, tmp_path) -> None:
    md = result.to_markdown(tmp_path / "r.md")
    assert "## Summary" in md and "Wilcoxon" in md and (tmp_path / "r.md").exists()
    doc = json.loads(result.to_json(tmp_path / "r.json"))
    assert doc["info"]["n_tasks"] == 14
    assert len(doc["rows"]) == 4 * 14
    assert json.loads((tmp_path / "r.json").read_text())["top"] == 3
    pytest.importorskip("matplotlib")
    paths = result.plot(tmp_path / "png")
    assert len(paths) == 3 and all(p.stat().st_size > 0 for p in paths)


def test_cli_benchmark(bench_kb, tmp_path) -> None:
    from metaopt.cli import app

    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["benchmark", "--kb", str(bench_kb.kb.path), "--folds", "3",
                                   "--no-flaml", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "nearest_datasets" in res.output
    assert (out / "suggest_ldo.md").exists() and (out / "suggest_ldo.json").exists()


def test_cli_benchmark_error_is_one_line(tmp_path) -> None:
    from metaopt.cli import app
    from metaopt.kb import KnowledgeBase
    from metaopt.metafeatures import VERSION

    KnowledgeBase.create(tmp_path / "kb", mf_version=VERSION, protocol_id="p")
    res = CliRunner().invoke(app, ["benchmark", "--kb", str(tmp_path / "kb"), "--no-flaml"])
    assert res.exit_code == 2
    assert "metaopt: error:" in res.output


@pytest.mark.parametrize("held_out", ["test:bin03", "test:reg11"])
def test_benchmark_ranks_a_task_as_suggest_does(tuning_root, held_out) -> None:
    """The benchmark measures what ships: its ranking of a held-out task is suggest's."""
    import warnings

    from metaopt import suggest
    from metaopt.bench._methods import metafeatures_of
    from metaopt.kb import KnowledgeBase
    from metaopt.learn import training_data
    from metaopt.learn._transfer import fit_to_shape
    from metaopt.spaces import DataShape, config_id
    from metaopt.tasks import load_task

    kb = KnowledgeBase.open(tuning_root / "kb")
    tasks = kb.tasks().set_index("task_id")
    train = [t for t in tasks.index if t != held_out]
    method = MetaoptMethod(n_members=2, surrogate_params={"max_iter": 30, "min_samples_leaf": 5})
    method.fit(kb, training_data(kb, train))
    row = tasks.loc[held_out]
    held = HeldOutTask(held_out, str(row["kind"]), str(row["group"]),
                       metafeatures_of(kb.metafeatures(), held_out))
    bench = method.recommend(held, 4)
    task = load_task(tuning_root / "data" / f"{row['name']}.csv")
    shape = DataShape.of(task)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the tiny KB knows three algorithms
        shipped = suggest(task, top=4, models=method.recommender_)
    assert len(bench) == 4
    assert [config_id(a, fit_to_shape(a, p, shape)) for a, p in bench] == [s.config_id for s in shipped]


def test_ood_report_splits_every_method_by_metaopts_flag() -> None:
    from metaopt.bench import BenchmarkResult

    ids = ["a", "b", "c", "d"]
    flag = {"a": True, "b": False, "c": False, "d": True}
    reg = {"metaopt": [0.4, 0.0, 0.1, 0.2], "portfolio": [0.0, 0.3, 0.3, 0.0]}
    rows = pd.DataFrame([
        {"method": m, "task_id": t, "kind": "binary", "group": t, "fold": 0, "regret_1": reg[m][i],
         "regret_k": reg[m][i] / 2, "ood": flag[t] if m == "metaopt" else None}
        for m in reg for i, t in enumerate(ids)
    ])
    # σ covers every pair of the unflagged tasks and half of the flagged ones
    cal = pd.DataFrame([
        {"method": "metaopt", "task_id": t, "algorithm": "rf", "config_id": str(j), "true": 0.5,
         "mean": 0.5 + (0.2 if flag[t] and j == 0 else 0.0), "std": 0.1}
        for t in ids for j in range(2)
    ])
    rep = BenchmarkResult(rows, cal, 5, {}).ood_report()
    assert rep.loc[("flagged", "metaopt"), "n_tasks"] == 2
    assert rep.loc[("flagged", "metaopt"), "mean_regret_1"] == pytest.approx(0.3)
    assert rep.loc[("unflagged", "metaopt"), "mean_regret_1"] == pytest.approx(0.05)
    assert rep.loc[("flagged", "portfolio"), "mean_regret_1"] == pytest.approx(0.0)  # metaopt's split
    assert rep.loc[("unflagged", "portfolio"), "mean_regret_1"] == pytest.approx(0.3)
    assert rep.loc[("flagged", "metaopt"), "coverage_1sd"] == pytest.approx(0.5)
    assert rep.loc[("unflagged", "metaopt"), "coverage_1sd"] == pytest.approx(1.0)
    assert np.isnan(rep.loc[("flagged", "portfolio"), "coverage_1sd"])
    md = BenchmarkResult(rows, cal, 5, {}).to_markdown()
    assert "## Out-of-distribution flag" in md and "### flagged" in md


def test_metaopt_rows_carry_the_suggest_flag(result) -> None:
    rows = result.rows
    ok = rows[(rows["method"] == "metaopt") & rows["regret_1"].notna()]
    assert ok["ood"].isin([True, False]).all()
    assert rows.loc[rows["method"] == "library_defaults", "ood"].isna().all()
    rep = result.ood_report()
    n = rep.xs("metaopt", level="method")["n_tasks"].sum()
    assert n == len(ok)
