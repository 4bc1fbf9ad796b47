"""Column typing: which raw columns become numeric, categorical or datetime features.

The rules (documented in :func:`infer_roles`) decide a role for each raw column, or a
reason to drop it. The values themselves are converted by
:class:`metaopt.preprocessing.TabularPreparer`, with the same coercion functions.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metaopt.preprocessing._coerce import (
    coerce_datetime,
    coerce_numeric,
    is_numeric_like,
    numeric_block,
    to_label_strings,
)

__all__ = [
    "INT_CATEGORICAL_MAX",
    "MIN_NUMERIC_SHARE",
    "ColumnTyping",
    "format_tokens",
    "infer_roles",
]

#: Integer-valued numeric columns with at most this many distinct values are categorical.
INT_CATEGORICAL_MAX = 2
#: A text column where at least this share of the present values are numbers is numeric.
MIN_NUMERIC_SHARE = 0.9
#: A text column with more distinct values than this share of its rows (and more than
#: ``_TEXT_MIN_DISTINCT``) is free text and dropped.
TEXT_DISTINCT_SHARE = 0.5
_TEXT_MIN_DISTINCT = 50
#: Identifier rules apply from this many rows on (in tiny tables every column is unique).
_ID_MIN_ROWS = 20
#: A text column is datetime when this share of a sample of its values parse as dates.
_DATETIME_SHARE = 0.9
_UNNAMED = re.compile(r"^Unnamed: \d+$")
_DATE_LIKE = (
    r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass
class ColumnTyping:
    """The outcome of column typing."""

    roles: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


def format_tokens(tokens: Counter[str], limit: int = 5) -> str:
    """``'x' (3), 'n.a.' (1)`` — the most common tokens with counts."""
    shown = ", ".join(f"{t!r} ({n})" for t, n in tokens.most_common(limit))
    more = len(tokens) - limit
    return shown + (f" and {more} other token(s)" if more > 0 else "")


def _is_row_counter(values: np.ndarray, n_rows: int) -> bool:
    """Integer values, one per row, forming a consecutive range (0..n-1, 1..n, ...)."""
    if n_rows < _ID_MIN_ROWS or values.shape[0] != n_rows:
        return False
    lo, hi = values.min(), values.max()
    return bool(hi - lo == n_rows - 1 and np.unique(values).shape[0] == n_rows)


def _numeric_role(col: str, values: pd.Series, n_rows: int, out: ColumnTyping) -> None:
    present = values.dropna().to_numpy()
    integral = present.size > 0 and bool(np.all(np.mod(present, 1) == 0))
    if integral and present.size == n_rows and _is_row_counter(present, n_rows):
        out.dropped[col] = "identifier: a row counter (consecutive integers, one per row)"
        return
    if integral and 0 < np.unique(present).shape[0] <= INT_CATEGORICAL_MAX:
        out.roles[col] = "categorical"
        return
    out.roles[col] = "numeric"


def _counter_span(span: float, n_rows: int, n_rows_total: int | None) -> bool:
    """Whether distinct integers in each of ``n_rows`` rows, spanning ``span``, are a row
    counter: ``span == n_rows - 1``; for a random sample of ``n_rows_total`` rows, a span
    of ``n_rows_total - 1`` less at most 20 times the mean gap between sampled rows (a
    sample misses both ends by more than that with probability about e^-20)."""
    if n_rows_total is None or n_rows_total <= n_rows:
        return bool(span == n_rows - 1)
    slack = 20.0 * n_rows_total / max(n_rows, 1)
    return bool(n_rows_total - 1 - slack <= span <= n_rows_total - 1)


def _block_stats(
    frame: pd.DataFrame, n_rows: int, n_rows_total: int | None = None
) -> dict[str, tuple[str, int, str | None, bool, bool]]:
    """Vectorised typing of numeric-dtype columns.

    Returns col -> (role or '', n_inf, drop reason or None, all missing, constant).
    """
    cols = [c for c, t in frame.dtypes.items() if is_numeric_like(t)]
    if not cols:
        return {}
    arr, n_inf = numeric_block(frame[cols])  # Fortran order: each column contiguous
    k = len(cols)
    n_present = np.zeros(k, dtype=np.int64)
    integral = np.zeros(k, dtype=bool)
    mins = np.full(k, np.nan)
    maxs = np.full(k, np.nan)
    n_distinct = np.zeros(k, dtype=int)
    for j in range(k):  # column by column, with early exits (1M-row files)
        x = arr[:, j]
        nan = np.isnan(x)
        n_nan = int(nan.sum())
        present = x[~nan] if n_nan else x
        n_present[j] = present.size
        if not present.size:
            continue
        mins[j], maxs[j] = present.min(), present.max()
        head = present[:1000]  # most float columns show a fraction at once
        if np.all(np.mod(head, 1) == 0) and np.all(np.mod(present, 1) == 0):
            integral[j] = True
            n_distinct[j] = np.unique(present).shape[0]
    result: dict[str, tuple[str, int, str | None, bool, bool]] = {}
    present_any = n_present > 0
    constant = present_any & (n_present == n_rows) & (mins == maxs)
    span = maxs - mins
    for j, col in enumerate(cols):
        role, reason = "numeric", None
        if integral[j]:
            if (
                n_rows >= _ID_MIN_ROWS
                and n_present[j] == n_rows
                and n_distinct[j] == n_rows
                and _counter_span(span[j], n_rows, n_rows_total)
            ):
                role, reason = "", "identifier: a row counter (consecutive integers, one per row)"
            elif 0 < n_distinct[j] <= INT_CATEGORICAL_MAX:
                role = "categorical"
        result[col] = (role, int(n_inf[j]), reason, not present_any[j], bool(constant[j]))
    return result


def _looks_like_dates(present: pd.Series) -> bool:
    sample = present.iloc[:200].astype(str).str.strip()
    matches = sample.str.match(_DATE_LIKE)
    if matches.mean() < _DATETIME_SHARE:
        return False
    parsed = coerce_datetime(sample)
    return bool(parsed.notna().mean() >= _DATETIME_SHARE)


def infer_roles(
    frame: pd.DataFrame, declared: dict[str, str] | None = None, *, n_rows_total: int | None = None
) -> ColumnTyping:
    """Decide a role for every column of a raw frame, or why it is dropped.

    The rules, in order:

    * a column the file declares (ARFF): ``nominal`` → categorical, ``numeric`` →
      numeric, ``date`` → datetime, ``string`` → the text rules below;
    * all values missing → kept as numeric (NaN); constant columns are kept too
      (both with a notice: they carry no information, but meta-features count them);
    * booleans and pandas categories → categorical;
    * numbers: a row counter (integers, one per row, consecutive; from 20 rows on) is
      dropped as an identifier; integer-valued columns with at most
      :data:`INT_CATEGORICAL_MAX` (2) distinct values → categorical; others numeric;
    * ±inf in a numeric column → NaN, with a notice;
    * text: if at least :data:`MIN_NUMERIC_SHARE` (90%) of the present values are
      numbers → numeric, the other tokens become NaN (notice naming them); values like
      ``2021-03-04`` or ``2021-03-04 10:30`` → datetime; a distinct value in every row
      (from 20 rows on) → dropped as an identifier; more than 50 distinct values and
      more than half as many distinct values as rows → dropped as free text; otherwise
      categorical;
    * datetime dtypes → datetime; anything else (complex numbers, lists) is dropped.

    Parameters
    ----------
    frame
        The raw feature columns (the target already removed).
    declared
        Column types declared by the file, if any.
    n_rows_total
        When ``frame`` is a random sample of a larger table's rows: how many rows that
        table has. A numeric column is then a row counter when its sampled values are
        distinct integers whose span is the table's (within the gap a sample leaves
        at either end, :func:`_counter_span`).

    Returns
    -------
    ColumnTyping
        Roles (in column order), dropped columns with reasons, notices.
    """
    declared = declared or {}
    out = ColumnTyping()
    tally = _Tally()
    block = _block_stats(frame, frame.shape[0], n_rows_total)
    for col, dtype in frame.dtypes.items():
        _type_column(frame, col, dtype, declared.get(col), block, out, tally)
    out.notices.extend(tally.notices())
    return out


#: What :func:`_block_stats` says of a column: (role or '', n_inf, drop reason or None,
#: all missing, constant).
_BlockStats = tuple[str, int, str | None, bool, bool]


@dataclass
class _Tally:
    """The columns the notices name, collected while the columns are typed."""

    inf_counts: dict[str, int] = field(default_factory=dict)
    all_missing: list[str] = field(default_factory=list)
    constant: list[str] = field(default_factory=list)

    def missing_or_constant(self, col: str, s: pd.Series, n_rows: int, out: ColumnTyping) -> None:
        """Note a kept column that has no values, or (unless datetime) a single one."""
        if col not in out.roles:
            return
        n_missing = int(s.isna().sum())
        if n_missing == n_rows:
            self.all_missing.append(col)
        elif out.roles[col] != "datetime" and n_missing == 0:
            try:
                if s.nunique(dropna=True) == 1:
                    self.constant.append(col)
            except TypeError:
                pass

    def notices(self) -> list[str]:
        """The notices about infinite values, all-missing and constant columns."""
        notices = []
        if self.inf_counts:
            shown = ", ".join(f"{c!r} ({n})" for c, n in list(self.inf_counts.items())[:5])
            notices.append(f"infinite values were read as missing in column(s) {shown}")
        if self.all_missing:
            notices.append(
                f"{len(self.all_missing)} column(s) have no values at all and were kept as all-missing: "
                + ", ".join(repr(c) for c in self.all_missing[:5])
                + (" ..." if len(self.all_missing) > 5 else "")
            )
        if self.constant:
            notices.append(
                f"{len(self.constant)} column(s) hold a single value and carry no information: "
                + ", ".join(repr(c) for c in self.constant[:5])
                + (" ..." if len(self.constant) > 5 else "")
            )
        return notices


def _type_column(
    frame: pd.DataFrame,
    col: str,
    dtype: Any,
    decl: str | None,
    block: dict[str, _BlockStats],
    out: ColumnTyping,
    tally: _Tally,
) -> None:
    """Give column ``col`` a role in ``out``, or a reason to drop it (the rules of
    :func:`infer_roles`, in order)."""
    n_rows = frame.shape[0]
    if _UNNAMED.match(str(col)) and block.get(col, ("", 0, None, False))[3]:
        out.dropped[col] = "empty: no name and no values (a trailing delimiter?)"
        return
    if col in block and decl is None:
        _block_column(col, block[col], decl, out, tally)
        return
    fixed = _fixed_role(decl, dtype)
    if fixed is not None:
        out.roles[col] = fixed
        tally.missing_or_constant(col, frame[col], n_rows, out)
    elif col in block:
        _block_column(col, block[col], decl, out, tally)
    elif pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        _text_column(col, frame[col], decl, n_rows, out, tally)
    else:
        out.dropped[col] = f"unsupported type {dtype}"


def _fixed_role(decl: str | None, dtype: Any) -> str | None:
    """The role a declaration (nominal, date) or a dtype (bool, category, datetime)
    fixes, or None."""
    if decl == "nominal":
        return "categorical"
    if decl == "date":
        return "datetime"
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return None


def _block_column(
    col: str, stats: _BlockStats, decl: str | None, out: ColumnTyping, tally: _Tally
) -> None:
    """A numeric-dtype column, typed by :func:`_block_stats` (``numeric`` if declared so)."""
    role, n_inf, reason, empty, const = stats
    if n_inf:
        tally.inf_counts[col] = n_inf
    if decl == "numeric":
        out.roles[col] = "numeric"
    elif reason is not None:
        out.dropped[col] = reason
        return
    else:
        out.roles[col] = role
    if empty:
        tally.all_missing.append(col)
    elif const:
        tally.constant.append(col)


def _text_column(
    col: str, s: pd.Series, decl: str | None, n_rows: int, out: ColumnTyping, tally: _Tally
) -> None:
    """A text column: all missing, numbers (unless declared ``string``), or labels."""
    values, bad, n_inf = coerce_numeric(s)
    n_numbers = int(values.notna().sum()) + n_inf
    n_bad = sum(bad.values())
    n_present = n_numbers + n_bad
    if n_present == 0:
        out.roles[col] = "numeric"
        tally.all_missing.append(col)
    elif n_numbers / n_present >= MIN_NUMERIC_SHARE and decl != "string":
        _numeric_text_column(col, values, bad, n_inf, n_rows, out, tally)
    else:
        _label_column(col, s, n_rows, out, tally)


def _numeric_text_column(
    col: str,
    values: pd.Series,
    bad: Counter[str],
    n_inf: int,
    n_rows: int,
    out: ColumnTyping,
    tally: _Tally,
) -> None:
    """A text column of numbers; the tokens that are not numbers became missing."""
    n_bad = sum(bad.values())
    if n_bad:
        out.notices.append(
            f"column {col!r} is numeric with {n_bad} value(s) that are not numbers "
            f"({format_tokens(bad)}); they were read as missing"
        )
    if n_inf:
        tally.inf_counts[col] = n_inf
    if n_bad or n_inf:
        out.roles[col] = "numeric"
    else:
        _numeric_role(col, values, n_rows, out)
    tally.missing_or_constant(col, values, n_rows, out)


def _label_column(col: str, s: pd.Series, n_rows: int, out: ColumnTyping, tally: _Tally) -> None:
    """A text column of labels: datetime, an identifier, free text, or categorical."""
    present = to_label_strings(s).dropna()
    n_distinct = int(present.nunique())
    if _looks_like_dates(present):
        out.roles[col] = "datetime"
    elif n_rows >= _ID_MIN_ROWS and n_distinct == n_rows:
        out.dropped[col] = "identifier: a distinct text value in every row"
    elif n_distinct > _TEXT_MIN_DISTINCT and n_distinct > TEXT_DISTINCT_SHARE * present.shape[0]:
        out.dropped[col] = f"free text: {n_distinct} distinct values in {present.shape[0]} rows"
    else:
        out.roles[col] = "categorical"
    if n_distinct == 1 and present.shape[0] == n_rows:
        tally.constant.append(col)
