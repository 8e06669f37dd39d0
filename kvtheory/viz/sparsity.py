"""Figures of Chapter 6."""

from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_int
from ..experiments.sparsity import POLICIES, eviction_vs_budget, make_policy
from ..instances.sparsity import STREAMS, run_needle_game, top1_mass_profile
from ._style import PALETTE, new_figure

__all__ = ["plot_top1_profile", "plot_eviction_vs_budget", "plot_needle_game"]


def plot_top1_profile(n: int = 500, d: int = 128, *, seed=0, gamma: float = 0.1):
    r"""Mass off the top token at every step of the self-query hard instance.

    Plots :math:`1-\max_t w_t` at Alice's steps and at Bob's step for every
    :math:`i^*` (log scale), against the promise :math:`\gamma/(1+\gamma)`:
    a step is :math:`\gamma/(1+\gamma)`-concentrated iff its point lies
    below the line.
    """
    prof = top1_mass_profile(n, d, seed=seed, gamma=gamma)
    fig, ax = new_figure()
    floor = 1e-9                      # step 1 has no competitor: mass 0, drawn at the floor
    ax.plot(prof["steps"], np.maximum(1 - prof["top1"], floor), ".", ms=3,
            label="Alice's step t (query C k_t)")
    ax.plot(prof["steps"], np.maximum(1 - prof["bob_top1"], floor), ".", ms=3, alpha=0.6,
            label="Bob's step, query C k_i* (x = i*)")
    promise = 1 - prof["bound"]
    ax.axhline(promise, color=PALETTE[1], ls="--", lw=1.2,
               label=f"promise γ/(1+γ) = {promise:.3f}")
    ax.set_yscale("log")
    ax.set_ylim(floor / 2, 1.0)
    ax.set_xlabel("step t (or Bob's target i*)")
    ax.set_ylabel("attention mass off the top token")
    ax.set_title(f"The hard instance is 1-sparse: n = {n}, d = {d}, C = {prof['C']:.1f}")
    ax.legend(loc="lower right")
    return fig


def plot_eviction_vs_budget(budgets=(4, 8, 16, 32), n: int = 128, d: int = 16, *,
                            trials: int = 12, seed=0):
    """Needle-bit success against budget: each policy on its adversary and on the benign stream."""
    rec = eviction_vs_budget(budgets, n, d, trials=trials, seed=seed)
    b = rec["budgets"]
    fig, axes = new_figure(ncols=len(POLICIES), width=9.0, height=3.2)
    series = (("its adversary", "adversary", PALETTE[1]), ("benign stream", "benign", PALETTE[2]))
    for ax, policy in zip(axes, POLICIES, strict=True):
        for label, key, color in series:
            rate, err = rec[policy][key]
            ax.errorbar(b, rate, yerr=2 * err, marker="o", ms=4, capsize=3, color=color,
                        label=label)
        ax.axhline(1.0, color=PALETTE[6], lw=0.8, ls=":", label="exact cache")
        ax.axhline(0.5, color="grey", lw=0.8, ls="--", label="guessing")
        ax.set_xscale("log", base=2)
        ax.set_xticks(b, [str(x) for x in b])
        ax.set_ylim(0.3, 1.05)
        ax.set_xlabel("budget (tokens kept)")
        ax.set_title(f"{policy} ({POLICIES[policy].kind})")
    axes[0].set_ylabel("needle bits recovered")
    axes[0].legend(loc="center right", framealpha=0.9)
    fig.suptitle(f"Eviction policies, n = {n}, d = {d}, ±2 s.e. over {trials} streams", fontsize=10)
    return fig


def plot_needle_game(policy: str = "H2O", stream: str = "H2O adversary", budget: int = 16,
                     n: int = 128, d: int = 16, *, trials: int = 20, seed=0):
    """Which tokens a policy holds at the final query, and its needle-bit success.

    Left: held token positions (one row per trial) with the needle marked.
    Right: needle bits recovered by the policy and by the exact cache
    (±2 standard errors).
    """
    check_choice(policy, "policy", set(POLICIES))
    check_choice(stream, "stream", set(STREAMS))
    budget = check_int(budget, "budget", lo=1)
    trials = check_int(trials, "trials", lo=1, hi=200)
    fig, (ax0, ax1) = new_figure(ncols=2, width=9.0, height=3.4)
    # held positions, from a few replays of the same seeds
    rows = min(trials, 8)
    rng = np.random.default_rng(seed)
    for row in range(rows):
        st = STREAMS[stream](n, d, budget=budget, seed=int(rng.integers(2**31)))
        alg = make_policy(policy, budget)()
        for t in range(st.n):
            alg.step(st.Q[t], st.K[t], st.V[t])
        held = alg.keys
        pos = [t for t in range(st.n) if np.any(np.all(held == st.K[t], axis=1))]
        ax0.plot(pos, np.full(len(pos), row), "|", color=PALETTE[0], ms=8)
        kept = st.needle in pos
        ax0.plot([st.needle], [row], "o" if kept else "x", color=PALETTE[1], ms=7)
    ax0.set_ylim(-0.7, rows - 0.3)
    ax0.set_xlim(-2, n + 1)
    ax0.set_xlabel("token position (needle: o kept, x evicted)")
    ax0.set_ylabel("stream")
    ax0.set_title(f"tokens {policy} holds before the final query")
    res = [run_needle_game(make_policy(p, budget), stream, n, d, budget=budget, trials=trials,
                           seed=seed) for p in (policy, "exact")]
    ax1.bar([0, 1], [r.success_rate for r in res], yerr=[2 * r.stderr for r in res],
            color=[PALETTE[1], PALETTE[2]], capsize=4, width=0.6)
    ax1.set_xticks([0, 1], [f"{policy}\n{res[0].memory_bits} bits",
                            f"exact cache\n{res[1].memory_bits} bits"])
    ax1.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax1.set_ylim(0, 1.05)
    ax1.set_ylabel("needle bits recovered")
    ax1.set_title(f"{stream}, budget {budget}")
    return fig
