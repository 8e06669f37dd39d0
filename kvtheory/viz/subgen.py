"""Figures of Chapter 5: SubGen's clusters, error rates, memory and the hard instance."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter, ScalarFormatter

from .._validate import check_int, check_real, check_rng
from ..algorithms.subgen import SubGen
from ..attention import softmax
from ..stream import ExactCache
from ._style import PALETTE, new_figure

__all__ = ["plot_cluster_counts", "plot_error_rates", "plot_memory_vs_n",
           "plot_index_instance", "plot_subgen_overview"]


def plot_cluster_counts(curves):
    r"""Cluster count against ``n`` (left) and final count against ``d`` (right).

    Parameters
    ----------
    curves : list of dict
        Outputs of :func:`kvtheory.experiments.subgen.cluster_count_curves`;
        the first one is drawn against ``n``, all are drawn against ``d``
        with their bounds :math:`(1+2/\delta)^d` dashed.
    """
    if isinstance(curves, dict):
        curves = [curves]
    fig, (ax1, ax2) = new_figure(2, width=9.0, height=3.6)
    first = curves[0]
    for i, (d, counts) in enumerate(first["counts"].items()):
        ax1.plot(first["n"], counts, color=PALETTE[i % len(PALETTE)], label=f"d = {d}")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("keys n")
    ax1.set_ylabel("clusters m")
    ax1.set_title(f"uniform keys on the sphere, δ = {first['delta']:.3g}")
    ax1.legend(ncols=2)
    for i, cur in enumerate(curves):
        ds = np.array(list(cur["counts"]))
        m = np.array([c[-1] for c in cur["counts"].values()])
        col = PALETTE[i % len(PALETTE)]
        ax2.plot(ds, m, "o-", color=col, label=f"measured, δ = {cur['delta']:.3g}")
        ax2.plot(ds, (1 + 2 / cur["delta"]) ** ds, "--", color=col,
                 label=f"(1 + 2/δ)^d, δ = {cur['delta']:.3g}")
    ax2.set_yscale("log")
    ax2.set_xlabel("dimension d")
    ax2.set_ylabel(f"clusters after n = {int(first['n'][-1])} keys")
    ax2.set_title("measured counts under the packing bound")
    ax2.legend()
    return fig


def plot_error_rates(slots_rec, t_rec):
    r"""Error ratio against ``s`` (left) and normaliser error against ``t`` (right), log-log.

    Parameters
    ----------
    slots_rec : dict
        From :func:`kvtheory.experiments.subgen.error_vs_slots`.
    t_rec : dict
        From :func:`kvtheory.experiments.subgen.normaliser_error_vs_t`.
    """
    fig, (ax1, ax2) = new_figure(2, width=9.0, height=3.6)
    s = slots_rec["slots"]
    for row in slots_rec["per_seed"]:
        ax1.plot(s, row, color=PALETTE[5], lw=0.8, alpha=0.6)
    ax1.plot(s, slots_rec["ratio"], "o-", color=PALETTE[0],
             label=f"mean over seeds (slope {slots_rec['slope']:.2f})")
    ax1.plot(s, slots_rec["ratio"][0] * np.sqrt(s[0] / s), "--", color="black", lw=1,
             label="slope −1/2")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("slots s")
    ax1.set_ylabel("‖ẑ − z‖ / (‖w‖₂ ‖V‖_op)")
    ax1.set_title(f"numerator: t = {slots_rec['t']}, n = {slots_rec['n']}, d = {slots_rec['d']}")
    ax1.legend()
    t = t_rec["ts"]
    ax2.plot(t, t_rec["rel_error"], "o-", color=PALETTE[1],
             label=f"measured (slope {t_rec['slope']:.2f})")
    ax2.plot(t, t_rec["rel_error"][0] * np.sqrt(t[0] / t), "--", color="black", lw=1,
             label="slope −1/2")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("reservoir size t")
    ax2.set_ylabel("|Ẑ / Z − 1|")
    ax2.set_title("normaliser")
    ax2.legend()
    return fig


def plot_memory_vs_n(rec):
    """``memory_bits()`` of SubGen and ExactCache against ``n``, crossover marked.

    Parameters
    ----------
    rec : dict
        From :func:`kvtheory.experiments.subgen.memory_vs_n`.
    """
    fig, ax = new_figure(width=7.0, height=3.6)
    ax.plot(rec["n"], rec["exact_bits"], color=PALETTE[1], label="ExactCache")
    ax.plot(rec["n"], rec["subgen_bits"], color=PALETTE[0],
            label=f"SubGen (t = {rec['t']}, s = {rec['s']}, δ = {rec['delta']:.3g})")
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


def plot_index_instance(rows, sign_rec):
    r"""SubGen on the Chapter 3 instance (left) and clusters of sign keys against ``d`` (right).

    Parameters
    ----------
    rows : list of dict
        From :func:`kvtheory.experiments.subgen.index_instance_runs`.
    sign_rec : dict
        From :func:`kvtheory.experiments.subgen.sign_key_clusters`.
    """
    fig, (ax1, ax2) = new_figure(2, width=9.0, height=3.6)
    deltas = sorted({r["delta"] for r in rows})
    for i, delta in enumerate(deltas):
        sel = [r for r in rows if r["delta"] == delta]
        x = [r["words_per_nd"] for r in sel]
        col = PALETTE[i % len(PALETTE)]
        ax1.errorbar(x, [r["success"] for r in sel], yerr=[2 * r["stderr"] for r in sel],
                     fmt="o", color=col, label=f"measured, δ = {delta:.3g}")
        if delta < 1:
            ax1.plot(x, [r["predicted"] for r in sel], "x--", color=col, lw=1,
                     label="predicted (one cluster per key)")
    ax1.axhline(0.5, color="grey", lw=0.8)
    ax1.set_xscale("log")
    ax1.xaxis.set_minor_formatter(NullFormatter())
    ax1.xaxis.set_major_formatter(ScalarFormatter())
    ax1.set_xlabel("SubGen words / (n d)")
    ax1.set_ylabel("Bob's success rate")
    ax1.set_ylim(0.4, 1.02)
    ax1.set_title("INDEX through SubGen")
    ax1.legend(fontsize=7)
    for i, (delta, frac) in enumerate(sign_rec["frac"].items()):
        ax2.plot(sign_rec["d"], frac, "o-", color=PALETTE[(i + 2) % len(PALETTE)],
                 label=f"δ = {delta:.3g}")
    ax2.axvline(np.log2(sign_rec["n"]), color="grey", ls=":", lw=1, label="d = log₂ n")
    ax2.set_xlabel("dimension d")
    ax2.set_ylabel("clusters m / n")
    ax2.set_title(f"n = {sign_rec['n']} sign keys")
    ax2.legend()
    return fig


def plot_subgen_overview(d: int = 4, delta: float = 0.5, t: int = 16, s: int = 128,
                         n: int = 2000, seed=0):
    r"""SubGen on uniform sphere keys and Gaussian values: clusters and memory against ``n``.

    Left: the cluster count and the bound :math:`(1+2/\delta)^d`. Right:
    ``memory_bits()`` of SubGen and of ExactCache; the title gives the mean
    error ratio :math:`\|\hat z-z\|/(\|w\|_2\|V\|_{op})` over five queries of
    norm 2 at the end of the stream.

    Raises
    ------
    ValueError
        If a parameter is outside the widget's bounds (``d <= 12``,
        ``n <= 10000``, ``t <= 256``, ``s <= 4096``).
    """
    d = check_int(d, "d", lo=1, hi=12)
    delta = check_real(delta, "delta", lo=0.0, lo_open=True, hi=4.0)
    t = check_int(t, "t", lo=1, hi=256)
    s = check_int(s, "s", lo=1, hi=4096)
    n = check_int(n, "n", lo=10, hi=10_000)
    rng = check_rng(seed)
    g = rng.standard_normal((n, d))
    K = g / np.linalg.norm(g, axis=1, keepdims=True)
    V = rng.standard_normal((n, d))
    alg = SubGen(delta=delta, t=t, s=s, seed=rng)
    exact = ExactCache()
    grid = np.unique(np.geomspace(1, n, 30).astype(np.int64))
    m, sb, eb = [], [], []
    gi = 0
    for i in range(n):
        alg.append(K[i], V[i])
        exact.append(K[i], V[i])
        if i + 1 == grid[gi]:
            m.append(alg.n_clusters)
            sb.append(alg.memory_bits())
            eb.append(exact.memory_bits())
            gi += 1
    op = np.linalg.norm(V, 2)
    ratios = []
    for _ in range(5):
        q = rng.standard_normal(d)
        q *= 2.0 / np.linalg.norm(q)
        w = softmax(K @ q)
        ratios.append(np.linalg.norm(alg.attend(q) - w @ V) / (np.linalg.norm(w) * op))
    fig, (ax1, ax2) = new_figure(2, width=9.0, height=3.6)
    ax1.plot(grid, m, color=PALETTE[0], label="clusters m")
    ax1.axhline((1 + 2 / delta) ** d, color=PALETTE[1], ls="--", label="(1 + 2/δ)^d")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("keys n")
    ax1.set_ylabel("clusters")
    ax1.set_title(f"d = {d}, δ = {delta:.2f}")
    ax1.legend()
    ax2.plot(grid, sb, color=PALETTE[0], label=f"SubGen (t = {t}, s = {s})")
    ax2.plot(grid, eb, color=PALETTE[1], label="ExactCache")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("tokens n")
    ax2.set_ylabel("memory_bits()")
    ax2.set_title(f"mean error ratio at n = {n}: {np.mean(ratios):.3f}")
    ax2.legend()
    return fig
