"""ipywidgets front ends over :mod:`kvtheory.viz` (need a live kernel)."""

from ._core import figure_widget
from .streaming import exact_memory_widget

__all__ = ["figure_widget", "exact_memory_widget"]
