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


# leave-source-out layout of the synthetic tasks: two large sources, two tiny ones (merged
# into one held-out block), and one base dataset ("shared") present in alpha and beta
LSO_SOURCES = {
    **{f"bin{i:02d}": "alpha" for i in range(0, 12, 2)},
    **{f"bin{i:02d}": "beta" for i in range(1, 10, 2)},
    "bin11": "gamma", "reg00": "alpha", "reg01": "delta",
}
LSO_GROUPS = {"bin02": "shared", "bin03": "shared"}


@pytest.fixture(scope="session")
def bench_kb_sources(tmp_path_factory: pytest.TempPathFactory):
    """The synthetic knowledge base with the sources and groups of ``LSO_SOURCES`` / ``LSO_GROUPS``."""
    overrides = {t: {"source": s, **({"group": LSO_GROUPS[t]} if t in LSO_GROUPS else {})}
                 for t, s in LSO_SOURCES.items()}
    return _synthetic.build_synthetic_kb(tmp_path_factory.mktemp("bench_lso") / "kb", overrides)
