"""A small synthetic knowledge base with planted structure, written through the real store.

``synthetic_kb`` (session-scoped, read-only) holds:

* 12 binary tasks ``bin00`` … ``bin11``: 7 on side A (meta-feature ``f0 > 0``), 5 on
  side B (``f0 < 0``); ``f1`` follows ``f0`` with a little noise, ``f2`` is the side's
  sign plus noise, ``f3`` is pure noise and NaN on some tasks;
* 2 regression tasks ``reg00``, ``reg01`` (to check that kinds are kept apart);
* for each task, algorithms ``hgb``, ``random_forest`` and ``knn``, each with its real
  library default plus 5 configs of its real Sobol design (the same pool on every
  task of a kind, as the builder plans it).

Planted scores (binary; plus a per-config quality offset in [0, 0.05] and noise below
0.002): ``hgb`` 0.90 on side A and 0.60 on side B; ``knn`` the mirror image;
``random_forest`` 0.80 everywhere. The best config of a side is ``PLANTED_BEST[side]``
(quality 0.05), the defaults have quality 0.04. One ``knn`` design config errors on
``bin00`` and one times out on ``bin01``; ``knn`` is ``skipped`` on ``reg01``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metaopt.kb import KnowledgeBase
from metaopt.metafeatures import VERSION as MF_VERSION
from metaopt.spaces import DataShape, config_id, get_space

PROTOCOL = "p-test"
ALGS = ("hgb", "random_forest", "knn")
N_DESIGN = 5
SIDE_A_F0 = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
SIDE_B_F0 = (-0.5, -0.875, -1.25, -1.625, -2.0)
# quality offsets of (default, design 0..4); index 3 of the design is the planted best
QUALITY = (0.04, 0.0, 0.01, 0.02, 0.05, 0.03)


@dataclass(frozen=True)
class SyntheticKB:
    """The synthetic knowledge base and the facts planted in it."""

    kb: KnowledgeBase
    side: dict[str, str]  # task id → "A" | "B" (binary tasks only)
    f0: dict[str, float]
    pool: dict[str, list[tuple[str, dict]]]  # kind → [(config_id, params)] per algorithm order
    best: dict[str, tuple[str, str]]  # side → (algorithm, config_id) of the planted best config
    defaults: dict[tuple[str, str], str]  # (algorithm, kind) → default config id


def _pool(kind: str) -> dict[str, list[tuple[str, dict]]]:
    shape = DataShape(n_rows=1000, n_features=10, kind=kind, n_classes=2 if kind == "binary" else 0)
    out = {}
    for i, alg in enumerate(ALGS):
        space = get_space(alg)
        configs = [dict(space.default(kind)), *space.design(N_DESIGN, shape, seed=100 + i)]
        out[alg] = [(config_id(alg, p), p) for p in configs]
    return out


def build_synthetic_kb(path: Path, task_overrides: dict[str, dict] | None = None) -> SyntheticKB:
    """Write the synthetic knowledge base described in the module docstring to ``path``.

    ``task_overrides`` (task id → columns) replaces columns of the ``tasks`` rows, e.g.
    their ``source`` and ``group`` for the leave-source-out benchmark's tests.
    """
    kb = KnowledgeBase.create(path, mf_version=MF_VERSION, protocol_id=PROTOCOL)
    rng = np.random.default_rng(0)
    tasks, mf_rows, evals = [], [], []
    side, f0s = {}, {}
    pools = {kind: _pool(kind) for kind in ("binary", "regression")}
    binary = [("A", f) for f in SIDE_A_F0] + [("B", f) for f in SIDE_B_F0]
    for t, (s, f0) in enumerate(binary):
        task_id = f"bin{t:02d}"
        side[task_id], f0s[task_id] = s, f0
        sign = 1.0 if s == "A" else -1.0
        mf = {
            "f0": f0,
            "f1": f0 + float(rng.normal(0, 0.05)),
            "f2": sign + float(rng.normal(0, 0.1)),
            "f3": float(rng.normal(0, 1)) if t % 4 else float("nan"),
        }
        mf_rows.append((task_id, MF_VERSION, mf))
        tasks.append({"task_id": task_id, "source": "synthetic", "name": task_id, "group": task_id,
                      "kind": "binary", "status": "ok", "message": ""})
        base = {"hgb": 0.90 if s == "A" else 0.60, "random_forest": 0.80, "knn": 0.60 if s == "A" else 0.90}
        for alg in ALGS:
            for j, (cid, params) in enumerate(pools["binary"][alg]):
                score = base[alg] + QUALITY[j] + float(rng.uniform(0, 0.002))
                status = "ok"
                if alg == "knn" and j == 5 and task_id == "bin00":
                    status = "error"
                if alg == "knn" and j == 5 and task_id == "bin01":
                    status = "timeout"
                evals.append(_row(task_id, alg, cid, params, "roc_auc", score if status == "ok" else None, status))
    for t in range(2):
        task_id = f"reg{t:02d}"
        mf_rows.append((task_id, MF_VERSION, {"f0": 0.1 * t, "f1": 0.0, "f2": 0.0, "f3": 0.0}))
        tasks.append({"task_id": task_id, "source": "synthetic", "name": task_id, "group": task_id,
                      "kind": "regression", "status": "ok", "message": ""})
        for alg in ALGS:
            pool = pools["regression"][alg]
            if alg == "knn" and t == 1:
                cid, params = pool[0]
                evals.append(_row(task_id, alg, cid, params, "r2", None, "skipped"))
                continue
            for j, (cid, params) in enumerate(pool):
                score = {"hgb": 0.5, "random_forest": 0.7, "knn": 0.2}[alg] + QUALITY[j]
                evals.append(_row(task_id, alg, cid, params, "r2", score, "ok"))
    for row in tasks:
        row.update((task_overrides or {}).get(row["task_id"], {}))
    kb.append("tasks", tasks)
    kb.add_metafeatures(mf_rows)
    kb.append("evaluations", pd.DataFrame(evals))
    best = {"A": ("hgb", pools["binary"]["hgb"][4][0]), "B": ("knn", pools["binary"]["knn"][4][0])}
    defaults = {(alg, kind): pools[kind][alg][0][0] for kind in pools for alg in ALGS}
    flat = {kind: [c for alg in ALGS for c in pools[kind][alg]] for kind in pools}
    return SyntheticKB(KnowledgeBase.open(path), side, f0s, flat, best, defaults)


def _row(task_id: str, alg: str, cid: str, params: dict, metric: str, score: float | None,
         status: str) -> dict:
    return {
        "task_id": task_id, "algorithm": alg, "config_id": cid, "protocol_id": PROTOCOL,
        "params": json.dumps(params, sort_keys=True, separators=(",", ":")),
        "metric": metric,
        "score": float("nan") if score is None else float(score),
        "fold_scores": [] if score is None else [float(score)] * 3,
        "fit_time": 0.01, "status": status,
        "message": "" if status == "ok" else f"synthetic {status}",
    }


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> SyntheticKB:
    """The synthetic knowledge base (shared; do not write to it)."""
    return build_synthetic_kb(tmp_path_factory.mktemp("learn") / "kb")


#: Held out of the transfer and similarity tests' training tasks: one of each side.
HELD_OUT = ("bin03", "bin09")  # side A, side B


@pytest.fixture(scope="session")
def held_out() -> tuple[str, str]:
    """Two binary tasks left out of ``train_ids``: ``bin03`` (side A), ``bin09`` (side B)."""
    return HELD_OUT


@pytest.fixture(scope="session")
def pool(synthetic):  # -> PoolTable
    """The synthetic knowledge base's pool table (shared; do not modify)."""
    from metaopt.learn import PoolTable

    return PoolTable(synthetic.kb)


@pytest.fixture(scope="session")
def train_ids(pool) -> list[str]:
    """Every task of the pool but the :data:`HELD_OUT` ones."""
    return [t for t in pool.task_ids if t not in HELD_OUT]


@pytest.fixture(scope="session")
def portfolio(pool, train_ids):  # -> TransferPortfolio
    """A transfer portfolio (default parameters) fitted on ``train_ids``, once per session
    (test_similarity and test_transfer use it; do not refit or modify it)."""
    from metaopt.learn import TransferPortfolio

    return TransferPortfolio().fit(pool, train_ids)
