"""Entry point: registers the command modules on the app, one import line each.

The imports are in the order the commands appear in ``metaopt --help``.
"""

# ruff: noqa: I001

from __future__ import annotations

from metaopt.cli._app import app

# Each import registers one command (or command group) on `app`.
from metaopt.cli import _info  # noqa: E402,F401  metaopt info
from metaopt.cli import _metafeatures  # noqa: E402,F401  metaopt metafeatures
from metaopt.cli import _kb  # noqa: E402,F401  metaopt kb info | build | compact
from metaopt.cli import _evaluate  # noqa: E402,F401  metaopt evaluate
from metaopt.cli import _benchmark  # noqa: E402,F401  metaopt benchmark
from metaopt.cli import _suggest  # noqa: E402,F401  metaopt suggest
from metaopt.cli import _tune  # noqa: E402,F401  metaopt tune
from metaopt.cli import _train  # noqa: E402,F401  metaopt train

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point of ``metaopt``."""
    app(prog_name="metaopt")
