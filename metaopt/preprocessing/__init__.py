"""Preprocessing: the step that turns raw tables into the prepared form of ``Task.X``."""

from metaopt.preprocessing._coerce import MISSING_TOKENS
from metaopt.preprocessing._preparer import ROLES, TabularPreparer

__all__ = ["MISSING_TOKENS", "ROLES", "TabularPreparer"]
