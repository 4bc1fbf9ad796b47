"""Re-measure knowledge-base evaluations under the current code (``metaopt kb remeasure``).

A defect found in the evaluation engine or a search space's estimator means the rows it
touched were measured wrong. :func:`remeasure` selects those rows (by algorithm, task
kind, task pattern and the time they were measured), evaluates the same configs on the
same tasks under the same protocol with the code as it is now, substitutes the new rows
for the old ones (:meth:`KnowledgeBase.replace`) and reports how far each score moved.

It works through the tasks in batches and writes each batch when it is done, so a
killed run loses at most one batch; run again with the same ``measured_before``
timestamp, it skips the rows already re-measured (their ``started_at`` is later).
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from metaopt._exceptions import ConfigError, KnowledgeBaseError
from metaopt.kb._build import BuildComponents, default_components, evaluation_record
from metaopt.kb._store import KnowledgeBase

__all__ = ["RemeasureReport", "remeasure"]

logger = logging.getLogger("metaopt.kb")


@dataclass
class RemeasureReport:
    """What :func:`remeasure` did: one row per re-measured evaluation in :attr:`moves`.

    ``moves`` columns: ``task_id``, ``kind``, ``algorithm``, ``config_id``, ``metric``,
    ``old_score``, ``new_score``, ``move`` (new − old; NaN when either failed),
    ``old_status``, ``new_status``.
    """

    kb: str
    measured_before: str
    selected: int = 0
    already_done: int = 0
    tasks_failed: list[str] = field(default_factory=list)
    moves: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self, threshold: float = 0.01) -> pd.DataFrame:
        """Per algorithm × kind: rows re-measured, rows that moved more than
        ``threshold``, the largest and the mean absolute move, status changes."""
        if self.moves.empty:
            return pd.DataFrame(
                columns=["algorithm", "kind", "rows", "moved", "largest", "mean_abs", "status_changed"]
            )
        m = self.moves.assign(abs_move=self.moves["move"].abs())
        m["status_changed"] = m["old_status"] != m["new_status"]
        out = (
            m.groupby(["algorithm", "kind"], sort=True)
            .agg(
                rows=("move", "size"),
                moved=("abs_move", lambda s: int((s > threshold).sum())),
                largest=("abs_move", "max"),
                mean_abs=("abs_move", "mean"),
                status_changed=("status_changed", "sum"),
            )
            .reset_index()
        )
        return out


def _matches(task_id: str, patterns: Sequence[str] | None) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(task_id, p) for p in patterns)


def remeasure(
    kb: KnowledgeBase | str,
    *,
    algorithms: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    measured_before: str | None = None,
    n_jobs: int = 1,
    batch_tasks: int = 8,
    components: BuildComponents | None = None,
    progress: Callable[[str], None] | None = None,
) -> RemeasureReport:
    """Re-evaluate the selected rows under the current code and replace them in ``kb``.

    Parameters
    ----------
    kb
        The knowledge base (or its directory).
    algorithms, kinds, tasks
        Select rows by algorithm, task kind (``binary`` / ``multiclass`` /
        ``regression``) and task-id shell patterns; ``None`` selects all.
    measured_before
        ISO timestamp: only rows whose ``started_at`` is earlier are re-measured
        (default: now). Pass the same value to resume an interrupted run.
    n_jobs
        Worker processes for the evaluations.
    batch_tasks
        Tasks evaluated (and written) per batch.
    components
        The builder's components (task sources, spaces, evaluation engine); the real
        ones by default.
    progress
        Called with a line of text after each batch.

    Returns
    -------
    RemeasureReport
        The moves of this run's rows (rows skipped as already re-measured are counted,
        not listed).
    """
    store = kb if isinstance(kb, KnowledgeBase) else KnowledgeBase(kb)
    comp = components or default_components()
    cutoff = _normalise_time(measured_before or datetime.now(timezone.utc).isoformat())
    report = RemeasureReport(kb=str(store.path), measured_before=cutoff)
    task_rows, ev = _selected_rows(store, algorithms, kinds, tasks)
    report.selected = len(ev)
    todo = _measured_before(ev, cutoff)
    report.already_done = len(ev) - len(todo)
    if todo.empty:
        return report
    protocol = _remeasure_protocol(comp.default_protocol(), todo)
    moves: list[pd.DataFrame] = []
    for spec, task_ids in _tasks_by_source(task_rows, todo).items():
        source = comp.get_source(spec)
        entries = {e.task_id: e for e in source.entries()}
        size = max(int(batch_tasks), 1)
        for start in range(0, len(task_ids), size):
            batch = task_ids[start : start + size]
            moves.append(_remeasure_batch(store, comp, source, entries, batch, todo, protocol,
                                          n_jobs, report))
            if progress is not None:
                done = sum(len(m) for m in moves)
                progress(f"[kb remeasure] {done}/{len(todo)} rows re-measured "
                         f"({start + len(batch)}/{len(task_ids)} tasks of {spec})")
    filled = [m for m in moves if not m.empty]
    report.moves = pd.concat(filled, ignore_index=True) if filled else pd.DataFrame()
    return report


def _selected_rows(
    store: KnowledgeBase,
    algorithms: Sequence[str] | None,
    kinds: Sequence[str] | None,
    tasks: Sequence[str] | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The loaded tasks (indexed by id) and their non-skipped evaluations that the
    filters select, each with its task's ``kind``."""
    task_rows = store.tasks(status="ok").set_index("task_id")
    ev = store.evaluations(algorithms=algorithms)
    ev = ev[ev["status"] != "skipped"]
    ev = ev[ev["task_id"].isin(task_rows.index)]
    ev = ev.assign(kind=task_rows.loc[ev["task_id"], "kind"].to_numpy())
    if kinds is not None:
        ev = ev[ev["kind"].isin(list(kinds))]
    ev = ev[[_matches(t, tasks) for t in ev["task_id"]]]
    return task_rows, ev


def _measured_before(ev: pd.DataFrame, cutoff: str) -> pd.DataFrame:
    """The rows measured before ``cutoff`` (or at an unknown time): those still to do."""
    started = ev["started_at"] if "started_at" in ev.columns else pd.Series(None, index=ev.index)
    old = started.isna() | (started.astype(str) < cutoff)
    return ev[old.to_numpy()]


def _remeasure_protocol(default: Any, todo: pd.DataFrame) -> Any:
    """The current protocol, with the largest time limit the rows were measured under;
    a KnowledgeBaseError when the rows were measured under another protocol."""
    protocol_ids = set(todo["protocol_id"].astype(str))
    if protocol_ids != {str(default.protocol_id)}:
        raise KnowledgeBaseError(
            f"the selected rows were measured under protocol(s) {sorted(protocol_ids)}, "
            f"this metaopt evaluates under {default.protocol_id}",
            "select rows of the current protocol only (--tasks), or rebuild the knowledge base",
        )
    limits = todo["time_limit"].dropna() if "time_limit" in todo.columns else pd.Series([])
    protocol = default
    if len(limits) and hasattr(default, "time_limit"):
        import dataclasses

        protocol = dataclasses.replace(default, time_limit=float(limits.max()))
    return protocol


def _tasks_by_source(task_rows: pd.DataFrame, todo: pd.DataFrame) -> dict[str, list[Any]]:
    """The ids of the tasks with rows to do, by the source spec they load from."""
    return {
        spec: [t for t in todo["task_id"].unique() if task_rows.at[t, "source_spec"] == spec]
        for spec in sorted(set(task_rows.loc[todo["task_id"].unique(), "source_spec"].astype(str)))
    }


def _normalise_time(text: str) -> str:
    """An ISO timestamp in the form the evaluations' ``started_at`` uses (UTC, seconds)."""
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--measured-before {text!r} is not an ISO time",
            "write it like 2026-12-03T09:01:43+00:00 (UTC when no offset is given)",
        ) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc).isoformat(timespec="seconds")


def _remeasure_batch(
    store: KnowledgeBase,
    comp: BuildComponents,
    source: Any,
    entries: dict[str, Any],
    batch: Sequence[str],
    todo: pd.DataFrame,
    protocol: Any,
    n_jobs: int,
    report: RemeasureReport,
) -> pd.DataFrame:
    jobs: list[Any] = []
    old_rows: list[pd.Series] = []
    for task_id in batch:
        entry = entries.get(task_id)
        try:
            if entry is None:
                raise KnowledgeBaseError(f"task {task_id!r} is not in its source any more")
            task = source.load(entry)
        except Exception as exc:  # noqa: BLE001 - a task that cannot load is reported, not fatal
            logger.warning("task %s cannot be re-measured: %s", task_id, exc)
            report.tasks_failed.append(task_id)
            continue
        for _, row in todo[todo["task_id"] == task_id].iterrows():
            params = row["params"]
            params = json.loads(params) if isinstance(params, str) else dict(params)
            jobs.append(comp.make_job(task, str(row["algorithm"]), params))
            old_rows.append(row)
    if not jobs:
        return pd.DataFrame()
    pid = str(protocol.protocol_id)
    records = [
        evaluation_record(evaluation, pid)
        for evaluation in comp.evaluate_many(jobs, protocol, n_jobs=n_jobs, backend="loky")
    ]
    new = {(str(r["task_id"]), str(r["algorithm"]), str(r["config_id"])): r for r in records}
    rows = []
    for old in old_rows:
        key = (str(old["task_id"]), str(old["algorithm"]), str(old["config_id"]))
        rec = new.get(key)
        if rec is None:  # the config id of the stored params changed: a bug, say so
            raise KnowledgeBaseError(
                f"re-measuring {key} produced no row with that config id",
                "the search space's config ids changed; rebuild the knowledge base",
            )
        old_score = float(old["score"]) if old["status"] == "ok" else np.nan
        new_score = float(rec["score"]) if rec["status"] == "ok" else np.nan
        rows.append({
            "task_id": key[0], "kind": old["kind"], "algorithm": key[1], "config_id": key[2],
            "metric": old["metric"], "old_score": old_score, "new_score": new_score,
            "move": new_score - old_score, "old_status": old["status"], "new_status": rec["status"],
        })
    store.replace("evaluations", records)
    return pd.DataFrame(rows)
