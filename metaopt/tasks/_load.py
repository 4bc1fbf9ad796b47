"""load_task: a file, a DataFrame or (X, y) arrays → a validated :class:`Task`."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt._exceptions import ColumnError, ConfigError, DataFormatError, TargetError
from metaopt.preprocessing._coerce import coerce_numeric, to_label_strings
from metaopt.tasks._columns import ColumnTyping, infer_roles
from metaopt.tasks._read import RawTable, read_table
from metaopt.tasks._task import KINDS, Task

__all__ = [
    "MIN_ROWS",
    "MULTICLASS_MAX_CLASSES",
    "MULTICLASS_MAX_SHARE",
    "load_task",
    "load_xy",
]

#: Fewest rows a task may have after cleaning.
MIN_ROWS = 2
#: An integer-valued numeric target is multiclass when it has at most this many distinct
#: values ...
MULTICLASS_MAX_CLASSES = 20
#: ... and at most this share of the rows as distinct values; otherwise regression.
MULTICLASS_MAX_SHARE = 0.05

_KIND_HINT = "pass --task regression / kind='regression' (or multiclass/binary) to override"


def _frame_hash(frame: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, frame.columns)).encode("utf-8", errors="replace"))
    try:
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists, dicts)
        h.update(frame.astype(str).to_csv(index=False).encode("utf-8", errors="replace"))
    return h.hexdigest()[:16]


def _check_columns(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    names = [str(c).strip() for c in frame.columns]
    dups = sorted(n for n, k in Counter(names).items() if k > 1)
    if dups:
        raise ColumnError(
            f"column names must be unique, but {where} repeats "
            + ", ".join(repr(d) for d in dups[:5]),
            "rename the repeated columns",
        )
    if names != list(frame.columns):
        frame = frame.set_axis(names, axis=1)
    return frame


def _resolve_target(frame: pd.DataFrame, target: str | None, where: str) -> str:
    columns = list(frame.columns)
    if target is None:
        # The last column, skipping empty unnamed ones that a trailing delimiter makes.
        for col in reversed(columns):
            if not (re.match(r"^Unnamed: \d+$", col) and frame[col].isna().all()):
                return col
        return columns[-1]
    if target in columns:
        return target
    lowered = {c.lower(): c for c in columns}
    close = difflib.get_close_matches(target, columns, n=1, cutoff=0.6)
    suggestion = lowered.get(target.lower()) or (close[0] if close else None)
    shown = ", ".join(repr(c) for c in columns[:20]) + (" ..." if len(columns) > 20 else "")
    hint = f"did you mean {suggestion!r}? " if suggestion else ""
    raise TargetError(
        f"target column {target!r} is not in {where}, whose {len(columns)} columns are {shown}",
        hint + "pass one of these names as --target / target=",
    )


def _sorted_labels(labels: list[str]) -> list[str]:
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


def _prepare_target(
    raw: pd.Series,
    target: str,
    kind: str | None,
    drop_missing_target: bool,
    drop_rare_classes: bool,
    notices: list[str],
) -> tuple[pd.Series, str, np.ndarray]:
    """Clean and type the target; returns (y, kind, mask of rows kept)."""
    numbers = _target_numbers(raw, target)
    labels = to_label_strings(raw) if numbers is None else None
    missing = (numbers.isna() if numbers is not None else labels.isna()).to_numpy()  # type: ignore[union-attr]
    keep = _rows_with_target(missing, target, drop_missing_target, notices)
    if kind is not None and kind not in KINDS:
        raise ConfigError(
            f"task kind must be one of {', '.join(KINDS)}, not {kind!r}",
            "pass --task binary, multiclass or regression",
        )
    if numbers is not None:
        values = numbers.to_numpy()[keep]
        distinct = np.unique(values)
        integral = bool(np.all(np.mod(values, 1) == 0))
        if kind is None:
            kind = _numeric_kind(distinct, integral, values.size, target, notices)
        if kind == "regression":
            return _regression_target(values, distinct, target), kind, keep
        labels = _numeric_labels(numbers, integral)
    elif kind == "regression":
        present = labels[keep]  # type: ignore[index]
        examples = ", ".join(repr(v) for v in pd.unique(present)[:3])
        raise TargetError(
            f"target column {target!r} holds text ({examples}, ...) and cannot be a "
            "regression target",
            "pass --task binary/multiclass, or choose a numeric target with --target",
        )
    assert labels is not None
    return _class_target(labels, keep, target, kind, drop_rare_classes, notices)


def _target_numbers(raw: pd.Series, target: str) -> pd.Series | None:
    """The target as numbers, or None when it holds labels (booleans, categories, text)."""
    dtype = raw.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return None
    numbers, bad, n_inf = coerce_numeric(raw)
    if bad:  # text labels
        return None
    if n_inf:
        raise TargetError(
            f"target column {target!r} has {n_inf} infinite value(s)",
            "replace them with finite numbers, or drop those rows",
        )
    return numbers


def _rows_with_target(
    missing: np.ndarray, target: str, drop_missing_target: bool, notices: list[str]
) -> np.ndarray:
    """The mask of rows whose target is present; missing ones are an error unless dropped."""
    n = missing.shape[0]
    n_missing = int(missing.sum())
    if n_missing == n:
        raise TargetError(
            f"target column {target!r} has no values (all {n} are missing)",
            "choose another target with --target / target=",
        )
    if n_missing:
        if not drop_missing_target:
            raise TargetError(
                f"target column {target!r} has {n_missing} missing value(s) in {n} rows",
                "drop those rows, or pass --drop-missing-target / drop_missing_target=True",
            )
        notices.append(f"dropped {n_missing} row(s) whose target {target!r} is missing")
    return ~missing


def _numeric_kind(
    distinct: np.ndarray, integral: bool, n_values: int, target: str, notices: list[str]
) -> str:
    """The kind of a numeric target: binary, multiclass (few distinct integers, with a
    notice) or regression."""
    if distinct.size == 1:
        raise TargetError(
            f"target column {target!r} has a single value ({distinct[0]:g}) in every row",
            "choose another target with --target / target=",
        )
    if integral and distinct.size == 2:
        return "binary"
    if (
        integral
        and distinct.size <= MULTICLASS_MAX_CLASSES
        and distinct.size <= MULTICLASS_MAX_SHARE * n_values
    ):
        notices.append(
            f"target {target!r} holds {distinct.size} distinct integers, so the task "
            f"was taken as multiclass classification; {_KIND_HINT}"
        )
        return "multiclass"
    return "regression"


def _regression_target(values: np.ndarray, distinct: np.ndarray, target: str) -> pd.Series:
    """The kept values of a regression target as float64; a constant one is an error."""
    if distinct.size == 1:
        raise TargetError(
            f"regression target {target!r} is constant ({distinct[0]:g} in every row)",
            "choose another target with --target / target=",
        )
    return pd.Series(values, name=target, dtype="float64")


def _numeric_labels(numbers: pd.Series, integral: bool) -> pd.Series:
    """Class labels of a numeric target (every row).

    Whole-number class labels stay integers: scikit-learn handles integer labels
    everywhere, while strings that look like integers ("0", "1") break its forests'
    class_weight="balanced" (scikit-learn 1.9).
    """
    if integral:
        return pd.Series(np.round(numbers.to_numpy()), index=numbers.index).astype("Int64")
    return to_label_strings(numbers)


def _class_target(
    labels: pd.Series,
    keep: np.ndarray,
    target: str,
    kind: str | None,
    drop_rare_classes: bool,
    notices: list[str],
) -> tuple[pd.Series, str, np.ndarray]:
    """A classification target: (categorical y, kind, mask of rows kept)."""
    lab = labels[keep].reset_index(drop=True)
    lab, keep, counts = _without_rare_classes(lab, keep, target, drop_rare_classes, notices)
    if counts.shape[0] < 2:
        only = repr(counts.index[0]) if counts.shape[0] else "none"
        raise TargetError(
            f"target column {target!r} has a single class ({only}); classification needs two",
            "choose another target with --target / target=",
        )
    if kind is None:
        kind = "binary" if counts.shape[0] == 2 else "multiclass"
    elif kind == "binary" and counts.shape[0] != 2:
        raise TargetError(
            f"kind 'binary' needs exactly two classes, but target {target!r} has {counts.shape[0]}",
            "pass --task multiclass, or leave the kind to be inferred",
        )
    elif kind == "multiclass" and counts.shape[0] < 3:
        raise TargetError(
            f"kind 'multiclass' needs three or more classes, but target {target!r} has 2",
            "pass --task binary, or leave the kind to be inferred",
        )
    categories = _sorted_labels(list(counts.index))
    y = pd.Series(pd.Categorical(lab, categories=categories), name=target)
    return y, kind, keep


def _without_rare_classes(
    lab: pd.Series, keep: np.ndarray, target: str, drop_rare_classes: bool, notices: list[str]
) -> tuple[pd.Series, np.ndarray, pd.Series]:
    """Drop the rows of classes seen once (or refuse them): (labels, keep, class counts)."""
    counts = lab.value_counts()
    rare = counts[counts < 2]
    if not len(rare):
        return lab, keep, counts
    shown = ", ".join(repr(c) for c in rare.index[:5]) + (" ..." if len(rare) > 5 else "")
    if not drop_rare_classes:
        raise TargetError(
            f"class(es) {shown} of target {target!r} occur in only one row; every class "
            "needs at least two rows for stratified splits",
            "pass --drop-rare-classes / drop_rare_classes=True to drop those rows",
        )
    rows = np.flatnonzero(keep)
    rare_mask = lab.isin(rare.index).to_numpy()
    keep = keep.copy()
    keep[rows[rare_mask]] = False
    lab = lab[~rare_mask].reset_index(drop=True)
    notices.append(f"dropped {int(rare_mask.sum())} row(s) of rare class(es) {shown}")
    return lab, keep, lab.value_counts()


def _subsample(y: pd.Series, kind: str, max_rows: int, random_state: int) -> np.ndarray:
    """Sorted row positions of a (class-stratified) random subsample of ``max_rows`` rows."""
    rng = np.random.default_rng(random_state)
    n = y.shape[0]
    if kind == "regression":
        return np.sort(rng.choice(n, size=max_rows, replace=False))
    codes = y.cat.codes.to_numpy()
    classes, counts = np.unique(codes, return_counts=True)
    if max_rows < 2 * classes.size:
        raise ConfigError(
            f"max_rows={max_rows} is too small for {classes.size} classes (two rows each)",
            f"pass --max-rows {2 * classes.size} or more",
        )
    quota = counts * (max_rows / n)
    alloc = np.floor(quota).astype(int)
    for i in np.argsort(-(quota - alloc))[: max_rows - alloc.sum()]:
        alloc[i] += 1
    alloc = np.maximum(np.minimum(alloc, counts), 2)
    while alloc.sum() > max_rows:
        alloc[np.argmax(alloc)] -= 1
    picked = [
        rng.choice(np.flatnonzero(codes == c), size=k, replace=False)
        for c, k in zip(classes, alloc, strict=True)
    ]
    return np.sort(np.concatenate(picked))


def _build(
    frame: pd.DataFrame,
    *,
    target: str | None,
    kind: str | None,
    name: str,
    task_id: str,
    source: str,
    where: str,
    drop_missing_target: bool,
    drop_rare_classes: bool,
    max_rows: int | None,
    random_state: int,
    declared: dict[str, str] | None = None,
    notices: list[str] | None = None,
    provenance: dict[str, Any] | None = None,
    sampled_from: int | None = None,
) -> Task:
    from metaopt.preprocessing._core import prepare_frame

    notices = list(notices or [])
    provenance = dict(provenance or {})
    frame = _check_columns(frame, where)
    n_read = int(frame.shape[0])
    provenance["original_shape"] = [int(sampled_from or n_read), int(frame.shape[1])]
    if sampled_from is not None:
        provenance["sample_rows"] = n_read
    target = _check_shape(frame, target, where, max_rows)
    y, kind, keep = _prepare_target(
        frame[target], target, kind, drop_missing_target, drop_rare_classes, notices
    )
    features = frame.drop(columns=[target])
    if not keep.all():
        features = features.loc[keep]
    features = features.reset_index(drop=True)
    if y.shape[0] < MIN_ROWS:
        raise DataFormatError(
            f"{where} has {y.shape[0]} usable row(s) after cleaning the target; "
            f"metaopt needs at least {MIN_ROWS}",
            "pass more rows",
        )
    if max_rows is not None and y.shape[0] > max_rows:
        features, y = _subsample_rows(features, y, kind, int(max_rows), random_state, notices)
    if sampled_from is not None:  # the whole file's usable rows, at the sample's rate
        sampled_from = max(int(round(sampled_from * keep.sum() / n_read)), int(keep.sum()))
    typing = _type_features(features, declared, where, notices, sampled_from)
    X = prepare_frame(features, dict(typing.roles))
    return Task(
        X=X,
        y=y.reset_index(drop=True),
        kind=kind,  # type: ignore[arg-type]
        task_id=task_id,
        name=name,
        source=source,
        target=target,
        column_roles=dict(typing.roles),
        dropped=dict(typing.dropped),
        notices=notices,
        provenance=provenance,
        sampled_from=sampled_from,
    )


def _check_shape(frame: pd.DataFrame, target: str | None, where: str, max_rows: int | None) -> str:
    """Refuse a table without columns, rows or features, and a bad ``max_rows``; return
    the target column's name."""
    if frame.shape[1] == 0:
        raise DataFormatError(f"{where} has no columns", "pass a table with a header row and data")
    if frame.shape[0] == 0:
        raise DataFormatError(
            f"{where} has a header but no data rows",
            "pass a table with data rows below the header",
        )
    if frame.shape[0] < MIN_ROWS:
        raise DataFormatError(
            f"{where} has {frame.shape[0]} data row; metaopt needs at least {MIN_ROWS}",
            "pass the whole dataset, not a single example",
        )
    name = _resolve_target(frame, target, where)
    if frame.shape[1] < 2:
        raise ColumnError(
            f"{where} has only the target column {name!r}; there are no feature columns",
            "pass a table with feature columns next to the target",
        )
    if max_rows is not None and (not isinstance(max_rows, int | np.integer) or max_rows < MIN_ROWS):
        raise ConfigError(
            f"max_rows must be an integer of at least {MIN_ROWS}, not {max_rows!r}",
            "pass a larger --max-rows, or leave it out",
        )
    return name


def _subsample_rows(
    features: pd.DataFrame, y: pd.Series, kind: str, max_rows: int, random_state: int, notices: list[str]
) -> tuple[pd.DataFrame, pd.Series]:
    """Keep a (class-stratified) random subsample of ``max_rows`` rows, with a notice."""
    rows = _subsample(y, kind, max_rows, random_state)
    how = "stratified by class" if kind != "regression" else "uniformly"
    notices.append(
        f"subsampled {rows.size} of {y.shape[0]} rows ({how}, random_state={random_state})"
    )
    features = features.iloc[rows].reset_index(drop=True)
    y = y.iloc[rows].reset_index(drop=True)
    if kind != "regression":
        y = y.cat.remove_unused_categories()
    return features, y


def _type_features(
    features: pd.DataFrame,
    declared: dict[str, str] | None,
    where: str,
    notices: list[str],
    n_rows_total: int | None = None,
) -> ColumnTyping:
    """The feature columns' roles (:func:`infer_roles`); notices name the dropped ones, and
    a table with no usable feature column is an error."""
    typing = infer_roles(features, declared, n_rows_total=n_rows_total)
    notices.extend(typing.notices)
    if typing.dropped:
        shown = ", ".join(f"{c!r} ({r.split(':')[0]})" for c, r in list(typing.dropped.items())[:5])
        more = f" and {len(typing.dropped) - 5} more" if len(typing.dropped) > 5 else ""
        notices.append(f"dropped {len(typing.dropped)} column(s): {shown}{more}")
    if not typing.roles:
        reasons = "; ".join(f"{c!r}: {r}" for c, r in list(typing.dropped.items())[:5])
        raise ColumnError(
            f"no feature columns are left after cleaning {where} ({reasons})",
            "pass a table with usable feature columns (numbers, categories or dates)",
        )
    return typing


def load_task(
    data: str | Path | pd.DataFrame | tuple[Any, Any],
    target: str | None = None,
    *,
    kind: str | None = None,
    name: str | None = None,
    drop_missing_target: bool = False,
    drop_rare_classes: bool = False,
    max_rows: int | None = None,
    random_state: int = 0,
    openml_cache: str | os.PathLike[str] | None = None,
    sample_rows: int | None = None,
) -> Task:
    """Load a dataset into a validated :class:`Task`.

    Parameters
    ----------
    data
        A path to a CSV/TSV/``.txt``/``.dat`` file (encoding and delimiter sniffed),
        a Parquet file or an ARFF file; ``"openml:ID"`` (an OpenML dataset, its
        target and kind from OpenML's metadata) or ``"openml-task:ID"`` (an OpenML
        task's dataset and target), read from openml-python's cache when it holds
        them; a pandas DataFrame; or an ``(X, y)`` pair of arrays / frames (see
        :func:`load_xy`).
    target
        Name of the target column. Default: the last column.
    kind
        ``"binary"``, ``"multiclass"`` or ``"regression"``. Default: inferred — text,
        booleans and categories are classification; numbers with fractions are
        regression; integer-valued numbers with two distinct values are binary, with
        at most 20 distinct values that are also at most 5% of the rows multiclass
        (with a notice), otherwise regression.
    name
        Task name. Default: the file stem, ``"frame"`` or ``"arrays"``.
    drop_missing_target
        Drop rows whose target is missing (otherwise they are an error).
    drop_rare_classes
        Drop rows of classes that occur once (otherwise they are an error).
    max_rows
        Keep a random subsample of this many rows (stratified by class for
        classification).
    random_state
        Seed of the subsample (and of ``sample_rows``).
    openml_cache
        openml-python's cache folder for ``openml:`` data (default:
        ``$METAOPT_OPENML_CACHE``, else openml-python's configured cache). OpenML data
        is used as published: rows with a missing target and classes seen once are
        dropped (with a notice) whatever ``drop_missing_target`` and
        ``drop_rare_classes`` say.
    sample_rows
        For a delimited text file with more data rows than this: read only a random
        sample of this many rows, streaming the file (see
        :func:`metaopt.tasks._read.read_table`). The Task's ``sampled_from`` /
        ``n_rows_total`` then hold the whole file's row count, and a notice says so.
        For what needs only meta-features and the data's shape (``suggest``), not for
        training. Ignored for other sources. Default: read every row.

    Returns
    -------
    Task
        ``X`` prepared by :class:`metaopt.preprocessing.TabularPreparer` from
        ``column_roles``; what was dropped or changed is in ``dropped`` and ``notices``.

    Raises
    ------
    DataFormatError
        The file is missing, empty, binary, malformed or in an unsupported format.
    TargetError
        The target is absent, missing, infinite, constant, or unusable for ``kind``.
    ColumnError
        Duplicate column names, or no usable feature column.
    ConfigError
        An invalid option (``kind``, ``max_rows``).
    SourceError
        ``openml:`` data that is neither cached nor downloadable, or a reference that
        names no single dataset or task.
    MissingDependencyError
        ``openml:`` data without openml-python installed (the ``openml`` extra).

    Examples
    --------
    >>> task = load_task("datasets/examples/penguins.csv", target="species")  # doctest: +SKIP
    >>> task.kind, task.n_rows  # doctest: +SKIP
    ('multiclass', 344)
    """
    options: dict[str, Any] = dict(
        kind=kind, drop_missing_target=drop_missing_target, drop_rare_classes=drop_rare_classes,
        max_rows=max_rows, random_state=random_state,
    )
    if isinstance(data, tuple) and len(data) == 2:
        return load_xy(data[0], data[1], name=name, **options)
    if isinstance(data, pd.DataFrame):
        return _load_frame(data, target, name, options)
    if isinstance(data, str | Path) and _is_openml_ref(data):
        return _load_openml(str(data), target, kind, openml_cache, max_rows, random_state)
    if isinstance(data, str | Path):
        return _load_file(data, target, name, options, sample_rows)
    raise DataFormatError(
        f"cannot load data of type {type(data).__name__}",
        "pass a file path, a pandas DataFrame, or an (X, y) pair of arrays",
    )


def _load_frame(data: pd.DataFrame, target: str | None, name: str | None, options: dict[str, Any]) -> Task:
    """:func:`load_task` of a DataFrame (a copy, with string column names)."""
    frame = data.copy()
    frame.columns = [str(c) for c in frame.columns]
    return _build(
        frame,
        target=target,
        name=name or "frame",
        task_id=f"frame:{_frame_hash(frame)}",
        source="frame",
        where="the DataFrame",
        **options,
    )


def _load_openml(
    ref: str,
    target: str | None,
    kind: str | None,
    openml_cache: str | os.PathLike[str] | None,
    max_rows: int | None,
    random_state: int,
) -> Task:
    """:func:`load_task` of an ``openml:`` / ``openml-task:`` reference."""
    from metaopt.tasks._openml import load_openml_ref

    return load_openml_ref(
        ref, target=target, kind=kind, cache_dir=openml_cache,
        max_rows=max_rows, random_state=random_state,
    )


def _load_file(
    data: str | Path,
    target: str | None,
    name: str | None,
    options: dict[str, Any],
    sample_rows: int | None = None,
) -> Task:
    """:func:`load_task` of a file: read it (or a sample of its rows), and record where
    it came from."""
    if sample_rows is not None and (not isinstance(sample_rows, int | np.integer) or sample_rows < MIN_ROWS):
        raise ConfigError(
            f"sample_rows must be an integer of at least {MIN_ROWS}, not {sample_rows!r}",
            "pass a larger sample_rows, or leave it out to read every row",
        )
    table, sha = read_table(data, sample_rows=sample_rows, random_state=options["random_state"])
    if table.n_rows_total is not None:
        try:
            return _file_task(data, target, name, options, table, sha)
        except TargetError:  # e.g. a class seen once in the sample but not in the file
            table, sha = read_table(data)
    return _file_task(data, target, name, options, table, sha)


def _file_task(
    data: str | Path, target: str | None, name: str | None, options: dict[str, Any],
    table: RawTable, sha: str,
) -> Task:
    """The Task of a read file (or of a sample of its rows)."""
    path = Path(data).expanduser()
    provenance = {
        "path": str(path.resolve()),
        "sha256": sha,
        "format": table.format,
        **table.info,
    }
    return _build(
        table.frame,
        target=target,
        name=name or path.stem,
        task_id=f"file:{sha[:16]}",
        source="file",
        where=f"file {str(path)!r}",
        declared=table.declared,
        notices=table.notices,
        provenance=provenance,
        sampled_from=table.n_rows_total,
        **options,
    )


_OPENML_REF = re.compile(r"^\s*openml(-task|-suite)?:", re.IGNORECASE)


def _is_openml_ref(data: str | Path) -> bool:
    """``openml:...`` / ``openml-task:...`` that is not the name of an existing file."""
    return bool(_OPENML_REF.match(str(data))) and not Path(data).expanduser().exists()


def load_xy(
    X: Any,
    y: Any,
    *,
    kind: str | None = None,
    name: str | None = None,
    drop_missing_target: bool = False,
    drop_rare_classes: bool = False,
    max_rows: int | None = None,
    random_state: int = 0,
) -> Task:
    """Load feature and target arrays into a :class:`Task`.

    Parameters
    ----------
    X
        A 2-D array, nested sequence or DataFrame of features. Array columns are named
        ``x0``, ``x1``, ...
    y
        A 1-D array, sequence or Series of targets (its ``name`` is kept, default
        ``"target"``).
    kind, name, drop_missing_target, drop_rare_classes, max_rows, random_state
        As in :func:`load_task`.

    Returns
    -------
    Task
        With ``source="arrays"``.
    """
    if isinstance(X, pd.DataFrame):
        frame = X.reset_index(drop=True).copy()
        frame.columns = [str(c) for c in frame.columns]
    else:
        arr = np.asarray(X, dtype=object if not _is_numeric_array(X) else None)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise DataFormatError(
                f"X must be 2-D (rows × columns), but has shape {arr.shape}",
                "pass X with one row per example, e.g. X.reshape(len(X), -1)",
            )
        frame = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise TargetError(
                f"y must be one column, but has {y.shape[1]}",
                "pass a single target (multi-output tasks are not supported)",
            )
        y = y.iloc[:, 0]
    target = str(y.name) if isinstance(y, pd.Series) and y.name is not None else "target"
    ys = (
        pd.Series(y).reset_index(drop=True)
        if not isinstance(y, pd.Series)
        else y.reset_index(drop=True)
    )
    if np.ndim(ys.to_numpy()) != 1:
        raise TargetError("y must be 1-D", "pass one target value per row")
    if ys.shape[0] != frame.shape[0]:
        raise DataFormatError(
            f"X has {frame.shape[0]} rows but y has {ys.shape[0]} values",
            "pass X and y with one target value per row of X",
        )
    while target in frame.columns:
        target = target + "_"
    frame[target] = ys.to_numpy() if not isinstance(ys.dtype, pd.CategoricalDtype) else ys.values
    return _build(
        frame,
        target=target,
        kind=kind,
        name=name or "arrays",
        task_id=f"frame:{_frame_hash(frame)}",
        source="arrays",
        where="the (X, y) arrays",
        drop_missing_target=drop_missing_target,
        drop_rare_classes=drop_rare_classes,
        max_rows=max_rows,
        random_state=random_state,
    )


def _is_numeric_array(X: Any) -> bool:
    if isinstance(X, np.ndarray):
        return X.dtype.kind in "biuf"
    if isinstance(X, Sequence):
        return False
    return False
