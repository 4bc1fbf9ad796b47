"""Small deterministic stand-ins for the builder's components (tests only).

They follow the interfaces the builder drives (a task source, ``extract``, search
spaces, ``evaluate_many``) so builder behaviour — planning, resume, failures as rows,
batching — is tested fast and without depending on the cost of real evaluations.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metaopt._exceptions import DataError, EvaluationError
from metaopt.kb._build import BuildComponents
from metaopt.tasks import Task


@dataclass(frozen=True)
class Entry:
    task_id: str
    source: str
    name: str
    group: str | None = None
    kind: str | None = None
    target: str | None = None
    n_rows: int | None = None
    n_features: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_task(name: str, kind: str, n_rows: int, seed: int) -> Task:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({f"x{j}": rng.normal(size=n_rows) for j in range(3)})
    X["c"] = pd.Categorical(rng.choice(["u", "v", "w"], size=n_rows))
    signal = X["x0"].to_numpy() - X["x1"].to_numpy()
    if kind == "regression":
        y = pd.Series(signal + rng.normal(scale=0.1, size=n_rows), name="y")
    else:
        k = 2 if kind == "binary" else 3
        codes = np.digitize(signal, np.quantile(signal, np.linspace(0, 1, k + 1)[1:-1]))
        y = pd.Series(pd.Categorical.from_codes(codes, [f"k{i}" for i in range(k)]), name="y")
    return Task(X=X, y=y, kind=kind, task_id=f"fake:{name}", name=name, source="fake")  # type: ignore[arg-type]


class FakeSource:
    """Tasks ``fake:<name>``; a task named ``broken*`` fails to load."""

    spec = "fake"

    def __init__(self, specs: list[tuple[str, str, int]]) -> None:
        self.specs = specs

    def entries(self) -> list[Entry]:
        return [Entry(f"fake:{n}", "fake", n, kind=k, n_rows=r) for n, k, r in self.specs]

    def load(self, entry: Entry) -> Task:
        if entry.name.startswith("broken"):
            raise DataError(f"column 'y' of {entry.name} is constant", "pick another target")
        seed = int(hashlib.sha256(entry.name.encode()).hexdigest()[:6], 16)
        return make_task(entry.name, entry.kind or "binary", entry.n_rows or 60, seed)


class FakeMF(dict):
    version = "fake-mf-1"

    def to_dict(self) -> dict[str, float]:
        return dict(self)


def fake_extract(task: Task) -> FakeMF:
    return FakeMF(
        n_rows=float(task.n_rows),
        log_rows=float(np.log(task.n_rows)),
        n_features=float(task.n_features),
        n_classes=float(len(task.classes)) if task.is_classification else float("nan"),
    )


@dataclass
class Shape:
    n_rows: int
    n_features: int
    kind: str


class FakeSpace:
    """A 2-parameter space; ``wide`` refuses tasks of more than 100 rows."""

    def __init__(self, name: str) -> None:
        self.name = name

    def default(self, kind: str) -> dict[str, Any]:
        return {"alpha": 1.0, "depth": 3}

    def supports(self, shape: Shape) -> str | None:
        if self.name == "wide" and shape.n_rows > 100:
            return f"{self.name} is limited to 100 rows, the task has {shape.n_rows}"
        return None

    def design(self, n: int, shape: Shape, seed: int = 0) -> list[dict[str, Any]]:
        rng = np.random.default_rng(seed)
        return [{"alpha": round(float(10 ** rng.uniform(-3, 2)), 6), "depth": int(rng.integers(1, 9))}
                for _ in range(n)]


def fake_config_id(algorithm: str, params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps([algorithm, params], sort_keys=True).encode()).hexdigest()[:16]


def fake_evaluate_many(jobs: list[tuple], protocol: Any, *, n_jobs: int = 1, backend: str = "loky",
                       scheduler: Any = None):
    """One record per job; ``depth == 8`` fails; ``$FAKE_EVAL_DELAY`` seconds each.

    Like the real engine, it validates every job at call time (a task of fewer than 10
    rows raises) and then yields results lazily.
    """
    jobs = list(jobs)
    if any(task.n_rows < 10 for task, _, _ in jobs):
        raise EvaluationError("the task has fewer than 10 rows", "add rows")
    return _generate(jobs, protocol)


def _generate(jobs: list[tuple], protocol: Any):
    delay = float(os.environ.get("FAKE_EVAL_DELAY", "0"))
    for task, algorithm, params in jobs:
        if delay:
            time.sleep(delay)
        cid = fake_config_id(algorithm, params)
        failed = params.get("depth") == 8
        score = (int(cid[:6], 16) % 1000) / 1000.0
        yield {
            "task_id": task.task_id, "algorithm": algorithm, "config_id": cid,
            "params": params, "metric": "fake", "fold_scores": [score, score],
            "score": float("nan") if failed else score, "fit_time": 0.01, "predict_time": 0.001,
            "status": "error" if failed else "ok",
            "message": "ValueError: depth 8 is cursed" if failed else "",
            "seed": protocol.seed, "protocol_id": protocol.protocol_id, "n_rows_used": task.n_rows,
        }


@dataclass(frozen=True)
class FakeProtocol:
    seed: int = 0
    protocol_id: str = "pfake-1"

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed}


SPECS = [("alpha", "binary", 60), ("beta", "regression", 150), ("gamma", "multiclass", 90),
         ("broken", "binary", 50)]


def components(specs: list[tuple[str, str, int]] | None = None,
               algorithms: tuple[str, ...] = ("narrow", "wide")) -> BuildComponents:
    source = FakeSource(specs or SPECS)
    return BuildComponents(
        get_source=lambda spec: source,
        extract=fake_extract,
        mf_version=FakeMF.version,
        algorithms=algorithms,
        get_space=FakeSpace,
        data_shape=lambda t: Shape(t.n_rows, t.n_features, t.kind),
        config_id=fake_config_id,
        evaluate_many=fake_evaluate_many,
        make_job=lambda task, algorithm, params: (task, algorithm, params),
        default_protocol=FakeProtocol,
    )
