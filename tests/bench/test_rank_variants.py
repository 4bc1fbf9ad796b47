"""harness._rank: ranking variants on the benchmark's folds, cached per-fold Recommenders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness._rank import (
    FoldRecommenders,
    RankVariant,
    default_variants,
    sigma_variants,
    variant_table,
)
from metaopt.bench import BaselineMethod, MetaoptMethod, leave_dataset_out_benchmark
from metaopt.learn import GreedyPortfolio


@pytest.fixture(scope="module")
def result(bench_kb, tmp_path_factory):
    work = tmp_path_factory.mktemp("rank_variants")
    variants = default_variants()
    keep = ["shipped", "previous", "uniform", "sharp×2", "smooth 1", "knn 5 1", "family P greedy",
            "family E interleave", "blend 0.5", "surrogate family"]
    folds = FoldRecommenders(work)
    record: dict = {}
    methods = [RankVariant(k, variants[k], folds, record=record if k == "shipped" else None,
                           with_sigma=k == "shipped") for k in keep]
    methods += [MetaoptMethod(), BaselineMethod("portfolio", GreedyPortfolio)]
    res = leave_dataset_out_benchmark(bench_kb.kb, folds=3, methods=methods)
    return res, record, work


def test_shipped_is_the_benchmark_s_metaopt_and_folds_are_fitted_once(result) -> None:
    res, record, work = result
    wide = res.rows.pivot(index="task_id", columns="method", values="regret_1")
    np.testing.assert_allclose(wide["shipped"], wide["metaopt"])
    np.testing.assert_allclose(res.rows.pivot(index="task_id", columns="method", values="regret_k")["shipped"],
                               res.rows.pivot(index="task_id", columns="method", values="regret_k")["metaopt"])
    assert len([p for p in work.iterdir() if (p / "manifest.json").is_file()]) == 3  # one per fold
    assert set(record) == set(res.rows["task_id"])


def test_uniform_top1_is_the_portfolio_and_regrets_are_valid(result) -> None:
    res, _, _ = result
    wide = res.rows.pivot(index="task_id", columns="method", values="regret_1")
    np.testing.assert_allclose(wide["uniform"], wide["portfolio"])
    assert res.rows["regret_1"].between(0, 1).all() and (res.rows["regret_k"] <= res.rows["regret_1"] + 1e-12).all()
    table = variant_table(res)
    assert table.loc["portfolio", "wins_vs_portfolio"] == 0.5
    assert table.loc["previous", "diff_vs_previous"] == 0.0


def test_sigma_widening_is_fitted_on_other_blocks_only() -> None:
    rng = np.random.default_rng(0)
    n = 400
    task = np.repeat([f"t{i}" for i in range(40)], 10)
    r = {f"t{i}": (3.0 if i % 3 == 0 else 0.0) for i in range(40)}
    scale = np.array([4.0 if r[t] > 1 else 1.0 for t in task])
    true = rng.normal(0, 0.05 * scale)
    cal = pd.DataFrame({"task_id": task, "true": true, "mean": np.zeros(n), "std": np.full(n, 0.05)})
    fold_of = {f"t{i}": f"b{i % 2}" for i in range(40)}
    cover, fits = sigma_variants(cal, r, fold_of)
    got = cover.set_index(["variant", "group"])["coverage_1sd"]
    assert got["raw", "flagged"] < 0.4  # σ four times too narrow on the novel tasks
    assert abs(got["widen (inner)", "flagged"] - 0.683) < 0.12
    assert abs(got["widen (inner)", "unflagged"] - 0.683) < 0.12
    assert set(fits["held_out"]) == {"b0", "b1"} and (fits["b"] > 0).all()
