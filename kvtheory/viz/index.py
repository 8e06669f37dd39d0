"""Figures of Chapter 3: decoding against d, coherence against Hoeffding, the barrier plot.

Drawing only: every number comes from :mod:`kvtheory.experiments.index`.
"""

from __future__ import annotations

import numpy as np

from ._style import PALETTE, figure_axes, figure_axes_pair

__all__ = ["plot_decode_vs_d", "plot_coherence", "plot_barrier", "plot_budget"]

_MARKERS = ["o", "s", "^", "v", "D", "P", "X", "*"]


def plot_decode_vs_d(records, *, ax=None):
    r"""Decode accuracy of the exact cache against ``d``, one line per ``n``.

    ``records`` are outputs of :func:`kvtheory.experiments.index.decode_vs_d`.
    Vertical lines mark, in each line's colour, :math:`\log_2 n` (dotted), the
    first-moment :math:`d` of Chapter 3's first-moment refinement (dash-dot)
    and the Hoeffding :math:`d` of its space-barrier theorem (dashed); the thin
    step line is the first-moment guarantee :math:`1-\mathbb E\Lambda`. ``ax``: an
    optional Axes to draw into. Returns the Figure.
    """
    fig, ax = figure_axes(ax, width=7.0, height=3.6)
    for i, rec in enumerate(records):
        col = PALETTE[i % len(PALETTE)]
        ax.errorbar(rec["ds"], rec["success"], yerr=rec["stderr"], marker=_MARKERS[i], ms=4,
                    color=col, capsize=2, label=f"ExactCache, n = {rec['n']:,}")
        ax.plot(rec["ds"], rec["guarantee"], color=col, lw=0.8, alpha=0.6, ls="-",
                drawstyle="steps-mid", label=f"guarantee 1 - E Λ, n = {rec['n']:,}")
        ax.axvline(rec["log2n"], color=col, ls=":", lw=1)
        ax.axvline(rec["first_moment_d"], color=col, ls="-.", lw=1)
        ax.axvline(rec["hoeffding_d"], color=col, ls="--", lw=1)
        ax.text(rec["hoeffding_d"], 0.52 + 0.05 * i, f" Hoeffding {rec['hoeffding_d']}",
                color=col, fontsize=7)
        ax.text(rec["first_moment_d"], 0.62 + 0.05 * i, f" 1st moment {rec['first_moment_d']}",
                color=col, fontsize=7)
        ax.text(rec["log2n"], 0.42 + 0.05 * i, f" log2 n = {rec['log2n']:.1f}", color=col,
                fontsize=7)
    ax.set_ylim(0.4, 1.03)
    ax.set_xlim(0, max(r["hoeffding_d"] for r in records) + 15)
    ax.set_xlabel("key dimension d")
    ax.set_ylabel("decode success")
    ax.set_title("Exact attention decodes INDEX long before the union-bound d")
    ax.legend(loc="lower center", bbox_to_anchor=(0.52, 0.02))
    return fig


def plot_coherence(records, labels=None, *, ax=None):
    r"""Measured maximum inner product against the Hoeffding + union-bound level.

    ``records`` are outputs of :func:`kvtheory.experiments.index.coherence_vs_d`.
    For each: the mean of the measured maxima (markers), their
    :math:`(1-\delta)`-quantile (open markers) and the predicted level (line).
    ``ax``: an optional Axes to draw into. Returns the Figure.
    """
    fig, ax = figure_axes(ax, width=7.0, height=3.6)
    for i, rec in enumerate(records):
        col = PALETTE[i % len(PALETTE)]
        side = "|rho|" if rec["two_sided"] else "rho"
        lab = labels[i] if labels else f"{rec['kind']} keys, {rec['pairs']}, max {side}"
        ax.plot(rec["ds"], rec["mean"], marker=_MARKERS[i], ms=4, lw=0, color=col,
                label=f"{lab}: mean")
        ax.plot(rec["ds"], rec["quantile"], marker=_MARKERS[i], ms=6, lw=0, color=col,
                mfc="none", label=f"{lab}: {1 - rec['delta']:.0%} quantile")
        ax.plot(rec["ds"], rec["prediction"], color=col, lw=1, ls="--")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("key dimension d")
    ax.set_ylabel("max inner product")
    ax.set_title(r"Measured coherence (markers) vs $\sqrt{2\ln(E/\delta)/d}$ (dashed), "
                 f"n = {records[0]['n']:,}")
    ax.legend(fontsize=7)
    return fig


def plot_barrier(records, ceiling, *, ax=None):
    r"""The barrier plot: success against ``memory_bits / (n d)`` for every cache.

    ``records`` come from :func:`kvtheory.experiments.index.run_barrier` and
    ``ceiling`` from :func:`kvtheory.experiments.index.barrier_ceiling` (same
    ``n`` and ``d``). The black curve is the ceiling
    :math:`1-H_2^{-1}(\max(0,1-S/nd))` (``ax.lines[0]``); error bars are
    :math:`\pm2` standard errors; the cross is the space-barrier theorem's
    point. ``ax``: an optional Axes to draw into. Returns the Figure.
    """
    if not isinstance(ceiling, dict) or "ceiling" not in ceiling:
        raise TypeError("ceiling must be the dict of experiments.index.barrier_ceiling()")
    n, d = ceiling["n"], ceiling["d"]
    fig, ax = figure_axes(ax, width=7.4, height=4.2)
    ax.plot(ceiling["bits_per_nd"], ceiling["ceiling"], color="black", lw=1.5,
            label=r"ceiling $1-H_2^{-1}(\max(0,1-S/nd))$")
    ax.axvline(1.0, color="grey", ls=":", lw=1)
    ax.text(1.05, 0.47, "S = nd", color="grey", fontsize=7)
    families = list(dict.fromkeys(r["cache"] for r in records))
    for i, fam in enumerate(families):
        rows = [r for r in records if r["cache"] == fam]
        xs = np.array([r["bits_per_nd"] for r in rows])
        ys = np.array([r["success"] for r in rows])
        es = np.array([2 * r["stderr"] for r in rows])
        big = fam.startswith("sign-bit (tight)") or fam.startswith("exact")
        col = ("#000000" if fam.startswith("sign-bit (tight)") else
               "#888888" if fam.startswith("exact") else PALETTE[i % len(PALETTE)])
        ax.errorbar(xs, ys, yerr=es, lw=0, elinewidth=1, capsize=2,
                    marker="*" if big else _MARKERS[i % len(_MARKERS)], ms=13 if big else 6,
                    mec="black" if big else col, color=col, label=fam, zorder=3)
    x_thm, y_thm = ceiling["theorem_bits_per_nd"], ceiling["theorem_success"]
    ax.plot([x_thm], [y_thm], marker="x", color="black", ms=7, lw=0, zorder=4,
            label=rf"theorem: ${x_thm:.3f}\,nd$ bits for error ${1 - y_thm:.1f}$")
    ax.set_xscale("log")
    ax.set_xlim(0.05, 300)
    ax.set_ylim(0.43, 1.04)
    ax.set_xlabel("memory_bits / (n d)")
    ax.set_ylabel("INDEX success")
    ax.set_title(f"Every cache under the ceiling (n = {n:,}, d = {d}, nd = {n * d:,} bits)")
    ax.legend(fontsize=7, loc="lower right", ncols=2)
    return fig


def plot_budget(result, *, axes=None):
    """Widget figure: the caches at one budget (left) and exact-attention weights (right).

    ``result`` comes from :func:`kvtheory.experiments.index.barrier_at_budget`.
    ``axes``: an optional pair of Axes to draw into. Returns the Figure.
    """
    fig, (ax, ax2) = figure_axes_pair(axes, width=8.0, height=3.4)
    recs = result["records"]
    pos = np.arange(len(recs))
    ax.bar(pos, [r["success"] for r in recs], yerr=[2 * r["stderr"] for r in recs],
           color=[PALETTE[i % len(PALETTE)] for i in range(len(recs))], capsize=2)
    ax.plot(pos, [r["ceiling"] for r in recs], "k_", ms=20, mew=2, label="ceiling at its bits")
    ax.set_xticks(pos, [f"{r['cache']}\n{r['budget']}\n{r['bits_per_nd']:.2f} nd" for r in recs],
                  fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("INDEX success")
    ax.set_title(f"budget {result['budget']:.2f} nd, n = {result['n']}, d = {result['d']}, "
                 f"C = {result['C']:.1f}")
    ax.legend(fontsize=7, loc="lower left")
    gamma = result["gamma"]
    ax2.hist(result["weights"], bins=np.linspace(0, 1, 41), color=PALETTE[0])
    ax2.axvline(1 / (1 + gamma), color="black", ls="--", lw=1,
                label=rf"$1/(1+\gamma)$, $\gamma={gamma:g}$")
    ax2.axvline(0.5, color="grey", ls=":", lw=1, label=r"$\tau=1/2$")
    ax2.set_xlabel(r"exact weight $w_{i^*}$ on Bob's token")
    ax2.set_ylabel("targets")
    ax2.set_title(f"{result['share_above']:.0%} of targets have $w\\geq 1/(1+\\gamma)$")
    ax2.legend(fontsize=7)
    return fig
