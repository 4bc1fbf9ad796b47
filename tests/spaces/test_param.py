"""Param: unit coordinates, Optuna distributions and validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metaopt import ConfigError
from metaopt.spaces import Param

LR = Param("learning_rate", "float", 0.01, 1.0, log=True)
DEPTH = Param("depth", "int", 1, 10)
LEAVES = Param("leaves", "int", 4, 256, log=True)
KIND = Param("kind", "categorical", choices=(None, True, 1, "a"))


def test_float_unit_mapping_is_log_scaled() -> None:
    assert LR.from_unit(0.0) == pytest.approx(0.01)
    assert LR.from_unit(1.0) == pytest.approx(1.0)
    assert LR.from_unit(0.5) == pytest.approx(0.1)
    assert LR.to_unit(0.1) == pytest.approx(0.5)
    assert LR.from_unit(-3) == LR.from_unit(0) and LR.from_unit(7) == LR.from_unit(1)


def test_int_bins_are_equal_width() -> None:
    counts = np.bincount([DEPTH.from_unit(u) for u in np.linspace(0, 1, 10_000, endpoint=False)])
    assert counts[0] == 0 and all(c == 1000 for c in counts[1:])
    assert DEPTH.from_unit(1.0) == 10 and DEPTH.from_unit(0.0) == 1
    assert [DEPTH.to_unit(v) for v in (1, 10)] == [pytest.approx(0.05), pytest.approx(0.95)]


def test_categorical_bins_and_type_strict_matching() -> None:
    assert [KIND.from_unit(u) for u in (0.0, 0.3, 0.6, 1.0)] == [None, True, 1, "a"]
    assert KIND.index(True) == 1 and KIND.index(1) == 2  # True is not 1 here
    assert KIND.to_unit("a") == pytest.approx(0.875)


@given(st.floats(0, 1))
def test_unit_round_trip_on_values(u: float) -> None:
    for p in (LR, DEPTH, LEAVES, KIND):
        value = p.from_unit(u)
        assert p.from_unit(p.to_unit(value)) == value
        assert p.validate(value) == value


def test_to_optuna_matches_the_param() -> None:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    assert LR.to_optuna() == FloatDistribution(0.01, 1.0, log=True)
    assert LEAVES.to_optuna() == IntDistribution(4, 256, log=True)
    assert KIND.to_optuna() == CategoricalDistribution((None, True, 1, "a"))


def test_validate_normalises_types() -> None:
    assert DEPTH.validate(np.int64(3)) == 3 and type(DEPTH.validate(3.0)) is int
    assert type(LR.validate(1)) is float
    assert LR.validate(np.float64(0.5)) == 0.5


@pytest.mark.parametrize(
    ("param", "value"),
    [
        (LR, 0.001),
        (LR, 2.0),
        (LR, math.nan),
        (LR, "0.1"),
        (LR, True),
        (DEPTH, 0),
        (DEPTH, 11),
        (DEPTH, 2.5),
        (KIND, "b"),
        (KIND, 2),
    ],
)
def test_validate_rejects_with_rule_value_and_fix(param: Param, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        param.validate(value, "algo")
    message = str(info.value)
    assert param.name in message and repr(value) in message
    assert info.value.hint and param.name in info.value.hint


def test_conditions() -> None:
    child = Param("gamma", "float", 1e-3, 1.0, log=True, condition=("mode", ("value",)))
    assert child.is_active({"mode": "value"})
    assert not child.is_active({"mode": "scale"}) and not child.is_active({})


def test_bad_definitions_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        Param("x", "float", 0.0, 1.0, log=True)
    with pytest.raises(ValueError):
        Param("x", "categorical")
    with pytest.raises(ValueError):
        Param("x", "int", 5, 1)
