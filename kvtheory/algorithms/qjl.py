r"""QJL-style cache: a one-bit Johnson-Lindenstrauss sketch of the keys.

QJL (Zandieh, Daliri and Han 2024) stores, for each key :math:`k`, the signs
of a Gaussian projection :math:`\mathrm{sign}(Sk)\in\{\pm1\}^m` and the norm
:math:`\|k\|`, and estimates an inner product with an (unprojected) query by

.. math::
    \widehat{\langle q,k\rangle}
    = \sqrt{\tfrac{\pi}{2}}\,\frac{\|k\|}{m}\,\langle Sq,\ \mathrm{sign}(Sk)\rangle ,

which is **unbiased**: for a Gaussian row :math:`s`,
:math:`\mathbb E[\langle s,q\rangle\,\mathrm{sign}\langle s,k\rangle]
=\sqrt{2/\pi}\,\langle q,k\rangle/\|k\|`. The query is never quantized, so
there is no bias from quantizing both sides; the projection :math:`S` is
regenerated from a stored seed.
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import as_real_array, check_int, check_rng
from ..attention import softmax
from ..memory import WORD_BITS, MemoryLedger, float_bits
from ..stream import StreamingAttention, _grow_rows
from ._rows import row_dots
from .quantization import _quantize_rows, quantize_minmax

__all__ = ["QJLCache"]


class QJLCache(StreamingAttention):
    r"""Keys as ``m`` sign bits plus a norm; values quantized per token.

    Parameters
    ----------
    m : int
        Sketch dimension (sign bits per key), ``m >= 1``.
    value_bits : int or None, default 4
        Values are quantized per token to ``value_bits`` bits with
        :func:`~kvtheory.algorithms.quantization.quantize_minmax`
        (zero-point and scale at ``meta_dtype``); ``None`` stores them at
        ``meta_dtype`` precision instead.
    seed : int or numpy.random.Generator
        Source of the projection's seed.
    meta_dtype : numpy floating dtype, default float16
        Precision of key norms, value zero-points and scales (and of values
        when ``value_bits`` is ``None``).

    Notes
    -----
    Scores are the unbiased estimates :math:`\widehat{\langle q,k_t\rangle}`
    (:meth:`score_estimates`); the answer is softmax of the estimated scores
    times the dequantized values. (The exponential of an unbiased score is
    not an unbiased weight, so the *answer* is not unbiased; only the inner
    products are.)

    Memory (hand count) after ``n`` tokens: ``n * m`` sign bits, ``n`` key
    norms at ``meta_dtype``; ``n * d_v * value_bits`` value codes plus
    ``2 * n`` zero-points and scales at ``meta_dtype`` (or ``n * d_v``
    values at ``meta_dtype`` when ``value_bits`` is ``None``); one
    :data:`~kvtheory.memory.WORD_BITS` word for the projection's seed and one
    for the token counter. The projection :math:`S` (``m x d``) is regenerated
    from the seed, not held.

    QJL itself also keeps a few outlier channels of the keys in full
    precision and quantizes values with a separate scheme; this version keeps
    only the sign sketch, which is the part its estimator and its analysis are
    about.

    References
    ----------
    A. Zandieh, M. Daliri, I. Han. QJL: 1-Bit Quantized JL Transform for KV
    Cache Quantization with Zero Overhead. arXiv:2406.03482, 2024.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.algorithms.qjl import QJLCache
    >>> rng = np.random.default_rng(0)
    >>> K, V = rng.normal(size=(2, 30, 8))
    >>> cache = QJLCache(m=64, value_bits=4, seed=1)
    >>> for k, v in zip(K, V):
    ...     cache.append(k, v)
    >>> cache.memory_bits() == 30 * 64 + 30 * 16 + 30 * 8 * 4 + 2 * 30 * 16 + 64 + 64
    True
    >>> q = rng.normal(size=8)
    >>> est = cache.score_estimates(q)
    >>> bool(np.corrcoef(est, K @ q)[0, 1] > 0.8)
    True
    """

    name = "QJL"
    kind = "oblivious"

    def __init__(self, m: int, *, value_bits: int | None = 4, seed=0,
                 meta_dtype=np.float16) -> None:
        super().__init__()
        self.m = check_int(m, "m", lo=1)
        self.value_bits = None if value_bits is None else check_int(value_bits, "value_bits",
                                                                    lo=1, hi=16)
        rng = check_rng(seed)
        self._seed = int(rng.integers(0, 2**63 - 1))       # the one stored word
        self.meta_bits = float_bits(meta_dtype)
        self.meta_dtype = np.dtype(meta_dtype)
        vb = "fp" if self.value_bits is None else f"{self.value_bits}-bit"
        self.name = f"QJL m={self.m}, {vb} values"
        self._S = None
        # growing buffers (capacity doubling); the first n_seen rows are the tokens
        self._signs = self._norms = self._V = None

    def projection(self) -> np.ndarray:
        """The Gaussian matrix :math:`S`, shape ``(m, d)``, regenerated from the seed."""
        if self.d is None:
            raise ValueError("projection() needs at least one appended token")
        if self._S is None:     # a cache of a function of the seed, not extra state
            self._S = np.random.default_rng(self._seed).standard_normal((self.m, self.d))
        return self._S

    def _grow(self, rows: int) -> None:
        self._signs, self._norms, self._V = _grow_rows(
            (self._signs, self._norms, self._V), rows, (self.m, 1, self.d_v), np.float64)

    def _append(self, k, v):
        S = self.projection()
        n = self.n_seen
        self._grow(n + 1)
        self._signs[n] = np.where(S @ k >= 0, 1.0, -1.0)
        self._norms[n, 0] = float(self.meta_dtype.type(np.linalg.norm(k)))
        if self.value_bits is None:
            self._V[n] = v.astype(self.meta_dtype).astype(np.float64)
        else:
            c, z, s = quantize_minmax(v, self.value_bits, meta_dtype=self.meta_dtype)
            self._V[n] = z + c * s

    def _extend(self, K, V):
        # one product K @ S.T per block (equal to the rows S @ k up to the last bit, so a
        # sign can differ only for a projection within rounding of 0)
        S = self.projection()
        n, L = self.n_seen, K.shape[0]
        self._grow(n + L)
        self._signs[n:n + L] = np.where(K @ S.T >= 0, 1.0, -1.0)
        nk = np.sqrt(row_dots(K))
        self._norms[n:n + L, 0] = nk.astype(self.meta_dtype).astype(np.float64)
        if self.value_bits is None:
            self._V[n:n + L] = V.astype(self.meta_dtype).astype(np.float64)
        else:
            c, z, s = _quantize_rows(V, self.value_bits, self.meta_dtype)
            out = self._V[n:n + L]                     # z + c * s, as the loop, in place
            np.multiply(c, s[:, None], out=out)
            out += z[:, None]
        self.n_seen = n + L

    def score_estimates(self, q) -> np.ndarray:
        r"""The unbiased estimates :math:`\widehat{\langle q,k_t\rangle}` for every token.

        Raises
        ------
        ValueError
            If no token was appended or ``q`` has the wrong length.
        """
        if self.n_seen == 0:
            raise ValueError("score_estimates() needs at least one appended token")
        q = as_real_array(q, "q", shape=(self.d,))
        Sq = self.projection() @ q
        n = self.n_seen
        return math.sqrt(math.pi / 2) / self.m * self._norms[:n, 0] * (self._signs[:n] @ Sq)

    def _attend(self, q):
        return softmax(self.score_estimates(q)) @ self._V[:self.n_seen]

    def memory_ledger(self) -> MemoryLedger:
        n = self.n_seen
        d_v = self.d_v or 0
        led = MemoryLedger()
        led.add("key sign bits", n * self.m, 1)
        led.add("key norms", n, self.meta_bits)
        if self.value_bits is None:
            led.add("values", n * d_v, self.meta_bits)
        else:
            led.add("value codes", n * d_v, self.value_bits)
            led.add("value zero-points and scales", 2 * n, self.meta_bits)
        led.add("projection seed", 1, WORD_BITS)
        return self._add_token_counter(led)
