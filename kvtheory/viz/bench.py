"""Figures of Chapter 9: the barrier benchmark."""

from __future__ import annotations

import math

import numpy as np

from ..communication import index_success_ceiling
from ._style import PALETTE, new_figure

__all__ = ["plot_bench", "plot_bench_bars", "method_style"]

_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def method_style(i: int) -> dict:
    """Colour, marker and line style of the ``i``-th method (8 colours x 2 line styles)."""
    return {"color": PALETTE[i % len(PALETTE)],
            "marker": _MARKERS[(i + 3 * (i // len(PALETTE))) % len(_MARKERS)],
            "linestyle": "-" if (i // len(PALETTE)) % 2 == 0 else "--"}


def _decodes(rows) -> bool:
    return any(r["success"] is not None for r in rows)


def _curves(rows, value):
    """``{method: (x, y)}``: seed means per budget, sorted by memory."""
    acc: dict = {}
    for r in rows:
        if r["status"] != "ok" or r[value] is None or r["memory_bits"] is None:
            continue
        acc.setdefault(r["method"], {}).setdefault(r["budget"], []).append(
            (r["memory_bits"], r[value]))
    out = {}
    for m, per in acc.items():
        pts = sorted((float(np.mean([p[0] for p in v])), float(np.mean([p[1] for p in v])))
                     for v in per.values())
        out[m] = (np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    return out


def plot_bench(results, *, instances=None, methods=None, error: str = "err_additive_max",
               ncols: int = 4):
    r"""The standard figure: one panel per instance, success or error against memory_bits.

    Panels of instances with planted bits show the decoded fraction
    (``success``, 0.5 is guessing); the INDEX instances add the lower-bound
    curve :math:`1-H_2^{-1}(1-S/N)` (black): no algorithm keeping :math:`S`
    bits can average above it. Other panels show ``error`` (log scale).
    Points are means over seeds at each budget; the x axis is the measured
    memory in bits (log scale).

    Parameters
    ----------
    results : BenchResults
    instances, methods : list of str, optional
        Subsets (default: all in ``results``).
    error : str
        Error column for benign panels.
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = results.rows
    insts = instances or list(dict.fromkeys(r["instance"] for r in rows))
    meths = methods or list(dict.fromkeys(r["method"] for r in rows))
    nrows = math.ceil((len(insts) + 1) / ncols)
    fig, axes = new_figure(ncols, nrows, width=2.9 * ncols, height=2.5 * nrows)
    axes = np.atleast_1d(axes).ravel()
    handles = {}
    for ax, inst in zip(axes, insts, strict=False):
        sub = [r for r in rows if r["instance"] == inst and r["method"] in meths]
        dec = _decodes(sub)
        value = "success" if dec else error
        curves = _curves(sub, value)
        for i, m in enumerate(meths):
            if m in curves:
                x, y = curves[m]
                (h,) = ax.plot(x, y, ms=3.5, lw=1.1, label=m, **method_style(i))
                handles[m] = h
        ax.set_xscale("log")
        info = next((r["info_bits"] for r in sub if r["info_bits"]), None)
        if info:
            xs = np.array([r["memory_bits"] for r in sub if r["memory_bits"]], float)
            S = np.geomspace(max(1.0, xs.min() / 2), xs.max() * 2, 200)
            (h,) = ax.plot(S, index_success_ceiling(S, info), color="black", lw=2.0,
                           label="lower bound (ceiling)")
            handles["lower bound (ceiling)"] = h
            ax.axvline(info, color="black", lw=0.8, ls=":")
        if dec:
            ax.set_ylim(0.2, 1.03)
            ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        else:
            ax.set_yscale("log")
        fam = next((r["family"] for r in sub), "")
        ax.set_title(f"{inst} ({fam})")
        ax.set_xlabel("memory bits")
        ax.set_ylabel("success" if dec else error.replace("err_", "").replace("_", " "))
    for ax in axes[len(insts):]:
        ax.axis("off")
    axes[len(insts)].legend(list(handles.values()), list(handles.keys()), loc="center",
                            ncol=2, fontsize=7, frameon=False)
    return fig


def plot_bench_bars(results, *, instance: str, budget: float,
                    error: str = "err_additive_max"):
    """Bar chart of every method on one instance at one budget.

    Bars: success (decoding instances, with the lower-bound ceiling of each
    method's measured memory as a black tick on INDEX instances) or ``error``
    (log scale). Hatched bars exceeded the budget.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = [r for r in results.rows if r["instance"] == instance and r["budget"] == budget
            and r["status"] == "ok"]
    if not rows:
        raise ValueError(f"no results for instance={instance!r} at budget={budget}")
    dec = _decodes(rows)
    value = "success" if dec else error
    meths = list(dict.fromkeys(r["method"] for r in rows))
    vals = np.array([np.mean([r[value] for r in rows if r["method"] == m]) for m in meths])
    over = [not all(r["within_budget"] for r in rows if r["method"] == m) for m in meths]
    fig, ax = new_figure(width=7.5, height=3.4)
    x = np.arange(len(meths))
    bars = ax.bar(x, vals, color=[method_style(i)["color"] for i in range(len(meths))])
    for b, o in zip(bars, over, strict=True):
        if o:
            b.set_hatch("///")
            b.set_alpha(0.6)
    if dec:
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.set_ylim(0, 1.05)
        ceil = [np.mean([r["ceiling"] for r in rows if r["method"] == m])
                if rows[0]["ceiling"] is not None else None for m in meths]
        if ceil[0] is not None:
            ax.scatter(x, ceil, marker="_", s=300, color="black", zorder=3,
                       label="lower-bound ceiling at the method's memory")
            ax.legend(loc="lower right")
    else:
        ax.set_yscale("log")
    ax.set_xticks(x, meths, rotation=45, ha="right")
    ax.set_ylabel("success" if dec else error.replace("err_", "").replace("_", " "))
    ax.set_title(f"{instance} at budget {budget:g} of the exact cache (hatched: over budget)")
    return fig
