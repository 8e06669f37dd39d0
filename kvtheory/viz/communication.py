r"""Figures of Chapter 2: one-way INDEX protocols against the bound :math:`H_2^{-1}(1-S/N)`."""

from __future__ import annotations

import numpy as np

from ..communication import ProtocolRun, index_protocol_error, majority_block_error
from ..experiments.communication import _floor_curve, protocol_curve
from ._style import PALETTE, new_figure

__all__ = ["plot_index_protocols", "plot_protocol_curve"]

_STYLE = {"bits": (PALETTE[0], "o", "send S bits"),
          "majority": (PALETTE[1], "s", "majorities of blocks"),
          "parity": (PALETTE[2], "^", "S random parities"),
          "custom": (PALETTE[3], "D", "custom protocol")}


def _draw_floor(ax):
    s, floor = _floor_curve()
    ax.fill_between(s, 0, floor, color="0.85", lw=0, label="impossible: below the bound")
    ax.plot(s, floor, color="black", lw=1.6, label=r"bound $H_2^{-1}(1-S/N)$")
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("message rate S / N")
    ax.set_ylabel("error  P[Bob's guess ≠ x_j]")


def _check_runs(runs) -> list[ProtocolRun]:
    runs = list(runs)
    if not runs:
        raise ValueError("runs must not be empty")
    for r in runs:
        if not isinstance(r, ProtocolRun):
            raise TypeError(f"runs must hold ProtocolRun records, got {type(r).__name__}")
    return runs


def plot_index_protocols(runs, *, z: float = 2.0):
    r"""Measured errors of one-way protocols against the INDEX bound.

    Each run is a marker with an error bar of ``z`` standard errors; the
    exact error of each protocol family is drawn thin and dashed (for the
    majority protocol: the segment from :math:`(0,\frac12)`, nothing sent,
    to full coverage, for each block size present). The region below
    :math:`H_2^{-1}(1-S/N)` is shaded: no protocol can reach it.

    Parameters
    ----------
    runs : sequence of ProtocolRun
        E.g. from :func:`kvtheory.experiments.communication.protocol_sweep`.
    z : float, default 2
        Half-width of the error bars in standard errors.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If an element is not a ``ProtocolRun``.
    ValueError
        If ``runs`` is empty.
    """
    runs = _check_runs(runs)
    fig, ax = new_figure(width=7.0, height=4.0)
    _draw_floor(ax)
    N = runs[0].N
    protocols = [p for p in ("bits", "majority", "parity", "custom")
                 if any(r.protocol == p for r in runs)]
    for proto in protocols:
        color, marker, label = _STYLE[proto]
        sel = [r for r in runs if r.protocol == proto]
        ax.errorbar([r.ratio for r in sel], [r.error for r in sel],
                    yerr=[z * r.stderr for r in sel], fmt=marker, ms=4.5, color=color,
                    capsize=2, lw=1, label=f"{label} (measured)")
        if proto == "bits":
            s = np.linspace(0, 1, 2)
            ax.plot(s, (1 - s) / 2, "--", color=color, lw=0.8)
        elif proto == "majority":
            for r in sel:
                c = r.S * r.block / r.N
                ax.plot([0, r.ratio], [0.5, c * majority_block_error(r.block) + (1 - c) / 2],
                        "--", color=color, lw=0.8)
                ax.annotate(f"b={r.block}", (r.ratio, r.error), textcoords="offset points",
                            xytext=(4, 4), fontsize=7, color=color)
        elif proto == "parity":
            Ss = np.unique(np.concatenate([np.linspace(0, N, 41).round().astype(int),
                                           np.arange(max(0, N - 8), N + 1)]))
            ax.plot(Ss / N, [index_protocol_error("parity", N, int(S)) for S in Ss], "--",
                    color=color, lw=0.8)
    ax.plot([], [], "--", color="0.4", lw=0.8, label="exact error")
    ax.set_ylim(0, 0.66)
    ax.set_title(f"One-way INDEX with N = {N}: every protocol stays above the bound")
    ax.legend(loc="upper center", fontsize=7, ncols=3)
    return fig


def plot_protocol_curve(N: int = 315, protocol: str = "majority", block: int = 3, *,
                        points: int = 12, trials: int = 2000, seed=0):
    r"""One protocol's measured and exact error across message lengths, with the bound.

    Runs :func:`kvtheory.experiments.communication.protocol_curve` (all
    arguments are validated there and bounded: ``N <= 1000``,
    ``trials <= 20000``) and draws it over the bound.

    Returns
    -------
    matplotlib.figure.Figure
        ``ax.lines[0]`` is the bound, ``ax.lines[1]`` the exact error and
        ``ax.lines[2]`` the measured errors (the data line of the error bars).
    """
    runs = protocol_curve(protocol, N, block=block, points=points, trials=trials, seed=seed)
    fig, ax = new_figure(width=7.0, height=3.8)
    _draw_floor(ax)
    color, marker, label = _STYLE[protocol]
    blk = runs[0].block
    Ss = np.arange(runs[-1].S + 1)
    if Ss.size > 200:
        Ss = np.unique(np.linspace(0, runs[-1].S, 200).round().astype(int))
    exact = [index_protocol_error(protocol, N, int(S), block=blk or 1) for S in Ss]
    ax.plot(Ss / N, exact, "--", color=color, lw=1, label="exact error")
    ax.errorbar([r.ratio for r in runs], [r.error for r in runs],
                yerr=[2 * r.stderr for r in runs], fmt=marker, ms=4.5, color=color,
                capsize=2, lw=1, label="measured")
    worst = min(r.error - r.floor for r in runs)
    title = label + (f", b = {blk}" if blk else "")
    ax.set_ylim(0, 0.62)
    ax.set_title(f"{title}, N = {N}, {trials} rounds per point\n"
                 f"least gap (measured error - bound) = {worst:+.3f}")
    ax.legend(loc="upper center", fontsize=7, ncols=4)
    return fig
