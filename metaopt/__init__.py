"""metaopt: meta-learned hyperparameter recommendations for tabular data.

``import metaopt`` is cheap: it imports neither torch nor optuna (nor scikit-learn).
Public names from the subpackages are loaded on first use (CONVENTIONS.md 10); each
subpackage re-exports its own public names in its ``__init__``.
"""

from __future__ import annotations

import importlib
from typing import Any

from metaopt._exceptions import (
    ColumnError,
    ConfigError,
    DataError,
    DataFormatError,
    EvaluationError,
    KnowledgeBaseError,
    MetaoptError,
    MissingDependencyError,
    ModelError,
    ModelVersionError,
    SchemaVersionError,
    SourceError,
    TargetError,
)
from metaopt._version import __version__

# Public name -> the subpackage that defines it. One line per export.
_LAZY: dict[str, str] = {
    "KnowledgeBase": "metaopt.kb",
    "extract_metafeatures": "metaopt.metafeatures",
    "Task": "metaopt.tasks",
    "load_task": "metaopt.tasks",
    "get_source": "metaopt.tasks",
    "estimator_from_spec": "metaopt.spaces",
    "evaluate": "metaopt.evaluation",
    "evaluate_many": "metaopt.evaluation",
    "Protocol": "metaopt.evaluation",
    "Evaluation": "metaopt.evaluation",
    "suggest": "metaopt.recommend",
    "Suggestion": "metaopt.recommend",
    "warm_start": "metaopt.integrations.optuna",
    "MetaoptClassifier": "metaopt.estimators",
    "MetaoptRegressor": "metaopt.estimators",
}

__all__ = [
    "ColumnError",
    "ConfigError",
    "DataError",
    "DataFormatError",
    "EvaluationError",
    "KnowledgeBaseError",
    "MetaoptError",
    "MissingDependencyError",
    "ModelError",
    "ModelVersionError",
    "SchemaVersionError",
    "SourceError",
    "TargetError",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'metaopt' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
