"""The mlp search space (the shared contract suite covers the generic behaviour)."""

from __future__ import annotations

import numpy as np
import pytest

from metaopt import ConfigError
from metaopt.models import MLPClassifier, MLPRegressor, train_population
from metaopt.spaces import DataShape, get_space

SHAPE = DataShape(n_rows=500, n_features=6, kind="binary", n_classes=2)


def test_registered_and_conditional_params():
    space = get_space("mlp")
    names = [p.name for p in space.params(SHAPE)]
    assert {"hidden_layers", "width", "norm", "residual", "optimizer", "schedule"} <= set(names)
    cfg = space.validate({"shape": "shared", "optimizer": "adam"}, SHAPE)
    assert "taper_ratio" not in cfg and "momentum" not in cfg
    cfg = space.validate({"shape": "tapering", "optimizer": "sgd"}, SHAPE)
    assert "taper_ratio" in cfg and "momentum" in cfg
    with pytest.raises(ConfigError, match="momentum"):
        space.validate({"optimizer": "adam", "momentum": 0.9}, SHAPE)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_build_returns_metaopt_estimator(make_task, kind):
    space = get_space("mlp")
    task = make_task(kind, n_rows=80, n_numeric=3, n_categorical=1, missing=0.0, seed=0)
    pipe = space.to_estimator({"shape": "tapering", "optimizer": "sgd"}, task, seed=5)
    model = pipe.named_steps["model"]
    assert isinstance(model, MLPRegressor if kind == "regression" else MLPClassifier)
    assert model.random_state == 5 and model.device == "auto"
    assert model.shape == "tapering" and model.optimizer == "sgd"


def test_design_configs_train_as_a_population(make_task):
    """Every configuration a design draws is valid input to train_population."""
    space = get_space("mlp")
    task = make_task("binary", n_rows=60, n_numeric=2, n_categorical=0, missing=0.0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    configs = []
    for cfg in space.design(6, SHAPE, seed=1):
        model = space.build(space.validate(cfg, SHAPE), task, seed=0)
        params = model.get_params()
        params.update(max_epochs=2, width=min(params["width"], 32), batch_size=16)
        params.pop("device")
        configs.append(params)
    results = train_population(X[:40], y[:40], X[40:], y[40:], configs, "binary", device="cpu")
    assert len(results) == 6
    assert all(np.isfinite(r.val_loss) for r in results)
