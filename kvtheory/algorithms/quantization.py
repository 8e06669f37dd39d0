r"""Quantized caches: keep every token, at a few bits per number.

:class:`QuantizedCache` rounds each key and each value vector to ``bits``
bits per entry with its own scale and zero-point (asymmetric min-max
quantization per token and per vector), and counts the scales and zero-points
it stores. :class:`SignBitCache` is the cheapest cache that still decodes
every bit of the INDEX instance of Chapter 3: one sign bit per key entry and
one bit per value entry, about :math:`2nd` bits, within a factor of about 7 of
the lower bound :math:`0.278\,nd` of the space barrier (and a factor 2 of the
:math:`nd` bits any cache that never errs needs).
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int, check_real
from ..attention import attention
from ..memory import MemoryLedger, float_bits
from ..stream import StreamingAttention, _grow_rows

__all__ = ["QuantizedCache", "SignBitCache", "quantize_minmax"]


def quantize_minmax(x, bits: int, *, meta_dtype=np.float16):
    r"""Asymmetric min-max quantization of one vector to ``bits`` bits per entry.

    The zero-point :math:`z=\min_l x_l` and the scale
    :math:`\Delta=(\max_l x_l-\min_l x_l)/(2^b-1)` are first rounded to
    ``meta_dtype`` (that is what gets stored); the codes are
    :math:`c_l=\mathrm{clip}(\mathrm{round}((x_l-z)/\Delta),0,2^b-1)` and the
    reconstruction is :math:`z+c_l\Delta`.

    Parameters
    ----------
    x : array_like, shape (m,)
        The vector.
    bits : int
        Bits per entry, ``1 <= bits <= 16``.
    meta_dtype : numpy floating dtype
        Precision at which the zero-point and scale are stored.

    Returns
    -------
    codes : numpy.ndarray of uint16, shape (m,)
    zero, scale : float
        The stored zero-point and scale (already rounded to ``meta_dtype``).

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.algorithms.quantization import quantize_minmax
    >>> codes, zero, scale = quantize_minmax(np.array([0.0, 1.0, 0.0, 1.0]), 1)
    >>> codes.tolist(), zero, scale
    ([0, 1, 0, 1], 0.0, 1.0)
    """
    from .._validate import as_real_array
    x = as_real_array(x, "x", ndim=1)
    bits = check_int(bits, "bits", lo=1, hi=16)
    meta = np.dtype(meta_dtype)
    float_bits(meta)                                   # validates the dtype
    levels = (1 << bits) - 1
    zero = float(meta.type(x.min()))
    scale = float(meta.type((x.max() - zero) / levels))
    if scale > 0:
        codes = np.clip(np.rint((x - zero) / scale), 0, levels).astype(np.uint16)
    else:
        codes = np.zeros(x.size, dtype=np.uint16)
    return codes, zero, scale


def _quantize_rows(X: np.ndarray, bits: int, meta_dtype) -> tuple:
    """:func:`quantize_minmax` of every row of a validated 2-D ``X`` at once.

    The same arithmetic row by row (the zero-point and scale rounded to
    ``meta_dtype``, then the codes), so the results equal the per-row calls
    bit for bit. Returns ``codes`` (uint16, shape of ``X``), ``zero`` and
    ``scale`` (float64, one per row). The rows are worked through in blocks
    that stay in the processor's cache, through one small reused buffer (no
    temporaries of the size of ``X``: at model scale those cost more than
    the arithmetic).
    """
    meta = np.dtype(meta_dtype)
    levels = (1 << bits) - 1
    m, w = X.shape
    zero = np.empty(m)
    scale = np.empty(m)
    codes = np.empty(X.shape, dtype=np.uint16)
    step = max(1, _QUANT_BLOCK // max(1, w))
    buf = np.empty((min(step, m), w))
    for a in range(0, m, step):
        b = min(m, a + step)
        x = X[a:b]
        z = x.min(axis=1).astype(meta).astype(np.float64)
        sc = ((x.max(axis=1) - z) / levels).astype(meta).astype(np.float64)
        zero[a:b], scale[a:b] = z, sc
        pos = sc > 0
        t = buf[: b - a]
        np.subtract(x, z[:, None], out=t)
        np.divide(t, np.where(pos, sc, 1.0)[:, None], out=t)   # scale-0 rows: code 0 below
        np.rint(t, out=t)
        np.clip(t, 0.0, levels, out=t)
        codes[a:b] = t
        if not pos.all():
            codes[a:b][~pos] = 0
    return codes, zero, scale


#: Entries per block of :func:`_quantize_rows` (a 256 KiB float64 buffer).
_QUANT_BLOCK = 1 << 15


class QuantizedCache(StreamingAttention):
    r"""Every key and value quantized to ``bits`` bits per entry.

    Each incoming key and each value is quantized separately with
    :func:`quantize_minmax` (its own zero-point and scale, stored at
    ``meta_dtype``). Attention is computed exactly on the reconstructed keys
    and values.

    Parameters
    ----------
    bits : int
        Bits per stored entry, ``1 <= bits <= 16``.
    meta_dtype : numpy floating dtype, default float16
        Precision of the per-token zero-points and scales.

    Notes
    -----
    Memory (hand count) after ``n`` tokens: ``n * (d + d_v) * bits`` for the
    codes, ``4 * n`` numbers at ``meta_dtype`` (zero-point and scale of each
    key and of each value), and one :data:`~kvtheory.memory.WORD_BITS`-bit
    token counter. At ``bits=1`` and ``float16`` metadata that is
    :math:`n(d+d_v)+64n+64` bits.
    The codes are held in ``uint16`` arrays for simplicity but counted at
    ``bits`` bits each, as a bit-packed store would hold them.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> rng = np.random.default_rng(0)
    >>> K, V = rng.normal(size=(2, 20, 8))
    >>> cache = kv.algorithms.QuantizedCache(bits=4)
    >>> for k, v in zip(K, V):
    ...     cache.append(k, v)
    >>> cache.memory_bits() == 20 * 16 * 4 + 4 * 20 * 16 + 64
    True
    >>> q = rng.normal(size=8)
    >>> err = np.max(np.abs(cache.attend(q) - kv.attention(q, K, V)))
    >>> bool(err < 0.2)
    True
    """

    name = "scalar quantization"
    kind = "oblivious"

    def __init__(self, bits: int, *, meta_dtype=np.float16) -> None:
        super().__init__()
        self.bits = check_int(bits, "bits", lo=1, hi=16)
        self.meta_bits = float_bits(meta_dtype)
        self.meta_dtype = np.dtype(meta_dtype)
        self.name = f"{bits}-bit quantization"
        self._Kc = self._Vc = None
        self._meta = None          # (n, 4): key zero, key scale, value zero, value scale

    def _grow(self, rows: int) -> None:
        """Room for ``rows`` tokens' codes and metadata (capacity doubling)."""
        self._Kc, self._Vc, self._meta = _grow_rows(
            (self._Kc, self._Vc, self._meta), rows, (self.d, self.d_v, 4),
            (np.uint16, np.uint16, np.float64))

    def _append(self, k, v):
        n = self.n_seen
        self._grow(n + 1)
        kc, kz, ks = quantize_minmax(k, self.bits, meta_dtype=self.meta_dtype)
        vc, vz, vs = quantize_minmax(v, self.bits, meta_dtype=self.meta_dtype)
        self._Kc[n], self._Vc[n] = kc, vc
        self._meta[n] = (kz, ks, vz, vs)

    def _extend(self, K, V):
        n, L = self.n_seen, K.shape[0]
        self._grow(n + L)
        kc, kz, ks = _quantize_rows(K, self.bits, self.meta_dtype)
        vc, vz, vs = _quantize_rows(V, self.bits, self.meta_dtype)
        self._Kc[n:n + L], self._Vc[n:n + L] = kc, vc
        self._meta[n:n + L] = np.column_stack([kz, ks, vz, vs])
        self.n_seen = n + L

    def dequantized(self) -> tuple[np.ndarray, np.ndarray]:
        """The reconstructed keys and values, shapes ``(n, d)`` and ``(n, d_v)``."""
        n = self.n_seen
        m = self._meta[:n]
        K = m[:, [0]] + self._Kc[:n] * m[:, [1]]
        V = m[:, [2]] + self._Vc[:n] * m[:, [3]]
        return K, V

    def _attend(self, q):
        K, V = self.dequantized()
        return attention(q, K, V)

    def memory_ledger(self) -> MemoryLedger:
        n = self.n_seen
        led = MemoryLedger()
        led.add("key codes", n * (self.d or 0), self.bits)
        led.add("value codes", n * (self.d_v or 0), self.bits)
        led.add("zero-points and scales", 4 * n, self.meta_bits)
        return self._add_token_counter(led)


class SignBitCache(StreamingAttention):
    r"""Keys as sign bits, values at one bit per entry: about :math:`2nd` bits.

    The tight cache of Chapter 3. Key :math:`k` is stored as the bits
    :math:`[k_l\ge0]` and reconstructed as :math:`\pm\bar a`, where
    :math:`\bar a` is the running mean of :math:`|k_l|` over all key entries
    seen (one number). Value entry :math:`v_l` is stored as the bit
    :math:`[v_l>(\ell_0+\ell_1)/2]` and reconstructed as :math:`\ell_0` or
    :math:`\ell_1`, the two ``value_levels``. On the INDEX instance (sign keys
    of norm 1, 0/1 values) Alice's tokens are reconstructed exactly. Bob's
    padding token (key 0, value 0) comes back as the all-plus sign key: one
    more partner whose inner product with :math:`k_{i^*}` is a mean of
    :math:`d` fair signs, like the other :math:`n-1`, so the bound on
    :math:`w_{i^*}` of the proof still applies and Bob decodes every bit.

    Parameters
    ----------
    value_levels : tuple of two floats, default (0.0, 1.0)
        The two reconstruction levels of a value entry, ``lo < hi``.
    capacity : int, optional
        Keep only the first ``capacity`` tokens (a cheaper, lossy variant used
        to place the cache at budgets below :math:`nd` bits); default: all.

    Notes
    -----
    Memory (hand count) with ``m = min(n, capacity)`` tokens held:
    ``m * d`` key sign bits, ``m * d_v`` value bits, the key magnitude
    :math:`\bar a` (64 bits), the two value levels (2 x 64 bits, they are
    parameters but the decoder needs them) and a 64-bit token counter:
    :math:`m(d+d_v)+256` bits, i.e. :math:`2nd+256` when everything is held.
    The bits are held in numpy ``bool`` arrays (a byte each) for simplicity but
    counted at one bit, as a bit-packed store would hold them.

    Examples
    --------
    >>> import kvtheory as kv
    >>> from kvtheory.algorithms import SignBitCache
    >>> res = kv.instances.run_index_protocol(SignBitCache, n=200, d=24, trials=100, seed=0)
    >>> res.success_rate, res.memory_bits == 2 * 200 * 24 + 256
    (1.0, True)
    """

    name = "sign-bit keys + 1-bit values"
    kind = "oblivious"

    def __init__(self, *, value_levels=(0.0, 1.0), capacity: int | None = None) -> None:
        super().__init__()
        if not isinstance(value_levels, (tuple, list)) or len(value_levels) != 2:
            raise TypeError("value_levels must be a pair (lo, hi)")
        lo = check_real(value_levels[0], "value_levels[0]")
        hi = check_real(value_levels[1], "value_levels[1]")
        if not lo < hi:
            raise ValueError(f"value_levels must satisfy lo < hi, got ({lo}, {hi})")
        self.levels = (lo, hi)
        self.capacity = None if capacity is None else check_int(capacity, "capacity", lo=1)
        if self.capacity is not None:
            self.name = f"sign-bit cache, first {self.capacity} tokens"
        self._Ks = self._Vb = None
        self._abs_mean = 0.0

    def _held(self) -> int:
        return self.n_seen if self.capacity is None else min(self.n_seen, self.capacity)

    def _append(self, k, v):
        n = self.n_seen
        if self.capacity is not None and n >= self.capacity:
            return
        self._Ks, self._Vb = _grow_rows((self._Ks, self._Vb), n + 1, (self.d, self.d_v), bool)
        self._Ks[n] = k >= 0
        self._Vb[n] = v > (self.levels[0] + self.levels[1]) / 2
        # running mean of |k_l| over the n*d entries seen so far
        self._abs_mean += (float(np.mean(np.abs(k))) - self._abs_mean) / (n + 1)

    def _extend(self, K, V):
        n0, L = self.n_seen, K.shape[0]
        m = L if self.capacity is None else max(0, min(L, self.capacity - n0))
        if m:
            K, V = K[:m], V[:m]
            self._Ks, self._Vb = _grow_rows((self._Ks, self._Vb), n0 + m, (self.d, self.d_v),
                                            bool)
            self._Ks[n0:n0 + m] = K >= 0
            self._Vb[n0:n0 + m] = V > (self.levels[0] + self.levels[1]) / 2
            # the loop's running mean, update by update (a short scalar recurrence over
            # the row means; the means themselves are vectorised)
            a = self._abs_mean
            for i, mu in enumerate(np.abs(K).mean(axis=1).tolist()):
                a += (mu - a) / (n0 + i + 1)
            self._abs_mean = a
        self.n_seen = n0 + L

    def dequantized(self) -> tuple[np.ndarray, np.ndarray]:
        """The reconstructed keys and values of the tokens held."""
        m = self._held()
        K = np.where(self._Ks[:m], self._abs_mean, -self._abs_mean)
        V = np.where(self._Vb[:m], self.levels[1], self.levels[0])
        return K, V

    def _attend(self, q):
        K, V = self.dequantized()
        return attention(q, K, V)

    def memory_ledger(self) -> MemoryLedger:
        m = self._held()
        led = MemoryLedger()
        led.add("key sign bits", m * (self.d or 0), 1)
        led.add("value bits", m * (self.d_v or 0), 1)
        led.add("key magnitude", 1, 64)
        led.add("value levels", 2, 64)
        return self._add_token_counter(led)
