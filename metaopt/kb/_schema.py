"""The knowledge base's tables: their keys, how duplicates resolve, how rows are stored.

Three tables (DESIGN.md):

``tasks``
    One row per task (key ``task_id``): where it came from (``source``, ``name``,
    ``group``), ``kind``, ``target``, its size (``n_rows``, ``n_features``,
    ``n_numeric``, ``n_categorical``, ``n_classes``), ``status`` (``ok`` or ``error``
    when the task could not be loaded) and ``message``; ``entry`` and ``provenance``
    are JSON strings.
``metafeatures``
    One row per (``task_id``, ``mf_version``), *wide*: one float column per meta-feature.
    The ordered list of names of each version is kept in the manifest, so readers return
    the columns of one version, in order, even when a later version adds columns.
``evaluations``
    One row per (``task_id``, ``algorithm``, ``config_id``, ``protocol_id``): the flat
    record of :meth:`metaopt.evaluation.Evaluation.to_record` (nested values stored as
    JSON strings, lists of numbers as Parquet lists), ``status`` ``ok | timeout | error`` from the evaluation engine, or
    ``skipped`` written by the builder when an algorithm's space does not support the
    task (one row per task and algorithm, under the default config's id, ``message``
    says why).

Duplicates. Parts are append-only and a part may have been written twice (a build
killed between writing a part and recording progress, a compaction killed between
writing the merged part and removing the old ones). Readers therefore resolve every
key to one row: the first row with ``status == "ok"`` if there is one, else the first
row, "first" meaning part order (part names sort chronologically) then row order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SCHEMA_VERSION", "TABLES", "TableSpec", "dedupe", "normalise_records"]

#: Version of the on-disk layout and of the tables' key columns. Bump it when a reader
#: of the old version would misread the new one; the manifest and every part carry it.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class TableSpec:
    """Name, key columns and required columns of one table."""

    name: str
    key: tuple[str, ...]
    required: tuple[str, ...]


TABLES: dict[str, TableSpec] = {
    "tasks": TableSpec(
        "tasks",
        key=("task_id",),
        required=("task_id", "source", "name", "group", "kind", "status", "message"),
    ),
    "metafeatures": TableSpec(
        "metafeatures",
        key=("task_id", "mf_version"),
        required=("task_id", "mf_version"),
    ),
    "evaluations": TableSpec(
        "evaluations",
        key=("task_id", "algorithm", "config_id", "protocol_id"),
        required=("task_id", "algorithm", "config_id", "protocol_id", "status", "message"),
    ),
}


def table_spec(table: str) -> TableSpec:
    """The :class:`TableSpec` of ``table``; a ``KeyError`` names the known tables."""
    try:
        return TABLES[table]
    except KeyError:
        raise KeyError(f"unknown knowledge-base table {table!r}; known: {sorted(TABLES)}") from None


def _plain(value: Any) -> Any:
    """One cell as Parquet stores it: scalars and lists of numbers as they are (a Parquet
    list column, e.g. ``fold_scores``), other containers as JSON text."""
    if isinstance(value, list | tuple) and all(
        isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in value
    ):
        return [float(v) for v in value]
    if isinstance(value, Mapping | list | tuple | set):
        return json.dumps(_jsonable(value), sort_keys=isinstance(value, Mapping))
    if isinstance(value, np.generic):
        return value.item()
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def normalise_records(table: str, records: Sequence[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Turn rows into a frame ready to be written as a part of ``table``.

    Nested values (dicts, lists) become JSON strings, numpy scalars become Python
    scalars, and the table's required columns must be present (missing optional
    ``message`` columns are added empty).

    Raises
    ------
    ValueError
        If a key column is missing or null: a bug in the writer, not a user error.
    """
    spec = table_spec(table)
    if isinstance(records, pd.DataFrame):
        frame = records.copy()
    else:
        frame = pd.DataFrame([{k: _plain(v) for k, v in r.items()} for r in records])
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(_plain)
    for col in spec.required:
        if col not in frame.columns:
            if col in spec.key:
                raise ValueError(f"{table} rows lack key column {col!r}")
            frame[col] = None
    if len(frame) and frame[list(spec.key)].isna().any().any():
        raise ValueError(f"{table} rows have null key columns {list(spec.key)}")
    for col in spec.key:
        frame[col] = frame[col].astype(str)
    return frame.reset_index(drop=True)


def dedupe(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Resolve each key of ``table`` to one row (the first ``ok`` row, else the first).

    ``frame`` must hold the rows in part order then row order (as the backend reads
    them); the result keeps that order.
    """
    spec = table_spec(table)
    if frame.empty:
        return frame.reset_index(drop=True)
    frame = frame.reset_index(drop=True)
    if "status" in frame.columns:
        rank = (frame["status"].astype(str) != "ok").astype(np.int8)
        order = np.argsort(rank.to_numpy(), kind="stable")
        ranked = frame.iloc[order]
        keep = ~ranked.duplicated(list(spec.key), keep="first")
        return ranked[keep.to_numpy()].sort_index().reset_index(drop=True)
    keep = ~frame.duplicated(list(spec.key), keep="first")
    return frame[keep.to_numpy()].reset_index(drop=True)
