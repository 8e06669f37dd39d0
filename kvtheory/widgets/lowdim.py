"""Widget of Chapter 4: the low-dimensional bound over (d, n, query norm)."""

from __future__ import annotations

import ipywidgets as widgets

from ..experiments.lowdim import budget_curve
from ..viz.lowdim import plot_query_norm_budget
from ._core import figure_widget

__all__ = ["lowdim_widget"]


def lowdim_widget() -> widgets.interactive:
    """Sliders for the dimension ``d`` (2 to 12), ``log2 n`` (3 to 16) and the
    query-norm budget ``r`` (1 to 10 000, log scale).

    Every position builds greedy sign codes of length ``d`` (at most
    :math:`2^{12}` candidates, cached) and runs the best fitting instance
    (at most 4096 tokens) through 100 INDEX queries with the exact cache;
    the worst case takes well under a second.
    """
    def plot(d, log2_n, r):
        return plot_query_norm_budget(budget_curve(d, 2 ** log2_n, r, trials=100, seed=0))

    return figure_widget(
        plot,
        d=widgets.IntSlider(value=8, min=2, max=12, step=1, description="d"),
        log2_n=widgets.IntSlider(value=12, min=3, max=16, step=1, description="log2 n"),
        r=widgets.FloatLogSlider(value=13.1, base=10, min=0, max=4, step=0.05,
                                 description="query norm"),
    )
