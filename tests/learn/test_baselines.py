"""Baselines (LibraryDefaults, BestDefault, GreedyPortfolio, NearestDatasets) on the synthetic KB."""

from __future__ import annotations

import json

import numpy as np
import pytest

from metaopt._exceptions import ModelError, ModelVersionError
from metaopt.kb import KnowledgeBase
from metaopt.learn import (
    BestDefault,
    GreedyPortfolio,
    LibraryDefaults,
    NearestDatasets,
    family_vote,
    greedy_portfolio,
    score_matrix,
)
from metaopt.spaces import ALGORITHMS, config_id, get_space

BASELINES = (LibraryDefaults, BestDefault, GreedyPortfolio, NearestDatasets)


def _ids(recs):
    return [(a, config_id(a, p)) for a, p in recs]


def _binary_matrix(synthetic, tasks=None):
    ev = synthetic.kb.evaluations()
    if tasks is not None:
        ev = ev[ev["task_id"].isin(tasks)]
    kinds = synthetic.kb.tasks().set_index("task_id")["kind"]
    return score_matrix(ev, "binary", task_kinds=kinds).fillna(0.0)


# -- shared contract ---------------------------------------------------------------
@pytest.mark.parametrize("cls", BASELINES)
def test_contract_fit_returns_self_and_recommends_valid_configs(cls, synthetic) -> None:
    model = cls()
    assert model.fit(synthetic.kb) is model
    mf = synthetic.kb.metafeatures().loc["bin03"].to_dict()
    recs = model.recommend(mf, "binary", 4)
    assert 1 <= len(recs) <= 4
    assert len(set(_ids(recs))) == len(recs)
    for alg, params in recs:
        assert alg in ALGORITHMS and isinstance(params, dict)
    assert model.recommend(mf, "binary", 0) == []
    with pytest.raises(ModelError, match="kind"):
        model.recommend(mf, "ordinal", 3)


@pytest.mark.parametrize("cls", BASELINES)
def test_contract_save_load_round_trip(cls, synthetic, tmp_path) -> None:
    model = cls().fit(synthetic.kb)
    path = model.save(tmp_path / "model.json")
    loaded = cls.load(path, kb=synthetic.kb)
    assert loaded.get_params() == model.get_params()
    mf = synthetic.kb.metafeatures()
    for task in ("bin00", "bin09", "reg00"):
        kind = "regression" if task.startswith("reg") else "binary"
        assert loaded.recommend(mf.loc[task].to_dict(), kind, 5) == model.recommend(mf.loc[task].to_dict(), kind, 5)
    assert loaded.recommend(None, "binary", 5) == model.recommend(None, "binary", 5)
    doc = json.loads(path.read_text())
    assert doc["class"] == cls.__name__ and doc["mf_version"] == synthetic.kb.manifest["mf_version"]


@pytest.mark.parametrize("cls", (BestDefault, GreedyPortfolio, NearestDatasets))
def test_contract_version_mismatch(cls, synthetic, tmp_path) -> None:
    path = cls().fit(synthetic.kb).save(tmp_path / "model.json")
    with pytest.raises(ModelVersionError, match="meta-feature version"):
        cls.load(path, mf_version="0.0-other")
    other = KnowledgeBase.create(tmp_path / "other", protocol_id="p-other")
    with pytest.raises(ModelVersionError, match="protocol_id"):
        cls.load(path, kb=other)
    doc = json.loads(path.read_text())
    doc["format_version"] = 999
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelVersionError, match="format version 999"):
        cls.load(path)
    doc["format"] = "something-else"
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="not a metaopt baseline"):
        cls.load(path)


def test_load_errors_name_the_problem(synthetic, tmp_path) -> None:
    with pytest.raises(ModelError, match="cannot read"):
        GreedyPortfolio.load(tmp_path / "missing.json")
    path = BestDefault().fit(synthetic.kb).save(tmp_path / "bd.json")
    with pytest.raises(ModelError, match="holds a BestDefault"):
        GreedyPortfolio.load(path)


@pytest.mark.parametrize("cls", (BestDefault, GreedyPortfolio, NearestDatasets))
def test_unfitted_and_empty_training_set(cls, synthetic, tmp_path) -> None:
    with pytest.raises(ModelError, match="not fitted"):
        cls().recommend(None, "binary", 3)
    with pytest.raises(ModelError, match="no training task"):
        cls().fit(synthetic.kb, tasks=["no-such-task"])
    model = cls().fit(synthetic.kb, tasks=["bin00", "bin01"])
    with pytest.raises(ModelError, match="no training task of kind 'regression'"):
        model.recommend(None, "regression", 3)


# -- LibraryDefaults -------------------------------------------------------------
def test_library_defaults_fixed_order_without_data() -> None:
    recs = LibraryDefaults().fit().recommend(None, "regression", 10)
    assert [a for a, _ in recs] == list(ALGORITHMS)
    assert recs[0] == ("hgb", get_space("hgb").default("regression"))
    assert [a for a, _ in LibraryDefaults(["knn", "hgb"]).recommend(None, "binary", 5)] == ["knn", "hgb"]


# -- BestDefault -----------------------------------------------------------------
def test_best_default_order_follows_planted_means(synthetic) -> None:
    model = BestDefault().fit(synthetic.kb)
    # rf 0.80 everywhere beats hgb (best on the 7 A tasks) beats knn (best on the 5 B tasks)
    assert [a for a, _ in model.recommend(None, "binary", 3)] == ["random_forest", "hgb", "knn"]
    assert [a for a, _ in model.recommend(None, "regression", 3)] == ["random_forest", "hgb", "knn"]
    assert _ids(model.recommend(None, "binary", 1)) == [("random_forest", synthetic.defaults[("random_forest", "binary")])]
    # the means are those of the default configs' columns of the score matrix
    matrix = _binary_matrix(synthetic)
    for alg, mean in model.mean_scores("binary").items():
        assert mean == pytest.approx(matrix[(alg, synthetic.defaults[(alg, "binary")])].mean())


def test_best_default_on_side_b_only_prefers_knn(synthetic) -> None:
    side_b = [t for t, s in synthetic.side.items() if s == "B"]
    model = BestDefault().fit(synthetic.kb, tasks=side_b)
    assert model.recommend(None, "binary", 1)[0][0] == "knn"


# -- GreedyPortfolio -------------------------------------------------------------
def test_portfolio_first_pick_has_lowest_mean_regret(synthetic) -> None:
    model = GreedyPortfolio(size=6).fit(synthetic.kb)
    matrix = _binary_matrix(synthetic)
    mean_regret = 1.0 - matrix.mean(axis=0)
    first = model.config_ids("binary")[0]
    assert mean_regret[first] == pytest.approx(mean_regret.min())
    assert first[0] == "random_forest"


def test_portfolio_regret_never_increases_and_covers_both_sides(synthetic) -> None:
    model = GreedyPortfolio(size=8).fit(synthetic.kb)
    curve = model.regret_curve_["binary"]
    assert len(curve) == 8
    assert all(b <= a + 1e-12 for a, b in zip(curve, curve[1:], strict=False))
    # recomputed from the matrix, independently of the greedy code
    matrix = _binary_matrix(synthetic)
    picks = model.config_ids("binary")
    for n in range(1, 9):
        assert 1.0 - matrix[picks[:n]].max(axis=1).mean() == pytest.approx(curve[n - 1])
    # after the all-round rf config come the planted best configs of both sides
    assert set(picks[1:3]) == {synthetic.best["A"], synthetic.best["B"]}
    assert curve[2] == pytest.approx(0.0)
    assert _ids(model.recommend(None, "binary", 3)) == picks[:3]


def test_greedy_portfolio_function_tie_breaks_by_mean_score() -> None:
    scores = np.array([[1.0, 0.0, 1.0, 0.5], [0.0, 1.0, 0.2, 0.5]])
    picks, regrets = greedy_portfolio(scores, 4)
    # single-column mean regrets: 0.5, 0.5, 0.4, 0.5 -> column 2 first
    assert picks[0] == 2
    assert picks[1] == 1 and regrets[1] == 0.0
    # remaining ties (all regret 0) go by mean score: col 0 (0.5) vs col 3 (0.5) -> lower index
    assert picks[2:] == [0, 3]
    assert greedy_portfolio(scores, 10)[0] == picks


def test_greedy_portfolio_takes_the_first_columns_first() -> None:
    scores = np.array([[1.0, 0.0, 1.0, 0.5], [0.0, 1.0, 0.2, 0.5]])
    picks, regrets = greedy_portfolio(scores, 3, first=[3])
    # then the greedy steps: 0, 1, 2 tie at 0.25 with column 3, the larger mean (2) goes first
    assert picks == [3, 2, 1]
    assert regrets == pytest.approx([0.5, 0.25, 0.0])
    blocked = np.array([True, True, True, False])
    assert greedy_portfolio(scores, 2, available=blocked, first=[3])[0] == [2, 1]  # unavailable: skipped


# an all-rounder (rf) has the best mean; hgb wins on two tasks of three, linear on one
_VOTE_SCORES = np.array([
    # rf    hgb1  hgb2  linear
    [0.80, 1.00, 0.90, 0.00],
    [0.80, 1.00, 0.95, 0.00],
    [0.80, 0.00, 0.30, 1.00],
])
_VOTE_ALGS = ["rf", "hgb", "hgb", "linear"]


def test_family_vote_picks_the_family_that_wins_most_then_its_best_mean_config() -> None:
    pick, votes = family_vote(_VOTE_SCORES, _VOTE_ALGS)
    assert greedy_portfolio(_VOTE_SCORES, 1)[0] == [0]  # the greedy first pick: the all-rounder
    assert pick == 2  # hgb, and of its configs the better mean (0.717 against 0.667)
    assert votes == pytest.approx({"hgb": 2 / 3, "linear": 1 / 3, "rf": 0.0})
    pick, votes = family_vote(_VOTE_SCORES, _VOTE_ALGS, weights=np.array([0.1, 0.1, 0.8]))
    assert pick == 3 and votes["linear"] == pytest.approx(0.8)  # the weights decide
    no_hgb = np.array([True, False, False, True])
    pick, votes = family_vote(_VOTE_SCORES, _VOTE_ALGS, available=no_hgb)
    assert pick == 0 and set(votes) == {"rf", "linear"}  # rf now beats linear on two tasks
    tied = np.array([[1.0, 1.0], [0.0, 0.0]])
    assert family_vote(tied, ["a", "b"])[1] == pytest.approx({"a": 0.5, "b": 0.5})  # a tie splits
    assert family_vote(_VOTE_SCORES, _VOTE_ALGS, available=np.zeros(4, bool)) == (None, {})


def test_portfolio_trained_on_a_subset_ignores_other_tasks(synthetic) -> None:
    side_a = [t for t, s in synthetic.side.items() if s == "A"]
    model = GreedyPortfolio(size=3).fit(synthetic.kb, tasks=side_a)
    assert model.config_ids("binary")[0] == synthetic.best["A"]
    assert model.n_train_tasks_ == len(side_a)
    assert "regression" not in model.portfolio_
    # the same as fitting on frames that never contained the other tasks
    ev = synthetic.kb.evaluations()
    frames = {
        "tasks": synthetic.kb.tasks()[lambda d: d["task_id"].isin(side_a)],
        "evaluations": ev[ev["task_id"].isin(side_a)],
        "metafeatures": synthetic.kb.metafeatures().loc[side_a],
    }
    assert GreedyPortfolio(size=3).fit(frames).portfolio_ == model.portfolio_


# -- NearestDatasets -------------------------------------------------------------
@pytest.mark.parametrize("metric", ["l1", "l2"])
@pytest.mark.parametrize("held_out", [("bin05", "A"), ("bin06", "A"), ("bin10", "B"), ("bin11", "B")])
def test_nearest_datasets_finds_planted_best_for_held_out_task(synthetic, metric, held_out) -> None:
    task, side = held_out
    train = [t for t in synthetic.kb.tasks()["task_id"] if t != task]
    model = NearestDatasets(metric=metric).fit(synthetic.kb, tasks=train)
    mf = synthetic.kb.metafeatures().loc[task].to_dict()
    neighbours = model.neighbors(mf, "binary", 3)
    assert task not in [t for t, _ in neighbours]
    assert all(synthetic.side[t] == side for t, _ in neighbours)
    recs = model.recommend(mf, "binary", 4)
    assert _ids(recs)[0] == synthetic.best[side]
    # neighbours share their best config: deduplicated, the rest comes from the portfolio
    assert len(recs) == 4 and len(set(_ids(recs))) == 4
    assert _ids(recs)[1:] == [c for c in model.portfolio_.config_ids("binary") if c != synthetic.best[side]][:3]


def test_nearest_datasets_without_metafeatures_is_the_portfolio(synthetic) -> None:
    model = NearestDatasets().fit(synthetic.kb)
    portfolio = GreedyPortfolio().fit(synthetic.kb)
    assert model.recommend(None, "binary", 5) == portfolio.recommend(None, "binary", 5)
    # unknown and missing meta-feature names are tolerated (NaN -> 0 after scaling)
    assert len(model.recommend({"f0": 1.9, "zzz": 3.0}, "binary", 2)) == 2
    assert _ids(model.recommend({"f0": 1.9, "f1": 1.9, "f2": 1.0}, "binary", 1)) == [synthetic.best["A"]]


def test_nearest_datasets_scaler_is_robust(synthetic) -> None:
    model = NearestDatasets().fit(synthetic.kb)
    mf = synthetic.kb.metafeatures()
    names = model.scaler_.names_
    assert names == ["f0", "f1", "f2", "f3"]
    np.testing.assert_allclose(model.scaler_.center_, np.nanmedian(mf[names].to_numpy(), axis=0))
    x = model.scaler_.vector({"f0": float("nan")})
    assert np.all(np.isfinite(x)) and x[0] == 0.0
    with pytest.raises(ModelError, match="metric"):
        NearestDatasets(metric="cosine").fit(synthetic.kb)
