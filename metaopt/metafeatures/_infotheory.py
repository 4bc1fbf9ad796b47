"""Information-theoretic meta-features: attribute entropy, mutual information."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from metaopt.metafeatures._base import MetaFeatureGroup, nan_summary
from metaopt.metafeatures._context import Context

__all__ = ["InfoTheoryGroup"]


def _entropy_rows(counts: np.ndarray) -> np.ndarray:
    """Entropy in bits of each row of a 2-D count array."""
    tot = counts.sum(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        p = counts / tot
        h = -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0).sum(axis=1)
    return np.where(tot[:, 0] > 0, h, np.nan)


class InfoTheoryGroup(MetaFeatureGroup):
    """Entropies and mutual information of binned columns against the target.

    Numeric columns are cut into 10 equal-frequency bins (fewer when values tie),
    categorical columns keep their 31 most frequent levels plus "other"; a missing
    value is a level of its own. For regression the target is cut into 10
    equal-frequency bins, so the same features are defined for every task.
    """

    name = "infotheory"
    features = {
        "target_entropy": "entropy (bits) of the class, or of the 10-bin target, on the sample",
        **{f"attr_entropy_{s}": f"{s} over columns of the attribute entropy (bits)" for s in ("mean", "sd", "min", "max")},
        "joint_entropy_mean": "mean over columns of the joint entropy of attribute and target",
        **{f"mutual_info_{s}": f"{s} over columns of the mutual information with the target (bits)" for s in ("mean", "sd", "max")},
        "mutual_info_norm_mean": "mean over columns of mutual information / target entropy",
        "equivalent_n_attributes": "target entropy / mean mutual information",
        "noise_signal_ratio": "(mean attribute entropy - mean mutual information) / mean mutual information",
    }

    def compute(self, ctx: Context) -> Mapping[str, float]:
        t, k = ctx.target_bins
        if t.size == 0:
            return {}
        h_c = float(_entropy_rows(np.bincount(t, minlength=k)[None, :].astype(np.float64))[0])
        out: dict[str, float] = {"target_entropy": h_c}
        joint = ctx.contingency
        if joint.shape[0] == 0:
            return out
        p = joint.shape[0]
        h_a = _entropy_rows(joint.sum(axis=2))
        h_ac = _entropy_rows(joint.reshape(p, -1))
        mi = np.clip(h_a + h_c - h_ac, 0.0, None)
        out.update(nan_summary(h_a, "attr_entropy", ("mean", "sd", "min", "max")))
        out["joint_entropy_mean"] = float(np.nanmean(h_ac))
        out.update(nan_summary(mi, "mutual_info", ("mean", "sd", "max")))
        mi_mean = float(np.nanmean(mi))
        if h_c > 0:
            out["mutual_info_norm_mean"] = mi_mean / h_c
        if mi_mean > 0:
            out["equivalent_n_attributes"] = h_c / mi_mean
            out["noise_signal_ratio"] = (float(np.nanmean(h_a)) - mi_mean) / mi_mean
        return out
