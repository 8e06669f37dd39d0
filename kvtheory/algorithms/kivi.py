r"""KIVI-style quantization: keys per channel, values per token, a full-precision tail.

KIVI (Liu et al. 2024) observes that key caches have *outlier channels*
(a few coordinates that are large for every token) while value caches do not.
It therefore quantizes keys **per channel** (one zero-point and scale per
coordinate, shared by a group of tokens) and values **per token** (one
zero-point and scale per value vector), and keeps the most recent tokens in
full precision, because per-channel statistics need a whole group of tokens
before they can be computed.

:class:`KIVICache` is a streaming, numpy version of that scheme; the
quantizer itself is :func:`kvtheory.algorithms.quantization.quantize_minmax`
(asymmetric min-max rounding), applied to columns for keys and to rows for
values.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int
from ..attention import attention
from ..memory import MemoryLedger, float_bits
from ..stream import StreamingAttention
from .quantization import _quantize_rows, quantize_minmax

__all__ = ["KIVICache"]


#: Entries per block of :meth:`KIVICache._extend` (a few hundred groups at a time).
_KIVI_BLOCK = 1 << 16


class KIVICache(StreamingAttention):
    r"""KIVI-style cache: per-channel keys, per-token values, a full-precision tail.

    Tokens first enter a full-precision buffer (the *tail*). Whenever the
    tail holds ``residual + group`` tokens, its oldest ``group`` tokens are
    quantized as one group and leave it:

    * keys: each of the ``d`` channels of the group (a column of
      ``group`` numbers) gets its own zero-point and scale and ``bits``-bit
      codes (per-channel quantization);
    * values: each of the ``group`` value vectors gets its own zero-point and
      scale and ``bits``-bit codes (per-token quantization).

    So the tail always holds between ``residual`` and ``residual + group - 1``
    tokens (all of them while fewer than ``residual + group`` have arrived),
    and attention is computed exactly over the dequantized groups and the tail.

    Parameters
    ----------
    bits : int
        Bits per quantized entry, ``1 <= bits <= 16``.
    group : int, default 32
        Tokens per key group, ``>= 1``.
    residual : int, default 32
        Tokens always kept in full precision, ``>= 0``.
    meta_dtype : numpy floating dtype, default float16
        Precision of the zero-points and scales.
    tail_dtype : numpy floating dtype, default float16
        Precision of the full-precision tail (KIVI keeps it in fp16).

    Notes
    -----
    Memory (hand count), with :math:`g` quantized groups and :math:`m` tail
    tokens (:math:`n = gG + m`, :math:`G` = ``group``):

    * key codes :math:`gGd` and value codes :math:`gGd_v`, at ``bits`` each;
    * key zero-points and scales :math:`2gd`, value zero-points and scales
      :math:`2gG`, at ``meta_dtype``;
    * tail keys and values :math:`m(d+d_v)` at ``tail_dtype``;
    * a token counter (:data:`~kvtheory.memory.WORD_BITS`). The tail length
      and group count follow from the counter, so they cost nothing more.

    For speed the groups are held already dequantized (float64), but they are
    counted as what a bit-packed store needs to reproduce them exactly: the
    codes and the zero-points and scales.

    References
    ----------
    Z. Liu, J. Yuan, H. Jin, S. Zhong, Z. Xu, V. Braverman, B. Chen, X. Hu.
    KIVI: A Tuning-Free Asymmetric 2bit Quantization for KV Cache. ICML 2024,
    arXiv:2402.02750.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.algorithms.kivi import KIVICache
    >>> rng = np.random.default_rng(0)
    >>> K, V = rng.normal(size=(2, 40, 8))
    >>> cache = KIVICache(bits=2, group=16, residual=8)
    >>> for k, v in zip(K, V):
    ...     cache.append(k, v)
    >>> cache.n_groups, cache.tail_length            # 40 = 2 * 16 + 8
    (2, 8)
    >>> led = cache.memory_ledger()
    >>> led.total == 32 * 16 * 2 + (2 * 2 * 8 + 2 * 32) * 16 + 8 * 16 * 16 + 64
    True
    >>> q = rng.normal(size=8) / 3
    >>> err = np.max(np.abs(cache.attend(q) - kv.attention(q, K, V)))
    >>> bool(err < 0.5)
    True
    """

    name = "KIVI"
    kind = "oblivious"

    def __init__(self, bits: int, *, group: int = 32, residual: int = 32,
                 meta_dtype=np.float16, tail_dtype=np.float16) -> None:
        super().__init__()
        self.bits = check_int(bits, "bits", lo=1, hi=16)
        self.group = check_int(group, "group", lo=1)
        self.residual = check_int(residual, "residual", lo=0)
        self.meta_bits = float_bits(meta_dtype)
        self.meta_dtype = np.dtype(meta_dtype)
        self.tail_bits = float_bits(tail_dtype)
        self.tail_dtype = np.dtype(tail_dtype)
        self.name = f"KIVI {self.bits}-bit"
        self._Kq: list[np.ndarray] = []     # dequantized key groups (G, d)
        self._Vq: list[np.ndarray] = []     # dequantized value groups (G, d_v)
        self._tailK: list[np.ndarray] = []
        self._tailV: list[np.ndarray] = []
        self._deq = None                    # cached concatenation of the groups

    @property
    def n_groups(self) -> int:
        """Quantized groups held."""
        return len(self._Kq)

    @property
    def tail_length(self) -> int:
        """Tokens held in full precision."""
        return len(self._tailK)

    def _append(self, k, v):
        self._tailK.append(k.astype(self.tail_dtype).astype(np.float64))
        self._tailV.append(v.astype(self.tail_dtype).astype(np.float64))
        if len(self._tailK) == self.residual + self.group:
            G = self.group
            Kg = np.array(self._tailK[:G])
            Vg = np.array(self._tailV[:G])
            del self._tailK[:G], self._tailV[:G]
            Kd = np.empty_like(Kg)
            for col in range(Kg.shape[1]):              # per channel: one (zero, scale) each
                c, z, s = quantize_minmax(Kg[:, col], self.bits, meta_dtype=self.meta_dtype)
                Kd[:, col] = z + c * s
            Vd = np.empty_like(Vg)
            for row in range(G):                        # per token
                c, z, s = quantize_minmax(Vg[row], self.bits, meta_dtype=self.meta_dtype)
                Vd[row] = z + c * s
            self._Kq.append(Kd)
            self._Vq.append(Vd)
            self._deq = None

    def _extend(self, K, V):
        # The loop flushes the oldest `group` tail tokens whenever the tail reaches
        # residual + group; so after the block the first f * group of (tail + block)
        # are quantized in f groups, f = (t0 + L - residual) // group (0 if the tail
        # never reaches residual + group), with the loop's arithmetic (vectorised, a few
        # hundred groups at a time so that no temporary has the size of the block).
        d, d_v, G, R = self.d, self.d_v, self.group, self.residual
        L, t0 = K.shape[0], len(self._tailK)
        total = t0 + L
        f = (total - R) // G if total >= R + G else 0
        if f == 0:
            self._tailK.extend(K.astype(self.tail_dtype).astype(np.float64))
            self._tailV.extend(V.astype(self.tail_dtype).astype(np.float64))
            self.n_seen += L
            return
        step = max(1, _KIVI_BLOCK // (G * max(d, d_v)))          # groups at a time
        for g0 in range(0, f, step):
            c = min(f, g0 + step) - g0
            Kc, Vc = self._tail_rows(K, V, g0 * G, (g0 + c) * G)
            Kg = Kc.reshape(c, G, d).transpose(0, 2, 1).reshape(c * d, G)
            q, z, sc = _quantize_rows(Kg, self.bits, self.meta_dtype)   # group, channel
            Kd = (z[:, None] + q * sc[:, None]).reshape(c, d, G).transpose(0, 2, 1)
            q, z, sc = _quantize_rows(Vc, self.bits, self.meta_dtype)   # per token
            Vd = (z[:, None] + q * sc[:, None]).reshape(c, G, d_v)
            self._Kq.extend(np.ascontiguousarray(Kd))
            self._Vq.extend(Vd)
        tK, tV = self._tail_rows(K, V, f * G, total)
        self._tailK, self._tailV = list(tK), list(tV)
        self._deq = None
        self.n_seen += L

    def _tail_rows(self, K, V, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``a:b`` of (the tail, then the block ``K, V``), rounded as the tail
        holds them (to ``tail_dtype``, as float64)."""
        t0 = len(self._tailK)
        Ks, Vs = [], []
        if a < t0:
            Ks.append(np.array(self._tailK[a:min(b, t0)]).reshape(-1, self.d))
            Vs.append(np.array(self._tailV[a:min(b, t0)]).reshape(-1, self.d_v))
        if b > t0:
            lo, hi = max(a, t0) - t0, b - t0
            Ks.append(K[lo:hi].astype(self.tail_dtype).astype(np.float64))
            Vs.append(V[lo:hi].astype(self.tail_dtype).astype(np.float64))
        if not Ks:
            return np.empty((0, self.d)), np.empty((0, self.d_v))
        if len(Ks) == 1:
            return Ks[0], Vs[0]
        return np.concatenate(Ks), np.concatenate(Vs)

    def dequantized(self) -> tuple[np.ndarray, np.ndarray]:
        """The reconstructed keys and values of all tokens, in arrival order."""
        if self._deq is None:
            empty_k, empty_v = np.empty((0, self.d)), np.empty((0, self.d_v))
            self._deq = (np.concatenate(self._Kq) if self._Kq else empty_k,
                         np.concatenate(self._Vq) if self._Vq else empty_v)
        Kq, Vq = self._deq
        if self._tailK:
            return (np.concatenate([Kq, np.array(self._tailK)]),
                    np.concatenate([Vq, np.array(self._tailV)]))
        return Kq, Vq

    def _attend(self, q):
        K, V = self.dequantized()
        return attention(q, K, V)

    def memory_ledger(self) -> MemoryLedger:
        g, G, m = self.n_groups, self.group, self.tail_length
        d, d_v = self.d or 0, self.d_v or 0
        led = MemoryLedger()
        led.add("key codes (per channel)", g * G * d, self.bits)
        led.add("value codes (per token)", g * G * d_v, self.bits)
        led.add("key zero-points and scales", 2 * g * d, self.meta_bits)
        led.add("value zero-points and scales", 2 * g * G, self.meta_bits)
        led.add("full-precision tail", m * (d + d_v), self.tail_bits)
        return self._add_token_counter(led)
