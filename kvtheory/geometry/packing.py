r"""Packings, coverings and codes: how many well-separated directions fit in :math:`\mathbb R^d`.

The lower bound of Chapter 3 needs many unit keys with small pairwise inner
products. In low dimension there are only :math:`e^{\Theta(d)}` of them, and this
module measures how many, against the classical bounds:

* greedy packings and nets of the sphere :math:`S^{d-1}` and the ball
  :math:`B_R` (:func:`greedy_packing`, :func:`greedy_net`), with the covering
  and packing bounds :math:`(R/\rho)^d\le N(B_R,\rho)\le M(B_R,\rho)\le(1+2R/\rho)^d`
  (:func:`ball_covering_bounds`);
* the greedy one-sided *sign code* (:func:`greedy_sign_code`): sign vectors
  :math:`\{\pm1/\sqrt d\}^d`, visited in a seeded random order, kept while all
  pairwise inner products stay :math:`\le\varepsilon`; its size is at least the
  Gilbert--Varshamov bound (:func:`gilbert_varshamov_bound`, with the Hamming
  ball volume :func:`hamming_ball_volume`) and at most the Hamming bound;
* spherical codes with a minimum angle (:func:`spherical_code`);
* the offline threshold clustering of Chapter 4's threshold-clustering lemma
  (:func:`threshold_clustering`),
  the rule behind SubGen's clusters.

Every greedy routine is *exactly* the sequential rule ("keep a point iff it is
far from every point kept so far", in the given order), computed in blocks:
a block of candidates is first tested against all kept points with one matrix
product, and only the survivors are resolved one by one among themselves.

References
----------
.. [1] R. Vershynin, *High-Dimensional Probability*, Cambridge University
   Press, 2018, §4.2 (covering and packing numbers).
.. [2] E. N. Gilbert, "A comparison of signalling alphabets", Bell System
   Technical Journal, 1952; R. R. Varshamov, "Estimate of the number of signals
   in error correcting codes", Dokl. Akad. Nauk SSSR, 1957.
.. [3] C. E. Shannon, "Probability of error for optimal codes in a Gaussian
   channel", Bell System Technical Journal, 1959.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._validate import as_real_array, check_choice, check_int, check_real, check_rng

__all__ = [
    "sample_sphere",
    "sample_ball",
    "greedy_packing",
    "GreedyNet",
    "greedy_net",
    "ball_covering_bounds",
    "hamming_ball_volume",
    "gilbert_varshamov_bound",
    "hamming_bound",
    "sign_code_min_distance",
    "SignCode",
    "greedy_sign_code",
    "spherical_code",
    "ThresholdClustering",
    "threshold_clustering",
]

_BLOCK = 1024          # candidates tested against the kept set per matrix product
_MAX_SIGN_D = 24       # 2**24 candidates is the most the exhaustive sign code visits


# --------------------------------------------------------------------- sampling
def sample_sphere(n: int, d: int, *, seed=0) -> np.ndarray:
    r"""``n`` points uniform on the unit sphere :math:`S^{d-1}\subset\mathbb R^d`.

    Normalised standard Gaussian vectors.

    Examples
    --------
    >>> from kvtheory.geometry.packing import sample_sphere
    >>> X = sample_sphere(5, 3, seed=0)
    >>> X.shape, bool(abs(X[0] @ X[0] - 1) < 1e-12)
    ((5, 3), True)
    """
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    rng = check_rng(seed)
    X = rng.standard_normal((n, d))
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    norms[norms == 0] = 1.0               # probability zero; keeps the result finite
    return X / norms


def sample_ball(n: int, d: int, *, R: float = 1.0, seed=0) -> np.ndarray:
    r"""``n`` points uniform in the ball :math:`B_R\subset\mathbb R^d`.

    A uniform direction times the radius :math:`RU^{1/d}`, :math:`U` uniform on
    :math:`[0,1]`.

    Examples
    --------
    >>> from kvtheory.geometry.packing import sample_ball
    >>> X = sample_ball(1000, 2, R=2.0, seed=0)
    >>> bool((X ** 2).sum(axis=1).max() <= 4.0)
    True
    """
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    R = check_real(R, "R", lo=0, lo_open=True)
    rng = check_rng(seed)
    dirs = sample_sphere(n, d, seed=rng)
    radii = R * rng.random(n) ** (1.0 / d)
    return dirs * radii[:, None]


# ------------------------------------------------------------------ greedy core
def _greedy_select(n: int, block_of: Callable[[int, int], np.ndarray],
                   conflict: Callable[[np.ndarray, np.ndarray], np.ndarray],
                   block: int = _BLOCK, chunk: int = 256) -> np.ndarray:
    """Indices kept by the sequential greedy rule, computed blockwise.

    ``block_of(i0, i1)`` returns candidates ``i0..i1-1`` as rows;
    ``conflict(A, B)`` returns the boolean matrix "row of A too close to row
    of B". A candidate is kept iff it conflicts with no earlier kept one.
    """
    kept_idx: list[np.ndarray] = []
    S = None                                         # kept points, stacked
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        Xb = block_of(i0, i1)
        cand = np.arange(i1 - i0)
        if S is not None:
            # test against the kept set in chunks, dropping rejected candidates
            # as we go: most are rejected by the first few chunks
            for c0 in range(0, S.shape[0], chunk):
                if cand.size == 0:
                    break
                cand = cand[~conflict(Xb[cand], S[c0:c0 + chunk]).any(axis=1)]
        if cand.size == 0:
            continue
        Xc = Xb[cand]
        G = conflict(Xc, Xc)                          # conflicts among survivors
        killed = np.zeros(cand.size, dtype=bool)
        take = np.zeros(cand.size, dtype=bool)
        for j in range(cand.size):                    # inherently sequential
            if not killed[j]:
                take[j] = True
                killed |= G[j]
        new = Xc[take]
        kept_idx.append(i0 + cand[take])
        S = new if S is None else np.concatenate([S, new])
    if not kept_idx:
        return np.empty(0, dtype=np.int64)
    return np.concatenate(kept_idx).astype(np.int64)


def _euclid_conflict(rho2: float):
    def conflict(A, B):
        d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * (A @ B.T)
        return d2 <= rho2
    return conflict


def greedy_packing(points, rho: float) -> np.ndarray:
    r"""Greedy :math:`\rho`-packing of ``points``: the indices the sequential rule keeps.

    Visits the rows of ``points`` in order and keeps a point iff it is at
    distance :math:`>\rho` from every point kept before. The kept set is
    :math:`\rho`-separated (a packing) and *maximal* among the given points,
    so it is also a :math:`\rho`-net of them: every point lies within
    :math:`\rho` of a kept one.

    Parameters
    ----------
    points : array_like, shape (n, d)
        Candidate points, visited in row order.
    rho : float
        Separation, ``rho > 0``.

    Returns
    -------
    numpy.ndarray of int
        Indices of the kept points, increasing.

    Raises
    ------
    ValueError
        If ``points`` is not a finite 2-D array or ``rho <= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.geometry.packing import greedy_packing
    >>> pts = np.array([[0.0], [0.4], [1.2], [1.5], [2.6]])
    >>> greedy_packing(pts, 1.0).tolist()
    [0, 2, 4]
    """
    X = as_real_array(points, "points", ndim=2)
    rho = check_real(rho, "rho", lo=0, lo_open=True)
    if X.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    return _greedy_select(X.shape[0], lambda i0, i1: X[i0:i1], _euclid_conflict(rho * rho))


@dataclass(frozen=True)
class GreedyNet:
    r"""A greedy :math:`\rho`-net of the sphere or the ball, with its measured quality.

    Attributes
    ----------
    centres : numpy.ndarray, shape (m, d)
        The kept points: pairwise more than ``rho`` apart.
    rho : float
        The separation used.
    domain : {"sphere", "ball"}
    R : float
        Radius of the domain.
    n_candidates : int
        Random points the greedy rule visited.
    covering_radius : float
        Largest distance from a fresh random point of the domain to its
        nearest centre (an estimate of the net's true covering radius, from
        below).
    """

    centres: np.ndarray
    rho: float
    domain: str
    R: float
    n_candidates: int
    covering_radius: float

    @property
    def size(self) -> int:
        """Number of centres ``m``."""
        return int(self.centres.shape[0])


def _nearest_distance(X: np.ndarray, C: np.ndarray, chunk: int = 4096) -> np.ndarray:
    out = np.empty(X.shape[0])
    c2 = (C * C).sum(1)
    for i0 in range(0, X.shape[0], chunk):
        A = X[i0:i0 + chunk]
        d2 = (A * A).sum(1)[:, None] + c2[None, :] - 2.0 * (A @ C.T)
        out[i0:i0 + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def greedy_net(d: int, rho: float, *, domain: str = "sphere", R: float = 1.0,
               n_candidates: int = 20_000, n_test: int = 5_000, seed=0) -> GreedyNet:
    r"""A greedy :math:`\rho`-separated set of random points of :math:`S^{d-1}` or :math:`B_R`.

    Draws ``n_candidates`` uniform points of the domain (radius ``R``) and
    keeps them by :func:`greedy_packing`. The result is a genuine packing, so
    its size is a lower bound on the packing number :math:`M(\cdot,\rho)`;
    it is a :math:`\rho`-net of the candidates, and the measured covering
    radius on ``n_test`` fresh points shows how close it is to a
    :math:`\rho`-net of the whole domain. Together they are a numerical
    estimate of the covering number.

    Parameters
    ----------
    d : int
        Dimension, ``1 <= d <= 64``.
    rho : float
        Separation, ``rho > 0``.
    domain : {"sphere", "ball"}
    R : float
        Radius of the sphere or ball.
    n_candidates, n_test : int
        Random points visited, and fresh points used to measure coverage
        (each at most 500 000).
    seed : int or numpy.random.Generator

    Returns
    -------
    GreedyNet

    Examples
    --------
    >>> from kvtheory.geometry.packing import greedy_net
    >>> net = greedy_net(2, 0.5, domain="sphere", n_candidates=2000, seed=0)
    >>> net.size, net.size <= 12   # chords > 0.5 need angles > 0.505 rad: at most 12 fit
    (10, True)
    >>> bool(net.covering_radius <= 0.5)
    True
    """
    d = check_int(d, "d", lo=1, hi=64)
    rho = check_real(rho, "rho", lo=0, lo_open=True)
    check_choice(domain, "domain", {"sphere", "ball"})
    R = check_real(R, "R", lo=0, lo_open=True)
    n_candidates = check_int(n_candidates, "n_candidates", lo=1, hi=500_000)
    n_test = check_int(n_test, "n_test", lo=1, hi=500_000)
    rng = check_rng(seed)
    draw = (lambda m: R * sample_sphere(m, d, seed=rng)) if domain == "sphere" else (
        lambda m: sample_ball(m, d, R=R, seed=rng))
    X = draw(n_candidates)
    centres = X[greedy_packing(X, rho)]
    cover = float(_nearest_distance(draw(n_test), centres).max())
    return GreedyNet(centres=centres, rho=rho, domain=domain, R=R,
                     n_candidates=n_candidates, covering_radius=cover)


def ball_covering_bounds(d: int, rho: float, *, R: float = 1.0) -> tuple[float, float]:
    r"""The volume bounds :math:`(R/\rho)^d\le N(B_R,\rho)\le M(B_R,\rho)\le(1+2R/\rho)^d`.

    Returns ``(lower, upper)``. The upper bound also bounds the packing and
    covering numbers of the sphere :math:`S^{d-1}` of radius ``R`` (a subset
    of the ball). See Chapter 4's covering/packing lemma.

    Raises
    ------
    OverflowError
        If ``(1 + 2R/rho)^d`` exceeds the float range (use logarithms).

    Examples
    --------
    >>> from kvtheory.geometry.packing import ball_covering_bounds
    >>> ball_covering_bounds(3, 0.5)
    (8.0, 125.0)
    """
    d = check_int(d, "d", lo=1)
    rho = check_real(rho, "rho", lo=0, lo_open=True)
    R = check_real(R, "R", lo=0, lo_open=True)
    return float((R / rho) ** d), float(math.pow(1.0 + 2.0 * R / rho, d))


# ------------------------------------------------------------------ sign codes
def hamming_ball_volume(d: int, k: int) -> int:
    r"""Exact number :math:`V(d,k)=\sum_{i=0}^{k}\binom di` of words within Hamming distance ``k``.

    ``k < 0`` gives 0; ``k >= d`` gives :math:`2^d`.

    Examples
    --------
    >>> from kvtheory.geometry.packing import hamming_ball_volume
    >>> hamming_ball_volume(8, 1), hamming_ball_volume(8, 8)
    (9, 256)
    """
    d = check_int(d, "d", lo=0)
    k = check_int(k, "k")
    return sum(math.comb(d, i) for i in range(0, min(k, d) + 1)) if k >= 0 else 0


def gilbert_varshamov_bound(d: int, D: int) -> int:
    r"""The Gilbert--Varshamov size :math:`\lceil 2^d/V(d,D-1)\rceil`.

    Every *maximal* binary code of length ``d`` and minimum distance ``D``
    (one to which no word can be added) has at least this many words: the
    Hamming balls of radius :math:`D-1` around its words cover
    :math:`\{0,1\}^d`.

    Examples
    --------
    >>> from kvtheory.geometry.packing import gilbert_varshamov_bound
    >>> gilbert_varshamov_bound(8, 2)
    29
    """
    d = check_int(d, "d", lo=1)
    D = check_int(D, "D", lo=1, hi=d)
    V = hamming_ball_volume(d, D - 1)
    return -(-(2 ** d) // V)


def hamming_bound(d: int, D: int) -> int:
    r"""The sphere-packing (Hamming) bound :math:`\lfloor 2^d/V(d,\lfloor (D-1)/2\rfloor)\rfloor`.

    No binary code of length ``d`` and minimum distance ``D`` has more words:
    the balls of radius :math:`\lfloor(D-1)/2\rfloor` around its words are
    disjoint.

    Examples
    --------
    >>> from kvtheory.geometry.packing import hamming_bound
    >>> hamming_bound(7, 3)     # attained by the Hamming code
    16
    """
    d = check_int(d, "d", lo=1)
    D = check_int(D, "D", lo=1, hi=d)
    return (2 ** d) // hamming_ball_volume(d, (D - 1) // 2)


def sign_code_min_distance(d: int, eps: float) -> int:
    r"""Least Hamming distance of sign vectors with inner product :math:`\le\varepsilon`.

    It is :math:`D=\lceil d(1-\varepsilon)/2\rceil` (at least 1).

    For :math:`x,y\in\{\pm1/\sqrt d\}^d` at Hamming distance :math:`h`,
    :math:`\langle x,y\rangle=1-2h/d`, so :math:`\langle x,y\rangle\le\varepsilon`
    iff :math:`h\ge D`.

    Examples
    --------
    >>> from kvtheory.geometry.packing import sign_code_min_distance
    >>> sign_code_min_distance(16, 0.5), sign_code_min_distance(10, 0.5)
    (4, 3)
    """
    d = check_int(d, "d", lo=1)
    eps = check_real(eps, "eps", lo=-1, hi=1, hi_open=True)
    D = math.ceil(d * (1.0 - eps) / 2.0 - 1e-9)
    return max(1, D)


@dataclass(frozen=True)
class SignCode:
    r"""A code of sign vectors with one-sided coherence :math:`\le\varepsilon`.

    Attributes
    ----------
    signs : numpy.ndarray of int8, shape (m, d)
        Codewords in :math:`\{\pm1\}^d`, in the order they were kept.
    eps : float
        Every pair has :math:`\langle x,y\rangle\le\varepsilon` (unit scaling).
    min_distance : int
        Every pair differs in at least this many coordinates.
    maximal : bool
        True if every one of the :math:`2^d` sign vectors was visited, so no
        word can be added and the Gilbert--Varshamov bound applies.
    seed : int or None
        The seed of the visiting order (None if a Generator was passed).
    """

    signs: np.ndarray
    eps: float
    min_distance: int
    maximal: bool
    seed: int | None

    @property
    def size(self) -> int:
        """Number of codewords."""
        return int(self.signs.shape[0])

    @property
    def d(self) -> int:
        """Length of the codewords."""
        return int(self.signs.shape[1])

    @property
    def mu(self) -> float:
        r"""Coherence gap :math:`\mu=2D/d`: pairs have :math:`\langle x,y\rangle\le1-\mu`."""
        return 2.0 * self.min_distance / self.d

    @property
    def vectors(self) -> np.ndarray:
        r"""Codewords as unit vectors in :math:`\{\pm1/\sqrt d\}^d`, float64."""
        return self.signs.astype(np.float64) / math.sqrt(self.d)


def _signs_of(codes: np.ndarray, d: int) -> np.ndarray:
    bits = (codes[:, None] >> np.arange(d, dtype=np.int64)[None, :]) & 1
    return 2 * bits - 1


def greedy_sign_code(d: int, eps: float = 0.5, *, seed=0,
                     max_candidates: int | None = None) -> SignCode:
    r"""The greedy one-sided sign code: sign vectors with inner products :math:`\le\varepsilon`.

    Visits the :math:`2^d` vectors of :math:`\{\pm1/\sqrt d\}^d` in a seeded
    uniformly random order and keeps a vector iff its inner product with every
    kept vector is at most :math:`\varepsilon`, i.e. it differs from each in at
    least :math:`D=\lceil d(1-\varepsilon)/2\rceil` coordinates
    (:func:`sign_code_min_distance`). When every vector is visited the code is
    maximal and has at least :func:`gilbert_varshamov_bound` ``(d, D)`` words,
    which is :math:`\ge2^{d(1-H_2((1-\varepsilon)/2))}`; it has at most
    :func:`hamming_bound` ``(d, D)`` words.

    Parameters
    ----------
    d : int
        Length, ``1 <= d <= 24``.
    eps : float
        Largest allowed inner product of unit codewords, in ``[-1, 1)``.
    seed : int or numpy.random.Generator
        Seed of the visiting order.
    max_candidates : int, optional
        Visit only the first ``max_candidates`` vectors of the order (then the
        code need not be maximal and ``maximal`` is False). Default: all
        :math:`2^d`.

    Returns
    -------
    SignCode

    Examples
    --------
    >>> from kvtheory.geometry.packing import greedy_sign_code, gilbert_varshamov_bound
    >>> code = greedy_sign_code(8, 0.5, seed=0)
    >>> code.min_distance, code.maximal
    (2, True)
    >>> code.size >= gilbert_varshamov_bound(8, 2)
    True
    >>> G = code.vectors @ code.vectors.T
    >>> bool((G[~np.eye(code.size, dtype=bool)] <= 0.5 + 1e-12).all())
    True
    """
    d = check_int(d, "d", lo=1, hi=_MAX_SIGN_D)
    eps = check_real(eps, "eps", lo=-1, hi=1, hi_open=True)
    total = 2 ** d
    if max_candidates is not None:
        max_candidates = check_int(max_candidates, "max_candidates", lo=1)
    is_int = isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
    seed_value = seed if is_int else None
    rng = check_rng(seed)
    order = rng.permutation(total).astype(np.int64)
    if max_candidates is not None and max_candidates < total:
        order = order[:max_candidates]
    D = sign_code_min_distance(d, eps)

    def conflict(A, B):                  # Hamming distance < D, exactly, on bit patterns
        return np.bitwise_count(A[:, None] ^ B[None, :]) < D

    kept = _greedy_select(order.size, lambda i0, i1: order[i0:i1], conflict)
    signs = _signs_of(order[kept], d).astype(np.int8)
    return SignCode(signs=signs, eps=eps, min_distance=D, maximal=order.size == total,
                    seed=None if seed_value is None else int(seed_value))


def spherical_code(d: int, theta: float, *, n_candidates: int = 20_000, seed=0) -> np.ndarray:
    r"""A greedy spherical code of minimum angle :math:`\theta` from random candidates.

    Keeps uniform random points of :math:`S^{d-1}` whose angle to every kept
    point is at least :math:`\theta` (inner product :math:`\le\cos\theta`).
    Shannon's bound says codes of size :math:`(1/\sin\theta)^{d-1}` exist up to
    :math:`\mathrm{poly}(d)` factors; a finite sample gives a lower estimate.

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 64``.
    theta : float
        Minimum angle in radians, ``0 < theta <= pi``.
    n_candidates : int
        Random points visited (at most 500 000).
    seed : int or numpy.random.Generator

    Returns
    -------
    numpy.ndarray, shape (m, d)
        Unit codewords.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.geometry.packing import spherical_code
    >>> C = spherical_code(3, np.pi / 2, n_candidates=5000, seed=0)
    >>> C.shape[0] <= 6 and bool((C @ C.T - np.eye(len(C)) <= 1e-12).all())
    True
    """
    d = check_int(d, "d", lo=2, hi=64)
    theta = check_real(theta, "theta", lo=0, hi=math.pi, lo_open=True)
    n_candidates = check_int(n_candidates, "n_candidates", lo=1, hi=500_000)
    rng = check_rng(seed)
    X = sample_sphere(n_candidates, d, seed=rng)
    c = math.cos(theta)
    kept = _greedy_select(X.shape[0], lambda i0, i1: X[i0:i1], lambda A, B: (A @ B.T) > c)
    return X[kept]


# ----------------------------------------------------------- threshold clustering
@dataclass(frozen=True)
class ThresholdClustering:
    r"""The outcome of :func:`threshold_clustering`.

    Attributes
    ----------
    centre_index : numpy.ndarray of int, shape (m,)
        Positions of the keys that opened clusters, in opening order.
    labels : numpy.ndarray of int, shape (n,)
        Cluster of each key (an index into ``centre_index``).
    centres : numpy.ndarray, shape (m, d)
        The centres (the opening keys themselves).
    delta : float
        The threshold.
    """

    centre_index: np.ndarray
    labels: np.ndarray
    centres: np.ndarray
    delta: float

    @property
    def n_clusters(self) -> int:
        """Number of clusters ``m``."""
        return int(self.centre_index.size)

    @property
    def counts(self) -> np.ndarray:
        """Keys per cluster, shape ``(m,)``."""
        return np.bincount(self.labels, minlength=self.n_clusters)


def threshold_clustering(keys, delta: float) -> ThresholdClustering:
    r"""Greedy threshold clustering (Chapter 4's threshold-clustering lemma), offline.

    The keys are visited in order. A key opens a new cluster, and becomes its
    centre, iff it is at distance :math:`>\delta` from every centre opened
    before it; otherwise it joins a nearest centre among those opened before
    it (ties go to the earliest). The result is exactly what a streaming
    algorithm applying the same rule token by token (SubGen, Chapter 5) would
    build, computed here in blocks.

    Guarantees (Chapter 4's threshold-clustering lemma): the centres are
    pairwise more than ``delta`` apart, so for keys in :math:`B_R` there are at most
    :math:`(1+2R/\delta)^d` of them; members of one cluster lie within
    :math:`\delta` of its centre; keys that split into :math:`m_0` groups of
    diameter :math:`\le\delta` open at most :math:`m_0` clusters.

    Parameters
    ----------
    keys : array_like, shape (n, d)
        The keys, in stream order.
    delta : float
        The threshold, ``delta > 0``.

    Returns
    -------
    ThresholdClustering

    Raises
    ------
    ValueError
        If ``keys`` is not a finite 2-D array or ``delta <= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.geometry.packing import threshold_clustering
    >>> K = np.array([[0.0, 0.0], [0.1, 0.0], [3.0, 0.0], [0.0, 0.2], [2.9, 0.1]])
    >>> cl = threshold_clustering(K, 0.5)
    >>> cl.centre_index.tolist(), cl.labels.tolist(), cl.counts.tolist()
    ([0, 2], [0, 0, 1, 0, 1], [3, 2])
    """
    K = as_real_array(keys, "keys", ndim=2)
    delta = check_real(delta, "delta", lo=0, lo_open=True)
    n = K.shape[0]
    if n == 0:
        return ThresholdClustering(np.empty(0, np.int64), np.empty(0, np.int64),
                                   np.empty((0, K.shape[1])), delta)
    centre_index = _greedy_select(n, lambda i0, i1: K[i0:i1], _euclid_conflict(delta * delta))
    centres = K[centre_index]
    c2 = (centres * centres).sum(1)
    labels = np.empty(n, dtype=np.int64)
    for i0 in range(0, n, _BLOCK):
        i1 = min(n, i0 + _BLOCK)
        A = K[i0:i1]
        d2 = (A * A).sum(1)[:, None] + c2[None, :] - 2.0 * (A @ centres.T)
        pos = np.arange(i0, i1)[:, None]
        # a key may join only centres opened at or before its own position
        d2 = np.where(centre_index[None, :] <= pos, d2, np.inf)
        labels[i0:i1] = np.argmin(d2, axis=1)
    # a key that opened a cluster belongs to it (guards against round-off ties)
    labels[centre_index] = np.arange(centre_index.size)
    return ThresholdClustering(centre_index=centre_index, labels=labels,
                               centres=centres, delta=delta)
