"""Widget of Chapter 3: the caches at one bit budget, over (n, d, C, budget)."""

from __future__ import annotations

import ipywidgets as widgets

from ..experiments.index import barrier_at_budget
from ..viz.index import plot_budget
from ._core import figure_widget

__all__ = ["barrier_widget"]


def barrier_widget() -> widgets.interactive:
    """Sliders for ``n`` (up to 2000), ``d`` (up to 64), the query scale ``C``
    (up to 40) and the budget in units of ``n d`` bits (0.05 to 4).

    Each redraw runs :func:`kvtheory.experiments.index.barrier_at_budget`
    (four to five caches through 120 INDEX queries; the worst case,
    n = 2000, d = 64, takes about a second), then draws it with
    :func:`kvtheory.viz.index.plot_budget`.
    """
    def plot(n, d, C, budget):
        return plot_budget(barrier_at_budget(n, d, C, budget, trials=120, seed=0))

    return figure_widget(
        plot,
        n=widgets.IntSlider(value=500, min=100, max=2000, step=100, description="n"),
        d=widgets.IntSlider(value=24, min=8, max=64, step=4, description="d"),
        C=widgets.FloatSlider(value=18.0, min=1.0, max=40.0, step=0.5, description="C"),
        budget=widgets.FloatLogSlider(value=0.5, base=10, min=-1.3, max=0.6, step=0.05,
                                      description="bits/(nd)"),
    )
