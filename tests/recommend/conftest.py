"""Fixtures: a tiny knowledge base of real tasks and the models trained on it."""

from __future__ import annotations

from pathlib import Path

import pytest
from recommend_fakes import build_models


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root with ``data/*.csv`` (the KB's datasets), ``kb/`` and ``models/`` (read-only)."""
    root = tmp_path_factory.mktemp("recommend")
    build_models(root)
    return root
