"""The :class:`KnowledgeBase`: tasks × meta-features × evaluations, append-only and versioned."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from metaopt._exceptions import KnowledgeBaseError, SchemaVersionError
from metaopt._paths import data_path
from metaopt._version import __version__
from metaopt.kb._backend import KBBackend, ParquetDirectoryBackend
from metaopt.kb._schema import SCHEMA_VERSION, TABLES, dedupe, normalise_records, table_spec

__all__ = ["KB_ENV", "KnowledgeBase", "default_kb_path"]

#: Environment variable naming the knowledge base directory to use.
KB_ENV = "METAOPT_KB"
_MANIFEST = "manifest.json"
_FORMAT = "metaopt-knowledge-base"


def default_kb_path() -> Path:
    """Where metaopt looks for its knowledge base when none is given.

    In order: the directory named by ``$METAOPT_KB``; ``datasets/kb`` of the source
    checkout metaopt runs from (an editable install or a clone); ``metaopt/datasets/kb``
    inside the installed package (a wheel that bundles the KB). When none of them
    exists, the checkout location is returned, so that ``metaopt kb build`` creates it
    there and error messages name it.
    """
    return data_path("kb", KB_ENV, _MANIFEST)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class KnowledgeBase:
    """A knowledge base directory: ``manifest.json`` plus one folder of Parquet parts per table.

    Open an existing one with ``KnowledgeBase(path)`` or :meth:`open`; make a new one
    with :meth:`create`. Writes append atomically visible parts; readers resolve
    duplicate keys (see :mod:`metaopt.kb._schema`), so a part written twice or a
    compaction interrupted half-way changes nothing that they return.

    Parameters
    ----------
    path
        The directory; ``None`` means :func:`default_kb_path`.
    backend
        Storage backend; the Parquet directory backend over ``path`` by default.

    Raises
    ------
    KnowledgeBaseError
        If ``path`` holds no knowledge base or its manifest is unreadable.
    SchemaVersionError
        If the knowledge base was written with another schema version.

    Examples
    --------
    >>> kb = KnowledgeBase.create("/tmp/kb", exist_ok=True)  # doctest: +SKIP
    >>> kb.evaluations(algorithms=["random_forest"], status="ok")  # doctest: +SKIP
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, backend: KBBackend | None = None
    ) -> None:
        self.path = Path(path) if path is not None else default_kb_path()
        self.manifest = self._read_manifest(self.path)
        self.backend: KBBackend = backend or ParquetDirectoryBackend(self.path)

    # -- lifecycle -------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> KnowledgeBase:
        """Open an existing knowledge base (see the class for the errors)."""
        return cls(path)

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        exist_ok: bool = False,
        mf_version: str | None = None,
        protocol_id: str | None = None,
    ) -> KnowledgeBase:
        """Create an empty knowledge base at ``path`` (or open it, with ``exist_ok``).

        Raises
        ------
        KnowledgeBaseError
            If ``path`` already holds a knowledge base and ``exist_ok`` is false, or is
            a non-empty directory that is not a knowledge base.
        """
        path = Path(path)
        if (path / _MANIFEST).exists():
            if not exist_ok:
                raise KnowledgeBaseError(
                    f"a knowledge base already exists at {path}",
                    "open it with KnowledgeBase.open, or choose another directory",
                )
            return cls(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise KnowledgeBaseError(
                f"{path} exists and is not a knowledge base (no {_MANIFEST})",
                "choose an empty or new directory",
            )
        path.mkdir(parents=True, exist_ok=True)
        now = _now()
        manifest = {
            "format": _FORMAT,
            "schema_version": SCHEMA_VERSION,
            "metaopt_version": __version__,
            "mf_version": mf_version,
            "mf_names": {},
            "protocol_id": protocol_id,
            "created": now,
            "updated": now,
        }
        _write_json_atomic(path / _MANIFEST, manifest)
        # The writer lock is process state, not data: keep it out of version control.
        (path / ".gitignore").write_text(".writer.lock\n.*.tmp\n*/.*.tmp\n", encoding="utf-8")
        for table in TABLES:
            (path / table).mkdir(exist_ok=True)
        return cls(path)

    @staticmethod
    def _read_manifest(path: Path) -> dict[str, Any]:
        manifest_path = path / _MANIFEST
        if not manifest_path.is_file():
            what = "does not exist" if not path.exists() else f"has no {_MANIFEST}"
            raise KnowledgeBaseError(
                f"no knowledge base at {path}: the directory {what}",
                "build one with `metaopt kb build --kb DIR`, or point --kb / "
                f"${KB_ENV} at an existing knowledge base",
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KnowledgeBaseError(
                f"the knowledge base manifest {manifest_path} is unreadable ({exc})",
                "restore the knowledge base from a copy or rebuild it with `metaopt kb build`",
            ) from exc
        if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
            raise KnowledgeBaseError(
                f"{manifest_path} is not a metaopt knowledge-base manifest",
                "point --kb at a directory made by `metaopt kb build`",
            )
        version = manifest.get("schema_version")
        if version != SCHEMA_VERSION:
            raise SchemaVersionError(
                f"knowledge base schema {version}, this metaopt reads {SCHEMA_VERSION} "
                f"(written by metaopt {manifest.get('metaopt_version', '?')})",
                "rebuild it with this metaopt (`metaopt kb build --kb DIR`) or use the "
                "metaopt version that wrote it",
            )
        return manifest

    def update_manifest(self, **fields: Any) -> None:
        """Set manifest fields (and ``updated``), atomically; a no-op when every field
        already has its value (a build that finds nothing to do leaves the file alone).
        Writers only."""
        manifest = self._read_manifest(self.path)
        if all(k in manifest and manifest[k] == v for k, v in fields.items()):
            self.manifest = manifest
            return
        manifest.update(fields)
        manifest["updated"] = _now()
        _write_json_atomic(self.path / _MANIFEST, manifest)
        self.manifest = manifest

    @contextlib.contextmanager
    def writer(self) -> Iterator[KnowledgeBase]:
        """Hold the knowledge base's writer lock (one builder at a time).

        The lock is an OS file lock on ``<kb>/.writer.lock``, released when the process
        exits however it exits (SIGKILL included).

        Raises
        ------
        KnowledgeBaseError
            If another process holds it.
        """
        lock_path = self.path / ".writer.lock"
        fh = open(lock_path, "a+")
        try:
            try:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except ImportError:  # pragma: no cover - Windows: no advisory lock
                pass
            except OSError:
                fh.seek(0)
                holder = fh.read().strip() or "?"
                raise KnowledgeBaseError(
                    f"another process (pid {holder}) is writing to the knowledge base {self.path}",
                    "wait for it to finish, or build into another --kb directory",
                ) from None
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
            yield self
        finally:
            fh.close()

    # -- writing ---------------------------------------------------------------
    def append(self, table: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> str | None:
        """Append rows to ``table`` as one atomic part; return the part's name (None if empty)."""
        table_spec(table)
        if len(rows) == 0:
            return None
        name = self.backend.append(table, rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(
            [dict(r) for r in rows]
        ))
        # Recorded after the part is visible, once per table: a reader that later finds
        # no rows in a table the manifest lists knows its parts were lost.
        written = list(self.manifest.get("tables_written") or [])
        if table not in written:
            self.update_manifest(tables_written=sorted({*written, table}))
        return name

    def add_metafeatures(self, rows: Iterable[tuple[str, str, Mapping[str, float]]]) -> str | None:
        """Append meta-feature rows given as ``(task_id, mf_version, {name: value})``.

        The ordered names of each version are recorded in the manifest (before the
        part is written) so readers can return one version's columns in order.
        """
        rows = list(rows)
        if not rows:
            return None
        names = dict(self.manifest.get("mf_names") or {})
        changed = False
        for _, version, values in rows:
            known = names.get(version, [])
            new = [n for n in values if n not in known]
            if new:
                names[version] = [*known, *new]
                changed = True
        if changed:
            self.update_manifest(mf_names=names)
        frame = pd.DataFrame(
            [{"task_id": t, "mf_version": v, **{k: float(x) for k, x in vals.items()}} for t, v, vals in rows]
        )
        return self.append("metafeatures", frame)

    def compact(self, tables: Iterable[str] | None = None) -> dict[str, int]:
        """Merge each table's parts into one; return the number of parts merged per table."""
        merged = {t: self.backend.compact(t) for t in (tables or TABLES)}
        self.update_manifest()
        return merged

    def replace(self, table: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> int:
        """Substitute ``rows`` for the stored rows with the same keys (re-measured rows).

        The table is compacted with the new rows in place of the old ones; rows whose
        key is not stored yet are added. Parts appended by a writer while this runs are
        kept. Killed half-way, the old rows stay in force. Returns the number of rows
        given.
        """
        frame = normalise_records(table, rows)
        if frame.empty:
            return 0
        self.backend.compact(table, replace=frame)
        self.update_manifest()
        return len(frame)

    # -- reading ---------------------------------------------------------------
    def expected_tables(self) -> set[str]:
        """The tables that held rows: the manifest's ``tables_written``, or, in a
        knowledge base written before that field, what it implies (``mf_names``: meta-
        features were written; evaluations: their tasks were)."""
        expected = set(self.manifest.get("tables_written") or [])
        if "tables_written" not in self.manifest:
            if any(self.manifest.get("mf_names") or {}):
                expected.add("metafeatures")
            if self.n_parts("evaluations"):  # evaluations are written after their task's row
                expected.add("tasks")
        return expected & set(TABLES)

    def _check_not_lost(self, table: str, frame: pd.DataFrame) -> None:
        if not frame.empty or table not in self.expected_tables():
            return
        where = self.path / table
        raise KnowledgeBaseError(
            f"the knowledge base at {self.path} has lost its {table!r} table: {where} holds "
            "no part files, but its manifest records that rows were written",
            f"restore {where} from a copy, or rebuild with `metaopt kb build --kb {self.path}` "
            "(it recomputes what is missing)",
        )

    def read(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """All rows of ``table`` with duplicate keys resolved (see :func:`dedupe`).

        Raises
        ------
        KnowledgeBaseError
            If a part is damaged, or the table has no rows although the manifest
            records that some were written (its part files were deleted).
        """
        spec = table_spec(table)
        if columns is not None:
            extra = [c for c in (*spec.key, "status") if c not in columns]
            frame = self.backend.read(table, [*columns, *extra])
            self._check_not_lost(table, frame)
            frame = dedupe(table, frame)
            return frame[[c for c in columns if c in frame.columns]]
        frame = self.backend.read(table)
        self._check_not_lost(table, frame)
        return dedupe(table, frame)

    def tasks(self, status: str | None = None) -> pd.DataFrame:
        """The ``tasks`` table, one row per task, optionally only those with ``status``."""
        frame = self.read("tasks")
        if status is not None and len(frame):
            frame = frame[frame["status"] == status].reset_index(drop=True)
        return frame

    def metafeatures(self, version: str | None = None, *, long: bool = False) -> pd.DataFrame:
        """Meta-features of one version.

        Parameters
        ----------
        version
            Meta-feature version; by default the manifest's ``mf_version`` (the one the
            last build computed), else the version with the most tasks.
        long
            Return a long frame (``task_id``, ``mf_version``, ``feature``, ``value``)
            instead of the default wide one.

        Returns
        -------
        pandas.DataFrame
            Wide: indexed by ``task_id``, one float column per meta-feature, in the
            version's order. Empty if the KB holds no meta-features of that version.
        """
        frame = self.read("metafeatures")
        if frame.empty:
            versions: list[str] = []
        else:
            versions = list(frame["mf_version"].value_counts().index)
        if version is None:
            version = self.manifest.get("mf_version") or (versions[0] if versions else None)
        names = list((self.manifest.get("mf_names") or {}).get(version, []))
        if frame.empty or version not in versions:
            wide = pd.DataFrame(columns=names, dtype=float)
            wide.index.name = "task_id"
        else:
            rows = frame[frame["mf_version"] == version]
            if not names:
                names = [c for c in rows.columns if c not in ("task_id", "mf_version") and rows[c].notna().any()]
            for n in names:
                if n not in rows.columns:
                    rows = rows.assign(**{n: float("nan")})
            wide = rows.set_index("task_id")[names].astype(float)
        if not long:
            return wide
        out = wide.reset_index().melt(id_vars="task_id", var_name="feature", value_name="value")
        out.insert(1, "mf_version", version)
        return out

    def evaluations(
        self,
        *,
        task_ids: Iterable[str] | None = None,
        algorithms: Iterable[str] | None = None,
        status: str | Iterable[str] | None = None,
        protocol_id: str | None = None,
        columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """Evaluation rows, one per key, filtered.

        Parameters
        ----------
        task_ids, algorithms
            Keep only these tasks / algorithms.
        status
            Keep only rows with this status (or these statuses): ``ok``, ``error``,
            ``timeout``, ``skipped``. Applied after duplicate resolution, so an
            evaluation that failed once and succeeded on a retry counts as ``ok``.
        protocol_id
            Keep only evaluations made under this protocol.
        columns
            Columns to read (all by default).
        """
        frame = self.read("evaluations", columns)
        if frame.empty:
            return frame
        mask = pd.Series(True, index=frame.index)
        if task_ids is not None:
            mask &= frame["task_id"].isin(list(task_ids))
        if algorithms is not None:
            mask &= frame["algorithm"].isin(list(algorithms))
        if protocol_id is not None:
            mask &= frame["protocol_id"] == protocol_id
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            mask &= frame["status"].isin(wanted)
        return frame[mask].reset_index(drop=True)

    def merge(self, other: KnowledgeBase | str | os.PathLike[str]) -> dict[str, int]:
        """Append the rows of another knowledge base (e.g. a shard built elsewhere).

        Rows whose key this knowledge base already holds are not copied, so merging
        twice adds nothing. Both must use the same evaluation protocol.

        Returns
        -------
        dict
            Rows copied per table.

        Raises
        ------
        KnowledgeBaseError
            If the two knowledge bases hold evaluations of different protocols.
        """
        src = other if isinstance(other, KnowledgeBase) else KnowledgeBase.open(other)
        mine, theirs = self.manifest.get("protocol_id"), src.manifest.get("protocol_id")
        if mine and theirs and mine != theirs:
            raise KnowledgeBaseError(
                f"cannot merge {src.path} (protocol {theirs}) into {self.path} (protocol {mine})",
                "merge only knowledge bases built with the same protocol",
            )
        names = dict(self.manifest.get("mf_names") or {})
        for version, vnames in (src.manifest.get("mf_names") or {}).items():
            names[version] = [*names.get(version, []), *(n for n in vnames if n not in names.get(version, []))]
        self.update_manifest(
            mf_names=names,
            protocol_id=mine or theirs,
            mf_version=self.manifest.get("mf_version") or src.manifest.get("mf_version"),
        )
        copied = {}
        for table, spec in TABLES.items():
            rows = src.read(table)
            have = self.keys(table)
            if len(rows) and have:
                keys = rows[list(spec.key)].astype(str).itertuples(index=False, name=None)
                rows = rows[[k not in have for k in keys]]
            self.append(table, rows)
            copied[table] = int(len(rows))
        return copied

    def export(self, directory: str | os.PathLike[str], fmt: str = "parquet") -> list[Path]:
        """Write each table, duplicates resolved, as one file ``<table>.<fmt>`` in ``directory``.

        Parameters
        ----------
        directory
            Output folder (created).
        fmt
            ``"parquet"`` or ``"csv"``. Meta-features are written wide (``task_id`` then
            one column per feature of the current version); list cells (``fold_scores``)
            become JSON text in CSV.

        Returns
        -------
        list of Path
            The files written.
        """
        if fmt not in ("parquet", "csv"):
            raise KnowledgeBaseError(f"unknown export format {fmt!r}", "use parquet or csv")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        frames = {
            "tasks": self.tasks(),
            "metafeatures": self.metafeatures().reset_index(),
            "evaluations": self.evaluations(),
        }
        written = []
        for table, frame in frames.items():
            path = out / f"{table}.{fmt}"
            if fmt == "csv":
                frame = frame.copy()
                for col in frame.columns:
                    if frame[col].dtype == object:
                        frame[col] = frame[col].map(
                            lambda v: json.dumps([float(x) for x in v])
                            if hasattr(v, "__len__") and not isinstance(v, str) else v
                        )
                frame.to_csv(path, index=False)
            else:
                frame.to_parquet(path, index=False)
            written.append(path)
        return written

    def keys(self, table: str) -> set[tuple[str, ...]]:
        """The keys present in ``table`` (read from the key columns only)."""
        spec = table_spec(table)
        frame = self.backend.read(table, list(spec.key))
        if frame.empty:
            return set()
        return set(frame[list(spec.key)].astype(str).itertuples(index=False, name=None))

    def n_parts(self, table: str) -> int:
        """Number of parts of ``table`` (Parquet backend; 0 for others)."""
        if isinstance(self.backend, ParquetDirectoryBackend):
            return len(self.backend.parts(table))
        return 0

    def info(self) -> Any:
        """A :class:`~metaopt.kb.KBInfo` summary of coverage, failures and size."""
        from metaopt.kb._info import summarise

        return summarise(self)

    def __repr__(self) -> str:
        return f"KnowledgeBase({str(self.path)!r}, schema={SCHEMA_VERSION})"


def _write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
