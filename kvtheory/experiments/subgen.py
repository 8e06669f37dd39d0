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
from ..instances import benign
from ..instances.index import make_index_instance, run_index_protocol
from ..stream import ExactCache, memory_trace

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
    "subgen_overview",
    "seps_index_accuracy",
    "worked_estimate",
]


#: Keys uniform on the unit sphere (:func:`kvtheory.instances.benign.sphere`).
uniform_sphere_keys = benign.sphere

#: Keys near planted unit centres and Gaussian values
#: (:func:`kvtheory.instances.benign.clustered_keys`).
clusterable_stream = benign.clustered_keys


def threshold_cluster_counts(keys, delta: float, checkpoints=None, *,
                             block: int = 512) -> np.ndarray:
    r"""Number of clusters the greedy threshold rule has opened after each checkpoint.

    The rule is SubGen's (the threshold-clustering lemma of Chapter 4): a key
    opens a cluster iff it is more than ``delta`` from every centre. Keys are
    processed in blocks: distances
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
    r"""Final cluster counts against :math:`(1+2/\Delta)^d`, from :func:`cluster_count_curves`.

    Parameters
    ----------
    curves : dict or list of dict
        Outputs of :func:`cluster_count_curves` (one per ``delta``).

    Returns
    -------
    list of dict
        One record per ``(delta, d)``: ``m`` after all ``n`` keys, the
        packing ``bound`` of part (a) of Chapter 4's threshold-clustering
        lemma with :math:`R=1`, and ``n``.

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
        with ``bound`` the packing bound :math:`(1+2/\Delta)^d` of part (a) of
        Chapter 4's threshold-clustering lemma.

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
        alg = SubGen(delta=delta, t=t, s=max(slots), seed=rng).extend(K, V)
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
    exact = ExactCache().extend(*streams[0][:2])
    for t, s in budgets:
        ratios, ms, words = [], [], []
        for i, (K, V, Q, judge) in enumerate(streams):
            alg = SubGen(delta=delta, t=t, s=s, seed=1000 + i).extend(K, V)
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
    inside a cluster (up to :math:`e^{2\Delta r}`), which is what ``t`` pays
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
            alg = SubGen(delta=delta, t=t, s=1, seed=rng).extend(K, V)
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
    ms = []
    trace = memory_trace([alg, ExactCache()], K, V, grid,
                         observe=lambda _: ms.append(alg.n_clusters))
    sub_bits, ex_bits = trace["bits"]
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
    key, small ``delta``) twice: ``predicted`` assumes half of Bob's bits
    are 0, ``predicted_given_zeros`` uses ``zero_share``, the share of
    :math:`X_{i^*j^*}=0` among the ``trials`` queries actually drawn. Every
    configuration plays the same ``seed``, hence the same bits and the same
    queries: a paired comparison, with one shared ``zero_share``.
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
        zero_share = float(np.mean(np.asarray(res.truth) == 0))
        rows.append({"delta": delta, "t": t, "s": s, "n_clusters": made[0].n_clusters,
                     "memory_bits": res.memory_bits, "info_bits": res.info_bits,
                     "words_per_nd": res.memory_bits / 64 / (n * d),
                     "success": res.success_rate, "stderr": res.stderr,
                     "zero_share": zero_share,
                     "predicted": predicted_index_success(n, s, tau=res.tau, gamma=gamma),
                     "predicted_given_zeros": predicted_index_success(
                         n, s, tau=res.tau, gamma=gamma, zero_share=zero_share),
                     "ceiling": res.ceiling})
    return rows


def predicted_index_success(n: int, s: int, *, tau: float = 0.5, gamma: float = 0.1,
                            zero_share: float = 0.5) -> float:
    r"""Predicted success of SubGen with one cluster per key on the hard instance.

    A slot holds :math:`i^*` with probability :math:`p\approx1/n`, so the
    number :math:`c` of slots holding it is :math:`\mathrm{Bin}(s,1/n)`.
    With every key its own cluster :math:`\hat Z` is exact, and coordinate
    :math:`j^*` of the output is about :math:`\frac{c\,n}{s(1+\gamma)}X_{i^*j^*}`
    (other tokens' contributions are :math:`e^{-\Theta(C)}` smaller). Bob is
    right for sure when :math:`c\,n/(s(1+\gamma))>\tau`; otherwise his
    coordinate is about 0, he answers 0, and he is right exactly when the bit
    is 0. With :math:`z_0` the share of zero bits among his queries
    (``zero_share``; :math:`\frac12` in expectation),

    .. math:: \Pr[\text{success}]\approx h+(1-h)\,z_0,\qquad h=\Pr[c\ge c_0],\qquad
              c_0=\max\bigl(1,\lfloor\tau(1+\gamma)s/n\rfloor+1\bigr).

    At :math:`z_0=\frac12` and :math:`s\ll n` this is
    :math:`\frac12+\frac12(1-(1-\frac1n)^s)\approx\frac12+\frac s{2n}`.

    Examples
    --------
    >>> from kvtheory.experiments.subgen import predicted_index_success
    >>> f"{predicted_index_success(1000, 10):.4f}"
    '0.5050'
    >>> f"{predicted_index_success(1000, 10, zero_share=0.6):.4f}"
    '0.6040'
    """
    n = check_int(n, "n", lo=1)
    s = check_int(s, "s", lo=1)
    tau = check_real(tau, "tau", lo=0.0)
    gamma = check_real(gamma, "gamma", lo=0.0)
    zero_share = check_real(zero_share, "zero_share", lo=0.0, hi=1.0)
    p = 1.0 / n
    c0 = max(1, math.floor(tau * (1 + gamma) * s / n) + 1)
    below = sum(math.comb(s, c) * p ** c * (1 - p) ** (s - c) for c in range(min(c0, s + 1)))
    hit = 1.0 - below
    return hit + (1.0 - hit) * zero_share


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


def subgen_overview(d: int = 4, delta: float = 0.5, t: int = 16, s: int = 128,
                    n: int = 2000, *, n_queries: int = 5, seed=0) -> dict:
    r"""SubGen on uniform sphere keys and Gaussian values: clusters and memory against ``n``.

    The computation behind the widget of Chapter 5. Streams ``n`` keys
    uniform on :math:`S^{d-1}` with standard normal values through SubGen
    and :class:`~kvtheory.ExactCache`, recording the cluster count and both
    ``memory_bits()`` at about 30 checkpoints, then measures the mean error
    ratio :math:`\|\hat z-z\|/(\|w\|_2\|V\|_{op})` over ``n_queries``
    random queries of norm 2.

    Returns
    -------
    dict
        ``n`` (checkpoints), ``n_clusters``, ``subgen_bits``, ``exact_bits``
        (arrays), ``bound`` (:math:`(1+2/\Delta)^d`), ``mean_ratio`` and the
        parameters ``d, delta, t, s, n_total``.

    Raises
    ------
    ValueError
        If a parameter is outside the widget's bounds (``d <= 12``,
        ``n <= 10000``, ``t <= 256``, ``s <= 4096``).

    Examples
    --------
    >>> from kvtheory.experiments.subgen import subgen_overview
    >>> rec = subgen_overview(d=2, n=200, seed=0)
    >>> int(rec["n"][-1]), bool(rec["n_clusters"][-1] <= rec["bound"])
    (200, True)
    """
    d = check_int(d, "d", lo=1, hi=12)
    delta = check_real(delta, "delta", lo=0.0, lo_open=True, hi=4.0)
    t = check_int(t, "t", lo=1, hi=256)
    s = check_int(s, "s", lo=1, hi=4096)
    n = check_int(n, "n", lo=10, hi=10_000)
    n_queries = check_int(n_queries, "n_queries", lo=1, hi=1000)
    rng = check_rng(seed)
    K = uniform_sphere_keys(n, d, seed=rng)
    V = rng.standard_normal((n, d))
    alg = SubGen(delta=delta, t=t, s=s, seed=rng)
    grid = np.unique(np.geomspace(1, n, 30).astype(np.int64))
    m = []
    sb, eb = memory_trace([alg, ExactCache()], K, V, grid,
                          observe=lambda _: m.append(alg.n_clusters))["bits"]
    judge = _Judge(K, V)
    ratios = []
    for _ in range(n_queries):
        q = rng.standard_normal(d)
        q *= 2.0 / np.linalg.norm(q)
        ratios.append(judge.ratio(alg.attend(q), q))
    return {"n": grid, "n_clusters": np.array(m), "subgen_bits": sb,
            "exact_bits": eb, "bound": (1 + 2 / delta) ** d,
            "mean_ratio": float(np.mean(ratios)), "d": d, "delta": delta, "t": t, "s": s,
            "n_total": n}


def seps_index_accuracy(sizes=((200, 64), (1000, 32), (10_000, 64)), *, gamma: float = 0.1,
                        p: float = 0.1, queries: int = 200, seed=0) -> list[dict]:
    r"""The accuracy at which :math:`\mathrm S_\varepsilon` decodes INDEX, and SubGen's slots there.

    On the INDEX instance of Chapter 3 (sign keys, values :math:`X\in\{0,1\}^{n\times d}`,
    Bob's query :math:`Ck_{i^*}` and a padding token), an output meeting
    :math:`\mathrm S_\varepsilon` is within :math:`\varepsilon\lVert w\rVert_2\lVert V\rVert_{op}`
    of the exact answer in :math:`\ell_2`, hence in every coordinate. Since
    :math:`\lVert w\rVert_2\le1`, it meets :math:`\mathrm A_\alpha` with
    :math:`\alpha<\alpha^*=\frac{1-\gamma}{2(1+\gamma)}`, and Bob decodes (the space
    barrier's additive case), whenever

    .. math:: \varepsilon<\varepsilon_{\rm dec}=\frac{\alpha^*}{\lVert V\rVert_{op}}
              \approx\frac{2\alpha^*}{\sqrt{nd}}

    (fair bits have :math:`\lVert V\rVert_{op}\approx\sqrt{nd}/2`). Conversely the
    output that flips coordinate :math:`j^*` (:math:`\hat z=z+(1-2z_{j^*})e_{j^*}`) is
    read wrongly by Bob and meets :math:`\mathrm S_\varepsilon` once
    :math:`\varepsilon\ge\varepsilon_{\rm fool}=1/(\lVert w\rVert_2\lVert V\rVert_{op})`;
    so the notion says something on this instance only for
    :math:`\varepsilon=\Theta(1/\sqrt{nd})`. SubGen's guarantee (Chapter 5) gives
    :math:`\mathrm S_{2\varepsilon/(1-\varepsilon)}` with
    :math:`\ell=\lceil\mathrm{rank}(V)/(\varepsilon^2p)\rceil` slots; reaching
    :math:`\varepsilon_{\rm dec}` takes
    :math:`\varepsilon=\varepsilon_{\rm dec}/(2+\varepsilon_{\rm dec})`.

    Parameters
    ----------
    sizes : sequence of (n, d)
    gamma : float, default 0.1
        Leaked mass of the instance (its query scale :math:`C` and :math:`\alpha^*`).
    p : float, default 0.1
        SubGen's failure parameter in the slot count.
    queries : int, default 200
        Bob's queries :math:`i^*` over which :math:`\lVert w\rVert_2` is taken (median).
    seed : int

    Returns
    -------
    list of dict
        Per size: ``n``, ``d``, ``op_norm`` (:math:`\lVert V\rVert_{op}`), ``sqrt_nd_half``
        (:math:`\sqrt{nd}/2`), ``rank``, ``w_norm`` (median :math:`\lVert w\rVert_2`),
        ``alpha_star``, ``eps_dec``, ``eps_fool``, ``eps_dec_sqrt_nd`` and
        ``eps_fool_sqrt_nd`` (the two levels times :math:`\sqrt{nd}`), ``eps_alg``,
        ``slots`` (:math:`\ell`), ``slot_words`` (:math:`\ell(2d+1)`: a key, a value and
        a squared norm per slot), ``exact_words`` (:math:`2nd`) and ``slots_per_token``
        (:math:`\ell/n`).

    Examples
    --------
    >>> from kvtheory.experiments.subgen import seps_index_accuracy
    >>> r = seps_index_accuracy(sizes=((200, 64),), queries=20)[0]
    >>> f"{r['eps_dec_sqrt_nd']:.2f}", f"{r['eps_fool_sqrt_nd']:.2f}", r["slots_per_token"] > 10**5
    ('0.82', '2.00', True)
    """
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    p = check_real(p, "p", lo=0, hi=1, lo_open=True, hi_open=True)
    queries = check_int(queries, "queries", lo=1, hi=100_000)
    seed = check_int(seed, "seed", lo=0)
    sizes = list(sizes)
    if not sizes:
        raise ValueError("sizes must not be empty")
    alpha_star = (1 - gamma) / (2 * (1 + gamma))
    out = []
    for n, d in sizes:
        n = check_int(n, "n", lo=2, hi=10**6)
        d = check_int(d, "d", lo=1, hi=4096)
        inst = make_index_instance(n, d, seed=seed, gamma=gamma)
        V = inst.X
        op = float(np.linalg.norm(V, 2))
        rank = int(np.linalg.matrix_rank(V))
        rng = np.random.default_rng(seed)
        stars = rng.integers(0, n, size=queries)
        scores = inst.C * (inst.keys[stars] @ inst.keys.T)            # (queries, n)
        scores = np.concatenate([scores, np.zeros((queries, 1))], axis=1)  # the padding token
        w_norm = float(np.median([np.linalg.norm(softmax(row)) for row in scores]))
        eps_dec = alpha_star / op
        eps_fool = 1.0 / (w_norm * op)
        eps_alg = eps_dec / (2 + eps_dec)
        slots = math.ceil(rank / (eps_alg ** 2 * p))
        root = math.sqrt(n * d)
        out.append({"n": n, "d": d, "op_norm": op, "sqrt_nd_half": root / 2, "rank": rank,
                    "w_norm": w_norm, "alpha_star": alpha_star, "eps_dec": eps_dec,
                    "eps_fool": eps_fool, "eps_dec_sqrt_nd": eps_dec * root,
                    "eps_fool_sqrt_nd": eps_fool * root, "eps_alg": eps_alg, "slots": slots,
                    "slot_words": slots * (2 * d + 1), "exact_words": 2 * n * d,
                    "slots_per_token": slots / n})
    return out


def worked_estimate(*, per_cluster: int = 10, h: int = 4, ell: int = 8, delta: float = 0.5,
                    q_norm: float = 2.0, seed=0) -> dict:
    r"""One SubGen estimate on three clusters, with every exact quantity beside it.

    The worked example of Chapter 5: ``3 * per_cluster`` tokens in
    :math:`d=2` whose keys lie near three unit centres (radius well below
    :math:`\Delta/2`, so the threshold rule opens exactly three clusters),
    with Gaussian values, are streamed into ``SubGen(delta, t=h, s=ell)``;
    one query of norm ``q_norm`` is asked. The record holds, per cluster,
    the count :math:`n_j` and the exact share :math:`Z_j` of the normaliser,
    and overall the estimates :math:`\hat Z`, :math:`\hat U` (from
    :meth:`SubGen.estimates`), the exact :math:`Z`, :math:`U`, both outputs
    and the error ratio of :math:`\mathrm S_\varepsilon`.

    Parameters
    ----------
    per_cluster : int
        Tokens per cluster (``>= 1``).
    h, ell : int
        Reservoir size per cluster and number of value-norm slots (Python
        names ``t`` and ``s`` of :class:`~kvtheory.algorithms.SubGen`).
    delta : float
        Clustering threshold :math:`\Delta`, in ``[0.3, 1.5]``.
    q_norm : float
        Norm :math:`r` of the query, ``> 0``.
    seed : int or numpy.random.Generator
        Source of the stream, the query and SubGen's coins.

    Returns
    -------
    dict
        ``keys``, ``values``, ``q`` (the data); ``m`` (clusters SubGen opened),
        ``counts`` (:math:`n_j`), ``Z_j`` (exact per-cluster sums), ``Z``,
        ``Z_hat``, ``U``, ``U_hat``, ``z``, ``z_hat``, ``ratio`` (the
        :math:`\mathrm S_\varepsilon` error ratio :math:`\|\hat z-z\|/(\|w\|_2\|V\|_{op})`),
        ``z_rel`` (:math:`|\hat Z-Z|/Z`), ``u_err``
        (:math:`\|\hat U-U\|/(\|e^{Kq}\|_2\|V\|_{op})`, the quantity step 2 of the
        guarantee's proof bounds), ``u_rms`` (its root-mean-square bound
        :math:`\|V\|_F/(\sqrt\ell\|V\|_{op})`), ``step4_bound``
        (:math:`(u_{err}+z_{rel})/(1-z_{rel})`, step 4's bound on ``ratio``),
        ``F`` (value mass), ``h``,
        ``ell``, ``delta``, ``memory_bits``.

    Examples
    --------
    >>> from kvtheory.experiments.subgen import worked_estimate
    >>> r = worked_estimate()
    >>> r["m"], r["counts"].tolist()
    (3, [10, 10, 10])
    """
    per_cluster = check_int(per_cluster, "per_cluster", lo=1)
    h = check_int(h, "h", lo=1)
    ell = check_int(ell, "ell", lo=1)
    delta = check_real(delta, "delta", lo=0.3, hi=1.5)
    q_norm = check_real(q_norm, "q_norm", lo=0, lo_open=True)
    rng = check_rng(seed)
    angles = np.array([0.3, 0.3 + 2 * np.pi / 3, 0.3 + 4 * np.pi / 3])
    centres = np.c_[np.cos(angles), np.sin(angles)]
    radius = 0.2 * delta                       # every key within delta/2 of its centre
    r = radius * np.sqrt(rng.uniform(0, 1, size=(3, per_cluster)))
    a = rng.uniform(0, 2 * np.pi, size=(3, per_cluster))
    K = (centres[:, None, :] + np.stack([r * np.cos(a), r * np.sin(a)], axis=-1))
    K = K.transpose(1, 0, 2).reshape(-1, 2)    # interleave the clusters in the stream
    V = rng.standard_normal((3 * per_cluster, 2))
    u = rng.standard_normal(2)
    q = q_norm * u / np.linalg.norm(u)
    alg = SubGen(delta=delta, t=h, s=ell, seed=rng).extend(K, V)
    est = alg.estimates(q)
    Z_hat = est.normaliser * math.exp(est.shift)
    U_hat = est.numerator * math.exp(est.shift)
    e = np.exp(K @ q)
    owner = np.argmin(((K[:, None, :] - np.asarray(alg.centres)[None, :, :]) ** 2).sum(-1),
                      axis=1)
    Z_j = np.bincount(owner, weights=e, minlength=alg.n_clusters)
    Z, U = float(e.sum()), e @ V
    z, z_hat = U / Z, U_hat / Z_hat
    w = softmax(K @ q)
    v_op = float(np.linalg.norm(V, 2))
    ratio = float(np.linalg.norm(z_hat - z) / (np.linalg.norm(w) * v_op))
    u_err = float(np.linalg.norm(U_hat - U) / (np.linalg.norm(e) * v_op))
    z_rel = abs(Z_hat - Z) / Z
    return {"keys": K, "values": V, "q": q, "m": alg.n_clusters,
            "counts": np.asarray(alg.cluster_counts).copy(), "Z_j": Z_j, "Z": Z,
            "Z_hat": float(Z_hat), "U": U, "U_hat": U_hat, "z": z, "z_hat": z_hat,
            "ratio": ratio, "z_rel": z_rel, "u_err": u_err,
            "u_rms": float(np.linalg.norm(V) / (math.sqrt(ell) * v_op)),
            "step4_bound": (u_err + z_rel) / (1 - z_rel) if z_rel < 1 else math.inf,
            "F": float(alg.value_mass), "h": h, "ell": ell, "delta": delta,
            "memory_bits": alg.memory_bits()}
