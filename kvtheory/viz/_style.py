"""House style of the book's figures: fixed size, white background, PNG."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["BOOK_RC", "BODY_PT", "COLUMN_PX", "DPI", "BookFigure", "min_font_pt",
           "new_figure", "figure_axes", "PALETTE"]

#: The style of every figure the library makes, as matplotlib rc settings
#: (documentation of the look; :func:`new_figure` applies it per figure so the
#: reader's global matplotlib state, and the inline backend, stay untouched).
BOOK_RC = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "font.size": 11,
    "legend.fontsize": 10.5,
    "xtick.labelsize": 10.5,
    "ytick.labelsize": 10.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
}

#: Resolution of every figure (pixels per inch); the book shows a PNG at its
#: natural size up to the width of the text column.
DPI = 100

#: Width in pixels of a code cell's output box in the book's text column
#: (Jupyter Book's theme in a 1300 px window, measured in Chromium); a wider
#: figure is shrunk to it, and its text with it.
COLUMN_PX = 676

#: Size of the book's body text (14.4 px) in points at :data:`DPI`. No text of
#: a figure is drawn smaller than this once the figure is shrunk to the column:
#: :class:`BookFigure` raises smaller labels, ticks and legends at draw time.
BODY_PT = 10.5

#: Colours used consistently across chapters (colour-blind safe, Okabe-Ito).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
           "#56B4E9", "#000000", "#F0E442"]


def min_font_pt(width_in: float, dpi: float = DPI) -> float:
    """Smallest font size (points) that reads as body text in a figure
    ``width_in`` inches wide once the page shrinks it to the text column.

    >>> min_font_pt(6.5), round(min_font_pt(13.52), 2)
    (10.5, 21.0)
    """
    return BODY_PT * max(1.0, width_in * dpi / COLUMN_PX)


class BookFigure(Figure):
    """A matplotlib Figure that never draws text below the body-text size.

    Before each draw, the figure's titles, axis labels, tick labels and legend
    entries smaller than :func:`min_font_pt` for the figure's width are
    raised to it; the constrained layout then makes room. Plot functions may
    ask for small text (``fontsize=7``); the reader still gets legible labels
    in the book, in Jupyter and in saved files. Free text placed inside the
    axes (``ax.text``, annotations) keeps its size: it is positioned by hand,
    and enlarging it could push it off the plot.
    """

    def draw(self, renderer):
        floor = min_font_pt(self.get_figwidth(), self.dpi) - 1e-9
        for ax in self.axes:
            for axis in (ax.xaxis, ax.yaxis):
                sizes = [t.get_fontsize() for t in axis.get_ticklabels(which="both")]
                if sizes and min(sizes) < floor:
                    axis.set_tick_params(which="both", labelsize=floor + 1e-9)
        texts = [t for t in (self._suptitle, self._supxlabel, self._supylabel) if t]
        for ax in self.axes:
            texts += [ax.title, ax._left_title, ax._right_title,
                      ax.xaxis.label, ax.yaxis.label]
            legend = ax.get_legend()
            if legend is not None:
                texts += list(legend.get_texts()) + [legend.get_title()]
        for legend in self.legends:
            texts += list(legend.get_texts()) + [legend.get_title()]
        for text in texts:
            if text.get_text() and text.get_fontsize() < floor:
                text.set_fontsize(floor + 1e-9)
        return super().draw(renderer)


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 7.0,
               height: float = 3.4):
    """A figure in the book's style; returns ``(fig, axes)``.

    ``axes`` is a single Axes when ``ncols == nrows == 1``, else an array.
    The style is applied to this figure only (no ``rc_context``: leaving one
    resets matplotlib's interactive state and stops later inline figures
    from showing in a notebook).
    """
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height),
                             layout="constrained", facecolor="white", dpi=DPI,
                             FigureClass=BookFigure)
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


def figure_axes_grid(axes=None, *, n: int, ncols: int | None = None,
                     nrows: int = 1, width: float = 9.0, height: float = 3.4,
                     at_least: bool = False):
    """The ``(fig, [ax, ...])`` an ``n``-panel plot function draws into.

    The several-panel counterpart of :func:`figure_axes`: given the reader's
    Axes (any sequence or array; exactly ``n`` of them, or at least ``n``
    when ``at_least``) it styles and returns them as a list with the first
    one's figure; otherwise it makes a new ``nrows`` x ``ncols`` figure
    (``ncols`` defaults to ``n``) with :func:`new_figure` and returns all
    its Axes.

    Raises
    ------
    ValueError
        If ``axes`` holds the wrong number of Axes.
    TypeError
        If one of them is not a matplotlib Axes.

    Examples
    --------
    >>> fig, axs = figure_axes_grid(n=3, width=9.0)
    >>> len(axs), axs[0].figure is fig
    (3, True)
    >>> figure_axes_grid(axs[:2], n=3)
    Traceback (most recent call last):
    ...
    ValueError: axes must hold 3 Axes, got 2
    """
    import numpy as np

    if axes is None:
        fig, axs = new_figure(ncols=ncols or n, nrows=nrows, width=width,
                              height=height)
        return fig, list(np.atleast_1d(axs).ravel())
    got = list(np.atleast_1d(np.asarray(axes, dtype=object)).ravel())
    if len(got) < n or (len(got) != n and not at_least):
        want = f"at least {n}" if at_least else f"{n}"
        raise ValueError(f"axes must hold {want} Axes, got {len(got)}")
    styled = [figure_axes(a)[1] for a in got]
    return styled[0].figure, styled


def figure_axes_pair(axes=None, *, width: float = 9.0, height: float = 3.4):
    """The ``(fig, (ax0, ax1))`` a two-panel plot function draws into.

    :func:`figure_axes_grid` with two panels side by side.

    Raises
    ------
    ValueError
        If ``axes`` does not hold exactly two Axes.
    TypeError
        If one of them is not a matplotlib Axes.
    """
    fig, (ax0, ax1) = figure_axes_grid(axes, n=2, width=width, height=height)
    return fig, (ax0, ax1)


def _style_axes(ax) -> None:
    ax.set_facecolor("white")
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_prop_cycle(color=PALETTE)
    ax.tick_params(labelsize=BOOK_RC["xtick.labelsize"])
    ax.xaxis.label.set_size(BOOK_RC["font.size"])
    ax.yaxis.label.set_size(BOOK_RC["font.size"])
    ax.title.set_size(BOOK_RC["font.size"])
