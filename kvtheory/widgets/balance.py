"""Widget of Chapter 11: balancing against sampling over (R, c, largest block, n)."""

from __future__ import annotations

import ipywidgets as widgets

from ..experiments.balance import explore
from ..viz.balance import plot_balance_explorer
from ._core import figure_widget

__all__ = ["balance_widget"]


def balance_widget() -> widgets.interactive:
    """Sliders for ``R`` (0.25-4), the walk threshold ``c``, the largest block (8-128) and ``n``.

    Each position streams at most ``2048`` tokens through at most ``3 * 5``
    caches (balancing, random halving, uniform sampling at five block sizes):
    well under two seconds.
    """
    def plot(R, c, max_block, n):
        return plot_balance_explorer(explore(R, max_block=max_block, n=n, c=c, seed=0))

    return figure_widget(
        plot,
        R=widgets.FloatSlider(value=1.0, min=0.25, max=4.0, step=0.25, description="R"),
        c=widgets.Dropdown(options=[0.1, 0.5, 2.0, 8.0], value=0.5, description="c"),
        max_block=widgets.Dropdown(options=[16, 32, 64, 128], value=64, description="max B"),
        n=widgets.Dropdown(options=[512, 1024, 2048], value=1024, description="n"),
    )
