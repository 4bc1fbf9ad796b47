"""Configurations and their stable ids."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from metaopt import ConfigError
from metaopt.spaces import Config, canonical_json, config_id

KNN = {"n_neighbors": 5, "weights": "uniform", "p": 2}


def test_canonical_json_sorts_keys_and_drops_spaces() -> None:
    text = canonical_json("knn", {"weights": "uniform", "p": 2, "n_neighbors": 5})
    assert text == '{"algorithm":"knn","params":{"n_neighbors":5,"p":2,"weights":"uniform"}}'


def test_config_id_is_a_hard_coded_sha1_prefix() -> None:
    # fixed forever: knowledge-base rows are keyed by it
    assert config_id("knn", KNN) == "8531ad1ec11738de"
    expected = hashlib.sha1(canonical_json("knn", KNN).encode()).hexdigest()[:16]
    assert config_id("knn", KNN) == expected


def test_config_id_is_stable_across_processes() -> None:
    code = "from metaopt.spaces import config_id; print(config_id('knn', {'p': 2, 'weights': 'uniform', 'n_neighbors': 5}))"
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "8531ad1ec11738de"


def test_config_id_normalises_numpy_and_negative_zero() -> None:
    a = config_id("x", {"a": 0.5, "b": 3, "c": 0.0})
    assert config_id("x", {"c": -0.0, "b": np.int64(3), "a": np.float64(0.5)}) == a
    assert config_id("y", {"a": 0.5, "b": 3, "c": 0.0}) != a
    assert config_id("x", {"a": 0.5000000001, "b": 3, "c": 0.0}) != a


def test_config_id_rejects_non_json_values() -> None:
    with pytest.raises(ConfigError, match="'params.a'"):
        config_id("x", {"a": float("nan")})
    with pytest.raises(ConfigError, match="set"):
        config_id("x", {"a": {1, 2}})


def test_config_json_round_trip_and_equality() -> None:
    config = Config("knn", dict(KNN))
    assert config.config_id == "8531ad1ec11738de"
    again = Config.from_json(config.to_json())
    assert again == config and hash(again) == hash(config)
    assert again.params == KNN
    assert {config, again} == {config}


def test_config_from_dict_checks_the_stored_id() -> None:
    data = Config("knn", dict(KNN)).to_dict()
    data["params"]["n_neighbors"] = 6
    with pytest.raises(ConfigError, match="hashes to"):
        Config.from_dict(data)
    with pytest.raises(ConfigError, match="algorithm"):
        Config.from_dict({"params": {}})
    with pytest.raises(ConfigError, match="JSON"):
        Config.from_json("{not json")
