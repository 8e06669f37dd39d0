"""Streaming attention algorithms, one module per family.

Every class here subclasses :class:`kvtheory.StreamingAttention` and counts
its memory honestly in ``memory_bits()``.
"""

from .window import SlidingWindow

__all__ = ["SlidingWindow"]
