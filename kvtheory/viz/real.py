"""Figures of Chapter 10: real KV caches against the hard instances."""

from __future__ import annotations

import numpy as np

from .._validate import check_int
from ..experiments import real as E
from ..instances.index import sign_keys
from ._style import PALETTE, new_figure

__all__ = [
    "plot_key_spectra",
    "plot_clusters_vs_delta",
    "plot_attention_structure",
    "plot_compression",
    "plot_head_method",
]


def plot_key_spectra(kvr, *, seed=0):
    """Singular-value decay of the (centred) keys of every key/value head.

    Left: :math:`\\sigma_i/\\sigma_1` per head (grey), their median (blue),
    and the same for random sign keys of the hard instance (orange), which
    have a flat spectrum. Right: cumulative energy against the number of
    directions, with 90% and :math:`\\log_2 n` marked.
    """
    L, Hkv, n, d = kvr.K.shape
    fig, (a, b) = new_figure(2, width=8.0, height=3.4)
    idx = np.arange(1, d + 1)
    curves, cums = [], []
    for layer in range(L):
        for g in range(Hkv):
            s = E.singular_values(kvr.K[layer, g].astype(np.float64))
            curves.append(s / s[0])
            cums.append(np.cumsum(s ** 2) / np.sum(s ** 2))
    for c, e in zip(curves, cums, strict=True):
        a.semilogy(idx, c, color="0.75", lw=0.6)
        b.plot(idx, e, color="0.75", lw=0.6)
    a.semilogy(idx, np.median(curves, axis=0), color=PALETTE[0], lw=2, label="real keys, median")
    b.plot(idx, np.median(cums, axis=0), color=PALETTE[0], lw=2, label="real keys, median")
    s = E.singular_values(sign_keys(n, d, seed=seed))
    a.semilogy(idx, s / s[0], color=PALETTE[1], lw=2, label="sign keys (Ch. 3)")
    b.plot(idx, np.cumsum(s ** 2) / np.sum(s ** 2), color=PALETTE[1], lw=2,
           label="sign keys (Ch. 3)")
    b.axhline(0.9, color="k", lw=0.8, ls=":")
    b.axvline(np.log2(n), color=PALETTE[2], lw=1, ls="--", label=f"log2 n = {np.log2(n):.0f}")
    a.set_xlabel("index i")
    a.set_ylabel("sigma_i / sigma_1")
    a.set_title(f"Key spectra, {L * Hkv} heads, n = {n}")
    b.set_xlabel("directions r")
    b.set_ylabel("fraction of energy")
    b.set_title("Cumulative energy")
    a.legend(loc="lower left")
    b.legend(loc="lower right")
    return fig


def plot_clusters_vs_delta(kvr, heads, deltas=(0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0), *,
                           seed=0):
    """Threshold-clustering counts against the relative radius ``delta``.

    Real key heads (``heads``: list of ``(layer, kv_head)``) after dividing
    by their largest norm, random sign keys of the hard instance, and the
    volume bound :math:`(1+2/\\delta)^{d}` with ``d`` the head dimension
    and with ``d`` the median effective rank (both clipped by ``n``).
    """
    deltas = np.asarray(deltas, dtype=float)
    if deltas.ndim != 1 or deltas.size < 2 or np.any(deltas <= 0):
        raise ValueError("deltas must be at least two positive numbers")
    L, Hkv, n, d = kvr.K.shape
    fig, ax = new_figure(width=7.0, height=3.6)
    ranks = []
    for i, (layer, g) in enumerate(heads):
        layer = check_int(layer, "layer", lo=0, hi=L - 1)
        g = check_int(g, "kv_head", lo=0, hi=Hkv - 1)
        K = kvr.K[layer, g].astype(np.float64)
        ranks.append(E.effective_rank(K))
        counts = [E.cluster_count(K, dl) for dl in deltas]
        ax.semilogy(deltas, counts, "o-", ms=3, color=PALETTE[i % 4 + 2] if i else PALETTE[0],
                    label=f"real keys, layer {layer} kv-head {g}")
    sk = sign_keys(n, d, seed=seed)
    ax.semilogy(deltas, [E.cluster_count(sk, dl) for dl in deltas], "s-", ms=3,
                color=PALETTE[1], label="sign keys (Ch. 3)")
    r = int(np.median(ranks))
    lo_d = float(d * np.log10(1 + 2 / deltas.max()))
    lo_r = float(r * np.log10(1 + 2 / deltas.max()))
    ax.axhline(n, color="0.4", lw=0.8, ls="--")
    ax.text(deltas[0], n * 1.15, f"n = {n} (every key its own cluster)", fontsize=8, color="0.3")
    ax.text(deltas[0], 1.3, f"volume bound (1 + 2/delta)^d >= 10^{lo_d:.0f} at d = {d}, "
            f">= 10^{lo_r:.0f} at d = r = {r} (median effective rank): off the chart",
            fontsize=7, color="0.2")
    ax.set_ylim(1, 2.5 * n)
    ax.set_xlabel("delta (relative to the largest key norm)")
    ax.set_ylabel("clusters opened")
    ax.set_title("SubGen's clustering rule on real keys")
    ax.legend(fontsize=7, loc="upper right")
    return fig


def plot_attention_structure(kvr, rows, heads, *, k: int = 16, window: int = 64):
    """Sparsity and recency of real attention.

    Left: the top-``k`` mass of every query head (from :func:`head_table`
    rows) against its layer, with the mass ``k`` keys would get under
    uniform attention. Right: mean attention weight against the distance
    ``i - t`` for a few ``heads`` (``(layer, head)``), with each head's
    sink mass as a marker at distance "sink".
    """
    L, H, n, d = kvr.Q.shape
    fig, (a, b) = new_figure(2, width=8.0, height=3.4)
    layers = np.array([r.layer for r in rows])
    top = np.array([r.topk_mass for r in rows])
    a.scatter(layers, top, s=8, color=PALETTE[0], alpha=0.6, label=f"top-{k} mass, each head")
    start = min(128, n // 2)
    mean_uniform = float(np.mean([min(1.0, k / (i + 1)) for i in range(start, n)]))
    a.axhline(mean_uniform, color=PALETTE[1], ls="--", lw=1,
              label=f"uniform attention ({mean_uniform:.3f})")
    a.set_ylim(0, 1.02)
    a.set_xlabel("layer")
    a.set_ylabel(f"mass on the {k} heaviest keys")
    a.set_title("Attention is concentrated")
    a.legend(loc="lower right")
    dist = np.arange(window)
    for i, (layer, h) in enumerate(heads):
        Q, K, _ = kvr.head(layer, h)
        prof = E.attention_profile(Q, K, k=k, window=window, start=start, stride=4)
        line, = b.semilogy(dist + 1, np.maximum(prof["by_distance"], 1e-6), lw=1.2,
                           color=PALETTE[i % len(PALETTE)], label=f"layer {layer}, head {h}")
        b.plot([window * 1.5], [max(prof["sink_mass"], 1e-6)], "o", color=line.get_color())
    b.set_xscale("log")
    b.axhline(1 / n, color="0.4", lw=0.8, ls=":")
    b.set_xlabel("distance i - t + 1  (dots: weight on token 0)")
    b.set_ylabel("mean weight")
    b.set_title("Recency and the attention sink")
    b.legend(fontsize=7, loc="lower left")
    return fig


def plot_compression(real_records, index_records):
    """Error against memory on real heads (left), success on INDEX (right).

    ``real_records`` from :func:`kvtheory.experiments.real.compression_sweep`
    (median ``rel_err`` over heads per method and budget, log scale, clipped
    at 10); ``index_records`` from
    :func:`kvtheory.experiments.real.index_sweep`, with the line
    :math:`\\frac12+\\frac{B}{2n}` of a cache that keeps ``B`` of ``n``
    tokens and knows nothing about the rest.
    """
    if not real_records or not index_records:
        raise ValueError("real_records and index_records must be non-empty")
    fig, (a, b) = new_figure(2, width=9.0, height=3.8)
    methods = list(dict.fromkeys(r["method"] for r in real_records))
    markers = "os^vDP*Xh"
    for i, m in enumerate(methods):
        rs = [r for r in real_records if r["method"] == m]
        budgets = sorted({r["budget"] for r in rs})
        x = [np.median([r["fraction"] for r in rs if r["budget"] == bb]) for bb in budgets]
        y = [np.median([r["rel_err"] for r in rs if r["budget"] == bb]) for bb in budgets]
        a.loglog(x, np.clip(y, 1e-4, 10), marker=markers[i % 9], ms=4,
                 color=PALETTE[i % len(PALETTE)], label=m)
        ri = sorted((r for r in index_records if r["method"] == m), key=lambda r: r["budget"])
        b.semilogx([r["fraction"] for r in ri], [r["success"] for r in ri], marker=markers[i % 9],
                   ms=4, color=PALETTE[i % len(PALETTE)], label=m)
    a.axhline(1.0, color="0.4", lw=0.8, ls=":")
    a.set_xlabel("memory_bits / exact cache (float64)")
    a.set_ylabel("relative error of head outputs")
    a.set_title("Real heads (median over heads)")
    a.legend(fontsize=7, ncols=2, loc="lower left")
    n = index_records[0].get("n", 512)
    fr = np.geomspace(min(r["fraction"] for r in index_records), 1.0, 50)
    b.semilogx(fr, np.minimum(1.0, 0.5 + fr / 2), "k--", lw=1,
               label="1/2 + B/(2n) (keeps B of n tokens)")
    b.set_ylim(0.4, 1.05)
    b.set_xlabel("memory_bits / exact cache (float64)")
    b.set_ylabel("INDEX decoding success")
    b.set_title(f"Hard instance of Ch. 3 (n = {n}, d = 64)")
    b.legend(fontsize=7, loc="upper left")
    return fig


def plot_head_method(kvr, layer: int, head: int, method: str, budget: int, *, n: int = 384,
                     seed=0):
    """One head under one method: attention pattern (left), error over time (right).

    Left: the causal attention weights of the last 96 queries over all keys
    (log colour). Right: the per-step error :math:`\\|\\hat z_i-z_i\\|_2`
    of ``method`` at ``budget`` tokens, next to the sliding window at the
    same budget, and the norm of the exact output for scale.
    """
    n = check_int(n, "n", lo=64, hi=kvr.n)
    budget = check_int(budget, "budget", lo=8, hi=n)
    Q, K, V = kvr.head(layer, head, n=n)
    R = float(np.max(np.linalg.norm(K, axis=1)))
    W = E.causal_weights(Q[-96:], K)
    fig, (a, b) = new_figure(2, width=9.0, height=3.6)
    a.imshow(np.log10(np.maximum(W, 1e-6)), aspect="auto", cmap="viridis", vmin=-6, vmax=0,
             extent=(0, n, n, n - 96), interpolation="nearest")
    a.set_xlabel("key position t")
    a.set_ylabel("query position i")
    a.set_title(f"layer {layer}, head {head}: log10 weights")
    a.grid(False)
    start = min(64, n - 1)
    rec = E.stream_errors(E.make_method(method, budget, n=n, key_radius=R, seed=seed), Q, K, V,
                          start=start)
    win = E.stream_errors(E.make_method("sliding window", budget, n=n), Q, K, V, start=start)
    steps = np.arange(start, n)
    Z = E.causal_weights(Q[start:], K) @ V
    b.semilogy(steps, np.maximum(rec["step_err"], 1e-8), lw=1, color=PALETTE[0],
               label=f"{method}: rel. error {rec['rel_err']:.3f}, "
                     f"{rec['memory_bits'] / rec['exact_bits']:.3f} of exact bits")
    if method != "sliding window":
        b.semilogy(steps, np.maximum(win["step_err"], 1e-8), lw=1, color=PALETTE[1],
                   label=f"sliding window: rel. error {win['rel_err']:.3f}")
    b.semilogy(steps, np.linalg.norm(Z, axis=1), lw=1, color="0.5", ls=":",
               label="||z_i|| (exact output)")
    b.set_xlabel("step i")
    b.set_ylabel("||z_hat_i - z_i||")
    b.set_title(f"budget {budget} of {n} tokens")
    b.legend(fontsize=7, loc="lower right")
    return fig
