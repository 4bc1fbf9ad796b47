"""The knowledge base: tasks × meta-features × evaluations, and the builder that fills it.

A knowledge base is a directory (``manifest.json`` plus one folder of append-only
Parquet parts per table) read through :class:`KnowledgeBase`; :func:`build` fills it
resumably from a task source (``metaopt kb build``); :func:`remeasure` re-evaluates
stored rows under the current code after a defect is fixed (``metaopt kb remeasure``). See :mod:`metaopt.kb._schema` for
the tables, their keys and how duplicate keys resolve.
"""

from metaopt.kb._backend import KBBackend, ParquetDirectoryBackend
from metaopt.kb._info import KBInfo
from metaopt.kb._remeasure import RemeasureReport, remeasure
from metaopt.kb._schema import SCHEMA_VERSION, TABLES
from metaopt.kb._store import KB_ENV, KnowledgeBase, default_kb_path

__all__ = [
    "KB_ENV",
    "SCHEMA_VERSION",
    "TABLES",
    "KBBackend",
    "KBInfo",
    "KnowledgeBase",
    "ParquetDirectoryBackend",
    "RemeasureReport",
    "default_kb_path",
    "remeasure",
]
