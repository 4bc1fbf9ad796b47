"""A tiny knowledge base of real tasks with planted scores, and models trained on it.

``build_models(tmp)`` writes eight small CSV datasets (6 binary, 2 regression, real
columns: numeric, one categorical, a few missing values), loads them with
``load_task``, extracts their real meta-features, and stores them with the store API
together with planted evaluations of the shared pool (each algorithm's default plus
3 Sobol configs) for ``hgb``, ``linear`` and ``knn``:

* scores: ``hgb`` 0.9, ``linear`` 0.8, ``knn`` 0.7 plus a per-config offset
  (deterministic), so the surrogate has something to learn;
* fit times per 1,000 rows: ``knn`` 0.001 s, ``linear`` 0.01 s, ``hgb`` 1 s.

Then it trains the recommender's models (2 small surrogate members) with
:class:`metaopt.recommend.Recommender`. Shared by ``tests/recommend`` and
``tests/cli/test_suggest.py``; takes a few seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

ALGS = ("hgb", "linear", "knn")
BASE = {"hgb": 0.9, "linear": 0.8, "knn": 0.7}
FIT_PER_1000 = {"hgb": 1.0, "linear": 0.01, "knn": 0.001}
PROTOCOL = "p-recommend-test"


def write_csv(path: Path, kind: str, n_rows: int, n_numeric: int, seed: int) -> Path:
    """A small table whose last column ``target`` depends on the features."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_numeric)) * rng.uniform(0.5, 3.0, n_numeric)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(n_numeric)])
    frame["colour"] = rng.choice(["red", "green", "blue"], n_rows)
    signal = X[:, 0] + 0.5 * X[:, 1] + (frame["colour"] == "red") * 0.5
    frame.loc[rng.random(n_rows) < 0.03, "x1"] = np.nan
    if kind == "binary":
        frame["target"] = np.where(signal + rng.normal(0, 0.5, n_rows) > 0, "yes", "no")
    else:
        frame["target"] = signal + rng.normal(0, 0.3, n_rows)
    frame.to_csv(path, index=False)
    return path


def build_kb(root: Path):  # -> KnowledgeBase
    """Write the tiny knowledge base under ``root / "kb"`` (datasets under ``root / "data"``)."""
    from metaopt.kb import KnowledgeBase
    from metaopt.learn import reference_shape
    from metaopt.metafeatures import VERSION, extract
    from metaopt.spaces import config_id, get_space
    from metaopt.tasks import load_task

    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    kb = KnowledgeBase.create(root / "kb", mf_version=VERSION, protocol_id=PROTOCOL)
    specs = [("binary", 120 + 30 * i, 3 + i % 3, i) for i in range(6)]
    specs += [("regression", 150 + 40 * i, 4, 10 + i) for i in range(2)]
    tasks, mf_rows, evals = [], [], []
    for kind, n_rows, n_numeric, seed in specs:
        name = f"{kind[:3]}{seed:02d}"
        task = load_task(write_csv(data / f"{name}.csv", kind, n_rows, n_numeric, seed))
        task_id = f"test:{name}"
        tasks.append({"task_id": task_id, "source": "test", "name": name, "group": name,
                      "kind": task.kind, "status": "ok", "message": "", "n_rows": float(n_rows)})
        mf_rows.append((task_id, VERSION, dict(extract(task))))
        shape = reference_shape(task.kind)
        for a, alg in enumerate(ALGS):
            space = get_space(alg)
            pool = [dict(space.default(task.kind)), *space.design(3, shape, seed=7 + a)]
            for j, params in enumerate(pool):
                score = BASE[alg] + 0.02 * j + 0.01 * ((seed * 3 + j) % 4)
                evals.append({
                    "task_id": task_id, "algorithm": alg, "config_id": config_id(alg, params),
                    "protocol_id": PROTOCOL,
                    "params": json.dumps(params, sort_keys=True, separators=(",", ":")),
                    "metric": "roc_auc" if kind == "binary" else "r2",
                    "score": score, "fold_scores": [score] * 3,
                    "fit_time": FIT_PER_1000[alg] * n_rows / 1000.0, "n_rows_used": n_rows,
                    "status": "ok", "message": "",
                })
    kb.append("tasks", tasks)
    kb.add_metafeatures(mf_rows)
    kb.append("evaluations", pd.DataFrame(evals))
    return KnowledgeBase.open(root / "kb")


def build_models(root: Path) -> Path:
    """Build the tiny knowledge base and train the recommender's models into ``root / "models"``."""
    from metaopt.recommend import Recommender

    kb = build_kb(root)
    Recommender(
        n_members=2, surrogate_params={"max_iter": 30, "min_samples_leaf": 5},
        optimizer_params={"iterations": 20, "tasks_per_batch": 4, "rollouts": 4, "horizon": 8},
    ).fit(kb).save(root / "models")
    return root / "models"
