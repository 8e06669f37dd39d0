"""Figures of Chapter 11: balancing against sampling (plots only; data from experiments.balance)."""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from ._style import PALETTE, figure_axes, figure_axes_pair

__all__ = ["plot_walk_discrepancy", "plot_balance_rates", "plot_error_vs_R",
           "plot_balance_index", "plot_balance_explorer"]

_COL = {"balance": PALETTE[0], "balance (theory c)": PALETTE[6], "random halving": PALETTE[5],
        "uniform": PALETTE[1], "importance": PALETTE[2], "SubGen": PALETTE[3]}


def _plain_log(ax, *, x=True, y=True):
    """Log axes without minor tick labels (they collide at the book's font size)."""
    if x:
        ax.xaxis.set_minor_formatter(NullFormatter())
    if y:
        ax.yaxis.set_minor_formatter(NullFormatter())


def _need(res, keys, what):
    if not isinstance(res, dict) or any(k not in res for k in keys):
        raise TypeError(f"res must be an output of kvtheory.experiments.balance.{what}")


def plot_walk_discrepancy(res, ax=None):
    """Discrepancy of the walk and of random signs against ``m`` (log-log), from ``walk_vs_random``.

    Examples
    --------
    >>> from kvtheory.experiments.balance import walk_vs_random
    >>> from kvtheory.viz.balance import plot_walk_discrepancy
    >>> fig = plot_walk_discrepancy(walk_vs_random(ms=(16, 64), seeds=range(2)))
    >>> len(fig.axes[0].lines)
    4
    """
    _need(res, ("m", "walk", "random", "walk_theory"), "walk_vs_random")
    fig, ax = figure_axes(ax, height=4.2)
    m = np.asarray(res["m"], dtype=float)
    ax.loglog(m, res["random"], "o-", color=PALETTE[1], label="random signs")
    ax.loglog(m, res["walk_theory"], "s-", color=PALETTE[2],
              label=r"walk, $c=\ln(2m/\delta)$, $\delta=1/2$")
    ax.loglog(m, res["walk"], "D-", color=PALETTE[0], label=f"walk, c={res['c']:g}")
    ref = res["random"][0] * np.sqrt(m / m[0])
    ax.loglog(m, ref, ":", color="grey", label=r"$\propto\sqrt{m}$")
    ax.set_xticks(m, labels=[str(int(v)) for v in m])
    _plain_log(ax, y=False)
    ax.set_xlabel("number of vectors m")
    ax.set_ylabel(r"mean $|\langle\sum_t\sigma_tu_t,\theta\rangle|$")
    ax.set_title("self-balancing walk against random signs")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    return fig


def plot_balance_rates(results, axes=None):
    """Error against kept tokens (left) and bits (right), one line style per ``R``.

    Parameters
    ----------
    results : dict or list of dict
        Outputs of :func:`kvtheory.experiments.balance.error_vs_kept`.
    axes : sequence of two Axes, optional

    Examples
    --------
    >>> from kvtheory.experiments.balance import error_vs_kept
    >>> from kvtheory.viz.balance import plot_balance_rates
    >>> res = error_vs_kept(1.0, sizes=(8, 16), n=128, seeds=(0,), methods=("balance", "uniform"))
    >>> fig = plot_balance_rates(res)
    >>> len(fig.axes[0].containers)                      # one error-bar series per method
    2
    """
    if isinstance(results, dict):
        results = [results]
    for r in results:
        _need(r, ("rows", "R"), "error_vs_kept")
    fig, axes = figure_axes_pair(axes, width=7.3, height=5.0)
    styles = ["-", "--", ":", "-."]
    methods = []
    for k, r in enumerate(results):
        for m, row in r["rows"].items():
            methods += [m] if m not in methods else []
            e = np.asarray(row["err"])
            mean = e.mean(axis=1)
            se = e.std(axis=1, ddof=1) / np.sqrt(e.shape[1]) if e.shape[1] > 1 else 0 * mean
            for ax, x in zip(axes, ("kept", "bits"), strict=True):
                ax.errorbar(row[x], mean, yerr=se, fmt="o" + styles[k % 4], ms=3,
                            color=_COL.get(m, "black"), capsize=2)
    axes[0].set_xlabel("kept tokens")
    axes[1].set_xlabel("memory (bits)")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log(ax)
    axes[0].set_ylabel(r"mean $\|\hat z-z\|_\infty$")
    axes[0].set_title("against kept tokens")
    axes[1].set_title("against bits")
    handles = [Line2D([], [], color=_COL.get(m, "black"), marker="o", ms=4, label=m)
               for m in methods]
    handles += [Line2D([], [], color="grey", ls=styles[k % 4], label=f"R={r['R']:g}")
                for k, r in enumerate(results)]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)
    return fig


def plot_error_vs_R(res, ax=None):
    """Normaliser and output error at a fixed block size against ``R``, from ``error_vs_R``.

    Examples
    --------
    >>> from kvtheory.experiments.balance import error_vs_R
    >>> from kvtheory.viz.balance import plot_error_vs_R
    >>> fig = plot_error_vs_R(error_vs_R(Rs=(0.5, 1.0), n=128, seeds=(0,)))
    >>> len(fig.axes[0].lines)
    3
    """
    _need(res, ("R", "err", "dnorm"), "error_vs_R")
    fig, ax = figure_axes(ax)
    R = np.asarray(res["R"])
    ax.semilogy(R, res["dnorm"], "o-", color=PALETTE[0],
                label=r"normaliser $|Z_{\mathcal{S}}/Z-1|$")
    ax.semilogy(R, res["err"], "s-", color=PALETTE[1], label=r"output $\|\hat z-z\|_\infty$")
    ax.semilogy(R, res["dnorm"][0] * np.exp(2 * (R - R[0])), ":", color="grey",
                label=r"$\propto e^{2R}$ (the guarantee's factor)")
    ax.set_xlabel(r"score bound $R=r_qr_k$")
    ax.set_ylabel("mean error")
    ax.set_title(f"balancing at fixed block B={res['block']}")
    ax.legend()
    return fig


def plot_balance_index(runs, ax=None):
    """INDEX success of BalanceKV against the information ceiling, from ``index_runs``.

    Examples
    --------
    >>> from kvtheory.viz.balance import plot_balance_index
    >>> runs = [{"block": 1, "bits": 100, "info_bits": 400, "success": 0.5, "ceiling": 0.7}]
    >>> len(plot_balance_index(runs).axes[0].lines)      # ceiling, success, the 1/2 line
    3
    """
    if not runs or not all(isinstance(r, dict) and "success" in r for r in runs):
        raise TypeError("runs must be an output of kvtheory.experiments.balance.index_runs")
    fig, ax = figure_axes(ax)
    x = np.array([r["bits"] / r["info_bits"] for r in runs])
    ax.plot(x, [r["ceiling"] for r in runs], "k--", label="ceiling (Chapter 3)")
    ax.plot(x, [r["success"] for r in runs], "o-", color=PALETTE[0], label="BalanceKV")
    for r, xi in zip(runs, x, strict=True):
        ax.annotate(f"B={r['block']}", (xi, r["success"]), textcoords="offset points",
                    xytext=(3, -10), fontsize=7)
    ax.axhline(0.5, color="grey", lw=0.8)
    ax.set_xscale("log")
    _plain_log(ax, y=False)
    ax.set_xlabel("memory / information bits (bits / nd)")
    ax.set_ylabel("Bob's success rate")
    ax.set_ylim(0.35, 1.02)
    ax.set_title("balancing on the INDEX instance")
    ax.legend(loc="lower right")
    return fig


def plot_balance_explorer(data, ax=None):
    """Error against block size: balancing, random halving, uniform sampling (``explore``).

    Examples
    --------
    >>> from kvtheory.experiments.balance import explore
    >>> from kvtheory.viz.balance import plot_balance_explorer
    >>> fig = plot_balance_explorer(explore(1.0, max_block=16, n=128))
    >>> len(fig.axes[0].lines)
    4
    """
    _need(data, ("sizes", "err", "R"), "explore")
    fig, ax = figure_axes(ax)
    x = np.asarray(data["sizes"], dtype=float)
    for m, e in data["err"].items():
        ax.loglog(x, e, "o-", color=_COL.get(m, "black"), label=m)
    e0 = data["err"]["uniform"][0]
    ax.loglog(x, e0 * (x / x[0]) ** -0.5, ":", color="grey", label=r"$\propto s^{-1/2}$")
    ax.set_xlabel("kept tokens")
    ax.set_ylabel(r"mean $\|\hat z-z\|_\infty$")
    ax.set_title(f"R={data['R']:g}, c={data['c']:g}, n={data['n']}")
    ax.legend()
    return fig
