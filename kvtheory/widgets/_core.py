"""The one builder every chapter's widget goes through."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

__all__ = ["figure_widget"]


def figure_widget(plot, **controls) -> widgets.interactive:
    """An :class:`ipywidgets.interactive` redrawing ``plot(**values)``.

    ``plot`` must return a matplotlib Figure. The figure is shown in the
    widget's output area and then closed (so no figure leaks). The last
    figure is kept in ``.result`` for headless tests: set a control's
    ``.value`` and inspect ``w.result``.

    Every control must be bounded (sliders with min/max, dropdowns), so no
    position can start an unbounded computation.
    """
    for name, ctl in controls.items():
        if not isinstance(ctl, widgets.ValueWidget):
            raise TypeError(f"control {name!r} must be an ipywidgets value widget")

    def _draw(**values):
        fig = plot(**values)
        display(fig)
        plt.close(fig)
        return fig

    w = widgets.interactive(_draw, {"manual": False}, **controls)
    return w
