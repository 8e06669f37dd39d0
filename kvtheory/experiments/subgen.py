r"""Experiments of Chapter 5: SubGen's clusters, error, memory, and the hard instance.

Every runner streams tokens through the real algorithm
(:class:`~kvtheory.algorithms.SubGen`) or through the same greedy clustering
rule (:func:`threshold_cluster_counts`, a block-vectorised replay of the rule
that gives the same cluster count) and returns plain records.
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import as_real_array, check_int, check_real, check_rng
from ..algorithms.subgen import SubGen
from ..attention import softmax
from ..instances.index import run_index_protocol
from ..stream import ExactCache

__all__ = [
    "uniform_sphere_keys",
    "clusterable_stream",
    "threshold_cluster_counts",
    "cluster_count_table",
    "cluster_count_curves",
    "error_vs_slots",
    "error_at_budgets",
    "normaliser_error_vs_t",
    "memory_vs_n",
    "index_instance_runs",
    "predicted_index_success",
    "sign_key_clusters",
]


def uniform_sphere_keys(n: int, d: int, *, seed=0) -> np.ndarray:
    r"""``n`` i.i.d. keys uniform on the unit sphere :math:`S^{d-1}`.

    Examples
    --------
    >>> from kvtheory.experiments.subgen import uniform_sphere_keys
    >>> K = uniform_sphere_keys(5, 3, seed=0)
    >>> K.shape, bool(abs(K[0] @ K[0] - 1) < 1e-12)
    ((5, 3), True)
    """
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    g = check_rng(seed).standard_normal((n, d))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def clusterable_stream(n: int, d: int, *, n_centres: int = 30, noise: float = 0.02,
                       seed=0) -> tuple[np.ndarray, np.ndarray]:
    r"""Keys near ``n_centres`` planted unit centres, and Gaussian values.

    Key :math:`i` is :math:`c_{J_i}+\sigma g_i` with :math:`J_i` uniform,
    :math:`c_j` uniform on :math:`S^{d-1}`, :math:`g_i\sim N(0,I_d)` and
    :math:`\sigma=` ``noise``; values are standard normal.

    Returns
    -------
    K, V : numpy.ndarray, shape (n, d)

    Examples
    --------
    >>> from kvtheory.experiments.subgen import clusterable_stream
    >>> K, V = clusterable_stream(100, 4, n_centres=3, seed=0)
    >>> K.shape, V.shape
    ((100, 4), (100, 4))
    """
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    n_centres = check_int(n_centres, "n_centres", lo=1)
    noise = check_real(noise, "noise", lo=0.0)
    rng = check_rng(seed)
    C = uniform_sphere_keys(n_centres, d, seed=rng)
    K = C[rng.integers(0, n_centres, size=n)] + noise * rng.standard_normal((n, d))
    V = rng.standard_normal((n, d))
    return K, V


def threshold_cluster_counts(keys, delta: float, checkpoints=None, *,
                             block: int = 512) -> np.ndarray:
    r"""Number of clusters the greedy threshold rule has opened after each checkpoint.

    The rule is SubGen's (Lemma 4.6): a key opens a cluster iff it is more
    than ``delta`` from every centre. Keys are processed in blocks: distances
    from a whole block to the existing centres are one matrix product, and
    only the keys far from all of them (the candidates) are replayed one by
    one against the centres opened inside the block. The count equals
    :attr:`SubGen.n_clusters` on the same keys.

    Parameters
    ----------
    keys : array_like, shape (n, d)
    delta : float
        Threshold, ``>= 0``.
    checkpoints : array_like of int, optional
        Increasing prefix lengths in ``1..n``; default ``[n]``.
    block : int
        Block length (performance only).

    Returns
    -------
    numpy.ndarray of int
        The cluster count after each checkpoint.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.experiments.subgen import threshold_cluster_counts
    >>> K = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> threshold_cluster_counts(K, 0.5, [2, 4]).tolist()
    [1, 3]
    """
    K = as_real_array(keys, "keys", ndim=2)
    n, d = K.shape
    if n == 0:
        raise ValueError("keys must hold at least one key")
    delta2 = check_real(delta, "delta", lo=0.0) ** 2
    block = check_int(block, "block", lo=1)
    cps = (np.array([n]) if checkpoints is None
           else np.asarray(as_real_array(checkpoints, "checkpoints", ndim=1), dtype=np.int64))
    if cps.size == 0 or np.any(np.diff(cps) <= 0) or cps[0] < 1 or cps[-1] > n:
        raise ValueError(f"checkpoints must be increasing integers in 1..{n}")
    C = np.zeros((64, d))
    sq = np.zeros(64)
    m = 0
    out = np.empty(cps.size, dtype=np.int64)
    bounds = np.unique(np.concatenate([np.arange(0, n, block), cps, [n]]))
    ci = 0
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        X = K[lo:hi]
        xx = np.einsum("ij,ij->i", X, X)
        if m:
            far = (np.min(sq[:m][None, :] - 2.0 * (X @ C[:m].T), axis=1) + xx) > delta2
        else:
            far = np.ones(hi - lo, dtype=bool)
        m0 = m
        for i in np.flatnonzero(far):
            x = X[i]
            if m > m0 and np.min(sq[m0:m] - 2.0 * (C[m0:m] @ x)) + xx[i] <= delta2:
                continue
            if m == C.shape[0]:
                C = np.concatenate([C, np.zeros_like(C)])
                sq = np.concatenate([sq, np.zeros_like(sq)])
            C[m] = x
            sq[m] = xx[i]
            m += 1
        while ci < cps.size and cps[ci] == hi:
            out[ci] = m
            ci += 1
    return out


def cluster_count_table(curves) -> list[dict]:
    r"""Final cluster counts against :math:`(1+2/\delta)^d`, from :func:`cluster_count_curves`.

    Parameters
    ----------
    curves : dict or list of dict
        Outputs of :func:`cluster_count_curves` (one per ``delta``).

    Returns
    -------
    list of dict
        One record per ``(delta, d)``: ``m`` after all ``n`` keys, the
        packing ``bound`` of Lemma 4.6(a) with :math:`R=1`, and ``n``.

    Examples
    --------
    >>> from kvtheory.experiments.subgen import cluster_count_curves, cluster_count_table
    >>> rows = cluster_count_table(cluster_count_curves(ds=(2,), delta=0.5, n=2000))
    >>> rows[0]["m"] <= rows[0]["bound"]
    True
    """
    if isinstance(curves, dict):
        curves = [curves]
    rows = []
    for cur in curves:
        if not isinstance(cur, dict) or "counts" not in cur:
            raise TypeError("curves must be outputs of cluster_count_curves")
        for d, counts in cur["counts"].items():
            rows.append({"d": d, "delta": cur["delta"], "n": int(cur["n"][-1]),
                         "m": int(counts[-1]), "bound": cur["bound"][d]})
    return rows


def cluster_count_curves(ds=(2, 3, 4, 5, 6, 7, 8), delta: float = 0.5, *, n: int = 20_000,
                         points: int = 25, seed=0) -> dict:
    r"""Cluster count against the number of keys, for uniform keys on :math:`S^{d-1}`.

    The same ``seed`` gives the same keys for every ``delta``.

    Returns
    -------
    dict
        ``{"n": grid, "delta": delta, "counts": {d: counts}, "bound": {d: bound}}``
        with ``bound`` the packing bound :math:`(1+2/\delta)^d` of Lemma 4.6(a).

    Examples
    --------
    >>> from kvtheory.experiments.subgen import cluster_count_curves
    >>> cur = cluster_count_curves(ds=(3,), delta=1.0, n=1000, points=5)
    >>> cur["n"].tolist(), bool(cur["counts"][3][-1] <= cur["bound"][3])
    ([1, 5, 31, 177, 1000], True)
    """
    n = check_int(n, "n", lo=2, hi=1_000_000)
    points = check_int(points, "points", lo=2, hi=200)
    delta = check_real(delta, "delta", lo=0.0, lo_open=True)
    rng = check_rng(seed)
    grid = np.unique(np.geomspace(1, n, points).astype(np.int64))
    counts, bound = {}, {}
    for d in ds:
        d = check_int(d, "d", lo=1, hi=16)
        K = uniform_sphere_keys(n, d, seed=rng)
        counts[d] = threshold_cluster_counts(K, delta, grid)
        bound[d] = (1 + 2 / delta) ** d
    return {"n": grid, "delta": delta, "counts": counts, "bound": bound}


def _queries(K, q_norm, n_queries, rng):
    """Queries of norm ``q_norm`` pointing at random stream keys (so weights are peaked)."""
    idx = rng.integers(0, K.shape[0], size=n_queries)
    Q = K[idx] + 0.3 * rng.standard_normal((n_queries, K.shape[1]))
    return q_norm * Q / np.linalg.norm(Q, axis=1, keepdims=True)


class _Judge:
    r"""Exact attention and the S_eps denominator for many queries on one stream.

    Computes :math:`\|V\|_{op}` once; ``ratio`` agrees with
    :func:`~kvtheory.l2_error_ratio`.
    """

    def __init__(self, K, V):
        self.K, self.V = K, V
        self.op = float(np.linalg.norm(V, 2))

    def ratio(self, z_hat, q) -> float:
        w = softmax(self.K @ q)
        return float(np.linalg.norm(z_hat - w @ self.V) / (np.linalg.norm(w) * self.op))


def error_vs_slots(slots=(16, 32, 64, 128, 256, 512, 1024), *, n: int = 10_000, d: int = 16,
                   t: int = 256, delta: float = 0.2, n_centres: int = 30, noise: float = 0.02,
                   q_norm: float = 2.0, n_queries: int = 20, seeds=(0, 1, 2, 3, 4)) -> dict:
    r"""SubGen's error ratio :math:`\|\hat z-z\|/(\|w\|_2\|V\|_{op})` against the slots ``s``.

    One SubGen with ``max(slots)`` slots per seed; the first ``s`` slots of
    it are an ``s``-slot SubGen (:meth:`SubGen.estimates` with ``n_slots``).
    The ratio is averaged over ``n_queries`` queries and then over seeds; the
    least-squares slope of log(mean ratio) on log(s) is returned.

    Returns
    -------
    dict
        ``slots``, ``ratio`` (mean over seeds, shape ``(len(slots),)``),
        ``per_seed`` (``(len(seeds), len(slots))``), ``slope``, ``n_clusters``
        (per seed), and the parameters.
    """
    slots = [check_int(s, "slots", lo=1, hi=8192) for s in slots]
    n = check_int(n, "n", lo=1, hi=200_000)
    q_norm = check_real(q_norm, "q_norm", lo=0.0)
    n_queries = check_int(n_queries, "n_queries", lo=1, hi=1000)
    per_seed, clusters = [], []
    for seed in seeds:
        rng = check_rng(seed)
        K, V = clusterable_stream(n, d, n_centres=n_centres, noise=noise, seed=rng)
        alg = SubGen(delta=delta, t=t, s=max(slots), seed=rng)
        for k, v in zip(K, V, strict=True):
            alg.append(k, v)
        Q = _queries(K, q_norm, n_queries, rng)
        judge = _Judge(K, V)
        row = []
        for s in slots:
            ests = [alg.estimates(q, n_slots=s) for q in Q]
            row.append(np.mean([judge.ratio(e.numerator / e.normaliser, q)
                                for e, q in zip(ests, Q, strict=True)]))
        per_seed.append(row)
        clusters.append(alg.n_clusters)
    per_seed = np.array(per_seed)
    mean = per_seed.mean(axis=0)
    slope = float(np.polyfit(np.log(slots), np.log(mean), 1)[0])
    return {"slots": np.array(slots), "ratio": mean, "per_seed": per_seed, "slope": slope,
            "n_clusters": clusters, "n": n, "d": d, "t": t, "delta": delta}


def error_at_budgets(budgets=((16, 64), (64, 256), (256, 1024)), *, n: int = 10_000,
                     d: int = 16, delta: float = 0.2, n_centres: int = 30, noise: float = 0.02,
                     q_norm: float = 2.0, n_queries: int = 20, seeds=(0, 1, 2)) -> list[dict]:
    r"""Error ratio, clusters and memory of SubGen at several ``(t, s)``, with ExactCache's memory.

    Each ``(t, s)`` is a separate run of SubGen on the same streams (one per
    seed). Returns one record per budget with ``ratio`` (mean over queries
    and seeds), ``n_clusters`` (mean), ``words`` (``memory_bits() / 64``,
    mean) and ``exact_words`` of an :class:`~kvtheory.ExactCache` on the
    same stream.
    """
    n = check_int(n, "n", lo=1, hi=200_000)
    rows = []
    streams = []
    for seed in seeds:
        rng = check_rng(seed)
        K, V = clusterable_stream(n, d, n_centres=n_centres, noise=noise, seed=rng)
        streams.append((K, V, _queries(K, q_norm, n_queries, rng), _Judge(K, V)))
    exact = ExactCache()
    for k, v in zip(*streams[0][:2], strict=True):
        exact.append(k, v)
    for t, s in budgets:
        ratios, ms, words = [], [], []
        for i, (K, V, Q, judge) in enumerate(streams):
            alg = SubGen(delta=delta, t=t, s=s, seed=1000 + i)
            for k, v in zip(K, V, strict=True):
                alg.append(k, v)
            ratios.append(np.mean([judge.ratio(alg.attend(q), q) for q in Q]))
            ms.append(alg.n_clusters)
            words.append(alg.memory_bits() / 64)
        rows.append({"t": t, "s": s, "ratio": float(np.mean(ratios)),
                     "n_clusters": float(np.mean(ms)), "words": float(np.mean(words)),
                     "exact_words": exact.memory_bits() / 64})
    return rows


def normaliser_error_vs_t(ts=(1, 4, 16, 64), *, n: int = 5_000, d: int = 16,
                          delta: float = 0.6, n_centres: int = 30, noise: float = 0.1,
                          q_norm: float = 4.0, n_queries: int = 20, seeds=(0, 1, 2)) -> dict:
    r"""Relative error :math:`|\hat Z/Z-1|` of the normaliser against the reservoir size ``t``.

    Looser clusters (``noise``) and a larger ``q_norm`` spread the weights
    inside a cluster (up to :math:`e^{2\delta r}`), which is what ``t`` pays
    for. Returns ``ts``, ``rel_error`` (mean over queries and seeds),
    ``spread`` (the mean over clusters of the max/min weight ratio inside a
    cluster, for the first query of the first seed) and ``slope``.
    """
    ts = [check_int(t, "ts", lo=1, hi=4096) for t in ts]
    n = check_int(n, "n", lo=1, hi=200_000)
    errs = np.zeros((len(seeds), len(ts)))
    spread = float("nan")
    for a, seed in enumerate(seeds):
        rng = check_rng(seed)
        K, V = clusterable_stream(n, d, n_centres=n_centres, noise=noise, seed=rng)
        Q = _queries(K, q_norm, n_queries, rng)
        logZ = [float(np.log(np.sum(np.exp(K @ q - np.max(K @ q)))) + np.max(K @ q)) for q in Q]
        for b, t in enumerate(ts):
            alg = SubGen(delta=delta, t=t, s=1, seed=rng)
            for k, v in zip(K, V, strict=True):
                alg.append(k, v)
            e = []
            for q, lz in zip(Q, logZ, strict=True):
                est = alg.estimates(q)
                e.append(abs(math.exp(math.log(est.normaliser) + est.shift - lz) - 1.0))
            errs[a, b] = np.mean(e)
            if a == 0 and b == 0:
                spread = _cluster_spread(alg, K, Q[0])
    mean = errs.mean(axis=0)
    slope = float(np.polyfit(np.log(ts), np.log(mean), 1)[0])
    return {"ts": np.array(ts), "rel_error": mean, "slope": slope, "spread": spread}


def _cluster_spread(alg: SubGen, K, q) -> float:
    """Mean over clusters of max/min of e^{<q,k>} among keys nearest each centre."""
    C = np.asarray(alg.centres)
    lab = np.argmin(np.sum(C * C, axis=1)[None, :] - 2 * K @ C.T, axis=1)
    s = K @ q
    r = [np.exp(s[lab == j].max() - s[lab == j].min()) for j in np.unique(lab)]
    return float(np.mean(r))


def memory_vs_n(n: int = 100_000, d: int = 8, *, t: int = 64, s: int = 256,
                delta: float = 0.2, n_centres: int = 30, noise: float = 0.02,
                points: int = 30, seed=0) -> dict:
    r"""``memory_bits()`` of SubGen and of ExactCache while one clusterable stream flows in.

    Returns ``n`` (checkpoints), ``subgen_bits``, ``exact_bits``,
    ``n_clusters`` and ``crossover``: the first checkpoint at which SubGen
    keeps fewer bits than the exact cache (``None`` if never).
    """
    n = check_int(n, "n", lo=2, hi=1_000_000)
    points = check_int(points, "points", lo=2, hi=500)
    rng = check_rng(seed)
    K, V = clusterable_stream(n, d, n_centres=n_centres, noise=noise, seed=rng)
    grid = np.unique(np.geomspace(1, n, points).astype(np.int64))
    alg = SubGen(delta=delta, t=t, s=s, seed=rng)
    exact = ExactCache()
    sub_bits, ex_bits, ms = [], [], []
    g = 0
    for i in range(n):
        alg.append(K[i], V[i])
        exact.append(K[i], V[i])
        if i + 1 == grid[g]:
            sub_bits.append(alg.memory_bits())
            ex_bits.append(exact.memory_bits())
            ms.append(alg.n_clusters)
            g += 1
    sub_bits, ex_bits = np.array(sub_bits), np.array(ex_bits)
    below = np.flatnonzero(sub_bits < ex_bits)
    crossover = int(grid[below[0]]) if below.size else None
    return {"n": grid, "subgen_bits": sub_bits, "exact_bits": ex_bits,
            "n_clusters": np.array(ms), "crossover": crossover, "d": d, "t": t, "s": s,
            "delta": delta}


def index_instance_runs(configs=((0.5, 1, 8), (0.5, 1, 32), (0.5, 1, 128), (0.5, 1, 512),
                                 (2.5, 16, 32), (2.5, 64, 128)), *, n: int = 200, d: int = 64,
                        trials: int = 400, gamma: float = 0.1, seed=0) -> list[dict]:
    r"""SubGen on the Chapter 3 hard instance, through ``run_index_protocol``.

    ``configs`` lists ``(delta, t, s)``. For each, a SubGen built by a
    factory plays Alice's side; the record holds its cluster count at the
    hand-off, ``memory_bits``, the words per information bit, Bob's success
    rate, and :func:`predicted_index_success` (meaningful for one cluster per
    key, small ``delta``).
    """
    n = check_int(n, "n", lo=2, hi=5000)
    d = check_int(d, "d", lo=1, hi=512)
    trials = check_int(trials, "trials", lo=1, hi=100_000)
    rows = []
    for delta, t, s in configs:
        made = []

        def factory(delta=delta, t=t, s=s, made=made):
            alg = SubGen(delta=delta, t=t, s=s, seed=seed)
            made.append(alg)
            return alg

        res = run_index_protocol(factory, n, d, trials=trials, seed=seed, gamma=gamma)
        rows.append({"delta": delta, "t": t, "s": s, "n_clusters": made[0].n_clusters,
                     "memory_bits": res.memory_bits, "info_bits": res.info_bits,
                     "words_per_nd": res.memory_bits / 64 / (n * d),
                     "success": res.success_rate, "stderr": res.stderr,
                     "predicted": predicted_index_success(n, s, tau=res.tau, gamma=gamma),
                     "ceiling": res.ceiling})
    return rows


def predicted_index_success(n: int, s: int, *, tau: float = 0.5, gamma: float = 0.1) -> float:
    r"""Predicted success of SubGen with one cluster per key on the hard instance.

    A slot holds :math:`i^*` with probability :math:`p\approx1/n`, so the
    number :math:`c` of slots holding it is :math:`\mathrm{Bin}(s,1/n)`.
    With every key its own cluster :math:`\hat Z` is exact, and coordinate
    :math:`j^*` of the output is about :math:`\frac{c\,n}{s(1+\gamma)}X_{i^*j^*}`
    (other tokens' contributions are :math:`e^{-\Theta(C)}` smaller). Bob is
    right for sure when :math:`c\,n/(s(1+\gamma))>\tau` and half the time
    otherwise:

    .. math:: \Pr[\text{success}]\approx\tfrac12+\tfrac12\Pr[c\ge c_0],\qquad
              c_0=\max\bigl(1,\lfloor\tau(1+\gamma)s/n\rfloor+1\bigr).

    For :math:`s\ll n` this is :math:`\frac12+\frac12(1-(1-\frac1n)^s)\approx\frac12+\frac s{2n}`.

    Examples
    --------
    >>> from kvtheory.experiments.subgen import predicted_index_success
    >>> f"{predicted_index_success(1000, 10):.4f}"
    '0.5050'
    """
    n = check_int(n, "n", lo=1)
    s = check_int(s, "s", lo=1)
    tau = check_real(tau, "tau", lo=0.0)
    gamma = check_real(gamma, "gamma", lo=0.0)
    p = 1.0 / n
    c0 = max(1, math.floor(tau * (1 + gamma) * s / n) + 1)
    below = sum(math.comb(s, c) * p ** c * (1 - p) ** (s - c) for c in range(min(c0, s + 1)))
    return 0.5 + 0.5 * (1.0 - below)


def sign_key_clusters(ds=(4, 6, 8, 10, 12, 16, 24, 32, 48, 64), *, n: int = 1000,
                      deltas=(0.5, 1.0), seed=0) -> dict:
    r"""Clusters :math:`m/n` of ``n`` uniform sign keys :math:`\{\pm1/\sqrt d\}^d` against ``d``.

    Sign keys differ in :math:`h` coordinates at distance :math:`2\sqrt{h/d}`,
    so for :math:`d\gtrsim\log_2n` they are all distinct and far apart and
    every key opens its own cluster.
    """
    n = check_int(n, "n", lo=1, hi=100_000)
    rng = check_rng(seed)
    out = {"d": np.array(ds), "n": n, "frac": {}}
    for delta in deltas:
        delta = check_real(delta, "deltas", lo=0.0)
        out["frac"][delta] = np.array([
            threshold_cluster_counts(rng.choice([-1.0, 1.0], size=(n, d)) / math.sqrt(d),
                                     delta)[0] / n for d in ds])
    return out
