"""Widget of Chapter 6: eviction scorers against needle streams."""

from __future__ import annotations

import ipywidgets as widgets

from ..bench import METHODS
from ..experiments.sparsity import SCORERS, needle_game_view
from ..instances.sparsity import NEEDLE_STREAMS
from ..viz.sparsity import plot_needle_game
from ._core import figure_widget

__all__ = ["eviction_widget"]


def eviction_widget() -> widgets.interactive:
    """Controls: budget (4 to 48 tokens), method (the scorers), and stream (adversaries, benign).

    Streams have ``n = 128`` tokens of dimension 16; 20 trials per draw.
    The callback runs :func:`kvtheory.experiments.sparsity.needle_game_view`
    and draws it with :func:`kvtheory.viz.plot_needle_game`.
    """
    def plot(budget, method, stream):
        view = needle_game_view(method, stream, budget, n=128, d=16, trials=20, seed=0)
        return plot_needle_game(view)

    return figure_widget(
        plot,
        budget=widgets.IntSlider(value=16, min=4, max=48, step=4, description="budget"),
        method=widgets.Dropdown(options=[(METHODS[k].display, k) for k in SCORERS],
                                value="h2o", description="method"),
        stream=widgets.Dropdown(options=list(NEEDLE_STREAMS), value="h2o-adversary",
                                description="stream"),
    )
