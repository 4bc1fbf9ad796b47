"""Small data sets for the estimator tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Fast algorithms (no torch import, no forests) for tests that are not about the choice.
FAST_ALGORITHMS = ["linear", "knn", "hgb"]


def mixed_frame(n_rows: int = 120, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric, categorical and text columns with NaN, and a binary string target."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n_rows)
    b = rng.normal(loc=10, scale=3, size=n_rows)
    colour = rng.choice(["red", "green", "blue"], size=n_rows)
    score = a - 0.3 * (b - 10) + (colour == "red") * 1.5 + rng.normal(scale=0.5, size=n_rows)
    X = pd.DataFrame(
        {
            "a": a,
            "b": b,
            "colour": pd.Series(colour, dtype="string"),
            "size": pd.Categorical(rng.choice(["S", "M", "L"], size=n_rows)),
            "count": rng.integers(0, 5, size=n_rows),
        }
    )
    X.loc[rng.random(n_rows) < 0.1, "a"] = np.nan
    X.loc[rng.random(n_rows) < 0.1, "colour"] = pd.NA
    y = pd.Series(np.where(score > np.median(score), "yes", "no"), name="label")
    return X, y


def regression_data(n_rows: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 4))
    y = 3 * X[:, 0] - 2 * X[:, 1] + X[:, 2] * X[:, 3] + rng.normal(scale=0.3, size=n_rows)
    return X, y
