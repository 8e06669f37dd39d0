r"""Balancing instead of sampling: the self-balancing walk and a merge-and-reduce cache.

Attention is a ratio of two kernel sums, :math:`Z(q)=\sum_i e^{\langle q,k_i\rangle}`
and :math:`U(q)=\sum_i e^{\langle q,k_i\rangle}v_i`. Keeping a random half of
the tokens (with weight 2) estimates both with an error of order
:math:`\sqrt m` terms; keeping a half chosen by **vector balancing** does
better. Through the feature map of the kernel

.. math::
    \langle\psi_i,\psi_j\rangle=e^{\lambda^2\langle k_i,k_j\rangle}\,(1+\langle v_i,v_j\rangle),

pair the points of a block, and let a sign per pair choose which member
survives: the error of the kept half against any linear functional is a
signed sum of the pair differences :math:`u_p=\psi_a-\psi_b`, and the
self-balancing walk of Alweiss, Liu and Sawhney keeps every such signed sum
small. The walk only needs the Gram matrix of the :math:`u_p`, i.e. kernel
evaluations, so it runs in the (infinite-dimensional) feature space unchanged.

* :func:`self_balancing_walk`: Gram entries in, signs out.
* :func:`difference_gram`: the Gram matrix of the pair differences of a block.
* :func:`halve`: one halving (pairing, walk, choice of the survivors).
* :class:`BalanceKV`: the streaming cache (blocks of ``block`` tokens, merged
  and halved like a binary counter), Chapter 11's algorithm.

References
----------
.. [1] R. Alweiss, Y. P. Liu, M. Sawhney. Discrepancy minimization via a
   self-balancing walk. STOC 2021 (arXiv:2006.14009).
.. [2] I. Han, M. Kapralov, E. Kochetkova, K. Sheth, A. Zandieh. BalanceKV:
   KV cache compression through discrepancy theory. arXiv:2502.07861, 2025;
   NeurIPS 2025 as *Streaming attention approximation via discrepancy theory*.
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import as_real_array, check_choice, check_int, check_real, check_rng
from ..attention import softmax
from ..memory import WORD_BITS, MemoryLedger, float_bits
from ..stream import StreamingAttention
from .sampling import RNG_STATE_BITS

__all__ = ["self_balancing_walk", "difference_gram", "halve", "theory_threshold",
           "DEFAULT_C", "BalanceKV"]


def theory_threshold(m: int, delta: float = 0.5) -> float:
    r"""The walk threshold of the cited analysis' form, :math:`c=\ln(2m/\delta)`.

    The cited guarantee takes :math:`c` of order :math:`\log(m/\delta)`; this
    is one concrete choice of that order (the constant is ours). The
    library's default threshold is the smaller :data:`DEFAULT_C`, which
    balances better in practice and lets the walk clip more often (the
    clipping events are counted); Chapter 11 measures both.

    Examples
    --------
    >>> from kvtheory.algorithms.balance import theory_threshold
    >>> f"{theory_threshold(512):.3f}"
    '7.625'
    """
    m = check_int(m, "m", lo=1)
    delta = check_real(delta, "delta", lo=0.0, hi=1.0, lo_open=True)
    return math.log(2 * m / delta)


#: The library's default walk threshold (a practical choice; see :func:`theory_threshold`).
DEFAULT_C = 0.5


def self_balancing_walk(gram, c: float = DEFAULT_C, *, seed=0) -> tuple[np.ndarray, int]:
    r"""Signs of the self-balancing walk, given the Gram matrix of the vectors.

    Vectors :math:`u_1,\dots,u_m` of a Hilbert space arrive in order; with
    :math:`y_{t-1}=\sum_{s<t}\sigma_su_s` the walk sets
    :math:`\sigma_t=+1` with probability :math:`\frac12(1-\langle y_{t-1},u_t\rangle/c)`
    and :math:`-1` otherwise. Only inner products enter, and
    :math:`\langle y_{t-1},u_t\rangle=\sum_{s<t}\sigma_s G_{st}`, so the walk
    runs from the Gram matrix :math:`G` alone. The vectors are first scaled
    to largest norm one (:math:`G/\max_tG_{tt}`), the setting of the cited
    guarantee. If :math:`|\langle y_{t-1},u_t\rangle|>c` the cited analysis
    declares the walk failed; this implementation then takes the sign that
    reduces the inner product (probability clipped to 0 or 1) and counts the
    event.

    Parameters
    ----------
    gram : array_like, shape (m, m)
        Symmetric positive semidefinite Gram matrix :math:`G_{st}=\langle u_s,u_t\rangle`.
    c : float, default :data:`DEFAULT_C`
        Threshold :math:`c>0` (:func:`theory_threshold` gives the cited analysis' order).
    seed : int or numpy.random.Generator
        Source of the ``m`` uniform draws.

    Returns
    -------
    signs : numpy.ndarray of float, shape (m,)
        Entries :math:`\pm1`.
    failures : int
        Steps at which :math:`|\langle y_{t-1},u_t\rangle|>c`.

    Raises
    ------
    ValueError
        If ``gram`` is not a finite square matrix or ``c <= 0``.

    Notes
    -----
    Time :math:`O(m^2)`: one pass over the items, each step one scalar draw
    comparison and one vector update :math:`h\leftarrow h+\sigma_tG_{:,t}`
    (a row of :math:`G`, which is symmetric) of the running inner products
    :math:`h_s=\langle y,u_s\rangle` with the signed sum
    :math:`y=\sum_{s<t}\sigma_su_s` (the loop
    over the items is inherent; there is no loop over Gram entries).

    Examples
    --------
    Four copies of one vector: the walk alternates, random signs need not.

    >>> import numpy as np
    >>> from kvtheory.algorithms.balance import self_balancing_walk
    >>> signs, fails = self_balancing_walk(np.ones((4, 4)), c=1.0, seed=0)
    >>> int(abs(signs.sum())) <= 1, fails
    (True, 0)
    """
    G = as_real_array(gram, "gram", ndim=2)
    m = G.shape[0]
    if G.shape != (m, m) or m == 0:
        raise ValueError(f"gram must be a non-empty square matrix, got shape {G.shape}")
    c = check_real(c, "c", lo=0.0, lo_open=True)
    rng = check_rng(seed)
    top = float(np.max(np.diag(G)))
    if top <= 0.0:                                   # all vectors are zero: any signs do
        return np.where(rng.random(m) < 0.5, 1.0, -1.0), 0
    u = rng.random(m)
    h = np.zeros(m)                                  # h_s = <y, u_s>
    g = np.empty(m)                                  # row t of G / top
    signs = np.empty(m)
    failures = 0
    # h <- h + sigma_t G[t] / top (row t = column t, G symmetric). The scaled row goes
    # into one reused buffer: no scaled copy of G, and no fresh array per step (at the
    # benchmark's sizes either costs more than the walk).
    for t in range(m):
        x = h[t]
        if abs(x) > c:
            failures += 1
        np.divide(G[t], top, out=g)
        if u[t] < 0.5 * (1.0 - x / c):
            signs[t] = 1.0
            h += g
        else:
            signs[t] = -1.0
            h -= g
    return signs, failures


#: Pairs per side of a tile of :func:`difference_gram` (kernel tiles of 2 * 256 points a side).
_GRAM_TILE = 256


def difference_gram(K, V, lam: float = 1.0) -> np.ndarray:
    r"""Gram matrix of the pair differences :math:`u_p=\psi_{2p}-\psi_{2p+1}` of a block.

    With :math:`\kappa(i,j)=\langle\psi_i,\psi_j\rangle
    =e^{\lambda^2\langle k_i,k_j\rangle}(1+\langle v_i,v_j\rangle)`
    and pairs :math:`(0,1),(2,3),\dots`,
    :math:`\langle u_p,u_{p'}\rangle=\kappa(a,a')-\kappa(a,b')-\kappa(b,a')+\kappa(b,b')`.
    The result is scaled by :math:`e^{-M}`, :math:`M` the largest exponent,
    so it never overflows; the walk is invariant under this scaling.

    Parameters
    ----------
    K : array_like, shape (2m, d)
    V : array_like, shape (2m, d_v)
    lam : float
        The scale :math:`\lambda>0`.

    Returns
    -------
    numpy.ndarray, shape (m, m)

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.algorithms.balance import difference_gram
    >>> K = np.array([[0.0], [0.0], [1.0], [0.0]]); V = np.zeros((4, 1))
    >>> difference_gram(K, V).round(6).tolist()   # u_0 = 0: its row and column vanish
    [[0.0, 0.0], [0.0, 0.632121]]
    """
    K = as_real_array(K, "K", ndim=2)
    V = as_real_array(V, "V", ndim=2)
    if K.shape[0] % 2 or K.shape[0] == 0:
        raise ValueError(f"K must have an even, positive number of rows, got {K.shape[0]}")
    if V.shape[0] != K.shape[0]:
        raise ValueError(f"V must have {K.shape[0]} rows like K, got {V.shape[0]}")
    lam = check_real(lam, "lam", lo=0.0, lo_open=True)
    lam2 = lam * lam
    sq = np.einsum("ij,ij->i", K, K)
    shift = lam2 * float(sq.max())                   # >= every exponent (Cauchy-Schwarz)
    # Tile by tile over the upper triangle, the lower one by symmetry: the kernel of
    # 2T consecutive points (T pairs) against 2T others is one product for the keys and
    # one for the values, and its four strided quarters combine into the tile of G. The
    # right factors are column blocks of transposed copies: a product of an array with
    # its own transpose goes to the symmetric rank-k update, which single-threaded
    # OpenBLAS runs at half the speed of a general product.
    m, T = K.shape[0] // 2, _GRAM_TILE
    KT, VT = np.ascontiguousarray(K.T), np.ascontiguousarray(V.T)
    G = np.empty((m, m))
    for i in range(0, m, T):
        rows = slice(2 * i, 2 * min(m, i + T))
        for j in range(i, m, T):
            cols = slice(2 * j, 2 * min(m, j + T))
            X = K[rows] @ KT[:, cols]
            X *= lam2
            X -= shift
            np.exp(X, out=X)
            Y = V[rows] @ VT[:, cols]
            Y += 1.0
            X *= Y
            tile = X[0::2, 0::2] - X[0::2, 1::2]
            tile -= X[1::2, 0::2]
            tile += X[1::2, 1::2]
            G[i:i + T, j:j + T] = tile
            if j != i:
                G[j:j + T, i:i + T] = tile.T
    return G


def halve(K, V, *, lam: float = 1.0, c: float = DEFAULT_C, signs: str = "walk",
          seed=0) -> tuple[np.ndarray, int]:
    r"""Indices of the survivors of one halving of a block of :math:`2m` points.

    Points :math:`2p` and :math:`2p+1` form pair :math:`p`; sign
    :math:`\sigma_p=+1` keeps :math:`2p`, :math:`-1` keeps :math:`2p+1`.
    With weight :math:`\omega` before and :math:`2\omega` after, the error
    of the kept half against a linear functional :math:`f` is
    :math:`\omega\sum_p\sigma_p(f(\psi_{2p})-f(\psi_{2p+1}))`.

    Parameters
    ----------
    K, V : array_like, shapes (2m, d), (2m, d_v)
    lam : float
        Kernel scale :math:`\lambda`.
    c : float, default :data:`DEFAULT_C`
        Walk threshold.
    signs : {"walk", "random"}
        ``"random"``: fair independent signs (the sampling baseline).
    seed : int or numpy.random.Generator

    Returns
    -------
    keep : numpy.ndarray of int, shape (m,)
        Row indices of the survivors, increasing.
    failures : int
        The walk's threshold events (0 for random signs).

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.algorithms.balance import halve
    >>> rng = np.random.default_rng(0)
    >>> keep, fails = halve(rng.normal(size=(8, 3)) / 3, rng.normal(size=(8, 2)) / 3, seed=1)
    >>> keep.shape, bool(np.all(keep // 2 == np.arange(4)))
    ((4,), True)
    """
    check_choice(signs, "signs", ("walk", "random"))
    rng = check_rng(seed)
    if signs == "walk":
        sig, fails = self_balancing_walk(difference_gram(K, V, lam), c, seed=rng)
    else:
        K = as_real_array(K, "K", ndim=2)
        if K.shape[0] % 2 or K.shape[0] == 0:
            raise ValueError(f"K must have an even, positive number of rows, got {K.shape[0]}")
        sig, fails = np.where(rng.random(K.shape[0] // 2) < 0.5, 1.0, -1.0), 0
    m = sig.size
    return 2 * np.arange(m) + (sig < 0).astype(np.int64), fails


def _popcount(x: int) -> int:
    return bin(x).count("1")


class BalanceKV(StreamingAttention):
    r"""Merge-and-reduce by balancing: blocks of tokens halved by the self-balancing walk.

    Tokens enter a buffer. When it holds ``block`` tokens it becomes a
    level-0 block (weight 1), and like a binary counter: while level
    :math:`j` already holds a block, the two level-:math:`j` blocks are
    merged (:math:`2B` points of weight :math:`2^j`) and halved by
    :func:`halve` into one block of :math:`B` points at level :math:`j+1`
    (weight :math:`2^{j+1}`). A query is answered by weighted attention over
    everything kept: the buffer at weight 1 and every block at its level's
    weight,
    :math:`\hat z=\sum_i\omega_ie^{s_i}v_i\big/\sum_i\omega_ie^{s_i}`,
    :math:`s_i=\langle q,k_i\rangle`.

    Parameters
    ----------
    block : int
        Block size :math:`B\ge1`.
    c : float, default :data:`DEFAULT_C`
        Walk threshold (:func:`theory_threshold` gives the cited analysis' order).
    lam : float, default 1.0
        Kernel scale :math:`\lambda>0`; Chapter 11 shows
        :math:`\lambda^2=r_q/r_k` is best for queries of norm :math:`\le r_q`
        and keys of norm :math:`\le r_k`.
    signs : {"walk", "random"}, default "walk"
        ``"random"`` halves by fair coin flips (a sampling baseline with the
        same memory).
    seed : int or numpy.random.Generator
    dtype : numpy floating dtype, default float64
        Storage precision of kept keys and values (and of their count).

    Attributes
    ----------
    levels : list of int
        The occupied levels, increasing.
    kept : int
        Tokens kept (buffer plus blocks).
    failures : int
        Walk steps that met the threshold (see :func:`self_balancing_walk`).
    halvings : int
        Halvings done so far.

    Notes
    -----
    *Memory* (hand count, ``b`` the storage precision in bits, ``m`` kept
    tokens, ``L`` occupied levels): ``m * (d + d_v)`` numbers at ``b`` bits,
    one 64-bit level tag per occupied block, a token counter (it also gives
    the buffer's fill, ``n mod B``), the failure counter, and the 256-bit
    generator state. After ``n`` tokens, ``m = B * popcount(n // B) + n % B``
    (:meth:`predicted_bits`), at most :math:`B(\lfloor\log_2(n/B)\rfloor+2)`.

    *Time.* An append costs :math:`O(1)` amortised copies plus, every
    :math:`B2^j` tokens, a halving at level :math:`j`: :math:`O(B^2(d+d_v))`
    for the Gram matrix and :math:`O(B^2)` for the walk, so
    :math:`O(B(d+d_v)\log(n/B))` amortised per token. A query costs
    :math:`O(m(d+d_v))`. :meth:`extend` hands each whole run of ``block``
    rows to the halvings directly (no per-token buffering), in the loop's
    order and with the loop's draws, so it leaves the state of the
    :meth:`append` loop; the halvings are most of the cost either way.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> rng = np.random.default_rng(0)
    >>> K = rng.normal(size=(64, 4)) / 2; V = rng.normal(size=(64, 3)) / 3
    >>> alg = kv.algorithms.BalanceKV(block=8, seed=0)
    >>> for k, v in zip(K, V):
    ...     alg.append(k, v)
    >>> alg.levels, alg.kept, alg.halvings
    ([3], 8, 7)
    >>> alg.memory_bits() == 8 * 7 * 64 + 64 + 64 + 64 + 256
    True
    >>> alg.memory_bits() == kv.algorithms.BalanceKV.predicted_bits(64, 4, 3, block=8)
    True
    """

    name = "BalanceKV"
    kind = "oblivious"

    def __init__(self, block: int, *, c: float = DEFAULT_C, lam: float = 1.0,
                 signs: str = "walk", seed=0, dtype=np.float64) -> None:
        super().__init__()
        self.block = check_int(block, "block", lo=1)
        self.c = check_real(c, "c", lo=0.0, lo_open=True)
        self.lam = check_real(lam, "lam", lo=0.0, lo_open=True)
        self.signs = check_choice(signs, "signs", ("walk", "random"))
        self._rng = check_rng(seed)
        self.bits_per_number = float_bits(dtype)
        self.dtype = np.dtype(dtype)
        self.name = f"BalanceKV, B={self.block}"
        self._blocks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._buf_k = self._buf_v = None
        self._fill = 0
        self.failures = 0
        self.halvings = 0

    # ------------------------------------------------------------ sizes
    @staticmethod
    def kept_after(n: int, block: int) -> int:
        """Tokens kept after ``n`` appends: ``block * popcount(n // block) + n % block``.

        Examples
        --------
        >>> from kvtheory.algorithms import BalanceKV
        >>> BalanceKV.kept_after(100, 8)        # 100 = 8 * 12 + 4, 12 = 0b1100
        20
        """
        n = check_int(n, "n", lo=0)
        block = check_int(block, "block", lo=1)
        return block * _popcount(n // block) + n % block

    @classmethod
    def predicted_bits(cls, n: int, d: int, d_v: int, *, block: int, dtype=np.float64) -> int:
        """``memory_bits()`` after ``n`` tokens of dimensions ``d``, ``d_v`` (the ledger's formula).

        Examples
        --------
        >>> from kvtheory.algorithms import BalanceKV
        >>> BalanceKV.predicted_bits(64, 4, 3, block=8)
        4032
        """
        n = check_int(n, "n", lo=0)
        d = check_int(d, "d", lo=1)
        d_v = check_int(d_v, "d_v", lo=1)
        block = check_int(block, "block", lo=1)
        b = float_bits(dtype)
        kept = cls.kept_after(n, block)
        return kept * (d + d_v) * b + WORD_BITS * (_popcount(n // block) + 2) + RNG_STATE_BITS

    @classmethod
    def bits_for(cls, block: int, n: int, d: int, d_v: int, dtype=np.float32) -> int:
        """:meth:`predicted_bits` in the benchmark's ``bits(param, n, d, d_v)`` form.

        The parameter is the block size and storage is ``dtype`` (float32 by
        default, as :meth:`from_budget` and the benchmark's registry entry
        store), so the registry maps a budget to a block size with no dry run.

        Examples
        --------
        >>> from kvtheory.algorithms import BalanceKV
        >>> BalanceKV.bits_for(8, 64, 4, 3) == BalanceKV.predicted_bits(
        ...     64, 4, 3, block=8, dtype="float32")
        True
        """
        return cls.predicted_bits(n, d, d_v, block=block, dtype=dtype)

    @classmethod
    def from_budget(cls, budget_bits: int, n: int, d: int, d_v: int, seed=0, *,
                    dtype=np.float32) -> "BalanceKV":
        """The largest block size whose memory after ``n`` tokens fits ``budget_bits``.

        The bits are :meth:`predicted_bits` (exact, no dry run), evaluated for
        every block size ``1..n`` in one vectorised pass; storage is ``dtype``
        (float32 by default).
        If even ``block = 1`` does not fit, ``block = 1`` is returned (the
        benchmark then reports ``within_budget = false``).

        Examples
        --------
        >>> from kvtheory.algorithms import BalanceKV
        >>> alg = BalanceKV.from_budget(20_000, 256, 8, 8, seed=0)
        >>> alg.block, BalanceKV.predicted_bits(256, 8, 8, block=alg.block, dtype="float32")
        (32, 16832)
        """
        budget_bits = check_int(budget_bits, "budget_bits", lo=0)
        n = check_int(n, "n", lo=1)
        d = check_int(d, "d", lo=1)
        d_v = check_int(d_v, "d_v", lo=1)
        B = np.arange(1, n + 1, dtype=np.int64)                 # every block size at once
        full = n // B
        blocks = np.bitwise_count(full).astype(np.int64)
        bits = ((B * blocks + n % B) * (d + d_v) * float_bits(dtype)
                + WORD_BITS * (blocks + 2) + RNG_STATE_BITS)     # = predicted_bits, vectorised
        fits = np.flatnonzero(bits <= budget_bits)
        return cls(int(B[fits[-1]]) if fits.size else 1, seed=seed, dtype=dtype)

    # ------------------------------------------------------------ state
    @property
    def levels(self) -> list[int]:
        """Occupied levels, increasing."""
        return sorted(self._blocks)

    @property
    def kept(self) -> int:
        """Tokens kept: the buffer plus ``block`` per occupied level."""
        return self._fill + self.block * len(self._blocks)

    def state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Kept keys, values and weights ``(K, V, w)`` (float64 copies).

        Examples
        --------
        >>> import numpy as np
        >>> from kvtheory.algorithms import BalanceKV
        >>> alg = BalanceKV(block=2, seed=0)
        >>> for i in range(5):
        ...     alg.append(np.array([float(i)]), np.array([1.0]))
        >>> K, V, w = alg.state()
        >>> w.tolist(), float(w.sum())
        ([1.0, 2.0, 2.0], 5.0)
        """
        Ks, Vs, ws = [], [], []
        if self._fill:
            Ks.append(self._buf_k[: self._fill])
            Vs.append(self._buf_v[: self._fill])
            ws.append(np.ones(self._fill))
        for j in self.levels:
            Kj, Vj = self._blocks[j]
            Ks.append(Kj)
            Vs.append(Vj)
            ws.append(np.full(Kj.shape[0], 2.0 ** j))
        if not Ks:
            return np.empty((0, self.d or 0)), np.empty((0, self.d_v or 0)), np.empty(0)
        return (np.concatenate(Ks).astype(np.float64), np.concatenate(Vs).astype(np.float64),
                np.concatenate(ws))

    # ------------------------------------------------------------ hooks
    def _append(self, k, v):
        B = self.block
        if self._buf_k is None:
            self._buf_k = np.empty((B, self.d), dtype=self.dtype)
            self._buf_v = np.empty((B, self.d_v), dtype=self.dtype)
        self._buf_k[self._fill] = k
        self._buf_v[self._fill] = v
        self._fill += 1
        if self._fill < B:
            return
        self._fill = 0
        self._carry(self._buf_k.copy(), self._buf_v.copy())

    def _carry(self, Kb, Vb) -> None:
        """Enter the full level-0 block ``(Kb, Vb)`` (storage dtype, ``block`` rows):
        merge and halve upwards while the level is occupied, like a binary counter."""
        j = 0
        while j in self._blocks:
            Kj, Vj = self._blocks.pop(j)
            Km, Vm = np.concatenate([Kj, Kb]), np.concatenate([Vj, Vb])
            keep, fails = halve(Km.astype(np.float64), Vm.astype(np.float64), lam=self.lam,
                                c=self.c, signs=self.signs, seed=self._rng)
            self.failures += fails
            self.halvings += 1
            Kb, Vb = Km[keep], Vm[keep]
            j += 1
        self._blocks[j] = (Kb, Vb)

    def _extend(self, K, V):
        # The loop's blocks and halvings in the loop's order (the same draws): top up the
        # buffer, then every whole run of `block` rows is a level-0 block directly (cast to
        # the storage dtype as the buffer would), and the rest starts the next buffer. The
        # state equals the append loop's; the halvings, not the copies, are the cost.
        B, L = self.block, K.shape[0]
        if self._buf_k is None:
            self._buf_k = np.empty((B, self.d), dtype=self.dtype)
            self._buf_v = np.empty((B, self.d_v), dtype=self.dtype)
        i = 0
        if self._fill:
            i = min(L, B - self._fill)
            self._buf_k[self._fill:self._fill + i] = K[:i]
            self._buf_v[self._fill:self._fill + i] = V[:i]
            self._fill += i
            if self._fill == B:
                self._fill = 0
                self._carry(self._buf_k.copy(), self._buf_v.copy())
        while L - i >= B:
            self._carry(K[i:i + B].astype(self.dtype), V[i:i + B].astype(self.dtype))
            i += B
        r = L - i
        if r:
            self._buf_k[:r] = K[i:]
            self._buf_v[:r] = V[i:]
            self._fill = r
        self.n_seen += L

    def _attend(self, q):
        K, V, w = self.state()
        return softmax(K @ q + np.log(w)) @ V

    def memory_ledger(self) -> MemoryLedger:
        b = self.bits_per_number
        m = self.kept
        led = MemoryLedger()
        led.add("kept keys", m * (self.d or 0), b)
        led.add("kept values", m * (self.d_v or 0), b)
        led.add("block level tags", len(self._blocks), WORD_BITS)
        led.add("token counter", 1, WORD_BITS)
        led.add("walk failure counter", 1, WORD_BITS)
        led.add("generator state (PCG64)", 1, RNG_STATE_BITS)
        return led
