"""Figures of Chapter 9: the barrier benchmark."""

from __future__ import annotations

import math

import numpy as np

from ..information import index_success_ceiling
from ._style import PALETTE, figure_axes, figure_axes_grid, new_figure

__all__ = ["plot_bench", "plot_bench_bars", "plot_bench_families", "method_style",
           "CEILING_STYLE", "METHOD_FAMILIES"]

_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h"]
#: Method colours: the palette without black, which belongs to the ceiling.
_COLOURS = [c for c in PALETTE if c.lower() != "#000000"]
#: The ceiling's line: black, dash-dot, thick, no marker; no method is drawn like it.
CEILING_STYLE = {"color": "black", "linestyle": "-.", "lw": 2.0, "marker": None}


def method_style(i: int) -> dict:
    """Colour, marker and line style of the ``i``-th method.

    7 colours (the palette without black) and 11 markers, coprime, so the
    first 77 methods all get distinct (colour, marker) pairs; methods are
    solid lines, never black (black dash-dot is the ceiling).

    Examples
    --------
    >>> from kvtheory.viz.bench import method_style
    >>> len({(method_style(i)["color"], method_style(i)["marker"]) for i in range(30)})
    30
    """
    return {"color": _COLOURS[i % len(_COLOURS)], "marker": _MARKERS[i % len(_MARKERS)],
            "linestyle": "-"}


def _decodes(rows) -> bool:
    return any(r["success"] is not None for r in rows)


def _curves(rows, value):
    """``{method: (x, y)}``: seed means per budget, sorted by memory (ok rows only)."""
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


def _floor(curves) -> float | None:
    """Axis floor for log panels: a decade below the smallest positive finite value."""
    pos = [y[(y > 0) & np.isfinite(y)] for _, y in curves.values()]
    pos = np.concatenate(pos) if pos else np.array([])
    return float(10 ** (np.floor(np.log10(pos.min())) - 1)) if pos.size else None


def plot_bench(results, *, instances=None, methods=None, error: str = "err_additive_max",
               ncols: int = 4):
    r"""The standard figure: one panel per instance, success or error against memory_bits.

    Panels of instances with planted bits show the decoded fraction
    (``success``, 0.5 is guessing); the INDEX instances add the lower-bound
    curve :math:`1-H_2^{-1}(1-S/N)` (black dash-dot, a style no method
    shares): no algorithm keeping :math:`S` bits can average above it. Other
    panels show ``error`` (log scale; an error of exactly 0 is drawn at the
    axis floor, said under the legend). Points are means over seeds at each
    budget; the x axis is the measured memory in bits (log scale). Methods
    with no successful run (``status != "ok"`` everywhere) are left out.

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
    ok = {r["method"] for r in rows if r["status"] == "ok"}
    insts = instances or list(dict.fromkeys(r["instance"] for r in rows))
    meths = [m for m in (methods or list(dict.fromkeys(r["method"] for r in rows))) if m in ok]
    style = {m: method_style(i) for i, m in enumerate(meths)}
    nrows = math.ceil((len(insts) + 1) / ncols)
    fig, axes = new_figure(ncols, nrows, width=2.9 * ncols, height=2.5 * nrows)
    axes = np.atleast_1d(axes).ravel()
    handles = {}
    zero_drawn = False
    for ax, inst in zip(axes, insts, strict=False):
        sub = [r for r in rows if r["instance"] == inst and r["method"] in meths]
        dec = _decodes(sub)
        value = "success" if dec else error
        curves = _curves(sub, value)
        floor = None if dec else _floor(curves)
        for m in meths:
            if m in curves:
                x, y = curves[m]
                if floor is not None and np.any(y <= 0):
                    y = np.where(y <= 0, floor, y)          # zero error: drawn at the floor
                    zero_drawn = True
                (h,) = ax.plot(x, y, ms=3.5, lw=1.1, label=m, **style[m])
                handles[m] = h
        ax.set_xscale("log")
        info = next((r["info_bits"] for r in sub if r["info_bits"]), None)
        xs = np.array([r["memory_bits"] for r in sub if r["memory_bits"]], float)
        if info and xs.size:
            S = np.geomspace(max(1.0, xs.min() / 2), xs.max() * 2, 200)
            (h,) = ax.plot(S, index_success_ceiling(S, info), label="lower bound (ceiling)",
                           **CEILING_STYLE)
            handles["lower bound (ceiling)"] = h
            ax.axvline(info, color="black", lw=0.8, ls=":")
        if dec:
            ax.set_ylim(0.2, 1.03)
            ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        else:
            ax.set_yscale("log")
            if floor is not None:
                ax.set_ylim(bottom=floor / 2)
        fam = next((r["family"] for r in sub), "")
        ax.set_title(f"{inst} ({fam})", fontsize=9)
        ax.set_xlabel("memory bits")
        ax.set_ylabel("success" if dec else error.replace("err_", "").replace("_", " "))
        if not curves:
            ax.text(0.5, 0.5, "no successful run", ha="center", va="center",
                    transform=ax.transAxes, color="grey")
    for ax in axes[len(insts):]:
        ax.axis("off")
    if len(insts) < axes.size:
        leg = axes[len(insts)]
        leg.legend(list(handles.values()), list(handles.keys()), loc="center", ncol=2,
                   fontsize=7, frameon=False)
        if zero_drawn:
            leg.text(0.5, 0.02, "an error of exactly 0 is drawn at the axis floor",
                     ha="center", va="bottom", fontsize=7, transform=leg.transAxes)
    return fig


def plot_bench_bars(results, *, instance: str, budget: float,
                    error: str = "err_additive_max", ax=None):
    """Bar chart of every method on one instance at one budget.

    Bars: success (decoding instances, with the lower-bound ceiling of each
    method's measured memory as a black tick on INDEX instances) or ``error``
    (log scale; an error of exactly 0 is drawn at the axis floor, with a
    note). Hatched bars exceeded the budget. ``ax``: draw into this Axes.

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
    fig, ax = figure_axes(ax, width=7.5, height=3.4)
    x = np.arange(len(meths))
    bars = ax.bar(x, vals, color=[method_style(i)["color"] for i in range(len(meths))],
                  edgecolor="white")
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
        pos = vals[(vals > 0) & np.isfinite(vals)]
        floor = float(10 ** (np.floor(np.log10(pos.min())) - 1)) if pos.size else 1e-3
        if np.any(vals <= 0):
            for b, v in zip(bars, vals, strict=True):
                if v <= 0:
                    b.set_height(floor)
            ax.text(0.99, 0.98, "0 drawn at the axis floor", ha="right", va="top",
                    fontsize=7, transform=ax.transAxes)
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor / 2)
    ax.set_xticks(x, meths, rotation=45, ha="right")
    ax.set_ylabel("success" if dec else error.replace("err_", "").replace("_", " "))
    ax.set_title(f"{instance} at budget {budget:g} of the exact cache (hatched: over budget)")
    return fig


#: The headline methods grouped by how they compress (Chapter 9's figure by family).
METHOD_FAMILIES = {
    "recency windows": ("window", "sink"),
    "eviction": ("highnorm", "h2o", "tova"),
    "sampling and clustering": ("uniform", "importance", "subgen"),
    "quantization": ("quant", "signbit", "kivi", "qjl", "rotation"),
    "projection": ("jl-keys", "lowrank"),
}


def plot_bench_families(results, *, instance: str = "index", families=None,
                        budget: float | None = None, axes=None):
    r"""One instance, one panel per method family: success against memory, with the ceiling.

    Each panel draws the decoded fraction (seed means per budget) of one
    family's methods against their measured memory in bits (log scale), the
    INDEX ceiling :math:`1-H_2^{-1}(1-S/N_{\rm info})` (black dash-dot), the
    planted bits (dotted vertical line) and, with ``budget``, the bits that
    budget allows on this instance (grey vertical band edge). Colours and
    markers are those of :func:`plot_bench` (methods in the order of
    ``results``).

    Parameters
    ----------
    results : BenchResults
        A run that includes ``instance`` (an instance with planted bits).
    instance : str
        Instance key, e.g. ``"index"``.
    families : dict of str to sequence of str, optional
        Panel title to method keys; default :data:`METHOD_FAMILIES`.
        Methods absent from ``results`` (or without a successful run) are
        skipped; a family with none left gets an empty panel.
    budget : float, optional
        A budget of ``results`` whose bits are marked on every panel.
    axes : sequence of matplotlib Axes, optional
        One Axes per family, to draw into; default a new figure with two
        rows.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import kvtheory as kv
    >>> from kvtheory.viz.bench import plot_bench_families
    >>> res = kv.bench.run_bench(["window", "quant"], ["index"], n=32, d=8,
    ...                          budgets=[0.01, 0.1], seeds=[0])
    >>> fig = plot_bench_families(res, families={"w": ["window"], "q": ["quant"]})
    >>> [ax.get_title() for ax in fig.axes]
    ['w', 'q']
    """
    from matplotlib.patches import Patch

    fams = dict(METHOD_FAMILIES if families is None else families)
    if not fams:
        raise ValueError("families must name at least one family")
    rows = [r for r in results.rows if r["instance"] == instance]
    if not rows:
        raise ValueError(f"no results for instance={instance!r}")
    if not _decodes(rows):
        raise ValueError(f"instance {instance!r} has no planted bits (no success to plot)")
    order = list(dict.fromkeys(r["method"] for r in results.rows
                               if r["status"] == "ok"))
    style = {m: method_style(i) for i, m in enumerate(order)}
    ncols = min(2, len(fams))           # two panels fit the column unshrunk
    nrows = math.ceil((len(fams) + (len(fams) > 2)) / ncols)  # + a legend panel
    fig, axs = figure_axes_grid(axes, n=len(fams), ncols=ncols, nrows=nrows,
                                width=3.3 * ncols, height=2.6 * nrows,
                                at_least=True)
    curves = _curves(rows, "success")
    info = next(r["info_bits"] for r in rows if r["info_bits"])
    xs = np.array([r["memory_bits"] for r in rows if r["memory_bits"]], float)
    S = np.geomspace(max(1.0, min(xs.min(), info) / 2), max(xs.max(), info) * 2, 200)
    bb = None
    if budget is not None:
        bb = next((r["budget_bits"] for r in rows if r["budget"] == budget), None)
        if bb is None:
            raise ValueError(f"budget {budget} is not one of the run's budgets")
    handles: dict = {}
    for ax, (title, meths) in zip(axs, fams.items(), strict=False):
        ax.plot(S, index_success_ceiling(S, info), label="ceiling", **CEILING_STYLE)
        ax.axvline(info, color="black", lw=0.8, ls=":")
        if bb is not None:
            ax.axvspan(S[0], bb, color="grey", alpha=0.12, lw=0)
        for m in meths:
            if m in curves:
                x, y = curves[m]
                (handles[m],) = ax.plot(x, y, ms=4, lw=1.2, label=m, **style[m])
        ax.set_xscale("log")
        ax.set_xlim(S[0], S[-1])
        ax.set_ylim(0.3, 1.04)
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.set_title(title)
        ax.set_xlabel("memory bits")
        ax.set_ylabel(f"success on {instance}")
    spare = axs[len(fams):]
    for ax in spare:
        ax.axis("off")
    keys = [_key_line(CEILING_STYLE, "INDEX ceiling"),
            _key_line({"color": "black", "lw": 0.8, "linestyle": ":"}, f"planted bits ({info})")]
    if bb is not None:
        keys.append(Patch(color="grey", alpha=0.12, label=f"budget {budget:g}: {bb} bits"))
    keys += list(handles.values())
    if spare:                                    # one legend for all panels, in a free panel
        spare[0].legend(handles=keys, loc="center", ncol=2, fontsize=7, frameon=False)
    else:
        fig.legend(handles=keys, loc="outside lower center", ncol=5, fontsize=7, frameon=False)
    return fig


def _key_line(style: dict, label: str):
    """A legend handle with a line style (no data)."""
    from matplotlib.lines import Line2D

    return Line2D([], [], label=label, **{k: v for k, v in style.items() if k != "marker"})
