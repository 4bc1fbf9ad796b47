"""Never raises on odd but valid tasks; stays defined where the feature is defined."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metaopt.metafeatures import FEATURE_NAMES, extract
from metaopt.tasks import Task


def _task(X: pd.DataFrame, y: pd.Series, kind: str = "binary") -> Task:
    return Task(X=X, y=y, kind=kind, task_id="t", name="t")  # type: ignore[arg-type]


def _labels(n: int, k: int = 2) -> pd.Series:
    return pd.Series(pd.Categorical([f"c{i % k}" for i in range(n)]))


def _check(task: Task) -> dict[str, float]:
    mf = extract(task)
    assert mf.names == FEATURE_NAMES
    values = mf.to_array()
    assert not np.isinf(values).any()
    return mf.to_dict()


def test_single_constant_column() -> None:
    got = _check(_task(pd.DataFrame({"a": np.ones(30)}), _labels(30)))
    assert got["share_constant"] == 1.0
    assert math.isnan(got["skewness_mean"]) and math.isnan(got["lm_stump"])


def test_all_missing_column() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": np.full(50, np.nan), "b": rng.normal(size=50)})
    got = _check(_task(X, _labels(50)))
    assert got["missing_column_share"] == 0.5 and got["share_constant"] == 0.5
    assert math.isfinite(got["skewness_mean"]) and math.isfinite(got["lm_stump"])


def test_one_row_per_class_pair() -> None:
    # The Task contract guarantees at least two rows per class.
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=20), "b": rng.normal(size=20)})
    y = pd.Series(pd.Categorical([f"k{i // 2}" for i in range(20)]))
    got = _check(_task(X, y, "multiclass"))
    assert got["n_classes"] == 10


def test_thousand_level_categorical_with_missing() -> None:
    rng = np.random.default_rng(2)
    n = 5000
    X = pd.DataFrame(
        {
            "big": pd.Categorical(rng.integers(0, 1000, n).astype(str)),
            "x": np.where(rng.random(n) < 0.05, np.nan, rng.normal(size=n)),
        }
    )
    got = _check(_task(X, _labels(n)))
    assert got["cat_cardinality_max"] > 900 and got["cat_high_cardinality_share"] == 1.0
    assert all(math.isfinite(got[k]) for k in ("mutual_info_mean", "lm_1nn", "skewness_mean"))


def test_text_like_column() -> None:
    n = 300
    X = pd.DataFrame({"text": pd.Categorical([f"free text number {i}" for i in range(n)])})
    got = _check(_task(X, _labels(n)))
    assert got["cat_cardinality_max"] == n
    assert math.isfinite(got["noise_signal_ratio"])


def test_ten_thousand_columns() -> None:
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(60, 10_000)), columns=[f"c{j}" for j in range(10_000)])
    mf = extract(_task(X, _labels(60)))
    assert mf.n_columns_used == 200 and mf["n_columns"] == 10_000
    assert math.isfinite(mf["corr_abs_mean"]) and math.isfinite(mf["lm_linear"])


@pytest.mark.parametrize("kind", ["regression", "binary"])
def test_integer_valued_and_huge_values(kind: str) -> None:
    rng = np.random.default_rng(4)
    X = pd.DataFrame(
        {"count": rng.poisson(2, 200).astype(float), "big": rng.normal(size=200) * 1e150}
    )
    y = pd.Series(rng.normal(size=200)) if kind == "regression" else _labels(200)
    got = _check(_task(X, y, kind))
    assert math.isfinite(got["corr_abs_mean"]) and math.isfinite(got["lm_tree_depth3"])


def test_regression_target_is_not_treated_as_classes() -> None:
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"x": rng.normal(size=1000)})
    got = _check(_task(X, pd.Series(rng.normal(size=1000)), "regression"))
    assert math.isnan(got["n_classes"])
    assert got["target_entropy"] == pytest.approx(np.log2(10))
