"""The learn tests' synthetic knowledge base (planted structure), reused for the benchmark.

Also puts the repository's ``benchmarks/`` folder on ``sys.path``, as running a script
there does, so the tests import the benchmarks' experiment harness as ``harness``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_BENCHMARKS = str(Path(__file__).resolve().parents[2] / "benchmarks")
if _BENCHMARKS not in sys.path:
    sys.path.insert(0, _BENCHMARKS)

_spec = importlib.util.spec_from_file_location(
    "_learn_synthetic_kb", Path(__file__).parents[1] / "learn" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_synthetic = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _synthetic  # dataclasses look their module up
_spec.loader.exec_module(_synthetic)


@pytest.fixture(scope="session")
def bench_kb(tmp_path_factory: pytest.TempPathFactory):
    """The synthetic knowledge base of ``tests/learn/conftest.py`` (read-only)."""
    return _synthetic.build_synthetic_kb(tmp_path_factory.mktemp("bench") / "kb")
