"""Figures of Chapter 1."""

from __future__ import annotations

import numpy as np

from ..experiments.streaming import exact_cache_memory
from ._style import new_figure

__all__ = ["plot_exact_memory"]


def plot_exact_memory(n: int = 2000, ds=(16, 64, 128), bits_per_number: int = 64):
    """Measured ``memory_bits()`` of :class:`~kvtheory.ExactCache` against ``n``.

    One line per head dimension, with the words-based formula ``2 n d b``
    drawn dashed over the measurements.
    """
    dtype = {16: np.float16, 32: np.float32, 64: np.float64}.get(bits_per_number)
    if dtype is None:
        raise ValueError(f"bits_per_number must be 16, 32 or 64, got {bits_per_number}")
    fig, ax = new_figure()
    for d in ds:
        rec = exact_cache_memory(n, d, dtype=dtype, every=max(1, n // 50))
        line, = ax.plot(rec["steps"], rec["bits"], marker="o", ms=3, lw=0,
                        label=f"measured, d = {d}")
        ax.plot(rec["steps"], 2 * rec["steps"] * d * bits_per_number, "--",
                color=line.get_color(), lw=1, label=f"2·n·d·b, d = {d}")
    ax.set_xlabel("tokens n")
    ax.set_ylabel("memory_bits()")
    ax.set_title(f"Exact KV cache at b = {bits_per_number} bits per number")
    ax.legend(ncols=2)
    return fig
