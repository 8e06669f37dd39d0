r"""Two variants of SubGen (:mod:`kvtheory.algorithms.subgen`) discussed in the
book's caveats, for like-for-like comparison with the entrywise lower bounds:
:class:`ClusterCentres` (deterministic, scores each cluster at its centre) and
:class:`SubGenEntrywise` (nonnegative values, per-coordinate weighted
sampling). Both use SubGen's threshold clustering.
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_int, check_real, check_rng
from ..memory import WORD_BITS, MemoryLedger
from .subgen import RNG_STATE_WORDS, _Clustered, _Clusters

__all__ = ["ClusterCentres", "SubGenEntrywise"]


class ClusterCentres(_Clustered):
    r"""Deterministic clustering: score each cluster at its centre.

    The book's like-for-like variant for the entrywise notion (Caveat 1).
    The state is :math:`(c_j,n_j,\sum_{i\in j}v_i)` per cluster, with the
    clustering rule of :class:`SubGen`; the output is

    .. math:: \hat z=\frac{\sum_j e^{\langle q,c_j\rangle}\,\sum_{i\in j}v_i}
                          {\sum_j n_j\,e^{\langle q,c_j\rangle}} .

    Every member of cluster :math:`j` is within ``delta`` of :math:`c_j`, so
    for :math:`\|q\|\le r` each weight is off by a factor in
    :math:`[e^{-\Delta r},e^{\Delta r}]`; for nonnegative values this is
    :math:`\mathrm E_\eta` with :math:`\eta=e^{2\Delta r}-1`.

    Parameters
    ----------
    delta : float
        Clustering threshold, ``delta >= 0``.
    dtype : numpy floating dtype, default float64
        Storage precision of centres and value sums.

    Notes
    -----
    Memory: :math:`b\,m(d+d_v)` bits for centres and value sums, plus one
    word per count and per cached squared centre norm, the token counter and
    the cluster counter. No randomness.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> alg = kv.algorithms.ClusterCentres(delta=0.1)
    >>> for k, v in [([1.0, 0.0], [1.0]), ([1.05, 0.0], [3.0]), ([0.0, 1.0], [2.0])]:
    ...     alg.append(np.array(k), np.array(v))
    >>> alg.n_clusters
    2
    >>> alg.memory_bits() == 64 * 2 * (2 + 1) + 64 * (2 * 2 + 2)
    True
    """

    name = "cluster centres"
    kind = "oblivious"

    def __init__(self, delta: float, dtype=np.float64) -> None:
        super().__init__()
        self.delta = check_real(delta, "delta", lo=0.0)
        self._set_dtype(dtype)
        self._delta2 = self.delta ** 2
        self._cl: _Clusters | None = None

    def _append(self, k, v):
        if self._cl is None:
            self._cl = _Clusters(self.d, 0, self.dtype)
            self._vsum = np.zeros((16, self.d_v), dtype=self.dtype)
        cl = self._cl
        j, _ = cl.assign(k, self._delta2)
        if self._vsum.shape[0] < cl.centres.shape[0]:
            self._vsum = np.concatenate(
                [self._vsum, np.zeros((cl.centres.shape[0] - self._vsum.shape[0], self.d_v),
                                      dtype=self.dtype)])
        cl.counts[j] += 1
        self._vsum[j] += v

    def _attend(self, q):
        cl = self._cl
        m = cl.m
        sc = cl.centres[:m].astype(np.float64, copy=False) @ q
        w = np.exp(sc - np.max(sc))
        return (w @ self._vsum[:m].astype(np.float64, copy=False)) / (w @ cl.counts[:m])

    def memory_ledger(self) -> MemoryLedger:
        b = self.bits_per_number
        m = self.n_clusters
        led = MemoryLedger()
        led.add("cluster centres", m * (self.d or 0), b)
        led.add("cluster value sums", m * (self.d_v or 0), b)
        led.add("cluster counts", m, WORD_BITS)
        led.add("centre squared norms (cache)", m, 64)
        self._add_token_counter(led)
        led.add("cluster counter", 1, WORD_BITS)
        return led


class SubGenEntrywise(_Clustered):
    r"""SubGen with per-(cluster, coordinate) weighted sampling, for nonnegative values.

    The book's like-for-like variant for the entrywise notion (Caveat 1).
    The normaliser is Chapter 5's normaliser algorithm (as in :class:`SubGen`). For the
    numerator, cluster :math:`j` keeps the running sums
    :math:`a_{jl}=\sum_{i\in j}v_{il}` and, for each coordinate :math:`l`,
    ``t`` independent slots, each holding a key of the cluster drawn with
    probability :math:`v_{il}/a_{jl}` (the slot rule of Chapter 5's numerator algorithm with
    weights :math:`v_{il}`). Then

    .. math:: \hat N_l=\sum_j a_{jl}\,\frac1t\sum_{\text{slots }(j,l)}e^{\langle q,k\rangle}

    is unbiased, and since the terms of one cluster are within a factor
    :math:`e^{2\Delta r}` of each other, each cluster's estimate
    concentrates multiplicatively, giving entrywise accuracy.

    The guarantee proved in Chapter 5's caveats: for nonnegative values,
    :math:`\|q\|\le r`, :math:`\varepsilon\le1/3` and
    :math:`t\ge3e^{2\Delta r}\varepsilon^{-2}\ln(2dm/p)` (a union bound over
    the :math:`dm` (cluster, coordinate) pairs; the slots are independent,
    i.e. sampling with replacement), every coordinate satisfies
    :math:`|\hat z_l-z_l|\le3\varepsilon z_l` with probability at least
    :math:`1-2p` (the normaliser's reservoirs as in :class:`SubGen`, with
    ``t`` large enough for Chapter 5's SubGen guarantee);
    :math:`(1+\varepsilon)/(1-\varepsilon)\le1+3\varepsilon` needs
    :math:`\varepsilon\le1/3`.

    Parameters
    ----------
    delta : float
        Clustering threshold, ``delta >= 0``.
    t : int
        Reservoir capacity and slots per (cluster, coordinate), ``t >= 1``.
    seed : int or numpy.random.Generator
    dtype : numpy floating dtype, default float64

    Raises
    ------
    ValueError
        From ``append`` if a value has a negative entry.

    Notes
    -----
    Memory: :math:`b\,(md+Rd+m d_v+m d_v t d)` bits (centres, reservoir
    keys, sums :math:`a_{jl}`, slot keys; slots count once
    :math:`a_{jl}>0`), plus one word per count and per cached squared
    centre norm, the token and cluster
    counters and four words of generator state: :math:`O(d^2mt)` words.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> rng = np.random.default_rng(0)
    >>> K = 0.05 * rng.normal(size=(300, 3)); V = rng.random(size=(300, 2))
    >>> alg = kv.algorithms.SubGenEntrywise(delta=0.5, t=32, seed=0)
    >>> for k, v in zip(K, V):
    ...     alg.append(k, v)
    >>> q = np.ones(3)
    >>> f"{kv.entrywise_error(alg.attend(q), kv.attention(q, K, V)):.3f}"
    '0.014'
    """

    name = "SubGen (entrywise)"
    kind = "oblivious"

    def __init__(self, delta: float, t: int, seed=0, dtype=np.float64) -> None:
        super().__init__()
        self.delta = check_real(delta, "delta", lo=0.0)
        self.t = check_int(t, "t", lo=1)
        self._rng = check_rng(seed)
        self._set_dtype(dtype)
        self._delta2 = self.delta ** 2
        self._cl: _Clusters | None = None

    def _append(self, k, v):
        if np.any(v < 0):
            raise ValueError("v must be nonnegative for SubGenEntrywise")
        if self._cl is None:
            self._cl = _Clusters(self.d, self.t, self.dtype)
            self._a = np.zeros((16, self.d_v), dtype=self.dtype)
            self._slots = np.zeros((16, self.d_v, self.t, self.d), dtype=self.dtype)
        cl = self._cl
        u = self._rng.random(1 + self.d_v * self.t)
        j, _ = cl.assign(k, self._delta2)
        cap = cl.centres.shape[0]
        if self._a.shape[0] < cap:
            extra = cap - self._a.shape[0]
            self._a = np.concatenate([self._a, np.zeros((extra, self.d_v), dtype=self.dtype)])
            self._slots = np.concatenate(
                [self._slots, np.zeros((extra,) + self._slots.shape[1:], dtype=self.dtype)])
        cl.reservoir_add(j, k, u[0])
        self._a[j] += v
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(v > 0, v / self._a[j], 0.0)
        take = u[1:].reshape(self.d_v, self.t) < p[:, None]
        if take.any():
            self._slots[j][take] = k

    def _attend(self, q):
        cl = self._cl
        m = cl.m
        M_z, per_cluster = cl.log_normaliser(q)
        S = self._slots[:m].astype(np.float64, copy=False) @ q         # (m, d_v, t)
        M = max(M_z, float(np.max(S)))
        mean_e = np.exp(S - M).mean(axis=2)                           # (m, d_v)
        num = np.sum(self._a[:m].astype(np.float64, copy=False) * mean_e, axis=0)
        Z = float(np.sum(per_cluster)) * math.exp(M_z - M)
        return num / Z

    def memory_ledger(self) -> MemoryLedger:
        b = self.bits_per_number
        m = self.n_clusters
        d, d_v = self.d or 0, self.d_v or 0
        held = self._cl.held_keys() if self._cl is not None else 0
        filled = int(np.count_nonzero(self._a[:m] > 0)) if self._cl is not None else 0
        led = MemoryLedger()
        led.add("cluster centres", m * d, b)
        led.add("cluster counts", m, WORD_BITS)
        led.add("centre squared norms (cache)", m, 64)
        led.add("reservoir keys", held * d, b)
        led.add("cluster value sums", m * d_v, b)
        led.add("slot keys", filled * self.t * d, b)
        self._add_token_counter(led)
        led.add("cluster counter", 1, WORD_BITS)
        led.add("RNG state", RNG_STATE_WORDS, WORD_BITS)
        return led
