r"""Figures of Chapter 2: one-way INDEX protocols against the bound :math:`H_2^{-1}(1-S/N)`.

Both functions only draw: the runs, the exact-error lines and the floor curve
are computed by :mod:`kvtheory.experiments.communication`
(:func:`~kvtheory.experiments.communication.protocol_sweep` or
:func:`~kvtheory.experiments.communication.protocol_curve`,
:func:`~kvtheory.experiments.communication.exact_error_lines`,
:func:`~kvtheory.experiments.communication.floor_curve`).
"""

from __future__ import annotations

from .._validate import check_real
from ..communication import ProtocolRun
from ._style import PALETTE, figure_axes

__all__ = ["plot_index_protocols", "plot_protocol_curve"]

_STYLE = {"bits": (PALETTE[0], "o", "send S bits"),
          "majority": (PALETTE[1], "s", "majorities of blocks"),
          "parity": (PALETTE[2], "^", "S random parities"),
          "custom": (PALETTE[3], "D", "custom protocol")}


def _check_runs(runs) -> list[ProtocolRun]:
    runs = list(runs)
    if not runs:
        raise ValueError("runs must not be empty")
    for r in runs:
        if not isinstance(r, ProtocolRun):
            raise TypeError(f"runs must hold ProtocolRun records, got {type(r).__name__}")
    return runs


def _check_floor(floor) -> dict:
    if not isinstance(floor, dict) or not {"rate", "floor"} <= set(floor):
        raise TypeError("floor must be the dict of experiments.communication.floor_curve() "
                        "(keys 'rate' and 'floor')")
    return floor


def _check_lines(lines) -> list[dict]:
    lines = list(lines)
    for line in lines:
        if not isinstance(line, dict) or not {"protocol", "rate", "error"} <= set(line):
            raise TypeError("exact must hold the dicts of "
                            "experiments.communication.exact_error_lines()")
    return lines


def _draw_floor(ax, floor):
    ax.fill_between(floor["rate"], 0, floor["floor"], color="0.85", lw=0,
                    label="impossible: below the bound")
    ax.plot(floor["rate"], floor["floor"], color="black", lw=1.6,
            label=r"bound $H_2^{-1}(1-S/N)$")
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("message rate S / N")
    ax.set_ylabel("error  P[Bob's guess ≠ x_j]")


def plot_index_protocols(runs, exact, floor, *, z: float = 2.0, ax=None):
    r"""Measured errors of one-way protocols against the INDEX bound.

    Each run is a marker with an error bar of ``z`` standard errors; each
    exact-error line is drawn thin and dashed in its protocol's colour. The
    region below the floor :math:`H_2^{-1}(1-S/N)` is shaded: no protocol can
    reach it.

    Parameters
    ----------
    runs : sequence of ProtocolRun
        E.g. from :func:`kvtheory.experiments.communication.protocol_sweep`.
    exact : sequence of dict
        From :func:`kvtheory.experiments.communication.exact_error_lines`.
    floor : dict
        From :func:`kvtheory.experiments.communication.floor_curve`.
    z : float, default 2
        Half-width of the error bars in standard errors.
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        ``ax.lines[0]`` is the floor.

    Raises
    ------
    TypeError
        If an element of ``runs`` is not a ``ProtocolRun``, or ``exact`` /
        ``floor`` are not the experiment's records.
    ValueError
        If ``runs`` is empty or ``z < 0``.
    """
    runs = _check_runs(runs)
    exact = _check_lines(exact)
    floor = _check_floor(floor)
    z = check_real(z, "z", lo=0)
    fig, ax = figure_axes(ax, width=7.0, height=4.0)
    _draw_floor(ax, floor)
    N = runs[0].N
    for proto in ("bits", "majority", "parity", "custom"):
        sel = [r for r in runs if r.protocol == proto]
        if not sel:
            continue
        color, marker, label = _STYLE[proto]
        ax.errorbar([r.ratio for r in sel], [r.error for r in sel],
                    yerr=[z * r.stderr for r in sel], fmt=marker, ms=4.5, color=color,
                    capsize=2, lw=1, label=f"{label} (measured)")
        if proto == "majority":
            for r in sel:
                ax.annotate(f"b={r.block}", (r.ratio, r.error), textcoords="offset points",
                            xytext=(4, 4), fontsize=7, color=color)
    for line in exact:
        ax.plot(line["rate"], line["error"], "--", color=_STYLE[line["protocol"]][0], lw=0.8)
    ax.plot([], [], "--", color="0.4", lw=0.8, label="exact error")
    ax.set_ylim(0, 0.66)
    ax.set_title(f"One-way INDEX with N = {N}: every protocol stays above the bound")
    ax.legend(loc="upper center", fontsize=7, ncols=3)
    return fig


def plot_protocol_curve(runs, exact, floor, *, summary=None, ax=None):
    r"""One protocol's measured and exact error across message lengths, with the bound.

    Parameters
    ----------
    runs : sequence of ProtocolRun
        One protocol's runs, from
        :func:`kvtheory.experiments.communication.protocol_curve`.
    exact : dict
        That protocol's line from
        :func:`kvtheory.experiments.communication.exact_error_lines`.
    floor : dict
        From :func:`kvtheory.experiments.communication.floor_curve`.
    summary : dict, optional
        From :func:`kvtheory.experiments.communication.floor_summary`; its
        ``min_gap`` is shown in the title.
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        ``ax.lines[0]`` is the bound, ``ax.lines[1]`` the exact error and
        ``ax.lines[2]`` the measured errors (the data line of the error bars).

    Raises
    ------
    TypeError, ValueError
        If ``runs`` is empty or mixes protocols, or ``exact`` / ``floor`` are
        not the experiment's records.
    """
    runs = _check_runs(runs)
    (exact,) = _check_lines([exact])
    floor = _check_floor(floor)
    protocol = runs[0].protocol
    if any(r.protocol != protocol for r in runs) or exact["protocol"] != protocol:
        raise ValueError("runs and exact must all belong to one protocol")
    fig, ax = figure_axes(ax, width=7.0, height=3.8)
    _draw_floor(ax, floor)
    color, marker, label = _STYLE[protocol]
    ax.plot(exact["rate"], exact["error"], "--", color=color, lw=1, label="exact error")
    ax.errorbar([r.ratio for r in runs], [r.error for r in runs],
                yerr=[2 * r.stderr for r in runs], fmt=marker, ms=4.5, color=color,
                capsize=2, lw=1, label="measured")
    blk = runs[0].block
    title = (label + (f", b = {blk}" if blk else "")
             + f", N = {runs[0].N}, {runs[0].trials} rounds per point")
    if summary is not None:
        title += f"\nleast gap (measured error - bound) = {summary['min_gap']:+.3f}"
    ax.set_ylim(0, 0.62)
    ax.set_title(title)
    ax.legend(loc="upper center", fontsize=7, ncols=4)
    return fig
