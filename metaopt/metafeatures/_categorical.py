"""Categorical-structure meta-features: cardinalities and encoding width."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from metaopt.metafeatures._base import MetaFeatureGroup, nan_summary
from metaopt.metafeatures._context import Context

__all__ = ["CategoricalGroup"]

HIGH_CARDINALITY = 32


class CategoricalGroup(MetaFeatureGroup):
    """Level counts of the informative categorical columns, on the full data.

    A level counts when it occurs at least once (unused categories of the dtype are
    ignored). NaN when there is no informative categorical column, except
    ``onehot_expansion`` which is defined for every table.
    """

    name = "categorical"
    features = {
        **{f"cat_cardinality_{s}": f"{s} over categorical columns of the number of levels" for s in ("mean", "sd", "min", "max")},
        "cat_high_cardinality_share": f"share of categorical columns with more than {HIGH_CARDINALITY} levels",
        "cat_binary_share": "share of categorical columns with exactly two levels",
        "cat_rare_level_share": "share of all levels that cover less than 1% of their column's values",
        "onehot_expansion": "one-hot encoded width / informative columns (1 without categoricals)",
    }

    def compute(self, ctx: Context) -> Mapping[str, float]:
        informative = ~ctx.cat_constant
        levels = ctx.cat_levels[informative].astype(np.float64)
        n_num = int((~ctx.num_constant).sum())
        out: dict[str, float] = {}
        if n_num + levels.size:
            out["onehot_expansion"] = (n_num + levels.sum()) / (n_num + levels.size)
        if levels.size == 0:
            return out
        out.update(nan_summary(levels, "cat_cardinality", ("mean", "sd", "min", "max")))
        out["cat_high_cardinality_share"] = float((levels > HIGH_CARDINALITY).mean())
        out["cat_binary_share"] = float((levels == 2).mean())
        rare = total = 0
        for j in np.flatnonzero(informative):
            codes = ctx.cat_full[:, j]
            counts = np.bincount(codes[codes >= 0])
            counts = counts[counts > 0]
            rare += int((counts < 0.01 * counts.sum()).sum())
            total += counts.size
        out["cat_rare_level_share"] = rare / total if total else np.nan
        return out
