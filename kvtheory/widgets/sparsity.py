"""Widget of Chapter 6: eviction policies against needle streams."""

from __future__ import annotations

import ipywidgets as widgets

from ..experiments.sparsity import POLICIES
from ..instances.sparsity import STREAMS
from ..viz.sparsity import plot_needle_game
from ._core import figure_widget

__all__ = ["eviction_widget"]


def eviction_widget() -> widgets.interactive:
    """Controls: budget (4 to 48 tokens), policy, and stream (adversaries and benign).

    Streams have ``n = 128`` tokens of dimension 16; 20 trials per draw.
    """
    def plot(budget, policy, stream):
        return plot_needle_game(policy, stream, budget, n=128, d=16, trials=20, seed=0)

    return figure_widget(
        plot,
        budget=widgets.IntSlider(value=16, min=4, max=48, step=4, description="budget"),
        policy=widgets.Dropdown(options=list(POLICIES), value="H2O", description="policy"),
        stream=widgets.Dropdown(options=list(STREAMS), value="H2O adversary",
                                description="stream"),
    )
