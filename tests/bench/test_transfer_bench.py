"""transfer_stage_curves: the transfer stage's variants, leave-dataset-out, on the pool."""

from __future__ import annotations

import numpy as np
import pytest

from harness import TRANSFER_VARIANTS, transfer_stage_curves, transfer_summary


@pytest.fixture(scope="module")
def curves(bench_kb):
    return transfer_stage_curves(bench_kb.kb, folds=3, trials=6)


def test_every_variant_runs_every_held_out_task(curves, bench_kb) -> None:
    n_tasks = bench_kb.kb.tasks()["task_id"].nunique()
    assert set(curves["variant"]) == set(TRANSFER_VARIANTS)
    assert (curves.groupby("variant").size() == n_tasks).all()
    for r in curves["regret"]:
        assert r.shape == (6,)
        assert np.all(np.diff(r) <= 1e-12) and r.min() >= 0 and r.max() <= 1


def test_oracle_and_prior_beat_the_static_portfolio_on_the_planted_sides(curves) -> None:
    by_kind = transfer_summary(curves, checkpoints=(1, 6), by_kind=True)
    first = by_kind[by_kind["kind"] == "binary"].set_index("variant")
    # uniform weights start with random forest (good on both sides, best on neither);
    # the learned prior, like the oracle, starts with the held-out task's side's best
    assert first.loc["static", "@1"] > 0.2
    assert first.loc["rank", "@1"] == first.loc["static", "@1"]  # nothing observed yet
    assert first.loc["prior", "@1"] == pytest.approx(0.0, abs=0.01)
    assert first.loc["oracle", "@1"] == pytest.approx(0.0, abs=0.01)
    assert (first["@6"] <= first["@1"]).all()


def test_summary_median_and_checkpoints(curves) -> None:
    med = transfer_summary(curves, checkpoints=(1, 3, 99), stat="median")
    assert list(med.columns) == ["variant", "tasks", "@1", "@3"]


def test_similarity_quality_correlates_on_the_planted_sides(bench_kb) -> None:
    from harness import similarity_quality

    q = similarity_quality(bench_kb.kb, folds=4)
    assert set(q["kind"]) == {"binary"}  # 2 regression tasks: too few for a model
    assert q["learned"].between(-1, 1).all()
    assert q["learned"].mean() > 0.5  # predicted discordance follows the true one
