"""Widget of Chapter 5: SubGen over (d, delta, t, s, n)."""

from __future__ import annotations

import ipywidgets as widgets

from ..experiments.subgen import subgen_overview
from ..viz.subgen import plot_subgen_overview
from ._core import figure_widget

__all__ = ["subgen_widget"]


def subgen_widget() -> widgets.interactive:
    """Sliders for ``d`` (1-10), ``delta`` (0.2-2), ``t``, ``s`` and ``n`` (up to 5000),
    labelled d, Δ (the clustering radius), h (reservoir size), ℓ (slots) and n as in Chapter 5.

    Every position runs in well under three seconds: at most 5000 tokens,
    and at most ``5000 * 64 * 10`` reservoir numbers in the worst case
    (every key its own cluster).
    """
    def plot(d, delta, t, s, n):
        return plot_subgen_overview(subgen_overview(d=d, delta=delta, t=t, s=s, n=n, seed=0))

    return figure_widget(
        plot,
        d=widgets.IntSlider(value=4, min=1, max=10, step=1, description="d"),
        delta=widgets.FloatSlider(value=0.5, min=0.2, max=2.0, step=0.05, description="Δ"),
        t=widgets.Dropdown(options=[1, 4, 16, 64], value=16, description="h"),
        s=widgets.Dropdown(options=[16, 64, 256, 1024], value=256, description="ℓ"),
        n=widgets.IntSlider(value=2000, min=500, max=5000, step=500, description="n"),
    )
