"""The learned optimizer and the pool table it is meta-trained on (synthetic KB)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from metaopt import ConfigError, ModelError, ModelVersionError
from metaopt.learn import LearnedOptimizer, rollout_regret, training_data
from metaopt.learn._optimizer import _history_features
from metaopt.spaces import DataShape, get_space

SMALL = {"iterations": 120, "horizon": 6, "tasks_per_batch": 8, "rollouts": 4, "hidden_size": 32}


@pytest.fixture(scope="module")
def binary_ids(synthetic) -> list[str]:
    return sorted(synthetic.side)


@pytest.fixture(scope="module")
def held_out() -> list[str]:
    return ["bin03", "bin09"]  # one task of each side


@pytest.fixture(scope="module")
def optimizer(pool, binary_ids, held_out) -> LearnedOptimizer:
    train = [t for t in binary_ids if t not in held_out]
    return LearnedOptimizer(seed=0, **SMALL).fit(pool, tasks=train)


BIN_SHAPE = DataShape(n_rows=1000, n_features=10, kind="binary", n_classes=2)


# -- the pool table ------------------------------------------------------------------


def test_pool_scores_evaluated_configs_exactly(pool):
    for task in ("bin00", "bin07", "reg00"):
        for alg, params, score in pool.pool(task):
            assert pool.score(task, alg, params) == pytest.approx(score)


def test_pool_snaps_a_nearby_config_to_its_neighbour(pool):
    alg, params, score = next(p for p in pool.pool("bin02") if p[0] == "hgb")
    space = get_space("hgb")
    shape = pool.shape("bin02")
    u = space.to_unit(params, shape)
    nudged = space.from_unit(np.where(np.isnan(u), np.nan, np.clip(u + 0.001, 0, 1)), shape)
    assert pool.score("bin02", "hgb", nudged) == pytest.approx(score)


def test_pool_failures_score_zero_and_skipped_algorithms_are_missing(pool, synthetic):
    failed = [p for p in pool.pool("bin00") if p[0] == "knn" and p[2] == 0.0]
    assert failed, "the planted knn error of bin00 must score 0"
    assert "knn" not in pool.algorithms("reg01")
    assert np.isnan(pool.score("reg01", "knn", get_space("knn").default("regression")))
    assert pool.best("bin05") == pytest.approx(1.0)


def test_pool_arrays_are_padded_consistently(pool):
    arr = pool.arrays()
    n = len(pool.task_ids)
    assert arr["configs"].shape[0] == n and arr["scores"].shape == arr["algorithms"].shape
    assert arr["metafeatures"].shape == (n, pool.encoder.n_metafeatures)
    assert not np.isnan(arr["metafeatures"]).any()
    i = pool.task_ids.index("reg01")
    knn = pool.encoder.algorithms.index("knn")
    assert not arr["available"][i, knn]


# -- the optimizer -------------------------------------------------------------------


def test_history_features_are_scale_free():
    a = _history_features(np.inf, -np.inf, -np.inf, 0.7)
    b = _history_features(np.inf, -np.inf, -np.inf, 70.0)
    assert a[0] == b[0] == [0.5, 1.0]
    lo, hi, best = a[1:]
    assert _history_features(lo, hi, best, 0.9)[0] == [1.0, 1.0]
    assert _history_features(lo, hi, best, None)[0] == [0.0, 0.0]


def test_unfitted_optimizer_says_so():
    with pytest.raises(ModelError, match="not fitted"):
        LearnedOptimizer().start({}, BIN_SHAPE)


def test_optimizer_learns_the_planted_side(optimizer, pool, held_out, synthetic):
    """Side A tasks are won by hgb, side B by knn: held-out tasks get the right first pick.

    The policy's own choice, so without the transfer stage (whose first pick is the
    pool's best on average, the same for every task; tests/learn/test_transfer.py).
    """
    for task in held_out:
        run = optimizer.start(pool.metafeatures(task), pool.shape(task), seed=0, transfer=False)
        probs = run.algorithm_probabilities()
        winner = "hgb" if synthetic.side[task] == "A" else "knn"
        loser = "knn" if winner == "hgb" else "hgb"
        assert probs[winner] > probs[loser], (task, probs)


def test_learned_regret_beats_random_search_on_held_out_tasks(optimizer, pool, held_out):
    learned = rollout_regret(optimizer, pool, held_out, trials=3, seeds=range(8)).mean()
    rng = np.random.default_rng(0)
    rand = []
    for task in held_out:
        for _ in range(8):
            best = 0.0
            for _ in range(3):
                alg = pool.algorithms(task)[rng.integers(3)]
                space, shape = get_space(alg), pool.shape(task)
                params = space.from_unit(rng.random(len(space.params(shape))), shape)
                best = max(best, pool.score(task, alg, params))
            rand.append(1 - best)
    assert learned < np.mean(rand)


def test_rollout_regret_curves_are_monotone_and_bounded(optimizer, pool, held_out):
    r = rollout_regret(optimizer, pool, held_out, trials=6, seeds=(0, 1))
    assert r.shape == (2, 2, 6)
    assert ((r >= 0) & (r <= 1)).all()
    assert (np.diff(r, axis=-1) <= 1e-12).all()


def test_proposals_are_valid_configs_and_respect_restrictions(optimizer, pool):
    mf = pool.metafeatures("bin01")
    run = optimizer.start(mf, BIN_SHAPE, algorithms=["random_forest", "knn"], seed=3)
    for _ in range(10):
        alg, params = run.propose()
        assert alg in ("random_forest", "knn")
        assert get_space(alg).validate(params, BIN_SHAPE) == params
        run.observe(alg, params, 0.5)
    alg, params = run.propose(algorithm="hgb")
    assert alg == "hgb" and get_space("hgb").validate(params, BIN_SHAPE) == params
    with pytest.raises(ConfigError, match="knows algorithms"):
        optimizer.start(mf, BIN_SHAPE, algorithms=["xgboost"])


def test_next_proposal_ignores_the_units_of_the_scores(optimizer, pool):
    mf = pool.metafeatures("bin04")
    history = [run_alg for run_alg in pool.pool("bin04")[:4]]
    runs = [optimizer.start(mf, BIN_SHAPE, seed=11) for _ in range(2)]
    for alg, params, score in history:
        runs[0].observe(alg, params, score)
        runs[1].observe(alg, params, 1000.0 * score - 3.0)
    assert runs[0].algorithm_probabilities() == pytest.approx(runs[1].algorithm_probabilities())
    assert runs[0].propose() == runs[1].propose()


def test_fit_and_runs_are_deterministic(pool, binary_ids):
    small = {**SMALL, "iterations": 5}
    a = LearnedOptimizer(seed=1, **small).fit(pool, tasks=binary_ids)
    b = LearnedOptimizer(seed=1, **small).fit(pool, tasks=binary_ids)
    for key in a.weights_:
        np.testing.assert_array_equal(a.weights_[key], b.weights_[key])
    mf = pool.metafeatures("bin00")
    assert a.start(mf, BIN_SHAPE, seed=5).propose() == b.start(mf, BIN_SHAPE, seed=5).propose()


def test_save_load_round_trip(optimizer, pool, tmp_path):
    path = optimizer.save(tmp_path / "opt")
    loaded = LearnedOptimizer.load(path)
    mf = pool.metafeatures("bin08")
    assert loaded.get_params() == optimizer.get_params()
    a, b = optimizer.start(mf, BIN_SHAPE, seed=2), loaded.start(mf, BIN_SHAPE, seed=2)
    assert a.algorithm_probabilities() == pytest.approx(b.algorithm_probabilities(), abs=1e-5)
    with np.load(path / "arrays.npz", allow_pickle=False) as arrays:
        transfer = {f for f in arrays.files if f.startswith("transfer.")}
        assert set(arrays.files) - transfer == {f"optimizer.{k}" for k in optimizer.weights_}
        # the fixture trains on binary tasks: their pool scores and task similarity
        assert {f for f in transfer if ".similarity." not in f} == {"transfer.binary.scores"}
        assert "transfer.similarity.binary.metafeatures" in transfer
        assert arrays["transfer.similarity.binary.tree.threshold"].dtype == np.float64
    run_a = optimizer.start(mf, BIN_SHAPE, seed=2)
    run_b = loaded.start(mf, BIN_SHAPE, seed=2)
    assert run_a.transfer is not None and run_b.transfer is not None
    np.testing.assert_allclose(run_a.transfer.log_prior, run_b.transfer.log_prior, atol=1e-6)


def test_load_refuses_missing_and_mismatched_models(optimizer, tmp_path):
    with pytest.raises(ModelError, match="no trained optimizer"):
        LearnedOptimizer.load(tmp_path / "nothing")
    path = optimizer.save(tmp_path / "opt")
    with pytest.raises(ModelVersionError, match="meta-feature version"):
        LearnedOptimizer.load(path, metafeature_version="0.0-other")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelVersionError, match="format"):
        LearnedOptimizer.load(path)


def test_fit_accepts_training_data_and_kb(synthetic):
    data = training_data(synthetic.kb, tasks=["bin00", "bin01", "bin08"])
    opt = LearnedOptimizer(seed=0, **{**SMALL, "iterations": 2}).fit(data)
    assert opt.training_["tasks"] == 3
    assert set(opt.algorithms) >= {"hgb", "knn", "random_forest"}
