"""Arguments and options that several commands share, defined once.

Every command that reads a dataset takes the same data options (:data:`DATA_OPTIONS`:
``--target``, ``--task``, ``--drop-missing-target``, ``--drop-rare-classes``,
``--max-rows``, ``--openml-cache``) through :func:`data_options`, so an error hint from
:func:`metaopt.load_task` always names an option the command has. Adding a data option
is one entry here and one field of :class:`DataOptions`. :meth:`DataOptions.load` is
also the one place that says on stderr when a large file is being read, and what was read.
"""

from __future__ import annotations

import functools
import inspect
import os
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from metaopt.tasks import Task

__all__ = [
    "DATA_OPTIONS",
    "LARGE_BYTES",
    "LARGE_ROWS",
    "DataArg",
    "DataOptions",
    "Kind",
    "KindOpt",
    "OpenMLCacheOpt",
    "TargetOpt",
    "data_options",
]


class Kind(str, Enum):
    """The task kinds ``--task`` accepts."""

    binary = "binary"
    multiclass = "multiclass"
    regression = "regression"


DataArg = Annotated[
    Path,
    typer.Argument(
        help="CSV/TSV/Parquet/ARFF file, or openml:ID (an OpenML dataset) / openml-task:ID."
    ),
]
TargetOpt = Annotated[
    str | None, typer.Option("--target", "-t", help="Target column (default: the last).")
]
KindOpt = Annotated[Kind | None, typer.Option("--task", help="Task kind (default: inferred).")]
DropMissingTargetOpt = Annotated[
    bool, typer.Option("--drop-missing-target", help="Drop rows whose target is missing.")
]
DropRareClassesOpt = Annotated[
    bool, typer.Option("--drop-rare-classes", help="Drop rows of classes seen only once.")
]
MaxRowsOpt = Annotated[
    int | None,
    typer.Option("--max-rows", min=2, help="Read a random subsample of this many rows (stratified by class)."),
]
OpenMLCacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--openml-cache",
        help="openml-python cache folder to read OpenML data from (default: "
        "$METAOPT_OPENML_CACHE, else openml-python's own cache).",
        show_default=False,
    ),
]


@dataclass(frozen=True)
class DataOptions:
    """How a command reads its dataset: the values of the shared data options."""

    target: str | None = None
    task: Kind | None = None
    drop_missing_target: bool = False
    drop_rare_classes: bool = False
    max_rows: int | None = None
    openml_cache: Path | None = None

    def load(self, data: Path, *, sample_rows: int | None = None) -> Task:
        """``data`` read with :func:`metaopt.load_task` and these options (``sample_rows``:
        read a random sample of a large text file's rows, for commands that do not train).

        A large file (:data:`LARGE_BYTES`) gets a line on stderr before it is read, and a
        large file or table (:data:`LARGE_ROWS`) one saying what was read and how long it
        took; stdout stays clean for ``--json``.
        """
        from metaopt.tasks import load_task

        size = _file_size(data)
        large = size is not None and size >= LARGE_BYTES
        if large and size is not None:
            typer.echo(f"reading {data} ({_megabytes(size)})…", err=True)
        started = time.perf_counter()
        task = load_task(
            data,
            self.target,
            kind=self.task.value if self.task else None,
            drop_missing_target=self.drop_missing_target,
            drop_rare_classes=self.drop_rare_classes,
            max_rows=self.max_rows,
            openml_cache=self.openml_cache,
            sample_rows=sample_rows,
        )
        if large or task.n_rows_total >= LARGE_ROWS:
            typer.echo(f"read {_shape_read(task)} in {time.perf_counter() - started:.1f} s", err=True)
        return task

    def argv(self, target: str | None = None) -> list[str]:
        """The options as command-line arguments (``target``: the resolved target column)."""
        out: list[str] = []
        if target or self.target:
            out += ["--target", str(target or self.target)]
        if self.task:
            out += ["--task", self.task.value]
        if self.drop_missing_target:
            out.append("--drop-missing-target")
        if self.drop_rare_classes:
            out.append("--drop-rare-classes")
        if self.max_rows:
            out += ["--max-rows", str(self.max_rows)]
        if self.openml_cache:
            out += ["--openml-cache", str(self.openml_cache)]
        return out

    def command(self, verb: str, data: Path, *extra: str, target: str | None = None) -> str:
        """``metaopt VERB DATA ...`` with these options, quoted for a POSIX shell."""
        return shlex.join(["metaopt", verb, str(data), *self.argv(target), *extra])


#: A data file of at least this many bytes is announced on stderr before it is read.
LARGE_BYTES = 50_000_000
#: A data file of at least LARGE_BYTES, or a table of at least this many rows, is
#: followed by a line on stderr saying what was read and how long it took.
LARGE_ROWS = 200_000


def _file_size(data: Path) -> int | None:
    """The size of ``data`` in bytes when it is a file (not ``openml:...``), else None."""
    try:
        return os.stat(Path(data).expanduser()).st_size
    except (OSError, ValueError):
        return None


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.0f} MB" if size >= 10e6 else f"{size / 1e6:.1f} MB"


def _shape_read(task: Task) -> str:
    """``1,000,000 rows × 20 columns`` (or the sample out of the file's rows)."""
    columns = len(task.column_roles) + len(task.dropped) + 1  # features, dropped ones, target
    if task.sampled_from is not None:
        rows = f"a random sample of {task.n_rows:,} of {task.n_rows_total:,} rows"
    else:
        rows = f"{task.n_rows:,} rows"
    return f"{rows} × {columns:,} columns"


#: Parameter name -> its annotation: the shared data options, in ``--help`` order.
DATA_OPTIONS: dict[str, Any] = {
    "target": TargetOpt,
    "task": KindOpt,
    "drop_missing_target": DropMissingTargetOpt,
    "drop_rare_classes": DropRareClassesOpt,
    "max_rows": MaxRowsOpt,
    "openml_cache": OpenMLCacheOpt,
}

_F = TypeVar("_F", bound=Callable[..., Any])


def data_options(func: _F | None = None, *, exclude: Sequence[str] = ()) -> Any:
    """Give a command the shared data options, passed to it as ``data_options: DataOptions``.

    The command declares a parameter ``data_options: DataOptions``; the decorator puts the
    options of :data:`DATA_OPTIONS` (less ``exclude``, which keep their defaults) in its
    place for Typer, and packs their values into one :class:`DataOptions`.
    """

    def decorate(command: _F) -> _F:
        sig = inspect.signature(command, eval_str=True)
        names = [n for n in DATA_OPTIONS if n not in exclude]
        params: list[inspect.Parameter] = []
        for p in sig.parameters.values():
            if p.name == "data_options":
                params += [
                    inspect.Parameter(
                        n, inspect.Parameter.KEYWORD_ONLY, annotation=DATA_OPTIONS[n],
                        default=getattr(DataOptions, n),
                    )
                    for n in names
                ]
            else:
                params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY))
        if len(params) == len(sig.parameters):
            raise TypeError(f"{command.__name__} has no data_options parameter")

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            values = {n: kwargs.pop(n) for n in names}
            return command(**kwargs, data_options=DataOptions(**values))

        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper  # type: ignore[return-value]

    return decorate if func is None else decorate(func)
