"""Figures of Chapter 7."""

from __future__ import annotations

import numpy as np

from .._validate import check_int
from ..communication import index_success_ceiling
from ..experiments.window import window_exactness, window_index_sweep, window_memory
from ..instances.window import window_bound_bits
from ._style import PALETTE, new_figure

__all__ = ["plot_window_memory", "plot_window_index", "plot_window_explorer"]

_COLORS = {"exact cache": PALETTE[6], "sliding window": PALETTE[0],
           "sink + window": PALETTE[2], "unmasked window": PALETTE[1]}


def _memory_axes(ax, rec, W, d):
    for name, color in _COLORS.items():
        ax.plot(rec["steps"], rec[name], color=color, lw=1.6,
                ls="--" if name == "sink + window" else "-", label=name)
    ax.axvline(W, color="grey", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("tokens n")
    ax.set_ylabel("memory_bits()")
    ax.legend(loc="lower right")


def plot_window_memory(n: int = 2000, W: int = 64, d: int = 32, *, n_sink: int = 4):
    """Measured memory of the window algorithms beside ExactCache, against ``n``."""
    rec = window_memory(n, W, d, n_sink=n_sink, every=max(1, n // 100))
    fig, ax = new_figure()
    _memory_axes(ax, rec, W, d)
    ax.set_title(f"Window algorithms stay flat after n = W = {W} (d = {d}, sinks = {n_sink})")
    return fig


def plot_window_index(W: int = 128, d: int = 32, kept=(1, 16, 32, 64, 96, 128), *,
                      trials: int = 200, seed=0):
    """In-window INDEX against ``SlidingWindow(w)``: success vs what it keeps.

    Left: success against the fraction :math:`f=(w-1)/(W-1)` of Alice's
    tokens the window holds at Bob's step, with the INDEX ceiling
    :math:`1-H_2^{-1}(1-f)` of an algorithm holding :math:`f(W-1)d` bits and
    the line :math:`\\frac12+\\frac f2`. Right: success against measured
    ``memory_bits`` (64-bit words), with the lower bound and Alice's bits.
    """
    rows = window_index_sweep(W, d, kept, trials=trials, seed=seed)
    w = np.array([r["w"] for r in rows])
    succ = np.array([r["success"] for r in rows])
    err = np.array([r["stderr"] for r in rows])
    bits = np.array([r["memory_bits"] for r in rows])
    info = rows[0]["info_bits"]
    f = (np.maximum(w, 1) - 1) / (W - 1)
    fig, (ax0, ax1) = new_figure(ncols=2, width=9.0, height=3.4)
    grid = np.linspace(0, 1, 201)
    ax0.plot(grid, index_success_ceiling(grid * info, info), color=PALETTE[1],
             label="INDEX ceiling at f·(W−1)d bits")
    ax0.plot(grid, 0.5 + grid / 2, color="grey", ls="--", lw=1, label="1/2 + f/2")
    ax0.errorbar(f, succ, yerr=2 * err, fmt="o", color=PALETTE[0], capsize=3,
                 label="SlidingWindow(w), ±2 s.e.")
    ax0.set_xlabel("fraction f of Alice's tokens in the window")
    ax0.set_ylabel("Bob's success")
    ax0.set_ylim(0.4, 1.03)
    ax0.legend(loc="lower right")
    ax0.set_title(f"model window W = {W}, d = {d}")
    ax1.errorbar(bits, succ, yerr=2 * err, fmt="o-", color=PALETTE[0], capsize=3,
                 label="SlidingWindow(w)")
    ax1.axvline(window_bound_bits(W, d), color=PALETTE[1], ls="--", lw=1.2,
                label="bound (1−H₂(0.2))(W−1)d")
    ax1.axvline(info, color=PALETTE[2], ls=":", lw=1.2, label="Alice's bits (W−1)d")
    ax1.set_xscale("log")
    ax1.set_ylim(0.4, 1.03)
    ax1.set_xlabel("memory_bits() at the hand-off")
    ax1.legend(loc="center right")
    ax1.set_title("the same runs against measured memory")
    return fig


def plot_window_explorer(n: int = 600, W: int = 32, d: int = 16, *, n_sink: int = 4, seed=0):
    """Widget view: memory against ``n`` and per-step distance to brute force."""
    n = check_int(n, "n", lo=2, hi=5000)
    W = check_int(W, "W", lo=1, hi=1024)
    d = check_int(d, "d", lo=1, hi=256)
    fig, (ax0, ax1) = new_figure(ncols=2, width=9.0, height=3.4)
    rec = window_memory(n, W, d, n_sink=n_sink, every=max(1, n // 100), seed=seed)
    _memory_axes(ax0, rec, W, d)
    ax0.set_title(f"memory, W = {W}, d = {d}")
    diffs = window_exactness(n, d, W, n_sink=n_sink, seed=seed, per_step=True)
    steps = np.arange(1, n + 1)
    for name, diff in diffs.items():
        ax1.plot(steps, np.maximum(diff, 1e-18), ".", ms=2, color=_COLORS[name],
                 label=f"{name}: max {diff.max():.0e}")
    ax1.set_yscale("log")
    ax1.set_ylim(1e-18, 1e-12)
    ax1.set_xlabel("step i")
    ax1.set_ylabel("max |stream − brute force|")
    ax1.set_title("exactness (zeros drawn at 1e-18)")
    ax1.legend(loc="upper left")
    return fig
