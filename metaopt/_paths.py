"""Where metaopt's shipped data folders (knowledge base, models) are found."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_path", "use_checkout_cli"]


def data_path(name: str, env_var: str, marker: str = "manifest.json") -> Path:
    """The folder ``datasets/<name>`` that metaopt reads by default.

    In order: the environment variable ``env_var``; ``datasets/<name>`` of the source
    checkout; ``metaopt/datasets/<name>`` inside an installed package. The first of
    the last two that holds ``marker`` wins; when neither does, the checkout location
    (where building or training writes by default).
    """
    env = os.environ.get(env_var)
    if env:
        return Path(env).expanduser()
    package = Path(__file__).resolve().parent
    checkout = package.parent / "datasets" / name
    bundled = package / "datasets" / name
    for candidate in (checkout, bundled):
        if (candidate / marker).is_file():
            return candidate
    return checkout


def use_checkout_cli() -> None:
    """Make ``metaopt.cli`` the ``cli/`` folder of the source checkout metaopt runs from.

    setup.py installs the top-level ``cli/`` folder as ``metaopt.cli``. In a checkout,
    an editable install of *another* checkout (a git worktree) maps that name to its own
    folder while ``metaopt`` itself is imported from here; ``python -m metaopt`` and the
    tests call this first so that the command and the library come from one place. A
    no-op in an installed package (no ``cli/`` next to it) or when already so.
    """
    import importlib.util
    import sys

    folder = Path(__file__).resolve().parent.parent / "cli"
    if not (folder / "__init__.py").is_file():
        return
    loaded = sys.modules.get("metaopt.cli")
    if loaded is not None:
        return
    spec = importlib.util.spec_from_file_location(
        "metaopt.cli", folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if spec is None or spec.loader is None:  # pragma: no cover - a folder with __init__.py
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["metaopt.cli"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["metaopt.cli"]
        raise
