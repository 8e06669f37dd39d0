r"""Rotate, then quantize: a random orthogonal rotation before scalar quantization.

Min-max scalar quantization of a vector (:func:`~kvtheory.algorithms.quantization.quantize_minmax`)
spends its :math:`2^b` levels on the range :math:`[\min_l x_l,\max_l x_l]`; one
outlier coordinate stretches the range and wastes the levels. A random
orthogonal rotation :math:`R` spreads any vector's energy evenly over the
coordinates (each rotated coordinate of a unit vector is about
:math:`\pm1/\sqrt d`), so the range shrinks and the rounding error with it.
Because :math:`R` is orthogonal, attention can be computed entirely in rotated
coordinates: :math:`\langle Rq,Rk\rangle=\langle q,k\rangle` and the output is
rotated back with :math:`R^\top`. This is the idea behind QuaRot (Ashkboos et
al. 2024) and later rotation-based KV quantizers.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int, check_rng
from ..attention import attention
from ..memory import WORD_BITS, MemoryLedger
from .quantization import QuantizedCache

__all__ = ["RotatedQuantizedCache", "random_rotation"]


def random_rotation(d: int, *, seed=0) -> np.ndarray:
    r"""A Haar-random orthogonal ``d x d`` matrix (QR of a Gaussian matrix, signs fixed).

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    seed : int or numpy.random.Generator

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.algorithms.rotation import random_rotation
    >>> R = random_rotation(5, seed=0)
    >>> bool(np.allclose(R @ R.T, np.eye(5)))
    True
    """
    d = check_int(d, "d", lo=1)
    rng = check_rng(seed)
    Q, Rr = np.linalg.qr(rng.standard_normal((d, d)))
    return Q * np.where(np.diag(Rr) < 0, -1.0, 1.0)[None, :]


class RotatedQuantizedCache(QuantizedCache):
    r"""A seeded random rotation of keys and values, then ``bits``-bit quantization.

    Each key and value is rotated by its own Haar-random orthogonal matrix
    (:func:`random_rotation`, one for keys of dimension ``d`` and one for
    values of dimension ``d_v``, both regenerated from one stored seed) and
    then stored exactly as :class:`~kvtheory.algorithms.QuantizedCache` stores
    it: ``bits`` bits per entry, a zero-point and a scale per vector.
    Attention is computed in rotated coordinates and rotated back.

    Parameters
    ----------
    bits : int
        Bits per stored entry, ``1 <= bits <= 16``.
    seed : int or numpy.random.Generator
        Source of the rotation's seed.
    meta_dtype : numpy floating dtype, default float16
        Precision of zero-points and scales.

    Notes
    -----
    Memory (hand count): the ledger of ``QuantizedCache(bits)`` --
    ``n * (d + d_v) * bits`` code bits, ``4 * n`` zero-points and scales at
    ``meta_dtype``, a 64-bit token counter -- plus one
    :data:`~kvtheory.memory.WORD_BITS` word for the rotation seed. The
    rotation matrices are functions of the seed, recomputed when needed.

    References
    ----------
    S. Ashkboos, A. Mohtashami, M. L. Croci, B. Li, P. Cameron, M. Jaggi,
    D. Alistarh, T. Hoefler, J. Hensman. QuaRot: Outlier-Free 4-Bit Inference
    in Rotated LLMs. NeurIPS 2024, arXiv:2404.00456.

    Examples
    --------
    An outlier coordinate ruins plain 3-bit quantization but not the rotated one.

    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.algorithms.rotation import RotatedQuantizedCache
    >>> rng = np.random.default_rng(0)
    >>> K, V = rng.normal(size=(2, 50, 16))
    >>> K[:, 0] += 30.0                                  # an outlier channel
    >>> q = rng.normal(size=16) / 4
    >>> errs = []
    >>> for alg in (kv.algorithms.QuantizedCache(3), RotatedQuantizedCache(3, seed=1)):
    ...     for k, v in zip(K, V):
    ...         alg.append(k, v)
    ...     errs.append(np.max(np.abs(alg.attend(q) - kv.attention(q, K, V))))
    >>> bool(errs[1] < errs[0])
    True
    >>> alg.memory_bits() == 50 * 32 * 3 + 4 * 50 * 16 + 64 + 64
    True
    """

    name = "rotation + quantization"
    kind = "oblivious"

    def __init__(self, bits: int, *, seed=0, meta_dtype=np.float16) -> None:
        super().__init__(bits, meta_dtype=meta_dtype)
        rng = check_rng(seed)
        self._seed = int(rng.integers(0, 2**63 - 1))     # the one stored word
        self.name = f"rotation + {self.bits}-bit"
        self._R = None

    def rotations(self) -> tuple[np.ndarray, np.ndarray]:
        """The key and value rotations, regenerated from the stored seed."""
        if self.d is None:
            raise ValueError("rotations() needs at least one appended token")
        if self._R is None:     # a cache of a function of the seed, not extra state
            rng = np.random.default_rng(self._seed)
            self._R = (random_rotation(self.d, seed=rng), random_rotation(self.d_v, seed=rng))
        return self._R

    def _append(self, k, v):
        Rk, Rv = self.rotations()
        super()._append(Rk @ k, Rv @ v)

    def _extend(self, K, V):
        # one matrix product per slice of rows (equal to the rows R @ k up to the last
        # bit), a few hundred rows at a time so that the rotated copies stay small
        Rk, Rv = self.rotations()
        step = max(1, (1 << 16) // max(self.d, self.d_v))
        for a in range(0, K.shape[0], step):
            super()._extend(K[a:a + step] @ Rk.T, V[a:a + step] @ Rv.T)

    def _attend(self, q):
        Rk, Rv = self.rotations()
        K, V = self.dequantized()              # rotated coordinates
        return Rv.T @ attention(Rk @ q, K, V)

    def memory_ledger(self) -> MemoryLedger:
        led = super().memory_ledger()
        led.add("rotation seed", 1, WORD_BITS)
        return led
