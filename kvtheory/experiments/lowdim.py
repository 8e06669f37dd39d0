r"""Experiments of Chapter 4: packings, codes, and the low-dimensional bound, run.

* :func:`sign_code_table`: greedy sign codes for a range of ``d`` against the
  Gilbert--Varshamov, Hamming and volume bounds;
* :func:`covering_table`: greedy nets of the ball against
  :math:`(1/\varrho)^d\le\mathcal N\le\mathcal P\le(1+2/\varrho)^d`;
* :func:`clustering_table`: Chapter 4's threshold-clustering lemma on uniform and on
  clusterable keys;
* :func:`flattening`: the low-dimensional instance through the INDEX game for
  a range of stream lengths: the required bits flatten at :math:`n=n'+1`;
* :func:`lossy_on_code`: lossy caches on one instance, against the INDEX
  ceiling;
* :func:`circle_experiment`: Chapter 4's query-norm proposition in :math:`d=2`;
* :func:`budget_codes`, :func:`budget_curve`: the best code under a
  query-norm budget, and the bound it gives against the stream length (the
  widget).

Every function returns plain records (dicts of arrays, or lists of dicts).
"""

from __future__ import annotations

import math
from functools import lru_cache, partial

import numpy as np

from .._validate import check_int, check_real, check_rng
from ..algorithms.quantization import SignBitCache
from ..algorithms.sampling import ReservoirSampling
from ..geometry.packing import (
    ball_covering_bounds,
    gilbert_varshamov_bound,
    greedy_net,
    greedy_sign_code,
    hamming_bound,
    sample_sphere,
    threshold_clustering,
)
from ..information import H2, index_success_ceiling
from ..instances.lowdim import make_lowdim_instance, method_token_ceiling, run_lowdim_protocol
from ..stream import ExactCache

__all__ = [
    "sign_code_table",
    "covering_table",
    "clustering_table",
    "flattening",
    "lossy_on_code",
    "circle_experiment",
    "budget_codes",
    "budget_curve",
]


def sign_code_table(ds=range(4, 21), *, eps: float = 0.5, seed=0) -> dict:
    r"""Greedy sign codes of coherence ``eps`` for each ``d``, with the classical bounds.

    For each ``d``: the code size, its minimum distance :math:`D`, the
    Gilbert--Varshamov size :math:`\lceil2^d/V(d,D-1)\rceil` (a guarantee for
    the maximal greedy code), the Hamming bound (no code is larger), the
    Euclidean volume bound :math:`(1+\sqrt{2/\mu})^d` of Chapter 4's covering/packing lemma for unit
    vectors at distance :math:`\ge\sqrt{2\mu}`, and the smooth GV rate
    :math:`2^{d(1-H_2((1-\kappa)/2))}`. Also a least-squares slope of
    :math:`\ln(\text{size})` against ``d``.

    Returns
    -------
    dict
        ``d, D, size, gv, hamming, volume, gv_rate, fit`` (arrays; ``fit`` is
        the least-squares line :math:`e^{\text{intercept}+\text{slope}\,d}`),
        ``slope``, ``intercept`` (floats), ``eps``.

    Examples
    --------
    >>> from kvtheory.experiments.lowdim import sign_code_table
    >>> t = sign_code_table([8, 12, 16])
    >>> t["size"].tolist(), t["gv"].tolist()
    ([69, 155, 510], [29, 52, 95])
    """
    ds = [check_int(d, "ds[i]", lo=2, hi=22) for d in ds]
    if not ds:
        raise ValueError("ds must be non-empty")
    eps = check_real(eps, "eps", lo=-1, hi=1, hi_open=True)
    sizes, Ds, gv, ham, vol = [], [], [], [], []
    for d in ds:
        code = greedy_sign_code(d, eps, seed=seed)
        sizes.append(code.size)
        Ds.append(code.min_distance)
        gv.append(gilbert_varshamov_bound(d, code.min_distance))
        ham.append(hamming_bound(d, code.min_distance))
        vol.append(ball_covering_bounds(d, math.sqrt(2 * code.mu))[1])
    darr = np.array(ds)
    rate = 2.0 ** (darr * (1.0 - H2((1.0 - eps) / 2.0)))
    slope, intercept = (np.polyfit(darr, np.log(sizes), 1) if len(ds) > 1 else (0.0, 0.0))
    return {"d": darr, "D": np.array(Ds), "size": np.array(sizes), "gv": np.array(gv),
            "hamming": np.array(ham), "volume": np.array(vol), "gv_rate": rate,
            "fit": np.exp(intercept + slope * darr), "slope": float(slope),
            "intercept": float(intercept), "eps": eps}


def covering_table(ds=range(1, 7), rho: float = 0.5, *, n_candidates: int = 20_000,
                   seed=0) -> dict:
    r"""Greedy :math:`\rho`-nets of the unit ball :math:`B_1` against the covering/packing lemma.

    For each ``d``: the size of a greedy :math:`\varrho`-separated set of
    ``n_candidates`` uniform points (a lower bound on :math:`\mathcal P(B_1,\varrho)` and a
    numerical estimate of :math:`\mathcal N(B_1,\varrho)`), its measured covering radius,
    and the bounds :math:`(1/\varrho)^d` and :math:`(1+2/\varrho)^d`.

    Examples
    --------
    >>> from kvtheory.experiments.lowdim import covering_table
    >>> t = covering_table([2], 0.5, n_candidates=5000)
    >>> t["lower"].tolist(), t["upper"].tolist()
    ([4.0], [25.0])
    >>> bool(t["lower"][0] <= t["size"][0] <= t["upper"][0])
    True
    """
    ds = [check_int(d, "ds[i]", lo=1, hi=12) for d in ds]
    rho = check_real(rho, "rho", lo=0, lo_open=True)
    rng = check_rng(seed)
    size, cover, lo, hi = [], [], [], []
    for d in ds:
        net = greedy_net(d, rho, domain="ball", n_candidates=n_candidates, seed=rng)
        size.append(net.size)
        cover.append(net.covering_radius)
        a, b = ball_covering_bounds(d, rho)
        lo.append(a)
        hi.append(b)
    return {"d": np.array(ds), "rho": rho, "size": np.array(size),
            "covering_radius": np.array(cover), "lower": np.array(lo), "upper": np.array(hi)}


def clustering_table(ds=range(2, 9), delta: float = 2 / (math.e - 1), *, n: int = 5000,
                     m0: int = 12, spread: float | None = None, seed=0) -> dict:
    r"""The threshold-clustering lemma of Chapter 4, measured on uniform and clusterable keys.

    For each ``d``: the clusters opened by :func:`threshold_clustering` on
    ``n`` uniform keys of :math:`S^{d-1}` (bound :math:`(1+2/\Delta)^d`), and
    on ``n`` keys drawn around ``m0`` random centres, each within
    ``spread`` of its centre (default :math:`\Delta/2`, so every group has
    diameter :math:`\le\Delta` and the bound is :math:`m_0`). Also the largest
    distance of a key to its centre, which the lemma keeps :math:`\le\Delta`.

    Examples
    --------
    >>> from kvtheory.experiments.lowdim import clustering_table
    >>> t = clustering_table([3], n=2000, m0=5)
    >>> bool(t["uniform"][0] <= t["bound"][0]), bool(t["clusterable"][0] <= 5)
    (True, True)
    """
    ds = [check_int(d, "ds[i]", lo=1, hi=32) for d in ds]
    delta = check_real(delta, "delta", lo=0, lo_open=True)
    n = check_int(n, "n", lo=1, hi=200_000)
    m0 = check_int(m0, "m0", lo=1, hi=n)
    spread = delta / 2 if spread is None else check_real(spread, "spread", lo=0)
    rng = check_rng(seed)
    uni, clu, bound, radius = [], [], [], []
    for d in ds:
        K = sample_sphere(n, d, seed=rng)
        cl = threshold_clustering(K, delta)
        uni.append(cl.n_clusters)
        radius.append(float(np.linalg.norm(K - cl.centres[cl.labels], axis=1).max()))
        centres = sample_sphere(m0, d, seed=rng)
        # uniform point of the ball of radius `spread` around a random centre
        offs = sample_sphere(n, d, seed=rng) * (spread * rng.random(n) ** (1.0 / d))[:, None]
        Kc = centres[rng.integers(0, m0, size=n)] + offs
        clu.append(threshold_clustering(Kc, delta).n_clusters)
        bound.append((1 + 2 / delta) ** d)
    return {"d": np.array(ds), "delta": delta, "n": n, "m0": m0, "uniform": np.array(uni),
            "clusterable": np.array(clu), "bound": np.array(bound),
            "max_radius": np.array(radius)}


def flattening(ds=(8, 12, 16), ns=tuple(2 ** k for k in range(2, 13)), *, eps: float = 0.5,
               gamma: float = 0.1, p: float = 0.1, trials: int = 100, seed=0) -> list[dict]:
    r"""The low-dimensional instance for each ``(d, n)``, decoded by the exact cache.

    For each pair, :math:`n'=\min(n-1,\text{code size})` keys of the greedy
    sign code, Bob's query norm :math:`C=\ln(n'/\gamma)/\mu`, the required bits
    :math:`(1-H_2(p))\,d\,n'` of Chapter 4's code-based bound (flat once :math:`n>\text{code
    size}`), the bits :math:`(1-H_2(p))\,d\,(n-1)` the bound would give with an
    unlimited code, and the exact cache's decode accuracy (which must be 1 for
    the instance to be valid).

    Returns
    -------
    list of dict
        Keys ``d, n, n_prime, code_size, C, required_bits, unlimited_bits,
        success``.

    Examples
    --------
    >>> from kvtheory.experiments.lowdim import flattening
    >>> rows = flattening(ds=[8], ns=[16, 1024], trials=50)
    >>> [(r["n"], r["n_prime"], r["success"]) for r in rows]
    [(16, 15, 1.0), (1024, 69, 1.0)]
    """
    ds = [check_int(d, "ds[i]", lo=2, hi=20) for d in ds]
    ns = [check_int(n, "ns[i]", lo=2, hi=10 ** 9) for n in ns]
    p = check_real(p, "p", lo=0, hi=0.5)
    rng = check_rng(seed)
    bits_per = 1.0 - H2(p)
    rows = []
    for d in ds:
        for n in ns:
            res = run_lowdim_protocol(ExactCache, n, d, eps=eps, gamma=gamma, trials=trials,
                                      p=p, seed=rng)
            inst = res.instance
            rows.append({"d": d, "n": n, "n_prime": inst.n_prime, "code_size": inst.code_size,
                         "C": inst.C, "required_bits": res.required_bits,
                         "unlimited_bits": bits_per * d * (n - 1),
                         "success": res.success_rate})
    return rows


def lossy_on_code(d: int = 12, n: int = 4096, *, eps: float = 0.5, gamma: float = 0.1,
                  p: float = 0.1, trials: int = 400, seed=0) -> dict:
    r"""Lossy caches on one low-dimensional instance, against the INDEX ceiling.

    Caches: the exact cache; the sign-bit cache (one bit per key and value
    entry, about :math:`2dn'` bits) holding all tokens or only the first
    :math:`n'/16`, :math:`n'/8`, :math:`n'/4`, :math:`n'/2`; uniform reservoir samples at
    float16. Each record has the measured ``memory_bits`` at the hand-off,
    the success rate and its standard error, and the ceiling
    :math:`1-H_2^{-1}(\max(0,1-S/(dn')))`.

    Returns
    -------
    dict
        ``n_prime, d, required_bits, info_bits, p``, ``required_fraction``
        (:math:`1-H_2(p)`, the required bits per information bit),
        ``ceiling_curve`` (``memory_fraction`` :math:`S/(dn')` on a log grid and
        the INDEX ceiling ``success`` there, for the figure) and ``rows``
        (list of dict: ``label, memory_bits, success, stderr, ceiling``).
    """
    d = check_int(d, "d", lo=2, hi=20)
    n = check_int(n, "n", lo=2)
    seed = check_int(seed, "seed", lo=0)
    n_prime = make_lowdim_instance(n, d, eps=eps, gamma=gamma, seed=0).n_prime
    makers = [("exact cache (float64)", ExactCache),
              ("sign-bit cache, all tokens", SignBitCache)]
    for frac in (2, 4, 8, 16):
        c = max(1, n_prime // frac)
        makers.append((f"sign-bit cache, first n'/{frac}", partial(SignBitCache, capacity=c)))
    for frac in (8, 32):
        s = max(1, n_prime // frac)
        makers.append((f"reservoir n'/{frac}, float16",
                       partial(ReservoirSampling, s=s, seed=1, dtype=np.float16)))
    rows = []
    required = None
    for label, make in makers:
        # the same code, bits and pairs for every cache: a paired comparison
        res = run_lowdim_protocol(make, n, d, eps=eps, gamma=gamma, trials=trials, p=p,
                                  seed=seed)
        required = res.required_bits
        rows.append({"label": label, "memory_bits": res.memory_bits,
                     "success": res.success_rate, "stderr": res.index.stderr,
                     "ceiling": res.index.ceiling})
    N = n_prime * d
    x = np.logspace(-1.5, 2.3, 300)
    return {"n_prime": n_prime, "d": d, "required_bits": required,
            "info_bits": N, "p": p, "required_fraction": 1.0 - H2(p),
            "ceiling_curve": {"memory_fraction": x,
                              "success": index_success_ceiling(x * N, N)},
            "rows": rows}


def circle_experiment(n_primes=(64, 256), *, gamma: float = 0.1, trials: int = 200,
                      budget: float | None = None, seed=0) -> list[dict]:
    r"""The query-norm proposition in :math:`d=2`: circle keys, decoded at float64 and float16.

    For each :math:`n'`: the circle code's :math:`\mu=1-\cos(2\pi/n')`, Bob's
    query norm :math:`C=\ln(n'/\gamma)/\mu` and its approximation
    :math:`\frac{n'^2}{2\pi^2}\ln\frac{n'}\gamma`, and the decode accuracy of
    the exact cache storing keys at float64 and at float16. With ``budget``
    (a query-norm budget :math:`r`), also the number of circle keys that fit
    it.

    Examples
    --------
    >>> from kvtheory.experiments.lowdim import circle_experiment
    >>> r = circle_experiment([64], trials=50)[0]
    >>> f"{r['C']:.0f}", r["success_float64"]
    ('1342', 1.0)
    """
    n_primes = [check_int(m, "n_primes[i]", lo=2, hi=100_000) for m in n_primes]
    rng = check_rng(seed)
    out = []
    for m in n_primes:
        rec = {"n_prime": m}
        for dtype in (np.float64, np.float16):
            res = run_lowdim_protocol(partial(ExactCache, dtype=dtype), m + 1, 2, code="circle",
                                      gamma=gamma, trials=trials, seed=rng)
            rec[f"success_{np.dtype(dtype).name}"] = res.success_rate
        inst = res.instance
        rec.update(mu=inst.mu, C=inst.C, C_approx=m * m / (2 * math.pi ** 2) * math.log(m / gamma))
        if budget is not None:
            rec["fits_budget"] = make_lowdim_instance(m + 1, 2, code="circle", gamma=gamma,
                                                      max_query_norm=budget).n_prime
        out.append(rec)
    return out


@lru_cache(maxsize=64)
def _sign_code_sizes(d: int, seed: int) -> tuple[tuple[int, float, int], ...]:
    rows = []
    for D in range(1, d // 2 + 1):
        eps = 1.0 - 2.0 * D / d
        rows.append((D, eps, greedy_sign_code(d, eps, seed=seed).size))
    return tuple(rows)


def budget_codes(d: int, n: int, r: float, *, gamma: float = 0.1, seed: int = 0) -> dict:
    r"""The greedy sign codes of every minimum distance, under a query-norm budget ``r``.

    For :math:`D=1..\lfloor d/2\rfloor` (coherence gap :math:`\mu=2D/d`) the
    usable tokens are :math:`\min\{n-1,|\text{code}|,\lfloor\gamma e^{r\mu}\rfloor\}`
    (Chapter 4's query-norm proposition); the best :math:`D` is returned with the ceiling
    :func:`~kvtheory.instances.lowdim.method_token_ceiling` of any code.

    Returns
    -------
    dict
        ``D, eps, mu, size, usable`` (arrays over D), ``best`` (index),
        ``n_prime`` (best usable), ``ceiling``.

    Examples
    --------
    >>> from kvtheory.experiments.lowdim import budget_codes
    >>> b = budget_codes(8, 10_000, 13.1)
    >>> int(b["D"][b["best"]]), b["n_prime"]
    (2, 69)
    """
    d = check_int(d, "d", lo=2, hi=16)
    n = check_int(n, "n", lo=2)
    r = check_real(r, "r", lo=0, lo_open=True)
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    seed = check_int(seed, "seed", lo=0)
    rows = _sign_code_sizes(d, seed)
    D = np.array([row[0] for row in rows])
    eps = np.array([row[1] for row in rows])
    size = np.array([row[2] for row in rows])
    mu = 2.0 * D / d
    fit = np.floor(gamma * np.exp(np.minimum(r * mu, 700.0)) * (1 + 1e-12))
    usable = np.minimum(np.minimum(size, n - 1), fit).astype(np.int64)
    best = int(np.argmax(usable))
    ceiling, _ = method_token_ceiling(d, r, gamma=gamma, n=n)
    return {"D": D, "eps": eps, "mu": mu, "size": size, "usable": usable, "best": best,
            "n_prime": int(usable[best]), "ceiling": ceiling}


def _circle_fit(m_max: int, r: float, gamma: float) -> int:
    """Most circle keys (at most ``m_max``) whose query norm fits the budget ``r`` (0 if none)."""
    try:
        return make_lowdim_instance(m_max + 1, 2, code="circle", gamma=gamma,
                                    max_query_norm=r).n_prime
    except ValueError:
        return 0


def budget_curve(d: int, n: int, r: float, *, gamma: float = 0.1, p: float = 0.1,
                 points: int = 60, trials: int = 100, seed: int = 0) -> dict:
    r"""Chapter 4's code-based bound under a query-norm budget ``r``, against the stream length.

    For stream lengths :math:`m` from 2 to ``n`` (``points`` values, log
    spaced): the informative tokens the best greedy sign code achieves within
    the budget (for :math:`d=2` also the circle code), the ceiling of any
    code-based instance (Chapter 4's query-norm proposition,
    :func:`~kvtheory.instances.lowdim.method_token_ceiling`), and the bits
    :math:`(1-H_2(p))\,d\,n'` each gives. At :math:`m=n` the instance is also
    run through the INDEX game with the exact cache, to show it decodes.

    Returns
    -------
    dict
        ``m, achieved, ceiling, unlimited`` (token counts against ``m``),
        ``bits_achieved, bits_ceiling, bits_unlimited``, and the run at ``n``:
        ``code, n_prime, C, success`` (``C`` and ``success`` are None when no
        code fits the budget).

    Examples
    --------
    >>> from kvtheory.experiments.lowdim import budget_curve
    >>> c = budget_curve(8, 4096, 13.1, trials=40)
    >>> c["code"], c["n_prime"], c["success"]
    ('greedy sign code, D = 2', 69, 1.0)
    """
    d = check_int(d, "d", lo=2, hi=16)
    n = check_int(n, "n", lo=3, hi=10 ** 6)
    r = check_real(r, "r", lo=0, lo_open=True)
    p = check_real(p, "p", lo=0, hi=0.5)
    points = check_int(points, "points", lo=2, hi=1000)
    seed = check_int(seed, "seed", lo=0)
    m = np.unique(np.geomspace(2, n, points).round().astype(np.int64))
    codes = budget_codes(d, n, r, gamma=gamma, seed=seed)
    fit = codes["usable"].max()                     # code-limited, budget-limited count
    circle = _circle_fit(n - 1, r, gamma) if d == 2 else 0
    best = max(int(fit), circle)
    achieved = np.minimum(m - 1, best)
    ceil = np.array([method_token_ceiling(d, r, gamma=gamma, n=int(k))[0] for k in m])
    ceil = np.maximum(np.floor(ceil * (1 + 1e-12)), 0)
    bits_per = (1.0 - H2(p)) * d
    out = {"d": d, "n": n, "r": r, "gamma": gamma, "p": p, "m": m,
           "achieved": achieved, "ceiling": ceil, "unlimited": m - 1,
           "bits_achieved": bits_per * achieved, "bits_ceiling": bits_per * ceil,
           "bits_unlimited": bits_per * (m - 1)}
    if best < 1:
        out.update(code="none fits the budget", n_prime=0, C=None, success=None)
        return out
    if circle > fit:
        res = run_lowdim_protocol(ExactCache, n, 2, code="circle", gamma=gamma,
                                  max_query_norm=r, trials=trials, p=p, seed=seed)
        label = "circle code"
    else:
        D = int(codes["D"][codes["best"]])
        res = run_lowdim_protocol(ExactCache, n, d, eps=1.0 - 2.0 * D / d, gamma=gamma,
                                  max_query_norm=r, trials=trials, p=p, seed=seed,
                                  code_seed=seed)
        label = f"greedy sign code, D = {D}"
    out.update(code=label, n_prime=res.instance.n_prime, C=res.instance.C,
               success=res.success_rate)
    return out
