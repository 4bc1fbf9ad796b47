"""Imports of optional dependencies: a missing one is a one-line error naming its extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from metaopt._exceptions import MissingDependencyError

__all__ = ["import_optional"]


def import_optional(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingDependencyError` naming ``extra``.

    Parameters
    ----------
    module
        The module to import, e.g. ``"openml"`` or ``"distributed"``.
    extra
        The metaopt extra that installs it (``pip install "metaopt[<extra>]"``).
    purpose
        What needs it, for the message, e.g. ``"loading OpenML datasets"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        missing = getattr(exc, "name", None)
        cause = (
            "which is not installed"
            if missing in (None, top, module)
            else f"which cannot be imported (it needs {missing!r}: {exc})"
        )
        raise MissingDependencyError(
            f"{purpose} needs the optional package {top!r}, {cause}",
            f'install it with pip install "metaopt[{extra}]"',
        ) from None
