"""The common base of caches that keep a bounded set of tokens verbatim."""

from __future__ import annotations

import numpy as np

from ..attention import attention
from ..memory import WORD_BITS, MemoryLedger, float_bits
from ..stream import StreamingAttention

__all__ = ["KeptTokensCache"]


class KeptTokensCache(StreamingAttention):
    """Keeps up to ``capacity`` tokens in fixed slots and attends over them exactly.

    A subclass decides *which* slot a new token goes to (calling
    :meth:`_store`, or not calling it to drop the token) and how many slots
    are in use (:meth:`_held`, the first rows of the buffers). The answer is
    exact attention over the held tokens; the ledger counts the held keys and
    values at ``bits_per_number`` plus a one-word token counter, under the
    names ``"<kept_label> keys"`` and ``"<kept_label> values"``.
    """

    kept_label = "kept"

    def __init__(self, capacity: int, dtype=np.float64) -> None:
        super().__init__()
        self.bits_per_number = float_bits(dtype)
        self.dtype = np.dtype(dtype)
        self._capacity = capacity
        self._K = None
        self._V = None

    def _store(self, slot: int, k: np.ndarray, v: np.ndarray) -> None:
        if self._K is None:
            self._K = np.empty((self._capacity, self.d), dtype=self.dtype)
            self._V = np.empty((self._capacity, self.d_v), dtype=self.dtype)
        self._K[slot] = k
        self._V[slot] = v

    def _held(self) -> int:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _attend(self, q):
        m = self._held()
        return attention(q, self._K[:m].astype(np.float64, copy=False),
                         self._V[:m].astype(np.float64, copy=False))

    def memory_ledger(self) -> MemoryLedger:
        m = self._held()
        led = MemoryLedger()
        led.add(f"{self.kept_label} keys", m * (self.d or 0), self.bits_per_number)
        led.add(f"{self.kept_label} values", m * (self.d_v or 0), self.bits_per_number)
        led.add("token counter", 1, WORD_BITS)
        return led
