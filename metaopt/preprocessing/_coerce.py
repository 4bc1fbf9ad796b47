"""Value coercion shared by the loader and :class:`TabularPreparer`.

The loader (:func:`metaopt.tasks.load_task`) and the first step of every exported
pipeline call these same functions, so that a value is turned into the same number,
category or missing value at load time and at prediction time.

No scikit-learn import here: :mod:`metaopt.tasks` uses this module at import time.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DATETIME_PARTS",
    "MISSING_TOKENS",
    "coerce_categorical",
    "coerce_datetime",
    "coerce_numeric",
    "datetime_parts",
    "is_missing_token",
    "is_numeric_like",
    "numeric_block",
    "to_label_strings",
]

#: Strings read as a missing value (case-sensitive, after stripping whitespace).
#: pandas' own default NA strings plus ``?`` (ARFF, UCI) and a few common spellings.
MISSING_TOKENS: frozenset[str] = frozenset(
    {
        "", "?", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
        "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
        "nan", "null", "na", "Na", "none", "NONE", "missing", "Missing", "MISSING",
    }
)  # fmt: skip

#: Parts a datetime column is expanded into, in output order.
DATETIME_PARTS: tuple[str, ...] = ("year", "month", "day", "dayofweek", "hour")


def is_missing_token(value: Any) -> bool:
    """True when ``value`` is a missing marker (NaN, None, or one of :data:`MISSING_TOKENS`)."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() in MISSING_TOKENS
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _map_unique(s: pd.Series, fn: Any) -> np.ndarray:
    """Apply ``fn`` to each distinct non-missing value once; object array, NaN where missing."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [fn(u) for u in np.asarray(uniques, dtype=object)]
    mapped[-1] = np.nan
    return mapped[codes]  # code -1 (missing) picks the last slot


def _clean_token(v: Any) -> Any:
    v = v.strip() if isinstance(v, str) else str(v)
    return np.nan if v in MISSING_TOKENS else v


def _clean_strings(s: pd.Series) -> pd.Series:
    """Object Series of stripped strings, with missing markers turned into NaN."""
    return pd.Series(_map_unique(s, _clean_token), index=s.index, name=s.name, dtype=object)


def coerce_numeric(s: pd.Series) -> tuple[pd.Series, Counter[str], int]:
    """Turn a raw column into ``float64``.

    Parameters
    ----------
    s
        A raw column: numbers, booleans, or strings such as ``"3.5"``, ``" 7 "``, ``"?"``.

    Returns
    -------
    values
        The ``float64`` column; missing markers, tokens that are not numbers and
        ±inf are NaN.
    bad_tokens
        The non-numeric, non-missing tokens that were turned into NaN, with counts.
    n_inf
        How many ±inf values (or ``"inf"`` strings) were turned into NaN.
    """
    bad: Counter[str] = Counter()
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if is_numeric_like(s.dtype):
        arr = np.require(s.to_numpy(dtype="float64", na_value=np.nan), requirements=["W"])
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        arr = np.full(len(s), np.nan)
    else:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        tokens = np.array(
            [_clean_token(u) for u in np.asarray(uniques, dtype=object)] + [np.nan], dtype=object
        )
        numbers = np.asarray(
            pd.to_numeric(pd.Series(tokens, dtype=object), errors="coerce"), dtype="float64"
        )
        arr = numbers[codes]
        failed_u = np.isnan(numbers) & pd.notna(tokens)
        if failed_u.any():
            counts = np.bincount(codes[codes >= 0], minlength=len(tokens))
            for k in np.flatnonzero(failed_u):
                bad[str(tokens[k])] += int(counts[k])
    inf = np.isinf(arr)
    n_inf = int(inf.sum())
    if n_inf:
        arr[inf] = np.nan
    return pd.Series(arr, index=s.index, name=s.name, dtype="float64"), bad, n_inf


def is_numeric_like(dtype: Any) -> bool:
    """True for boolean and real numeric dtypes (numpy or pandas nullable)."""
    return (
        pd.api.types.is_bool_dtype(dtype)
        or (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype))
    ) and not isinstance(dtype, pd.CategoricalDtype)


def numeric_block(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """All columns of a frame of numeric-like dtypes as one ``float64`` array.

    Returns the (Fortran-ordered) array with ±inf replaced by NaN and the number of
    infinite values per column. The vectorised path of :func:`coerce_numeric`.
    """
    # A fresh array filled column by column (each a contiguous copy): never a read-only
    # view of the caller's data, and no row-major interleave of a wide, long frame.
    arr = np.empty(frame.shape, dtype=np.float64, order="F")
    for j in range(frame.shape[1]):
        arr[:, j] = frame.iloc[:, j].to_numpy(dtype="float64", na_value=np.nan)
    inf = np.isinf(arr)
    n_inf = inf.sum(axis=0)
    if n_inf.any():
        arr[inf] = np.nan
    return arr, n_inf


def _float_label(v: float) -> Any:
    v = float(v)
    if not np.isfinite(v):
        return np.nan
    if v == int(v) and abs(v) < 2**53:
        return str(int(v))
    return repr(v)


def to_label_strings(s: pd.Series) -> pd.Series:
    """Turn a raw column into an object Series of strings (NaN where missing).

    Integral floats are written without the ``.0`` (``3.0`` → ``"3"``), so that a
    column read as integers from one file and as floats (because of a missing value)
    from another gives the same labels; booleans become ``"True"``/``"False"``.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_float_dtype(s.dtype):
        return pd.Series(_map_unique(s, _float_label), index=s.index, name=s.name, dtype=object)
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype):
        return pd.Series(_map_unique(s, str), index=s.index, name=s.name, dtype=object)
    return _clean_strings(s)


def coerce_categorical(s: pd.Series, categories: list[str] | None = None) -> pd.Series:
    """Turn a raw column into a pandas ``category`` column of strings.

    Parameters
    ----------
    s
        A raw column (strings, numbers, booleans or categories).
    categories
        Known categories, kept first and in this order; values not among them are
        appended in sorted order. ``None``: all values, sorted.
    """
    labels = to_label_strings(s)
    present = sorted(set(labels.dropna().tolist()))
    if categories is None:
        cats = present
    else:
        known = set(categories)
        cats = list(categories) + [c for c in present if c not in known]
    dtype = pd.CategoricalDtype(
        pd.Index(cats) if cats else pd.Index([], dtype=object), ordered=False
    )
    return pd.Series(pd.Categorical(labels, dtype=dtype), index=s.index, name=s.name)


def _infer_format(sample: pd.Series) -> str | None:
    from pandas.tseries.api import guess_datetime_format

    for v in sample:
        fmt = guess_datetime_format(str(v))
        if fmt is not None:
            return fmt
    return None


def coerce_datetime(s: pd.Series) -> pd.Series:
    """Parse a raw column into timezone-naive ``datetime64[ns]`` (NaT where unparseable).

    The format is guessed from the first values; values in another format are parsed
    one by one. Timezone-aware values are converted to UTC.
    """
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s
    else:
        cleaned = _clean_strings(s)
        present = cleaned.dropna()
        if present.empty:
            return pd.Series(pd.NaT, index=s.index, name=s.name, dtype="datetime64[ns]")
        fmt = _infer_format(present.iloc[:20])
        out = None
        if fmt is not None:
            out = pd.to_datetime(cleaned, format=fmt, errors="coerce", utc=True)
            if out.notna().sum() < present.shape[0]:
                out = None
        if out is None:
            out = pd.to_datetime(cleaned, format="mixed", errors="coerce", utc=True)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out.astype("datetime64[ns]")


def datetime_parts(dt: pd.Series) -> dict[str, pd.Series]:
    """All :data:`DATETIME_PARTS` of a datetime Series, as ``float64`` (NaN where NaT)."""
    attr = {"dayofweek": "day_of_week"}
    return {p: getattr(dt.dt, attr.get(p, p)).astype("float64") for p in DATETIME_PARTS}
