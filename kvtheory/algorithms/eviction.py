r"""Fixed-budget score-based eviction caches (Chapter 6).

Each cache keeps at most ``budget`` tokens between steps. When it holds one
token too many it asks a *score* of every held token (higher = keep) and
evicts the lowest (ties: the oldest). The scores are the field's, after the
``ScorerPress`` family of NVIDIA's kvpress: :class:`ScoreEviction` is the
public base, and a subclass only writes :meth:`ScoreEviction.score`, the
analogue of ``ScorerPress.score``.

============================  =========================================  ===============
class                         keeps                                      ``kind``
============================  =========================================  ===============
:class:`KnormEviction`        the keys of *lowest* norm (as published)   oblivious
:class:`HighNormEviction`     the keys of *highest* norm (its opposite)  oblivious
:class:`RandomEviction`       a seeded random choice                     oblivious
:class:`KeyDiffEviction`      keys least similar to the mean direction   oblivious
:class:`TOVAEviction`         what the latest query attends to most      query-aware
:class:`ObservedAttentionEviction`  a recent window + most accumulated   query-aware
                              attention (H2O)
:class:`SnapKVEviction`       what an observation window of the last     query-aware
                              queries attends to most
============================  =========================================  ===============

StreamingLLM (attention sinks plus a window) is
:class:`~kvtheory.algorithms.SinkWindow`.

Chapter 6 builds, for each deterministic policy here, a needle stream
(:mod:`kvtheory.instances.sparsity`) whose final query needs a token the
policy has already evicted, and on which every one of Alice's steps is
:math:`\frac{\gamma}{1+\gamma}`-concentrated in exact attention (one token
carries at least :math:`\frac1{1+\gamma}` of the mass). So a promise of
concentrated attention does not save these policies. (The final query puts
exactly :math:`\frac1{1+\gamma}` on the needle.) Random eviction needs no
adversary: its choices ignore the stream.

Semantics of a step. :meth:`~kvtheory.StreamingAttention.step` appends the
token, attends with the current query over the held tokens (the current token
included, so up to ``budget + 1`` of them), lets the query update the
policy's state, and then evicts down to ``budget``. A bare
:meth:`~kvtheory.StreamingAttention.append` (no query) evicts at once. Tokens
are held in arrival order, so recency needs no stored positions.

References
----------
NVIDIA. kvpress: LLM KV cache compression made easy.
https://github.com/NVIDIA/kvpress (the ``ScorerPress`` presses).
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int, check_rng
from ..attention import softmax
from ..memory import WORD_BITS, MemoryLedger
from ..stream import StreamingAttention

__all__ = ["ScoreEviction", "KnormEviction", "HighNormEviction", "RandomEviction",
           "KeyDiffEviction", "TOVAEviction", "ObservedAttentionEviction", "SnapKVEviction",
           "HeavyHitterEviction", "KeyNormEviction"]

#: Bits of a PCG64 generator's state (128-bit state and 128-bit increment).
PCG64_STATE_BITS = 256


class ScoreEviction(StreamingAttention):
    r"""Base of the score-based eviction caches: keep ``budget`` tokens, evict the lowest score.

    A subclass implements :meth:`score`; the base class holds the tokens in
    arrival order, answers each query exactly over them, keeps the last
    ``window`` queries (the *observation window*) when ``window > 0``, and
    evicts the token of lowest score (ties: the oldest) whenever more than
    ``budget`` are held.

    Parameters
    ----------
    budget : int
        Tokens kept between steps, ``>= 1``.
    window : int, default 0
        Queries kept for :meth:`score` (``recent_queries``); ``0`` keeps none.
    dtype : numpy floating dtype, default float64
        Storage precision of keys, values and stored queries.

    Attributes
    ----------
    keys, values : numpy.ndarray
        Copies of the held keys and values, in arrival order.
    n_held : int
        Tokens held now.
    n_unseen : int
        Held tokens that arrived after the latest query (0 after a
        :meth:`step`).

    Notes
    -----
    Memory (:meth:`memory_ledger`): the ``m <= budget`` held keys and values
    at the storage precision, the stored queries of the observation window
    (``min(window, queries so far) * d`` numbers), for ``window > 0`` one word
    counting the tokens since the latest query, and the token counter. A
    subclass that keeps more (scores, a generator) adds it in
    :meth:`_extra_ledger`.

    To port a kvpress ``ScorerPress``: its ``score(module, hidden_states,
    keys, values, attentions, kwargs)`` becomes ``score(K, V,
    recent_queries)`` for one head, with ``K`` of shape ``(m, d)`` and
    ``recent_queries`` the observation window (kvpress computes the window's
    attention from the hidden states; here the queries are at hand).

    References
    ----------
    NVIDIA. kvpress (``ScorerPress``). https://github.com/NVIDIA/kvpress

    Examples
    --------
    A reader's scorer: keep the tokens whose first value coordinate is largest.

    >>> import numpy as np, kvtheory as kv
    >>> class FirstValue(kv.algorithms.ScoreEviction):
    ...     name = "first value"
    ...     def score(self, K, V, recent_queries):
    ...         return V[:, 0]
    >>> alg = FirstValue(budget=2)
    >>> for x in (3.0, 1.0, 2.0):
    ...     alg.append(np.zeros(2), np.array([x, 0.0]))
    >>> alg.values[:, 0].tolist()
    [3.0, 2.0]
    >>> alg.memory_bits() == 2 * (2 + 2) * 64 + 64
    True
    """

    name = "score-based eviction"
    kind = "oblivious"
    #: Whether the cache keeps one float64 state number per held token.
    _per_token_state = False

    def __init__(self, budget: int, *, window: int = 0, dtype=np.float64) -> None:
        super().__init__()
        self.budget = check_int(budget, "budget", lo=1)
        self.window = check_int(window, "window", lo=0)
        self._set_dtype(dtype)
        self._K = None                 # held keys and values at dtype (and float64 mirrors)
        self._V = None
        self._Q = None                 # observation window, oldest first
        self._state = np.empty(0)      # per-token state (if _per_token_state)
        self._unseen = 0
        self._in_step = False

    # ----------------------------------------------------------- the hook
    def score(self, K: np.ndarray, V: np.ndarray, recent_queries: np.ndarray) -> np.ndarray:
        """Score of every held token (higher = keep).

        Parameters
        ----------
        K, V : numpy.ndarray, shapes ``(m, d)`` and ``(m, d_v)``
            Held keys and values in arrival order (float64 copies).
        recent_queries : numpy.ndarray, shape ``(r, d)``
            The last ``r <= window`` queries, oldest first (``r = 0`` for
            ``window = 0`` or before the first query).

        Returns
        -------
        numpy.ndarray, shape ``(m,)``
            Real scores (``+inf`` allowed, NaN not).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement score(K, V, "
                                  "recent_queries)")

    def _observe(self, q: np.ndarray, w: np.ndarray) -> None:
        """Update per-token state with a query and its weights over the held tokens."""

    def _extra_ledger(self, led: MemoryLedger) -> None:
        """Add the subclass's own state to the ledger."""

    # -------------------------------------------------------------- state
    # The held keys and values are kept at the storage dtype (``_Kd``, ``_Vd``: what is
    # counted) and as float64 mirrors (``_K64``, ``_V64``: exact, since every float16 or
    # float32 number is a float64; the same array at float64), so a step reads them
    # without converting the whole cache. Assigning ``_K`` / ``_V`` sets both; the step's
    # hot path (``_append``, ``_evict``) updates both row by row.
    @property
    def _K(self):
        return self._Kd

    @_K.setter
    def _K(self, a):
        self._Kd = a
        self._K64 = None if a is None else a.astype(np.float64, copy=False)

    @property
    def _V(self):
        return self._Vd

    @_V.setter
    def _V(self, a):
        self._Vd = a
        self._V64 = None if a is None else a.astype(np.float64, copy=False)

    @property
    def keys(self) -> np.ndarray:
        """Held keys in arrival order, shape ``(m, d)`` (a copy)."""
        return np.array(self._K64 if self._K64 is not None else np.empty((0, 0)))

    @property
    def values(self) -> np.ndarray:
        """Held values in arrival order, shape ``(m, d_v)`` (a copy)."""
        return np.array(self._V64 if self._V64 is not None else np.empty((0, 0)))

    def held_keys(self) -> np.ndarray:
        """Held keys in arrival order (a copy), as :attr:`keys`."""
        return self.keys

    @property
    def n_held(self) -> int:
        """Number of tokens held now."""
        return 0 if self._K is None else self._K.shape[0]

    @property
    def n_unseen(self) -> int:
        """Held tokens that arrived after the latest query."""
        return min(self._unseen, self.n_held)

    @property
    def recent_queries(self) -> np.ndarray:
        """The observation window, shape ``(r, d)``, oldest first (a copy)."""
        if self._Q is None:
            return np.empty((0, self.d or 0))
        return np.array(self._Q, dtype=np.float64)

    # ------------------------------------------------------------- hooks
    def step(self, q, k, v) -> np.ndarray:
        """Append ``(k, v)``, attend with ``q`` (updating the state), then evict."""
        self._in_step = True
        try:
            self.append(k, v)
            z = self.attend(q)
        finally:
            self._in_step = False
        self._evict()
        return z

    def _append(self, k, v):
        k = k.astype(self.dtype)[None, :]
        v = v.astype(self.dtype)[None, :]
        if self._Kd is None:
            self._K, self._V = k, v
        elif self.dtype == np.float64:
            self._Kd = self._K64 = np.concatenate([self._Kd, k])
            self._Vd = self._V64 = np.concatenate([self._Vd, v])
        else:
            self._Kd = np.concatenate([self._Kd, k])
            self._Vd = np.concatenate([self._Vd, v])
            self._K64 = np.concatenate([self._K64, k.astype(np.float64)])
            self._V64 = np.concatenate([self._V64, v.astype(np.float64)])
        if self._per_token_state:
            self._state = np.append(self._state, 0.0)
        self._unseen += 1
        if not self._in_step:
            self._evict()

    def _attend(self, q):
        w = softmax(self._K64 @ q)
        if self.window > 0:
            qq = q.astype(self.dtype)[None, :]
            self._Q = qq if self._Q is None else np.concatenate([self._Q, qq])[-self.window:]
        self._unseen = 0
        self._observe(q, w)
        return w @ self._V64

    def _evict(self):
        while self.n_held > self.budget:
            s = np.asarray(self.score(self.keys, self.values, self.recent_queries),
                           dtype=np.float64)
            if s.shape != (self.n_held,) or np.any(np.isnan(s)):
                raise ValueError(f"{type(self).__name__}.score must return {self.n_held} "
                                 f"real scores (no NaN), got shape {s.shape}")
            t = int(np.argmin(s))          # first minimum: the oldest of tied tokens
            if self.dtype == np.float64:
                self._Kd = self._K64 = np.delete(self._Kd, t, axis=0)
                self._Vd = self._V64 = np.delete(self._Vd, t, axis=0)
            else:
                self._Kd, self._K64 = (np.delete(a, t, axis=0) for a in (self._Kd, self._K64))
                self._Vd, self._V64 = (np.delete(a, t, axis=0) for a in (self._Vd, self._V64))
            if self._per_token_state:
                self._state = np.delete(self._state, t)

    # ------------------------------------------------------------ prefill
    #: Whether :meth:`extend` (prefill mode) leaves the state of the append loop.
    #: True for scorers whose order of the held tokens does not change while
    #: tokens without queries arrive (a token's score does not depend on the others).
    prefill_exact = False

    def _hold_block(self, K, V):
        Kd, Vd = K.astype(self.dtype), V.astype(self.dtype)
        self._K = Kd if self._K is None else np.concatenate([self._K, Kd])
        self._V = Vd if self._V is None else np.concatenate([self._V, Vd])
        if self._per_token_state:
            self._state = np.concatenate([self._state, np.zeros(K.shape[0])])
        self._unseen += K.shape[0]
        self.n_seen += K.shape[0]

    def _extend(self, K, V):
        r"""Prefill mode, as kvpress compresses after the prefill.

        The block is appended whole, then the cache evicts once: the scores
        of all held tokens (the earlier ones and the block's) are computed
        once, and the ``budget`` tokens of highest score are kept (ties: the
        newest kept, as the loop evicts the oldest of tied tokens), in
        arrival order. When no query arrives inside a block, a scorer whose
        order of the held tokens does not depend on which others are held
        (key norms, H2O's accumulated attention with its recent window,
        TOVA's weights under the latest query, up to ties among weights that
        underflow to 0) leaves exactly the state of the :meth:`append` loop:
        each overflow of the loop evicts the lowest of a fixed total order,
        so the survivors are its top ``budget``. Those classes set
        :attr:`prefill_exact`. For the others (KeyDiff's anchor and SnapKV's
        averaged weights depend on the held set) this is the documented
        prefill semantics, which may keep other tokens than the loop.
        """
        self._hold_block(K, V)
        m = self.n_held
        if m <= self.budget:
            return
        s = np.asarray(self.score(self.keys, self.values, self.recent_queries),
                       dtype=np.float64)
        if s.shape != (m,) or np.any(np.isnan(s)):
            raise ValueError(f"{type(self).__name__}.score must return {m} "
                             f"real scores (no NaN), got shape {s.shape}")
        order = np.argsort(s, kind="stable")    # ascending; ties: the oldest first
        keep = np.sort(order[m - self.budget:])
        self._K, self._V = self._K[keep], self._V[keep]
        if self._per_token_state:
            self._state = self._state[keep]

    def memory_ledger(self) -> MemoryLedger:
        m = self.n_held
        led = MemoryLedger()
        led.add("held keys", m * (self.d or 0), self.bits_per_number)
        led.add("held values", m * (self.d_v or 0), self.bits_per_number)
        if self.window > 0:
            r = 0 if self._Q is None else self._Q.shape[0]
            led.add("observation window (queries)", r * (self.d or 0), self.bits_per_number)
            led.add("tokens since the latest query", 1, WORD_BITS)
        if self._per_token_state:
            led.add("per-token scores", m, 64)
        self._extra_ledger(led)
        return self._add_token_counter(led)


class KnormEviction(ScoreEviction):
    r"""Key-norm eviction as published: keep the ``budget`` keys of *lowest* norm.

    The score is :math:`-\|k_t\|_2`, as in kvpress's ``KnormPress``: Devoto
    et al. observe that in trained models low-norm keys tend to receive high
    attention. When the cache exceeds its budget it evicts the held token of
    largest key norm (ties: the oldest). No query is looked at, so
    ``kind = "oblivious"``.

    Parameters
    ----------
    budget : int
        Tokens kept between steps, ``>= 1``.
    dtype : numpy floating dtype, default float64
        Storage precision of keys and values.

    Notes
    -----
    Memory: ``m * (d + d_v)`` stored numbers for the ``m <= budget`` held
    tokens plus one word (token counter). Norms are recomputed from the held
    keys, so none is stored.

    References
    ----------
    A. Devoto, Y. Zhao, S. Scardapane, P. Minervini. A Simple and Effective
    :math:`L_2` Norm-Based Strategy for KV Cache Compression. EMNLP 2024,
    arXiv:2406.11430. NVIDIA kvpress, ``KnormPress``.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> alg = kv.algorithms.KnormEviction(budget=2)
    >>> for r in (3.0, 1.0, 2.0):
    ...     alg.append(np.array([r, 0.0]), np.array([r, r]))
    >>> alg.keys[:, 0].tolist()          # the norm-3 key was evicted
    [1.0, 2.0]
    >>> alg.memory_bits() == 2 * (2 + 2) * 64 + 64
    True
    """

    name = "key-norm eviction (low norms kept)"
    kind = "oblivious"

    prefill_exact = True

    def __init__(self, budget: int, dtype=np.float64) -> None:
        super().__init__(budget, dtype=dtype)

    def score(self, K, V, recent_queries):
        return -np.linalg.norm(K, axis=1)


class HighNormEviction(ScoreEviction):
    r"""The opposite of published key-norm eviction: keep the *largest* key norms.

    The score is :math:`+\|k_t\|_2`; when the cache exceeds its budget it
    evicts the held token of smallest key norm (ties: the oldest). No query
    is looked at, so ``kind = "oblivious"``. This is the variant the book
    called "key-norm eviction" before it followed the published rule
    (:class:`KnormEviction`); it is kept under an honest name as a second
    oblivious policy with its own adversary.

    Parameters
    ----------
    budget : int
        Tokens kept between steps, ``>= 1``.
    dtype : numpy floating dtype, default float64
        Storage precision of keys and values.

    Notes
    -----
    Memory: ``m * (d + d_v)`` stored numbers plus one word (token counter).

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> alg = kv.algorithms.HighNormEviction(budget=2)
    >>> for r in (3.0, 1.0, 2.0):
    ...     alg.append(np.array([r, 0.0]), np.array([r, r]))
    >>> alg.keys[:, 0].tolist()          # the norm-1 key was evicted
    [3.0, 2.0]
    >>> alg.memory_bits() == 2 * (2 + 2) * 64 + 64
    True
    """

    name = "high-norm eviction"
    kind = "oblivious"

    prefill_exact = True

    def __init__(self, budget: int, dtype=np.float64) -> None:
        super().__init__(budget, dtype=dtype)

    def score(self, K, V, recent_queries):
        return np.linalg.norm(K, axis=1)


#: Deprecated alias of :class:`HighNormEviction` (its old, misleading name).
KeyNormEviction = HighNormEviction


class RandomEviction(ScoreEviction):
    r"""Evict a uniformly random held token (seeded), as kvpress's ``RandomPress``.

    Every overflow draws fresh uniform scores for the held tokens from the
    cache's own ``numpy.random.Generator``; the choice ignores keys, values
    and queries, so ``kind = "oblivious"``. It is the baseline against which
    the other scorers are compared. No fixed stream is its adversary: each
    held token is evicted with the same probability whatever the stream, so
    a token survives ``e`` later overflows with probability
    :math:`(B/(B+1))^{e}` on *every* stream.

    Parameters
    ----------
    budget : int
        Tokens kept between steps, ``>= 1``.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator, default 0
        Seeds the cache's generator (a Generator is used as is).
    dtype : numpy floating dtype, default float64
        Storage precision of keys and values.

    Notes
    -----
    Memory: ``m * (d + d_v)`` stored numbers, the generator's state (256
    bits for PCG64) and one word (token counter).

    References
    ----------
    NVIDIA kvpress, ``RandomPress``.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> a, b = kv.algorithms.RandomEviction(3, seed=1), kv.algorithms.RandomEviction(3, seed=1)
    >>> for t in range(10):
    ...     a.append(np.eye(10)[t], np.eye(10)[t]); b.append(np.eye(10)[t], np.eye(10)[t])
    >>> bool(np.array_equal(a.keys, b.keys)), a.n_held
    (True, 3)
    >>> a.memory_bits() == 3 * (10 + 10) * 64 + 256 + 64
    True
    """

    name = "random eviction"
    kind = "oblivious"

    def __init__(self, budget: int, seed=0, dtype=np.float64) -> None:
        super().__init__(budget, dtype=dtype)
        if isinstance(seed, np.random.SeedSequence):
            self.rng = np.random.Generator(np.random.PCG64(seed))
        else:
            self.rng = check_rng(seed)

    def score(self, K, V, recent_queries):
        return self.rng.random(K.shape[0])

    prefill_exact = True

    def _extend(self, K, V):
        # Replays the loop with its draws: each overflow draws budget + 1 uniforms and
        # evicts the argmin (drawn here in blocks of rows: the generator's stream is that
        # of one random(budget + 1) per overflow), so extend equals the append loop.
        h0, L, B = self.n_held, K.shape[0], self.budget
        fill = min(L, B - h0)
        n_over = L - fill
        if n_over == 0:
            self._hold_block(K, V)
            return
        held = list(range(h0 + fill))    # indices into (held tokens, then the block)
        nxt = h0 + fill
        chunk = max(1, (1 << 20) // (B + 1))
        for a in range(0, n_over, chunk):
            for j in np.argmin(self.rng.random((min(chunk, n_over - a), B + 1)),
                               axis=1).tolist():
                held.append(nxt)
                nxt += 1
                del held[j]
        self._hold_block(K, V)
        keep = np.asarray(held)
        self._K, self._V = self._K[keep], self._V[keep]

    def _extra_ledger(self, led):
        led.add("generator state (PCG64)", 1, PCG64_STATE_BITS)


class KeyDiffEviction(ScoreEviction):
    r"""KeyDiff: keep the keys least similar to the mean key direction.

    With :math:`\bar u` the mean of the held keys' unit vectors (the
    *anchor*), the score of token :math:`t` is
    :math:`-\cos(k_t,\bar u)`, as in kvpress's ``KeyDiffPress``: the token
    whose key direction is most typical is evicted first (ties: the oldest;
    a zero key has cosine 0). No query is looked at, so
    ``kind = "oblivious"``.

    Parameters
    ----------
    budget : int
        Tokens kept between steps, ``>= 1``.
    dtype : numpy floating dtype, default float64
        Storage precision of keys and values.

    Notes
    -----
    Memory: ``m * (d + d_v)`` stored numbers and one word (token counter);
    the anchor is recomputed from the held keys. kvpress scores a whole
    prompt at once (the paper's block-wise variant is its ``BlockPress``);
    here the anchor is that of the ``budget + 1`` tokens held at each
    overflow.

    References
    ----------
    J. Park, D. Jones, M. J. Morse, R. Goel, M. Lee, C. Lott. KeyDiff: Key
    Similarity-Based KV Cache Eviction for Long-Context LLM Inference in
    Resource-Constrained Environments. arXiv:2504.15364, 2025.
    NVIDIA kvpress, ``KeyDiffPress``.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> alg = kv.algorithms.KeyDiffEviction(budget=2)
    >>> for k in ([1.0, 0.0], [1.0, 0.1], [0.0, 1.0]):
    ...     alg.append(np.array(k), np.ones(1))
    >>> alg.keys.tolist()           # [1, 0.1] lies closest to the mean direction
    [[1.0, 0.0], [0.0, 1.0]]
    """

    name = "KeyDiff eviction"
    kind = "oblivious"

    def __init__(self, budget: int, dtype=np.float64) -> None:
        super().__init__(budget, dtype=dtype)

    def score(self, K, V, recent_queries):
        norms = np.linalg.norm(K, axis=1)
        U = K / np.where(norms > 0, norms, 1.0)[:, None]
        anchor = U.mean(axis=0)
        a = np.linalg.norm(anchor)
        if a == 0:
            return np.zeros(K.shape[0])
        return -(U @ anchor) / a


class TOVAEviction(ScoreEviction):
    r"""TOVA: keep the tokens the latest query attends to most.

    The score of a held token is its attention weight under the latest
    query (the observation window has one query), as in kvpress's
    ``TOVAPress``; the token of smallest weight is evicted (ties: the
    oldest). A token appended without a query after it has not been seen by
    any query and is exempt (score :math:`+\infty`); before any query the
    cache evicts the oldest. Past queries decide what is kept, so
    ``kind = "query-aware"``.

    Parameters
    ----------
    budget : int
        Tokens kept between steps, ``>= 1``.
    dtype : numpy floating dtype, default float64
        Storage precision of keys, values and the stored query.

    Notes
    -----
    Memory: ``m * (d + d_v)`` stored numbers, the latest query (``d``
    numbers), one word counting tokens since it, and the token counter. The
    weights are recomputed from the stored query; within a
    :meth:`~kvtheory.StreamingAttention.step` they are exactly the weights
    the query just used.

    References
    ----------
    M. Oren, M. Hassid, Y. Adi, R. Schwartz. Transformers are Multi-State
    RNNs. arXiv:2401.06104, 2024. NVIDIA kvpress, ``TOVAPress``.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> alg = kv.algorithms.TOVAEviction(budget=2)
    >>> E = np.eye(3)
    >>> for t in range(3):            # each query looks at token 0
    ...     _ = alg.step(10 * E[0], E[t], E[t])
    >>> alg.values.tolist()           # token 1 lost to the newer token 2 (tie: oldest goes)
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    >>> alg.memory_bits() == 2 * (3 + 3) * 64 + 3 * 64 + 64 + 64
    True
    """

    name = "TOVA eviction"
    kind = "query-aware"

    prefill_exact = True

    def __init__(self, budget: int, dtype=np.float64) -> None:
        super().__init__(budget, window=1, dtype=dtype)

    def score(self, K, V, recent_queries):
        m = K.shape[0]
        if recent_queries.shape[0] == 0:
            return np.zeros(m)
        s = softmax(K @ recent_queries[-1])
        u = self.n_unseen
        if u:
            s[m - u:] = np.inf
        return s


class ObservedAttentionEviction(ScoreEviction):
    r"""H2O: a recent window plus the tokens of largest accumulated attention.

    Every query adds its attention weights :math:`w_t` to an accumulated
    score :math:`A_t=\sum_{\text{queries so far}}w_t` of each held token (a
    new token starts at 0). The ``recent`` newest tokens are always kept
    (score :math:`+\infty`); when the cache exceeds its budget the older
    token with the smallest :math:`A_t` is evicted (ties: the oldest). Past
    queries decide what is kept, so ``kind = "query-aware"``.

    Parameters
    ----------
    budget : int
        Tokens kept between steps, ``>= 1``.
    recent : int, optional
        Size of the protected recent window, ``0 <= recent < budget``
        (default ``budget // 2``); the other ``budget - recent`` slots hold
        heavy hitters.
    dtype : numpy floating dtype, default float64
        Storage precision of keys and values.

    Notes
    -----
    Memory: ``m * (d + d_v)`` stored numbers, ``m`` float64 accumulated
    scores, and one word (token counter). Recency is the arrival order of
    the held arrays, so no positions are stored. kvpress's
    ``ObservedAttentionPress`` divides the sum by the number of queries that
    saw the token; H2O, followed here, accumulates the sum.

    References
    ----------
    Z. Zhang et al. H2O: Heavy-Hitter Oracle for Efficient Generative
    Inference of Large Language Models. NeurIPS 2023, arXiv:2306.14048.
    NVIDIA kvpress, ``ObservedAttentionPress``.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> alg = kv.algorithms.ObservedAttentionEviction(budget=3, recent=1)
    >>> E = np.eye(4)
    >>> for t in range(4):            # every query looks at token 0
    ...     _ = alg.step(10 * E[0], E[t], E[t])
    >>> alg.values.argmax(axis=1).tolist()   # token 2 accumulated least: evicted
    [0, 1, 3]
    >>> alg.memory_bits() == 3 * (4 + 4) * 64 + 3 * 64 + 64
    True
    """

    name = "H2O (observed attention)"
    kind = "query-aware"
    _per_token_state = True

    prefill_exact = True

    def __init__(self, budget: int, recent: int | None = None, dtype=np.float64) -> None:
        super().__init__(budget, dtype=dtype)
        if recent is None:
            recent = self.budget // 2
        self.recent = check_int(recent, "recent", lo=0, hi=self.budget - 1)

    def _observe(self, q, w):
        self._state = self._state + w

    def score(self, K, V, recent_queries):
        s = self._state.copy()
        if self.recent:
            s[-self.recent:] = np.inf
        return s


#: The name this library first gave :class:`ObservedAttentionEviction`.
HeavyHitterEviction = ObservedAttentionEviction


class SnapKVEviction(ScoreEviction):
    r"""SnapKV: keep what an observation window of the last queries attends to most.

    The cache stores the last ``window`` queries. A held token's score is
    its attention weight averaged over those queries (each softmax over the
    held tokens), as in kvpress's ``SnapKVPress``; the ``window`` newest
    tokens, and any token no query has seen yet, are protected
    (:math:`+\infty`), as kvpress protects the observation window. The
    lowest score is evicted (ties: the oldest). Past queries decide, so
    ``kind = "query-aware"``.

    Parameters
    ----------
    budget : int
        Tokens kept between steps, ``>= 1``.
    window : int, optional
        Observation window, ``0 <= window < budget`` (default
        ``max(1, budget // 4)``, or 0 for ``budget = 1``). With 0 nothing
        is observed and the oldest token goes.
    dtype : numpy floating dtype, default float64
        Storage precision of keys, values and stored queries.

    Notes
    -----
    Memory: ``m * (d + d_v)`` stored numbers, ``min(window, queries) * d``
    stored query numbers, one word counting tokens since the latest query,
    and the token counter. kvpress also smooths the scores with an average
    pooling over positions (``kernel_size``); this single-head version does
    not.

    References
    ----------
    Y. Li et al. SnapKV: LLM Knows What You are Looking for Before
    Generation. NeurIPS 2024, arXiv:2404.14469. NVIDIA kvpress,
    ``SnapKVPress``.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> alg = kv.algorithms.SnapKVEviction(budget=3, window=1)
    >>> E = np.eye(5)
    >>> for t in range(5):            # every query looks at token 0
    ...     _ = alg.step(10 * E[0], E[t], E[t])
    >>> alg.values.argmax(axis=1).tolist()
    [0, 3, 4]
    >>> alg.memory_bits() == 3 * (5 + 5) * 64 + 5 * 64 + 64 + 64
    True
    """

    name = "SnapKV eviction"
    kind = "query-aware"

    def __init__(self, budget: int, window: int | None = None, dtype=np.float64) -> None:
        budget = check_int(budget, "budget", lo=1)
        if window is None:
            window = max(1, budget // 4) if budget > 1 else 0
        window = check_int(window, "window", lo=0, hi=budget - 1)
        super().__init__(budget, window=window, dtype=dtype)

    def score(self, K, V, recent_queries):
        m = K.shape[0]
        if recent_queries.shape[0] == 0:
            s = np.zeros(m)
        else:
            s = softmax(recent_queries @ K.T, axis=1).mean(axis=0)
        protect = max(self.window, self.n_unseen)
        if protect:
            s[max(0, m - protect):] = np.inf
        return s
