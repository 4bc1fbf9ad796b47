"""Learned task similarity and the prior-weighted portfolio built on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metaopt._exceptions import ModelError
from metaopt.learn import (
    TaskSimilarity,
    TransferPortfolio,
    rank_discordance,
    score_matrix,
)
from metaopt.learn._transfer import fit_to_shape
from metaopt.spaces import DataShape, config_id, get_space


def _brute(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(a.shape[1], 1)
    return np.array(
        [[((np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])) < 0).mean() for y in b] for x in a]
    )


def test_rank_discordance_counts_opposite_pairs() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((4, 30)), rng.random((3, 30))
    assert np.allclose(rank_discordance(a, b), _brute(a, b))
    x = np.arange(6.0)[None, :]
    assert rank_discordance(x, x)[0, 0] == 0.0
    assert rank_discordance(x, -x)[0, 0] == 1.0
    tied = np.zeros((1, 6))
    assert rank_discordance(x, tied)[0, 0] == 0.0  # ties agree
    with_nan = x.copy()
    with_nan[0, 2] = np.nan  # pairs with the NaN column count as tied
    assert rank_discordance(with_nan, -x)[0, 0] == pytest.approx(1.0 - 5 / 15)
    assert rank_discordance(a).shape == (4, 4)
    with pytest.raises(ValueError, match="columns"):
        rank_discordance(a, b[:, :5])


# fixtures pool, train_ids (all but held_out: bin03, bin09) and portfolio: tests/learn/conftest.py


@pytest.fixture(scope="module")
def fitted(pool, train_ids) -> tuple[TaskSimilarity, list[str]]:
    matrix = score_matrix(pool.data.evaluations, "binary", task_kinds=pool.data.kinds)
    ids = [t for t in matrix.index if t in train_ids]
    z = pool.encoder.scale_metafeatures(pd.DataFrame([pool.metafeatures(t) for t in ids]))
    sim = TaskSimilarity().fit({"binary": matrix.loc[ids].fillna(0).to_numpy()}, {"binary": z})
    return sim, ids


def _z(pool, task) -> np.ndarray:
    return pool.encoder.scale_metafeatures(pool.metafeatures(task))[0]


def test_similarity_learns_which_tasks_rank_the_pool_alike(fitted, pool, synthetic, held_out) -> None:
    sim, ids = fitted
    for task in held_out:
        d = sim.discordance("binary", _z(pool, task))
        same = [di for di, t in zip(d, ids, strict=True) if synthetic.side[t] == synthetic.side[task]]
        other = [di for di, t in zip(d, ids, strict=True) if synthetic.side[t] != synthetic.side[task]]
        assert max(same) < min(other)
        w = sim.weights("binary", _z(pool, task), sharpness=2.0)
        assert w.sum() == pytest.approx(1.0)
        on_side = sum(wi for wi, t in zip(w, ids, strict=True) if synthetic.side[t] == synthetic.side[task])
        assert on_side > 0.8
    assert np.allclose(sim.weights("binary", _z(pool, "bin09"), 0.0), 1.0 / len(ids))


def test_similarity_round_trips_through_arrays(fitted, pool) -> None:
    sim, _ = fitted
    again = TaskSimilarity.from_saved(sim.to_json(), sim.to_arrays("s."), "s.")
    z = _z(pool, "bin09")
    assert np.array_equal(again.discordance("binary", z), sim.discordance("binary", z))
    assert again.get_params() == sim.get_params()


def test_kinds_with_too_few_tasks_get_no_model() -> None:
    rng = np.random.default_rng(1)
    sim = TaskSimilarity(min_tasks=5).fit({"regression": rng.random((3, 8))},
                                         {"regression": rng.random((3, 2))})
    assert sim.kinds == []
    assert sim.weights("regression", np.zeros(2), 2.0) is None
    with pytest.raises(ValueError, match="meta-features"):
        TaskSimilarity().fit({"binary": rng.random((6, 8))}, {"binary": rng.random((5, 2))})


# -- the prior in the transfer stage ------------------------------------------------------


def test_meta_features_steer_the_first_proposal(portfolio, pool) -> None:
    """Uniform weights pick random forest (good on both sides); the prior picks the side's best."""
    shape = pool.shape("bin09")
    assert portfolio.start(shape).propose()[0] == "random_forest"
    assert portfolio.start(shape, metafeatures=pool.metafeatures("bin09")).propose()[0] == "knn"
    assert portfolio.start(shape, metafeatures=pool.metafeatures("bin03")).propose()[0] == "hgb"


def test_prior_sharpness_zero_is_uniform(pool, train_ids) -> None:
    tp = TransferPortfolio(prior_sharpness=0.0).fit(pool, train_ids)
    run = tp.start(pool.shape("bin09"), metafeatures=pool.metafeatures("bin09"))
    w = run.weights()
    assert np.allclose(w, 1.0 / len(w))
    assert run.propose()[0] == "random_forest"


def test_static_order_is_a_greedy_portfolio(portfolio, pool, train_ids) -> None:
    matrix = score_matrix(pool.data.evaluations, "binary", task_kinds=pool.data.kinds)
    s = matrix.loc[[t for t in train_ids if t in matrix.index]].fillna(0.0).to_numpy()
    order = portfolio.order("binary", 4)
    cur = np.zeros(s.shape[0])
    for j, expected in order:  # each pick maximizes the expected best so far
        gains = np.maximum(s, cur[:, None]).mean(axis=0)
        assert gains[j] == pytest.approx(gains.max())
        assert expected == pytest.approx(gains[j])
        cur = np.maximum(cur, s[:, j])
    assert [e for _, e in order] == sorted(e for _, e in order)  # expected best never drops
    algs = [portfolio.column("binary", j)[0] for j, _ in order[:3]]
    assert algs == ["random_forest", "hgb", "knn"]  # then the best of each side
    side_b = portfolio.order("binary", 1, pool.metafeatures("bin09"))
    assert portfolio.column("binary", side_b[0][0])[0] == "knn"
    cols = portfolio.columns("binary")
    usable = np.array([a == "random_forest" for a, _ in cols])
    only_rf = portfolio.order("binary", 50, usable=usable)
    assert len(only_rf) == usable.sum()
    assert all(cols[j][0] == "random_forest" for j, _ in only_rf)
    assert portfolio.order("multiclass", 3) == []
    with pytest.raises(ValueError, match="usable"):
        portfolio.order("binary", 2, usable=usable[:3])


def test_family_first_order_votes_for_a_side_s_family_instead_of_the_all_rounder(portfolio, pool) -> None:
    from metaopt.learn import family_vote, greedy_portfolio

    cols = portfolio.columns("binary")
    first = portfolio.order("binary", 4, family_first=True)
    # uniform weights: the greedy first pick is the all-round random forest, best on no task
    assert cols[portfolio.order("binary", 1)[0][0]][0] == "random_forest"
    assert cols[first[0][0]][0] in {"hgb", "knn"}  # each side's winning family
    kp = portfolio.pools_["binary"]
    w = np.full(kp.scores.shape[0], 1.0 / kp.scores.shape[0])
    pick, _ = family_vote(kp.scores, kp.algorithms, w)
    assert [j for j, _ in first] == greedy_portfolio(kp.scores, 4, weights=w, first=[pick])[0]
    mf = pool.metafeatures("bin09")  # side B: the prior's weights vote for knn
    assert cols[portfolio.order("binary", 1, mf, family_first=True)[0][0]][0] == "knn"
    usable = np.array([a == "random_forest" for a, _ in cols])
    only_rf = portfolio.order("binary", 3, usable=usable, family_first=True)
    assert all(cols[j][0] == "random_forest" for j, _ in only_rf)


def test_portfolio_save_load_round_trip(portfolio, pool, tmp_path) -> None:
    path = portfolio.save(tmp_path / "transfer")
    again = TransferPortfolio.load(path)
    mf = pool.metafeatures("bin09")
    assert again.get_params() == portfolio.get_params()
    got, want = again.order("binary", 6, mf), portfolio.order("binary", 6, mf)
    assert [j for j, _ in got] == [j for j, _ in want]  # the same columns, in order
    np.testing.assert_allclose([e for _, e in got], [e for _, e in want], rtol=1e-6, atol=1e-12)
    assert [c for c in again.columns("binary")] == portfolio.columns("binary")
    run_a = portfolio.start(pool.shape("bin09"), metafeatures=mf)
    run_b = again.start(pool.shape("bin09"), metafeatures=mf)
    for _ in range(3):
        pa, pb = run_a.propose(), run_b.propose()
        assert pa == pb
        v = pool.score("bin09", *pa)
        run_a.observe(*pa, v)
        run_b.observe(*pb, v)
    (path / "arrays.npz").write_bytes(b"not an npz")
    with pytest.raises(ModelError, match="checksum"):
        TransferPortfolio.load(path)
    with pytest.raises(ModelError, match="no trained transfer"):
        TransferPortfolio.load(tmp_path / "nowhere")


def test_fit_to_shape_clips_into_the_data_s_ranges() -> None:
    tiny = DataShape(n_rows=30, n_features=3, kind="binary", n_classes=2)
    p = next(q for q in get_space("knn").params(tiny) if q.name == "n_neighbors")
    got = fit_to_shape("knn", {"n_neighbors": 10_000, "weights": "distance"}, tiny)
    assert got["n_neighbors"] == int(p.high)
    assert got["weights"] == "distance"
    assert config_id("knn", got) == config_id("knn", get_space("knn").validate(got, tiny))


def test_rank_evidence_is_the_fraction_of_discordant_pairs(pool, train_ids) -> None:
    """Weights ∝ prior · exp(−beta · fraction of observed pairs a task orders the other way)."""
    tp = TransferPortfolio(prior_sharpness=0.0, beta=1.0).fit(pool, train_ids)
    run = tp.start(pool.shape("bin09"))
    for _ in range(5):
        alg, params = run.propose()
        run.observe(alg, params, pool.score("bin09", alg, params))
    cols = np.array(run._observed)
    vals = np.array(run._values)
    i, j = np.triu_indices(len(cols), 1)
    s = run.pool.scores[:, cols]
    pairs = ((np.sign(s[:, i] - s[:, j]) * np.sign(vals[i] - vals[j])) < 0).sum(axis=1)
    assert np.allclose(run.weights(), np.exp(-pairs / len(i)) / np.exp(-pairs / len(i)).sum())


def test_novelty_is_calibrated_against_other_groups(pool, train_ids) -> None:
    tp = TransferPortfolio().fit(pool, train_ids)
    sim = tp.similarity_
    z = sim.metafeatures_["binary"]
    assert sim.novelty("binary", z[0]) == (0.0, sim.thresholds_["binary"])  # a training task
    far, threshold = sim.novelty("binary", z[0] + 100.0)
    assert far > threshold and np.isfinite(threshold)
    assert sim.novelty("multiclass", z[0]) == (0.0, float("inf"))  # no tasks of the kind


def test_refitting_forgets_the_cached_priors(pool, train_ids) -> None:
    tp = TransferPortfolio()
    mf = pool.metafeatures("bin09")
    tp.fit(pool, train_ids)
    first = tp.prior_log_weights("binary", mf)
    assert np.array_equal(tp.prior_log_weights("binary", mf), first)  # cached, same values
    tp.fit(pool, [t for t in train_ids if t != "bin00"])
    assert tp.prior_log_weights("binary", mf).shape == (first.size - 1,)
