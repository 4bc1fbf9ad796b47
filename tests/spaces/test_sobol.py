"""``metaopt.spaces._sobol.Sobol`` against ``scipy.stats.qmc.Sobol``, and ``design()`` with it.

The engine exists so that ``metaopt suggest`` need not import ``scipy.stats``; the
knowledge base was built with scipy's engine, so every point must be bit-for-bit
the same. These tests import scipy; the last one checks, in a fresh process, that
drawing designs does not.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import qmc

import metaopt
from metaopt.spaces import SPACES, DataShape, KNNSpace, SearchSpace, config_id
from metaopt.spaces._sobol import Sobol

REPO = Path(metaopt.__file__).resolve().parents[1]
SEEDS = (0, 1, 2024)
KINDS = ("binary", "multiclass", "regression")


def _assert_same(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.dtype == theirs.dtype == np.float64
    assert ours.shape == theirs.shape
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("scramble", [True, False], ids=["scrambled", "plain"])
@pytest.mark.parametrize("d", range(1, 22))
def test_random_base2_equals_scipy(d: int, scramble: bool) -> None:
    for m in range(11):
        for seed in SEEDS:
            theirs = qmc.Sobol(d, scramble=scramble, rng=np.random.default_rng(seed))
            ours = Sobol(d, scramble=scramble, rng=np.random.default_rng(seed))
            _assert_same(ours.random_base2(m), theirs.random_base2(m))


@pytest.mark.parametrize("d", [1, 4, 13])
def test_continued_draws_equal_scipy(d: int) -> None:
    theirs = qmc.Sobol(d, rng=np.random.default_rng(5))
    ours = Sobol(d, rng=np.random.default_rng(5))
    _assert_same(ours.random_base2(3), theirs.random_base2(3))
    for n in (8, 16, 32, 0, 1, 7, 100):  # doubling, as design() draws, then any n
        _assert_same(ours.random(n), theirs.random(n))
    assert ours.num_generated == theirs.num_generated


@pytest.mark.parametrize("bits", [8, 20, 32, 40, 64])
def test_other_bit_depths_equal_scipy(bits: int) -> None:
    for scramble in (True, False):
        theirs = qmc.Sobol(6, scramble=scramble, bits=bits, rng=np.random.default_rng(3))
        ours = Sobol(6, scramble=scramble, bits=bits, rng=np.random.default_rng(3))
        _assert_same(ours.random_base2(7), theirs.random_base2(7))


def test_seeds_and_generators_are_used_like_scipy() -> None:
    _assert_same(Sobol(5, rng=11).random(16), qmc.Sobol(5, rng=11).random(16))
    # Both spawn a child of the generator they are given: its own stream is untouched,
    # and a second engine from the same generator gets the second child.
    ours_rng, theirs_rng = np.random.default_rng(8), np.random.default_rng(8)
    for _ in range(2):
        _assert_same(Sobol(3, rng=ours_rng).random(8), qmc.Sobol(3, rng=theirs_rng).random(8))
    assert ours_rng.random() == theirs_rng.random()


def test_many_dimensions_equal_scipy() -> None:
    for d in (100, 1111):
        theirs = qmc.Sobol(d, rng=np.random.default_rng(1)).random_base2(4)
        _assert_same(Sobol(d, rng=np.random.default_rng(1)).random_base2(4), theirs)


def test_invalid_requests_raise() -> None:
    engine = Sobol(2, rng=0)
    engine.random(3)
    with pytest.raises(ValueError, match="power of two"):
        engine.random_base2(2)
    with pytest.raises(ValueError, match="bits >= 2"):
        Sobol(3, bits=1)
    with pytest.raises(ValueError, match="at most 2\\*\\*4 points"):
        Sobol(2, bits=4, rng=0).random(17)
    with pytest.raises(ValueError, match="d must be"):
        Sobol(30_000)


# -- design() ----------------------------------------------------------------------------


def _scipy_design(space: SearchSpace, n: int, shape: DataShape, seed: int) -> list[dict[str, Any]]:
    """``SearchSpace.design`` as it was written with scipy's engine (the reference)."""
    if n <= 0:
        return []
    d = len(space.params(shape))
    sampler = qmc.Sobol(d=max(d, 1), scramble=True, rng=np.random.default_rng(seed))
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    m = max(int(math.ceil(math.log2(n))), 0)
    points = sampler.random_base2(m)
    drawn = points.shape[0]
    while True:
        for row in points:
            config = space.from_unit(row[:d], shape)
            cid = config_id(space.name, config)
            if cid not in seen:
                seen.add(cid)
                out.append(config)
                if len(out) == n:
                    return out
        if drawn >= 64 * n:
            return out
        points = sampler.random(drawn)
        drawn *= 2


@pytest.mark.parametrize("space", SPACES, ids=[s.name for s in SPACES])
def test_design_is_unchanged(space: SearchSpace) -> None:
    for kind in space.kinds:
        shape = DataShape(2_000, 12, kind, 0 if kind == "regression" else 3)
        for n, seed in [(1, 0), (7, 3), (50, 0), (64, 12345)]:
            assert space.design(n, shape, seed=seed) == _scipy_design(space, n, shape, seed)


def test_design_unchanged_when_it_draws_more_points() -> None:
    # k-NN has 400 distinct configurations: 300 need several doublings, 500 exhaust it.
    space, shape = KNNSpace(), DataShape(1_000, 5, "binary", 2)
    for n in (300, 500):
        assert space.design(n, shape, seed=4) == _scipy_design(space, n, shape, seed=4)


def test_design_does_not_import_scipy_stats() -> None:
    code = (
        "import sys\n"
        "from metaopt.spaces import SPACES, DataShape\n"
        f"for kind in {KINDS!r}:\n"
        "    shape = DataShape(500, 8, kind, 0 if kind == 'regression' else 3)\n"
        "    for space in SPACES:\n"
        "        if kind in space.kinds:\n"
        "            assert len(space.design(20, shape, seed=1)) == 20\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
