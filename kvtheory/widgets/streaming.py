"""Widget of Chapter 1: exact-cache memory over (n, d, bits per number)."""

from __future__ import annotations

import ipywidgets as widgets

from ..experiments.streaming import exact_memory_curves
from ..viz.streaming import plot_exact_memory
from ._core import figure_widget

__all__ = ["exact_memory_widget"]


def exact_memory_widget() -> widgets.interactive:
    """Sliders for ``n`` (up to 4000), one head dimension ``d`` and ``b``.

    Each redraw runs :func:`kvtheory.experiments.streaming.exact_memory_curves`
    and draws it with :func:`kvtheory.viz.streaming.plot_exact_memory`.
    """
    def plot(n, d, bits):
        return plot_exact_memory(exact_memory_curves(n=n, ds=(d,), bits_per_number=bits))

    return figure_widget(
        plot,
        n=widgets.IntSlider(value=1000, min=50, max=4000, step=50, description="n"),
        d=widgets.IntSlider(value=64, min=8, max=256, step=8, description="d"),
        bits=widgets.Dropdown(options=[16, 32, 64], value=64, description="bits"),
    )
