"""The common base of caches that keep a bounded set of tokens verbatim."""

from __future__ import annotations

import numpy as np

from ..attention import _attention_trusted
from ..memory import MemoryLedger
from ..stream import StreamingAttention, _grow_rows

__all__ = ["KeptTokensCache"]


class KeptTokensCache(StreamingAttention):
    """Keeps up to ``capacity`` tokens in fixed slots and attends over them exactly.

    A subclass decides *which* slot a new token goes to (calling
    :meth:`_store`, or not calling it to drop the token) and how many slots
    are in use (:meth:`_held`, the first rows of the buffers). The answer is
    exact attention over the held tokens (a subclass may answer otherwise from
    the same buffers, as the unmasked window does); the ledger counts the held
    keys and values at ``bits_per_number``, under the names
    ``"<kept_label> keys"`` and ``"<kept_label> values"``, then anything the
    subclass adds in :meth:`_extra_ledger`, then a one-word token counter.
    """

    kept_label = "kept"

    def __init__(self, capacity: int, dtype=np.float64) -> None:
        super().__init__()
        self._set_dtype(dtype)
        self._capacity = capacity
        self._K = None
        self._V = None

    def _store(self, slot: int, k: np.ndarray, v: np.ndarray) -> None:
        self._K, self._V = _grow_rows((self._K, self._V), slot + 1, (self.d, self.d_v),
                                      self.dtype, cap=self._capacity)
        self._K[slot] = k
        self._V[slot] = v

    def _store_many(self, slots: np.ndarray, K: np.ndarray, V: np.ndarray) -> None:
        """Store row ``i`` of ``K``, ``V`` in ``slots[i]``, in order: a later row wins a slot.

        The vectorised form of calling :meth:`_store` row by row (used by the
        subclasses' ``_extend``).
        """
        if slots.size == 0:
            return slots, slots
        # the last occurrence of each slot is the row the loop would leave there
        rev_slots, first_in_rev = np.unique(slots[::-1], return_index=True)
        rows = slots.size - 1 - first_in_rev
        self._K, self._V = _grow_rows((self._K, self._V), int(rev_slots[-1]) + 1,
                                      (self.d, self.d_v), self.dtype, cap=self._capacity)
        self._K[rev_slots] = K[rows]
        self._V[rev_slots] = V[rows]
        return rev_slots, rows

    def _held(self) -> int:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def held_keys(self) -> np.ndarray:
        """The held keys (a float64 copy), shape ``(m, d)``."""
        if self._K is None:
            return np.empty((0, self.d or 0))
        return np.array(self._K[: self._held()], dtype=np.float64)

    def _attend(self, q):
        m = self._held()
        return _attention_trusted(q, self._K[:m].astype(np.float64, copy=False),
                                  self._V[:m].astype(np.float64, copy=False))

    def _extra_ledger(self, led: MemoryLedger) -> None:
        """Add what a subclass keeps beside the held tokens (default: nothing)."""

    def memory_ledger(self) -> MemoryLedger:
        m = self._held()
        led = MemoryLedger()
        led.add(f"{self.kept_label} keys", m * (self.d or 0), self.bits_per_number)
        led.add(f"{self.kept_label} values", m * (self.d_v or 0), self.bits_per_number)
        self._extra_ledger(led)
        return self._add_token_counter(led)
