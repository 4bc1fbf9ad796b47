"""Where metaopt's shipped data folders (knowledge base, models) are found."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_path"]


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
