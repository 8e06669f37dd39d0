"""Widget of Chapter 2: one protocol's error against the INDEX bound, over (N, protocol, block)."""

from __future__ import annotations

import ipywidgets as widgets

from ..experiments.communication import (
    exact_error_lines,
    floor_curve,
    floor_summary,
    protocol_curve,
)
from ..viz.communication import plot_protocol_curve
from ._core import figure_widget

__all__ = ["index_protocol_widget"]


def index_protocol_widget(*, trials: int = 2000, seed=0) -> widgets.interactive:
    """Controls for ``N`` (30 to 600), the protocol, and the majority group size g (1 to 15).

    Each redraw runs :func:`kvtheory.experiments.communication.protocol_curve`
    (about 12 message lengths of ``trials`` rounds, at most 20000, validated
    there), then draws it with
    :func:`kvtheory.viz.communication.plot_protocol_curve`; the worst case,
    parity at ``N = 600``, takes well under a second. The group size only
    matters for the majority protocol.
    """
    floor = floor_curve()

    def plot(N, protocol, block):
        runs = protocol_curve(protocol, N, block=block, trials=trials, seed=seed)
        return plot_protocol_curve(runs, exact_error_lines(runs)[0], floor,
                                   summary=floor_summary(runs))

    return figure_widget(
        plot,
        N=widgets.IntSlider(value=315, min=30, max=600, step=15, description="N"),
        protocol=widgets.Dropdown(options=["bits", "majority", "parity"], value="majority",
                                  description="protocol"),
        block=widgets.IntSlider(value=3, min=1, max=15, step=2, description="group g"),
    )
