"""Figures of Chapter 10: real KV caches against the hard instances.

Every function only plots: it takes the records computed by
:mod:`kvtheory.experiments.real` and returns the Figure. Two-panel figures
accept ``axes=None`` (a pair of the reader's own Axes), one-panel figures
``ax=None``.
"""

from __future__ import annotations

import numpy as np

from ._style import PALETTE, figure_axes, figure_axes_pair

__all__ = [
    "plot_key_spectra",
    "plot_clusters_vs_delta",
    "plot_attention_structure",
    "plot_compression",
    "plot_head_method",
]


def _label(method: str) -> str:
    """The display label of a registry key (:data:`kvtheory.bench.METHODS`), else the key."""
    from ..bench import METHODS

    spec = METHODS.get(method)
    return spec.display if spec is not None else str(method)


def _need(data, keys, what: str) -> None:
    if not isinstance(data, dict):
        raise TypeError(f"{what} must be the dict returned by "
                        f"kvtheory.experiments.real.{what}, got {type(data).__name__}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(f"{what} lacks the keys {missing}")


def plot_key_spectra(spectra, *, axes=None):
    """Singular-value decay of the (centred) keys of every key/value head.

    Parameters
    ----------
    spectra : dict
        From :func:`kvtheory.experiments.real.key_spectra`.
    axes : pair of matplotlib Axes, optional
        Draw into these (left, right) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        Left: :math:`\\sigma_i/\\sigma_1` per head (grey), their median (blue),
        and the same for random sign keys of the hard instance (orange),
        which have a flat spectrum. Right: cumulative energy against the
        number of directions, with 90% and :math:`\\log_2 n` marked.
    """
    _need(spectra, ("ratios", "energy", "sign_ratios", "sign_energy", "n", "d", "heads"),
          "key_spectra")
    n, d = spectra["n"], spectra["d"]
    fig, (a, b) = figure_axes_pair(axes, width=8.0, height=3.4)
    idx = np.arange(1, d + 1)
    for c, e in zip(spectra["ratios"], spectra["energy"], strict=True):
        a.semilogy(idx, c, color="0.75", lw=0.6)
        b.plot(idx, e, color="0.75", lw=0.6)
    a.semilogy(idx, np.median(spectra["ratios"], axis=0), color=PALETTE[0], lw=2,
               label="real keys, median")
    b.plot(idx, np.median(spectra["energy"], axis=0), color=PALETTE[0], lw=2,
           label="real keys, median")
    a.semilogy(idx, spectra["sign_ratios"], color=PALETTE[1], lw=2, label="sign keys (Ch. 3)")
    b.plot(idx, spectra["sign_energy"], color=PALETTE[1], lw=2, label="sign keys (Ch. 3)")
    b.axhline(0.9, color="k", lw=0.8, ls=":")
    b.axvline(np.log2(n), color=PALETTE[2], lw=1, ls="--", label=f"log2 n = {np.log2(n):.0f}")
    a.set_xlabel("index i")
    a.set_ylabel("sigma_i / sigma_1")
    a.set_title(f"Key spectra, {spectra['heads']} heads, n = {n}")
    b.set_xlabel("directions r")
    b.set_ylabel("fraction of energy")
    b.set_title("Cumulative energy")
    a.legend(loc="lower left")
    b.legend(loc="lower right")
    return fig


def plot_clusters_vs_delta(clusters, *, ax=None):
    """Threshold-clustering counts against the relative radius ``delta``.

    Parameters
    ----------
    clusters : dict
        From :func:`kvtheory.experiments.real.clusters_vs_delta`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Real key heads after dividing by their largest norm, random sign
        keys of the hard instance, the line ``n`` (every key its own
        cluster), and the volume bound :math:`(1+2/\\delta)^{d}` (with ``d``
        the head dimension and the median effective rank) stated in text,
        since it is far off the chart.
    """
    _need(clusters, ("deltas", "heads", "counts", "sign_counts", "n", "d", "rank",
                     "log10_volume_d", "log10_volume_r"), "clusters_vs_delta")
    deltas, n, d = clusters["deltas"], clusters["n"], clusters["d"]
    fig, ax = figure_axes(ax, width=7.0, height=3.6)
    for i, ((layer, g), counts) in enumerate(zip(clusters["heads"], clusters["counts"],
                                                 strict=True)):
        ax.semilogy(deltas, counts, "o-", ms=3, color=PALETTE[i % 4 + 2] if i else PALETTE[0],
                    label=f"real keys, layer {layer} kv-head {g}")
    ax.semilogy(deltas, clusters["sign_counts"], "s-", ms=3, color=PALETTE[1],
                label="sign keys (Ch. 3)")
    ax.axhline(n, color="0.4", lw=0.8, ls="--")
    ax.text(deltas[0], n * 1.15, f"n = {n} (every key its own cluster)", fontsize=8, color="0.3")
    ax.text(deltas[0], 1.3, f"volume bound (1 + 2/Δ)^d >= 10^{clusters['log10_volume_d']:.0f}"
            f" at d = {d},\n>= 10^{clusters['log10_volume_r']:.0f} at d = r = {clusters['rank']}"
            " (median effective rank): off the chart", fontsize=7, color="0.2")
    ax.set_ylim(1, 2.5 * n)
    ax.set_xlabel("radius Δ (relative to the largest key norm)")
    ax.set_ylabel("clusters opened")
    ax.set_title("SubGen's clustering rule on real keys")
    ax.legend(fontsize=7, loc="upper right")
    return fig


def plot_attention_structure(structure, *, axes=None):
    """Sparsity and recency of real attention.

    Parameters
    ----------
    structure : dict
        From :func:`kvtheory.experiments.real.attention_structure`.
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Left: the top-``k`` mass of every query head against its layer,
        with the mass ``k`` keys would get under uniform attention. Right:
        mean attention weight against the distance ``i - t`` for a few
        heads, with each head's sink mass as a dot at the right.
    """
    _need(structure, ("layers", "topk_mass", "uniform_topk", "profiles", "k", "window", "n"),
          "attention_structure")
    k, window, n = structure["k"], structure["window"], structure["n"]
    fig, (a, b) = figure_axes_pair(axes, width=8.0, height=3.4)
    a.scatter(structure["layers"], structure["topk_mass"], s=8, color=PALETTE[0], alpha=0.6,
              label=f"top-{k} mass, each head")
    u = structure["uniform_topk"]
    a.axhline(u, color=PALETTE[1], ls="--", lw=1, label=f"uniform attention ({u:.3f})")
    a.set_ylim(0, 1.02)
    a.set_xlabel("layer")
    a.set_ylabel(f"mass on the {k} heaviest keys")
    a.set_title("Attention is concentrated")
    a.legend(loc="lower right")
    dist = np.arange(window)
    for i, prof in enumerate(structure["profiles"]):
        line, = b.semilogy(dist + 1, np.maximum(prof["by_distance"], 1e-6), lw=1.2,
                           color=PALETTE[i % len(PALETTE)],
                           label=f"layer {prof['layer']}, head {prof['head']}")
        b.plot([window * 1.5], [max(prof["sink_mass"], 1e-6)], "o", color=line.get_color())
    b.set_xscale("log")
    b.axhline(1 / n, color="0.4", lw=0.8, ls=":")
    b.set_xlabel("distance i - t + 1  (dots: weight on token 0)")
    b.set_ylabel("mean weight")
    b.set_title("Recency and the attention sink")
    b.legend(fontsize=7, loc="lower left")
    return fig


def plot_compression(real_records, index_records, *, axes=None):
    """Error against memory on real heads (left), success on INDEX (right).

    Parameters
    ----------
    real_records : list of dict
        From :func:`kvtheory.experiments.real.compression_sweep`; the left
        panel shows the median ``rel_err`` and ``fraction`` over heads per
        method and budget (log scale, clipped at 10).
    index_records : list of dict
        From :func:`kvtheory.experiments.real.index_sweep`; the right panel
        adds the line :math:`\\frac12+\\frac{B}{2n}` of a cache that keeps
        ``B`` of ``n`` tokens and knows nothing about the rest.
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not real_records or not index_records:
        raise ValueError("real_records and index_records must be non-empty")
    fig, (a, b) = figure_axes_pair(axes, width=6.7, height=5.0)
    methods = list(dict.fromkeys(r["method"] for r in real_records))
    markers = "os^vDP*Xh"
    for i, m in enumerate(methods):
        rs = [r for r in real_records if r["method"] == m]
        budgets = sorted({r["budget"] for r in rs})
        x = [np.median([r["fraction"] for r in rs if r["budget"] == bb]) for bb in budgets]
        y = [np.median([r["rel_err"] for r in rs if r["budget"] == bb]) for bb in budgets]
        a.loglog(x, np.clip(y, 1e-4, 10), marker=markers[i % 9], ms=4,
                 color=PALETTE[i % len(PALETTE)], label=_label(m))
        ri = sorted((r for r in index_records if r["method"] == m), key=lambda r: r["budget"])
        b.semilogx([r["fraction"] for r in ri], [r["success"] for r in ri], marker=markers[i % 9],
                   ms=4, color=PALETTE[i % len(PALETTE)])
    a.axhline(1.0, color="0.4", lw=0.8, ls=":")
    a.set_xlabel("memory / exact cache")
    a.set_ylabel("relative error of head outputs")
    a.set_title("Real heads (median)")
    n = index_records[0].get("n", 512)
    fr = np.geomspace(min(r["fraction"] for r in index_records), 1.0, 50)
    b.semilogx(fr, np.minimum(1.0, 0.5 + fr / 2), "k--", lw=1,
               label="1/2 + B/(2n): keeps B of n tokens")
    b.set_ylim(0.4, 1.05)
    b.set_xlabel("memory / exact cache")
    b.set_ylabel("INDEX decoding success")
    b.set_title(f"INDEX (n = {n}, d = 64)")
    # one legend for both panels, below them (inside either panel it hid the data)
    handles = a.get_legend_handles_labels()[0] + b.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
    return fig


def plot_head_method(trace, *, axes=None):
    """One head under one method: attention pattern (left), error over time (right).

    Parameters
    ----------
    trace : dict
        From :func:`kvtheory.experiments.real.head_method_trace`.
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Left: the causal attention weights of the last queries over all
        keys (log colour). Right: the per-step error
        :math:`\\|\\hat z_i-z_i\\|_2` of the method, next to the sliding
        window at the same budget, and the norm of the exact output for scale.
    """
    _need(trace, ("weights", "steps", "step_err", "window_err", "z_norm", "rel_err",
                  "window_rel_err", "fraction", "layer", "head", "method", "reference",
                  "budget", "n"),
          "head_method_trace")
    n, W = trace["n"], trace["weights"]
    fig, (a, b) = figure_axes_pair(axes, width=9.0, height=3.6)
    a.imshow(np.log10(np.maximum(W, 1e-6)), aspect="auto", cmap="viridis", vmin=-6, vmax=0,
             extent=(0, n, n, n - W.shape[0]), interpolation="nearest")
    a.set_xlabel("key position t")
    a.set_ylabel("query position i")
    a.set_title(f"layer {trace['layer']}, head {trace['head']}: log10 weights")
    a.grid(False)
    steps, method = trace["steps"], trace["method"]
    b.semilogy(steps, np.maximum(trace["step_err"], 1e-8), lw=1, color=PALETTE[0],
               label=f"{_label(method)}: rel. error {trace['rel_err']:.3f}, "
                     f"{trace['fraction']:.3f} of exact bits")
    if method != trace["reference"]:
        b.semilogy(steps, np.maximum(trace["window_err"], 1e-8), lw=1, color=PALETTE[1],
                   label=f"{_label(trace['reference'])}: rel. error {trace['window_rel_err']:.3f}")
    b.semilogy(steps, trace["z_norm"], lw=1, color="0.5", ls=":", label="||z_i|| (exact output)")
    b.set_xlabel("step i")
    b.set_ylabel("||z_hat_i - z_i||")
    b.set_title(f"budget {trace['budget']} of {n} tokens")
    b.legend(fontsize=7, loc="lower right")
    return fig
