r"""Benign streams: the inputs on which compression methods' assumptions hold.

The hard instances of this package come from the lower-bound proofs; the
streams here are their foil, used by the benchmark, the chapters'
experiments and the tests. Arrays in, arrays out, seeded: every function
takes ``seed`` (an integer or a :class:`numpy.random.Generator`, threaded
through so several draws can share one generator) and draws in a fixed,
documented order, so a stream is the same on every run and machine.

==================  =====================================================  ==================
function            what it is                                             returns
==================  =====================================================  ==================
:func:`gaussian`    i.i.d. Gaussian queries, keys, values (scaled)         ``Q, K, V[, P]``
:func:`sphere`      keys uniform on the unit sphere                        ``K``
:func:`clustered_keys`  keys near planted unit centres, Gaussian values    ``K, V``
                    (SubGen's assumption, Chapter 5)
:func:`clustered`   keys, queries, probes and values near ``c`` centres    ``Q, K, V, P``
                    of radius 2 (the benchmark's)
:func:`lowrank`     keys and values in a random ``r``-dim subspace         ``Q, K, V, P``
:func:`recency`     a positional coordinate makes weights decay with age   ``Q, K, V, P``
==================  =====================================================  ==================

``P`` are probe queries asked after the stream (:class:`kvtheory.game.Instance`).
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_int, check_real, check_rng

__all__ = ["gaussian", "sphere", "clustered_keys", "clustered", "lowrank", "recency"]


def _sizes(n, d, n_probes=0):
    return (check_int(n, "n", lo=1, hi=2_000_000), check_int(d, "d", lo=1, hi=4096),
            check_int(n_probes, "n_probes", lo=0))


def gaussian(n: int, d: int, *, seed=0, q_scale: float = 1.0, k_scale: float = 1.0,
             v_scale: float = 1.0, n_probes: int = 0, queries: bool = True):
    r"""I.i.d. standard normal tokens, each block multiplied by its scale.

    Draw order: ``Q`` (if ``queries``), ``K``, then ``P`` (if ``n_probes``),
    then ``V``; each is ``rng.standard_normal(shape) * scale``.

    Parameters
    ----------
    n, d : int
        Tokens and dimension (values have dimension ``d`` too).
    seed : int or numpy.random.Generator
    q_scale, k_scale, v_scale : float
        Multipliers of the queries (and probes), keys and values. With
        ``q_scale = 1/sqrt(d)`` the scores :math:`\langle q,k\rangle` are
        :math:`N(0,1)`.
    n_probes : int
        Probe queries drawn after the keys (0: none returned).
    queries : bool
        Draw the stream's queries (``False``: return ``K, V`` only).

    Returns
    -------
    tuple of numpy.ndarray
        ``(Q, K, V)``, ``(Q, K, V, P)`` with probes, ``(K, V)`` without
        queries (``(K, V, P)`` with probes).

    Examples
    --------
    >>> from kvtheory.instances import benign
    >>> [a.shape for a in benign.gaussian(5, 3)]
    [(5, 3), (5, 3), (5, 3)]
    >>> [a.shape for a in benign.gaussian(5, 3, n_probes=2, queries=False)]
    [(5, 3), (5, 3), (2, 3)]
    """
    n, d, n_probes = _sizes(n, d, n_probes)
    q_scale, k_scale, v_scale = (check_real(s, name, lo=0) for s, name in
                                 ((q_scale, "q_scale"), (k_scale, "k_scale"),
                                  (v_scale, "v_scale")))
    rng = check_rng(seed)
    Q = rng.standard_normal((n, d)) * q_scale if queries else None
    K = rng.standard_normal((n, d)) * k_scale
    P = rng.standard_normal((n_probes, d)) * q_scale if n_probes else None
    V = rng.standard_normal((n, d)) * v_scale
    out = (K, V) if Q is None else (Q, K, V)
    return out if P is None else (*out, P)


def sphere(n: int, d: int, *, seed=0) -> np.ndarray:
    r"""``n`` i.i.d. points uniform on the unit sphere :math:`S^{d-1}` (normalised Gaussians).

    Examples
    --------
    >>> from kvtheory.instances import benign
    >>> K = benign.sphere(5, 3, seed=0)
    >>> K.shape, bool(abs(K[0] @ K[0] - 1) < 1e-12)
    ((5, 3), True)
    """
    n, d, _ = _sizes(n, d)
    g = check_rng(seed).standard_normal((n, d))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def clustered_keys(n: int, d: int, *, n_centres: int = 30, noise: float = 0.02,
                   seed=0) -> tuple[np.ndarray, np.ndarray]:
    r"""Keys near ``n_centres`` planted unit centres, and Gaussian values (Chapter 5).

    Key :math:`i` is :math:`c_{J_i}+\sigma g_i` with :math:`J_i` uniform,
    :math:`c_j` uniform on :math:`S^{d-1}` (:func:`sphere`),
    :math:`g_i\sim N(0,I_d)` and :math:`\sigma=` ``noise``; values are
    standard normal. Draw order: centres, labels, noise, values.

    Returns
    -------
    K, V : numpy.ndarray, shape (n, d)

    Examples
    --------
    >>> from kvtheory.instances import benign
    >>> K, V = benign.clustered_keys(100, 4, n_centres=3, seed=0)
    >>> K.shape, V.shape
    ((100, 4), (100, 4))
    """
    n, d, _ = _sizes(n, d)
    n_centres = check_int(n_centres, "n_centres", lo=1)
    noise = check_real(noise, "noise", lo=0.0)
    rng = check_rng(seed)
    C = sphere(n_centres, d, seed=rng)
    K = C[rng.integers(0, n_centres, size=n)] + noise * rng.standard_normal((n, d))
    V = rng.standard_normal((n, d))
    return K, V


def clustered(n: int, d: int, *, n_probes: int = 16, c: int = 8, seed=0):
    r"""Keys, queries and probes near ``c`` centres of norm 2; values clustered too.

    The benchmark's clustered stream: a token's key, a query and a probe are
    a centre plus :math:`0.1\,g/\sqrt d`; a value is its key's centre's
    value plus :math:`0.1\,g`. Draw order: centres, labels of keys, queries,
    probes, key noise, query noise, probe noise, centre values, value noise.

    Returns
    -------
    Q, K, V, P : numpy.ndarray

    Examples
    --------
    >>> from kvtheory.instances import benign
    >>> [a.shape for a in benign.clustered(10, 4, n_probes=2)]
    [(10, 4), (10, 4), (10, 4), (2, 4)]
    """
    n, d, n_probes = _sizes(n, d, n_probes)
    c = check_int(c, "c", lo=1)
    rng = check_rng(seed)
    centres = rng.standard_normal((c, d))
    centres *= 2.0 / np.linalg.norm(centres, axis=1, keepdims=True)
    lab_k, lab_q, lab_p = (rng.integers(0, c, size=m) for m in (n, n, n_probes))
    K = centres[lab_k] + 0.1 * rng.standard_normal((n, d)) / math.sqrt(d)
    Q = centres[lab_q] + 0.1 * rng.standard_normal((n, d)) / math.sqrt(d)
    P = centres[lab_p] + 0.1 * rng.standard_normal((n_probes, d)) / math.sqrt(d)
    V = rng.standard_normal((c, d))[lab_k] + 0.1 * rng.standard_normal((n, d))
    return Q, K, V, P


def lowrank(n: int, d: int, *, n_probes: int = 16, r: int = 4, seed=0):
    r"""Keys and values in one random ``min(r, d)``-dimensional subspace.

    Queries and probes are Gaussian with norm about 2. Draw order: the
    basis, key coordinates, value coordinates, queries, probes.

    Returns
    -------
    Q, K, V, P : numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.instances import benign
    >>> Q, K, V, P = benign.lowrank(20, 8, r=3)
    >>> int(np.linalg.matrix_rank(K)), P.shape
    (3, (16, 8))
    """
    n, d, n_probes = _sizes(n, d, n_probes)
    r = check_int(r, "r", lo=1)
    rng = check_rng(seed)
    U = np.linalg.qr(rng.standard_normal((d, min(r, d))))[0]
    K = rng.standard_normal((n, U.shape[1])) @ U.T
    V = rng.standard_normal((n, U.shape[1])) @ U.T
    Q = rng.standard_normal((n, d)) / math.sqrt(d) * 2
    P = rng.standard_normal((n_probes, d)) / math.sqrt(d) * 2
    return Q, K, V, P


def recency(n: int, d: int, *, n_probes: int = 16, lam: float = 0.15, seed=0):
    r"""A positional coordinate :math:`k_{t,1}=\lambda t`, :math:`q_1=1`: weights decay like
    :math:`e^{-\lambda(i-t)}` with age (ALiBi-like), so queries attend to the recent past.

    The other coordinates are Gaussian with scores of standard deviation
    :math:`\frac12`. Draw order: keys, queries, probes, values.

    Returns
    -------
    Q, K, V, P : numpy.ndarray

    Examples
    --------
    >>> from kvtheory.instances import benign
    >>> Q, K, V, P = benign.recency(10, 4, lam=0.5)
    >>> K[:3, 0].tolist(), float(Q[0, 0])
    ([0.0, 0.5, 1.0], 1.0)
    """
    n, d, n_probes = _sizes(n, d, n_probes)
    lam = check_real(lam, "lam", lo=0)
    rng = check_rng(seed)
    s = 0.5 * d ** -0.25
    K = rng.standard_normal((n, d)) * s
    Q = rng.standard_normal((n, d)) * s
    P = rng.standard_normal((n_probes, d)) * s
    K[:, 0] = lam * np.arange(n)
    Q[:, 0] = P[:, 0] = 1.0
    V = rng.standard_normal((n, d))
    return Q, K, V, P
