r"""Window caches: keep only the most recent tokens.

:class:`SlidingWindow` computes sliding-window attention exactly,
:math:`\mathrm{SWA}_i=\sum_{t\in\mathcal W_i}e^{s_t}v_t/\sum_{t\in\mathcal W_i}e^{s_t}`
with :math:`\mathcal W_i=\{\max(1,i-W+1),\dots,i\}`. Used as a lossy cache
for full attention it forgets everything older than ``W`` tokens.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int
from ..attention import attention
from ..memory import WORD_BITS, MemoryLedger, float_bits
from ..stream import StreamingAttention

__all__ = ["SlidingWindow"]


class SlidingWindow(StreamingAttention):
    r"""Exact attention over the last ``W`` tokens, in a ring buffer.

    Parameters
    ----------
    W : int
        Window length, ``W >= 1``.
    dtype : numpy floating dtype, default float64
        Storage precision of keys and values.

    Notes
    -----
    Memory: ``min(n, W) * (d + d_v)`` stored numbers, plus one word for the
    token counter (which also locates the ring buffer's head). Each step is
    :math:`O(dW)` time.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> rng = np.random.default_rng(0)
    >>> K, V = rng.normal(size=(2, 10, 3))
    >>> win = kv.algorithms.SlidingWindow(W=4)
    >>> for k, v in zip(K, V):
    ...     win.append(k, v)
    >>> q = np.ones(3)
    >>> bool(np.allclose(win.attend(q), kv.attention(q, K[-4:], V[-4:])))
    True
    >>> win.memory_bits() == 4 * (3 + 3) * 64 + 64
    True
    """

    name = "sliding window"
    kind = "oblivious"

    def __init__(self, W: int, dtype=np.float64) -> None:
        super().__init__()
        self.W = check_int(W, "W", lo=1)
        self.bits_per_number = float_bits(dtype)
        self.dtype = np.dtype(dtype)
        self._K = None
        self._V = None

    def _append(self, k, v):
        if self._K is None:
            self._K = np.empty((self.W, self.d), dtype=self.dtype)
            self._V = np.empty((self.W, self.d_v), dtype=self.dtype)
        slot = self.n_seen % self.W
        self._K[slot] = k
        self._V[slot] = v

    def _held(self) -> int:
        return min(self.n_seen, self.W)

    def _attend(self, q):
        m = self._held()
        return attention(q, self._K[:m].astype(np.float64, copy=False),
                         self._V[:m].astype(np.float64, copy=False))

    def memory_ledger(self) -> MemoryLedger:
        m = self._held()
        led = MemoryLedger()
        led.add("window keys", m * (self.d or 0), self.bits_per_number)
        led.add("window values", m * (self.d_v or 0), self.bits_per_number)
        led.add("token counter", 1, WORD_BITS)
        return led
