"""The result of :func:`~metaopt.metafeatures.extract`: an immutable named vector."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["MetaFeatures"]


class MetaFeatures(Mapping[str, float]):
    """An immutable, ordered mapping meta-feature name -> float (NaN where undefined).

    With the default ``groups`` the names are exactly :data:`FEATURE_NAMES`, in that
    order, for every task, so ``to_array()`` is a fixed-length vector.

    Attributes
    ----------
    version
        The meta-feature definition version (:data:`VERSION`) they were computed with.
    names
        Feature names, in order.
    n_rows, n_columns
        Size of the task.
    n_rows_used
        Rows of the (stratified) sample the statistical and information-theoretic
        groups used; equals ``n_rows`` when nothing was subsampled.
    n_rows_landmark
        Rows used by the landmarkers' cross-validation.
    n_columns_used
        Informative columns (not constant, not all-missing) the per-column groups used.
    groups
        Names of the groups computed.
    """

    __slots__ = (
        "_values",
        "_index",
        "names",
        "version",
        "n_rows",
        "n_columns",
        "n_rows_used",
        "n_rows_landmark",
        "n_columns_used",
        "groups",
    )
    _values: np.ndarray
    _index: dict[str, int]
    names: tuple[str, ...]
    version: str
    n_rows: int
    n_columns: int
    n_rows_used: int
    n_rows_landmark: int
    n_columns_used: int
    groups: tuple[str, ...]

    def __init__(
        self,
        names: Sequence[str],
        values: Sequence[float] | np.ndarray,
        *,
        version: str,
        n_rows: int,
        n_columns: int,
        n_rows_used: int,
        n_rows_landmark: int,
        n_columns_used: int,
        groups: Sequence[str],
    ) -> None:
        arr = np.array(values, dtype=np.float64)
        if arr.shape != (len(names),):
            raise ValueError("names and values differ in length")
        arr.flags.writeable = False
        set_ = object.__setattr__
        set_(self, "_values", arr)
        set_(self, "names", tuple(names))
        set_(self, "_index", {n: i for i, n in enumerate(self.names)})
        set_(self, "version", version)
        set_(self, "n_rows", int(n_rows))
        set_(self, "n_columns", int(n_columns))
        set_(self, "n_rows_used", int(n_rows_used))
        set_(self, "n_rows_landmark", int(n_rows_landmark))
        set_(self, "n_columns_used", int(n_columns_used))
        set_(self, "groups", tuple(groups))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("MetaFeatures is immutable")

    def __getitem__(self, name: str) -> float:
        return float(self._values[self._index[name]])

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def to_array(self) -> np.ndarray:
        """The values as a new float64 array, in :attr:`names` order."""
        return self._values.copy()

    def to_dict(self) -> dict[str, float]:
        """The values as an ordered ``dict`` (NaN stays NaN)."""
        return {n: float(v) for n, v in zip(self.names, self._values, strict=False)}

    def info(self) -> dict[str, Any]:
        """Version and sample sizes, JSON-serialisable."""
        return {
            "version": self.version,
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "n_rows_used": self.n_rows_used,
            "n_rows_landmark": self.n_rows_landmark,
            "n_columns_used": self.n_columns_used,
            "groups": list(self.groups),
        }

    def __repr__(self) -> str:
        defined = int(np.isfinite(self._values).sum())
        return (
            f"MetaFeatures(version={self.version!r}, features={len(self)}, defined={defined}, "
            f"n_rows_used={self.n_rows_used}, n_columns_used={self.n_columns_used})"
        )
