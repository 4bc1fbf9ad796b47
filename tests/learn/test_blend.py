"""Choosing the prior weight per kind from out-of-bag predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metaopt.learn import PRIOR_WEIGHTS, Surrogate, choose_prior_weights, leave_group_out_prior


def _table(rows):
    return pd.DataFrame(rows, columns=["task_id", "group", "algorithm", "config_id", "target"])


def test_leave_group_out_prior_leaves_the_own_group_out():
    t = _table(
        [
            ("a1", "A", "hgb", "c1", 1.0),
            ("a2", "A", "hgb", "c1", 0.8),
            ("b1", "B", "hgb", "c1", 0.2),
            ("c1", "C", "hgb", "c1", 0.4),
            ("r1", "R", "hgb", "c1", 0.9),  # another kind: never mixed in
            ("c1", "C", "knn", "c9", 0.5),  # no other group evaluated it
        ]
    )
    kinds = {"a1": "binary", "a2": "binary", "b1": "binary", "c1": "binary", "r1": "regression"}
    prior = leave_group_out_prior(t, kinds)
    np.testing.assert_allclose(prior[:3], [0.3, 0.3, (1.0 + 0.8 + 0.4) / 3])
    assert prior[3] == pytest.approx((1.0 + 0.8 + 0.2) / 3)
    assert np.isnan(prior[4]) and np.isnan(prior[5])


def _world(seed: int, informative: str):
    """Six binary tasks in six groups, four configs; ``informative``: which signal is right."""
    rng = np.random.default_rng(seed)
    rows, oob = [], []
    for t in range(6):
        own_best = t % 4  # each task's best config differs...
        for c in range(4):
            target = 1.0 if c == own_best else (0.6 if c == 0 else 0.1 * c)
            rows.append((f"t{t}", f"g{t}", "hgb", f"c{c}", target))
            if informative == "surrogate":
                oob.append(target + rng.normal(0, 0.01))
            else:  # the surrogate is confidently wrong: it prefers the worst configs
                oob.append(1.0 - target)
    return _table(rows), np.array(oob), {f"t{t}": "binary" for t in range(6)}


def test_an_informative_surrogate_gets_no_prior():
    table, oob, kinds = _world(0, "surrogate")
    sel = choose_prior_weights(table, oob, kinds)
    assert sel["binary"]["weight"] == 0.0
    assert sel["binary"]["n_tasks"] == 6
    assert sel["binary"]["regret"]["0"] == pytest.approx(0.0)


def test_a_misleading_surrogate_leans_on_the_prior():
    table, oob, kinds = _world(0, "prior")
    sel = choose_prior_weights(table, oob, kinds)
    assert sel["binary"]["weight"] == max(PRIOR_WEIGHTS)
    assert sel["binary"]["regret"]["0.75"] < sel["binary"]["regret"]["0"]


def test_ties_go_to_the_smaller_weight_and_missing_oob_rows_are_ignored():
    table, oob, kinds = _world(0, "surrogate")
    oob = oob.copy()
    oob[:4] = np.nan  # task t0 has no out-of-bag prediction
    sel = choose_prior_weights(table, oob, kinds, grid=(0.5, 0.0))
    assert sel["binary"]["n_tasks"] == 5
    flat = choose_prior_weights(table, np.zeros(len(table)), kinds, grid=(0.0, 0.25))
    # a constant surrogate: every weight ranks by the prior alone except w = 0 (first row)
    assert set(flat["binary"]["regret"]) == {"0", "0.25"}
    with pytest.raises(ValueError, match="out-of-bag"):
        choose_prior_weights(table, oob[:3], kinds)


def test_surrogate_keeps_out_of_bag_predictions_of_left_out_groups():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = X[:, 0] + 0.1 * rng.normal(size=120)
    groups = np.repeat(np.arange(12), 10)
    y[:5] = np.nan  # dropped rows stay NaN
    model = Surrogate(n_members=3, max_iter=30, min_samples_leaf=5).fit(X, y, groups)
    oob = model.oob_prediction_
    assert oob.shape == (120,)
    assert np.isnan(oob[:5]).all()
    has = np.isfinite(oob)
    assert 0 < has.sum() < 115  # some groups were in every bootstrap, most not
    # out-of-bag predictions are honest but informative
    assert np.corrcoef(oob[has], y[has])[0, 1] > 0.8
