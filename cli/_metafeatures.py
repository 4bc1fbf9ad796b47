"""``metaopt metafeatures DATA``: the meta-feature vector of a dataset."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import typer

from metaopt.cli._app import app
from metaopt.cli._options import DataArg, DataOptions, data_options

__all__ = ["metafeatures"]


def _to_json(mf: Any, task_id: str) -> str:
    doc = {
        "task_id": task_id,
        **mf.info(),
        "features": {k: (None if math.isnan(v) else v) for k, v in mf.items()},
    }
    return json.dumps(doc, indent=2, allow_nan=False)


def _render(mf: Any, task_id: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from metaopt.metafeatures import FEATURE_GROUPS

    table = Table(
        title=(
            f"meta-features of {task_id} (version {mf.version}; {mf.n_rows_used} of "
            f"{mf.n_rows} rows, {mf.n_rows_landmark} for landmarkers; "
            f"{mf.n_columns_used} of {mf.n_columns} columns)"
        )
    )
    table.add_column("group")
    table.add_column("name")
    table.add_column("value", justify="right")
    for name, value in mf.items():
        table.add_row(FEATURE_GROUPS[name], name, "NaN" if math.isnan(value) else f"{value:.6g}")
    Console().print(table)


@app.command()
@data_options
def metafeatures(
    data: DataArg,
    data_options: DataOptions,
    groups: Annotated[
        list[str] | None,
        typer.Option("--group", "-g", help="Only this group (repeatable; default: all)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random state of the samples.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """Compute the meta-features of a dataset and print them (table or JSON)."""
    from metaopt.metafeatures import extract

    loaded = data_options.load(data)
    mf = extract(loaded, groups=groups or None, random_state=seed)
    if as_json:
        typer.echo(_to_json(mf, loaded.task_id))
    else:
        _render(mf, loaded.task_id)
