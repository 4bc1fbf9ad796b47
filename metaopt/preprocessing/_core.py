"""The work of :class:`TabularPreparer`, free of scikit-learn.

:func:`metaopt.tasks.load_task` prepares ``Task.X`` through :func:`prepare_frame`, and
the scikit-learn transformer :class:`metaopt.preprocessing.TabularPreparer` (the first
step of every exported pipeline) inherits the same methods, so the two cannot drift
apart. Keeping scikit-learn out of this module keeps it out of the loader, and so out
of ``metaopt suggest``'s start-up time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from metaopt._exceptions import ColumnError, ConfigError
from metaopt.preprocessing._coerce import (
    DATETIME_PARTS,
    coerce_categorical,
    coerce_datetime,
    coerce_numeric,
    datetime_parts,
    is_numeric_like,
    numeric_block,
)

__all__ = ["ROLES", "PreparerLogic", "prepare_frame"]

#: The column roles a :class:`TabularPreparer` understands.
ROLES: tuple[str, ...] = ("numeric", "categorical", "datetime")


class PreparerLogic:
    """Coercion, datetime expansion and column selection of :class:`TabularPreparer`.

    Holds ``roles`` and, once ``_fit_frame`` ran, the fitted attributes ``roles_``,
    ``categories_``, ``datetime_parts_``, ``feature_names_in_`` and
    ``n_features_in_``; :class:`TabularPreparer` documents them.
    """

    roles: dict[str, str] | None

    def __init__(self, roles: dict[str, str] | None = None) -> None:
        self.roles = roles

    # -- helpers -------------------------------------------------------------------

    @staticmethod
    def _as_frame(X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            frame = X
        elif isinstance(X, pd.Series):
            frame = X.to_frame()
        else:
            import scipy.sparse as sp

            if sp.issparse(X):
                raise TypeError(
                    "Sparse data was passed, but TabularPreparer needs dense data: "
                    "sparse input is not supported; convert with X.toarray()"
                )
            arr = np.asarray(X)
            if arr.ndim == 1:
                raise ValueError(
                    "Expected 2D array, got 1D array instead. Reshape your data either "
                    "using array.reshape(-1, 1) if your data has a single feature or "
                    "array.reshape(1, -1) if it contains a single sample."
                )
            if arr.ndim != 2:
                raise ValueError(f"expected 2D data, got an array of shape {arr.shape}")
            if np.iscomplexobj(arr):
                raise ValueError("Complex data not supported")
            frame = pd.DataFrame(arr)
        if frame.shape[0] == 0:
            raise ValueError(f"0 sample(s) (shape={frame.shape}) while a minimum of 1 is required.")
        if frame.shape[1] == 0:
            raise ValueError(
                f"0 feature(s) (shape={frame.shape}) while a minimum of 1 is required."
            )
        # Names as the loader sees them: strings without surrounding whitespace (a plain
        # pd.read_csv keeps the space in "a, b"; the loader does not).
        names = [str(c).strip() for c in frame.columns]
        if names != list(frame.columns) and len(set(names)) == len(names):
            frame = frame.set_axis(names, axis=1)
        return frame

    def _name_array_columns(
        self, X: Any, frame: pd.DataFrame, names: list[str], alternative: list[str] | None = None
    ) -> pd.DataFrame:
        """Name the columns of an array without names (numpy) by position.

        An array has no column names, so its columns are taken to be ``names`` (the
        columns the pipeline was fitted on) in that order — or ``alternative`` (the
        columns of ``roles``) — when their number matches; otherwise
        :class:`ColumnError` says what is expected.
        """
        if isinstance(X, (pd.DataFrame, pd.Series)) or self.roles is None:
            return frame
        if alternative is not None and frame.shape[1] == len(alternative) != len(names):
            names = alternative
        if frame.shape[1] != len(names):
            shown = ", ".join(repr(c) for c in names[:10])
            more = f", ... ({len(names)} in all)" if len(names) > 10 else ""
            raise ColumnError(
                f"the data is an array without column names with {frame.shape[1]} column(s), "
                f"but the pipeline needs {len(names)}: {shown}{more}",
                "pass a DataFrame with those column names, or an array with exactly those "
                "columns in that order",
            )
        return frame.set_axis(names, axis=1)

    def _check_roles(self, frame: pd.DataFrame) -> dict[str, str]:
        if self.roles is None:
            return {
                c: "numeric"
                if pd.api.types.is_numeric_dtype(frame[c].dtype)
                or pd.api.types.is_bool_dtype(frame[c].dtype)
                else "categorical"
                for c in frame.columns
            }
        roles = {str(k): str(v) for k, v in dict(self.roles).items()}
        bad = {k: v for k, v in roles.items() if v not in ROLES}
        if bad:
            col, role = next(iter(bad.items()))
            raise ConfigError(
                f"column {col!r} has role {role!r}, which is not one of {', '.join(ROLES)}",
                "fix the roles mapping given to TabularPreparer",
            )
        return roles

    def _missing_columns(self, frame: pd.DataFrame, roles: dict[str, str]) -> list[str]:
        cols = set(frame.columns)
        missing = []
        for col, role in roles.items():
            if col in cols:
                continue
            if role == "datetime" and any(f"{col}__{p}" in cols for p in DATETIME_PARTS):
                continue
            missing.append(col)
        return missing

    def _raise_missing(self, frame: pd.DataFrame, missing: list[str]) -> None:
        shown = ", ".join(repr(c) for c in missing[:10])
        more = f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""
        raise ColumnError(
            f"the data lacks {len(missing)} column(s) the pipeline needs: {shown}{more}; "
            f"it has {frame.shape[1]} column(s)",
            "pass a table with the same columns as the data the pipeline was fitted on",
        )

    def _fit_frame(self, X: Any) -> None:
        """Learn roles, categories and datetime parts from ``X`` (the work of ``fit``)."""
        frame = self._as_frame(X)
        if self.roles is not None:
            frame = self._name_array_columns(X, frame, [str(k) for k in dict(self.roles)])
        roles = self._check_roles(frame)
        missing = self._missing_columns(frame, roles)
        if missing:
            self._raise_missing(frame, missing)
        categories: dict[str, list[str]] = {}
        parts: dict[str, list[str]] = {}
        for col, role in roles.items():
            if role == "categorical":
                categories[col] = list(coerce_categorical(frame[col]).cat.categories)
            elif role == "datetime":
                if col in frame.columns:
                    expanded = datetime_parts(coerce_datetime(frame[col]))
                else:  # already prepared: keep the parts that are there
                    expanded = {
                        p: frame[f"{col}__{p}"]
                        for p in DATETIME_PARTS
                        if f"{col}__{p}" in frame.columns
                    }
                varying = [p for p, v in expanded.items() if v.nunique(dropna=True) > 1]
                if col not in frame.columns:
                    varying = list(expanded)
                parts[col] = varying or ["year"]
        self.roles_ = roles
        self.categories_ = categories
        self.datetime_parts_ = parts
        self.feature_names_in_ = np.asarray(list(frame.columns), dtype=object)
        self.n_features_in_ = frame.shape[1]


    def _transform_frame(self, X: Any) -> pd.DataFrame:
        """Prepare ``X`` with the fitted state (the work of ``transform``)."""
        frame = self._as_frame(X)
        frame = self._name_array_columns(
            X, frame, [str(c) for c in self.feature_names_in_], list(self.roles_)
        )
        if self.roles is None and frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {frame.shape[1]} features, but TabularPreparer is expecting "
                f"{self.n_features_in_} features as input. Reshape your data."
            )
        missing = self._missing_columns(frame, self.roles_)
        if missing:
            self._raise_missing(frame, missing)
        out: dict[str, Any] = {}
        dtypes = frame.dtypes.to_dict()
        fast = [
            c
            for c, r in self.roles_.items()
            if r == "numeric" and c in dtypes and is_numeric_like(dtypes[c])
        ]
        block = numeric_block(frame[fast])[0] if fast else None
        fast_pos = {c: j for j, c in enumerate(fast)}
        for col, role in self.roles_.items():
            if role == "numeric":
                j = fast_pos.get(col)
                if j is not None and block is not None:
                    out[col] = block[:, j]
                else:
                    out[col] = coerce_numeric(frame[col])[0].to_numpy()
            elif role == "categorical":
                out[col] = coerce_categorical(frame[col], self.categories_[col]).array
            else:
                wanted = self.datetime_parts_[col]
                if col in frame.columns:
                    expanded = datetime_parts(coerce_datetime(frame[col]))
                    for p in wanted:
                        out[f"{col}__{p}"] = expanded[p].to_numpy()
                else:
                    for p in wanted:
                        name = f"{col}__{p}"
                        if name in frame.columns:
                            out[name] = coerce_numeric(frame[name])[0].to_numpy()
                        else:
                            out[name] = np.full(frame.shape[0], np.nan)
        result = pd.DataFrame(out, index=frame.index)
        if not out:
            result = pd.DataFrame(index=frame.index)
        return result


def prepare_frame(frame: pd.DataFrame, roles: dict[str, str]) -> pd.DataFrame:
    """``TabularPreparer(roles).fit_transform(frame)``, without importing scikit-learn."""
    logic = PreparerLogic(roles)
    logic._fit_frame(frame)
    return logic._transform_frame(frame)
