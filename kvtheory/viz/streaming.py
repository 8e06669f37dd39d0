"""Figures of Chapter 1 (drawing only; the data come from :mod:`kvtheory.experiments.streaming`)."""

from __future__ import annotations

from ._style import PALETTE, figure_axes

__all__ = ["plot_exact_memory", "plot_cache_vs_weights"]


def plot_exact_memory(records, *, ax=None):
    """Measured ``memory_bits()`` of :class:`~kvtheory.ExactCache` against ``n``.

    One set of markers per head dimension, with the words-based formula
    ``2 n d b`` drawn dashed over the measurements.

    Parameters
    ----------
    records : sequence of dict
        From :func:`kvtheory.experiments.streaming.exact_memory_curves`
        (keys ``steps``, ``bits``, ``formula``, ``d``, ``bits_per_number``).
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        ``ax.lines[2 i]`` holds the measurements of record ``i`` and
        ``ax.lines[2 i + 1]`` its formula.

    Raises
    ------
    TypeError, ValueError
        If ``records`` is empty or its elements are not such records.
    """
    records = list(records)
    if not records:
        raise ValueError("records must not be empty")
    for rec in records:
        if not isinstance(rec, dict) or not {"steps", "bits", "formula", "d"} <= set(rec):
            raise TypeError("records must be the dicts of "
                            "experiments.streaming.exact_memory_curves()")
    fig, ax = figure_axes(ax)
    for i, rec in enumerate(records):
        color = PALETTE[i % len(PALETTE)]
        ax.plot(rec["steps"], rec["bits"], marker="o", ms=3, lw=0, color=color,
                label=f"measured, d = {rec['d']}")
        ax.plot(rec["steps"], rec["formula"], "--", color=color, lw=1,
                label=f"2·n·d·b, d = {rec['d']}")
    bits = sorted({rec["bits_per_number"] for rec in records})
    ax.set_xlabel("tokens n")
    ax.set_ylabel("memory_bits()")
    ax.set_title("Exact KV cache at b = " + ", ".join(map(str, bits)) + " bits per number")
    ax.legend(ncols=2)
    return fig


def plot_cache_vs_weights(records, *, ax=None):
    """KV-cache size against context length, with each model's weight size drawn beside it.

    Log-log axes in gigabytes (``1e9`` bytes). The solid line of a model is its
    exact cache for one sequence; the dashed line of the same colour is its
    weights at the same precision; a marker shows where the two are equal.

    Parameters
    ----------
    records : sequence of dict
        From :func:`kvtheory.experiments.streaming.cache_vs_weights`.
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        ``ax.lines[3 i]`` is the cache of record ``i``, ``ax.lines[3 i + 1]``
        its weights and ``ax.lines[3 i + 2]`` the crossing marker.

    Raises
    ------
    TypeError, ValueError
        If ``records`` is empty or its elements are not such records.
    """
    records = list(records)
    if not records:
        raise ValueError("records must not be empty")
    keys = {"name", "n", "cache_bytes", "weight_bytes", "n_equal", "bits_per_number"}
    for rec in records:
        if not isinstance(rec, dict) or not keys <= set(rec):
            raise TypeError("records must be the dicts of "
                            "experiments.streaming.cache_vs_weights()")
    fig, ax = figure_axes(ax)
    gb = 1e9
    for i, rec in enumerate(records):
        color = PALETTE[i % len(PALETTE)]
        n = rec["n"]
        ax.plot(n, rec["cache_bytes"] / gb, color=color, lw=2,
                label=f"{rec['name']}: KV cache")
        ax.plot([n[0], n[-1]], [rec["weight_bytes"] / gb] * 2, "--", color=color, lw=1,
                label=f"{rec['name']}: weights")
        ax.plot([rec["n_equal"]], [rec["weight_bytes"] / gb], "o", color=color, ms=5)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("context length n (tokens)")
    bits = sorted({rec["bits_per_number"] for rec in records})
    ax.set_ylabel(f"gigabytes at {'/'.join(map(str, bits))}-bit numbers")
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    return fig
