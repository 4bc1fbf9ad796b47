"""Tasks: turning files, frames, arrays and named datasets into a :class:`Task`."""

from metaopt.tasks._task import KINDS, Task, TaskKind

__all__ = ["KINDS", "Task", "TaskKind"]
