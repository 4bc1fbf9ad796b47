"""``metaopt info DATA``: what metaopt understood about a dataset."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from metaopt.cli._app import app
from metaopt.cli._options import DataArg, DataOptions, data_options

__all__ = ["info"]


def _render(summary: dict[str, Any], top: int = 10) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    overview = Table(title=f"{summary['name']}  ({summary['task_id']})", show_header=False)
    overview.add_column(style="bold")
    overview.add_column()
    cols = summary["columns"]
    overview.add_row("rows", str(summary["rows"]))
    overview.add_row(
        "feature columns",
        f"{summary['features']} prepared from "
        + ", ".join(f"{len(v)} {k}" for k, v in cols.items() if v)
        + " raw column(s)",
    )
    overview.add_row("target", f"{summary['target']} ({summary['kind']})")
    overview.add_row("missing values", f"{summary['missing_cells']:.1%} of feature cells")
    prov = summary["provenance"]
    if "format" in prov:
        read = f"{prov['format']}"
        if "encoding" in prov:
            read += f", {prov['encoding']}"
        if "delimiter" in prov:
            read += f", {prov['delimiter']}-separated"
        overview.add_row("read as", read)
    console.print(overview)

    ts = summary["target_summary"]
    if "classes" in ts:
        balance = Table(title=f"classes of {summary['target']!r}")
        balance.add_column("class")
        balance.add_column("rows", justify="right")
        balance.add_column("share", justify="right")
        for label, c in ts["classes"].items():
            balance.add_row(label, str(c["count"]), f"{c['share']:.1%}")
    else:
        balance = Table(title=f"target {summary['target']!r}")
        for k in ("min", "median", "mean", "max", "std", "distinct"):
            balance.add_column(k, justify="right")
        balance.add_row(
            *(
                "" if ts[k] is None else f"{ts[k]:.6g}"
                for k in ("min", "median", "mean", "max", "std")
            ),
            str(ts["distinct"]),
        )
    console.print(balance)

    roles = Table(title="columns by role")
    roles.add_column("role")
    roles.add_column("columns")
    for role, names in cols.items():
        if names:
            roles.add_row(
                role, ", ".join(names[:top]) + (f" … ({len(names)})" if len(names) > top else "")
            )
    console.print(roles)

    if summary["missing"]:
        miss = Table(title=f"missing values (top {min(top, len(summary['missing']))})")
        miss.add_column("column")
        miss.add_column("missing", justify="right")
        miss.add_column("share", justify="right")
        for col, n in list(summary["missing"].items())[:top]:
            miss.add_row(col, str(n), f"{n / max(summary['rows'], 1):.1%}")
        console.print(miss)
    if summary["dropped"]:
        dropped = Table(title="dropped columns")
        dropped.add_column("column")
        dropped.add_column("reason")
        for col, why in summary["dropped"].items():
            dropped.add_row(col, why)
        console.print(dropped)
    if summary["notices"]:
        console.print("[bold]notices[/bold]")
        for n in summary["notices"]:
            console.print(f"  • {n}", highlight=False, markup=False)


@app.command()
@data_options
def info(
    data: DataArg,
    data_options: DataOptions,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """Show what metaopt understands about a dataset: columns, target, kind, issues."""
    from metaopt.tasks._summary import describe_task

    loaded = data_options.load(data)
    summary = describe_task(loaded)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        _render(summary)
