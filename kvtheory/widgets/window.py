"""Widget of Chapter 7: window algorithms over (n, W, d)."""

from __future__ import annotations

import ipywidgets as widgets

from ..experiments.window import window_explorer
from ..viz.window import plot_window_explorer
from ._core import figure_widget

__all__ = ["window_widget"]


def window_widget() -> widgets.interactive:
    """Sliders for the stream length ``n`` (up to 2000), window ``W`` and dimension ``d``.

    The callback runs :func:`kvtheory.experiments.window.window_explorer`
    and draws it with :func:`kvtheory.viz.plot_window_explorer`.
    """
    def plot(n, W, d):
        return plot_window_explorer(window_explorer(n=n, W=W, d=d))

    return figure_widget(
        plot,
        n=widgets.IntSlider(value=600, min=50, max=2000, step=50, description="n"),
        W=widgets.IntSlider(value=32, min=1, max=256, step=1, description="W"),
        d=widgets.IntSlider(value=16, min=2, max=128, step=2, description="d"),
    )
