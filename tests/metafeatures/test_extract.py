"""extract(): the fixed name list, the result type, definitions checked by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import metaopt
from metaopt import ConfigError
from metaopt.metafeatures import (
    FEATURE_DESCRIPTIONS,
    FEATURE_GROUPS,
    FEATURE_NAMES,
    GROUPS,
    VERSION,
    MetaFeatures,
    describe,
    extract,
)
from metaopt.tasks import Task

CLASSIFICATION_ONLY = {
    "n_classes",
    "class_entropy",
    "class_entropy_norm",
    "class_share_min",
    "class_share_max",
    "class_imbalance_ratio",
    "lm_naive_bayes",
}
REGRESSION_ONLY = {"target_skewness", "target_kurtosis", "target_unique_share"}


def test_names_are_documented_and_unique() -> None:
    assert len(FEATURE_NAMES) >= 40
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert list(FEATURE_DESCRIPTIONS) == list(FEATURE_NAMES)
    assert {FEATURE_GROUPS[n] for n in FEATURE_NAMES} == {g.name for g in GROUPS}
    rows = describe()
    assert [r[0] for r in rows] == list(FEATURE_NAMES)
    assert all(desc and "\n" not in desc for _, _, desc in rows)
    assert isinstance(VERSION, str) and VERSION


def test_docs_list_every_feature() -> None:
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "metafeatures.md"
    text = doc.read_text(encoding="utf-8")
    missing = [n for n in FEATURE_NAMES if f"`{n}`" not in text]
    assert not missing
    assert VERSION in text


@pytest.mark.parametrize("fixture", ["binary_task", "multiclass_task", "regression_task"])
def test_same_names_for_every_task(fixture: str, request: pytest.FixtureRequest) -> None:
    task = request.getfixturevalue(fixture)
    mf = extract(task)
    assert isinstance(mf, MetaFeatures)
    assert mf.names == FEATURE_NAMES
    assert list(mf) == list(FEATURE_NAMES)
    assert mf.version == VERSION
    arr = mf.to_array()
    assert arr.shape == (len(FEATURE_NAMES),) and arr.dtype == np.float64
    undefined = {n for n in FEATURE_NAMES if math.isnan(mf[n])}
    expected = REGRESSION_ONLY if task.is_classification else CLASSIFICATION_ONLY
    # Mixed data with missing values: every feature defined for the kind is defined.
    assert undefined == expected


def test_result_is_immutable_and_serialisable(binary_task: Task) -> None:
    mf = extract(binary_task)
    with pytest.raises(AttributeError):
        mf.version = "x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        mf._values[0] = 1.0  # type: ignore[attr-defined]
    mf.to_array()[0] = 123.0
    assert mf["n_rows"] == 200.0
    assert mf.to_dict() == dict(mf.items()) or all(
        (a == b) or (math.isnan(a) and math.isnan(b))
        for a, b in zip(mf.to_dict().values(), mf.values(), strict=False)
    )
    json.dumps(mf.info())
    assert mf.n_rows_used == 200 and mf.n_rows == 200
    assert 0 < mf.n_rows_landmark <= 200
    assert mf.n_columns_used == 6
    assert "MetaFeatures(" in repr(mf)


def test_deterministic(binary_task: Task) -> None:
    a, b = extract(binary_task).to_array(), extract(binary_task).to_array()
    np.testing.assert_array_equal(a, b)


def test_groups_subset_and_unknown(binary_task: Task) -> None:
    mf = extract(binary_task, groups=["statistical", "simple"])
    assert mf.groups == ("simple", "statistical")
    assert all(FEATURE_GROUPS[n] in ("simple", "statistical") for n in mf)
    assert mf.n_rows_landmark == 0
    with pytest.raises(ConfigError, match="unknown meta-feature group"):
        extract(binary_task, groups=["nope"])


def test_lazy_export() -> None:
    assert metaopt.extract_metafeatures is extract


def _numeric_task(X: np.ndarray, y: np.ndarray, kind: str = "binary") -> Task:
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    ys = pd.Series(y.astype(float)) if kind == "regression" else pd.Series(pd.Categorical(y))
    return Task(X=df, y=ys, kind=kind, task_id="t", name="t")  # type: ignore[arg-type]


def test_values_match_reference_formulas() -> None:
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.exponential(size=500), rng.normal(size=500), rng.uniform(size=500)])
    X[:, 2] = X[:, 1] * 0.8 + X[:, 2]
    y = np.where(rng.random(500) < 0.3, "a", "b")
    mf = extract(_numeric_task(X, y))
    skew = stats.skew(X, axis=0)
    kurt = stats.kurtosis(X, axis=0)
    assert mf["skewness_mean"] == pytest.approx(skew.mean())
    assert mf["skewness_q50"] == pytest.approx(np.median(skew))
    assert mf["kurtosis_mean"] == pytest.approx(kurt.mean())
    r = np.abs(np.corrcoef(X.T)[np.triu_indices(3, 1)])
    assert mf["corr_abs_mean"] == pytest.approx(r.mean())
    assert mf["corr_abs_max"] == pytest.approx(r.max())
    ev = np.sort(np.linalg.eigvalsh(np.corrcoef(X.T)))[::-1]
    assert mf["pca_var_first"] == pytest.approx(ev[0] / ev.sum())
    p = np.array([np.mean(y == "a"), np.mean(y == "b")])
    assert mf["class_entropy"] == pytest.approx(-(p * np.log2(p)).sum())
    assert mf["class_share_min"] == pytest.approx(p.min())
    assert mf["n_classes"] == 2


def test_mutual_information_matches_sklearn() -> None:
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(4)
    levels = rng.integers(0, 5, size=400)
    y = np.where(levels + rng.integers(0, 3, size=400) > 3, "p", "q")
    X = pd.DataFrame({"c": pd.Categorical(levels.astype(str))})
    task = Task(X=X, y=pd.Series(pd.Categorical(y)), kind="binary", task_id="t", name="t")
    mf = extract(task)
    mi_bits = mutual_info_score(levels, y) / np.log(2)
    assert mf["mutual_info_mean"] == pytest.approx(mi_bits)
    assert mf["cat_cardinality_mean"] == 5


def test_landmarkers_see_signal() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(600, 4))
    y = np.where(X[:, 0] > 0, "a", "b")
    mf = extract(_numeric_task(X, y), groups=["landmarking"])
    assert mf["lm_stump"] > 0.9
    assert mf["lm_tree_depth3"] > 0.9
    assert mf["lm_linear"] > 0.9
    noise = extract(_numeric_task(X, rng.permutation(y)), groups=["landmarking"])
    assert noise["lm_stump"] < 0.65
    reg = extract(_numeric_task(X, X[:, 1] * 3 + rng.normal(size=600) * 0.1, "regression"))
    assert reg["lm_linear"] > 0.95
    assert math.isnan(reg["lm_naive_bayes"])
