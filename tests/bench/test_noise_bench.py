"""split_fold_curves: regret on a held-out CV fold, next to the task's own ranking."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from harness import NOISE_VARIANTS, noise_table, split_fold_curves

TRIALS = 8


@pytest.fixture(scope="module")
def clean(bench_kb):
    # the synthetic KB's CV folds all equal the score: no evaluation noise
    return split_fold_curves(bench_kb.kb, folds=3, trials=TRIALS, stage_trials=6, n_random=50)


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    synthetic = sys.modules["_learn_synthetic_kb"]  # registered by tests/bench/conftest.py
    plain_row = synthetic._row
    rng = np.random.default_rng(1)

    def noisy_row(task_id, alg, cid, params, metric, score, status):
        row = plain_row(task_id, alg, cid, params, metric, score, status)
        if score is not None and task_id.startswith("bin"):
            folds = score + rng.normal(0.0, 0.2, 3)
            row["fold_scores"], row["score"] = folds.tolist(), float(folds.mean())
        if score is not None and task_id == "reg01":
            row["fold_scores"] = [float(score)]  # one CV fold: nothing to hold out
        return row

    mp = pytest.MonkeyPatch()
    mp.setattr(synthetic, "_row", noisy_row)
    try:
        kb = synthetic.build_synthetic_kb(tmp_path_factory.mktemp("noisy") / "kb").kb
    finally:
        mp.undo()
    return split_fold_curves(kb, folds=3, trials=TRIALS, stage_trials=6, n_random=50)


def test_every_variant_and_evaluation_runs_every_held_out_task(clean, bench_kb) -> None:
    n_tasks = bench_kb.kb.tasks()["task_id"].nunique()
    variants = {"self", "random", *NOISE_VARIANTS}
    assert set(clean["variant"]) == variants
    counts = clean.groupby(["variant", "evaluation"]).size()
    assert (counts == n_tasks).all()
    assert ("self", "full") not in counts.index  # 0 by construction
    assert set(clean["cv_folds"]) == {3}
    for r in clean["regret"]:
        assert r.shape == (TRIALS,)
        assert np.all(np.diff(r) <= 1e-12) and r.min() >= 0 and r.max() <= 1


def test_without_fold_noise_the_split_evaluation_is_the_full_one(clean) -> None:
    full = clean[clean["evaluation"] == "full"].set_index(["variant", "task_id"])["regret"]
    split = clean[clean["evaluation"] == "split"].set_index(["variant", "task_id"])["regret"]
    for key, curve in full.items():
        np.testing.assert_allclose(split[key], curve, atol=1e-12)
    own = np.stack(split.loc["self"].to_numpy())
    assert np.all(own == 0.0)  # the task's own ranking starts with its best config


def test_fold_noise_leaves_the_tasks_own_ranking_with_regret(noisy) -> None:
    assert "reg01" not in set(noisy["task_id"])  # one CV fold: left out
    table = noise_table(noisy[noisy["kind"] == "binary"], checkpoints=(1, TRIALS)).set_index(
        ["evaluation", "variant"])
    own = table.loc[("split", "self")]
    assert own["@1"] > 0.02  # picked on two folds, scored on the third: not the best there
    assert own["@1"] < table.loc[("split", "random"), "@1"]  # still far better than chance
    assert table["@8"].le(table["@1"]).all()
    # the CV mean is noisy too: the static portfolio's first pick is not the task's best
    assert table.loc[("full", "static"), "@1"] > 0


def test_noise_table_checkpoints(clean) -> None:
    table = noise_table(clean, checkpoints=(1, 5, 99))
    assert list(table.columns) == ["evaluation", "variant", "tasks", "@1", "@5"]
    assert len(table) == 2 * 5 - 1
