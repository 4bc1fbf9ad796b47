"""The Task: one supervised learning problem, ready for every other part of metaopt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

__all__ = ["KINDS", "Task", "TaskKind"]

TaskKind = Literal["binary", "multiclass", "regression"]
KINDS: tuple[str, ...] = ("binary", "multiclass", "regression")


@dataclass(eq=False)
class Task:
    """A supervised tabular learning problem.

    The contract (DESIGN.md) that every loader guarantees and every consumer relies on:

    * ``X`` is a DataFrame whose columns are either numeric (``float64``) or
      categorical (pandas ``category`` dtype); missing values are NaN. Identifier-like
      and unusable columns have already been dropped (see ``dropped``).
    * ``y`` is a Series aligned with ``X`` without missing values: ``float64`` for
      regression, ``category`` for classification (every category occurs at least
      twice, so that stratified splits work).
    * ``kind`` is ``"binary"``, ``"multiclass"`` or ``"regression"``.
    * ``task_id`` is stable: ``source:name`` for named sources (``openml:31``,
      ``keel:yeast``), a content hash for files and in-memory data.

    Attributes
    ----------
    X, y, kind, task_id
        As above.
    name
        Human-readable name (file stem, dataset name).
    source
        Where the task came from: ``file``, ``frame``, ``arrays``, ``openml``, or a
        corpus source such as ``keel``.
    group
        The base dataset this task is a variant of; meta-evaluation holds out whole
        groups. Defaults to ``name``.
    target
        Name of the target column.
    column_roles
        How each *raw* input column (as in the user's file or frame) maps onto ``X``:
        ``"numeric"``, ``"categorical"`` or ``"datetime"`` (a datetime column ``d`` is
        expanded into numeric columns ``d__year``, ``d__month``, ... in ``X``). Columns
        absent here were dropped (see ``dropped``). The preparation step of every
        exported pipeline (:class:`metaopt.preprocessing.TabularPreparer`) is built from
        it, so a pipeline fitted on ``X`` also accepts the raw data.
    dropped
        Columns removed by the loader, mapped to the reason.
    notices
        Everything the loader changed or decided that a user should know about
        (rows dropped, values coerced, kind inferred by rule, ...).
    provenance
        Free-form JSON-serialisable facts about the origin (path, sha256, OpenML id,
        licence, ...).
    sampled_from
        ``None`` when ``X`` holds every usable row of the source. When the loader read
        only a random sample of a large file (``load_task(..., sample_rows=N)``, what
        ``suggest`` does): the number of usable rows in the whole file (estimated from
        the sample's share when target cleaning dropped rows). Row *counts* (the
        ``n_rows`` meta-features, :class:`~metaopt.spaces.DataShape`, expected fit
        times) use :attr:`n_rows_total`; everything else describes the sample.
    """

    X: pd.DataFrame
    y: pd.Series
    kind: TaskKind
    task_id: str
    name: str
    source: str = "frame"
    group: str | None = None
    target: str | None = None
    column_roles: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    sampled_from: int | None = None

    def __post_init__(self) -> None:
        if self.group is None:
            self.group = self.name
        if self.target is None:
            self.target = str(self.y.name) if self.y.name is not None else "target"
        if not self.column_roles:
            self.column_roles = {
                str(c): "categorical" if isinstance(t, pd.CategoricalDtype) else "numeric"
                for c, t in self.X.dtypes.items()
            }

    @property
    def n_rows(self) -> int:
        """Number of rows (examples)."""
        return int(self.X.shape[0])

    @property
    def n_rows_total(self) -> int:
        """Rows of the whole source: :attr:`sampled_from` when ``X`` is a sample, else
        :attr:`n_rows`."""
        return int(self.sampled_from) if self.sampled_from is not None else self.n_rows

    @property
    def n_features(self) -> int:
        """Number of feature columns after cleaning."""
        return int(self.X.shape[1])

    @property
    def is_classification(self) -> bool:
        """True for binary and multiclass tasks."""
        return self.kind != "regression"

    @property
    def numeric_columns(self) -> list[str]:
        """Names of the numeric feature columns, in order."""
        return [c for c in self.X.columns if not isinstance(self.X[c].dtype, pd.CategoricalDtype)]

    @property
    def categorical_columns(self) -> list[str]:
        """Names of the categorical feature columns, in order."""
        return [c for c in self.X.columns if isinstance(self.X[c].dtype, pd.CategoricalDtype)]

    @property
    def classes(self) -> list[Any]:
        """The class labels of a classification task, in category order (empty for regression)."""
        if not self.is_classification:
            return []
        return list(self.y.cat.categories)

    def __repr__(self) -> str:
        return (
            f"Task(task_id={self.task_id!r}, kind={self.kind!r}, rows={self.n_rows}, "
            f"features={self.n_features}, target={self.target!r})"
        )
