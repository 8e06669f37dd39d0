"""Figures of Chapter 5: SubGen's clusters, error rates, memory and the hard instance.

Plots only plot: every function takes records computed by
:mod:`kvtheory.experiments.subgen`, draws into the given ``ax``/``axes`` (or a
new figure in the book's style) and returns the Figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

from ._style import PALETTE, figure_axes, figure_axes_pair

__all__ = ["plot_cluster_counts", "plot_error_rates", "plot_memory_vs_n",
           "plot_index_instance", "plot_subgen_overview"]


def plot_cluster_counts(curves, *, axes=None):
    r"""Cluster count against ``n`` (left) and final count against ``d`` (right).

    Parameters
    ----------
    curves : list of dict
        Outputs of :func:`kvtheory.experiments.subgen.cluster_count_curves`;
        the first one is drawn against ``n``, all are drawn against ``d``
        with their bounds :math:`(1+2/\delta)^d` dashed.
    axes : pair of matplotlib Axes, optional
        Where to draw; default a new figure.
    """
    if isinstance(curves, dict):
        curves = [curves]
    fig, (ax1, ax2) = figure_axes_pair(axes, width=9.0, height=3.6)
    first = curves[0]
    for i, (d, counts) in enumerate(first["counts"].items()):
        ax1.plot(first["n"], counts, color=PALETTE[i % len(PALETTE)], label=f"d = {d}")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("keys n")
    ax1.set_ylabel("clusters m")
    ax1.set_title(f"uniform keys on the sphere, Δ = {first['delta']:.3g}")
    ax1.legend(ncols=2)
    for i, cur in enumerate(curves):
        ds = np.array(list(cur["counts"]))
        m = np.array([c[-1] for c in cur["counts"].values()])
        col = PALETTE[i % len(PALETTE)]
        ax2.plot(ds, m, "o-", color=col, label=f"measured, Δ = {cur['delta']:.3g}")
        ax2.plot(ds, [cur["bound"][d] for d in cur["counts"]], "--", color=col,
                 label=f"(1 + 2/Δ)^d, Δ = {cur['delta']:.3g}")
    ax2.set_yscale("log")
    ax2.set_xlabel("dimension d")
    ax2.set_ylabel(f"clusters after n = {int(first['n'][-1])} keys")
    ax2.set_title("measured counts under the packing bound")
    ax2.legend()
    return fig


def plot_error_rates(slots_rec, t_rec, *, axes=None):
    r"""Error ratio against ``s`` (left) and normaliser error against ``t`` (right), log-log.

    Parameters
    ----------
    slots_rec : dict
        From :func:`kvtheory.experiments.subgen.error_vs_slots`.
    t_rec : dict
        From :func:`kvtheory.experiments.subgen.normaliser_error_vs_t`.
    axes : pair of matplotlib Axes, optional
        Where to draw; default a new figure.
    """
    fig, (ax1, ax2) = figure_axes_pair(axes, width=9.0, height=3.6)
    s = slots_rec["slots"]
    for row in slots_rec["per_seed"]:
        ax1.plot(s, row, color=PALETTE[5], lw=0.8, alpha=0.6)
    ax1.plot(s, slots_rec["ratio"], "o-", color=PALETTE[0],
             label=f"mean over seeds (slope {slots_rec['slope']:.2f})")
    ax1.plot(s, slots_rec["ratio"][0] * np.sqrt(s[0] / s), "--", color="black", lw=1,
             label="slope −1/2")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("slots ℓ")
    ax1.set_ylabel("‖ẑ − z‖ / (‖w‖₂ ‖V‖_op)")
    ax1.set_title(f"numerator: h = {slots_rec['t']}, n = {slots_rec['n']}, d = {slots_rec['d']}")
    ax1.legend()
    t = t_rec["ts"]
    ax2.plot(t, t_rec["rel_error"], "o-", color=PALETTE[1],
             label=f"measured (slope {t_rec['slope']:.2f})")
    ax2.plot(t, t_rec["rel_error"][0] * np.sqrt(t[0] / t), "--", color="black", lw=1,
             label="slope −1/2")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("reservoir size h")
    ax2.set_ylabel("|Ẑ / Z − 1|")
    ax2.set_title("normaliser")
    ax2.legend()
    return fig


def plot_memory_vs_n(rec, *, ax=None):
    """``memory_bits()`` of SubGen and ExactCache against ``n``, crossover marked.

    Parameters
    ----------
    rec : dict
        From :func:`kvtheory.experiments.subgen.memory_vs_n`.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    """
    fig, ax = figure_axes(ax, width=7.0, height=3.6)
    ax.plot(rec["n"], rec["exact_bits"], color=PALETTE[1], label="ExactCache")
    ax.plot(rec["n"], rec["subgen_bits"], color=PALETTE[0],
            label=f"SubGen (h = {rec['t']}, ℓ = {rec['s']}, Δ = {rec['delta']:.3g})")
    if rec["crossover"] is not None:
        ax.axvline(rec["crossover"], color="grey", ls=":", lw=1,
                   label=f"crossover n = {rec['crossover']}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens n")
    ax.set_ylabel("memory_bits()")
    ax.set_title(f"clusterable keys, d = {rec['d']}: SubGen holds {int(rec['n_clusters'][-1])} "
                 "clusters at the end")
    ax.legend()
    return fig


def plot_index_instance(rows, sign_rec, *, axes=None):
    r"""SubGen on the Chapter 3 instance (left) and clusters of sign keys against ``d`` (right).

    Parameters
    ----------
    rows : list of dict
        From :func:`kvtheory.experiments.subgen.index_instance_runs`.
    sign_rec : dict
        From :func:`kvtheory.experiments.subgen.sign_key_clusters`.
    axes : pair of matplotlib Axes, optional
        Where to draw; default a new figure.
    """
    fig, (ax1, ax2) = figure_axes_pair(axes, width=9.0, height=3.6)
    deltas = sorted({r["delta"] for r in rows})
    for i, delta in enumerate(deltas):
        sel = [r for r in rows if r["delta"] == delta]
        x = [r["words_per_nd"] for r in sel]
        col = PALETTE[i % len(PALETTE)]
        ax1.errorbar(x, [r["success"] for r in sel], yerr=[2 * r["stderr"] for r in sel],
                     fmt="o", color=col, label=f"measured, Δ = {delta:.3g}")
        if delta < 1:
            ax1.plot(x, [r["predicted_given_zeros"] for r in sel], "x--", color=col, lw=1,
                     label="predicted, given the share of zero bits")
    ax1.axhline(0.5, color="grey", lw=0.8)
    ax1.set_xscale("log")
    # a log axis over less than two decades shows one labelled tick by default
    x_all = [r["words_per_nd"] for r in rows]
    ticks = [x for x in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
             if min(x_all) / 1.5 <= x <= max(x_all) * 1.5]
    ax1.xaxis.set_major_locator(FixedLocator(ticks))
    ax1.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax1.xaxis.set_minor_formatter(NullFormatter())
    ax1.set_xlabel("SubGen words / (n d)")
    ax1.set_ylabel("Bob's success rate")
    ax1.set_ylim(0.4, 1.02)
    ax1.set_title("INDEX through SubGen")
    ax1.legend(fontsize=7, loc="lower right")
    for i, (delta, frac) in enumerate(sign_rec["frac"].items()):
        ax2.plot(sign_rec["d"], frac, "o-", color=PALETTE[(i + 2) % len(PALETTE)],
                 label=f"Δ = {delta:.3g}")
    ax2.axvline(np.log2(sign_rec["n"]), color="grey", ls=":", lw=1, label="d = log₂ n")
    ax2.set_xlabel("dimension d")
    ax2.set_ylabel("clusters m / n")
    ax2.set_title(f"n = {sign_rec['n']} sign keys")
    ax2.legend()
    return fig


def plot_subgen_overview(rec, *, axes=None):
    r"""SubGen on uniform sphere keys: clusters (left) and memory (right) against ``n``.

    Parameters
    ----------
    rec : dict
        From :func:`kvtheory.experiments.subgen.subgen_overview`.
    axes : pair of matplotlib Axes, optional
        Where to draw; default a new figure.

    Left: the cluster count and the bound :math:`(1+2/\delta)^d`. Right:
    ``memory_bits()`` of SubGen and of ExactCache; the title gives the mean
    error ratio :math:`\|\hat z-z\|/(\|w\|_2\|V\|_{op})` at the end of the
    stream.
    """
    fig, (ax1, ax2) = figure_axes_pair(axes, width=9.0, height=3.6)
    grid = rec["n"]
    ax1.plot(grid, rec["n_clusters"], color=PALETTE[0], label="clusters m")
    ax1.axhline(rec["bound"], color=PALETTE[1], ls="--", label="(1 + 2/Δ)^d")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("keys n")
    ax1.set_ylabel("clusters")
    ax1.set_title(f"d = {rec['d']}, Δ = {rec['delta']:.2f}")
    ax1.legend()
    ax2.plot(grid, rec["subgen_bits"], color=PALETTE[0],
             label=f"SubGen (h = {rec['t']}, ℓ = {rec['s']})")
    ax2.plot(grid, rec["exact_bits"], color=PALETTE[1], label="ExactCache")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("tokens n")
    ax2.set_ylabel("memory_bits()")
    ax2.set_title(f"mean error ratio at n = {rec['n_total']}: {rec['mean_ratio']:.3f}")
    ax2.legend()
    return fig
