"""House style of the book's figures: fixed size, white background, PNG."""

from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["BOOK_RC", "new_figure", "figure_axes", "PALETTE"]

#: The style of every figure the library makes, as matplotlib rc settings
#: (documentation of the look; :func:`new_figure` applies it per figure so the
#: reader's global matplotlib state, and the inline backend, stay untouched).
BOOK_RC = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "font.size": 10,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
}

#: Colours used consistently across chapters (colour-blind safe, Okabe-Ito).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
           "#56B4E9", "#000000", "#F0E442"]


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 7.0,
               height: float = 3.4):
    """A figure in the book's style; returns ``(fig, axes)``.

    ``axes`` is a single Axes when ``ncols == nrows == 1``, else an array.
    The style is applied to this figure only (no ``rc_context``: leaving one
    resets matplotlib's interactive state and stops later inline figures
    from showing in a notebook).
    """
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height),
                             layout="constrained", facecolor="white", dpi=100)
    for ax in ([axes] if nrows * ncols == 1 else axes.ravel()):
        _style_axes(ax)
    return fig, axes


def figure_axes(ax=None, *, width: float = 7.0, height: float = 3.4):
    """The ``(fig, ax)`` a single-panel plot function draws into.

    Every ``kv.viz.plot_*`` function with one panel takes ``ax=None``: given
    an Axes (for instance one panel of the reader's own grid) it draws there
    and returns that Axes' figure; otherwise it makes a new figure in the
    book's style with :func:`new_figure`.
    """
    if ax is None:
        return new_figure(width=width, height=height)
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    _style_axes(ax)
    return ax.figure, ax


def _style_axes(ax) -> None:
    ax.set_facecolor("white")
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_prop_cycle(color=PALETTE)
    ax.tick_params(labelsize=9)
    ax.xaxis.label.set_size(10)
    ax.yaxis.label.set_size(10)
    ax.title.set_size(10)
