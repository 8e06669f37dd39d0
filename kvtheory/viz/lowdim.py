"""Figures of Chapter 4: code sizes against d, the flattening bound, the query-norm budget."""

from __future__ import annotations

import numpy as np

from ._style import PALETTE, figure_axes, figure_axes_grid

__all__ = ["plot_sign_codes", "plot_flattening", "plot_query_norm_budget"]

_MARKERS = ["o", "s", "^", "v", "D", "P", "X", "*"]


def plot_sign_codes(table, *, ax=None):
    r"""Greedy sign-code sizes against ``d`` (log scale) with the classical bounds.

    ``table`` comes from :func:`kvtheory.experiments.lowdim.sign_code_table`:
    measured sizes (markers), the Gilbert--Varshamov guarantee and the Hamming
    bound (steps, they jump with :math:`D=\lceil d(1-\kappa)/2\rceil`),
    the Euclidean volume bound of Chapter 4's covering/packing lemma, the smooth GV rate, and the
    least-squares line through :math:`\ln(\text{size})`. Draws into ``ax``
    if given; returns the Figure.
    """
    fig, ax = figure_axes(ax, width=7.0, height=3.8)
    d = table["d"]
    ax.plot(d, table["volume"], color=PALETTE[3], ls=":", lw=1.2,
            label=r"volume bound $(1+\sqrt{2/\mu})^d$ (Chapter 4's covering/packing lemma)")
    ax.plot(d, table["hamming"], color=PALETTE[1], ls="--", lw=1.2, drawstyle="steps-mid",
            label="Hamming bound (no code is larger)")
    ax.plot(d, table["size"], color=PALETTE[0], marker="o", ms=5, lw=1,
            label="greedy sign code (measured)")
    ax.plot(d, table["fit"], color=PALETTE[0], lw=0.8,
            alpha=0.6, label=f"fit: size ~ exp({table['slope']:.3f} d)")
    ax.plot(d, table["gv"], color=PALETTE[2], ls="--", lw=1.2, drawstyle="steps-mid",
            label=r"Gilbert-Varshamov $\lceil 2^d/V(d,D-1)\rceil$ (guaranteed)")
    eps = table["eps"]
    ax.plot(d, table["gv_rate"], color=PALETTE[2], lw=0.8, alpha=0.6,
            label=rf"GV rate $2^{{d(1-H_2({(1 - eps) / 2:g}))}}$")
    ax.set_yscale("log")
    ax.set_xlabel("dimension d")
    ax.set_ylabel("codewords")
    ax.set_title(rf"Unit sign vectors with pairwise inner products $\leq{eps:g}$")
    ax.legend(fontsize=7, loc="upper left")
    return fig


def plot_flattening(rows, lossy=None, *, axes=None):
    r"""Left: the required bits against ``n``, one line per ``d``; right: lossy caches.

    ``rows`` come from :func:`kvtheory.experiments.lowdim.flattening`: solid
    lines are :math:`(1-H_2(p))\,d\,n'` (flat once :math:`n>` code size,
    marked by a dotted vertical line at :math:`n'+1`), dashed lines the
    :math:`(1-H_2(p))\,d\,(n-1)` an unlimited code would give; open markers
    where the exact cache decoded every query. ``lossy`` (optional) comes
    from :func:`kvtheory.experiments.lowdim.lossy_on_code`: success against
    ``memory_bits / (d n')`` with the INDEX ceiling and the line
    :math:`1-H_2(p)`. ``axes`` (optional): one Axes, or two when ``lossy``
    is given, to draw into; returns the Figure.
    """
    ncols = 1 if lossy is None else 2
    fig, axes = figure_axes_grid(axes, n=ncols,
                                 width=7.0 if ncols == 1 else 10.0, height=3.8)
    ax = axes[0]
    ds = list(dict.fromkeys(r["d"] for r in rows))
    for i, d in enumerate(ds):
        rr = [r for r in rows if r["d"] == d]
        n = np.array([r["n"] for r in rr])
        col = PALETTE[i % len(PALETTE)]
        ax.plot(n, [r["unlimited_bits"] for r in rr], color=col, ls="--", lw=0.8, alpha=0.7)
        ax.plot(n, [r["required_bits"] for r in rr], color=col, lw=1.5,
                label=f"d = {d}: code of {rr[0]['code_size']} keys")
        ok = np.array([r["success"] == 1.0 for r in rr])
        ax.plot(n[ok], np.array([r["required_bits"] for r in rr])[ok], lw=0,
                marker=_MARKERS[i], ms=5, mfc="none", color=col)
        ax.axvline(rr[0]["code_size"] + 1, color=col, ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("stream length n")
    ax.set_ylabel(r"required bits $(1-H_2(p))\,d\,n'$")
    ax.set_title("The bound flattens at n = code size + 1 (dashed: unlimited code)")
    ax.legend(fontsize=7, loc="upper left")
    if lossy is not None:
        ax2 = axes[1]
        N = lossy["info_bits"]
        cc = lossy["ceiling_curve"]
        ax2.plot(cc["memory_fraction"], cc["success"], color="black", lw=1.2,
                 label=r"INDEX ceiling $1-H_2^{-1}(1-S/dn')$")
        ax2.axvline(lossy["required_fraction"], color="grey", ls="--", lw=1)
        ax2.axhline(1.0 - lossy["p"], color="grey", ls=":", lw=1)
        ax2.text(lossy["required_fraction"], 0.46, f" 1-H2({lossy['p']:g})", color="grey",
                 fontsize=7)
        for i, row in enumerate(lossy["rows"]):
            ax2.errorbar(row["memory_bits"] / N, row["success"], yerr=2 * row["stderr"],
                         marker=_MARKERS[i % len(_MARKERS)], ms=6, lw=0, elinewidth=1, capsize=2,
                         color=PALETTE[i % len(PALETTE)], label=row["label"])
        ax2.set_xscale("log")
        ax2.set_ylim(0.43, 1.04)
        ax2.set_xlabel("memory_bits / (d n')")
        ax2.set_ylabel("INDEX success")
        ax2.set_title(f"Caches on the code (d = {lossy['d']}, n' = {lossy['n_prime']})")
        ax2.legend(fontsize=6, loc="lower right")
    return fig


def plot_query_norm_budget(curve, *, ax=None):
    r"""The bound under a query-norm budget, against the stream length (the widget's figure).

    ``curve`` comes from :func:`kvtheory.experiments.lowdim.budget_curve`:
    bits the best code within the budget forces (solid), the ceiling of any
    code-based instance (dashed, Chapter 4's query-norm proposition), and the bits an unlimited
    code would force (dotted). The title reports the instance run at the
    largest ``n``. Draws into ``ax`` if given; returns the Figure.
    """
    fig, ax = figure_axes(ax, width=7.0, height=3.6)
    m = curve["m"]
    floor = 1.0
    ax.plot(m, np.maximum(curve["bits_unlimited"], floor), color=PALETTE[6], ls=":", lw=1,
            label="unlimited code: (1-H2(p)) d (n-1)")
    ax.plot(m, np.maximum(curve["bits_ceiling"], floor), color=PALETTE[1], ls="--", lw=1.2,
            label="ceiling of any code within the budget (Chapter 4's query-norm proposition)")
    ax.plot(m, np.maximum(curve["bits_achieved"], floor), color=PALETTE[0], lw=2,
            label="achieved: best code within the budget")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("stream length n")
    ax.set_ylabel("bits any algorithm must keep")
    if curve["success"] is None:
        run = "no code fits this budget"
    else:
        run = (f"{curve['code']}: n' = {curve['n_prime']}, C = {curve['C']:.3g}, "
               f"exact cache decodes {curve['success']:.2f}")
    ax.set_title(f"d = {curve['d']}, query norm <= {curve['r']:.3g}\n{run}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    return fig
