"""Simple meta-features: size, column types, missing values, target distribution."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from metaopt.metafeatures._base import MetaFeatureGroup
from metaopt.metafeatures._context import Context

__all__ = ["SimpleGroup"]


def entropy_bits(counts: np.ndarray) -> float:
    """Shannon entropy (bits) of a vector of counts; 0 for a single level."""
    c = np.asarray(counts, dtype=np.float64)
    c = c[c > 0]
    if c.size == 0:
        return float("nan")
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


class SimpleGroup(MetaFeatureGroup):
    """Counts and shares computed on the full data (no sampling)."""

    name = "simple"
    features = {
        "n_rows": "number of rows",
        "n_columns": "number of feature columns",
        "log_n_rows": "natural log of the number of rows",
        "log_n_columns": "natural log of the number of feature columns",
        "log_rows_per_column": "log(rows / columns); negative for wide tables",
        "n_numeric": "number of numeric columns",
        "n_categorical": "number of categorical columns",
        "share_numeric": "numeric columns / columns",
        "share_categorical": "categorical columns / columns",
        "share_constant": "columns that are constant or entirely missing / columns",
        "missing_cell_share": "missing cells / all cells",
        "missing_column_share": "columns with at least one missing value / columns",
        "missing_row_share": "rows with at least one missing value / rows",
        "n_classes": "number of classes (classification; NaN for regression)",
        "class_entropy": "Shannon entropy of the class distribution in bits (classification)",
        "class_entropy_norm": "class entropy / log2(number of classes) (classification)",
        "class_share_min": "share of the rarest class (classification)",
        "class_share_max": "share of the most frequent class (classification)",
        "class_imbalance_ratio": "rarest / most frequent class count (classification)",
        "target_skewness": "skewness of the target (regression; NaN for classification)",
        "target_kurtosis": "excess kurtosis of the target (regression)",
        "target_unique_share": "distinct target values / rows (regression)",
    }

    def compute(self, ctx: Context) -> Mapping[str, float]:
        # Counts are of the whole source (n_total); shares of the rows in hand (n).
        n, n_total, p = ctx.n_rows, ctx.n_rows_total, ctx.n_columns
        n_num, n_cat = len(ctx.num_names_all), len(ctx.cat_names_all)
        n_const = int(ctx.num_constant.sum() + ctx.cat_constant.sum())
        n_missing_cols = int((ctx.num_missing > 0).sum() + (ctx.cat_missing > 0).sum())
        cells = n * p
        out: dict[str, float] = {
            "n_rows": n_total,
            "n_columns": p,
            "log_n_rows": np.log(n_total) if n_total else np.nan,
            "log_n_columns": np.log(p) if p else np.nan,
            "log_rows_per_column": np.log(n_total / p) if n_total and p else np.nan,
            "n_numeric": n_num,
            "n_categorical": n_cat,
            "share_numeric": n_num / p if p else np.nan,
            "share_categorical": n_cat / p if p else np.nan,
            "share_constant": n_const / p if p else np.nan,
            "missing_cell_share": (
                (ctx.num_missing.sum() + ctx.cat_missing.sum()) / cells if cells else np.nan
            ),
            "missing_column_share": n_missing_cols / p if p else np.nan,
            "missing_row_share": ctx.n_rows_missing / n if n else np.nan,
        }
        if ctx.is_classification and ctx.n_classes:
            counts = ctx.class_counts.astype(np.float64)
            k = ctx.n_classes
            h = entropy_bits(counts)
            out.update(
                n_classes=k,
                class_entropy=h,
                class_entropy_norm=h / np.log2(k) if k > 1 else np.nan,
                class_share_min=counts.min() / counts.sum(),
                class_share_max=counts.max() / counts.sum(),
                class_imbalance_ratio=counts.min() / counts.max(),
            )
        elif not ctx.is_classification:
            y = ctx.y_full[np.isfinite(ctx.y_full)]
            if y.size:
                d = y - y.mean()
                m2 = float(np.mean(d * d))
                if m2 > 0:
                    out["target_skewness"] = float(np.mean(d**3)) / m2**1.5
                    out["target_kurtosis"] = float(np.mean(d**4)) / m2**2 - 3.0
                out["target_unique_share"] = np.unique(y).size / y.size
        return {k: float(v) for k, v in out.items()}
