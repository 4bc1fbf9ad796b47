"""Arguments and options that several commands share, defined once."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["DataArg", "Kind", "KindOpt", "TargetOpt"]


class Kind(str, Enum):
    """The task kinds ``--task`` accepts."""

    binary = "binary"
    multiclass = "multiclass"
    regression = "regression"


DataArg = Annotated[Path, typer.Argument(help="CSV/TSV/Parquet/ARFF file.")]
TargetOpt = Annotated[
    str | None, typer.Option("--target", "-t", help="Target column (default: the last).")
]
KindOpt = Annotated[Kind | None, typer.Option("--task", help="Task kind (default: inferred).")]
