"""Figures of Chapter 8: success of cache readers against the time barrier."""

from __future__ import annotations

import numpy as np

from ._style import PALETTE, new_figure

__all__ = ["plot_nonadaptive_success", "plot_reader_budget"]

_MARKERS = ["o", "s", "^", "D", "v", "P", "X"]


def _by_reader(records):
    names = []
    for r in records:
        if r["reader"] not in names:
            names.append(r["reader"])
    return {name: [r for r in records if r["reader"] == name] for name in names}


def plot_nonadaptive_success(records_value, records_key=None, adaptive=None):
    r"""Measured success against the budget, with the ceiling :math:`\tfrac12+\tfrac{T}{2nd}`.

    Parameters
    ----------
    records_value : list of dict
        :func:`~kvtheory.experiments.nonadaptive.nonadaptive_sweep` records of
        problem (a), drawn against :math:`T/(nd)` (left panel).
    records_key : list of dict, optional
        Sweep records of problem (b), drawn against :math:`T/(nd)` on a log
        axis (right panel). The ceiling there bounds success by the value
        cells read, which are at most :math:`T`.
    adaptive : list of dict, optional
        Records of adaptive readers (keys ``reader``, ``budget``, ``nd``,
        ``success``, ``se``) for the right panel, drawn as large markers.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ncols = 1 if records_key is None else 2
    fig, axes = new_figure(ncols=ncols, width=7.0 if ncols == 1 else 11.5, height=3.8)
    axes = np.atleast_1d(axes)
    ax = axes[0]
    for j, (name, recs) in enumerate(_by_reader(records_value).items()):
        x = np.array([r["frac"] for r in recs])
        y = np.array([r["success"] for r in recs])
        e = np.array([r["se"] for r in recs])
        ax.errorbar(x + 0.006 * (j - 1.5), y, yerr=e, fmt=_MARKERS[j % 7], ms=4, lw=0,
                    elinewidth=1, capsize=2, color=PALETTE[j % 8], label=name)
    xs = np.linspace(0, 1, 101)
    ax.plot(xs, 0.5 + xs / 2, "k--", lw=1.2, label=r"ceiling $\frac{1}{2}+\frac{T}{2nd}$")
    n, d = records_value[0]["n"], records_value[0]["d"]
    ax.set_xlabel(r"cells read $T/(nd)$")
    ax.set_ylabel("success rate")
    ax.set_ylim(0.4, 1.03)
    ax.set_title(f"(a) planted value, 50/50 mixture, n = {n}, d = {d}")
    ax.legend(loc="upper left")
    if records_key is not None:
        ax = axes[1]
        for j, (name, recs) in enumerate(_by_reader(records_key).items()):
            recs = [r for r in recs if r["T"] > 0]
            x = np.array([r["frac"] for r in recs])
            y = np.array([r["success"] for r in recs])
            e = np.array([r["se"] for r in recs])
            ax.errorbar(x, y, yerr=e, fmt=_MARKERS[j % 7] + "-", ms=4, lw=0.8,
                        elinewidth=1, capsize=2, color=PALETTE[j % 8], label=name)
        n, d = records_key[0]["n"], records_key[0]["d"]
        xmin = min([r["frac"] for r in records_key if r["T"] > 0]
                   + [r["budget"] / r["nd"] for r in (adaptive or []) if r.get("budget")])
        xs = np.geomspace(xmin / 2, 2.2, 200)
        ax.plot(xs, np.minimum(1, 0.5 + xs / 2), "k--", lw=1.2, label="ceiling")
        for j, r in enumerate(adaptive or []):
            if r.get("budget") is None:
                continue
            ax.plot([r["budget"] / r["nd"]], [r["success"]], marker="*", ms=13, lw=0,
                    color=PALETTE[(5 + j) % 8], markeredgecolor="k",
                    label=f"{r['reader']}: {r['budget']} cells")
        ax.set_xscale("log")
        ax.set_xlim(xmin / 2, 2.2)
        ax.set_ylim(-0.03, 1.08)
        ax.set_xlabel(r"cells read $T/(nd)$ (keys, values and index)")
        ax.set_ylabel("success rate")
        ax.set_title(f"(b) planted key, n = {n}, d = {d}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7)
    return fig


def plot_reader_budget(records, *, T_mark=None, title=None):
    r"""One reader's success against :math:`T/(nd)`, the ceiling, and a marked budget.

    Parameters
    ----------
    records : list of dict
        Sweep records of a single reader (same keys as
        :func:`~kvtheory.experiments.nonadaptive.nonadaptive_sweep`).
    T_mark : int, optional
        A budget to mark with a vertical line.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = new_figure(width=6.5, height=3.6)
    x = np.array([r["frac"] for r in records])
    y = np.array([r["success"] for r in records])
    e = np.array([r["se"] for r in records])
    b = np.array([r["bound"] for r in records])
    ax.errorbar(x, y, yerr=e, fmt="o-", ms=4, lw=1, capsize=2, color=PALETTE[0],
                label=f"{records[0]['reader']} (measured)")
    order = np.argsort(x)
    ax.plot(x[order], b[order], "k--", lw=1.2, label=r"ceiling $\frac{1}{2}+\frac{|S_V|}{2nd}$")
    if T_mark is not None:
        nd = records[0]["n"] * records[0]["d"]
        ax.axvline(T_mark / nd, color=PALETTE[1], lw=1, label=f"T = {T_mark}")
    ax.set_xlabel(r"cells read $T/(nd)$")
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.03, 1.05)
    ax.set_title(title or f"n = {records[0]['n']}, d = {records[0]['d']}")
    ax.legend(loc="lower right")
    return fig
