"""Widget of Chapter 10: one real head under one compression method."""

from __future__ import annotations

import ipywidgets as widgets

from ..bench import METHODS
from ..experiments.real import METHOD_KEYS, head_method_trace
from ..viz.real import plot_head_method
from ._core import figure_widget

__all__ = ["real_head_widget"]


def real_head_widget(kvr, *, n: int = 384) -> widgets.interactive:
    """Controls for layer, head, method and budget over a :class:`kvtheory.real.RealKV`.

    Every control is bounded: layers and heads of the model, the methods of
    ``kvtheory.experiments.real.METHOD_KEYS`` (labels from the registry
    :data:`kvtheory.bench.METHODS`), and budgets from 16 to 192 tokens
    of an ``n``-token stream (``n`` at most 512, so a redraw takes about a
    second). Each redraw computes
    :func:`kvtheory.experiments.real.head_method_trace` and plots it with
    :func:`kvtheory.viz.real.plot_head_method`.
    """
    L, H, total, _ = kvr.Q.shape
    n = max(64, min(int(n), 512, total))

    def plot(layer, head, method, budget):
        trace = head_method_trace(kvr, layer, head, method, min(budget, n), n=n)
        return plot_head_method(trace)

    return figure_widget(
        plot,
        layer=widgets.IntSlider(value=15, min=0, max=L - 1, description="layer"),
        head=widgets.IntSlider(value=0, min=0, max=H - 1, description="head"),
        method=widgets.Dropdown(options=[(METHODS[k].display, k) for k in METHOD_KEYS],
                                value="tova", description="method"),
        budget=widgets.IntSlider(value=64, min=16, max=192, step=16, description="budget"),
    )
