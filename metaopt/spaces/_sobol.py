"""A numpy-only (scrambled) Sobol' sequence, identical to ``scipy.stats.qmc.Sobol``.

``scipy.stats`` takes most of a second to import (it parses its docstrings), which
``metaopt suggest`` cannot afford just to draw a design. :class:`Sobol` reproduces
scipy's engine bit for bit: the same direction numbers (Joe and Kuo's ``new-joe-kuo-6``
table, read from the file scipy ships), the same consumption of the random generator
(a spawned child, a random digital shift, then random lower-triangular matrices for
the left linear matrix scramble) and the same Gray-code ordering of the points. The
tests in ``tests/spaces/test_sobol.py`` compare it with scipy.

References
----------
S. Joe and F. Y. Kuo, "Remark on algorithm 659: Implementing Sobol's quasirandom
sequence generator", ACM Trans. Math. Softw. 29(1), 49-57, 2003.

J. Matousek, "On the L2-discrepancy for anchored boxes", J. Complexity 14(4),
527-556, 1998 (linear matrix scrambling).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

__all__ = ["Sobol"]

#: Dimensions in scipy's direction-number table.
MAXDIM = 21201


@functools.lru_cache(maxsize=1)
def _direction_numbers() -> tuple[np.ndarray, np.ndarray]:
    """``(poly, vinit)`` from scipy's ``stats/_sobol_direction_numbers.npz``.

    Located through the import system without importing ``scipy.stats``. ``poly[k]``
    encodes dimension ``k``'s primitive polynomial (degree ``bit_length - 1``, leading
    and constant terms included); ``vinit[k, :degree]`` are its initial direction
    numbers. Row 0 (the van der Corput dimension) is handled by the caller.
    """
    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover
        raise ImportError("scipy is required for the Sobol' direction numbers")
    path = Path(next(iter(spec.submodule_search_locations)), "stats")
    with np.load(path / "_sobol_direction_numbers.npz", allow_pickle=False) as npz:
        poly = np.asarray(npz["poly"], dtype=np.uint64)  # no copy: stored as 64-bit ints
        vinit = np.asarray(npz["vinit"], dtype=np.uint64)
    poly.setflags(write=False)
    vinit.setflags(write=False)
    return poly, vinit


def _dtype(bits: int) -> type[np.unsignedinteger]:
    return np.uint32 if bits <= 32 else np.uint64


def _direction_matrix(d: int, bits: int) -> np.ndarray:
    """The ``d x bits`` matrix of direction numbers, column ``j`` scaled by ``2**(bits-1-j)``.

    Row ``r > 0`` has the primitive polynomial ``x**s + a_1 x**(s-1) + ... + a_(s-1) x
    + 1``; its first ``s`` numbers come from the table and the rest from Bratley and
    Fox's recurrence::

        v[j] = v[j-s] ^ (v[j-s] << s) ^ XOR_{k=1}^{s-1} a_k * (v[j-k] << k)

    evaluated for all rows at once (a row still in its initial numbers ignores it).
    Row 0 is all ones (the van der Corput sequence).
    """
    one = np.uint64(1)
    v = np.ones((bits, d), dtype=np.uint64)  # transposed: v[j] is column j
    if d > 1:
        poly, vinit = _direction_numbers()
        p, init = poly[1:d], vinit[1:d].T
        deg = np.frexp(p.astype(np.float64))[1] - 1  # bit_length(p) - 1, p < 2**53
        top = int(deg.max())
        if top > bits:
            raise ValueError(
                f"Sobol: {d} dimensions need bits >= {top} (the degree of the largest "
                f"polynomial), got bits={bits}; pass more bits or fewer dimensions"
            )
        # coef[k - 1] = a_k for k < s, 1 for k = s (the x**0 term), 0 beyond.
        ks = np.arange(1, top + 1)[:, None]
        coef = np.where(ks <= deg, (p >> (deg - np.minimum(ks, deg)).astype(np.uint64)) & one, 0)
        coef = coef.astype(np.uint64)
        cols = np.arange(d - 1)
        w = v[:, 1:]
        for j in range(bits):
            acc = w[np.maximum(j - deg, 0), cols]
            for k in range(1, min(top, j) + 1):
                acc ^= (w[j - k] << np.uint64(k)) * coef[k - 1]
            w[j] = np.where(deg > j, init[min(j, init.shape[0] - 1)], acc) if j < top else acc
    v <<= np.arange(bits - 1, -1, -1, dtype=np.uint64)[:, None]
    return np.ascontiguousarray(v.T, dtype=_dtype(bits))


def _bit_matrix(x: np.ndarray, bits: int) -> np.ndarray:
    """The bits of ``x`` (any shape), most significant first, as a trailing axis."""
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint64)
    return ((x.astype(np.uint64)[..., None] >> shifts) & np.uint64(1)).astype(np.float64)


def _scramble(
    sv: np.ndarray, parent: np.random.Generator, bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """A random digital shift and the LMS-scrambled direction numbers, as scipy draws them.

    The draws come from one child spawned from ``parent``: first the shift's bits
    (``d x bits``, least significant first), then ``d`` random ``bits x bits`` matrices
    made lower unit triangular. Scrambled bit ``p`` (most significant first) of a
    direction number is the parity of row ``p`` of its dimension's matrix against the
    number's bits, also most significant first.
    """
    d, dtype = sv.shape[0], sv.dtype
    bg = parent.bit_generator
    # public from numpy 1.25
    seed_seq = getattr(bg, "seed_seq", None) or bg._seed_seq  # type: ignore[attr-defined]
    child = np.random.Generator(type(bg)(seed_seq.spawn(1)[0]))
    lsb_first = np.uint64(1) << np.arange(bits, dtype=np.uint64)
    shift_bits = child.integers(2, size=(d, bits), dtype=dtype)
    shift = (shift_bits.astype(np.uint64) * lsb_first).sum(axis=1).astype(dtype)
    ltm = np.tril(child.integers(2, size=(d, bits, bits), dtype=dtype)).astype(np.float64)
    diag = np.arange(bits)
    ltm[:, diag, diag] = 1.0
    counts = np.matmul(_bit_matrix(sv, bits), ltm.transpose(0, 2, 1))  # exact: <= 64
    scrambled_bits = counts.astype(np.uint64) & np.uint64(1)
    scrambled = (scrambled_bits * lsb_first[::-1]).sum(axis=2, dtype=np.uint64)
    return shift, scrambled.astype(dtype)


class Sobol:
    """A Sobol' sequence in ``[0, 1)**d``, optionally scrambled (LMS + digital shift).

    Equal, point for point, to ``scipy.stats.qmc.Sobol(d, scramble=scramble,
    bits=bits, rng=rng)`` (without ``optimization``).

    Parameters
    ----------
    d
        Dimension of the points, at most 21201.
    scramble
        Apply a random left linear matrix scramble and digital shift.
    bits
        Number of bits of each coordinate (the sequence has ``2**bits`` points).
    rng
        A generator, or a seed for :func:`numpy.random.default_rng`. Like scipy, the
        engine draws from a child spawned from it, so a given generator's own stream
        is left untouched (its seed sequence records one more spawned child).
    """

    def __init__(
        self,
        d: int,
        *,
        scramble: bool = True,
        bits: int = 30,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        if not 0 <= int(d) <= MAXDIM:
            raise ValueError(f"Sobol: d must be in [0, {MAXDIM}], got {d}")
        if not 1 <= int(bits) <= 64:
            raise ValueError(f"Sobol: bits must be in [1, 64], got {bits}")
        self.d, self.bits, self.scramble = int(d), int(bits), bool(scramble)
        sv = _direction_matrix(self.d, self.bits)
        if scramble:
            parent = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
            self._shift, sv = _scramble(sv, parent, self.bits)
        else:
            self._shift = np.zeros(self.d, dtype=_dtype(self.bits))
        self._sv = sv
        self._scale = 1.0 / 2**self.bits
        self.num_generated = 0

    def random(self, n: int = 1) -> np.ndarray:
        """The next ``n`` points, shape ``(n, d)``, as float64."""
        n = int(n)
        start = self.num_generated
        if start + n > 2**self.bits:
            raise ValueError(
                f"Sobol: at most 2**{self.bits} points exist; {start} drawn already, "
                f"{n} more requested. Pass a larger bits"
            )
        k = np.arange(start, start + n, dtype=np.uint64)
        gray = k ^ (k >> np.uint64(1))
        quasi = np.broadcast_to(self._shift, (n, self.d)).copy()
        for b in range(int(start + n - 1).bit_length() if n else 0):
            on = ((gray >> np.uint64(b)) & np.uint64(1)).astype(bool)
            quasi[on] ^= self._sv[:, b]
        self.num_generated += n
        return quasi * self._scale

    def random_base2(self, m: int) -> np.ndarray:
        """The next ``2**m`` points; the total drawn must stay a power of two."""
        n = 2 ** int(m)
        total = self.num_generated + n
        if total & (total - 1):
            raise ValueError(
                f"Sobol: the balance properties need a power of two in total; "
                f"{self.num_generated} drawn already + 2**{m} = {total}. Use random() instead"
            )
        return self.random(n)
