"""Bit accounting for streaming algorithms.

The lower bounds of the book count *bits*; algorithms store *numbers* of a
declared precision. A :class:`MemoryLedger` records every kind of thing an
algorithm keeps between steps (keys, values, counters, indices, centres,
scales, seeds) as ``count x bits_each``, so ``memory_bits()`` is a sum anyone
can audit line by line.

Conventions used throughout the library:

* a float is counted at its declared precision (64 for float64 by default);
* a counter, an index or a stored seed is one 64-bit machine word
  (:data:`WORD_BITS`), unless an algorithm packs it more tightly and says so;
* memory that has been allocated but holds nothing yet (spare capacity of a
  growing buffer) is not counted: it carries no information.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import check_int

__all__ = ["WORD_BITS", "float_bits", "MemoryLedger"]

#: Bits of one machine word: the size charged for a counter, index or seed.
WORD_BITS = 64


def float_bits(dtype) -> int:
    """Bits of one number of a numpy floating ``dtype`` (16, 32 or 64).

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> kv.float_bits(np.float32)
    32
    """
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a numpy floating dtype, got {dtype!r}") from exc
    if dt.kind != "f":
        raise TypeError(f"dtype must be a numpy floating dtype, got {dt}")
    return dt.itemsize * 8


@dataclass
class MemoryLedger:
    """An itemised count of the bits an algorithm keeps.

    Examples
    --------
    >>> import kvtheory as kv
    >>> led = kv.MemoryLedger()
    >>> led.add("keys", 10 * 4, 64).add("values", 10 * 4, 64).add("counter", 1, 64)
    MemoryLedger(total=5184 bits, 3 items)
    >>> led.total
    5184
    >>> led.items["keys"]
    (40, 64)
    """

    items: dict[str, tuple[int, int]] = field(default_factory=dict)

    def add(self, name: str, count: int, bits_each: int) -> "MemoryLedger":
        """Record ``count`` stored numbers of ``bits_each`` bits under ``name``.

        Adding to an existing name accumulates its count (the bit widths must
        agree). Returns the ledger, so calls chain.
        """
        if not isinstance(name, str) or not name:
            raise TypeError("name must be a non-empty string")
        count = check_int(count, "count", lo=0)
        bits_each = check_int(bits_each, "bits_each", lo=1)
        if name in self.items:
            old_count, old_bits = self.items[name]
            if old_bits != bits_each:
                raise ValueError(
                    f"item {name!r} was recorded at {old_bits} bits, not {bits_each}"
                )
            count += old_count
        self.items[name] = (count, bits_each)
        return self

    @property
    def total(self) -> int:
        """Total bits: the sum of ``count * bits_each`` over all items."""
        return int(sum(c * b for c, b in self.items.values()))

    def as_rows(self) -> list[tuple[str, int, int, int]]:
        """Rows ``(name, count, bits_each, bits)`` for display."""
        return [(k, c, b, c * b) for k, (c, b) in self.items.items()]

    def __repr__(self) -> str:
        return f"MemoryLedger(total={self.total} bits, {len(self.items)} items)"
