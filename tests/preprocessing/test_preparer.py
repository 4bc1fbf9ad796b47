"""TabularPreparer: raw → prepared, idempotent, stable, scikit-learn compatible."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_estimator

from metaopt import ColumnError, ConfigError
from metaopt.preprocessing import TabularPreparer

RAW_CSV = """age,city,joined,flag,price,id
31,Oslo,2020-01-03 10:00,True,1.5,a1
?,Bergen,2021-06-30 12:30,False,inf,a2
47,,2020-02-01 10:00,True,n/a,a3
x,Oslo,?,False,2.25,a4
52,?,2022-12-24 08:15,True,-3,a5
"""

ROLES = {
    "age": "numeric",
    "city": "categorical",
    "joined": "datetime",
    "flag": "categorical",
    "price": "numeric",
}


@pytest.fixture
def raw() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(RAW_CSV))


def test_raw_frame_is_prepared(raw: pd.DataFrame) -> None:
    X = TabularPreparer(ROLES).fit_transform(raw)
    assert list(X.columns) == [
        "age", "city", "joined__year", "joined__month", "joined__day",
        "joined__dayofweek", "joined__hour", "flag", "price",
    ]  # fmt: skip
    assert X["age"].dtype == "float64"
    assert X["age"].isna().tolist() == [False, True, False, True, False]
    assert isinstance(X["city"].dtype, pd.CategoricalDtype)
    assert list(X["city"].cat.categories) == ["Bergen", "Oslo"]
    assert X["city"].isna().sum() == 2
    assert list(X["flag"].cat.categories) == ["False", "True"]
    assert X["price"].tolist()[0] == 1.5
    assert np.isnan(X["price"].iloc[1])  # inf -> NaN
    assert X["joined__year"].tolist()[:3] == [2020.0, 2021.0, 2020.0]
    assert np.isnan(X["joined__year"].iloc[3])
    assert "id" not in X.columns


def test_idempotent_on_prepared_frame(raw: pd.DataFrame) -> None:
    prep = TabularPreparer(ROLES).fit(raw)
    X = prep.transform(raw)
    pd.testing.assert_frame_equal(prep.transform(X), X)
    again = TabularPreparer(ROLES).fit_transform(X)
    pd.testing.assert_frame_equal(again, X)


def test_datetime_parts_fixed_at_fit() -> None:
    train = pd.DataFrame({"d": ["2020-01-01", "2020-03-01", "2020-03-05"]})
    prep = TabularPreparer({"d": "datetime"}).fit(train)
    assert prep.datetime_parts_ == {"d": ["month", "day", "dayofweek"]}
    test = pd.DataFrame({"d": ["2024-01-01 10:00"]})
    out = prep.transform(test)
    assert list(out.columns) == ["d__month", "d__day", "d__dayofweek"]
    assert list(prep.get_feature_names_out()) == list(out.columns)


def test_constant_datetime_keeps_year() -> None:
    out = TabularPreparer({"d": "datetime"}).fit_transform(pd.DataFrame({"d": ["2020-01-01"] * 3}))
    assert list(out.columns) == ["d__year"]


def test_categories_stable_and_unseen_values_appended() -> None:
    prep = TabularPreparer({"c": "categorical"}).fit(pd.DataFrame({"c": ["b", "a", "b"]}))
    out = prep.transform(pd.DataFrame({"c": ["z", "a"]}))
    assert list(out["c"].cat.categories) == ["a", "b", "z"]
    assert out["c"].tolist() == ["z", "a"]


def test_integral_floats_and_ints_give_same_labels() -> None:
    prep = TabularPreparer({"c": "categorical"})
    a = prep.fit_transform(pd.DataFrame({"c": [1, 2, 3]}))
    b = prep.fit_transform(pd.DataFrame({"c": [1.0, 2.0, np.nan]}))
    assert a["c"].tolist()[:2] == b["c"].tolist()[:2] == ["1", "2"]


def test_missing_column_is_a_column_error(raw: pd.DataFrame) -> None:
    prep = TabularPreparer(ROLES).fit(raw)
    with pytest.raises(ColumnError, match="'age'") as info:
        prep.transform(raw.drop(columns=["age"]))
    assert info.value.hint


def test_unknown_role_is_a_config_error(raw: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="'text'"):
        TabularPreparer({"age": "text"}).fit(raw)


def test_params_and_clone() -> None:
    prep = TabularPreparer(ROLES)
    assert prep.get_params() == {"roles": ROLES}
    assert clone(prep).roles == ROLES
    assert not hasattr(prep, "roles_")


def test_in_pipeline_with_numeric_model(raw: pd.DataFrame) -> None:
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.preprocessing import OneHotEncoder

    y = np.arange(len(raw), dtype=float)
    pipe = make_pipeline(
        TabularPreparer(ROLES),
        make_column_transformer(
            (SimpleImputer(), make_column_selector(dtype_include="number")),
            (
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_include="category"),
            ),
        ),
        LinearRegression(),
    ).fit(raw, y)
    assert pipe.predict(raw).shape == (len(raw),)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_check_estimator() -> None:
    check_estimator(TabularPreparer())


def test_numpy_input_with_the_columns_in_order_is_accepted_or_refused_clearly() -> None:
    """A spec's pipeline takes an array without names when its columns match by position."""
    from metaopt import load_task
    from metaopt._exceptions import ColumnError
    from metaopt.spaces import get_space

    penguins = Path(__file__).resolve().parents[2] / "datasets" / "examples" / "penguins.csv"
    raw = pd.read_csv(penguins)
    X, y = raw.drop(columns=["species"]), raw["species"]
    task = load_task(penguins)
    for algorithm in ("hgb", "linear"):
        fitted = get_space(algorithm).to_estimator({}, task).fit(X, y)
        assert (fitted.predict(X.to_numpy()) == fitted.predict(X)).all()
        on_array = get_space(algorithm).to_estimator({}, task).fit(X.to_numpy(), y)
        assert (on_array.predict(X.to_numpy()) == fitted.predict(X)).all()
        with pytest.raises(ColumnError, match="array without column names with 3 column") as err:
            fitted.predict(X.to_numpy()[:, :3])
        assert isinstance(err.value, ValueError)  # scikit-learn's convention
        assert "'island', 'bill_length_mm'" in str(err.value)


def test_data_and_config_errors_are_value_errors() -> None:
    from metaopt._exceptions import (
        ColumnError,
        ConfigError,
        DataError,
        DataFormatError,
        EvaluationError,
        TargetError,
    )

    for cls in (DataError, DataFormatError, TargetError, ColumnError, ConfigError, EvaluationError):
        assert issubclass(cls, ValueError), cls
