"""Preprocessing: the step that turns raw tables into the prepared form of ``Task.X``.

:class:`TabularPreparer` (a scikit-learn transformer) is loaded on first use. Its work is
done by the scikit-learn-free ``_core.PreparerLogic``, which :mod:`metaopt.tasks` calls
directly, so that loading data (and ``metaopt suggest``) does not import scikit-learn.
:class:`EmptyColumnFiller` (also loaded on first use) is the ``hgb`` pipelines' guard
against numeric columns without any value. :class:`LabelEncodedClassifier` fits a
classifier on integer class codes, for estimators that fail on some label codings.
"""

from __future__ import annotations

import importlib
from typing import Any

from metaopt.preprocessing._coerce import MISSING_TOKENS

__all__ = [
    "MISSING_TOKENS",
    "ROLES",
    "EmptyColumnFiller",
    "LabelEncodedClassifier",
    "TabularPreparer",
]

_LAZY = {
    "ROLES": "metaopt.preprocessing._preparer",
    "TabularPreparer": "metaopt.preprocessing._preparer",
    "EmptyColumnFiller": "metaopt.preprocessing._empty",
    "LabelEncodedClassifier": "metaopt.preprocessing._labels",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'metaopt.preprocessing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
