"""Widget of Chapter 2: one protocol's error against the INDEX bound, over (N, protocol, block)."""

from __future__ import annotations

import ipywidgets as widgets

from ..viz.communication import plot_protocol_curve
from ._core import figure_widget

__all__ = ["index_protocol_widget"]


def index_protocol_widget(*, trials: int = 2000, seed=0) -> widgets.interactive:
    """Controls for ``N`` (30 to 600), the protocol, and the majority block size (1 to 15).

    Each redraw runs about 12 message lengths of ``trials`` rounds (at most
    20000, validated downstream); the worst case, parity at ``N = 600``,
    takes well under a second. The block size only matters for the
    majority protocol.
    """
    def plot(N, protocol, block):
        return plot_protocol_curve(N=N, protocol=protocol, block=block, trials=trials,
                                   seed=seed)

    return figure_widget(
        plot,
        N=widgets.IntSlider(value=315, min=30, max=600, step=15, description="N"),
        protocol=widgets.Dropdown(options=["bits", "majority", "parity"], value="majority",
                                  description="protocol"),
        block=widgets.IntSlider(value=3, min=1, max=15, step=2, description="block b"),
    )
