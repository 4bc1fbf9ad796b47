"""The ``metaopt`` command (installed as the ``metaopt.cli`` package).

Each command lives in its own module, parses its arguments, calls one library
function and hands the result to a formatter (CONVENTIONS.md 9). Heavy libraries are
imported inside the command functions, so ``metaopt --help`` stays fast.
"""

from metaopt.cli._main import app, main

__all__ = ["app", "main"]
