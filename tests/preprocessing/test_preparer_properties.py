"""Property: preparing is idempotent and matches column by column, on generated raw frames."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaopt.preprocessing import TabularPreparer

TOKENS = st.sampled_from(["?", "NA", "", " 3 ", "x", "inf", "-2.5", "1e3", "7", None])
LABELS = st.sampled_from(["a", "b", " a", "?", None, "1", "1.0"])


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    nums=st.lists(TOKENS, min_size=1, max_size=12),
    floats=st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=12
    ),
    cats=st.lists(LABELS, min_size=1, max_size=12),
)
def test_idempotent_on_generated_frames(nums: list, floats: list, cats: list) -> None:
    n = min(len(nums), len(floats), len(cats))
    raw = pd.DataFrame(
        {
            "s": pd.Series(nums[:n], dtype=object),
            "f": pd.Series(floats[:n], dtype="float64"),
            "c": pd.Series(cats[:n], dtype=object),
        }
    )
    roles = {"s": "numeric", "f": "numeric", "c": "categorical"}
    prep = TabularPreparer(roles).fit(raw)
    X = prep.transform(raw)
    assert list(X.columns) == ["s", "f", "c"]
    assert X["s"].dtype == "float64" and X["f"].dtype == "float64"
    assert isinstance(X["c"].dtype, pd.CategoricalDtype)
    assert not X[["s", "f"]].isin([float("inf"), float("-inf")]).any().any()
    pd.testing.assert_frame_equal(prep.transform(X), X)
    pd.testing.assert_frame_equal(TabularPreparer(roles).fit_transform(X), X)
