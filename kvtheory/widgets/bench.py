"""Widget of Chapter 9: every method on one instance at one budget."""

from __future__ import annotations

from functools import lru_cache

import ipywidgets as widgets

from ..bench import DEFAULT_BUDGETS, INSTANCES, run_bench
from ..viz.bench import plot_bench_bars
from ._core import figure_widget

__all__ = ["bench_widget"]


@lru_cache(maxsize=64)
def _run(instance: str, budget: float, n: int, d: int):
    return run_bench(None, [instance], n=n, d=d, budgets=[budget], seeds=[0])


def bench_widget(*, n: int = 128, d: int = 24) -> widgets.interactive:
    """A dropdown over the instances and a slider over the default budgets.

    Each position runs every default method once (``n = 128`` tokens: about a
    second) and caches the result.
    """
    def plot(instance, budget):
        return plot_bench_bars(_run(instance, budget, n, d), instance=instance, budget=budget)

    return figure_widget(
        plot,
        instance=widgets.Dropdown(options=list(INSTANCES), value="index",
                                  description="instance"),
        budget=widgets.SelectionSlider(options=list(DEFAULT_BUDGETS), value=0.03,
                                       description="budget"),
    )
