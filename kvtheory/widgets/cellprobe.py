"""Widget of Chapter 8: a cache reader's success over (n, d, T, reader)."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..cellprobe import NONADAPTIVE_READERS
from ..experiments.cellprobe import nonadaptive_sweep
from ..viz.cellprobe import plot_reader_budget
from ._core import figure_widget

__all__ = ["reader_budget_plot", "cellprobe_widget"]


def reader_budget_plot(n: int = 128, d: int = 16, T_frac: float = 0.5,
                       reader: str = "uniform", problem: str = "value"):
    """The widget's callback: sweep one reader and mark the budget ``T = T_frac * n * d``.

    ``reader`` is a key of :data:`~kvtheory.cellprobe.NONADAPTIVE_READERS`;
    the dropdown shows each reader's ``name``. The number of trials is chosen
    so that ``trials * n * d`` stays near one million cells, which keeps
    every slider position under about a second.

    Examples
    --------
    >>> from kvtheory.widgets.cellprobe import reader_budget_plot
    >>> fig = reader_budget_plot(n=32, d=8, T_frac=0.5)
    >>> len(fig.axes)
    1
    """
    if reader not in NONADAPTIVE_READERS:
        raise ValueError(f"reader must be one of {sorted(NONADAPTIVE_READERS)}, got {reader!r}")
    nd = n * d
    trials = int(np.clip(1_000_000 // nd, 60, 1000))
    top = 1.0 if problem == "value" else 2.0
    fracs = sorted(set(np.round(np.linspace(0, top, 7), 4)) | {round(T_frac, 4)})
    recs = nonadaptive_sweep(problem, n, d, fractions=fracs, readers=(reader,),
                             trials=trials, seed=0)
    label = "(a) planted value" if problem == "value" else "(b) planted key"
    return plot_reader_budget(recs, T_mark=int(round(T_frac * nd)),
                              title=f"{label}: n = {n}, d = {d}, {trials} trials")


def cellprobe_widget() -> widgets.interactive:
    """Sliders for ``n`` (16 to 512), ``d`` (4 to 64), ``T/(nd)``, the reader and the problem.

    The reader dropdown lists :data:`~kvtheory.cellprobe.NONADAPTIVE_READERS`
    under each reader's ``name``.
    """
    options = [(make().name, key) for key, make in NONADAPTIVE_READERS.items()]
    return figure_widget(
        reader_budget_plot,
        n=widgets.IntSlider(value=128, min=16, max=512, step=16, description="n"),
        d=widgets.IntSlider(value=16, min=4, max=64, step=4, description="d"),
        T_frac=widgets.FloatSlider(value=0.5, min=0.0, max=2.0, step=0.05,
                                   description="T/(nd)"),
        reader=widgets.Dropdown(options=options, value="uniform", description="reader"),
        problem=widgets.Dropdown(options=[("(a) planted value", "value"),
                                          ("(b) planted key", "key")],
                                 value="value", description="problem"),
    )
