"""Tasks: turning files, frames, arrays and named datasets into a :class:`Task`."""

from metaopt.tasks._load import load_task, load_xy
from metaopt.tasks._sources import SourceEntry, TaskSource, get_source
from metaopt.tasks._task import KINDS, Task, TaskKind

__all__ = ["KINDS", "Task", "TaskKind", "load_task", "load_xy", "SourceEntry", "TaskSource", "get_source"]
