"""Figures of Chapter 6. Each takes records from :mod:`kvtheory.experiments.sparsity`."""

from __future__ import annotations

import numpy as np

from ._style import PALETTE, figure_axes, figure_axes_pair, new_figure

__all__ = ["plot_top1_profile", "plot_eviction_vs_budget", "plot_needle_game"]


def plot_top1_profile(profile: dict, *, ax=None):
    r"""Mass off the top token at every step of the self-query hard instance.

    Plots :math:`1-\max_t w_t` at Alice's steps and at Bob's step for every
    :math:`i^*` (log scale), against the promise :math:`\gamma/(1+\gamma)`:
    a step is :math:`\gamma/(1+\gamma)`-concentrated iff its point lies
    below the line.

    Parameters
    ----------
    profile : dict
        From :func:`kvtheory.experiments.sparsity.sparse_instance_summary`
        or :func:`kvtheory.instances.sparsity.top1_mass_profile` (keys
        ``steps``, ``top1``, ``bob_top1``, ``bound``, ``C``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = figure_axes(ax)
    floor = 1e-9                      # step 1 has no competitor: mass 0, drawn at the floor
    ax.plot(profile["steps"], np.maximum(1 - profile["top1"], floor), ".", ms=3,
            color=PALETTE[0], label="Alice's step t (query C k_t)")
    ax.plot(profile["steps"], np.maximum(1 - profile["bob_top1"], floor), ".", ms=3,
            alpha=0.6, color=PALETTE[2], label="Bob's step, query C k_i* (x = i*)")
    promise = 1 - profile["bound"]
    ax.axhline(promise, color=PALETTE[1], ls="--", lw=1.2,
               label=f"promise γ/(1+γ) = {promise:.3f}")
    ax.set_yscale("log")
    ax.set_ylim(floor / 2, 1.0)
    ax.set_xlabel("step t (or Bob's target i*)")
    ax.set_ylabel("attention mass off the top token")
    n = len(profile["steps"])
    ax.set_title(f"The hard instance is 1-sparse: n = {n}, C = {profile['C']:.1f} "
                 "(zero mass drawn at 1e-9)")
    ax.legend(loc="lower right")
    return fig


def plot_eviction_vs_budget(record: dict, *, axes=None):
    """Needle-bit success against budget: each method on its adversary and its benign stream.

    Parameters
    ----------
    record : dict
        From :func:`kvtheory.experiments.sparsity.eviction_vs_budget`.
    axes : sequence of matplotlib Axes, optional
        One per method in ``record["methods"]``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    keys = record["methods"]
    b = record["budgets"]
    if axes is None:
        ncols = min(3, len(keys))
        nrows = -(-len(keys) // ncols)
        fig, grid = new_figure(ncols=ncols, nrows=nrows, width=9.0, height=2.7 * nrows)
        grid = np.atleast_1d(grid).ravel()
        for ax in grid[len(keys):]:
            ax.set_visible(False)
        axes = grid[: len(keys)]
    else:
        axes = list(axes)
        if len(axes) != len(keys):
            raise ValueError(f"axes must have {len(keys)} entries, got {len(axes)}")
        fig = axes[0].figure
    series = (("its adversary", "adversary", PALETTE[1], "o"),
              ("its benign stream", "benign", PALETTE[2], "s"))
    for ax, key in zip(axes, keys, strict=True):
        rec = record[key]
        for label, role, color, marker in series:
            rate, err = rec[role]
            ax.errorbar(b, rate, yerr=2 * err, marker=marker, ms=4, capsize=3, color=color,
                        label=label)
        ax.axhline(1.0, color=PALETTE[6], lw=0.8, ls=":", label="exact cache")
        ax.axhline(0.5, color="grey", lw=0.8, ls="--", label="guessing")
        ax.set_xscale("log", base=2)
        ax.set_xticks(b, [str(x) for x in b])
        ax.set_ylim(0.3, 1.05)
        ax.set_title(f"{rec['label']} ({rec['kind']})", fontsize=9)
    for ax in axes:
        ax.set_xlabel("budget (tokens kept)")
    axes[0].set_ylabel("needle bits recovered")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8)
    fig.suptitle(f"Eviction scorers, n = {record['n']}, d = {record['d']}, "
                 f"±2 s.e. over {record['trials']} streams", fontsize=10)
    return fig


def plot_needle_game(view: dict, *, axes=None):
    """Which tokens a method holds at the final query, and its needle-bit success.

    Left: held token positions (one row per replay) with the needle marked.
    Right: needle bits recovered by the method and by the exact cache
    (±2 standard errors).

    Parameters
    ----------
    view : dict
        From :func:`kvtheory.experiments.sparsity.needle_game_view`.
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax0, ax1) = figure_axes_pair(axes, width=9.0, height=3.4)
    for row, (pos, kept) in enumerate(zip(view["held"], view["needle_held"], strict=True)):
        ax0.plot(pos, np.full(len(pos), row), "|", color=PALETTE[0], ms=8)
        ax0.plot([view["needle"]], [row], "o" if kept else "x", color=PALETTE[1], ms=7)
    rows = len(view["held"])
    ax0.set_ylim(-0.7, rows - 0.3)
    ax0.set_xlim(-2, view["n"] + 1)
    ax0.set_xlabel("token position (needle: o kept, x evicted)")
    ax0.set_ylabel("stream")
    ax0.set_title(f"tokens {view['label']} holds before the final query", fontsize=9)
    res = view["results"]
    ax1.bar([0, 1], [r.success_rate for r in res], yerr=[2 * r.stderr for r in res],
            color=[PALETTE[1], PALETTE[2]], capsize=4, width=0.6)
    ax1.set_xticks([0, 1], [f"{view['label']}\n{res[0].memory_bits} bits",
                            f"exact cache\n{res[1].memory_bits} bits"])
    ax1.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax1.set_ylim(0, 1.05)
    ax1.set_ylabel("needle bits recovered")
    ax1.set_title(f"{view['stream']}, budget {view['budget']}")
    return fig
