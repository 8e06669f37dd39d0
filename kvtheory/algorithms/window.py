r"""Window caches: keep only the most recent tokens (Chapter 7).

:class:`SlidingWindow` computes sliding-window attention exactly,
:math:`\mathrm{SWA}_i=\sum_{t\in\mathcal W_i}e^{s_t}v_t/\sum_{t\in\mathcal W_i}e^{s_t}`
with :math:`\mathcal W_i=\{\max(1,i-W+1),\dots,i\}`. Used as a lossy cache
for full attention it forgets everything older than ``W`` tokens.

:class:`SinkWindow` adds the first ``n_sink`` tokens ("attention sinks",
Xiao et al. 2024) to the window.

:class:`UnmaskedWindow` is the unmasked-window algorithm of Chapter 7, exact
in the book's *unmasked-value* model, in which a token that has left the
window keeps its value while its key is masked to the neutral score 0. That
model is the book's reading of the phrase "value cache outside the window
unmasked" of Haris and Onak (2025); it is defined in exactly one place,
:func:`unmasked_window_attention`, so another reading is a local change there
(and in the algorithm that the tests check against it).

The three brute-force references :func:`sliding_window_attention`,
:func:`sink_window_attention` and :func:`unmasked_window_attention` evaluate
the defining formulas row by row (in blocks), with no streaming state.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_real_array, check_int
from ..memory import WORD_BITS, MemoryLedger
from ._kept import KeptTokensCache

__all__ = ["SlidingWindow", "SinkWindow", "UnmaskedWindow",
           "sliding_window_attention", "sink_window_attention",
           "unmasked_window_attention"]


class SlidingWindow(KeptTokensCache):
    r"""Exact attention over the last ``W`` tokens, in a ring buffer.

    Parameters
    ----------
    W : int
        Window length, ``W >= 1``.
    dtype : numpy floating dtype, default float64
        Storage precision of keys and values.

    Notes
    -----
    Memory: ``min(n, W) * (d + d_v)`` stored numbers, plus one word for the
    token counter (which also locates the ring buffer's head). Each step is
    :math:`O(dW)` time.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> rng = np.random.default_rng(0)
    >>> K, V = rng.normal(size=(2, 10, 3))
    >>> win = kv.algorithms.SlidingWindow(W=4)
    >>> for k, v in zip(K, V):
    ...     win.append(k, v)
    >>> q = np.ones(3)
    >>> bool(np.allclose(win.attend(q), kv.attention(q, K[-4:], V[-4:])))
    True
    >>> win.memory_bits() == 4 * (3 + 3) * 64 + 64
    True
    """

    name = "sliding window"
    kind = "oblivious"
    kept_label = "window"

    def __init__(self, W: int, dtype=np.float64) -> None:
        self.W = check_int(W, "W", lo=1)
        super().__init__(self.W, dtype)

    def _append(self, k, v):
        self._store(self.n_seen % self.W, k, v)

    def _extend(self, K, V):
        # the last W rows of the block are the only ones that can survive it
        n0, L = self.n_seen, K.shape[0]
        first = max(0, L - self.W)
        self._store_many(np.arange(n0 + first, n0 + L) % self.W, K[first:], V[first:])
        self.n_seen = n0 + L

    def _held(self) -> int:
        return min(self.n_seen, self.W)


class SinkWindow(KeptTokensCache):
    r"""Exact attention over the first ``n_sink`` tokens and the last ``W``.

    The "attention sink" cache of StreamingLLM (Xiao et al. 2024): the first
    few tokens of a stream often collect much of the attention mass, so they
    are kept for good beside a sliding window. At step :math:`i` the
    algorithm attends exactly over
    :math:`\{1,\dots,\min(i,n_{\rm sink})\}\cup\mathcal W_i`.

    Parameters
    ----------
    n_sink : int
        Number of sink tokens kept from the start of the stream, ``>= 0``
        (``0`` gives :class:`SlidingWindow`).
    W : int
        Window length, ``W >= 1``.
    dtype : numpy floating dtype, default float64
        Storage precision of keys and values.

    Notes
    -----
    Memory: ``m * (d + d_v)`` stored numbers, where
    ``m = min(i, n_sink) + min(max(0, i - n_sink), W)`` is the number of
    tokens held after step ``i`` (at most ``n_sink + W``), plus one word for
    the token counter (which also locates the ring buffer's head).

    References
    ----------
    G. Xiao, Y. Tian, B. Chen, S. Han, M. Lewis. Efficient Streaming Language
    Models with Attention Sinks. ICLR 2024.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> rng = np.random.default_rng(0)
    >>> K, V = rng.normal(size=(2, 10, 3))
    >>> alg = kv.algorithms.SinkWindow(n_sink=2, W=3)
    >>> for k, v in zip(K, V):
    ...     alg.append(k, v)
    >>> q = np.ones(3)
    >>> keep = [0, 1, 7, 8, 9]
    >>> bool(np.allclose(alg.attend(q), kv.attention(q, K[keep], V[keep])))
    True
    >>> alg.memory_bits() == 5 * (3 + 3) * 64 + 64
    True
    """

    name = "sink + window"
    kind = "oblivious"
    kept_label = "sink and window"

    def __init__(self, n_sink: int, W: int, dtype=np.float64) -> None:
        self.n_sink = check_int(n_sink, "n_sink", lo=0)
        self.W = check_int(W, "W", lo=1)
        super().__init__(self.n_sink + self.W, dtype)

    def _append(self, k, v):
        i = self.n_seen                      # 0-based index of this token
        slot = i if i < self.n_sink else self.n_sink + (i - self.n_sink) % self.W
        self._store(slot, k, v)

    def _extend(self, K, V):
        n0, L = self.n_seen, K.shape[0]
        i = np.arange(n0, n0 + L)
        keep = (i < self.n_sink) | (i >= n0 + L - self.W)     # rows that can survive
        i = i[keep]
        slots = np.where(i < self.n_sink, i, self.n_sink + (i - self.n_sink) % self.W)
        self._store_many(slots, K[keep], V[keep])
        self.n_seen = n0 + L

    def _held(self) -> int:
        n = self.n_seen
        return min(n, self.n_sink) + min(max(0, n - self.n_sink), self.W)


class UnmaskedWindow(KeptTokensCache):
    r"""The unmasked-window algorithm: exact attention in the unmasked-value model.

    The model (Chapter 7, the book's reading of the phrase "value cache
    outside the window unmasked"; defined once, in
    :func:`unmasked_window_attention`): a token that has left the window
    :math:`\mathcal W_i` keeps its value, and its key is masked to the
    neutral score 0, so

    .. math::
        U_i(q)=\frac{\sum_{t\in\mathcal W_i}e^{\langle q,k_t\rangle}v_t
                     +\sum_{t<i-W+1}v_t}
                    {\sum_{t\in\mathcal W_i}e^{\langle q,k_t\rangle}+\max(0,i-W)} .

    State: a FIFO (ring buffer) of the last ``W`` pairs, the running sum
    :math:`S_{\rm out}\in\mathbb R^{d_v}` of the values that have left, and
    the counter :math:`c_{\rm out}` of how many have left. Step :math:`i`
    pushes :math:`(k_i,v_i)`; when the FIFO would hold :math:`W+1` pairs the
    oldest is popped and its value added to :math:`S_{\rm out}`. The output,
    with :math:`m=\max(0,\max_{\mathcal W}s_t)` if :math:`c_{\rm out}>0` and
    :math:`m=\max_{\mathcal W}s_t` while nothing has left, is

    .. math::
        \frac{\sum_{\mathcal W}e^{s_t-m}v_t+e^{-m}S_{\rm out}}
             {\sum_{\mathcal W}e^{s_t-m}+e^{-m}c_{\rm out}} .

    :math:`m` is the largest score present in the formula (the outside
    tokens score 0, but only once there are any), so every exponent is
    :math:`\le0` and the denominator is :math:`\ge1`: no overflow, and no
    :math:`0/0` when all window scores are very negative. (Flooring
    :math:`m` at 0 while :math:`c_{\rm out}=0` would underflow every term to
    0 at scores below about :math:`-745`.)

    Parameters
    ----------
    W : int
        Window length, ``W >= 1``.
    dtype : numpy floating dtype, default float64
        Storage precision of the window's keys and values. The running sum
        :math:`S_{\rm out}` is always kept in float64 (and counted at 64
        bits): it accumulates many values.

    Notes
    -----
    Memory after step :math:`i`: ``min(i, W) * (d + d_v)`` window numbers at
    the storage precision, ``d_v`` float64 numbers for :math:`S_{\rm out}`,
    and two words: :math:`c_{\rm out}` and the token counter (which locates
    the ring buffer's head). That is :math:`2dW+d` words plus two counters
    once the window is full. (:math:`c_{\rm out}=\max(0,i-W)` could be
    derived from the token counter; the algorithm keeps it as stated.) Each
    step takes :math:`O(dW)` time.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.algorithms import UnmaskedWindow, unmasked_window_attention
    >>> rng = np.random.default_rng(0)
    >>> Q, K, V = rng.normal(size=(3, 30, 4))
    >>> Z = kv.run_stream(UnmaskedWindow(W=5), Q, K, V)
    >>> bool(np.max(np.abs(Z - unmasked_window_attention(Q, K, V, W=5))) < 1e-12)
    True
    >>> UnmaskedWindow(W=5).memory_bits()
    128
    """

    name = "unmasked window"
    kind = "oblivious"
    kept_label = "window"

    def __init__(self, W: int, dtype=np.float64) -> None:
        self.W = check_int(W, "W", lo=1)
        super().__init__(self.W, dtype)          # the FIFO: the kept-tokens ring buffer
        self.S_out = None            # sum of the values that have left the window
        self.c_out = 0               # how many values have left

    def _append(self, k, v):
        if self.S_out is None:
            self.S_out = np.zeros(self.d_v)
        slot = self.n_seen % self.W
        if self.n_seen >= self.W:          # the FIFO is full: pop the oldest pair
            self.S_out += self._V[slot]
            self.c_out += 1
        self._store(slot, k, v)

    def _extend(self, K, V):
        n0, L, W = self.n_seen, K.shape[0], self.W
        if self.S_out is None:
            self.S_out = np.zeros(self.d_v)
        # token i >= W pushes out token j = i - W: j runs over [lo, hi)
        lo, hi = max(n0, W) - W, n0 + L - W
        if hi > lo:
            parts = []
            j_old = np.arange(lo, min(hi, n0))               # still in the ring buffer
            if j_old.size:
                parts.append(self._V[j_old % W].astype(np.float64))
            j_new = np.arange(max(lo, n0), hi)               # arrived in this block
            if j_new.size:
                parts.append(V[j_new - n0].astype(self.dtype).astype(np.float64))
            # a cumulative sum adds the values one by one, in the order of the loop
            self.S_out = np.cumsum(np.vstack([self.S_out[None, :]] + parts), axis=0)[-1]
            self.c_out += hi - lo
        first = max(0, L - W)
        self._store_many(np.arange(n0 + first, n0 + L) % W, K[first:], V[first:])
        self.n_seen = n0 + L

    def _held(self) -> int:
        return min(self.n_seen, self.W)

    def _attend(self, q):
        m_held = self._held()
        K = self._K[:m_held].astype(np.float64, copy=False)
        V = self._V[:m_held].astype(np.float64, copy=False)
        s = K @ q
        # the max over every score in the formula: the window's, and the
        # outside tokens' score 0 once some token has left
        m = float(np.max(s)) if self.c_out == 0 else max(0.0, float(np.max(s)))
        e = np.exp(s - m)
        num = e @ V
        den = float(np.sum(e))
        if self.c_out:                      # the departed tokens, each of weight e^{0-m}
            shift = np.exp(-m)
            num = num + shift * self.S_out
            den += shift * self.c_out
        return num / den

    def _extra_ledger(self, led: MemoryLedger) -> None:
        led.add("S_out (sum of values that left)", self.d_v or 0, 64)
        led.add("c_out (values that left)", 1, WORD_BITS)


# ---------------------------------------------------------------------------
# Brute-force references: the defining formulas, evaluated with no state.
# ---------------------------------------------------------------------------

def _check_stream(Q, K, V, W):
    Q = as_real_array(Q, "Q", ndim=2)
    K = as_real_array(K, "K", ndim=2)
    V = as_real_array(V, "V", ndim=2)
    W = check_int(W, "W", lo=1)
    n = K.shape[0]
    if n == 0:
        raise ValueError("K must hold at least one key")
    if Q.shape != K.shape:
        raise ValueError(f"Q must have the shape of K {K.shape}, got {Q.shape}")
    if V.shape[0] != n:
        raise ValueError(f"V must have {n} rows like K, got {V.shape[0]}")
    return Q, K, V, W


def _masked_rows(Q, K, V, scores_of_block, block):
    """Row i = softmax(scores_of_block(rows, S))[i] @ V, in blocks of rows.

    ``scores_of_block(rows, cols, S)`` returns the block's scores with
    ``-inf`` for excluded tokens; ``S`` holds the raw inner products.
    """
    n = K.shape[0]
    out = np.empty((n, V.shape[1]))
    for start in range(0, n, block):
        stop = min(n, start + block)
        rows = np.arange(start, stop)[:, None]
        cols = np.arange(stop)[None, :]
        S = scores_of_block(rows, cols, Q[start:stop] @ K[:stop].T)
        S = S - S.max(axis=1, keepdims=True)
        E = np.exp(S)
        out[start:stop] = (E @ V[:stop]) / E.sum(axis=1, keepdims=True)
    return out


def sliding_window_attention(Q, K, V, W: int, *, block: int = 256) -> np.ndarray:
    r"""Brute-force sliding-window attention (Chapter 7), all rows.

    Row ``i`` (0-based) is :math:`\mathrm{SWA}_{i+1}(Q_i)`: softmax attention
    of query ``Q[i]`` over tokens ``max(0, i-W+1) .. i``.

    Parameters
    ----------
    Q, K : array_like, shape (n, d)
    V : array_like, shape (n, d_v)
    W : int
        Window length, ``W >= 1``.
    block : int, default 256
        Rows computed at once.

    Returns
    -------
    numpy.ndarray, shape (n, d_v)

    Raises
    ------
    TypeError, ValueError
        On non-numeric or mismatched inputs, or ``W < 1``.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.algorithms import SlidingWindow, sliding_window_attention
    >>> rng = np.random.default_rng(1)
    >>> Q, K, V = rng.normal(size=(3, 20, 4))
    >>> Z = kv.run_stream(SlidingWindow(W=6), Q, K, V)
    >>> bool(np.max(np.abs(Z - sliding_window_attention(Q, K, V, W=6))) < 1e-12)
    True
    """
    Q, K, V, W = _check_stream(Q, K, V, W)
    block = check_int(block, "block", lo=1)

    def scores(rows, cols, S):
        return np.where((cols <= rows) & (cols > rows - W), S, -np.inf)

    return _masked_rows(Q, K, V, scores, block)


def sink_window_attention(Q, K, V, n_sink: int, W: int, *, block: int = 256) -> np.ndarray:
    r"""Brute-force attention over the first ``n_sink`` tokens and the window.

    Row ``i`` (0-based) attends over tokens
    :math:`\{0,\dots,n_{\rm sink}-1\}\cup\{\max(0,i-W+1),\dots,i\}`, all
    :math:`\le i`: the reference for :class:`SinkWindow`.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.algorithms import SinkWindow, sink_window_attention
    >>> rng = np.random.default_rng(2)
    >>> Q, K, V = rng.normal(size=(3, 20, 4))
    >>> Z = kv.run_stream(SinkWindow(n_sink=2, W=5), Q, K, V)
    >>> bool(np.max(np.abs(Z - sink_window_attention(Q, K, V, 2, 5))) < 1e-12)
    True
    """
    Q, K, V, W = _check_stream(Q, K, V, W)
    n_sink = check_int(n_sink, "n_sink", lo=0)
    block = check_int(block, "block", lo=1)

    def scores(rows, cols, S):
        keep = (cols <= rows) & ((cols > rows - W) | (cols < n_sink))
        return np.where(keep, S, -np.inf)

    return _masked_rows(Q, K, V, scores, block)


#: Score given to a token that has left the window, in the unmasked-value
#: model: its key is masked to the neutral score 0 (weight :math:`e^0=1`).
OUTSIDE_SCORE = 0.0


def unmasked_window_attention(Q, K, V, W: int, *, block: int = 256) -> np.ndarray:
    r"""Brute-force :math:`U_i` of the unmasked-value window model, all rows.

    **This function is the one definition of the model** (Chapter 7,
    the book's reading of "value cache outside the window unmasked"; whether
    it is the reading Haris and Onak intend is not known). Row ``i`` (0-based)
    is softmax attention of ``Q[i]`` over tokens ``0..i`` in which the tokens
    ``t < i-W+1`` that have left the window keep their values and get the
    score :data:`OUTSIDE_SCORE` ``= 0`` instead of
    :math:`\langle q,k_t\rangle`:

    .. math::
        U_i(q)=\frac{\sum_{t\in\mathcal W_i}e^{\langle q,k_t\rangle}v_t
                     +\sum_{t<i-W+1}v_t}
                    {\sum_{t\in\mathcal W_i}e^{\langle q,k_t\rangle}+\max(0,i-W)} .

    :class:`UnmaskedWindow` must reproduce it; another
    reading of the paper's phrase changes the score rule here.

    Parameters
    ----------
    Q, K : array_like, shape (n, d)
    V : array_like, shape (n, d_v)
    W : int
        Window length, ``W >= 1``.
    block : int, default 256
        Rows computed at once (working memory ``block * n`` floats).

    Returns
    -------
    numpy.ndarray, shape (n, d_v)

    Raises
    ------
    TypeError, ValueError
        On non-numeric or mismatched inputs, or ``W < 1``.

    Examples
    --------
    With all keys zero every score is 0 in or out of the window, so
    :math:`U_i` is the running mean of the values:

    >>> import numpy as np
    >>> from kvtheory.algorithms import unmasked_window_attention
    >>> V = np.arange(8.0).reshape(4, 2)
    >>> unmasked_window_attention(np.ones((4, 2)), np.zeros((4, 2)), V, W=2)[3].tolist()
    [3.0, 4.0]
    """
    Q, K, V, W = _check_stream(Q, K, V, W)
    block = check_int(block, "block", lo=1)

    def scores(rows, cols, S):
        in_window = (cols <= rows) & (cols > rows - W)
        left = cols <= rows - W
        return np.where(in_window, S, np.where(left, OUTSIDE_SCORE, -np.inf))

    return _masked_rows(Q, K, V, scores, block)
