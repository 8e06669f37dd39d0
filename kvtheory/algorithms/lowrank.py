r"""Low-rank caches: project keys and values on a PCA basis learned online.

If the keys of a stream lie (nearly) in an :math:`r`-dimensional subspace,
:math:`r` coefficients per key suffice, and attention scores
:math:`\langle q,k\rangle=\langle B^\top q,B^\top k\rangle` are preserved by
the projection on that subspace. Low-rank KV methods (e.g. Eigen Attention,
Saxena et al. 2024) find the subspace by PCA (an SVD) of
calibration keys. A streaming algorithm has no calibration set, so
:class:`LowRankCache` learns the basis from a **prefix buffer**: the first
``prefix`` tokens are kept in full precision; when the buffer is full, the
top-``rank`` principal directions of the buffered keys (and, separately, of
the buffered values) are computed, every buffered token is replaced by its
coefficients, and all later tokens are stored as coefficients only. The
basis never changes after that: a stream whose subspace drifts defeats it.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_real_array, check_int
from ..attention import attention
from ..memory import MemoryLedger
from ..stream import StreamingAttention, _grow_rows

__all__ = ["LowRankCache", "pca_basis"]


def pca_basis(X, rank: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean and top-``rank`` principal directions of the rows of ``X``.

    Parameters
    ----------
    X : array_like, shape (m, d)
        Data, one row per point.
    rank : int
        Number of directions, ``1 <= rank``; at most ``min(m, d)`` are
        returned (fewer if ``X`` has fewer rows or columns).

    Returns
    -------
    mean : numpy.ndarray, shape (d,)
    B : numpy.ndarray, shape (d, r)
        Orthonormal columns, :math:`r=\min(\text{rank},m,d)`.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.algorithms.lowrank import pca_basis
    >>> X = np.outer(np.arange(5.0), [1.0, 1.0, 0.0])
    >>> mean, B = pca_basis(X, 1)
    >>> np.round(np.abs(B[:, 0]), 3).tolist()
    [0.707, 0.707, 0.0]
    """
    X = as_real_array(X, "X", ndim=2)
    rank = check_int(rank, "rank", lo=1)
    if X.shape[0] == 0:
        raise ValueError("X must have at least one row")
    mean = X.mean(axis=0)
    _, _, Vt = np.linalg.svd(X - mean, full_matrices=False)
    return mean, Vt[: min(rank, Vt.shape[0])].T


#: Entries per slice of :meth:`LowRankCache._extend` (the centred rows, then the product).
_LOWRANK_BLOCK = 1 << 16


class LowRankCache(StreamingAttention):
    r"""Keys and values as ``rank`` PCA coefficients, the basis learned from a prefix.

    Parameters
    ----------
    rank : int
        Coefficients kept per key and per value, ``>= 1`` (capped at the
        dimension).
    prefix : int, default 32
        Tokens buffered in full precision before the basis is computed,
        ``>= 1``.
    dtype : numpy floating dtype, default float32
        Precision of everything stored: buffer, bases, means, coefficients.

    Notes
    -----
    Memory (hand count). While fewer than ``prefix`` tokens have arrived:
    the buffer, ``n * (d + d_v)`` numbers. Afterwards, with
    :math:`r_k=\min(\text{rank},d,\text{prefix})` and
    :math:`r_v=\min(\text{rank},d_v,\text{prefix})`: the bases
    :math:`d\,r_k+d_v r_v` numbers, the means :math:`d+d_v`, the coefficients
    :math:`n(r_k+r_v)`, all at ``dtype``; plus a token counter
    (:data:`~kvtheory.memory.WORD_BITS`) in both phases. The prefix length is
    a parameter, not state.

    References
    ----------
    U. Saxena, G. Saha, S. Choudhary, K. Roy. Eigen Attention: Attention in
    Low-Rank Space for KV Cache Compression. Findings of EMNLP 2024,
    arXiv:2408.05646.

    Examples
    --------
    Keys and values in a 3-dimensional subspace are kept exactly at rank 3.

    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.algorithms.lowrank import LowRankCache
    >>> rng = np.random.default_rng(0)
    >>> U = np.linalg.qr(rng.normal(size=(16, 3)))[0]
    >>> K = rng.normal(size=(60, 3)) @ U.T
    >>> V = rng.normal(size=(60, 3)) @ U.T
    >>> cache = LowRankCache(rank=3, prefix=20, dtype=np.float64)
    >>> for k, v in zip(K, V):
    ...     cache.append(k, v)
    >>> q = rng.normal(size=16)
    >>> bool(np.max(np.abs(cache.attend(q) - kv.attention(q, K, V))) < 1e-10)
    True
    >>> cache.memory_bits() == (16 * 3 * 2 + 16 * 2 + 60 * 6) * 64 + 64
    True
    """

    name = "low-rank (PCA)"
    kind = "oblivious"

    def __init__(self, rank: int, *, prefix: int = 32, dtype=np.float32) -> None:
        super().__init__()
        self.rank = check_int(rank, "rank", lo=1)
        self.prefix = check_int(prefix, "prefix", lo=1)
        self._set_dtype(dtype)
        self.name = f"low-rank r={self.rank}"
        self._bufK: list[np.ndarray] = []
        self._bufV: list[np.ndarray] = []
        self._basis = None          # (mean_k, B_k, mean_v, B_v) at dtype, as float64
        self._CK = self._CV = None  # coefficients: growing buffers, first _nc rows in use
        self._nc = 0

    def _store(self, x):
        return np.asarray(x, dtype=np.float64).astype(self.dtype).astype(np.float64)

    @property
    def basis_learned(self) -> bool:
        """Whether the prefix is complete and the basis fixed."""
        return self._basis is not None

    def _append(self, k, v):
        if self._basis is None:
            self._bufK.append(self._store(k))
            self._bufV.append(self._store(v))
            if len(self._bufK) == self.prefix:
                Kb, Vb = np.array(self._bufK), np.array(self._bufV)
                mk, Bk = pca_basis(Kb, self.rank)
                mv, Bv = pca_basis(Vb, self.rank)
                self._basis = tuple(self._store(a) for a in (mk, Bk, mv, Bv))
                mk, Bk, mv, Bv = self._basis
                self._put_coefficients(self._store((Kb - mk) @ Bk), self._store((Vb - mv) @ Bv))
                self._bufK, self._bufV = [], []
            return
        mk, Bk, mv, Bv = self._basis
        self._put_coefficients(self._store((k - mk) @ Bk)[None, :],
                               self._store((v - mv) @ Bv)[None, :])

    def _put_coefficients(self, CK, CV) -> None:
        n, m = self._nc, CK.shape[0]
        self._CK, self._CV = _grow_rows((self._CK, self._CV), n + m,
                                        (CK.shape[1], CV.shape[1]), np.float64)
        self._CK[n:n + m] = CK
        self._CV[n:n + m] = CV
        self._nc = n + m

    def _extend(self, K, V):
        # the prefix (at most `prefix` tokens) through the loop, which learns the basis;
        # the rest as one product per block (equal to the rows up to the last bit)
        head = 0 if self._basis is not None else min(K.shape[0], self.prefix - len(self._bufK))
        if head:
            super()._extend(K[:head], V[:head])
        if head < K.shape[0]:
            mk, Bk, mv, Bv = self._basis
            L = K.shape[0]
            step = max(1, _LOWRANK_BLOCK // max(self.d, self.d_v))   # cache-sized slices
            for a in range(head, L, step):
                b = min(L, a + step)
                self._put_coefficients(self._store((K[a:b] - mk) @ Bk),
                                       self._store((V[a:b] - mv) @ Bv))
            self.n_seen += L - head

    def reconstructed(self) -> tuple[np.ndarray, np.ndarray]:
        """The keys and values the cache can reproduce, in arrival order."""
        if self._basis is None:
            return np.array(self._bufK), np.array(self._bufV)
        mk, Bk, mv, Bv = self._basis
        m = self._nc
        return mk + self._CK[:m] @ Bk.T, mv + self._CV[:m] @ Bv.T

    def _attend(self, q):
        K, V = self.reconstructed()
        return attention(q, K, V)

    def memory_ledger(self) -> MemoryLedger:
        b = self.bits_per_number
        d, d_v, n = self.d or 0, self.d_v or 0, self.n_seen
        led = MemoryLedger()
        if self._basis is None:
            led.add("prefix buffer", n * (d + d_v), b)
        else:
            rk, rv = self._basis[1].shape[1], self._basis[3].shape[1]
            led.add("bases", d * rk + d_v * rv, b)
            led.add("means", d + d_v, b)
            led.add("coefficients", n * (rk + rv), b)
        return self._add_token_counter(led)
