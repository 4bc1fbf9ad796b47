"""A summary of what a knowledge base covers (``metaopt kb info``)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from metaopt.kb._store import KnowledgeBase

__all__ = ["KBInfo", "failure_reason", "summarise"]


@dataclass
class KBInfo:
    """Coverage of a knowledge base.

    Attributes
    ----------
    path, schema_version, metaopt_version, mf_version, protocol_id, created, updated
        From the manifest.
    n_tasks, n_tasks_failed
        Tasks recorded, and those that could not be loaded (status ``error``).
    tasks_by_kind_source
        ``{kind: {source: count}}`` over loaded tasks.
    n_evaluations
        Evaluation rows (one per key), all statuses.
    evaluations_by_algorithm
        ``{algorithm: {status: count}}``.
    configs_per_task
        ``{algorithm: median number of ok configs per task that has any}``.
    failures_by_reason
        ``{reason: count}`` over evaluations with status ``error`` or ``timeout`` and
        tasks that failed to load; the reason is the message's prefix (see
        :func:`failure_reason`).
    skipped_by_reason
        ``{reason: count}`` over ``skipped`` evaluations (algorithm not applicable).
    mf_coverage
        ``{mf_version: {"tasks": n, "features": m, "nan_fraction": f}}``.
    parts
        ``{table: number of parts}``.
    disk_bytes
        Total size of the directory.
    """

    path: str
    schema_version: int
    metaopt_version: str
    mf_version: str | None
    protocol_id: str | None
    created: str
    updated: str
    n_tasks: int = 0
    n_tasks_failed: int = 0
    tasks_by_kind_source: dict[str, dict[str, int]] = field(default_factory=dict)
    n_evaluations: int = 0
    evaluations_by_algorithm: dict[str, dict[str, int]] = field(default_factory=dict)
    configs_per_task: dict[str, float] = field(default_factory=dict)
    failures_by_reason: dict[str, int] = field(default_factory=dict)
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    mf_coverage: dict[str, dict[str, float]] = field(default_factory=dict)
    parts: dict[str, int] = field(default_factory=dict)
    disk_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-serialisable data."""
        return asdict(self)


_HEX = re.compile(r"\b[0-9a-f]{8,}\b|\b\d+(\.\d+)?\b")


def failure_reason(message: Any, width: int = 60) -> str:
    """Group key of a failure message: its first line, numbers masked, cut at ``width``.

    ``"timeout after 120.5 s"`` → ``"timeout after # s"``;
    ``"ValueError: Input X contains NaN.\nTraceback ..."`` → ``"ValueError: Input X contains NaN."``.
    """
    text = str(message or "").strip()
    if not text or text == "None":
        return "(no message)"
    text = text.splitlines()[0]
    head = _HEX.sub("#", text).strip()
    return head[:width].rstrip()


def _nested_counts(frame: pd.DataFrame, outer: str, inner: str) -> dict[str, dict[str, int]]:
    if frame.empty:
        return {}
    counts = frame.groupby([outer, inner], dropna=False, observed=True).size()
    out: dict[str, dict[str, int]] = {}
    for (a, b), n in counts.items():
        out.setdefault(str(a), {})[str(b)] = int(n)
    return dict(sorted(out.items()))


def summarise(kb: KnowledgeBase) -> KBInfo:
    """Compute the :class:`KBInfo` of ``kb``."""
    m = kb.manifest
    info = KBInfo(
        path=str(kb.path),
        schema_version=int(m["schema_version"]),
        metaopt_version=str(m.get("metaopt_version")),
        mf_version=m.get("mf_version"),
        protocol_id=m.get("protocol_id"),
        created=str(m.get("created")),
        updated=str(m.get("updated")),
    )
    tasks = kb.tasks()
    failures: dict[str, int] = {}
    if len(tasks):
        info.n_tasks = int(len(tasks))
        bad = tasks[tasks["status"] != "ok"]
        info.n_tasks_failed = int(len(bad))
        for msg in bad["message"]:
            key = "task load: " + failure_reason(msg)
            failures[key] = failures.get(key, 0) + 1
        info.tasks_by_kind_source = _nested_counts(tasks[tasks["status"] == "ok"], "kind", "source")

    ev = kb.evaluations(columns=["task_id", "algorithm", "config_id", "protocol_id", "status", "message"])
    if len(ev):
        info.n_evaluations = int(len(ev))
        info.evaluations_by_algorithm = _nested_counts(ev, "algorithm", "status")
        ok = ev[ev["status"] == "ok"]
        if len(ok):
            per = ok.groupby(["algorithm", "task_id"], observed=True).size().groupby("algorithm").median()
            info.configs_per_task = {str(k): float(v) for k, v in per.items()}
        for msg in ev.loc[ev["status"].isin(["error", "timeout"]), "message"]:
            key = failure_reason(msg)
            failures[key] = failures.get(key, 0) + 1
        skipped: dict[str, int] = {}
        for msg in ev.loc[ev["status"] == "skipped", "message"]:
            key = failure_reason(msg)
            skipped[key] = skipped.get(key, 0) + 1
        info.skipped_by_reason = dict(sorted(skipped.items(), key=lambda kv: -kv[1]))
    info.failures_by_reason = dict(sorted(failures.items(), key=lambda kv: -kv[1]))

    raw_mf = kb.read("metafeatures")
    if len(raw_mf):
        names_by_version = m.get("mf_names") or {}
        for version, rows in raw_mf.groupby("mf_version"):
            names = [n for n in names_by_version.get(version, []) if n in rows.columns]
            values = rows[names] if names else rows.drop(columns=["task_id", "mf_version"])
            nan = float(values.isna().to_numpy().mean()) if values.size else 0.0
            info.mf_coverage[str(version)] = {
                "tasks": int(rows["task_id"].nunique()),
                "features": int(values.shape[1]),
                "nan_fraction": round(nan, 4),
            }
    from metaopt.kb._schema import TABLES

    info.parts = {t: kb.n_parts(t) for t in TABLES}
    info.disk_bytes = int(sum(p.stat().st_size for p in kb.path.rglob("*") if p.is_file()))
    return info
