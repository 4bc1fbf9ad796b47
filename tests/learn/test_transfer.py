"""The transfer stage: a portfolio over the KB's pool re-weighted by the trials seen."""

from __future__ import annotations

import json

import numpy as np
import pytest

from metaopt.learn import LearnedOptimizer, TransferPortfolio, score_matrix
from metaopt.spaces import DataShape, config_id, get_space

BIN_SHAPE = DataShape(n_rows=1000, n_features=10, kind="binary", n_classes=2)
SMALL = {"iterations": 20, "horizon": 4, "tasks_per_batch": 4, "rollouts": 2, "hidden_size": 16}
# fixtures pool, train_ids (all but bin03, bin09) and portfolio: tests/learn/conftest.py


def _pool_score(pool, task, alg, params) -> float:
    return pool.score(task, alg, params)


def test_pools_are_kept_per_kind(portfolio, pool, train_ids):
    assert set(portfolio.kinds) == {"binary", "regression"}
    binary = [t for t in train_ids if pool.kind(t) == "binary"]
    assert portfolio.n_tasks("binary") == len(binary)


def test_first_proposal_is_the_best_config_on_average(portfolio, pool, train_ids):
    matrix = score_matrix(pool.data.evaluations, "binary", task_kinds=pool.data.kinds)
    mean = matrix.loc[[t for t in train_ids if t in matrix.index]].fillna(0.0).mean()
    alg, cid = mean.idxmax()
    got_alg, got_params = portfolio.start(BIN_SHAPE).propose()
    assert (got_alg, config_id(got_alg, got_params)) == (alg, cid)


def test_the_trials_seen_pull_the_weights_to_tasks_that_rank_them_alike(
    portfolio, pool, train_ids, synthetic
):
    """On a side-B task the first two pool trials rank knn over hgb: side B takes over."""
    task = "bin09"
    assert synthetic.side[task] == "B"
    run = portfolio.start(pool.shape(task))
    for _ in range(2):
        alg, params = run.propose()
        run.observe(alg, params, _pool_score(pool, task, alg, params))
    w = run.weights()
    ids = [t for t in train_ids if pool.kind(t) == "binary"]
    on_b = sum(wi for wi, t in zip(w, ids, strict=True) if synthetic.side[t] == "B")
    assert on_b > 0.9
    assert w.sum() == pytest.approx(1.0)
    alg, _ = run.propose()
    assert alg == "knn"


def test_beta_zero_is_the_static_portfolio(pool, train_ids):
    tp = TransferPortfolio(beta=0.0).fit(pool, train_ids)
    run = tp.start(pool.shape("bin09"))
    for _ in range(3):
        alg, params = run.propose()
        run.observe(alg, params, _pool_score(pool, "bin09", alg, params))
    w = run.weights()
    assert np.allclose(w, 1.0 / len(w))


def test_values_enter_only_through_their_order(portfolio, pool):
    runs = [portfolio.start(pool.shape("bin09")) for _ in range(2)]
    for scale, run in zip((1.0, 100.0), runs, strict=True):
        for _ in range(3):
            alg, params = run.propose()
            run.observe(alg, params, scale * _pool_score(pool, "bin09", alg, params) - 7)
    assert np.allclose(runs[0].weights(), runs[1].weights())
    assert runs[0].propose() == runs[1].propose()


def test_failures_rank_below_every_finished_trial(portfolio, pool):
    run = portfolio.start(BIN_SHAPE)
    hgb = next(p for a, p, _ in pool.pool("bin00") if a == "hgb")
    knn = next(p for a, p, _ in pool.pool("bin00") if a == "knn")
    run.observe("hgb", hgb, None)
    run.observe("knn", knn, 0.1)
    as_worst = portfolio.start(BIN_SHAPE)
    as_worst.observe("hgb", hgb, -1e9)
    as_worst.observe("knn", knn, 0.1)
    assert np.allclose(run.weights(), as_worst.weights())


def test_nearby_configs_map_onto_their_pool_column(portfolio, pool):
    run = portfolio.start(BIN_SHAPE)
    alg, params = run.propose()
    j = run.propose_index()
    space = get_space(alg)
    u = space.to_unit(params, BIN_SHAPE)
    nudged = space.from_unit(np.where(np.isnan(u), np.nan, np.clip(u + 0.001, 0, 1)), BIN_SHAPE)
    assert run.nearest(alg, nudged) == j
    run.observe(alg, nudged, 0.5)
    assert run.propose_index() != j  # an observed column is not proposed again


def test_stage_ends_after_max_trials_or_without_gain(pool, train_ids):
    short = TransferPortfolio(max_trials=2).fit(pool, train_ids).start(BIN_SHAPE)
    for _ in range(2):
        alg, params = short.propose()
        short.observe(alg, params, 0.5)
    assert short.propose() is None
    greedy = TransferPortfolio(min_gain=1.0).fit(pool, train_ids).start(BIN_SHAPE)
    alg, params = greedy.propose()  # the first proposal needs no gain
    greedy.observe(alg, params, 0.5)
    assert greedy.propose() is None


def test_restrictions_are_respected_and_params_fit_the_shape(pool, train_ids):
    tiny = DataShape(n_rows=40, n_features=3, kind="binary", n_classes=2)
    portfolio = TransferPortfolio(min_gain=0.0).fit(pool, train_ids)
    run = portfolio.start(tiny, algorithms=["random_forest", "knn"])
    seen = set()
    for _ in range(6):
        alg, params = run.propose()
        assert alg in ("random_forest", "knn")
        assert get_space(alg).validate(params, tiny) == params
        seen.add(config_id(alg, params))
        run.observe(alg, params, 0.5)
    assert len(seen) == 6
    alg, _ = run.propose(algorithm="knn")
    assert alg == "knn"


def test_a_kind_without_pool_proposes_nothing(pool):
    tp = TransferPortfolio().fit(pool, [t for t in pool.task_ids if pool.kind(t) == "binary"])
    assert tp.start(DataShape(n_rows=100, n_features=3, kind="regression")).propose() is None


# -- inside the learned optimizer ------------------------------------------------------


@pytest.fixture(scope="module")
def optimizer(pool, train_ids) -> LearnedOptimizer:
    return LearnedOptimizer(seed=0, transfer_trials=3, transfer_min_gain=0.0, **SMALL).fit(
        pool, tasks=train_ids
    )


def test_optimizer_runs_the_transfer_stage_then_the_policy(optimizer, pool, train_ids):
    assert optimizer.meta_trials == 4  # max(horizon 4, transfer 3)
    run = optimizer.start(pool.metafeatures("bin09"), BIN_SHAPE, seed=0)
    ref = TransferPortfolio(min_gain=0.0).fit(pool, train_ids).start(
        BIN_SHAPE, metafeatures=pool.metafeatures("bin09")
    )
    for t in range(5):
        stage = run.stage
        alg, params = run.propose()
        assert get_space(alg).validate(params, BIN_SHAPE) == params
        if t < 3:
            assert stage == "transfer"
            assert (alg, params) == ref.propose()
            probs = run.algorithm_probabilities()  # split only on exact ties of the gain
            assert probs[alg] == max(probs.values()) and sum(probs.values()) == pytest.approx(1.0)
        else:
            assert stage == "policy"
        run.observe(alg, params, 0.5 + 0.01 * t)
        ref.observe(alg, params, 0.5 + 0.01 * t)


def test_optimizer_without_transfer_uses_the_policy_from_the_start(optimizer, pool):
    run = optimizer.start(pool.metafeatures("bin09"), BIN_SHAPE, seed=0, transfer=False)
    assert run.stage == "policy"
    off = LearnedOptimizer(seed=0, transfer=False, **SMALL).fit(pool)
    assert off.meta_trials == 4 and off.start({}, BIN_SHAPE).transfer is None


def test_transfer_pool_round_trips_through_arrays_and_json(optimizer, pool, tmp_path):
    optimizer.save(tmp_path / "opt")
    manifest = json.loads((tmp_path / "opt" / "manifest.json").read_text())
    assert set(manifest["doc"]["transfer"]["kinds"]) == {"binary", "regression"}
    with np.load(tmp_path / "opt" / "arrays.npz", allow_pickle=False) as data:
        assert "transfer.binary.scores" in data.files
    loaded = LearnedOptimizer.load(tmp_path / "opt")
    a = optimizer.start(pool.metafeatures("bin03"), BIN_SHAPE, seed=1)
    b = loaded.start(pool.metafeatures("bin03"), BIN_SHAPE, seed=1)
    for t in range(3):
        pa, pb = a.propose(), b.propose()
        assert pa == pb
        a.observe(*pa, 0.1 * t)
        b.observe(*pb, 0.1 * t)


def test_in_flight_columns_and_the_seeded_draw() -> None:
    """A column in flight is not proposed again; the seeded draw keeps the first proposal
    the best one and then varies with the seed (the shipped models)."""
    from pathlib import Path

    import numpy as np

    from metaopt.recommend import load_optimizer
    from metaopt.spaces import DataShape

    tp = load_optimizer(Path(__file__).resolve().parents[2] / "datasets" / "models").transfer_
    shape = DataShape(n_rows=2000, n_features=20, kind="binary", n_classes=2)
    best = tp.start(shape).propose_index()
    assert all(tp.start(shape).propose_index(rng=np.random.default_rng(s)) == best for s in range(5))
    orders = set()
    for seed in range(5):
        run, rng, order = tp.start(shape), np.random.default_rng(seed), []
        for _ in range(4):
            j = run.propose_index(rng=rng)
            assert j not in order
            order.append(j)
            run.in_flight("", {}, column=j)
        orders.add(tuple(order))
    assert len(orders) > 1
