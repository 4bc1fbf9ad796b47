"""OpenML datasets, tasks and suites through openml-python, with its on-disk cache.

OpenML's own metadata decides the target (the dataset's ``default_target_attribute``
or the task's ``target_name``) and the kind (a nominal target is classification, a
numeric one regression). Row-id and ignore attributes are left out, as OpenML marks
them. openml-python caches what it downloads under
``<cache>/org/openml/www/datasets/<id>/`` (``description.xml``, ``dataset.arff`` or
``dataset_<id>.pq``, ...) and ``.../tasks/<id>/task.xml``; a second load reads the
cache and needs no network. Suites are not cached by openml-python, so this module
stores what it learned about a suite as JSON under ``<cache>/metaopt/suites/``.

The cache folder is, in order: the ``cache_dir`` argument, ``$METAOPT_OPENML_CACHE``,
openml-python's configured cache (``~/.cache/openml`` by default).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from metaopt._exceptions import SourceError
from metaopt._optional import import_optional
from metaopt.tasks._sources import SourceEntry, TaskSource, _as_entry, task_from_frame
from metaopt.tasks._task import Task

__all__ = ["OPENML_CACHE_ENV", "OpenMLSource", "load_openml", "load_openml_ref"]

OPENML_CACHE_ENV = "METAOPT_OPENML_CACHE"

_HINT = "connect once, or pass --openml-cache DIR pointing at a cache that has it"


def _resolve_cache(cache_dir: str | os.PathLike[str] | None) -> Path | None:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(OPENML_CACHE_ENV)
    return Path(env).expanduser() if env else None


def _openml() -> Any:
    """The ``openml`` module, or a MissingDependencyError naming the ``openml`` extra."""
    return import_optional("openml", extra="openml", purpose="reading OpenML data")


@contextlib.contextmanager
def _openml_cache(cache_dir: Path | None) -> Iterator[Any]:
    """Point openml-python at ``cache_dir`` for the duration of the block."""
    openml = _openml()
    if cache_dir is None:
        yield openml
        return
    previous = Path(openml.config._root_cache_directory)
    openml.config.set_root_cache_directory(str(cache_dir))
    try:
        yield openml
    finally:
        openml.config.set_root_cache_directory(str(previous))


def _server_cache_dir() -> Path:
    return Path(_openml().config.get_cache_directory())


def _is_network_error(exc: BaseException) -> bool:
    """True for errors that mean 'openml.org could not be reached / answered'."""
    import requests

    try:
        from openml.exceptions import OpenMLServerError, OpenMLServerNoResult
    except ImportError:  # pragma: no cover
        return isinstance(exc, (requests.RequestException, OSError))
    if isinstance(exc, OpenMLServerNoResult):
        return False
    if isinstance(exc, (requests.RequestException, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, OpenMLServerError) and not getattr(exc, "code", None):
        return True
    import urllib3

    return isinstance(exc, urllib3.exceptions.HTTPError)


def _offline_error(what: str, cache: Path | None, exc: BaseException) -> SourceError:
    where = str(cache) if cache is not None else _server_cache_dir()
    return SourceError(
        f"{what} is not in the cache at {where} and openml.org cannot be reached "
        f"({type(exc).__name__}: {str(exc)[:200]})",
        _HINT,
    )


def _kind_of(y: Any, nominal: bool) -> str:
    if not nominal:
        return "regression"
    return "binary" if y.dropna().nunique() <= 2 else "multiclass"


def load_openml(
    dataset_id: int,
    *,
    target: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    entry: SourceEntry | None = None,
    task_type: str | None = None,
    kind: str | None = None,
    max_rows: int | None = None,
    random_state: int = 0,
) -> Task:
    """Load one OpenML dataset as a Task.

    Parameters
    ----------
    dataset_id
        OpenML dataset id.
    target
        Target column; default: the dataset's ``default_target_attribute``.
    cache_dir
        OpenML cache folder (default ``$METAOPT_OPENML_CACHE``, else openml's own).
    entry
        The source entry to stamp on the task (default ``openml:<id>``).
    task_type
        ``classification`` or ``regression`` when an OpenML task fixes it.
    kind
        ``binary``, ``multiclass`` or ``regression`` to override what OpenML's
        metadata says (a nominal target is classification, a numeric one regression).
    max_rows, random_state
        Subsample, as in :func:`metaopt.load_task`.

    Raises
    ------
    SourceError
        The dataset is neither cached nor downloadable, has no (single) default target,
        or its target type does not match the task type.
    MissingDependencyError
        openml-python is not installed (the ``openml`` extra).
    """
    cache = _resolve_cache(cache_dir)
    did = int(dataset_id)
    ds, frame, categorical, names = _fetch_dataset(did, cache)
    target = _dataset_target(did, ds, frame, target)
    nominal = _target_is_nominal(did, target, dict(zip(names, categorical, strict=True)), task_type, kind)
    kind = kind or _kind_of(frame[target], nominal)
    if nominal and not isinstance(frame[target].dtype, __import__("pandas").CategoricalDtype):
        frame[target] = frame[target].astype("category")
    if entry is None:
        entry = SourceEntry(
            task_id=f"openml:{did}",
            source="openml",
            name=str(ds.name),
            group=_group_name(str(ds.name)),
            kind=kind,
            target=target,
            openml_id=did,
        )
    dropped = [*_as_list(ds.row_id_attribute), *_as_list(ds.ignore_attribute)]
    provenance = {
        "openml_id": did,
        "openml_name": str(ds.name),
        "openml_version": ds.version,
        "licence": ds.licence,
        "url": f"https://www.openml.org/d/{did}",
        "openml_dropped": dropped,
        "openml_cache": str(cache) if cache is not None else None,
    }
    notices = [f"OpenML marks {c!r} as row id / ignore attribute; left out" for c in dropped]
    return task_from_frame(
        frame, target, entry=entry, kind=kind, provenance=provenance, notices=notices,
        max_rows=max_rows, random_state=random_state,
    )


def _fetch_dataset(did: int, cache: Path | None) -> tuple[Any, Any, Any, Any]:
    """``(dataset, frame, categorical flags, column names)`` of OpenML dataset ``did``,
    from the cache or openml.org; a SourceError when neither has it."""
    with _openml_cache(cache) as openml:
        try:
            ds = openml.datasets.get_dataset(
                did,
                download_data=True,
                download_qualities=False,
                download_features_meta_data=False,
            )
            frame, _, categorical, names = ds.get_data(dataset_format="dataframe")
        except SourceError:
            raise
        except Exception as exc:
            if _is_network_error(exc):
                raise _offline_error(f"OpenML dataset {did}", cache, exc) from None
            from openml.exceptions import OpenMLServerException

            if isinstance(exc, OpenMLServerException):
                raise SourceError(
                    f"OpenML dataset {did} cannot be loaded: {exc}",
                    "check the id on openml.org",
                ) from None
            raise
    return ds, frame, categorical, names


def _dataset_target(did: int, ds: Any, frame: Any, target: str | None) -> str:
    """``target``, else the dataset's default target attribute: one column of the data."""
    target = target or ds.default_target_attribute
    if not target:
        raise SourceError(
            f"OpenML dataset {did} ({ds.name}) has no default target attribute",
            "load it through an OpenML task (openml-task:ID) or pass the target",
        )
    if "," in target:
        raise SourceError(
            f"OpenML dataset {did} ({ds.name}) has several targets ({target})",
            "metaopt handles one target: load it through an OpenML task with one target",
        )
    if target not in frame.columns:
        raise SourceError(
            f"OpenML dataset {did}: target {target!r} is not a column of the data",
            f"columns are {list(frame.columns)[:10]}",
        )
    return target


def _target_is_nominal(
    did: int, target: str, categorical: dict[str, Any], task_type: str | None, kind: str | None
) -> bool:
    """Whether the target is a class label: OpenML's feature type, unless a classification
    task or ``kind`` says otherwise (a regression task on a nominal target is an error)."""
    nominal = categorical.get(target, False)
    if task_type == "classification" and not nominal:
        nominal = True
    if task_type == "regression" and nominal:
        raise SourceError(
            f"OpenML dataset {did}: the task is regression but target {target!r} is nominal",
            "use a classification task for this dataset",
        )
    if kind is not None:
        nominal = kind != "regression"
    return bool(nominal)


def load_openml_ref(
    ref: str,
    *,
    target: str | None = None,
    kind: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    max_rows: int | None = None,
    random_state: int = 0,
) -> Task:
    """Load ``openml:ID`` (a dataset) or ``openml-task:ID`` (a task's dataset and target).

    What :func:`metaopt.load_task` does with such a string; the other parameters are
    those of :func:`load_openml`.

    Raises
    ------
    SourceError
        ``ref`` names no single dataset or task (a suite, a name), or the data is not
        cached and openml.org cannot be reached.
    """
    scheme, _, arg = str(ref).partition(":")
    scheme, arg = scheme.strip().lower(), arg.strip()
    if scheme not in ("openml", "openml-task") or not arg.isdigit():
        raise SourceError(
            f"{str(ref)!r} does not name one OpenML dataset or task",
            "write openml:ID for a dataset (e.g. openml:61) or openml-task:ID for a task "
            "(e.g. openml-task:59); suites are for `metaopt kb build --source`",
        )
    options: dict[str, Any] = dict(
        cache_dir=cache_dir, kind=kind, max_rows=max_rows, random_state=random_state
    )
    if scheme == "openml":
        return load_openml(int(arg), target=target, **options)
    meta = OpenMLSource(tasks=[arg], cache_dir=cache_dir)._task_meta(int(arg))
    return load_openml(
        meta["dataset_id"], target=target or meta["target"], task_type=meta["task_type"],
        **options,
    )


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    return [str(v) for v in value]


def _group_name(name: str) -> str:
    """Base dataset name of an OpenML dataset name (``BNG(credit-g)`` -> ``credit-g``)."""
    m = re.match(r"^BNG\((.+?)(,.*)?\)$", name)
    return (m.group(1) if m else name).lower()


class OpenMLSource(TaskSource):
    """OpenML datasets, tasks or one suite.

    Parameters
    ----------
    datasets
        OpenML dataset ids.
    tasks
        OpenML task ids (supervised classification or regression).
    suite
        A benchmark suite by alias or id (``OpenML-CC18``, ``OpenML-CTR23``, ``99``).
        Listing it needs the network once; the listing is then kept in the cache.
    cache_dir
        OpenML cache folder (default ``$METAOPT_OPENML_CACHE``, else openml's own).
    """

    def __init__(
        self,
        datasets: list[int | str] | None = None,
        tasks: list[int | str] | None = None,
        suite: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.datasets = [self._int(d, "dataset") for d in (datasets or [])]
        self.tasks = [self._int(t, "task") for t in (tasks or [])]
        self.suite = suite
        self.cache_dir = _resolve_cache(cache_dir)
        _openml()  # a missing openml-python fails here, before anything is built

    @staticmethod
    def _int(value: int | str, what: str) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SourceError(
                f"OpenML {what} id {value!r} is not an integer",
                "write openml:31 for a dataset, openml-task:3 for a task",
            ) from None

    @property
    def spec(self) -> str:
        if self.suite is not None:
            return f"openml-suite:{self.suite}"
        if self.tasks and not self.datasets and len(self.tasks) == 1:
            return f"openml-task:{self.tasks[0]}"
        if self.datasets and not self.tasks and len(self.datasets) == 1:
            return f"openml:{self.datasets[0]}"
        return "openml"

    # -- listing ---------------------------------------------------------------------

    def entries(self) -> list[SourceEntry]:
        out = [
            SourceEntry(task_id=f"openml:{d}", source="openml", name=str(d), openml_id=d)
            for d in self.datasets
        ]
        for t in self.tasks:
            meta = self._task_meta(t)
            out.append(self._task_entry(meta))
        if self.suite is not None:
            out.extend(self._task_entry(m) for m in self._suite_listing()["tasks"])
        return out

    @staticmethod
    def _task_entry(meta: dict[str, Any]) -> SourceEntry:
        did = meta.get("dataset_id")
        name = meta.get("name") or (str(did) if did else f"task{meta['task_id']}")
        return SourceEntry(
            task_id=f"openml:{did}" if did else f"openml-task:{meta['task_id']}",
            source="openml",
            name=str(name),
            group=_group_name(str(name)),
            target=meta.get("target"),
            openml_id=did,
            extra={"openml_task": meta["task_id"], "task_type": meta.get("task_type")},
        )

    def _task_meta(self, tid: int) -> dict[str, Any]:
        with _openml_cache(self.cache_dir) as openml:
            try:
                # the task description alone (cached task.xml, else one API call);
                # get_task would also fetch the dataset's features to list class labels
                from openml.tasks import functions as task_functions

                describe = getattr(task_functions, "_get_task_description", None)
                if describe is not None:
                    task = describe(tid)
                else:  # pragma: no cover - other openml versions
                    task = openml.tasks.get_task(tid, download_splits=False,
                                                 download_data=False)
            except Exception as exc:
                if _is_network_error(exc):
                    raise _offline_error(f"OpenML task {tid}", self.cache_dir, exc) from None
                raise
        return _meta_from_task(task)

    def _suite_file(self) -> Path:
        root = self.cache_dir
        if root is None:
            root = Path(_openml().config._root_cache_directory)
        key = re.sub(r"[^A-Za-z0-9_.-]", "_", str(self.suite))
        return root / "metaopt" / "suites" / f"{key}.json"

    def _suite_listing(self) -> dict[str, Any]:
        path = self._suite_file()
        if path.is_file():
            return json.loads(path.read_text())
        with _openml_cache(self.cache_dir) as openml:
            try:
                suite = openml.study.get_suite(self.suite)
                listing = _list_suite_tasks(openml, list(suite.tasks or []))
            except Exception as exc:
                if _is_network_error(exc):
                    raise _offline_error(
                        f"OpenML suite {self.suite!r}", self.cache_dir, exc
                    ) from None
                from openml.exceptions import OpenMLServerException

                if isinstance(exc, OpenMLServerException):
                    raise SourceError(
                        f"OpenML suite {self.suite!r} cannot be listed: {exc}",
                        "check the suite's alias or id on openml.org (e.g. OpenML-CC18)",
                    ) from None
                raise
        data = {"suite": str(self.suite), "suite_id": suite.id, "name": suite.name,
                "tasks": listing}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1))
        return data

    # -- loading ---------------------------------------------------------------------

    def load(self, entry: SourceEntry | dict[str, Any]) -> Task:
        entry = _as_entry(entry)
        tid = entry.extra.get("openml_task")
        if tid is not None:
            meta = self._task_meta(int(tid))
            did = meta["dataset_id"]
            entry = SourceEntry(**{**entry.to_dict(), "openml_id": did,
                                   "task_id": f"openml:{did}"})
            return load_openml(did, target=meta["target"], cache_dir=self.cache_dir,
                               entry=_named(entry, did, self.cache_dir),
                               task_type=meta["task_type"])
        did = entry.openml_id if entry.openml_id is not None else int(entry.task_id.split(":")[1])
        return load_openml(did, target=entry.target, cache_dir=self.cache_dir,
                           entry=_named(entry, did, self.cache_dir))


def _named(entry: SourceEntry, did: int, cache: Path | None) -> SourceEntry | None:
    """Entries listed without loading carry the id as name; let load_openml fill it in."""
    if entry.name == str(did):
        return None
    return entry


def _meta_from_task(task: Any) -> dict[str, Any]:
    ttype = getattr(task, "task_type", "") or ""
    low = str(ttype).lower()
    if "classification" in low:
        kind = "classification"
    elif "regression" in low:
        kind = "regression"
    else:
        raise SourceError(
            f"OpenML task {task.task_id} is a {ttype!r} task",
            "metaopt loads supervised classification and regression tasks only",
        )
    return {
        "task_id": int(task.task_id),
        "dataset_id": int(task.dataset_id),
        "target": task.target_name,
        "task_type": kind,
        "name": None,
    }


def _list_suite_tasks(openml: Any, task_ids: list[int]) -> list[dict[str, Any]]:
    """Task id, dataset id, name, target and type of each task of a suite (network)."""
    out: list[dict[str, Any]] = []
    try:
        df = openml.tasks.list_tasks(task_id=task_ids, output_format="dataframe")
    except TypeError:  # older/newer openml without the task_id filter
        df = None
    if df is not None and len(df):
        by_id = {int(r["tid"]): r for _, r in df.iterrows()}
        for t in task_ids:
            r = by_id.get(int(t))
            if r is None:
                continue
            low = str(r.get("task_type", "")).lower()
            out.append({
                "task_id": int(t),
                "dataset_id": int(r["did"]),
                "name": str(r.get("name", r["did"])),
                "target": r.get("target_feature"),
                "task_type": "regression" if "regression" in low else "classification",
            })
        return out
    for t in task_ids:
        task = openml.tasks.get_task(int(t), download_data=False, download_splits=False)
        out.append(_meta_from_task(task))
    return out
