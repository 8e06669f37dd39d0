"""Figures of Chapter 7. Each takes records from :mod:`kvtheory.experiments.window`."""

from __future__ import annotations

import numpy as np

from ._style import PALETTE, figure_axes, figure_axes_pair

__all__ = ["plot_window_memory", "plot_window_index", "plot_window_explorer"]

_COLORS = {"exact cache": PALETTE[6], "sliding window": PALETTE[0],
           "sink + window": PALETTE[2], "unmasked window": PALETTE[1]}


def _memory_axes(ax, rec, W):
    for name, color in _COLORS.items():
        ax.plot(rec["steps"], rec[name], color=color, lw=1.6,
                ls="--" if name == "sink + window" else "-", label=name)
    if W is not None:
        ax.axvline(W, color="grey", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("tokens n")
    ax.set_ylabel("memory_bits()")
    ax.legend(loc="lower right")


def plot_window_memory(record: dict, *, W: int | None = None, ax=None):
    """Measured memory of the window algorithms beside ExactCache, against ``n``.

    Parameters
    ----------
    record : dict
        From :func:`kvtheory.experiments.window.window_memory`.
    W : int, optional
        The window, marked with a vertical line.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = figure_axes(ax)
    _memory_axes(ax, record, W)
    ax.set_title("Window algorithms stay flat once n exceeds W (dotted line)")
    return fig


def plot_window_index(rows: list[dict], curve: dict, *, axes=None):
    """In-window INDEX against ``SlidingWindow(w)``: success vs what it keeps.

    Left: success against the fraction :math:`f=(w-1)/(W-1)` of Alice's
    tokens the window holds at Bob's step, with the INDEX ceiling
    :math:`1-H_2^{-1}(1-f)` of an algorithm holding :math:`f(W-1)d` bits and
    the line :math:`\\frac12+\\frac f2`. Right: success against measured
    ``memory_bits`` (64-bit words), with the lower bound and Alice's bits.

    Parameters
    ----------
    rows : list of dict
        From :func:`kvtheory.experiments.window.window_index_sweep`.
    curve : dict
        From :func:`kvtheory.experiments.window.index_ceiling_curve`.
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    f = np.array([r["f"] for r in rows])
    succ = np.array([r["success"] for r in rows])
    err = np.array([r["stderr"] for r in rows])
    bits = np.array([r["memory_bits"] for r in rows])
    info, W, d = rows[0]["info_bits"], rows[0]["W"], rows[0]["d"]
    fig, (ax0, ax1) = figure_axes_pair(axes, width=9.0, height=3.4)
    ax0.plot(curve["f"], curve["ceiling"], color=PALETTE[1],
             label="INDEX ceiling at f·(W−1)d bits")
    ax0.plot(curve["f"], 0.5 + curve["f"] / 2, color="grey", ls="--", lw=1, label="1/2 + f/2")
    ax0.errorbar(f, succ, yerr=2 * err, fmt="o", color=PALETTE[0], capsize=3,
                 label="SlidingWindow(w), ±2 s.e.")
    ax0.set_xlabel("fraction f of Alice's tokens in the window")
    ax0.set_ylabel("Bob's success")
    ax0.set_ylim(0.4, 1.03)
    ax0.legend(loc="lower right")
    ax0.set_title(f"model window W = {W}, d = {d}")
    ax1.errorbar(bits, succ, yerr=2 * err, fmt="o-", color=PALETTE[0], capsize=3,
                 label="SlidingWindow(w)")
    ax1.axvline(rows[0]["bound_bits"], color=PALETTE[1], ls="--", lw=1.2,
                label="bound (1−H₂(0.2))(W−1)d")
    ax1.axvline(info, color=PALETTE[2], ls=":", lw=1.2, label="Alice's bits (W−1)d")
    ax1.set_xscale("log")
    ax1.set_ylim(0.4, 1.03)
    ax1.set_xlabel("memory_bits() at the hand-off")
    ax1.legend(loc="upper left")
    ax1.set_title("the same runs against measured memory")
    return fig


def plot_window_explorer(record: dict, *, axes=None):
    """Widget view: memory against ``n`` and per-step distance to brute force.

    Parameters
    ----------
    record : dict
        From :func:`kvtheory.experiments.window.window_explorer`.
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax0, ax1) = figure_axes_pair(axes, width=9.0, height=3.4)
    _memory_axes(ax0, record["memory"], record["W"])
    ax0.set_title(f"memory, W = {record['W']}, d = {record['d']}")
    steps = np.arange(1, record["n"] + 1)
    for name, diff in record["diffs"].items():
        ax1.plot(steps, np.maximum(diff, 1e-18), ".", ms=2, color=_COLORS[name],
                 label=f"{name}: max {diff.max():.0e}")
    ax1.set_yscale("log")
    ax1.set_ylim(1e-18, 1e-12)
    ax1.set_xlabel("step i")
    ax1.set_ylabel("max |stream − brute force|")
    ax1.set_title("exactness (zeros drawn at 1e-18)")
    ax1.legend(loc="upper left")
    return fig
