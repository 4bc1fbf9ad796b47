"""The Typer application that every command module registers itself on."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from metaopt._exceptions import MetaoptError

__all__ = ["app", "fail"]


class _MetaoptGroup(TyperGroup):
    """Turns every :class:`MetaoptError` into one line on stderr and exit code 2."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except MetaoptError as exc:
            fail(str(exc))
            ctx.exit(2)


def fail(message: str) -> None:
    """Print ``metaopt: error: <message>`` on stderr (the caller chooses the exit)."""
    typer.echo(f"metaopt: error: {message}", err=True)


app = typer.Typer(
    name="metaopt",
    cls=_MetaoptGroup,
    help="Meta-learned model and hyperparameter recommendations for tabular data.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from metaopt import __version__

        typer.echo(f"metaopt {__version__}")
        raise typer.Exit()


# The root callback keeps every command a subcommand (Typer would otherwise run a lone
# command as the whole program) and carries the global options.
@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Meta-learned model and hyperparameter recommendations for tabular data."""
