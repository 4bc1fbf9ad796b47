"""Statistical meta-features of the numeric columns: moments, correlation, PCA."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from metaopt.metafeatures._base import MetaFeatureGroup, nan_summary
from metaopt.metafeatures._context import Context

__all__ = ["StatisticalGroup"]

_SUMMARIES = ("mean", "sd", "q10", "q50", "q90")


class StatisticalGroup(MetaFeatureGroup):
    """Summaries over the informative numeric columns of the row sample.

    Moments ignore missing values per column (no imputation); the correlation matrix
    is pairwise-complete; PCA is the eigen-decomposition of that correlation matrix
    (i.e. of standardised columns). NaN when there are no informative numeric
    columns (PCA and correlations need two).
    """

    name = "statistical"
    features = {
        **{f"skewness_{s}": f"{s} over numeric columns of the skewness" for s in _SUMMARIES},
        **{f"kurtosis_{s}": f"{s} over numeric columns of the excess kurtosis" for s in _SUMMARIES},
        "corr_abs_mean": "mean absolute Pearson correlation over pairs of numeric columns",
        "corr_abs_sd": "standard deviation of the absolute pairwise correlations",
        "corr_abs_max": "largest absolute pairwise correlation",
        "corr_high_share": "share of column pairs with absolute correlation >= 0.5",
        "cv_mean": "mean over numeric columns of the coefficient of variation sd/|mean|",
        "cv_q50": "median over numeric columns of the coefficient of variation",
        "outlier_share_mean": "mean over numeric columns of the share of values beyond 1.5 IQR",
        "outlier_share_max": "largest per-column share of values beyond 1.5 IQR",
        "outlier_column_share": "share of numeric columns with at least one value beyond 1.5 IQR",
        "pca_var_first": "share of variance on the first principal component (standardised)",
        "pca_var_first3": "share of variance on the first three principal components",
        "pca_n95": "number of principal components for 95% of the variance",
        "pca_n95_share": "components for 95% of the variance / numeric columns",
    }

    def compute(self, ctx: Context) -> Mapping[str, float]:
        if ctx.num.shape[1] == 0 or ctx.num.shape[0] == 0:
            return {}
        mom = ctx.num_moments
        out: dict[str, float] = {}
        out.update(nan_summary(mom["skewness"], "skewness", _SUMMARIES))
        out.update(nan_summary(mom["kurtosis"], "kurtosis", _SUMMARIES))

        with np.errstate(all="ignore"):
            cv = mom["sd"] / np.abs(mom["mean"])
        cv = cv[np.isfinite(cv)]
        if cv.size:
            out["cv_mean"] = float(cv.mean())
            out["cv_q50"] = float(np.median(cv))

        q1, q3 = ctx.num_quantile(0.25), ctx.num_quantile(0.75)
        iqr = q3 - q1
        x = ctx.num
        outside = (x < q1 - 1.5 * iqr) | (x > q3 + 1.5 * iqr)
        cnt = ctx.num_count
        share = np.where(cnt > 0, outside.sum(axis=0) / np.maximum(cnt, 1), np.nan)
        share = share[np.isfinite(share)]
        if share.size:
            out["outlier_share_mean"] = float(share.mean())
            out["outlier_share_max"] = float(share.max())
            out["outlier_column_share"] = float((share > 0).mean())

        r = ctx.correlation
        q = r.shape[0]
        if q >= 2:
            iu = np.triu_indices(q, k=1)
            a = np.abs(r[iu])
            a = a[np.isfinite(a)]
            if a.size:
                out["corr_abs_mean"] = float(a.mean())
                out["corr_abs_sd"] = float(a.std(ddof=1)) if a.size > 1 else np.nan
                out["corr_abs_max"] = float(a.max())
                out["corr_high_share"] = float((a >= 0.5).mean())
            rr = np.nan_to_num(r, nan=0.0)
            ev = np.clip(np.linalg.eigvalsh(rr)[::-1], 0.0, None)
            total = ev.sum()
            if total > 0:
                cum = np.cumsum(ev) / total
                n95 = int(np.searchsorted(cum, 0.95 - 1e-12) + 1)
                out["pca_var_first"] = float(cum[0])
                out["pca_var_first3"] = float(cum[min(2, q - 1)])
                out["pca_n95"] = float(n95)
                out["pca_n95_share"] = n95 / q
        elif q == 1:
            out.update(pca_var_first=1.0, pca_var_first3=1.0, pca_n95=1.0, pca_n95_share=1.0)
        return out
