r"""Experiments of Chapter 10: what real KV caches look like.

Everything here works on a :class:`kvtheory.real.RealKV`, the per-layer,
per-head queries, keys and values that SmolLM2-135M computes on a text
(:func:`kvtheory.real.extract_kv`), or on plain arrays, so the measurements
can be reproduced on any model's cache. The model itself is only needed by
:func:`corpus_kv`, :func:`greedy_samples`, :func:`precision_check` and
:func:`attention_reproduction` (defined in :mod:`kvtheory.experiments.real_model`,
importable from here).

Conventions: queries are scaled by :math:`1/\sqrt d` (``RealKV.head``), so
``kv.causal_attention(Q, K, V)`` is what a head computes. Query head ``j``
reads key/value head ``j // 3``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validate import as_real_array, check_int, check_real, check_rng
from ..bench.methods import make_method
from ..memory import float_bits
from ..stream import StreamingAttention, run_stream
from .real_model import (
    DEFAULT_PROMPTS,
    attention_reproduction,
    corpus_kv,
    greedy_samples,
    precision_check,
)

__all__ = [
    "DEFAULT_PROMPTS",
    "corpus_kv",
    "greedy_samples",
    "precision_check",
    "attention_reproduction",
    "singular_values",
    "effective_rank",
    "key_spectra",
    "clusters_vs_delta",
    "attention_structure",
    "causal_weights",
    "attention_profile",
    "cluster_count",
    "HeadStats",
    "head_table",
    "summarise_table",
    "dimension_vs_log_n",
    "topk_oracle_check",
    "METHOD_KEYS",
    "stream_errors",
    "compression_sweep",
    "error_range",
    "index_sweep",
    "head_method_trace",
]

# ---------------------------------------------------------- key geometry
def singular_values(K, *, centre: bool = True) -> np.ndarray:
    r"""Singular values of the key matrix, largest first.

    With ``centre=True`` the mean key is subtracted first. Softmax ignores a
    common shift of all scores, and :math:`\langle q,k_t+c\rangle=
    \langle q,k_t\rangle+\langle q,c\rangle`, so the mean key does not affect
    any attention output: the centred spectrum is the geometry attention sees.

    For ``n >= d`` the values come from the eigenvalues of the ``d x d``
    Gram matrix, so singular values below about :math:`10^{-8}\sigma_1`
    are only accurate to that level.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.experiments.real import singular_values
    >>> K = np.outer(np.arange(1.0, 6.0), [1.0, 0.0, 0.0]) + 7.0
    >>> [f"{s:.2f}" for s in singular_values(K)]
    ['3.16', '0.00', '0.00']
    """
    K = as_real_array(K, "K", ndim=2)
    if centre:
        K = K - K.mean(axis=0)
    if K.shape[0] < K.shape[1]:
        return np.linalg.svd(K, compute_uv=False)
    ev = np.linalg.eigvalsh(K.T @ K)[::-1]        # the d x d Gram matrix: cheap for n >> d
    return np.sqrt(np.clip(ev, 0.0, None))


def effective_rank(K, *, energy: float = 0.9, centre: bool = True) -> int:
    r"""Least :math:`r` with :math:`\sum_{i\le r}\sigma_i^2\ge\text{energy}\sum_i\sigma_i^2`.

    The number of directions that hold a fraction ``energy`` of the
    (centred) keys' squared Frobenius norm.

    Raises
    ------
    ValueError
        If ``energy`` is not in (0, 1] or ``K`` is not a finite 2-D array.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.experiments.real import effective_rank
    >>> rng = np.random.default_rng(0)
    >>> K = rng.normal(size=(500, 3)) @ rng.normal(size=(3, 16))   # rank 3
    >>> effective_rank(K, energy=0.999)
    3
    """
    energy = check_real(energy, "energy", lo=0, hi=1, lo_open=True)
    s2 = singular_values(K, centre=centre) ** 2
    tot = s2.sum()
    if tot == 0:
        return 0
    return int(np.searchsorted(np.cumsum(s2) / tot, energy - 1e-12) + 1)


def cluster_count(K, delta: float, *, normalise: bool = True) -> int:
    r"""Clusters opened by SubGen's threshold rule at distance ``delta``.

    With ``normalise=True`` the keys are first divided by their largest norm
    :math:`R`, so they lie in the unit ball as in the theorems and ``delta``
    is relative to :math:`R`. Uses ``kvtheory.geometry.packing.threshold_clustering``,
    the same rule as ``kvtheory.algorithms.SubGen``.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.experiments.real import cluster_count
    >>> K = np.array([[1.0, 0.0], [0.99, 0.0], [0.0, 1.0]])
    >>> cluster_count(K, 0.1)
    2
    """
    from ..geometry.packing import threshold_clustering

    K = as_real_array(K, "K", ndim=2)
    delta = check_real(delta, "delta", lo=0, lo_open=True)
    if normalise:
        R = float(np.max(np.linalg.norm(K, axis=1)))
        K = K / R if R > 0 else K
    return threshold_clustering(K, delta).n_clusters


def key_spectra(kvr, *, seed=0) -> dict:
    r"""Centred key spectra of every key/value head, beside random sign keys.

    The data of the key-spectrum figure of Chapter 10
    (``kvtheory.viz.real.plot_key_spectra``).

    Returns
    -------
    dict
        ``ratios`` (heads x d): :math:`\sigma_i/\sigma_1` of each head's centred
        keys; ``energy`` (heads x d): cumulative fraction of
        :math:`\sum_i\sigma_i^2`; ``sign_ratios`` and ``sign_energy``: the same
        for ``n`` random sign keys of dimension ``d`` (the hard instance of
        Chapter 3, ``seed``); ``half_energy`` (per head) and
        ``sign_half_energy``: the least number of directions holding half the
        energy; ``n``, ``d`` and ``heads`` (the number of key/value heads).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from kvtheory.experiments.real import key_spectra
    >>> K = np.random.default_rng(0).normal(size=(1, 2, 50, 4))
    >>> r = key_spectra(SimpleNamespace(K=K))
    >>> r["ratios"].shape, r["sign_energy"].shape, bool(r["energy"][0, -1] > 0.999)
    ((2, 4), (4,), True)
    """
    from ..instances.index import sign_keys

    K = np.asarray(kvr.K)
    if K.ndim != 4:
        raise ValueError(f"kvr.K must have shape (layers, kv heads, n, d), got {K.shape}")
    L, Hkv, n, d = K.shape

    def spectrum(keys):
        s = singular_values(keys)
        e = np.cumsum(s ** 2) / np.sum(s ** 2)
        return s / s[0], e, int(np.searchsorted(e, 0.5 - 1e-12) + 1)

    per_head = [spectrum(K[layer, g].astype(np.float64)) for layer in range(L) for g in range(Hkv)]
    sr, se, sh = spectrum(sign_keys(n, d, seed=seed))
    return {"ratios": np.array([p[0] for p in per_head]),
            "energy": np.array([p[1] for p in per_head]),
            "half_energy": np.array([p[2] for p in per_head]),
            "sign_ratios": sr, "sign_energy": se, "sign_half_energy": sh,
            "n": n, "d": d, "heads": L * Hkv}


def clusters_vs_delta(kvr, heads, deltas=(0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0), *,
                      seed=0) -> dict:
    r"""Threshold-clustering counts of real key heads against the relative radius ``delta``.

    The data of the cluster figure of Chapter 10
    (``kvtheory.viz.real.plot_clusters_vs_delta``): for each key head
    ``(layer, kv_head)`` in ``heads`` the number of clusters
    :func:`cluster_count` opens at each ``delta`` (keys divided by their
    largest norm), the same for random sign keys of the hard instance,
    and the volume bound :math:`(1+2/\Delta)^{d}` of Chapter 4 at the largest
    ``delta``, as a power of ten, with ``d`` the head dimension and with
    ``d`` the median effective rank ``r`` of the heads.

    Returns
    -------
    dict
        ``deltas``; ``heads`` (list of ``(layer, kv_head)``); ``counts``
        (heads x deltas); ``sign_counts``; ``n``; ``d``; ``rank`` (median
        effective rank, integer); ``log10_volume_d`` and ``log10_volume_r``.

    Raises
    ------
    ValueError
        If ``deltas`` is not at least two positive numbers or a head is out of range.
    """
    from ..instances.index import sign_keys

    deltas = np.asarray(deltas, dtype=float)
    if deltas.ndim != 1 or deltas.size < 2 or np.any(~np.isfinite(deltas)) or np.any(deltas <= 0):
        raise ValueError("deltas must be at least two positive numbers")
    L, Hkv, n, d = np.shape(kvr.K)
    hs, counts, ranks = [], [], []
    for layer, g in heads:
        layer = check_int(layer, "layer", lo=0, hi=L - 1)
        g = check_int(g, "kv_head", lo=0, hi=Hkv - 1)
        K = kvr.K[layer, g].astype(np.float64)
        hs.append((layer, g))
        ranks.append(effective_rank(K))
        counts.append([cluster_count(K, dl) for dl in deltas])
    if not hs:
        raise ValueError("heads must name at least one (layer, kv_head)")
    sk = sign_keys(n, d, seed=seed)
    r = int(np.median(ranks))
    per_dim = float(np.log10(1 + 2 / deltas.max()))
    return {"deltas": deltas, "heads": hs, "counts": np.array(counts),
            "sign_counts": np.array([cluster_count(sk, dl) for dl in deltas]),
            "n": n, "d": d, "rank": r, "log10_volume_d": d * per_dim,
            "log10_volume_r": r * per_dim}


# ------------------------------------------------------ attention weights
def causal_weights(Q, K) -> np.ndarray:
    """The causal attention matrix ``W[i, t]`` (zero for ``t > i``), float64.

    With fewer queries ``m`` than keys ``n``, row ``i`` is the query at
    position ``n - m + i`` (the last ``m`` positions); use this to score a
    suffix, or pass positions explicitly via :func:`attention_profile`.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.experiments.real import causal_weights
    >>> W = causal_weights(np.zeros((3, 2)), np.zeros((3, 2)))
    >>> W.round(3).tolist()
    [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.333, 0.333, 0.333]]
    """
    Q = as_real_array(Q, "Q", ndim=2)
    K = as_real_array(K, "K", ndim=2, shape=(None, Q.shape[1]))
    m, n = Q.shape[0], K.shape[0]
    if m > n:
        raise ValueError(f"Q must have at most {n} rows (one per key), got {m}")
    return _weights_at(Q, K, np.arange(n - m, n))


def _weights_at(Q, K, positions) -> np.ndarray:
    """Softmax of ``Q @ K.T`` with row ``i`` seeing keys ``t <= positions[i]``."""
    S = Q @ K.T
    S[positions[:, None] < np.arange(K.shape[0])[None, :]] = -np.inf   # causal mask
    S -= S.max(axis=1, keepdims=True)
    np.exp(S, out=S)
    S /= S.sum(axis=1, keepdims=True)
    return S


def attention_profile(Q, K, *, k: int = 16, window: int = 64, start: int = 128,
                      stride: int = 1) -> dict:
    r"""Sparsity and recency of one head's causal attention.

    Averages over query positions ``i = start, start + stride, ...``
    (0-based), where at least ``start + 1`` keys are visible:

    * ``topk_mass``: mass on the ``k`` heaviest keys;
    * ``recent_mass``: mass on the last ``window`` keys (``t > i - window``);
    * ``sink_mass``: mass on the first token;
    * ``by_distance``: mean weight at distance ``i - t`` for ``0 <= i - t < window``;
    * ``entropy_ratio``: mean entropy of the weights over :math:`\ln(i+1)`;
    * ``score_spread``: mean of :math:`\max_t s_{it}-\mathrm{mean}_t s_{it}`
      over visible keys, the realised counterpart of the norm budget
      :math:`\|q\|\,\|k\|`.

    Raises
    ------
    ValueError
        If ``start`` is not below the number of tokens, or ``k``/``window`` < 1.
    """
    Q = as_real_array(Q, "Q", ndim=2)
    K = as_real_array(K, "K", ndim=2, shape=(Q.shape[0], Q.shape[1]))
    n = Q.shape[0]
    k = check_int(k, "k", lo=1)
    window = check_int(window, "window", lo=1)
    start = check_int(start, "start", lo=0, hi=n - 1)
    stride = check_int(stride, "stride", lo=1)
    rows = np.arange(start, n, stride)
    S = Q[rows] @ K.T
    vis = rows[:, None] >= np.arange(n)[None, :]
    mean_s = np.sum(np.where(vis, S, 0.0), axis=1) / (rows + 1)
    spread = float(np.mean(np.max(np.where(vis, S, -np.inf), axis=1) - mean_s))
    W = _weights_at(Q[rows], K, rows)
    top = -np.partition(-W, min(k, n) - 1, axis=1)[:, :k]
    dist = rows[:, None] - np.arange(n)[None, :]
    recent = (dist >= 0) & (dist < window)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.sum(np.where(W > 0, W * np.log(W), 0.0), axis=1)
    r = np.arange(rows.size)
    by_dist = np.empty(window)
    for j in range(window):
        ok = rows - j >= 0
        by_dist[j] = np.mean(W[r[ok], rows[ok] - j]) if ok.any() else 0.0
    return {
        "topk_mass": float(np.mean(top.sum(axis=1))),
        "recent_mass": float(np.mean(np.sum(W * recent, axis=1))),
        "sink_mass": float(np.mean(W[:, 0])),
        "by_distance": by_dist,
        "entropy_ratio": float(np.mean(ent / np.log(rows + 1))),
        "score_spread": spread,
    }


# ---------------------------------------------------------- the head table
@dataclass(frozen=True)
class HeadStats:
    """One row of the per-head table (one query head and the key head it reads)."""

    layer: int
    head: int
    kv_head: int
    eff_rank: int          # centred keys, 90% energy
    clusters: int          # threshold clustering of keys / R at delta
    topk_mass: float
    recent_mass: float
    sink_mass: float
    entropy_ratio: float
    score_spread: float    # mean over queries of max - mean visible score
    key_radius: float      # R = max ||k||
    query_radius: float    # r = max ||q|| / sqrt(d)


def head_table(kvr, *, delta: float = 0.5, k: int = 16, window: int = 64,
               start: int = 128, stride: int = 4, layers=None) -> list[HeadStats]:
    """Per query head statistics of a :class:`kvtheory.real.RealKV`.

    Key statistics (effective rank, clusters at relative distance ``delta``,
    key radius) are computed once per key/value head and repeated for its
    query heads; attention statistics use every ``stride``-th query position
    from ``start`` on (:func:`attention_profile`). ``layers`` restricts the
    layers (default: all).
    """
    L, H, n, d = kvr.Q.shape
    Hkv = kvr.K.shape[1]
    layers = range(L) if layers is None else [check_int(x, "layers", lo=0, hi=L - 1)
                                              for x in layers]
    delta = check_real(delta, "delta", lo=0, lo_open=True)
    rows = []
    for layer in layers:
        kstats = {}
        for g in range(Hkv):
            K = kvr.K[layer, g].astype(np.float64)
            kstats[g] = (effective_rank(K), cluster_count(K, delta),
                         float(np.max(np.linalg.norm(K, axis=1))))
        for h in range(H):
            Q, K, _ = kvr.head(layer, h)
            g = h // (H // Hkv)
            prof = attention_profile(Q, K, k=k, window=window, start=start, stride=stride)
            rows.append(HeadStats(layer, h, g, kstats[g][0], kstats[g][1],
                                  prof["topk_mass"], prof["recent_mass"], prof["sink_mass"],
                                  prof["entropy_ratio"], prof["score_spread"], kstats[g][2],
                                  float(np.max(np.linalg.norm(Q, axis=1)))))
    return rows


def summarise_table(rows) -> dict:
    """Quartiles (25%, 50%, 75%), min and max of each numeric column of :func:`head_table`."""
    if not rows:
        raise ValueError("rows must be a non-empty list of HeadStats")
    cols = ["eff_rank", "clusters", "topk_mass", "recent_mass", "sink_mass",
            "entropy_ratio", "score_spread", "key_radius", "query_radius"]
    out = {}
    for c in cols:
        x = np.array([getattr(r, c) for r in rows], dtype=float)
        out[c] = {"min": float(x.min()), "q25": float(np.quantile(x, 0.25)),
                  "median": float(np.median(x)), "q75": float(np.quantile(x, 0.75)),
                  "max": float(x.max())}
    return out


def attention_structure(kvr, rows, heads, *, k: int = 16, window: int = 64,
                        stride: int = 4) -> dict:
    r"""The data of Chapter 10's attention-structure figure.

    ``rows`` are :func:`head_table` rows (their ``layer`` and ``topk_mass``);
    ``heads`` a few ``(layer, head)`` whose recency profile is measured with
    :func:`attention_profile` from position ``min(128, n // 2)`` on.

    Returns
    -------
    dict
        ``layers`` and ``topk_mass`` (one entry per row); ``uniform_topk``,
        the mean mass ``k`` keys get under uniform attention over the same
        positions; ``profiles``: one dict per head with ``layer``, ``head``,
        ``by_distance`` (mean weight at distance ``0..window-1``) and
        ``sink_mass``; ``k``, ``window`` and ``n``.
    """
    if not rows:
        raise ValueError("rows must be a non-empty list of HeadStats")
    n = int(np.shape(kvr.Q)[2])
    k = check_int(k, "k", lo=1)
    window = check_int(window, "window", lo=1)
    start = min(128, n // 2)
    profiles = []
    for layer, h in heads:
        Q, K, _ = kvr.head(layer, h)
        prof = attention_profile(Q, K, k=k, window=window, start=start, stride=stride)
        profiles.append({"layer": layer, "head": h, "by_distance": prof["by_distance"],
                         "sink_mass": prof["sink_mass"]})
    return {"layers": np.array([r.layer for r in rows]),
            "topk_mass": np.array([r.topk_mass for r in rows]),
            "uniform_topk": float(np.mean([min(1.0, k / (i + 1)) for i in range(start, n)])),
            "profiles": profiles, "k": k, "window": window, "n": n}


def dimension_vs_log_n(n: int, d: int = 64, *, eps: float = 0.5, delta: float = 0.1,
                       gamma: float = 0.1) -> dict:
    r"""Where a head dimension ``d`` sits against :math:`\log n` and the space barrier's conditions.

    The space-barrier theorem of Chapter 3 needs the Hoeffding dimension
    :math:`d\ge\frac{2}{\kappa^2}\ln\frac n\delta`; its first-moment
    refinement (also Chapter 3) needs only :math:`\mathbb E\Lambda\le\gamma\delta`
    at the instance's query scale :math:`C` (``kvtheory.instances.index``).

    Returns
    -------
    dict
        ``ln_n``, ``d_over_ln_n``; ``hoeffding_d`` (real, unrounded) and
        ``hoeffding_d_int`` (the least integer dimension); ``n_max``, the
        largest :math:`n` for which ``d`` meets the Hoeffding condition
        (:math:`n\le\delta e^{\kappa^2 d/2}`); ``first_moment_d``, the
        least dimension meeting the first-moment condition; ``hoeffding_ok``
        and ``first_moment_ok`` for this ``d``; ``C``, the hard instance's
        query scale :math:`\frac{\ln n+\ln(1/\gamma)}{1-\varepsilon}`.

    Examples
    --------
    >>> from kvtheory.experiments.real import dimension_vs_log_n
    >>> r = dimension_vs_log_n(1000, 64)
    >>> f"{r['d_over_ln_n']:.2f} {r['hoeffding_d']:.1f} {r['n_max']}"
    '9.26 73.7 298'
    >>> r["hoeffding_ok"], r["first_moment_d"], r["first_moment_ok"], f"{r['C']:.2f}"
    (False, 23, True, '18.42')
    """
    from ..instances.index import default_C, first_moment_d, hoeffding_d

    n = check_int(n, "n", lo=2)
    d = check_int(d, "d", lo=1)
    eps = check_real(eps, "eps", lo=0, hi=1, lo_open=True, hi_open=True)
    delta = check_real(delta, "delta", lo=0, hi=1, lo_open=True, hi_open=True)
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    d_fm = first_moment_d(n, gamma=gamma, delta=delta, eps=eps)
    d_h = hoeffding_d(n, eps=eps, delta=delta)
    return {"ln_n": math.log(n), "d_over_ln_n": d / math.log(n),
            "hoeffding_d": 2 / eps ** 2 * math.log(n / delta), "hoeffding_d_int": d_h,
            "n_max": int(math.floor(delta * math.exp(eps ** 2 * d / 2))),
            "first_moment_d": d_fm, "hoeffding_ok": d >= d_h, "first_moment_ok": d >= d_fm,
            "C": default_C(n, gamma=gamma, eps=eps)}


def topk_oracle_check(kvr, heads, *, k: int = 16, start: int = 128, stride: int = 4) -> dict:
    r"""Check the mass bound of Chapter 10 on real heads with the top-``k`` oracle set.

    For each query position :math:`i` (every ``stride``-th from ``start``)
    of each ``(layer, head)``, let :math:`S_i` be the ``k`` keys of largest
    weight, :math:`\beta_i=1-w(S_i)` the mass outside, and :math:`\hat z_i`
    attention over :math:`S_i` alone. The proposition predicts
    :math:`\|z_i-\hat z_i\|\le\beta_i\max_{t\notin S_i}\|v_t-\hat z_i\|`
    (and :math:`\le 2\beta_i\max_t\|v_t\|`).

    Returns
    -------
    dict
        ``checks`` (query positions checked), ``violations`` of the first
        bound (beyond a relative rounding slack of 1e-9), ``max_ratio`` of
        error to the first bound, ``mean_beta``, and ``mean_rel_err``
        :math:`\|z_i-\hat z_i\|/\|z_i\|` averaged over checks.
    """
    k = check_int(k, "k", lo=1)
    checks = violations = 0
    ratios, betas, rels = [], [], []
    for layer, h in heads:
        Q, K, V = kvr.head(layer, h)
        n = Q.shape[0]
        rows = np.arange(check_int(start, "start", lo=0, hi=n - 1), n,
                         check_int(stride, "stride", lo=1))
        W = _weights_at(Q[rows], K, rows)
        idx = np.argpartition(-W, k - 1, axis=1)[:, :k]
        keep = np.zeros_like(W, dtype=bool)
        np.put_along_axis(keep, idx, True, axis=1)
        mass = np.sum(W * keep, axis=1)
        Z = W @ V
        Zhat = ((W * keep) @ V) / mass[:, None]
        err = np.linalg.norm(Z - Zhat, axis=1)
        # max over visible t outside S of ||v_t - zhat_i||
        d2 = (np.sum(V * V, axis=1)[None, :] - 2 * Zhat @ V.T
              + np.sum(Zhat * Zhat, axis=1)[:, None])
        vis = rows[:, None] >= np.arange(n)[None, :]
        far = np.sqrt(np.max(np.where(vis & ~keep, np.maximum(d2, 0.0), 0.0), axis=1))
        bound = (1 - mass) * far
        violations += int(np.sum(err > bound * (1 + 1e-9) + 1e-12))
        checks += rows.size
        ok = bound > 0
        ratios.append(np.max(err[ok] / bound[ok]) if ok.any() else 0.0)
        betas.append(1 - mass)
        rels.append(err / np.maximum(np.linalg.norm(Z, axis=1), 1e-300))
    return {"checks": checks, "violations": violations, "max_ratio": float(np.max(ratios)),
            "mean_beta": float(np.mean(np.concatenate(betas))),
            "mean_rel_err": float(np.mean(np.concatenate(rels)))}


# ------------------------------------------------- compression on real caches
#: The methods of this chapter, as keys of the one registry :data:`kvtheory.bench.METHODS`
#: (labels in ``METHODS[key].display``, the meaning of a token budget in
#: ``METHODS[key].tokens_meaning``); built with :func:`kvtheory.bench.make_method`.
METHOD_KEYS = ("window", "sink", "h2o", "tova", "highnorm", "reservoir", "quant", "subgen")


def stream_errors(algorithm: StreamingAttention, Q, K, V, *, start: int = 0,
                  seps_every: int = 16) -> dict:
    r"""Stream ``(Q[i], K[i], V[i])`` through ``algorithm`` with ``step`` and score it.

    Every token is stepped (so query-aware methods see every query); from
    step ``start`` on, the output :math:`\hat z_i` is compared with exact
    causal attention :math:`z_i`.

    Returns
    -------
    dict
        ``rel_err``: the relative error of the whole output matrix,
        :math:`\bigl(\sum_i\|\hat z_i-z_i\|_2^2/\sum_i\|z_i\|_2^2\bigr)^{1/2}`
        over the scored steps; ``step_err``: :math:`\|\hat z_i-z_i\|_2` per
        scored step; ``s_eps``: the mean of SubGen's ratio
        :math:`\|\hat z_i-z_i\|_2/(\|w_i\|_2\|V_{\le i}\|_{op})` over every
        ``seps_every``-th scored step; ``memory_bits`` after the last step;
        ``exact_bits``, the float64 exact cache's bits for the same stream.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.experiments.real import stream_errors
    >>> rng = np.random.default_rng(0)
    >>> Q, K, V = rng.normal(size=(3, 40, 4))
    >>> r = stream_errors(kv.ExactCache(), Q, K, V, start=10)
    >>> bool(r["rel_err"] < 1e-12), r["memory_bits"] == r["exact_bits"]
    (True, True)
    """
    if not isinstance(algorithm, StreamingAttention):
        raise TypeError(f"algorithm must be a StreamingAttention, got {type(algorithm).__name__}")
    Q = as_real_array(Q, "Q", ndim=2)
    K = as_real_array(K, "K", ndim=2, shape=Q.shape)
    V = as_real_array(V, "V", ndim=2)
    n = Q.shape[0]
    if V.shape[0] != n:
        raise ValueError(f"V must have {n} rows like Q, got {V.shape[0]}")
    start = check_int(start, "start", lo=0, hi=n - 1)
    seps_every = check_int(seps_every, "seps_every", lo=1)
    rows = np.arange(start, n)
    W = _weights_at(Q[start:], K, rows)
    Z = W @ V
    Zhat = run_stream(algorithm, Q, K, V)[start:]       # every token stepped
    err = np.linalg.norm(Zhat - Z, axis=1)
    den = float(np.sqrt(np.sum(Z * Z)))
    rel = float(np.sqrt(np.sum(err ** 2)) / den) if den > 0 else float(np.sqrt(np.sum(err ** 2)))
    pick = np.arange(0, n - start, seps_every)
    ratios = []
    for j in pick:                      # ||V||_op from the d x d Gram matrix (cheap)
        Vp = V[: rows[j] + 1]
        op = math.sqrt(max(float(np.linalg.eigvalsh(Vp.T @ Vp)[-1]), 0.0))
        ratios.append(err[j] / (np.linalg.norm(W[j]) * op) if op > 0 else 0.0)
    return {"rel_err": rel, "step_err": err, "s_eps": float(np.mean(ratios)),
            "memory_bits": int(algorithm.memory_bits()),
            "exact_bits": int(2 * n * K.shape[1] * float_bits(np.float64) + 64)}


def compression_sweep(kvr, heads, methods=METHOD_KEYS, budgets=(32, 64, 128), *,
                      n: int = 512, start: int = 128, seed=0) -> list[dict]:
    """Run each method at each budget on each ``(layer, head)`` of a RealKV.

    Returns one record per (head, method, budget) with ``rel_err`` and
    ``s_eps`` (see :func:`stream_errors`), ``memory_bits`` and ``fraction``
    (of the float64 exact cache's bits).
    """
    rng = check_rng(seed)
    n = check_int(n, "n", lo=16, hi=kvr.n)
    out = []
    for layer, h in heads:
        Q, K, V = kvr.head(layer, h, n=n)
        R = float(np.max(np.linalg.norm(K, axis=1)))
        for m in methods:
            for b in budgets:
                alg = make_method(m, b, n=n, d=K.shape[1], d_v=V.shape[1], key_radius=R,
                                  seed=rng)
                rec = stream_errors(alg, Q, K, V, start=start)
                out.append({"layer": layer, "head": h, "method": m, "budget": b,
                            "rel_err": rec["rel_err"], "s_eps": rec["s_eps"],
                            "memory_bits": rec["memory_bits"],
                            "fraction": rec["memory_bits"] / rec["exact_bits"]})
    return out


def error_range(records) -> list[dict]:
    """Spread of the relative error over heads, per method and budget.

    ``records`` from :func:`compression_sweep`. Returns one dict per
    ``(method, budget)`` in order of first appearance, with ``min``,
    ``median`` and ``max`` of ``rel_err`` over the heads and ``worst``, the
    ``(layer, head)`` where the maximum is reached (the first such head on
    ties).

    Examples
    --------
    >>> from kvtheory.experiments.real import error_range
    >>> recs = [{"layer": 0, "head": h, "method": "m", "budget": 8, "rel_err": e}
    ...         for h, e in enumerate([0.1, 0.5, 0.2])]
    >>> r = error_range(recs)[0]
    >>> r["min"], r["median"], r["max"], r["worst"]
    (0.1, 0.2, 0.5, (0, 1))
    """
    recs = list(records)
    if not recs:
        raise ValueError("records must be a non-empty list of compression_sweep records")
    out = []
    for m, b in dict.fromkeys((r["method"], r["budget"]) for r in recs):
        rs = [r for r in recs if r["method"] == m and r["budget"] == b]
        e = np.array([r["rel_err"] for r in rs], dtype=float)
        j = int(np.argmax(e))
        out.append({"method": m, "budget": b, "min": float(e.min()),
                    "median": float(np.median(e)), "max": float(e.max()),
                    "worst": (rs[j]["layer"], rs[j]["head"]), "heads": len(rs)})
    return out


def index_sweep(methods=METHOD_KEYS, budgets=(32, 64, 128), *, n: int = 512,
                d: int = 64, trials: int = 100, seed=0) -> list[dict]:
    r"""The same methods and budgets on Chapter 3's hard instance (INDEX through attention).

    Alice streams ``n`` tokens with random sign keys in dimension ``d`` and
    0/1 values; Bob's query :math:`Ck_{i^*}` asks for one bit
    (``kvtheory.instances.index.run_index_protocol``). Returns one record per
    (method, budget) with ``success`` (decoding rate), ``memory_bits``,
    ``fraction`` of the float64 exact cache's bits, and ``ceiling`` (the
    information-theoretic ceiling at that memory).
    """
    from ..instances.index import run_index_protocol

    n = check_int(n, "n", lo=16)
    d = check_int(d, "d", lo=1)
    trials = check_int(trials, "trials", lo=1)
    rng = check_rng(seed)
    exact_bits = 2 * n * d * 64 + 64
    out = []
    for m in methods:
        for b in budgets:
            alg_seed = int(rng.integers(0, 2**31))
            res = run_index_protocol(
                lambda m=m, b=b, s=alg_seed: make_method(m, b, n=n, d=d, key_radius=1.0,
                                                         seed=s),
                n, d, trials=trials, seed=int(rng.integers(0, 2**31)))
            out.append({"method": m, "budget": b, "n": n, "success": res.success_rate,
                        "memory_bits": res.memory_bits,
                        "fraction": res.memory_bits / exact_bits, "ceiling": res.ceiling})
    return out


def head_method_trace(kvr, layer: int, head: int, method: str, budget: int, *, n: int = 384,
                      seed=0, last: int = 96) -> dict:
    r"""One head under one method, the data of Chapter 10's widget.

    Streams the first ``n`` tokens of query head ``(layer, head)`` through
    ``method`` at ``budget`` tokens and through the sliding window at the
    same budget (:func:`stream_errors`, scored from step ``min(64, n - 1)``).

    Returns
    -------
    dict
        ``weights``: the causal attention weights of the last ``last``
        queries over all ``n`` keys; ``steps``; ``step_err`` and
        ``window_err`` (per-step errors of the method and of the window,
        whose name is ``reference``);
        ``z_norm``: :math:`\|z_i\|` of the exact output; ``rel_err``,
        ``window_rel_err``, ``fraction`` (memory over the float64 exact
        cache); ``layer``, ``head``, ``method``, ``budget``, ``n``.
    """
    n = check_int(n, "n", lo=64, hi=kvr.n)
    budget = check_int(budget, "budget", lo=8, hi=n)
    last = check_int(last, "last", lo=1, hi=n)
    Q, K, V = kvr.head(layer, head, n=n)
    R = float(np.max(np.linalg.norm(K, axis=1)))
    start = min(64, n - 1)
    d, d_v = K.shape[1], V.shape[1]
    rec = stream_errors(make_method(method, budget, n=n, d=d, d_v=d_v, key_radius=R, seed=seed),
                        Q, K, V, start=start)
    ref = "window"                      # the reference method, at the same budget
    win = stream_errors(make_method(ref, budget, n=n, d=d, d_v=d_v), Q, K, V, start=start)
    return {"weights": causal_weights(Q[-last:], K), "steps": np.arange(start, n),
            "step_err": rec["step_err"], "window_err": win["step_err"],
            "z_norm": np.linalg.norm(causal_weights(Q[start:], K) @ V, axis=1),
            "rel_err": rec["rel_err"], "window_rel_err": win["rel_err"],
            "fraction": rec["memory_bits"] / rec["exact_bits"],
            "layer": layer, "head": head, "method": method, "reference": ref,
            "budget": budget, "n": n}
