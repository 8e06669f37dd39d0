"""Pure plotting functions: each returns a :class:`matplotlib.figure.Figure`."""

from . import streaming
from ._style import BOOK_RC, PALETTE, new_figure
from .streaming import plot_exact_memory

__all__ = ["BOOK_RC", "PALETTE", "new_figure", "streaming", "plot_exact_memory"]
