"""Meta-features: a fixed, documented, versioned vector describing a task.

>>> from metaopt.metafeatures import extract, FEATURE_NAMES   # doctest: +SKIP
>>> mf = extract(task)                                         # doctest: +SKIP
>>> mf["class_entropy"], mf.version, mf.n_rows_used            # doctest: +SKIP

The list of features, their groups and definitions is in ``docs/metafeatures.md``
and in :func:`describe`.
"""

from metaopt.metafeatures._base import MetaFeatureGroup
from metaopt.metafeatures._context import Context, Limits
from metaopt.metafeatures._extract import (
    FEATURE_DESCRIPTIONS,
    FEATURE_GROUPS,
    FEATURE_NAMES,
    GROUPS,
    VERSION,
    describe,
    extract,
)
from metaopt.metafeatures._result import MetaFeatures

#: Alias of :func:`extract`, exported as ``metaopt.extract_metafeatures``.
extract_metafeatures = extract

__all__ = [
    "FEATURE_DESCRIPTIONS",
    "FEATURE_GROUPS",
    "FEATURE_NAMES",
    "GROUPS",
    "VERSION",
    "Context",
    "Limits",
    "MetaFeatureGroup",
    "MetaFeatures",
    "describe",
    "extract",
    "extract_metafeatures",
]
