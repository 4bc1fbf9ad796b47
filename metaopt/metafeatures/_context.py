"""The shared, precomputed view of a task that every meta-feature group reads.

Everything expensive is computed lazily (``functools.cached_property``) and at most
once per :func:`~metaopt.metafeatures.extract` call, so a group that is not selected
costs nothing and two groups never redo the same work.

Determinism and invariances
---------------------------
* Columns are put in a canonical order (sorted by name) first, so every feature is
  invariant to column order.
* Rows are ordered by a hash of their feature values mixed with ``random_state``,
  never by position: the row samples and the landmarkers' folds are the same after
  the rows of a table are shuffled.
* Class codes are canonical (by frequency, then category order), so renaming the
  class labels changes nothing.
* Columns that are constant or entirely missing (on the full data) are counted by the
  ``simple`` group and ignored by every per-column group.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from metaopt.tasks import Task

__all__ = ["Context", "Limits"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_NAN_BITS = np.float64(np.nan).view(np.uint64)
_MAX_HASH_COLUMNS = 16


class Limits:
    """Sample sizes used by the expensive groups (documented in docs/metafeatures.md).

    Attributes
    ----------
    max_rows
        Rows (stratified) for the statistical, information-theoretic groups.
    max_corr_rows
        Rows of that sample used for the correlation matrix and PCA.
    max_columns
        Informative columns (numeric + categorical) used by the per-column groups.
    max_landmark_rows
        Rows (stratified) for the landmarkers' 3-fold cross-validation.
    max_landmark_columns
        Source columns used by the landmarkers (before one-hot encoding).
    n_bins
        Equal-frequency bins per numeric column (and for a regression target) in the
        information-theoretic group.
    max_levels
        Most frequent categorical levels kept by the information-theoretic group; the
        rest are merged into one "other" level.
    """

    max_rows = 10_000
    max_corr_rows = 5_000
    max_columns = 200
    max_landmark_rows = 2_000
    max_landmark_columns = 64
    n_bins = 10
    max_levels = 32
    n_folds = 3


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, vectorised (uint64 arithmetic wraps around)."""
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


class Context:
    """Canonicalised, encoded and subsampled data shared by all groups.

    Parameters
    ----------
    task
        The task (see the Task contract: float64 numeric and ``category`` columns).
    random_state
        Seed for the row hash, the column subset and the random-stump landmarker.
    limits
        Sample-size caps; the defaults are documented.
    """

    def __init__(self, task: Task, random_state: int = 0, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.random_state = int(random_state)
        self.kind = str(task.kind)
        self.is_classification = self.kind != "regression"
        X = task.X
        self.n_rows = int(X.shape[0])
        #: Rows of the whole source (``Task.n_rows_total``): the count features use it
        #: when ``X`` is a sample of a large file; everything else describes ``X``.
        self.n_rows_total = int(getattr(task, "n_rows_total", self.n_rows))
        self.n_columns = int(X.shape[1])

        cat_names: list[str] = []
        num_names: list[str] = []
        for name, dtype in X.dtypes.items():
            (cat_names if isinstance(dtype, pd.CategoricalDtype) else num_names).append(name)
        num_names.sort(key=str)
        cat_names.sort(key=str)
        self.num_names_all: list = num_names
        self.cat_names_all: list = cat_names

        # Full-data numeric matrix (one copy at most) and categorical codes.
        if num_names:
            num = X[num_names].to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            num = np.empty((self.n_rows, 0), dtype=np.float64)
        self.num_full: np.ndarray = num
        self.cat_full: np.ndarray = (
            np.column_stack([X[c].cat.codes.to_numpy(dtype=np.int32) for c in cat_names])
            if cat_names
            else np.empty((self.n_rows, 0), dtype=np.int32)
        )

        num_nan = np.isnan(num)
        self.num_missing = num_nan.sum(axis=0)
        cat_nan = self.cat_full < 0
        self.cat_missing = cat_nan.sum(axis=0)
        row_missing = np.zeros(self.n_rows, dtype=bool)
        if num.shape[1]:
            row_missing |= num_nan.any(axis=1)
        if self.cat_full.shape[1]:
            row_missing |= cat_nan.any(axis=1)
        self.n_rows_missing = int(row_missing.sum())
        del num_nan, cat_nan, row_missing

        if num.shape[1] and self.n_rows:
            lo = np.fmin.reduce(num, axis=0)
            hi = np.fmax.reduce(num, axis=0)
            self.num_constant = ~(hi > lo)  # also True when all missing (NaN)
        else:
            self.num_constant = np.ones(num.shape[1], dtype=bool)
        levels = []
        for j, c in enumerate(cat_names):
            codes = self.cat_full[:, j]
            n_cat = len(X[c].cat.categories)
            counts = np.bincount(codes[codes >= 0], minlength=n_cat) if n_cat else np.zeros(0)
            levels.append(int((counts > 0).sum()))
        self.cat_levels = np.asarray(levels, dtype=np.int64)
        self.cat_constant = self.cat_levels <= 1

        # Target.
        if self.is_classification:
            codes = task.y.cat.codes.to_numpy(dtype=np.int64)
            counts = np.bincount(codes[codes >= 0], minlength=len(task.y.cat.categories))
            present = np.flatnonzero(counts > 0)
            order = present[np.argsort(-counts[present], kind="stable")]
            lut = np.full(max(len(counts), 1), -1, dtype=np.int64)
            lut[order] = np.arange(order.size)
            self.y_full: np.ndarray = lut[codes]
            self.class_counts = counts[order]
            self.n_classes = int(order.size)
        else:
            self.y_full = task.y.to_numpy(dtype=np.float64, na_value=np.nan)
            self.class_counts = np.zeros(0, dtype=np.int64)
            self.n_classes = 0

    # ----------------------------------------------------------------- rows
    @cached_property
    def row_key(self) -> np.ndarray:
        """A uint64 hash of each row's values (up to 16 columns) mixed with the seed."""
        seed = _mix(np.asarray([self.random_state], dtype=np.uint64) + _GOLDEN)[0]
        h = np.full(self.n_rows, seed, dtype=np.uint64)
        used = 0
        for j in range(self.num_full.shape[1]):
            if used >= _MAX_HASH_COLUMNS:
                break
            if self.num_constant[j]:
                continue
            col = self.num_full[:, j]
            bits = np.where(col == col, np.ascontiguousarray(col).view(np.uint64), _NAN_BITS)
            h = (h ^ bits) * _GOLDEN
            used += 1
        for j in range(self.cat_full.shape[1]):
            if used >= _MAX_HASH_COLUMNS:
                break
            if self.cat_constant[j]:
                continue
            h = (h ^ self.cat_full[:, j].astype(np.uint64)) * _GOLDEN
            used += 1
        return _mix(h)

    def _sample(self, m: int, min_per_class: int) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``m`` rows, stratified by class, chosen by smallest row key.

        Returns the row indices and, for each, its rank within its class (or within
        the whole sample for regression) in key order, used to assign folds.
        """
        n = self.n_rows
        key = self.row_key
        if not self.is_classification or self.n_classes == 0:
            if n > m:
                part = np.argpartition(key, m - 1)[:m]
                rows = part[np.argsort(key[part], kind="stable")]
            else:
                rows = np.argsort(key, kind="stable")
            return rows, np.arange(rows.size)
        y = self.y_full
        counts = self.class_counts
        quota = np.floor(counts * (m / max(n, 1))).astype(np.int64)
        quota = np.minimum(counts, np.maximum(quota, min_per_class))
        # One sort on (class, key): class in the top bits, the key below.
        shift = np.uint64(max(1, int(np.ceil(np.log2(self.n_classes + 1)))))
        composite = (y.astype(np.uint64) << (np.uint64(64) - shift)) | (key >> shift)
        order = np.argsort(composite, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        pos = np.arange(n) - np.repeat(starts, counts)
        keep = pos < np.repeat(quota, counts)
        return order[keep], pos[keep]

    @cached_property
    def rows(self) -> np.ndarray:
        """Row indices of the sample used by the statistical and information groups."""
        if self.n_rows <= self.limits.max_rows:
            return np.arange(self.n_rows)
        rows, _ = self._sample(self.limits.max_rows, min_per_class=2)
        return np.sort(rows)

    @cached_property
    def landmark_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(row indices, fold ids) for the landmarkers' stratified k-fold CV."""
        rows, pos = self._sample(self.limits.max_landmark_rows, min_per_class=self.limits.n_folds)
        return rows, (pos % self.limits.n_folds).astype(np.int64)

    # -------------------------------------------------------------- columns
    @cached_property
    def used_columns(self) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the informative numeric and categorical columns used (capped)."""
        num = np.flatnonzero(~self.num_constant)
        cat = np.flatnonzero(~self.cat_constant)
        cap = self.limits.max_columns
        if num.size + cat.size > cap:
            rng = np.random.default_rng(self.random_state)
            pick = np.sort(rng.choice(num.size + cat.size, size=cap, replace=False))
            num, cat = num[pick[pick < num.size]], cat[pick[pick >= num.size] - num.size]
        return num, cat

    @property
    def n_columns_used(self) -> int:
        num, cat = self.used_columns
        return int(num.size + cat.size)

    @cached_property
    def num(self) -> np.ndarray:
        """Sampled informative numeric columns (NaN for missing), shape (rows, q)."""
        cols = self.used_columns[0]
        if self.rows.size == self.n_rows:
            return self.num_full[:, cols]
        return self.num_full[np.ix_(self.rows, cols)]

    @cached_property
    def cat(self) -> np.ndarray:
        """Sampled informative categorical codes (-1 for missing), shape (rows, r)."""
        cols = self.used_columns[1]
        return self.cat_full[np.ix_(self.rows, cols)]

    @cached_property
    def y(self) -> np.ndarray:
        """Target on the sample: canonical class codes, or float values."""
        return self.y_full[self.rows]

    # ----------------------------------------------------------- summaries
    @cached_property
    def num_count(self) -> np.ndarray:
        """Non-missing values per sampled numeric column."""
        return (~np.isnan(self.num)).sum(axis=0)

    @cached_property
    def num_sorted(self) -> np.ndarray:
        """Each sampled numeric column sorted ascending (NaN last)."""
        return np.sort(self.num, axis=0)

    def num_quantile(self, q: float) -> np.ndarray:
        """Per-column quantile (lower value) of the sampled numeric columns."""
        cnt = self.num_count
        idx = np.clip(np.floor(q * (cnt - 1)).astype(np.int64), 0, None)
        if self.num.shape[0] == 0:
            return np.full(self.num.shape[1], np.nan)
        out = self.num_sorted[idx, np.arange(self.num.shape[1])]
        return np.where(cnt > 0, out, np.nan)

    @cached_property
    def num_moments(self) -> dict[str, np.ndarray]:
        """NaN-aware per-column mean, sd (ddof=0), skewness and excess kurtosis."""
        x = self.num
        cnt = np.maximum(self.num_count, 1)
        mean = np.nansum(x, axis=0) / cnt
        d = x - mean
        np.nan_to_num(d, copy=False, nan=0.0)
        d2 = d * d
        m2 = d2.sum(axis=0) / cnt
        m3 = (d2 * d).sum(axis=0) / cnt
        m4 = (d2 * d2).sum(axis=0) / cnt
        ok = (self.num_count > 1) & (m2 > 0)
        m2s = np.where(ok, m2, np.nan)
        return {
            "mean": np.where(self.num_count > 0, mean, np.nan),
            "sd": np.sqrt(np.where(self.num_count > 0, m2, np.nan)),
            "skewness": m3 / m2s**1.5,
            "kurtosis": m4 / m2s**2 - 3.0,
        }

    @cached_property
    def correlation(self) -> np.ndarray:
        """Pairwise-complete Pearson correlation of the sampled numeric columns.

        Computed on the first ``max_corr_rows`` rows of the sample with three matrix
        products; columns without variance are dropped (the matrix is q' x q').
        """
        x = self.num[: self.limits.max_corr_rows]
        mom = self.num_moments
        keep = np.isfinite(mom["sd"]) & (mom["sd"] > 0)
        x = x[:, keep]
        if x.shape[1] == 0:
            return np.zeros((0, 0))
        obs = ~np.isnan(x)
        z = (x - mom["mean"][keep]) / mom["sd"][keep]
        np.nan_to_num(z, copy=False, nan=0.0)
        of = obs.astype(np.float64)
        cross = z.T @ z
        sq = (z * z).T @ of  # sq[i, j] = sum over rows where j observed of z_i^2
        denom = np.sqrt(sq * sq.T)
        with np.errstate(all="ignore"):
            r = np.where(denom > 0, cross / denom, np.nan)
        np.fill_diagonal(r, 1.0)
        return np.clip(r, -1.0, 1.0)

    # --------------------------------------------------------------- binned
    @cached_property
    def target_bins(self) -> tuple[np.ndarray, int]:
        """(codes, number of levels) of the target: classes, or quantile bins."""
        if self.is_classification:
            return self.y.astype(np.int64), max(self.n_classes, 1)
        y = self.y
        if y.size == 0:
            return np.zeros(0, dtype=np.int64), 1
        edges = np.quantile(y, np.linspace(0, 1, self.limits.n_bins + 1)[1:-1])
        codes = np.searchsorted(np.unique(edges), y, side="left")
        return codes.astype(np.int64), self.limits.n_bins

    @cached_property
    def attr_bins(self) -> tuple[np.ndarray, int]:
        """(codes, levels) of every used column, binned; shape (rows, q + r).

        Numeric columns: ``n_bins`` equal-frequency bins (fewer when values tie), missing
        as one more level. Categorical: the ``max_levels - 1`` most frequent levels, one
        "other" level, and missing as one more level.
        """
        nb = self.limits.n_bins
        x = self.num
        parts = []
        n_levels = 1
        if x.shape[1]:
            b = np.zeros(x.shape, dtype=np.int64)
            for k in range(1, nb):
                b += x > self.num_quantile(k / nb)
            b[np.isnan(x)] = nb
            parts.append(b)
            n_levels = nb + 1
        c = self.cat
        if c.shape[1]:
            ml = self.limits.max_levels
            out = np.empty(c.shape, dtype=np.int64)
            for j in range(c.shape[1]):
                codes = c[:, j]
                valid = codes >= 0
                counts = np.bincount(codes[valid]) if valid.any() else np.zeros(1, np.int64)
                top = np.argsort(-counts, kind="stable")[: ml - 1]
                lut = np.full(counts.size, ml - 1, dtype=np.int64)
                lut[top] = np.arange(top.size)
                out[:, j] = np.where(valid, lut[np.where(valid, codes, 0)], ml)
            parts.append(out)
            n_levels = max(n_levels, ml + 1)
        if not parts:
            return np.zeros((self.rows.size, 0), dtype=np.int64), 1
        return np.hstack(parts) if len(parts) > 1 else parts[0], n_levels

    @cached_property
    def contingency(self) -> np.ndarray:
        """Counts of (column, attribute level, target level), shape (q + r, L, K)."""
        a, n_levels = self.attr_bins
        t, k = self.target_bins
        p = a.shape[1]
        if p == 0:
            return np.zeros((0, n_levels, k))
        idx = (np.arange(p, dtype=np.int64) * n_levels + a) * k + t[:, None]
        counts = np.bincount(idx.ravel(), minlength=p * n_levels * k)
        return counts.reshape(p, n_levels, k).astype(np.float64)

    # ------------------------------------------------------------ landmarks
    @cached_property
    def landmark_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(X, y, folds) for the landmarkers: standardised, imputed, encoded.

        Numeric columns are standardised with missing values at 0 (the mean);
        categorical columns with at most 10 levels are one-hot encoded, others are
        replaced by their level's frequency (standardised).
        """
        rows, folds = self.landmark_rows
        num_cols, cat_cols = self.used_columns
        cap = self.limits.max_landmark_columns
        if num_cols.size + cat_cols.size > cap:
            rng = np.random.default_rng(self.random_state + 1)
            n_num = num_cols.size
            pick = np.sort(rng.choice(n_num + cat_cols.size, size=cap, replace=False))
            num_cols, cat_cols = num_cols[pick[pick < n_num]], cat_cols[pick[pick >= n_num] - n_num]
        blocks = []
        if num_cols.size:
            x = self.num_full[np.ix_(rows, num_cols)]
            with np.errstate(all="ignore"):
                mu = np.nanmean(x, axis=0) if x.shape[0] else np.zeros(x.shape[1])
                sd = np.nanstd(x, axis=0) if x.shape[0] else np.ones(x.shape[1])
            mu = np.nan_to_num(mu)
            sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
            z = (x - mu) / sd
            np.nan_to_num(z, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
            blocks.append(z)
        for j in cat_cols:
            codes = self.cat_full[rows, j]
            valid = codes >= 0
            present = np.unique(codes[valid])
            if present.size <= 10:
                blocks.append((codes[:, None] == present[None, :]).astype(np.float64))
            else:
                freq = np.bincount(codes[valid], minlength=int(codes.max()) + 1) / max(rows.size, 1)
                f = np.where(valid, freq[np.where(valid, codes, 0)], 0.0)
                s = f.std()
                blocks.append(((f - f.mean()) / (s if s > 0 else 1.0))[:, None])
        X = np.hstack(blocks) if blocks else np.zeros((rows.size, 0))
        return np.ascontiguousarray(X), self.y_full[rows], folds
