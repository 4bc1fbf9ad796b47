r"""The exceptions metaopt raises on purpose.

Every error that a user can cause (a bad file, a wrong option, a stale knowledge base)
is a :class:`MetaoptError`. Its message names the rule that was broken and the
offending value; its ``hint`` names the fix. The command-line front end prints
``metaopt: error: <message>; <hint>`` on one line and exits with code 2; anything
else that escapes is a bug in metaopt.

The tree::

    MetaoptError
    ├── DataError (ValueError)     the data cannot be turned into a Task
    │   ├── DataFormatError        unreadable file: missing, empty, binary, malformed
    │   ├── TargetError            the target column is absent, empty, constant, ...
    │   └── ColumnError            a feature column is unusable (duplicate names, ...)
    ├── ConfigError (ValueError)   an algorithm name, parameter or option is invalid
    ├── EvaluationError (ValueError) an evaluation protocol cannot be applied to a task
    ├── SourceError                a task source cannot deliver (OpenML offline, ...)
    ├── MissingDependencyError (ImportError) an optional extra is not installed
    ├── KnowledgeBaseError         the knowledge base is missing or corrupt
    │   └── SchemaVersionError     written by another metaopt version
    └── ModelError                 a learned model is missing or mismatched
        └── ModelVersionError      trained for another KB / meta-feature version

Errors about the data, a parameter or an option are also :class:`ValueError`\ s
(scikit-learn's convention), so ``except ValueError`` catches them as users expect.
"""

from __future__ import annotations

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
]


class MetaoptError(Exception):
    """Root of every error metaopt raises on purpose.

    Parameters
    ----------
    message
        What is wrong: the rule and the offending value, e.g. ``"column 'price' is the
        target but has 12 missing values"``.
    hint
        How to fix it, e.g. ``"drop those rows or pass --drop-missing-target"``.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}; {self.hint}"
        return self.message


class DataError(MetaoptError, ValueError):
    """The data cannot be turned into a valid :class:`~metaopt.tasks.Task`."""


class DataFormatError(DataError):
    """The file is missing, empty, binary, or not in a format metaopt reads."""


class TargetError(DataError):
    """The target column is absent, empty, constant, or unusable for the task kind."""


class ColumnError(DataError):
    """A feature column is unusable (duplicate names, nothing left after cleaning, ...)."""


class ConfigError(MetaoptError, ValueError):
    """An algorithm name, hyperparameter value or option is invalid."""


class EvaluationError(MetaoptError, ValueError):
    """An evaluation protocol cannot be applied to this task (e.g. too few rows)."""


class SourceError(MetaoptError):
    """A task source cannot deliver a task (OpenML unreachable and not cached, ...)."""


class MissingDependencyError(MetaoptError, ImportError):
    """A feature needs an optional dependency that is not installed.

    The hint names the extra that installs it (``pip install "metaopt[openml]"``).
    Also an :class:`ImportError`, so ``except ImportError`` still catches it.
    """


class KnowledgeBaseError(MetaoptError):
    """The knowledge base is missing, incomplete or corrupt."""


class SchemaVersionError(KnowledgeBaseError):
    """The knowledge base was written with a schema this metaopt does not read."""


class ModelError(MetaoptError):
    """A learned model (surrogate, optimizer, portfolio) is missing or unusable."""


class ModelVersionError(ModelError):
    """A learned model was trained on another knowledge-base or meta-feature version."""
