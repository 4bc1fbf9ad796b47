"""Storage backends of the knowledge base: one abstract base, one Parquet implementation."""

from __future__ import annotations

import abc
import itertools
import os
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from metaopt._exceptions import KnowledgeBaseError, SchemaVersionError
from metaopt.kb._schema import SCHEMA_VERSION, dedupe, normalise_records, table_spec

__all__ = ["KBBackend", "ParquetDirectoryBackend"]

_META_SCHEMA = b"metaopt.kb.schema_version"
_META_TABLE = b"metaopt.kb.table"


class KBBackend(abc.ABC):
    """Where the knowledge base's tables live: an append-only store of row batches.

    Lifecycle: a backend is created over a location that the
    :class:`~metaopt.kb.KnowledgeBase` has already initialised (manifest written).
    Writers call :meth:`append` with a batch of rows; each batch becomes visible to
    readers atomically, all or nothing. :meth:`read` returns every stored row of a table
    in write order, duplicates included (the KnowledgeBase resolves keys with
    :func:`~metaopt.kb._schema.dedupe`). :meth:`compact` rewrites a table as fewer
    batches without changing what a deduplicating reader sees, even when interrupted;
    given ``replace`` rows it substitutes them for the stored rows of the same keys
    (re-measured evaluations: the one way a stored row changes). An interrupted
    replacement leaves the old rows in force. One process writes at a time (a compaction
    keeps batches appended while it runs); any number may read.
    """

    @abc.abstractmethod
    def append(self, table: str, frame: pd.DataFrame) -> str:
        """Store ``frame`` as one new, atomically visible batch of ``table``; return its name."""

    @abc.abstractmethod
    def read(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Every row of ``table`` in write order (``columns`` limits the columns read)."""

    @abc.abstractmethod
    def compact(self, table: str, replace: pd.DataFrame | None = None) -> int:
        """Merge ``table``'s batches into one deduplicated batch; return how many were merged.

        ``replace``: rows that take the place of the stored rows with the same keys.
        """


class ParquetDirectoryBackend(KBBackend):
    """Tables as directories of Parquet parts: ``<root>/<table>/part-<utc time>-<uuid>.parquet``.

    Writes go to a hidden temporary file in the table's directory, are fsynced, then
    renamed to their final name with :func:`os.replace` (atomic on POSIX and Windows),
    so a reader that lists ``part-*.parquet`` only ever sees complete parts. Part names
    sort chronologically. Every part carries the schema version and table name in its
    Parquet key-value metadata. Nothing is pickled.

    Parameters
    ----------
    root
        The knowledge base directory.
    """

    _lock = threading.Lock()
    _last_stamp = ""
    _counter = itertools.count()

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # -- paths -----------------------------------------------------------------
    def table_dir(self, table: str) -> Path:
        """The directory holding ``table``'s parts."""
        table_spec(table)
        return self.root / table

    def parts(self, table: str) -> list[Path]:
        """The complete parts of ``table``, oldest first."""
        directory = self.table_dir(table)
        if not directory.is_dir():
            return []
        return sorted(directory.glob("part-*.parquet"))

    @classmethod
    def _part_name(cls) -> str:
        with cls._lock:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
            # Never go backwards within a process, even if the wall clock does.
            stamp = max(stamp, cls._last_stamp)
            cls._last_stamp = stamp
            seq = next(cls._counter)
        return f"part-{stamp}-{seq:06d}-{uuid.uuid4().hex[:12]}.parquet"

    # -- KBBackend -------------------------------------------------------------
    def append(self, table: str, frame: pd.DataFrame) -> str:
        frame = normalise_records(table, frame)
        directory = self.table_dir(table)
        directory.mkdir(parents=True, exist_ok=True)
        arrow = pa.Table.from_pandas(frame, preserve_index=False)
        meta = dict(arrow.schema.metadata or {})
        meta.pop(b"pandas", None)
        meta[_META_SCHEMA] = str(SCHEMA_VERSION).encode()
        meta[_META_TABLE] = table.encode()
        arrow = arrow.replace_schema_metadata(meta)
        name = self._part_name()
        tmp = directory / f".{name}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as fh:
                pq.write_table(arrow, fh, compression="zstd")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, directory / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(directory)
        return name

    def read(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        # A concurrent compaction may remove a part between listing and reading it;
        # its rows are then in the merged part, so list again.
        for attempt in range(5):
            try:
                frames = [self._read_part(p, table, columns) for p in self.parts(table)]
                break
            except FileNotFoundError:
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
        frames = [f for f in frames if len(f.columns)]
        if not frames:
            return pd.DataFrame(columns=columns if columns is not None else list(table_spec(table).required))
        frames = [f for f in frames if len(f)] or frames[:1]
        if len(frames) == 1:
            return frames[0].reset_index(drop=True)
        return pd.concat(frames, ignore_index=True, sort=False)

    def compact(self, table: str, replace: pd.DataFrame | None = None) -> int:
        old = self.parts(table)
        directory = self.table_dir(table)
        self._remove_stale_temporaries(directory)
        if len(old) <= 1 and (replace is None or replace.empty):
            return len(old)
        merged = dedupe(table, self.read(table))
        if replace is not None and not replace.empty:
            key = list(table_spec(table).key)
            new = normalise_records(table, replace).reset_index(drop=True)
            new = new[~new.duplicated(key, keep="last").to_numpy()]
            if not merged.empty:
                merged_keys = pd.MultiIndex.from_frame(merged[key].astype(str))
                drop = merged_keys.isin(pd.MultiIndex.from_frame(new[key].astype(str)))
                merged = merged[~drop]
            merged = pd.concat([merged, new], ignore_index=True)
        # Write the merged part first, then remove the old ones: a crash in between
        # leaves duplicates that readers resolve to the old rows (the first ok ones).
        self.append(table, merged)
        for path in old:
            path.unlink(missing_ok=True)
        _fsync_dir(directory)
        return len(old)

    # -- helpers ---------------------------------------------------------------
    def _read_part(self, path: Path, table: str, columns: list[str] | None) -> pd.DataFrame:
        try:
            pf = pq.ParquetFile(path)
        except FileNotFoundError:
            raise
        except (OSError, pa.ArrowException) as exc:
            raise _damaged(path, exc) from exc
        meta = pf.schema_arrow.metadata or {}
        version = meta.get(_META_SCHEMA, b"").decode(errors="replace") or "?"
        if version != str(SCHEMA_VERSION):
            raise SchemaVersionError(
                f"knowledge-base part {path} has schema {version}, this metaopt reads {SCHEMA_VERSION}",
                "rebuild the knowledge base with this metaopt (`metaopt kb build --kb DIR`) "
                "or use the metaopt version that wrote it",
            )
        names = pf.schema_arrow.names
        cols = names if columns is None else [c for c in columns if c in names]
        try:
            # Damage inside the data pages (overwritten bytes) shows only when they are
            # decompressed and decoded.
            return pf.read(columns=cols).to_pandas()
        except FileNotFoundError:
            raise
        except (OSError, pa.ArrowException, ValueError, IndexError) as exc:
            raise _damaged(path, exc) from exc

    @staticmethod
    def _remove_stale_temporaries(directory: Path, older_than_s: float = 600.0) -> None:
        """Remove temporaries left by killed writers (old enough not to be in progress)."""
        if not directory.is_dir():
            return
        now = time.time()
        for tmp in directory.glob(".part-*.tmp"):
            try:
                if now - tmp.stat().st_mtime > older_than_s:
                    tmp.unlink()
            except FileNotFoundError:
                pass

    def disk_bytes(self) -> int:
        """Total size of the knowledge base's files, in bytes."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())


def _damaged(path: Path, exc: BaseException) -> KnowledgeBaseError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    root = path.parent.parent
    return KnowledgeBaseError(
        f"knowledge-base part {path} is damaged and cannot be read ({reason})",
        f"restore {root} from a copy, or delete that part (its rows are lost) and run "
        f"`metaopt kb build --kb {root}` to recompute them",
    )


def _fsync_dir(directory: Path) -> None:
    """Persist a rename (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
