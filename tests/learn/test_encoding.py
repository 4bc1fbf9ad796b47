"""ConfigEncoder: column layout, unit coordinates, NaN for inactive params, scaler, JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metaopt._exceptions import ConfigError, ModelVersionError
from metaopt.learn import ConfigEncoder, reference_shape
from metaopt.spaces import ALGORITHMS, get_space


def test_default_layout_covers_every_algorithm_and_param():
    enc = ConfigEncoder(metafeature_names=["a", "b"])
    names = enc.feature_names
    assert names[:2] == ["mf:a", "mf:b"]
    assert names[2 : 2 + len(ALGORITHMS)] == [f"alg:{a}" for a in ALGORITHMS]
    assert len(names) == len(set(names)) == enc.n_features
    for alg in ALGORITHMS:
        for kind in ("binary", "regression"):
            for p in get_space(alg).params(reference_shape(kind)):
                if p.type == "categorical":
                    assert f"{alg}:{p.name}={json.dumps(p.choices[0])}" in names
                else:
                    assert f"{alg}:{p.name}" in names


def test_config_block_values():
    enc = ConfigEncoder(metafeature_names=["a"], algorithms=["hgb", "knn"])
    space = get_space("hgb")
    params = space.validate({"learning_rate": 0.1, "limit_depth": False}, reference_shape("binary"))
    X = enc.transform(
        {"a": 1.0}, ["hgb", "knn"], [params, {"n_neighbors": 5, "weights": "distance", "p": 1}]
    )
    col = {n: i for i, n in enumerate(enc.feature_names)}
    assert X.shape == (2, enc.n_features)
    assert X[0, col["alg:hgb"]] == 1 and X[0, col["alg:knn"]] == 0
    lr = next(p for p in space.params(reference_shape("binary")) if p.name == "learning_rate")
    assert X[0, col["hgb:learning_rate"]] == pytest.approx(lr.to_unit(0.1))
    assert X[0, col["hgb:limit_depth=false"]] == 1 and X[0, col["hgb:limit_depth=true"]] == 0
    assert np.isnan(X[0, col["hgb:max_depth"]])  # inactive: limit_depth is False
    assert np.isnan(X[0, col["knn:n_neighbors"]])  # another algorithm's parameter
    assert np.isnan(X[1, col["hgb:learning_rate"]])
    assert X[1, col['knn:weights="distance"']] == 1 and X[1, col["knn:p=1"]] == 1
    # canonical JSON strings (as the KB stores params) encode the same
    X2 = enc.encode_configs(["hgb"], [json.dumps(params)])
    np.testing.assert_array_equal(X2[0], X[0, enc.n_metafeatures :])


def test_scaler_is_robust_clipped_and_keeps_nan():
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0], "b": [1.0, 1.0, 1.0, 1.0, np.nan]})
    enc = ConfigEncoder(metafeature_names=["a", "b", "missing"], algorithms=["knn"], clip=3.0).fit(
        frame
    )
    np.testing.assert_allclose(enc.center_[:2], [2.0, 1.0])
    assert enc.scale_[0] == pytest.approx(2.0)  # IQR of 0..4
    assert enc.scale_[1] == 1.0  # constant column: no division by zero
    z = enc.scale_metafeatures(pd.DataFrame({"a": [4.0, 100.0, np.nan], "b": [1.0, 1.0, 1.0]}))
    np.testing.assert_allclose(z[:2, 0], [1.0, 3.0])  # 100 clipped to 3
    assert np.isnan(z[2, 0]) and np.isnan(z[:, 2]).all()
    assert not np.isnan(enc.impute(z)).any()


def test_json_round_trip_gives_identical_rows():
    enc = ConfigEncoder(metafeature_names=["a", "b"]).fit(
        pd.DataFrame({"a": [1.0, 5.0, 2.0], "b": [0.1, 0.2, np.nan]})
    )
    space = get_space("svm")
    configs = space.design(8, reference_shape("binary"), seed=1)
    mf = pd.DataFrame({"a": np.linspace(0, 6, 8), "b": [np.nan] * 4 + [0.3] * 4})
    X = enc.transform(mf, ["svm"] * 8, configs)
    enc2 = ConfigEncoder.from_json(json.loads(json.dumps(enc.to_json())))
    assert enc2.feature_names == enc.feature_names
    np.testing.assert_array_equal(enc2.transform(mf, ["svm"] * 8, configs), X)


def test_errors():
    enc = ConfigEncoder(metafeature_names=["a"], algorithms=["knn"])
    with pytest.raises(ConfigError, match="not 'hgb'"):
        enc.encode_configs(["hgb"], [{}])
    with pytest.raises(ConfigError, match="weights"):
        enc.encode_configs(["knn"], [{"weights": "cosine"}])
    with pytest.raises(ValueError, match="meta-feature rows"):
        enc.transform(pd.DataFrame({"a": [1.0, 2.0]}), ["knn"] * 3, [{}] * 3)
    bad = enc.to_json() | {"format_version": 99}
    with pytest.raises(ModelVersionError, match="metaopt train"):
        ConfigEncoder.from_json(bad)
