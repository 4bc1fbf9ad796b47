"""train_population: member i trains what the estimator with config i trains."""

from __future__ import annotations

import numpy as np
import pytest

from metaopt import ConfigError
from metaopt.models import MLPClassifier, MLPRegressor, train_population
from metaopt.models._core import Bucket, MemberSpec
from metaopt.models._population import resolve_config


def _configs(n: int, seed: int = 0) -> list[dict]:
    """Varied widths, shapes, learning rates, schedules, dropout, epochs, patience."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        out.append(
            {
                "width": int(rng.choice([16, 24, 48])),
                "shape": str(rng.choice(["shared", "tapering"])),
                "learning_rate": float(10 ** rng.uniform(-3, -1.5)),
                "dropout": float(rng.choice([0.0, 0.2])),
                "weight_decay": float(rng.choice([0.0, 1e-3])),
                "schedule": str(rng.choice(["constant", "cosine", "onecycle"])),
                "max_epochs": int(rng.integers(3, 12)),
                "patience": int(rng.integers(2, 5)),
                "batch_size": 64,
                "norm": ["none", "layer", "batch"][i % 3],
                "residual": bool(i % 2),
                "random_state": i,
            }
        )
    return out


def test_members_match_single_estimators(binary_data):
    Xtr, ytr, Xv, yv = binary_data
    configs = _configs(9)
    results = train_population(Xtr, ytr, Xv, yv, configs, "binary", device="cpu")
    assert len(results) == len(configs)
    assert max(r.members_in_pass for r in results) > 1  # members really were stacked
    for config, res in zip(configs, results, strict=True):
        est = MLPClassifier(**config, device="cpu").fit(Xtr, ytr)
        assert res.n_epochs == est.n_iter_
        assert res.best_epoch == est.best_epoch_
        np.testing.assert_allclose(res.val_output, est.predict_proba(Xv), atol=2e-3)
        assert abs(res.val_score - est.score(Xv, yv)) <= 0.01


def test_regression_members_match(regression_data):
    Xtr, ytr, Xv, yv = regression_data
    configs = [{"width": w, "max_epochs": 6, "batch_size": 50, "random_state": 3} for w in (16, 40)]
    results = train_population(Xtr, ytr, Xv, yv, configs, "regression", device="cpu")
    for config, res in zip(configs, results, strict=True):
        est = MLPRegressor(**config, device="cpu").fit(Xtr, ytr)
        np.testing.assert_allclose(res.val_output, est.predict(Xv), rtol=1e-3, atol=1e-3)
        assert res.val_score == pytest.approx(est.score(Xv, yv), abs=1e-3)


def test_seed_applies_to_configs_without_random_state(multiclass_data):
    Xtr, ytr, Xv, yv = multiclass_data
    config = {"width": 16, "max_epochs": 4}
    res = train_population(Xtr, ytr, Xv, yv, [config], "multiclass", device="cpu", seed=7)[0]
    assert res.config["random_state"] == 7
    est = MLPClassifier(**config, device="cpu", random_state=7).fit(Xtr, ytr)
    np.testing.assert_allclose(res.val_output, est.predict_proba(Xv), atol=1e-4)
    assert list(res.classes) == ["a", "b", "c"]


def test_members_do_not_mix(binary_data):
    """A member with learning rate 0 keeps its initial weights; padded units stay zero;
    a neighbour's presence does not change a member's result."""
    import torch

    Xtr, ytr, _, _ = binary_data
    X = torch.as_tensor(Xtr, dtype=torch.float32)
    Y = torch.as_tensor(ytr, dtype=torch.int64)
    idx = np.arange(len(Xtr))
    frozen = resolve_config({"width": 16, "learning_rate": 0.0, "early_stopping": False,
                             "max_epochs": 3, "dropout": 0.3}, 0)  # fmt: skip
    busy = resolve_config({"width": 32, "learning_rate": 0.05, "early_stopping": False,
                           "max_epochs": 3, "dropout": 0.3}, 1)  # fmt: skip
    specs = [MemberSpec(frozen, 0, idx, None), MemberSpec(busy, 1, idx, None)]
    bucket = Bucket(specs, X, Y, 2, True)
    before = {k: v.detach().clone() for k, v in bucket.P.items()}
    bucket.train(lambda b, f: None, compact=False)
    for k, v in bucket.P.items():
        torch.testing.assert_close(v[0], before[k][0], rtol=0, atol=0)
        assert not torch.equal(v[1], before[k][1])
    assert torch.count_nonzero(bucket.P["W0"][0, :, 16:]) == 0
    assert torch.count_nonzero(bucket.P["W1"][0, 16:, :]) == 0

    alone = Bucket([MemberSpec(busy, 1, idx, None)], X, Y, 2, True)
    alone.train(lambda b, f: None, compact=False)
    for k, v in alone.P.items():
        torch.testing.assert_close(v[0], bucket.P[k][1], rtol=1e-4, atol=1e-5)


def test_memory_budget_splits_passes_with_same_results(binary_data):
    Xtr, ytr, Xv, yv = binary_data
    configs = [{"width": 16, "max_epochs": 3, "random_state": i} for i in range(4)]
    one = train_population(Xtr, ytr, Xv, yv, configs, "binary", device="cpu")
    split = train_population(Xtr, ytr, Xv, yv, configs, "binary", device="cpu", max_members=1)
    assert {r.members_in_pass for r in one} == {4}
    assert {r.members_in_pass for r in split} == {1}
    for a, b in zip(one, split, strict=True):
        np.testing.assert_allclose(a.val_output, b.val_output, atol=1e-4)


def test_compaction_keeps_results(binary_data):
    Xtr, ytr, Xv, yv = binary_data
    configs = [{"width": 16, "max_epochs": e, "random_state": e} for e in (1, 1, 1, 6)]
    a = train_population(Xtr, ytr, Xv, yv, configs, "binary", device="cpu", compact=True)
    b = train_population(Xtr, ytr, Xv, yv, configs, "binary", device="cpu", compact=False)
    assert [r.n_epochs for r in a] == [1, 1, 1, 6]
    for ra, rb in zip(a, b, strict=True):
        np.testing.assert_allclose(ra.val_output, rb.val_output, atol=1e-4)


def test_bad_inputs_raise_config_error(binary_data):
    Xtr, ytr, Xv, yv = binary_data
    with pytest.raises(ConfigError, match="unknown MLP hyperparameter"):
        train_population(Xtr, ytr, Xv, yv, [{"depth": 3}], "binary", device="cpu")
    with pytest.raises(ConfigError, match="kind"):
        train_population(Xtr, ytr, Xv, yv, [{}], "ranking", device="cpu")
    with pytest.raises(ConfigError, match="same columns"):
        train_population(Xtr, ytr, Xv[:, :3], yv, [{}], "binary", device="cpu")
