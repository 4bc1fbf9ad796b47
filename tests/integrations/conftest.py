"""Fixtures of the Optuna integration's tests: real tiny datasets, models and optimizer."""

from __future__ import annotations

import sys
from pathlib import Path

import optuna
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from integration_fakes import FakeOptimizer  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="session")
def root(tuning_root: Path) -> Path:
    """``data/`` (bin00..bin05.csv, reg10/11.csv), ``kb/``, ``models/`` (with ``optimizer/``).

    ``build_root``'s, trained once per session (tests/conftest.py: shared with
    tests/cli/test_cli_tune.py); read-only.
    """
    return tuning_root


@pytest.fixture(scope="session")
def models(root: Path) -> Path:
    return root / "models"


@pytest.fixture(scope="session")
def optimizer(models: Path):
    """The small learned optimizer trained on the tiny KB."""
    from metaopt.recommend import load_optimizer

    return load_optimizer(models)


@pytest.fixture(scope="session")
def shipped_optimizer():
    """The learned optimizer of the shipped models (datasets/models): nothing is trained."""
    from metaopt.recommend import load_optimizer

    return load_optimizer(Path(__file__).resolve().parents[2] / "datasets" / "models")


@pytest.fixture(scope="session")
def task(root: Path):
    """``bin01``: 150 rows, binary, 4 numeric columns and a categorical one."""
    from metaopt.tasks import load_task

    return load_task(root / "data" / "bin01.csv")


@pytest.fixture
def fake_optimizer() -> type[FakeOptimizer]:
    return FakeOptimizer
