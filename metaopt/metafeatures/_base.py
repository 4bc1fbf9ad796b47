"""The extension point: one small abstract base for a group of meta-features."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from metaopt.metafeatures._context import Context

__all__ = ["MetaFeatureGroup", "nan_summary"]


class MetaFeatureGroup(ABC):
    """A group of related meta-features computed from one shared :class:`Context`.

    Lifecycle: :func:`~metaopt.metafeatures.extract` builds one ``Context`` per task
    (canonical column order, row samples, encoded and binned matrices, all computed
    lazily and at most once), then calls :meth:`compute` of every selected group
    with it. A group never subsamples or re-encodes the data itself; it reads what it
    needs from the context, so groups do not redo each other's work.

    To add a group: write its module with a subclass that defines the three members
    below, add one line to ``GROUPS`` in ``_extract.py``, and one line per feature to
    ``docs/metafeatures.md``. The contract tests in ``tests/metafeatures`` run on every
    group in ``GROUPS`` automatically.
    """

    @property
    @abstractmethod
    def name(self) -> str:
        """Short group name used in ``extract(groups=...)``, e.g. ``"statistical"``."""

    @property
    @abstractmethod
    def features(self) -> Mapping[str, str]:
        """Ordered mapping feature name -> one-line description (the documented list)."""

    @abstractmethod
    def compute(self, ctx: Context) -> Mapping[str, float]:
        """Compute the group's features.

        Returns a mapping from (a subset of) :attr:`features` to floats; names left
        out, and non-finite values, become NaN ("undefined for this task").
        Must not raise on any valid :class:`~metaopt.tasks.Task`.
        """


def nan_summary(values: np.ndarray, prefix: str, stats: tuple[str, ...]) -> dict[str, float]:
    """Summarise per-column values, ignoring non-finite entries.

    ``stats`` picks from ``mean``, ``sd`` (ddof=1), ``min``, ``max``, ``q10``, ``q50``,
    ``q90``. Everything is NaN when no finite value is left; ``sd`` needs two.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    out: dict[str, float] = {}
    for s in stats:
        key = f"{prefix}_{s}"
        if v.size == 0 or (s == "sd" and v.size < 2):
            out[key] = float("nan")
        elif s == "mean":
            out[key] = float(v.mean())
        elif s == "sd":
            out[key] = float(v.std(ddof=1))
        elif s == "min":
            out[key] = float(v.min())
        elif s == "max":
            out[key] = float(v.max())
        elif s.startswith("q"):
            out[key] = float(np.quantile(v, int(s[1:]) / 100.0))
        else:  # pragma: no cover - programming error in a group
            raise ValueError(f"unknown summary {s!r}")
    return out
