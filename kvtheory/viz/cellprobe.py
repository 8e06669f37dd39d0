"""Figures of Chapter 8: success of cache readers against the time barrier."""

from __future__ import annotations

import numpy as np

from ._style import PALETTE, figure_axes, figure_axes_grid

__all__ = ["plot_nonadaptive_success", "plot_reader_budget", "plot_worst_case"]

_MARKERS = ["o", "s", "^", "D", "v", "P", "X"]


def _by_reader(records):
    names = []
    for r in records:
        if r["reader"] not in names:
            names.append(r["reader"])
    return {name: [r for r in records if r["reader"] == name] for name in names}


def plot_nonadaptive_success(records_value, records_key=None, adaptive=None, *, axes=None):
    r"""Measured success against the budget, with the ceiling :math:`\tfrac12+\tfrac{T}{2nd}`.

    Parameters
    ----------
    records_value : list of dict
        :func:`~kvtheory.experiments.cellprobe.nonadaptive_sweep` records of
        problem (a), drawn against :math:`T/(nd)` (left panel).
    records_key : list of dict, optional
        Sweep records of problem (b), drawn against :math:`T/(nd)` on a log
        axis (right panel). The ceiling there bounds success by the value
        cells read, which are at most :math:`T`.
    adaptive : list of dict, optional
        Records of adaptive readers (keys ``reader``, ``budget``, ``nd``,
        ``success``, ``se``) for the right panel, drawn as large markers.
    axes : sequence of matplotlib Axes, optional
        One Axes per panel (one, or two with ``records_key``) to draw into;
        by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not records_value:
        raise ValueError("records_value must be a non-empty list of sweep records")
    ncols = 1 if records_key is None else 2
    fig, axes = figure_axes_grid(axes, n=ncols,
                                 width=7.0 if ncols == 1 else 11.5, height=3.8)
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
        ax.set_xlabel(r"cells read $T/(nd)$ (keys, values and structures)")
        ax.set_ylabel("success rate")
        ax.set_title(f"(b) planted key, n = {n}, d = {d}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7)
    return fig


def plot_reader_budget(records, *, T_mark=None, title=None, ax=None):
    r"""One reader's success against :math:`T/(nd)`, the ceiling, and a marked budget.

    Parameters
    ----------
    records : list of dict
        Sweep records of a single reader (same keys as
        :func:`~kvtheory.experiments.cellprobe.nonadaptive_sweep`).
    T_mark : int, optional
        A budget to mark with a vertical line.
    title : str, optional
    ax : matplotlib Axes, optional
        Draw into this Axes; by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not records:
        raise ValueError("records must be a non-empty list of sweep records")
    fig, ax = figure_axes(ax, width=6.5, height=3.6)
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


def plot_worst_case(records, *, ax=None):
    r"""Success on the worse input class of problem (a) against :math:`f`, with the ceiling.

    Draws, for each reader, :math:`\min(s_0,s_1)` (success on the all-zero
    input or on the planted inputs, whichever is smaller) against the value
    cells read :math:`f=\mathbb E|S_V|/(nd)`, with one standard error, and
    the worst-case ceiling :math:`\frac{1+df}{d+1}` of the time-barrier
    theorem of Chapter 8 as a dashed line.

    Parameters
    ----------
    records : list of dict
        :func:`~kvtheory.experiments.cellprobe.worst_case_sweep` records (one
        ``n``, ``d``).
    ax : matplotlib Axes, optional
        Draw into this Axes; by default a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from kvtheory.experiments.cellprobe import worst_case_sweep
    >>> from kvtheory.viz.cellprobe import plot_worst_case
    >>> fig = plot_worst_case(worst_case_sweep(8, 4, fractions=(0.0, 1.0), trials=20))
    >>> len(fig.axes)
    1
    """
    if not records:
        raise ValueError("records must be a non-empty list of worst_case_sweep records")
    fig, ax = figure_axes(ax, width=7.0, height=3.8)
    n, d = records[0]["n"], records[0]["d"]
    for j, (name, recs) in enumerate(_by_reader(records).items()):
        x = np.array([r["frac"] for r in recs])
        y = np.array([r["worst"] for r in recs])
        e = np.array([r["se0"] if r["s0"] <= r["s1"] else r["se1"] for r in recs])
        ax.errorbar(x + 0.006 * (j - 2), y, yerr=e, fmt=_MARKERS[j % 7], ms=4, lw=0,
                    elinewidth=1, capsize=2, color=PALETTE[j % 8], label=name)
    xs = np.linspace(0, 1, 101)
    ax.plot(xs, (1 + d * xs) / (d + 1), "k--", lw=1.2,
            label=r"ceiling $\frac{1+df}{d+1}$")
    ax.plot(xs, 0.5 + xs / 2, ":", color="0.5", lw=1.2,
            label=r"mixture ceiling $\frac{1}{2}+\frac{f}{2}$")
    ax.set_xlabel(r"value cells read $f=\mathbb{E}|S_V|/(nd)$")
    ax.set_ylabel(r"$\min(s_0, s_1)$")
    ax.set_ylim(-0.03, 1.05)
    ax.set_title(f"(a) planted value, each input class, n = {n}, d = {d}")
    ax.legend(loc="upper left", fontsize=7)
    return fig
