"""The trained models the recommender reads: one directory, JSON + numpy, no pickle.

Layout of a models directory (written by :func:`train_models`, read by
:func:`load_models`)::

    manifest.json        format, versions, the KB's fingerprint, the OOD threshold
    surrogate/           metaopt.learn.Surrogate.save (manifest.json + weights.npz)
    nearest.json         NearestDatasets (with its GreedyPortfolio fallback)
    portfolio.json       GreedyPortfolio (the whole pool, ranked per kind)
    best_default.json    BestDefault
    pool.json            per kind: the KB's shared config pool, with each config's
                         mean normalized score over the KB's tasks of that kind
    evidence.json        per KB task: name, kind, metric, and for every algorithm its
                         best config there (id, raw and normalized score)
    transfer/            metaopt.learn.TransferPortfolio.save (manifest.json + weights.npz):
                         the pool's scores on every KB task and the learned task
                         similarity, which rank suggest's candidates
    optimizer/           metaopt.learn.LearnedOptimizer.save (manifest.json + weights.npz),
                         read by the Optuna MetaSampler (not by suggest)

Directory lookup (:func:`default_models_path`): an explicit path, else
``$METAOPT_MODELS``, else ``datasets/models`` of the source checkout, else
``metaopt/datasets/models`` inside the installed package.

The out-of-distribution threshold is the 95th percentile, over the training tasks, of
each task's leave-group-out excess distance (the surrogate's ``ood_distance`` of the
task against the tasks of *other* base-dataset groups): a new dataset farther from the
knowledge base than 95 % of the known datasets are from each other is flagged.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from metaopt._exceptions import ModelError, ModelVersionError
from metaopt._paths import data_path
from metaopt._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from metaopt.kb import KnowledgeBase
    from metaopt.learn import (
        BestDefault,
        GreedyPortfolio,
        NearestDatasets,
        Surrogate,
        TransferPortfolio,
    )

__all__ = [
    "MODELS_ENV",
    "ModelBundle",
    "default_models_path",
    "load_models",
    "train_models",
]

#: Environment variable naming the models directory.
MODELS_ENV = "METAOPT_MODELS"

_FORMAT = "metaopt-models"
_FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
_TRAIN = "run `metaopt train` (or point --models / METAOPT_MODELS at a trained models directory)"
_KINDS = ("binary", "multiclass", "regression")


def default_models_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Where the recommender's models live (see the module docstring for the order)."""
    if path is not None:
        return Path(path).expanduser()
    return data_path("models", MODELS_ENV, _MANIFEST)


@dataclass
class ModelBundle:
    """Everything :func:`metaopt.suggest` needs, loaded from one directory.

    Attributes
    ----------
    path
        The directory.
    manifest
        Its ``manifest.json``.
    surrogate, nearest, portfolio, best_default
        The trained models.
    pool
        Kind → list of ``{"algorithm", "config_id", "params", "prior"}`` (``prior``: mean
        normalized score over the KB's tasks of that kind).
    evidence
        Task id → ``{"name", "kind", "metric", "best": {algorithm: {...}}}``.
    transfer
        The similarity-weighted portfolio (None for models trained without one).
    """

    path: Path
    manifest: dict[str, Any]
    surrogate: Surrogate
    nearest: NearestDatasets
    portfolio: GreedyPortfolio
    best_default: BestDefault
    pool: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfer: TransferPortfolio | None = None

    @property
    def ood_threshold(self) -> float:
        """Excess meta-feature distance beyond which a dataset is out of distribution."""
        return float(self.manifest.get("ood_threshold") or 0.0)


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, allow_nan=False), encoding="utf-8")
    os.replace(tmp, path)


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _ood_threshold(surrogate: Surrogate, kb: KnowledgeBase, task_ids: list[str]) -> float:
    """95th percentile of the leave-group-out excess distances of the training tasks."""
    from metaopt.learn._surrogate import _rms_distance

    enc = surrogate.encoder_
    assert enc is not None  # from_kb always sets it
    mf = kb.metafeatures().reindex(task_ids)
    X = enc.scale_metafeatures(mf)
    tasks = kb.tasks()
    group = dict(zip(tasks["task_id"].astype(str), tasks["group"].astype(str), strict=False))
    g = np.array([group.get(t) or t for t in task_ids])
    if len(X) < 2:
        return 0.0
    d = _rms_distance(X, X)
    d[g[:, None] == g[None, :]] = np.inf
    nn = d.min(axis=1)
    nn = nn[np.isfinite(nn)]
    if not len(nn):
        return 0.0
    excess = np.maximum(nn - surrogate.ood_reference_, 0.0)
    return float(np.percentile(excess, 95))


def train_models(
    kb: KnowledgeBase | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    n_members: int = 8,
    random_state: int = 0,
    optimizer_params: Mapping[str, Any] | None = None,
    **surrogate_params: Any,
) -> Path:
    """Train the surrogate, the baselines and the learned optimizer; write them to ``out``.

    Parameters
    ----------
    kb
        A :class:`~metaopt.kb.KnowledgeBase` or its directory.
    out
        The models directory (created; files in it are replaced atomically).
    n_members, random_state, **surrogate_params
        :class:`~metaopt.learn.Surrogate` parameters.
    optimizer_params
        :class:`~metaopt.learn.LearnedOptimizer` parameters (its defaults, seeded with
        ``random_state``, when None); ``{"iterations": 0}`` skips the optimizer. It is
        written to ``out / "optimizer"``, where :func:`metaopt.learn.load_optimizer`
        looks for it.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    ModelError
        If the knowledge base holds no usable evaluations.
    """
    from metaopt.kb import KnowledgeBase
    from metaopt.learn import (
        BestDefault,
        GreedyPortfolio,
        NearestDatasets,
        Surrogate,
        config_table,
        kb_fingerprint,
        score_matrix,
    )

    if not isinstance(kb, KnowledgeBase):
        kb = KnowledgeBase.open(kb)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    surrogate = Surrogate.from_kb(
        kb, n_members=n_members, random_state=random_state, **surrogate_params
    )
    surrogate.save(out / "surrogate")
    nearest = NearestDatasets().fit(kb)
    nearest.save(out / "nearest.json")
    portfolio = GreedyPortfolio(size=None).fit(kb)
    portfolio.save(out / "portfolio.json")
    best_default = BestDefault().fit(kb)
    best_default.save(out / "best_default.json")
    optimizer_info: dict[str, Any] | None = None
    opt_params = {"seed": random_state, **dict(optimizer_params or {})}
    if int(opt_params.get("iterations", 1)) > 0:
        from metaopt.learn import LearnedOptimizer

        optimizer = LearnedOptimizer(**opt_params).fit(kb)
        optimizer.save(out / "optimizer")
        optimizer_info = {"params": optimizer.get_params(), "training": optimizer.training_}
        transfer = getattr(optimizer, "transfer_", None)
    else:
        transfer = None
    if transfer is None:
        from metaopt.learn import PoolTable, TransferPortfolio

        transfer = TransferPortfolio().fit(PoolTable(kb))
    transfer.save(out / "transfer")

    tasks = kb.tasks()
    tasks = tasks[tasks["status"].astype(str) == "ok"]
    kinds = dict(zip(tasks["task_id"].astype(str), tasks["kind"].astype(str), strict=False))
    names = dict(zip(tasks["task_id"].astype(str), tasks["name"].astype(str), strict=False))
    ev = kb.evaluations()
    ev = ev[ev["task_id"].astype(str).isin(kinds)]
    params = config_table(ev)["params"].to_dict()
    pool: dict[str, list[dict[str, Any]]] = {}
    for kind in _KINDS:
        matrix = score_matrix(ev, kind, task_kinds=kinds)
        if matrix.empty:
            continue
        prior = matrix.fillna(0.0).mean(axis=0)
        pool[kind] = [
            {
                "algorithm": str(alg),
                "config_id": str(cid),
                "params": params.get((alg, cid), {}),
                "prior": float(prior[(alg, cid)]),
            }
            for alg, cid in matrix.columns
        ]
    norm = score_matrix(ev, task_kinds=kinds)
    raw = ev[ev["status"].astype(str) == "ok"]
    raw_score = raw.groupby(["task_id", "algorithm", "config_id"])["score"].max().to_dict()
    metric = raw.groupby("task_id")["metric"].first().to_dict()
    evidence: dict[str, dict[str, Any]] = {}
    for task_id in norm.index:
        row = norm.loc[task_id]
        best: dict[str, Any] = {}
        for alg in sorted(set(row.index.get_level_values(0))):
            sub = row[alg].dropna()
            if sub.empty:
                continue
            cid = str(sub.idxmax())
            best[str(alg)] = {
                "config_id": cid,
                "normalized": float(sub.max()),
                "score": _finite(raw_score.get((task_id, alg, cid))),
            }
        evidence[str(task_id)] = {
            "name": names.get(str(task_id), str(task_id)),
            "kind": kinds.get(str(task_id)),
            "metric": str(metric.get(task_id, "")),
            "best": best,
        }
    _write_json(out / "pool.json", pool)
    _write_json(out / "evidence.json", evidence)
    trained_tasks = sorted(set(kb.metafeatures().index.astype(str)) & set(ev["task_id"].astype(str)))
    kb_info = dict(surrogate.kb_info_ or {})
    kb_info.pop("path", None)
    manifest = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "metaopt_version": __version__,
        "mf_version": str(kb.manifest.get("mf_version")),
        "kb": {
            **kb_info,
            "fingerprint": kb_fingerprint(kb),
            "n_tasks_by_kind": {k: sum(1 for t in kinds.values() if t == k) for k in _KINDS},
        },
        "ood_threshold": _ood_threshold(surrogate, kb, trained_tasks),
        "ood_reference": float(surrogate.ood_reference_),
        "surrogate": {"model": surrogate.model, "n_members": len(surrogate.members_)},
        "optimizer": optimizer_info,
        "train_seconds": round(time.perf_counter() - started, 1),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_json(out / _MANIFEST, manifest)
    return out


def load_models(path: str | os.PathLike[str] | None = None) -> ModelBundle:
    """Load the models directory (see :func:`default_models_path`).

    Raises
    ------
    ModelError
        If the directory or one of its files is missing or unreadable.
    ModelVersionError
        If the models were written in another format or for another meta-feature
        version than this metaopt computes.
    """
    from metaopt.learn import (
        BestDefault,
        GreedyPortfolio,
        NearestDatasets,
        Surrogate,
        TransferPortfolio,
    )
    from metaopt.metafeatures import VERSION

    root = default_models_path(path)
    manifest_path = root / _MANIFEST
    if not manifest_path.is_file():
        raise ModelError(f"no trained models at {root} (no {_MANIFEST})", _TRAIN)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"the models manifest {manifest_path} is unreadable ({exc})", _TRAIN) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise ModelError(f"{manifest_path} is not a metaopt models manifest", _TRAIN)
    if manifest.get("format_version") != _FORMAT_VERSION:
        raise ModelVersionError(
            f"the models at {root} have format version {manifest.get('format_version')}, "
            f"this metaopt (version {__version__}) reads {_FORMAT_VERSION}",
            _TRAIN,
        )
    if manifest.get("mf_version") != VERSION:
        raise ModelVersionError(
            f"the models at {root} were trained on meta-feature version "
            f"{manifest.get('mf_version')}, this metaopt computes version {VERSION}",
            _TRAIN,
        )
    try:
        surrogate = Surrogate.load(root / "surrogate")
        nearest = NearestDatasets.load(root / "nearest.json")
        portfolio = GreedyPortfolio.load(root / "portfolio.json")
        best_default = BestDefault.load(root / "best_default.json")
        pool = json.loads((root / "pool.json").read_text(encoding="utf-8"))
        evidence = json.loads((root / "evidence.json").read_text(encoding="utf-8"))
        transfer = (
            TransferPortfolio.load(root / "transfer") if (root / "transfer").is_dir() else None
        )
    except ModelError as exc:
        raise type(exc)(exc.message, _TRAIN) from exc
    except (OSError, ValueError) as exc:
        raise ModelError(f"the models at {root} are incomplete ({exc})", _TRAIN) from exc
    return ModelBundle(
        root, manifest, surrogate, nearest, portfolio, best_default, pool, evidence, transfer
    )
