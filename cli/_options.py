"""Arguments and options that several commands share, defined once."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["DataArg", "Kind", "KindOpt", "OpenMLCacheOpt", "TargetOpt"]


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
OpenMLCacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--openml-cache",
        help="openml-python cache folder to read OpenML data from (default: "
        "$METAOPT_OPENML_CACHE, else openml-python's own cache).",
        show_default=False,
    ),
]
