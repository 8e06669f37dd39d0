r"""SubGen: threshold clustering for the normaliser, value-norm sampling for the numerator.

SubGen :cite:`zandieh2024subgen` approximates attention as a ratio of two
estimates, :math:`\hat z=\hat N/\hat Z`, where

* :math:`Z=\sum_i e^{\langle q,k_i\rangle}` (the softmax normaliser) is
  estimated from an online threshold clustering of the keys with a uniform
  reservoir of at most ``t`` keys per cluster (the normaliser algorithm of Chapter 5);
* :math:`N=\sum_i e^{\langle q,k_i\rangle}v_i` (the numerator) is estimated
  from ``s`` independent slots, each holding one token sampled with
  probability proportional to :math:`\|v_i\|^2` (Chapter 5's numerator algorithm).

When the keys fall into few clusters the state has :math:`O(d(mt+s))` words,
sublinear in the number of tokens. Two variants discussed in the book's
caveats, :class:`~kvtheory.algorithms.subgen_variants.ClusterCentres` and
:class:`~kvtheory.algorithms.subgen_variants.SubGenEntrywise`, live in
:mod:`kvtheory.algorithms.subgen_variants`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._validate import check_int, check_real, check_rng
from ..memory import WORD_BITS, MemoryLedger
from ..stream import StreamingAttention
from ._rows import row_dots

__all__ = ["SubGen", "SubGenEstimates", "RNG_STATE_WORDS"]

#: Words charged for the state of numpy's default bit generator (PCG64 keeps
#: a 128-bit state and a 128-bit increment between draws).
RNG_STATE_WORDS = 4


class SubGenEstimates(NamedTuple):
    r"""The two estimates of SubGen in shifted form.

    The true estimates are :math:`\hat N=e^{\text{shift}}\,\text{numerator}`
    and :math:`\hat Z=e^{\text{shift}}\,\text{normaliser}`; the common shift
    (the largest score the state sees) keeps both finite for any scores.
    """

    numerator: np.ndarray
    normaliser: float
    shift: float


class _Clusters:
    """Growing arrays of centres, counts and a ``(capacity, width, d)`` reservoir.

    The reservoir's ``width`` (slots per cluster) starts at ``min(t, 8)`` and
    doubles, up to ``t``, when a cluster first holds more keys: the arrays
    stay about as large as the largest reservoir, not ``t`` per cluster
    (with ``t`` in the thousands and one key per cluster, that was gigabytes
    for a few kilobytes held). Shared by the SubGen variants; every method is
    O(1) numpy calls.
    """

    def __init__(self, d: int, t: int, dtype, initial: int = 16):
        self.d, self.t, self.dtype = d, t, dtype
        self.m = 0
        self.centres = np.zeros((initial, d), dtype=dtype)
        self.counts = np.zeros(initial, dtype=np.int64)
        self.sqnorms = np.zeros(initial)             # ||c_j||^2, a cache of the centres
        self.reservoir = np.zeros((initial, min(t, 8), d), dtype=dtype) if t > 0 else None

    def _grow(self):
        cap = self.centres.shape[0]
        self.centres = np.concatenate([self.centres, np.zeros_like(self.centres)])
        self.counts = np.concatenate([self.counts, np.zeros(cap, dtype=np.int64)])
        self.sqnorms = np.concatenate([self.sqnorms, np.zeros(cap)])
        if self.reservoir is not None:
            self.reservoir = np.concatenate([self.reservoir, np.zeros_like(self.reservoir)])

    def widen(self, need: int) -> None:
        """Room for ``need`` (``<= t``) keys in every cluster's reservoir."""
        width = self.reservoir.shape[1]
        if need <= width:
            return
        new = np.zeros((self.reservoir.shape[0], min(self.t, max(need, 2 * width)), self.d),
                       dtype=self.dtype)
        new[:, :width] = self.reservoir
        self.reservoir = new

    def assign(self, k: np.ndarray, delta2: float) -> tuple[int, bool]:
        """Index of the cluster ``k`` joins (opening one if needed), and whether it opened."""
        m = self.m
        kk = float(k @ k)
        if m:
            # ||c - k||^2 = ||c||^2 - 2<c, k> + ||k||^2: one matrix-vector product
            dist2 = self.sqnorms[:m] - 2.0 * (self.centres[:m] @ k)
            j = int(dist2.argmin())
            if dist2[j] + kk <= delta2:
                return j, False
        if m == self.centres.shape[0]:
            self._grow()
        self.centres[m] = k
        c = self.centres[m].astype(np.float64)
        self.sqnorms[m] = c @ c
        self.m = m + 1
        return m, True

    def reservoir_add(self, j: int, k: np.ndarray, u: float) -> None:
        """Algorithm R (Vitter): count token ``k`` in cluster ``j``; ``u`` is a uniform draw."""
        c = int(self.counts[j]) + 1
        self.counts[j] = c
        t = self.t
        if c <= t:
            self.widen(c)
            self.reservoir[j, c - 1] = k
        else:
            r = int(u * c)               # uniform on {0, ..., c-1}
            if r < t:
                self.reservoir[j, r] = k

    def sizes(self) -> np.ndarray:
        return np.minimum(self.counts[: self.m], self.t)

    def held_keys(self) -> int:
        return int(np.sum(self.sizes())) if self.t > 0 else 0

    def log_normaliser(self, q: np.ndarray) -> tuple[float, np.ndarray]:
        r"""``(M, terms)`` with :math:`\hat Z=e^M\sum` terms (one term per cluster)."""
        m, t = self.m, self.t
        R = self.reservoir[:m].astype(np.float64, copy=False)
        sc = R @ q                                           # (m, width)
        sizes = np.minimum(self.counts[:m], t)
        valid = np.arange(R.shape[1])[None, :] < sizes[:, None]
        sc = np.where(valid, sc, -np.inf)
        M = float(np.max(sc))
        per_cluster = np.exp(sc - M).sum(axis=1) * (self.counts[:m] / sizes)
        return M, per_cluster


class _Clustered(StreamingAttention):
    """Base of :class:`SubGen` and its variants: keys clustered by :class:`_Clusters`,
    kept in ``_cl`` (``None`` before the first token)."""

    _cl: _Clusters | None = None

    @property
    def n_clusters(self) -> int:
        """Current number of clusters :math:`m`."""
        return 0 if self._cl is None else self._cl.m


class SubGen(_Clustered):
    r"""SubGen: clustered reservoirs for :math:`Z`, value-norm slots for :math:`N`.

    **Normaliser** (Chapter 5's normaliser algorithm). Each cluster :math:`j` keeps a centre
    :math:`c_j`, a count :math:`n_j` and a reservoir :math:`R_j` of at most
    ``t`` keys. A key more than ``delta`` from every centre opens a new
    cluster and becomes its centre; otherwise it joins a nearest centre. The
    reservoir keeps a uniform random subset of the cluster's keys
    (reservoir sampling, Algorithm R :cite:`vitter1985random`), and
    :math:`\hat Z=\sum_j\frac{n_j}{|R_j|}\sum_{k\in R_j}e^{\langle q,k\rangle}`.

    **Numerator** (Chapter 5's numerator algorithm). With :math:`F=\sum_i\|v_i\|^2`, each of
    ``s`` independent slots replaces its token by the arriving one with
    probability :math:`\|v\|^2/F`; a slot then holds token :math:`i` with
    probability :math:`\|v_i\|^2/F` (telescoping), and
    :math:`\hat N=\frac1s\sum_{\text{slots}}e^{\langle q,k\rangle}vF/\|v\|^2`
    is unbiased (length-squared sampling as in Drineas, Kannan and Mahoney).

    The output is :math:`\hat N/\hat Z`, computed with a common max-shift so
    scores of any size are safe.

    Parameters
    ----------
    delta : float
        Clustering threshold :math:`\Delta\ge0` (Euclidean distance).
    t : int
        Reservoir capacity per cluster, ``t >= 1``.
    s : int
        Number of value-norm sampling slots, ``s >= 1``.
    seed : int or numpy.random.Generator
        Source of all random choices.
    dtype : numpy floating dtype, default float64
        Storage precision of centres, reservoir keys and slot contents.

    Attributes
    ----------
    n_clusters : int
        The current number of clusters :math:`m`.
    centres : numpy.ndarray, shape (m, d)
        The cluster centres (read-only view).
    cluster_counts : numpy.ndarray, shape (m,)
        Tokens per cluster :math:`n_j` (read-only view).

    Notes
    -----
    *Memory.* With :math:`b` the storage precision, :math:`m` clusters,
    :math:`R=\sum_j\min(n_j,t)` reservoir keys and ``d_v`` the value
    dimension, ``memory_bits()`` is

    .. math::
        b\,\bigl(md + Rd + s(d+d_v+1)\bigr) + 64\,(2m + 1 + 1 + 1 + 4),

    i.e. centres, reservoir keys and the slots' :math:`(k,v,\|v\|^2)` at
    precision :math:`b`, plus one 64-bit word each for the :math:`m` counts,
    the :math:`m` squared centre norms (a float64 cache of the centres that
    makes the distance computation one matrix-vector product), the float64
    accumulator :math:`F`, the token counter and the cluster counter, and
    four words of PCG64 generator state. Slot contents count
    once :math:`F>0` (before the first nonzero value every slot is empty).
    Reservoir sizes are :math:`\min(n_j,t)`, so they cost nothing extra.

    *Time.* An update costs :math:`O(md+s)` numpy work (distances to the
    centres, one vector of ``s + 1`` uniforms) plus :math:`O(d)` per
    replaced slot, with no Python loop over clusters or slots; ``attend``
    costs :math:`O(d(mt+s))`.

    References
    ----------
    .. [1] A. Zandieh, I. Han, V. Mirrokni, A. Karbasi. SubGen: Token
       Generation in Sublinear Time and Memory. arXiv:2402.06082, 2024.
    .. [2] J. S. Vitter. Random Sampling with a Reservoir. ACM TOMS
       11(1):37-57, 1985.

    Raises
    ------
    ValueError
        From ``append`` if a key or value entry, or the squared value norm
        :math:`\|v\|^2`, exceeds the largest finite number of ``dtype``
        (with ``float32``, about :math:`3.4\cdot10^{38}`): stored, it would
        become infinite and the output NaN. The state is left unchanged.
    FloatingPointError
        From ``attend`` if the estimate exceeds the float range (a slot key
        scoring over about 745 above every reservoir key).

    Examples
    --------
    Keys from three tight clusters give three clusters, whatever ``n``:

    >>> import numpy as np, kvtheory as kv
    >>> rng = np.random.default_rng(0)
    >>> centres = rng.normal(size=(3, 4))
    >>> K = centres[rng.integers(0, 3, size=500)] + 0.01 * rng.normal(size=(500, 4))
    >>> V = rng.normal(size=(500, 4))
    >>> alg = kv.algorithms.SubGen(delta=0.3, t=8, s=64, seed=1)
    >>> for k, v in zip(K, V):
    ...     alg.append(k, v)
    >>> alg.n_clusters
    3
    >>> q = 0.5 * centres[0]
    >>> f"{kv.l2_error_ratio(alg.attend(q), q, K, V):.2f}"
    '0.17'
    >>> alg.memory_bits() == 64 * (3*4 + 24*4 + 64*(4+4+1)) + 64 * (2*3 + 3 + 4)
    True
    """

    name = "SubGen"
    kind = "oblivious"

    def __init__(self, delta: float, t: int, s: int, seed=0, dtype=np.float64) -> None:
        super().__init__()
        self.delta = check_real(delta, "delta", lo=0.0)
        self.t = check_int(t, "t", lo=1)
        self.s = check_int(s, "s", lo=1)
        self._rng = check_rng(seed)
        self._set_dtype(dtype)
        self._delta2 = self.delta * self.delta
        self._cl: _Clusters | None = None
        self._F = 0.0

    # ------------------------------------------------------------ state
    def _allocate(self):
        self._cl = _Clusters(self.d, self.t, self.dtype)
        self._sk = np.zeros((self.s, self.d), dtype=self.dtype)
        self._sv = np.zeros((self.s, self.d_v), dtype=self.dtype)
        self._sa = np.ones(self.s, dtype=self.dtype)      # ||v||^2 of each slot's token

    def _ro(self, arr):
        out = arr.view()
        out.flags.writeable = False
        return out

    @property
    def centres(self) -> np.ndarray:
        """Cluster centres, shape ``(n_clusters, d)`` (read-only)."""
        if self._cl is None:
            return np.empty((0, 0))
        return self._ro(self._cl.centres[: self._cl.m])

    @property
    def cluster_counts(self) -> np.ndarray:
        """Tokens per cluster, shape ``(n_clusters,)`` (read-only)."""
        if self._cl is None:
            return np.empty(0, dtype=np.int64)
        return self._ro(self._cl.counts[: self._cl.m])

    @property
    def value_mass(self) -> float:
        r""":math:`F=\sum_i\|v_i\|^2` so far."""
        return self._F

    @property
    def slot_keys(self) -> np.ndarray:
        r"""The key held by each of the ``s`` slots, shape ``(s, d)`` (read-only).

        Rows are zero until the first token with a nonzero value arrives.
        A slot holds token :math:`i` with probability :math:`\|v_i\|^2/F`.

        Examples
        --------
        >>> import numpy as np, kvtheory as kv
        >>> alg = kv.algorithms.SubGen(delta=0.1, t=1, s=3, seed=0)
        >>> alg.append(np.array([1.0, 0.0]), np.array([1.0]))
        >>> alg.slot_keys.tolist()        # one token so far: every slot holds it
        [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]
        """
        if self._cl is None:
            return np.empty((self.s, 0))
        return self._ro(self._sk)

    # ------------------------------------------------------------ hooks
    def _check_range(self, k, v) -> float:
        """``||v||^2``, after checking that it fits the storage precision.

        The slots store the squared value norm (and the running mass ``F``
        sums them); beyond the largest finite number of ``dtype`` it would be
        stored as infinity and turn the output into NaN or 0 silently. (Key
        and value entries beyond it are refused by the base class,
        :meth:`~kvtheory.StreamingAttention.append`.)
        """
        big = float(np.finfo(self.dtype).max)
        with np.errstate(over="ignore"):
            a = float(np.dot(v.astype(np.float64), v.astype(np.float64)))
        if not math.isfinite(a) or a > big or not math.isfinite(self._F + a):
            raise ValueError(
                f"{self.name}: the squared value norm {a:.3g} (or the running mass F) exceeds "
                f"the {self.dtype.name} range of the slots; use dtype=np.float64 or rescale "
                "the values")
        return a

    def _extend(self, K, V):
        """A block at once, leaving the state of the ``append`` loop (same draws, same
        clusters, same reservoirs and slots).

        The draws are one ``random((L, s + 1))`` (the stream of ``L`` calls of
        ``random(s + 1)``). Clustering stays greedy and in order, but in
        chunks: the distances of the chunk's keys to the centres are one
        matrix product, kept up to date column by column as centres open; a
        key is assigned from them when its decision (the nearest centre, and
        whether it lies within ``delta``) holds with a margin far above the
        rounding of the product, and otherwise by the loop's own
        matrix-vector product, so the clusters are exactly the loop's.
        Algorithm R and the value-weighted slots are then vectorised: each
        reservoir cell and slot ends with the last token that wrote it.
        """
        L = K.shape[0]
        big = float(np.finfo(self.dtype).max)
        with np.errstate(over="ignore"):
            a = row_dots(V)                      # the loop's np.dot, bit for bit
        # (entries beyond the storage range were refused whole by the base class)
        if not np.isfinite(a).all() or bool((a > big).any()):   # the loop raises at that row
            self._extend_loop_from(K, V)
            return
        F = np.cumsum(np.concatenate([[self._F], a]))     # sequential, as the loop adds
        if not math.isfinite(F[-1]):
            self._extend_loop_from(K, V)
            return
        if self._cl is None:
            self._allocate()
        U = self._rng.random((L, self.s + 1))
        cl = self._cl
        J = self._assign_block(K)
        # Algorithm R per cluster: token i is the c-th of its cluster
        order = np.argsort(J, kind="stable")
        Js = J[order]
        first = np.searchsorted(Js, Js, side="left")
        c = cl.counts[Js] + (np.arange(L) - first) + 1     # 1-based count after token
        slot = np.where(c <= self.t, c - 1, (U[order, 0] * c).astype(np.int64))
        ok = slot < self.t
        tok, cells = order[ok], Js[ok] * self.t + slot[ok]
        _, last = np.unique(cells[::-1], return_index=True)
        w = tok[::-1][last]
        wc = cells[::-1][last]
        if wc.size:
            cl.widen(int((wc % self.t).max()) + 1)
        cl.reservoir[wc // self.t, wc % self.t] = K[w]
        np.add.at(cl.counts, J, 1)
        # value-weighted slots: token i takes slot l when u < a_i / F_i (a_i > 0)
        pos = a > 0
        take = (U[:, 1:] < (a / np.where(F[1:] > 0, F[1:], 1.0))[:, None]) & pos[:, None]
        hit = take.any(axis=0)
        lastrow = L - 1 - np.argmax(take[::-1], axis=0)
        sl = np.flatnonzero(hit)
        rows = lastrow[hit]
        self._sk[sl] = K[rows]
        self._sv[sl] = V[rows]
        self._sa[sl] = a[rows]
        self._F = float(F[-1])
        self.n_seen += L

    def _extend_loop_from(self, K, V):
        """Append the block row by row (to raise where, and as, the loop raises)."""
        for k, v in zip(K, V, strict=True):
            self._append(k, v)
            self.n_seen += 1

    def _assign_block(self, K, chunk: int = 256) -> np.ndarray:
        """Greedy cluster of every row of ``K``, in order, exactly as ``assign`` decides.

        Per chunk, each key's nearest and second-nearest centre (by the bulk
        product, updated as centres open) screen the decision; a key whose
        decision is within the margin of a tie or of the threshold, and every
        key that opens a centre, goes through :meth:`_Clusters.assign`.
        """
        cl = self._cl
        L = K.shape[0]
        J = np.empty(L, dtype=np.int64)
        kk = np.einsum("ij,ij->i", K, K)
        for a0 in range(0, L, chunk):
            Kc = K[a0:a0 + chunk]
            r = Kc.shape[0]
            m0 = cl.m
            best = np.full(r, np.inf)
            second = np.full(r, np.inf)
            bidx = np.zeros(r, dtype=np.int64)
            if m0:
                D = cl.sqnorms[:m0][None, :] - 2.0 * (Kc @ cl.centres[:m0].T.astype(np.float64))
                bidx = D.argmin(axis=1)
                best = D[np.arange(r), bidx]
                if m0 > 1:
                    second = np.partition(D, 1, axis=1)[:, 1]
            smax = float(np.max(cl.sqnorms[:m0])) if m0 else 0.0
            kc = kk[a0:a0 + r]
            i = 0
            while i < r:
                # clearly the nearest centre and clearly within delta: far above the rounding
                if cl.m:
                    tol = 1e-9 * (kc[i:] + smax + 1.0)
                    with np.errstate(invalid="ignore"):        # inf - inf: one centre only
                        clear = ((second[i:] - best[i:] > tol)
                                 & (best[i:] + kc[i:] <= self._delta2 - tol))
                    stop = np.flatnonzero(~clear)
                else:
                    stop = np.arange(r - i)
                f = i + (int(stop[0]) if stop.size else r - i)
                J[a0 + i:a0 + f] = bidx[i:f]
                if f == r:
                    break
                j, opened = cl.assign(Kc[f], self._delta2)   # the loop's own computation
                J[a0 + f] = j
                i = f + 1
                if opened and i < r:
                    c = cl.centres[j].astype(np.float64)
                    smax = max(smax, float(cl.sqnorms[j]))
                    col = cl.sqnorms[j] - 2.0 * (Kc[i:] @ c)
                    b, sc, bi = best[i:], second[i:], bidx[i:]
                    lower = col < b
                    sc[:] = np.where(lower, b, np.minimum(sc, col))
                    bi[:] = np.where(lower, j, bi)
                    b[:] = np.where(lower, col, b)
        return J

    def _append(self, k, v):
        a = self._check_range(k, v)             # before any state changes
        if self._cl is None:
            self._allocate()
        u = self._rng.random(self.s + 1)        # one draw for the reservoir, s for the slots
        cl = self._cl
        j, _ = cl.assign(k, self._delta2)
        cl.reservoir_add(j, k, u[0])
        if a > 0.0:
            self._F += a
            take = u[1:] < a / self._F
            if take.any():
                self._sk[take] = k
                self._sv[take] = v
                self._sa[take] = a

    def estimates(self, q, n_slots: int | None = None) -> SubGenEstimates:
        r"""The estimates :math:`\hat N` and :math:`\hat Z` for query ``q``, in shifted form.

        Parameters
        ----------
        q : array_like, shape (d,)
            The query.
        n_slots : int, optional
            Use only the first ``n_slots`` slots for :math:`\hat N`. The slots
            are independent, so these are distributed exactly as the slots of
            a SubGen with ``s = n_slots``: one run serves every smaller budget.

        Returns
        -------
        SubGenEstimates
            ``(numerator, normaliser, shift)`` with
            :math:`\hat N=e^{\text{shift}}\cdot` ``numerator`` and
            :math:`\hat Z=e^{\text{shift}}\cdot` ``normaliser``.

        Raises
        ------
        ValueError
            If nothing was appended, ``q`` is not a finite vector of length
            ``d``, or ``n_slots`` is not in ``1..s``.

        Examples
        --------
        >>> import numpy as np, kvtheory as kv
        >>> alg = kv.algorithms.SubGen(delta=0.5, t=4, s=8, seed=0)
        >>> alg.append(np.array([1.0, 0.0]), np.array([2.0]))
        >>> est = alg.estimates(np.array([3.0, 0.0]))
        >>> f"{est.normaliser * np.exp(est.shift):.4f}", f"{np.exp(3.0):.4f}"
        ('20.0855', '20.0855')
        """
        q = self._check_query(q, "an estimate")
        s = self.s if n_slots is None else check_int(n_slots, "n_slots", lo=1, hi=self.s)
        return self._estimates(q, s)

    def _estimates(self, q, n_slots=None):
        s = self.s if n_slots is None else n_slots
        M_z, per_cluster = self._cl.log_normaliser(q)
        if self._F > 0.0:
            ss = self._sk[:s].astype(np.float64, copy=False) @ q
            M = max(M_z, float(np.max(ss)))
            coef = np.exp(ss - M) * (self._F / (s * self._sa[:s].astype(np.float64)))
            num = coef @ self._sv[:s].astype(np.float64, copy=False)
        else:
            M = M_z
            num = np.zeros(self.d_v)
        Z = float(np.sum(per_cluster)) * math.exp(M_z - M)
        return SubGenEstimates(numerator=num, normaliser=Z, shift=M)

    def _attend(self, q):
        est = self._estimates(q)
        if est.normaliser == 0.0:
            # A sampled slot key scores over ~745 above every reservoir key:
            # the estimate itself exceeds the float range.
            raise FloatingPointError(
                "SubGen's estimate overflows: a sampled key scores over 700 above "
                "every reservoir key")
        return est.numerator / est.normaliser

    # ------------------------------------------------- budget helper (the bench)
    @staticmethod
    def bits_for(d: int, d_v: int, *, n_clusters: int, reservoir_keys: int, s: int,
                 dtype=np.float64, filled: bool = True) -> int:
        r"""``memory_bits()`` of a SubGen in a given state, in closed form (its ledger's count).

        .. math::
            b\,\bigl(md + Rd + [F>0]\,s(d+d_v+1)\bigr) + 64\,(2m + 7),

        with :math:`m` = ``n_clusters``, :math:`R` = ``reservoir_keys``
        (:math:`\sum_j\min(n_j,t)`) and :math:`b` the bits of ``dtype``
        (see the class's Notes). The state enters only through :math:`m`,
        :math:`R` and whether a nonzero value has arrived (``filled``), so a
        budget can be checked against an estimate of :math:`m` and :math:`R`
        (the benchmark's, :data:`kvtheory.bench.methods.SAMPLE_TOKENS`).

        Raises
        ------
        ValueError, TypeError
            For negative counts or a bad dtype.

        Examples
        --------
        >>> import numpy as np, kvtheory as kv
        >>> rng = np.random.default_rng(0)
        >>> alg = kv.algorithms.SubGen(delta=1.0, t=4, s=8, seed=0, dtype=np.float32)
        >>> _ = alg.extend(rng.normal(size=(200, 6)), rng.normal(size=(200, 3)))
        >>> R = int(np.minimum(alg.cluster_counts, 4).sum())
        >>> kv.algorithms.SubGen.bits_for(6, 3, n_clusters=alg.n_clusters, reservoir_keys=R,
        ...                               s=8, dtype=np.float32) == alg.memory_bits()
        True
        """
        from ..memory import float_bits

        d = check_int(d, "d", lo=0)
        d_v = check_int(d_v, "d_v", lo=0)
        m = check_int(n_clusters, "n_clusters", lo=0)
        R = check_int(reservoir_keys, "reservoir_keys", lo=0)
        s = check_int(s, "s", lo=1)
        b = float_bits(dtype)
        slots = s * (d + d_v + 1) if filled else 0
        words = WORD_BITS * (m + 1 + 1 + RNG_STATE_WORDS)   # counts, counters, RNG state
        return b * (m * d + R * d + slots) + words + 64 * (m + 1)   # + squared norms, F

    def memory_ledger(self) -> MemoryLedger:
        b = self.bits_per_number
        led = MemoryLedger()
        m = self.n_clusters
        d = self.d or 0
        d_v = self.d_v or 0
        held = self._cl.held_keys() if self._cl is not None else 0
        filled = self.s if self._F > 0.0 else 0
        led.add("cluster centres", m * d, b)
        led.add("cluster counts", m, WORD_BITS)
        led.add("centre squared norms (cache)", m, 64)
        led.add("reservoir keys", held * d, b)
        led.add("slot keys", filled * d, b)
        led.add("slot values", filled * d_v, b)
        led.add("slot value norms", filled, b)
        led.add("value mass F", 1, 64)
        self._add_token_counter(led)
        led.add("cluster counter", 1, WORD_BITS)
        led.add("RNG state", RNG_STATE_WORDS, WORD_BITS)
        return led
