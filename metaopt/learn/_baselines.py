"""Baseline recommenders: what every learned model must beat, and its fallbacks.

Every baseline has the same shape (CONVENTIONS 5): ``__init__`` stores parameters,
``fit(source, tasks=None)`` learns from a knowledge base (or its frames) and returns
``self``, learned state ends in ``_``, and ``recommend(metafeatures, kind, k)`` returns
up to ``k`` ``(algorithm, params)`` pairs, best first. Each saves to and loads from a
JSON file that records a format version and the knowledge-base and meta-feature
versions it was trained with (:meth:`BaseBaseline.save`, :meth:`BaseBaseline.load`).

This module holds the shared machinery and the two simplest baselines:
:class:`LibraryDefaults` (no learning) and :class:`BestDefault`.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

from metaopt._exceptions import ModelError, ModelVersionError
from metaopt.kb import KnowledgeBase
from metaopt.learn._targets import config_table, default_config_id, score_matrix
from metaopt.spaces import ALGORITHMS, get_space

__all__ = [
    "BASELINE_FORMAT_VERSION",
    "BaseBaseline",
    "BestDefault",
    "LibraryDefaults",
    "Recommendation",
    "TrainingData",
    "training_data",
]

#: Version of the baselines' JSON layout; bump it when an old reader would misread it.
BASELINE_FORMAT_VERSION = 1
_FORMAT = "metaopt-baseline"
KINDS: tuple[str, ...] = ("binary", "multiclass", "regression")

#: One recommended configuration: ``(algorithm, params)``.
Recommendation = tuple[str, dict[str, Any]]

B = TypeVar("B", bound="BaseBaseline")


@dataclass
class TrainingData:
    """The frames a baseline learns from, restricted to the training tasks.

    Attributes
    ----------
    tasks
        One row per training task: ``task_id``, ``kind`` (and whatever else the KB has).
    metafeatures
        Wide frame indexed by ``task_id`` (training tasks only).
    evaluations
        Evaluation rows of the training tasks.
    versions
        ``schema_version``, ``protocol_id`` and ``mf_version`` of the source KB.
    """

    tasks: pd.DataFrame
    metafeatures: pd.DataFrame
    evaluations: pd.DataFrame
    versions: dict[str, Any] = field(default_factory=dict)

    @property
    def kinds(self) -> pd.Series:
        """Task id → kind."""
        return self.tasks.set_index("task_id")["kind"].astype(str)


def training_data(
    source: KnowledgeBase | str | os.PathLike[str] | Mapping[str, Any] | TrainingData,
    tasks: Iterable[str] | None = None,
) -> TrainingData:
    """Gather the training frames from a knowledge base, keeping only ``tasks``.

    Parameters
    ----------
    source
        A :class:`~metaopt.kb.KnowledgeBase`, its path, a :class:`TrainingData`, or a
        mapping with frames ``"tasks"`` (``task_id``, ``kind``), ``"evaluations"`` and
        optionally ``"metafeatures"`` (wide, indexed by ``task_id``) and
        ``"versions"``.
    tasks
        Task ids to train on (leave-dataset-out folds); all tasks by default. Rows of
        other tasks are dropped before anything is computed, normalization included.

    Raises
    ------
    ModelError
        If no training task with evaluations remains.
    """
    if isinstance(source, TrainingData):
        frames: dict[str, Any] = {
            "tasks": source.tasks, "metafeatures": source.metafeatures,
            "evaluations": source.evaluations, "versions": source.versions,
        }
    elif isinstance(source, Mapping):
        frames = dict(source)
    else:
        kb = source if isinstance(source, KnowledgeBase) else KnowledgeBase.open(source)
        frames = {
            "tasks": kb.tasks(status="ok"),
            "metafeatures": kb.metafeatures(),
            "evaluations": kb.evaluations(protocol_id=kb.manifest.get("protocol_id")),
            "versions": {
                "schema_version": kb.manifest.get("schema_version"),
                "protocol_id": kb.manifest.get("protocol_id"),
                "mf_version": kb.manifest.get("mf_version"),
            },
        }
    task_frame = pd.DataFrame(frames["tasks"]).copy()
    if "status" in task_frame.columns:
        task_frame = task_frame[task_frame["status"].fillna("ok") == "ok"]
    evaluations = pd.DataFrame(frames["evaluations"])
    mf = frames.get("metafeatures")
    mf = pd.DataFrame(mf) if mf is not None else pd.DataFrame(index=pd.Index([], name="task_id"))
    keep = set(task_frame["task_id"].astype(str))
    if tasks is not None:
        keep &= {str(t) for t in tasks}
    if len(evaluations):
        keep &= set(evaluations["task_id"].astype(str))
    else:
        keep = set()
    if not keep:
        raise ModelError(
            "no training task left: none of the requested tasks has evaluations in the knowledge base",
            "build the knowledge base first (`metaopt kb build`) or pass task ids it holds",
        )
    task_frame = task_frame[task_frame["task_id"].astype(str).isin(keep)].reset_index(drop=True)
    evaluations = evaluations[evaluations["task_id"].astype(str).isin(keep)].reset_index(drop=True)
    mf = mf[mf.index.astype(str).isin(keep)]
    return TrainingData(task_frame, mf, evaluations, dict(frames.get("versions") or {}))


class BaseBaseline(ABC):
    """A baseline recommender: ``fit`` on KB tasks, ``recommend`` configs for a new one.

    Lifecycle: construct with parameters (stored as given), :meth:`fit` on a knowledge
    base (optionally a subset of its tasks), then :meth:`recommend`; :meth:`save`
    writes parameters and learned state to JSON, :meth:`load` reads them back and checks
    versions. Subclasses implement :meth:`_fit`, :meth:`_recommend`, and the state
    (de)serialisation :meth:`_state` / :meth:`_set_state`.
    """

    #: Whether the recommendations depend on meta-features (then a loaded model must
    #: match the meta-feature version of the query).
    uses_metafeatures: ClassVar[bool] = False
    #: Whether :meth:`fit` needs data at all.
    needs_data: ClassVar[bool] = True

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self: B, **params: Any) -> B:
        """Set constructor parameters, as scikit-learn's ``set_params``."""
        for name, value in params.items():
            if name not in self._param_names():
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}")
            setattr(self, name, value)
        return self

    @classmethod
    def _param_names(cls) -> list[str]:
        import inspect

        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def fit(
        self: B,
        source: KnowledgeBase | str | os.PathLike[str] | Mapping[str, Any] | TrainingData,
        tasks: Iterable[str] | None = None,
    ) -> B:
        """Learn from ``source`` (see :func:`training_data`), only from ``tasks`` if given.

        Returns
        -------
        self
        """
        data = training_data(source, tasks)
        self.versions_ = dict(data.versions)
        self.n_train_tasks_ = int(len(data.tasks))
        self._fit(data)
        return self

    @abstractmethod
    def _fit(self, data: TrainingData) -> None:
        """Set the learned state from the training data."""

    def recommend(
        self, metafeatures: Mapping[str, float] | None, kind: str, k: int = 10
    ) -> list[Recommendation]:
        """Up to ``k`` configurations for a new task, best first.

        Parameters
        ----------
        metafeatures
            The new task's meta-features (name → value); ``None`` when unknown (the
            baselines that need them fall back to their meta-feature-free ranking).
        kind
            ``"binary"``, ``"multiclass"`` or ``"regression"``.
        k
            How many configurations at most.

        Raises
        ------
        ModelError
            If the model is not fitted or knows nothing about ``kind``.
        """
        if kind not in KINDS:
            raise ModelError(f"unknown task kind {kind!r}", f"use one of: {', '.join(KINDS)}")
        if self.needs_data and not hasattr(self, "versions_"):
            raise ModelError(
                f"this {type(self).__name__} is not fitted",
                "call fit(kb) first, or load a saved one with load(path)",
            )
        if k <= 0:
            return []
        return [(a, dict(p)) for a, p in self._recommend(metafeatures, kind, int(k))[:k]]

    @abstractmethod
    def _recommend(
        self, metafeatures: Mapping[str, float] | None, kind: str, k: int
    ) -> list[Recommendation]:
        """At least ``k`` (or all available) recommendations, best first."""

    # -- persistence -----------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        """The learned state as JSON-able data."""
        return {}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        """Restore the learned state from :meth:`_state`'s output (none by default)."""
        return None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write parameters, learned state and versions to the JSON file ``path``."""
        if self.needs_data and not hasattr(self, "versions_"):
            raise ModelError(f"this {type(self).__name__} is not fitted", "call fit(kb) before save")
        versions = dict(getattr(self, "versions_", {}))
        doc = {
            "format": _FORMAT,
            "format_version": BASELINE_FORMAT_VERSION,
            "class": type(self).__name__,
            "params": self.get_params(),
            "kb_schema_version": versions.get("schema_version"),
            "kb_protocol_id": versions.get("protocol_id"),
            "mf_version": versions.get("mf_version"),
            "n_train_tasks": getattr(self, "n_train_tasks_", 0),
            "state": self._state(),
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(doc, indent=1, allow_nan=False), encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(
        cls: type[B],
        path: str | os.PathLike[str],
        *,
        kb: KnowledgeBase | None = None,
        mf_version: str | None = None,
    ) -> B:
        """Read a model written by :meth:`save` and check its versions.

        Parameters
        ----------
        path
            The JSON file.
        kb
            If given, the model must have been trained on a knowledge base of the same
            schema version and evaluation protocol.
        mf_version
            The meta-feature version the caller will query with; by default the
            current :data:`metaopt.metafeatures.VERSION` for models that use
            meta-features (no check for the others).

        Raises
        ------
        ModelError
            If the file is missing, unreadable, or holds another kind of model.
        ModelVersionError
            If its format, knowledge-base or meta-feature version does not match.
        """
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot read the model file {path} ({exc})",
                "train it again with fit(kb).save(path)",
            ) from exc
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise ModelError(f"{path} is not a metaopt baseline model file", "pass a file written by save()")
        if doc.get("format_version") != BASELINE_FORMAT_VERSION:
            raise ModelVersionError(
                f"{path} has baseline format version {doc.get('format_version')}, this metaopt "
                f"reads {BASELINE_FORMAT_VERSION}",
                "retrain it with this metaopt: fit(kb).save(path)",
            )
        if doc.get("class") != cls.__name__:
            raise ModelError(
                f"{path} holds a {doc.get('class')}, not a {cls.__name__}",
                f"load it with {doc.get('class')}.load",
            )
        if kb is not None:
            for key, field_name in (("schema_version", "kb_schema_version"), ("protocol_id", "kb_protocol_id")):
                have, want = doc.get(field_name), kb.manifest.get(key)
                if have is not None and want is not None and have != want:
                    raise ModelVersionError(
                        f"{path} was trained on a knowledge base with {key} {have!r}, "
                        f"the knowledge base at {kb.path} has {want!r}",
                        "retrain the model on this knowledge base: fit(kb).save(path)",
                    )
        if mf_version is None and cls.uses_metafeatures:
            from metaopt.metafeatures import VERSION

            mf_version = VERSION
        if mf_version is not None and doc.get("mf_version") is not None and doc["mf_version"] != mf_version:
            raise ModelVersionError(
                f"{path} was trained with meta-feature version {doc['mf_version']!r}, "
                f"expected {mf_version!r}",
                "retrain the model on a knowledge base with the current meta-features "
                "(`metaopt kb build`, then fit(kb).save(path))",
            )
        model = cls(**doc.get("params", {}))
        if cls.needs_data or doc.get("n_train_tasks"):
            model.versions_ = {
                "schema_version": doc.get("kb_schema_version"),
                "protocol_id": doc.get("kb_protocol_id"),
                "mf_version": doc.get("mf_version"),
            }
            model.n_train_tasks_ = int(doc.get("n_train_tasks") or 0)
        model._set_state(doc.get("state") or {})
        return model

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


# -- helpers shared by the baselines ---------------------------------------------
def _library_order(algorithms: Iterable[str]) -> list[str]:
    """Algorithms in :data:`metaopt.spaces.ALGORITHMS` order, unknown ones last (sorted)."""
    algs = list(dict.fromkeys(algorithms))
    known = [a for a in ALGORITHMS if a in algs]
    return known + sorted(a for a in algs if a not in ALGORITHMS)


def _kind_matrix(data: TrainingData, kind: str) -> pd.DataFrame:
    """Normalized scores of the training tasks of ``kind`` (tasks × configs), NaN → 0.

    NaN means the config was not evaluated there or its algorithm does not apply: for a
    recommendation it is worth nothing on that task.
    """
    kinds = data.kinds
    ids = set(kinds[kinds == kind].index)
    ev = data.evaluations[data.evaluations["task_id"].astype(str).isin(ids)]
    if ev.empty:
        return pd.DataFrame()
    return score_matrix(ev).fillna(0.0)


def _params_lookup(data: TrainingData) -> dict[tuple[str, str], dict[str, Any]]:
    table = config_table(data.evaluations)
    return {(str(a), str(c)): dict(p) for (a, c), p in table["params"].items()}


class LibraryDefaults(BaseBaseline):
    """Every algorithm's library default, in the fixed order of ``algorithms``.

    No learning. The default order is :data:`metaopt.spaces.ALGORITHMS`: ``hgb``,
    ``random_forest``, ``extra_trees``, ``linear``, ``svm``, ``knn``, ``mlp`` (boosted
    trees first, as they are the strongest single default on tabular data).

    Parameters
    ----------
    algorithms
        The algorithms and their order; ``None`` means all of ``ALGORITHMS``.
    """

    needs_data = False

    def __init__(self, algorithms: Sequence[str] | None = None) -> None:
        self.algorithms = algorithms

    def fit(self, source: Any = None, tasks: Iterable[str] | None = None) -> LibraryDefaults:
        """Nothing to learn; records the KB versions when a ``source`` is given."""
        if source is not None:
            super().fit(source, tasks)
        return self

    def _fit(self, data: TrainingData) -> None:
        pass

    def _recommend(self, metafeatures: Mapping[str, float] | None, kind: str, k: int) -> list[Recommendation]:
        algs = list(self.algorithms) if self.algorithms is not None else list(ALGORITHMS)
        return [(a, dict(get_space(a).default(kind))) for a in algs]


class BestDefault(BaseBaseline):
    """Per kind, the algorithms' library defaults ranked by mean normalized score.

    The mean is over the training tasks of that kind; a task where the default was not
    evaluated or its algorithm does not apply counts 0. Ties keep the library order.
    Algorithms whose default was never evaluated on a kind come last, in library order.

    Parameters
    ----------
    algorithms
        The algorithms to rank; ``None`` means every algorithm in the training data.
    """

    def __init__(self, algorithms: Sequence[str] | None = None) -> None:
        self.algorithms = algorithms

    def _fit(self, data: TrainingData) -> None:
        algs = [
            a for a in _library_order(
                self.algorithms if self.algorithms is not None else data.evaluations["algorithm"].astype(str)
            )
            if a in ALGORITHMS  # a default exists only for known spaces
        ]
        self.ranking_: dict[str, list[list[Any]]] = {}
        for kind in KINDS:
            matrix = _kind_matrix(data, kind)
            if matrix.empty:
                continue
            rows: list[list[Any]] = []
            for alg in algs:
                cid = default_config_id(alg, kind) if alg in ALGORITHMS else None
                if cid is not None and (alg, cid) in matrix.columns:
                    score = float(matrix[(alg, cid)].mean())
                else:
                    score = float("nan")
                rows.append([alg, score])
            order = sorted(
                range(len(rows)),
                key=lambda i: (np.isnan(rows[i][1]), -(rows[i][1] if not np.isnan(rows[i][1]) else 0.0), i),
            )
            self.ranking_[kind] = [
                [rows[i][0], None if np.isnan(rows[i][1]) else rows[i][1]] for i in order
            ]

    def mean_scores(self, kind: str) -> dict[str, float | None]:
        """Algorithm → mean normalized score of its default on training tasks of ``kind``."""
        return {a: s for a, s in self.ranking_.get(kind, [])}

    def _recommend(self, metafeatures: Mapping[str, float] | None, kind: str, k: int) -> list[Recommendation]:
        if kind not in self.ranking_:
            raise ModelError(
                f"{type(self).__name__} saw no training task of kind {kind!r}",
                "fit it on a knowledge base with tasks of that kind, or use LibraryDefaults",
            )
        return [(a, dict(get_space(a).default(kind))) for a, _ in self.ranking_[kind]]

    def _state(self) -> dict[str, Any]:
        return {"ranking": self.ranking_}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        self.ranking_ = {k: [list(r) for r in v] for k, v in state["ranking"].items()}
