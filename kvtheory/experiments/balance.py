r"""Experiments of Chapter 11: balancing against sampling.

Every runner streams tokens through the real algorithms
(:class:`~kvtheory.algorithms.BalanceKV`, the samplers of
:mod:`kvtheory.algorithms.estimators`, :class:`~kvtheory.algorithms.SubGen`)
or calls the walk of :mod:`kvtheory.algorithms.balance` directly, and returns
plain records (dicts of lists and arrays). The benign streams are the
benchmark's (:func:`kvtheory.bench.make_instance`), rescaled into the
bounded setting of the chapter: keys of norm at most :math:`r_k`, probe
queries of norm :math:`r_q`, values of norm at most one, with
:math:`r_k=r_q=\sqrt R`.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .._validate import check_choice, check_int, check_real, check_rng
from ..algorithms.balance import DEFAULT_C, BalanceKV, self_balancing_walk, theory_threshold
from ..algorithms.estimators import ImportanceSamplingEstimator, UniformSamplingEstimator
from ..algorithms.subgen import SubGen
from ..attention import attention
from ..bench.instances import make_instance
from ..information import index_success_ceiling
from ..instances.index import default_C, run_index_protocol

__all__ = ["bounded_stream", "walk_vs_random", "error_vs_kept", "fit_slopes",
           "error_vs_R", "index_runs", "required_block", "time_per_token",
           "explore", "METHODS"]

#: Methods of :func:`error_vs_kept`, in plotting order.
METHODS = ("balance", "balance (theory c)", "random halving", "uniform", "importance",
           "SubGen")


def bounded_stream(n: int, d: int, R: float, *, family: str = "gaussian", seed=0):
    r"""A benign benchmark stream rescaled so that every score lies in :math:`[-R,R]`.

    Keys are scaled by one common factor to largest norm :math:`\sqrt R`,
    values to largest norm 1, and each probe query to norm :math:`\sqrt R`.

    Parameters
    ----------
    n, d : int
        Tokens (``>= 16``) and dimension (``>= 4``; values have ``d`` too).
    R : float
        Score bound :math:`R=r_qr_k>0`.
    family : {"gaussian", "clustered"}
        Which benign instance of the benchmark.
    seed : int or numpy.random.Generator

    Returns
    -------
    K, V, P : numpy.ndarray
        Keys ``(n, d)``, values ``(n, d)``, probe queries ``(16, d)``.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.experiments.balance import bounded_stream
    >>> K, V, P = bounded_stream(64, 8, 2.0, seed=0)
    >>> bool(np.max(np.abs(P @ K.T)) <= 2.0 + 1e-12), K.shape, P.shape
    (True, (64, 8), (16, 8))
    """
    R = check_real(R, "R", lo=0.0, lo_open=True)
    check_choice(family, "family", ("gaussian", "clustered"))
    inst = make_instance(family, n, d, seed=seed)
    r = math.sqrt(R)
    K = inst.K * (r / np.linalg.norm(inst.K, axis=1).max())
    V = inst.V / np.linalg.norm(inst.V, axis=1).max()
    P = inst.probes * (r / np.linalg.norm(inst.probes, axis=1, keepdims=True))
    return K, V, P


def walk_vs_random(ms=(256, 1024, 4096), *, d: int = 16, seeds=range(5),
                   c: float = DEFAULT_C, n_random: int = 200) -> dict:
    r""":math:`|\langle\sum_t\sigma_tu_t,\theta\rangle|` for the walk and for fair random signs.

    The :math:`u_t` are Gaussian vectors in :math:`\mathbb R^d` scaled to
    largest norm one, :math:`\theta` a fixed unit vector; the walk gets
    their Gram matrix. Both sign rules see the same vectors. The walk is run
    at threshold ``c`` and at the cited analysis' order
    :func:`~kvtheory.algorithms.balance.theory_threshold` ``(m)``; for random
    signs (cheap) each seed's value is the mean over ``n_random`` draws.

    Returns
    -------
    dict
        ``m``; ``walk``, ``walk_theory``, ``random``: mean discrepancy over
        seeds, shape ``(len(ms),)``; ``*_all``: per seed, shape
        ``(len(ms), n_seeds)``; ``fail_rate``: mean fraction of clipped steps
        at threshold ``c``; ``c``.

    Examples
    --------
    >>> from kvtheory.experiments.balance import walk_vs_random
    >>> res = walk_vs_random(ms=(64,), seeds=range(3))
    >>> bool(res["walk"][0] < res["random"][0])
    True
    """
    ms = [check_int(m, "ms", lo=2, hi=8192) for m in ms]
    d = check_int(d, "d", lo=1)
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must be non-empty")
    c = check_real(c, "c", lo=0.0, lo_open=True)
    n_random = check_int(n_random, "n_random", lo=1)
    out = {k: np.zeros((len(ms), len(seeds))) for k in ("walk", "walk_theory", "random")}
    fails = np.zeros((len(ms), len(seeds)))
    for i, m in enumerate(ms):
        for j, s in enumerate(seeds):
            rng = np.random.default_rng([s, m])
            U = rng.standard_normal((m, d))
            U /= np.linalg.norm(U, axis=1).max()
            theta = rng.standard_normal(d)
            theta /= np.linalg.norm(theta)
            G = U @ U.T
            a = U @ theta
            sig, f = self_balancing_walk(G, c, seed=rng)
            sig_t, _ = self_balancing_walk(G, theory_threshold(m), seed=rng)
            sig_r = np.where(rng.random((n_random, m)) < 0.5, 1.0, -1.0)
            out["walk"][i, j] = abs(sig @ a)
            out["walk_theory"][i, j] = abs(sig_t @ a)
            out["random"][i, j] = float(np.mean(np.abs(sig_r @ a)))
            fails[i, j] = f / m
    res = {"m": np.array(ms), "c": c, "fail_rate": fails.mean(axis=1)}
    for k, v in out.items():
        res[k] = v.mean(axis=1)
        res[k + "_all"] = v
    return res


def _make(method: str, size: int, R: float, seed: int):
    r = math.sqrt(R)
    if method == "balance":
        return BalanceKV(size, seed=seed)
    if method == "balance (theory c)":
        return BalanceKV(size, c=theory_threshold(size), seed=seed)
    if method == "random halving":
        return BalanceKV(size, signs="random", seed=seed)
    if method == "uniform":
        return UniformSamplingEstimator(size, seed=seed)
    if method == "importance":
        return ImportanceSamplingEstimator(size, r=r, seed=seed)
    # SubGen with one cluster (delta above the key diameter): t keys for the
    # normaliser and s = t value-norm slots, t = size / 2, about the same bits.
    h = max(1, size // 2)
    return SubGen(delta=2 * r + 1e-9, t=h, s=h, seed=seed)


def _kept(alg) -> int:
    if isinstance(alg, BalanceKV):
        return alg.kept
    if isinstance(alg, SubGen):
        return int(alg.memory_ledger().items["reservoir keys"][0] // alg.d) + alg.s
    return alg.s


def _max_error(alg, K, V, P) -> float:
    return float(np.mean([np.max(np.abs(alg.attend(q) - attention(q, K, V))) for q in P]))


def error_vs_kept(R: float = 1.0, *, sizes=(8, 16, 32, 64, 128, 256), n: int = 2048,
                  d: int = 8, seeds=(0, 1, 2, 3), family: str = "gaussian",
                  methods=METHODS) -> dict:
    r"""Coordinatewise error :math:`\|\hat z-z\|_\infty` against kept tokens and bits.

    For each seed one bounded stream (:func:`bounded_stream`); for each
    method and size (block :math:`B` for the balancing caches, at the
    default threshold and at :func:`~kvtheory.algorithms.balance.theory_threshold`
    ``(B)``; sample size
    :math:`s` for the samplers, :math:`t=s=` size/2 for SubGen) a fresh
    algorithm streams it, and the error is averaged over the 16 probes.

    Returns
    -------
    dict
        ``R``, ``sizes``, ``n``, ``d``, ``seeds``, and per method
        ``{"kept": (n_sizes,), "bits": (n_sizes,), "err": (n_sizes, n_seeds)}``
        under ``rows[method]`` (kept and bits of seed 0; they do not depend
        on the seed except for SubGen's clusters).

    Examples
    --------
    >>> from kvtheory.experiments.balance import error_vs_kept
    >>> res = error_vs_kept(1.0, sizes=(8, 32), n=256, seeds=(0,), methods=("balance",))
    >>> res["rows"]["balance"]["kept"].tolist()
    [8, 32]
    """
    R = check_real(R, "R", lo=0.0, lo_open=True)
    n = check_int(n, "n", lo=16)
    sizes = [check_int(s, "sizes", lo=2, hi=n) for s in sizes]
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must be non-empty")
    for m in methods:
        check_choice(m, "methods", METHODS)
    rows = {m: {"kept": np.zeros(len(sizes), dtype=np.int64),
                "bits": np.zeros(len(sizes), dtype=np.int64),
                "err": np.zeros((len(sizes), len(seeds)))} for m in methods}
    for j, s in enumerate(seeds):
        K, V, P = bounded_stream(n, d, R, family=family, seed=s)
        for m in methods:
            for i, size in enumerate(sizes):
                alg = _make(m, size, R, s)
                for k, v in zip(K, V, strict=True):
                    alg.append(k, v)
                rows[m]["err"][i, j] = _max_error(alg, K, V, P)
                if j == 0:
                    rows[m]["kept"][i] = _kept(alg)
                    rows[m]["bits"][i] = alg.memory_bits()
    return {"R": R, "sizes": np.array(sizes), "n": n, "d": d, "seeds": seeds,
            "family": family, "rows": rows}


def fit_slopes(res: dict, *, x: str = "kept") -> dict:
    r"""Least-squares slopes of :math:`\log` error against :math:`\log` ``x``, one per seed.

    Parameters
    ----------
    res : dict
        Output of :func:`error_vs_kept`.
    x : {"kept", "bits"}

    Returns
    -------
    dict
        ``{method: (mean slope, standard error)}``; the standard error is the
        sample standard deviation over seeds divided by :math:`\sqrt{\#\text{seeds}}`
        (``nan`` for one seed).

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.experiments.balance import fit_slopes
    >>> res = {"rows": {"m": {"kept": np.array([1, 2, 4]),
    ...                       "err": np.array([[1.0, 1.0], [0.5, 0.5], [0.25, 0.25]])}}}
    >>> fit_slopes(res)["m"]
    (-1.0, 0.0)
    """
    check_choice(x, "x", ("kept", "bits"))
    if not isinstance(res, dict) or "rows" not in res:
        raise TypeError("res must be an output of error_vs_kept")
    out = {}
    for m, row in res["rows"].items():
        lx = np.log(np.asarray(row[x], dtype=float))
        sl = np.array([np.polyfit(lx, np.log(e), 1)[0] for e in np.asarray(row["err"]).T])
        se = float(sl.std(ddof=1) / math.sqrt(sl.size)) if sl.size > 1 else float("nan")
        out[m] = (round(float(sl.mean()), 12), round(se, 12))
    return out


def error_vs_R(Rs=(0.25, 0.5, 1.0, 2.0, 3.0, 4.0), *, block: int = 32, n: int = 1024,
               d: int = 8, seeds=(0, 1, 2, 3)) -> dict:
    r"""The balancing cache's error at fixed block size as the score bound :math:`R` grows.

    Also the error of the normaliser, :math:`|Z_{\mathcal S}/Z-1|`, the quantity the
    guarantee's :math:`e^{2R}` factor speaks of.

    Returns
    -------
    dict
        ``R``; ``err`` (coordinatewise output error) and ``dnorm`` (relative
        normaliser error), each mean over seeds and probes, shape ``(len(Rs),)``;
        ``slope_dnorm``: least-squares slope of :math:`\ln` ``dnorm`` against
        :math:`R` (the guarantee allows up to 2).

    Examples
    --------
    >>> from kvtheory.experiments.balance import error_vs_R
    >>> res = error_vs_R(Rs=(0.5, 2.0), n=256, seeds=(0,))
    >>> res["err"].shape
    (2,)
    """
    block = check_int(block, "block", lo=1)
    seeds = list(seeds)
    err = np.zeros((len(Rs), len(seeds)))
    dn = np.zeros_like(err)
    for i, R in enumerate(Rs):
        R = check_real(R, "Rs", lo=0.0, lo_open=True)
        for j, s in enumerate(seeds):
            K, V, P = bounded_stream(n, d, R, seed=s)
            alg = BalanceKV(block, seed=s)
            for k, v in zip(K, V, strict=True):
                alg.append(k, v)
            Ks, _, w = alg.state()
            err[i, j] = _max_error(alg, K, V, P)
            D = np.exp(P @ K.T).sum(axis=1)
            Ds = np.exp(P @ Ks.T) @ w
            dn[i, j] = float(np.mean(np.abs(Ds / D - 1)))
    Rs = np.asarray(Rs, dtype=float)
    lg = np.log(dn.mean(axis=1))
    return {"R": Rs, "block": block, "n": n, "err": err.mean(axis=1), "dnorm": dn.mean(axis=1),
            "slope_dnorm": float(np.polyfit(Rs, lg, 1)[0])}


def required_block(n: int, *, gamma: float = 0.1, eps_idx: float = 0.5, eps: float = 0.5,
                   disc: float = 1.0) -> dict:
    r"""The block size the balancing guarantee needs on the INDEX instance of Chapter 3.

    There every key has norm 1 and Bob's query norm :math:`C`
    (:func:`~kvtheory.instances.index.default_C`), so :math:`R=C` and the guarantee needs
    :math:`B\ge\sqrt2\,e^{2R}L\,\beta/\varepsilon` with :math:`L\ge1`
    whenever :math:`B\le n/2`; ``disc`` is the walk's discrepancy :math:`\beta\ge1`.

    Returns
    -------
    dict
        ``R``, ``e2R`` (:math:`e^{2R}`), ``B_needed`` (with :math:`L=1`), ``n`` and
        ``vacuous`` (``B_needed > n``).

    Examples
    --------
    >>> from kvtheory.experiments.balance import required_block
    >>> r = required_block(256)
    >>> r["vacuous"], f"{r['B_needed'] / 256:.3g}"
    (True, '4.75e+11')
    """
    n = check_int(n, "n", lo=2)
    eps = check_real(eps, "eps", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    disc = check_real(disc, "disc", lo=1.0)
    R = default_C(n, gamma=gamma, eps=eps_idx)
    need = math.sqrt(2) * math.exp(2 * R) * disc / eps
    return {"n": n, "R": R, "e2R": math.exp(2 * R), "B_needed": need, "vacuous": need > n}


def index_runs(blocks=(1, 2, 4, 8), *, n: int = 256, d: int = 16, trials: int = 200,
               seed=0, dtype=np.float16) -> list[dict]:
    r"""BalanceKV in the INDEX game of Chapter 3: success against the information ceiling.

    Returns
    -------
    list of dict
        Per block size: ``block``, ``bits`` (at the hand-off), ``info_bits``
        (:math:`nd`), ``success`` and ``ceiling``
        (:func:`~kvtheory.information.index_success_ceiling`).

    Examples
    --------
    >>> from kvtheory.experiments.balance import index_runs
    >>> r = index_runs(blocks=(4,), n=64, d=8, trials=50)[0]
    >>> r["success"] <= r["ceiling"]
    True
    """
    out = []
    for B in blocks:
        B = check_int(B, "blocks", lo=1)
        res = run_index_protocol(lambda B=B: BalanceKV(B, seed=1, dtype=dtype), n, d,
                                 trials=trials, seed=seed)
        bits = int(res.memory_bits)
        out.append({"block": B, "bits": bits, "info_bits": int(res.info_bits),
                    "success": float(res.success_rate),
                    "ceiling": float(index_success_ceiling(bits, res.info_bits))})
    return out


def time_per_token(blocks=(16, 64), *, n: int = 4096, d: int = 16, seed=0) -> list[dict]:
    r"""Wall-clock seconds per appended token, and the bits, for a few block sizes.

    The timing varies from machine to machine and run to run; the chapter
    prints it in a cell whose output is not compared.

    Examples
    --------
    >>> from kvtheory.experiments.balance import time_per_token
    >>> r = time_per_token(blocks=(8,), n=256, d=4)[0]
    >>> r["kept"], r["sec_per_token"] > 0
    (8, True)
    """
    n = check_int(n, "n", lo=16)
    K, V, _ = bounded_stream(n, d, 1.0, seed=seed)
    out = []
    for B in blocks:
        alg = BalanceKV(check_int(B, "blocks", lo=1), seed=seed)
        t0 = time.perf_counter()
        for k, v in zip(K, V, strict=True):
            alg.append(k, v)
        dt = time.perf_counter() - t0
        out.append({"block": B, "sec_per_token": dt / n, "kept": alg.kept,
                    "bits": alg.memory_bits(), "halvings": alg.halvings})
    return out


def explore(R: float = 1.0, *, max_block: int = 64, n: int = 1024, d: int = 8,
            c: float = DEFAULT_C, family: str = "gaussian", seed=0) -> dict:
    r"""One stream, block sizes ``8, 16, ..., max_block``: balancing, random halving, uniform.

    The widget's computation (one seed, a few hundred milliseconds).

    Returns
    -------
    dict
        ``sizes``, and ``err`` ``{method: (n_sizes,)}`` for ``"balance"``,
        ``"random halving"``, ``"uniform"``; ``R``, ``c``, ``n``.

    Examples
    --------
    >>> from kvtheory.experiments.balance import explore
    >>> r = explore(1.0, max_block=16, n=256)
    >>> r["sizes"].tolist(), sorted(r["err"])
    ([8, 16], ['balance', 'random halving', 'uniform'])
    """
    R = check_real(R, "R", lo=0.0, lo_open=True)
    max_block = check_int(max_block, "max_block", lo=8, hi=n)
    c = check_real(c, "c", lo=0.0, lo_open=True)
    rng = check_rng(seed)
    s0 = int(rng.integers(0, 2**31))
    K, V, P = bounded_stream(n, d, R, family=family, seed=s0)
    sizes = 2 ** np.arange(3, int(math.log2(max_block)) + 1)
    err = {m: np.zeros(sizes.size) for m in ("balance", "random halving", "uniform")}
    for i, B in enumerate(sizes):
        for m, alg in (("balance", BalanceKV(int(B), c=c, seed=s0)),
                       ("random halving", BalanceKV(int(B), signs="random", seed=s0)),
                       ("uniform", UniformSamplingEstimator(int(B), seed=s0))):
            for k, v in zip(K, V, strict=True):
                alg.append(k, v)
            err[m][i] = _max_error(alg, K, V, P)
    return {"sizes": sizes, "err": err, "R": R, "c": c, "n": n}
