"""Shared by tests/integrations and tests/cli/test_cli_tune.py: a tiny real-task KB with
trained models (surrogate + a small learned optimizer), and a fake learned optimizer.

``build_root(path)`` writes the eight small CSV datasets and the knowledge base of
``tests/recommend/recommend_fakes.py`` under ``path`` and trains the recommender's
recommender into ``path / "models"`` (its optimizer with a few meta-training updates); about 10-20 s, so the tests use it once per session
through ``tuning_root`` (tests/conftest.py).

:class:`FakeOptimizer` has the interface of :class:`metaopt.learn.LearnedOptimizer`
that :class:`~metaopt.integrations.optuna.MetaSampler` uses (``algorithms``,
``horizon``, ``start`` → a run with ``observe``, ``propose``,
``algorithm_probabilities``) and records every run, so tests can see what the sampler
fed it and check that its proposals are what the trials got.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metaopt.spaces import DataShape, get_space

_FAKES = Path(__file__).resolve().parents[1] / "recommend" / "recommend_fakes.py"

#: Shape and meta-features the contract tests condition the sampler on.
SHAPE = DataShape(n_rows=300, n_features=5, kind="binary", n_classes=2)
METAFEATURES = {"n_rows": 300.0, "n_features": 5.0}

#: Meta-training settings of the small optimizer: seconds, not minutes.
SMALL_OPTIMIZER = {"iterations": 3, "horizon": 6, "hidden_size": 8, "tasks_per_batch": 4, "rollouts": 2}


def recommend_fakes() -> Any:
    """The module ``tests/recommend/recommend_fakes.py`` (not a package: loaded by path)."""
    spec = importlib.util.spec_from_file_location("recommend_fakes", _FAKES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_root(path: Path) -> Path:
    """Datasets under ``path/data``, the KB under ``path/kb``, models under ``path/models``."""
    from metaopt.recommend import Recommender

    kb = recommend_fakes().build_kb(path)
    Recommender(
        n_members=2, surrogate_params={"max_iter": 30, "min_samples_leaf": 5},
        optimizer_params=SMALL_OPTIMIZER,
    ).fit(kb).save(path / "models")
    return path


class FakeRun:
    """A recording optimizer run with deterministic proposals."""

    def __init__(self, opt: FakeOptimizer, metafeatures: Mapping[str, float], shape: DataShape,
                 algorithms: Sequence[str] | None, seed: int | None) -> None:
        self.opt = opt
        self.metafeatures = dict(metafeatures)
        self.shape = shape
        self.algorithms = list(algorithms) if algorithms is not None else list(opt.algorithms)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.observed: list[tuple[str, dict[str, Any], float | None]] = []
        self.proposed: list[tuple[str | None, str, dict[str, Any]]] = []

    def observe(self, algorithm: str, params: Mapping[str, Any], value: float | None) -> None:
        self.observed.append((algorithm, dict(params), value))

    def algorithm_probabilities(self) -> dict[str, float]:
        weights = {a: float(self.opt.weights.get(a, 1.0)) for a in self.algorithms}
        total = sum(weights.values())
        return {a: w / total for a, w in weights.items()}

    def propose(self, algorithm: str | None = None) -> tuple[str, dict[str, Any]]:
        probs = self.algorithm_probabilities()
        alg = algorithm if algorithm is not None else max(probs, key=lambda a: (probs[a], a))
        space = get_space(alg)
        if alg in self.opt.configs:
            params = space.validate(self.opt.configs[alg], self.shape)
        else:
            params = space.from_unit(self.rng.random(len(space.params(self.shape))), self.shape)
            params = space.validate(params, self.shape)
        self.proposed.append((algorithm, alg, params))
        return alg, params


class FakeOptimizer:
    """Knows ``algorithms``; proposes ``configs[alg]`` (else a seeded random config) for the
    most probable algorithm (``weights``, default equal: then the last by name)."""

    def __init__(self, algorithms: Sequence[str] = ("linear", "knn"), horizon: int = 10,
                 configs: Mapping[str, Mapping[str, Any]] | None = None,
                 weights: Mapping[str, float] | None = None) -> None:
        self.algorithms = list(algorithms)
        self.horizon = horizon
        self.configs = {k: dict(v) for k, v in (configs or {}).items()}
        self.weights = dict(weights or {})
        self.runs: list[FakeRun] = []

    def start(self, metafeatures: Mapping[str, float], shape: DataShape,
              algorithms: Sequence[str] | None = None, seed: int | None = None) -> FakeRun:
        run = FakeRun(self, metafeatures, shape, algorithms, seed)
        self.runs.append(run)
        return run
