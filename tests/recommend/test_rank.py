"""rank_candidates: surrogate order, diversification, prior blending, duplicates."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from metaopt import ConfigError
from metaopt.recommend import Recommender, diversify_order, rank_candidates
from metaopt.spaces import get_space


def test_diversify_caps_each_algorithm_at_half() -> None:
    algs = ["a", "a", "a", "a", "b", "c"]
    assert diversify_order(algs, [0, 1, 2, 3, 4, 5], 5) == [0, 1, 2, 4, 5]
    assert diversify_order(algs, [0, 1, 2, 3, 4, 5], 4) == [0, 1, 4, 5]


def test_diversify_fills_from_skipped_when_too_few_algorithms() -> None:
    assert diversify_order(["a"] * 4, [3, 2, 1, 0], 3) == [3, 2, 1]
    assert diversify_order(["a", "a", "b"], [0, 1, 2], 10) == [0, 1, 2]


@pytest.fixture(scope="module")
def ranked_inputs(tiny_models: Path):
    rec = Recommender.load(tiny_models / "models")
    mf = rec.surrogate_.encoder_.metafeature_names
    task_mf = {n: 0.0 for n in mf}
    return rec.surrogate_, task_mf, rec.transfer_.columns("binary")


def test_rank_is_sorted_by_mean_without_diversity(ranked_inputs) -> None:
    bundle, mf, cands = ranked_inputs
    out = rank_candidates(bundle, mf, "binary", cands, 6, diversify=False)
    means = [m for _, _, m, _ in out]
    assert len(out) == 6 and means == sorted(means, reverse=True)
    assert all(s > 0 and math.isfinite(s) for *_, s in out)


def test_rank_diversifies_and_dedupes(ranked_inputs) -> None:
    bundle, mf, cands = ranked_inputs
    out = rank_candidates(bundle, mf, "binary", cands + cands, 4)
    algs = [a for a, *_ in out]
    assert len(out) == 4 and max(algs.count(a) for a in set(algs)) <= 2
    assert len({(a, str(sorted(p.items()))) for a, p, *_ in out}) == 4


def test_prior_weight_one_orders_by_prior(ranked_inputs) -> None:
    bundle, mf, cands = ranked_inputs
    prior = [float(i) for i in range(len(cands))]
    out = rank_candidates(bundle, mf, "binary", cands, 3, diversify=False,
                          prior=prior, prior_weight=1.0)
    assert [p for _, p, *_ in out] == [cands[-1][1], cands[-2][1], cands[-3][1]]


def test_rank_rejects_bad_kind_and_prior_length(ranked_inputs) -> None:
    bundle, mf, cands = ranked_inputs
    with pytest.raises(ConfigError, match="kind"):
        rank_candidates(bundle, mf, "ranking", cands, 3)
    with pytest.raises(ConfigError, match="prior"):
        rank_candidates(bundle, mf, "binary", cands, 3, prior=[0.0])
    assert rank_candidates(bundle, mf, "binary", [], 3) == []
    assert get_space("hgb")  # the pool's algorithms are real spaces


class _TiedSurrogate:
    """Three candidates with the same mean; σ and member spread ordered oppositely."""

    def predict_configs(self, metafeatures, pairs, *, return_spread=False):
        import numpy as np

        mean = np.full(len(pairs), 0.9)
        std = np.array([0.01, 0.02, 0.03])[: len(pairs)]
        spread = np.array([0.3, 0.2, 0.1])[: len(pairs)]
        return (mean, std, spread) if return_spread else (mean, std)


def test_equal_means_are_ordered_by_member_spread_not_sigma() -> None:
    cands = [("hgb", {"learning_rate": lr}) for lr in (0.01, 0.1, 0.3)]
    out = rank_candidates(_TiedSurrogate(), {}, "binary", cands, 3, diversify=False)
    # the members agree most on the last one; σ (which the error head sets) is not the key
    assert [p["learning_rate"] for _, p, *_ in out] == [0.3, 0.1, 0.01]
    assert [s for *_, s in out] == [0.03, 0.02, 0.01]  # the reported σ stays the surrogate's
