r"""Fixed-budget eviction caches (Chapter 6).

Each cache keeps at most ``budget`` tokens between steps and decides which to
evict *before* it knows the future queries. The policies are the usual
heuristics of the KV-cache literature, in simplified form:

* :class:`KeyNormEviction` keeps the tokens whose keys have the largest norm
  (a key-norm heuristic; it ignores queries, ``kind = "oblivious"``);
* :class:`HeavyHitterEviction` keeps a recent window plus the "heavy hitters",
  the tokens with the largest attention accumulated over all past queries
  (H2O, Zhang et al. 2023; ``kind = "query-aware"``);
* :class:`TOVAEviction` keeps the tokens the latest query attends to most
  (TOVA-style; ``kind = "query-aware"``).

Chapter 6 shows that each is defeated by a stream whose final query needs a
token the policy has already evicted (:mod:`kvtheory.instances.sparsity`),
although every such stream has 1-sparse attention.

Semantics of a step. :meth:`~kvtheory.StreamingAttention.step` appends the
token, attends with the current query over the held tokens (the current token
included, so up to ``budget + 1`` of them), lets the query update the
policy's scores, and then evicts down to ``budget``. A bare
:meth:`~kvtheory.StreamingAttention.append` (no query) evicts at once with
the scores it has. Tokens are held in arrival order, so recency needs no
stored positions.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int
from ..attention import softmax
from ..memory import WORD_BITS, MemoryLedger, float_bits
from ..stream import StreamingAttention

__all__ = ["KeyNormEviction", "HeavyHitterEviction", "TOVAEviction"]


class _EvictionCache(StreamingAttention):
    """Shared machinery: held tokens in arrival order, one score per token."""

    #: Whether the policy keeps one float64 score per held token.
    _keeps_scores = False

    def __init__(self, budget: int, dtype=np.float64) -> None:
        super().__init__()
        self.budget = check_int(budget, "budget", lo=1)
        self.bits_per_number = float_bits(dtype)
        self.dtype = np.dtype(dtype)
        self._K = None
        self._V = None
        self._score = np.empty(0)
        self._in_step = False

    # -------------------------------------------------------------- state
    @property
    def keys(self) -> np.ndarray:
        """Held keys in arrival order, shape ``(m, d)`` (a copy)."""
        return np.array(self._K if self._K is not None else np.empty((0, 0)), dtype=np.float64)

    @property
    def values(self) -> np.ndarray:
        """Held values in arrival order, shape ``(m, d_v)`` (a copy)."""
        return np.array(self._V if self._V is not None else np.empty((0, 0)), dtype=np.float64)

    @property
    def n_held(self) -> int:
        """Number of tokens held now."""
        return 0 if self._K is None else self._K.shape[0]

    # ------------------------------------------------------------- hooks
    def step(self, q, k, v) -> np.ndarray:
        """Append ``(k, v)``, attend with ``q`` (updating the scores), then evict."""
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
        if self._K is None:
            self._K, self._V = k, v
        else:
            self._K = np.concatenate([self._K, k])
            self._V = np.concatenate([self._V, v])
        self._score = np.append(self._score, self._new_score())
        if not self._in_step:
            self._evict()

    def _attend(self, q):
        K = self._K.astype(np.float64, copy=False)
        w = softmax(K @ q)
        self._update_scores(w)
        return w @ self._V.astype(np.float64, copy=False)

    def _evict(self):
        while self.n_held > self.budget:
            t = self._victim()
            self._K = np.delete(self._K, t, axis=0)
            self._V = np.delete(self._V, t, axis=0)
            self._score = np.delete(self._score, t)

    def _new_score(self) -> float:
        return 0.0

    def _update_scores(self, w: np.ndarray) -> None:
        pass

    def _victim(self) -> int:  # pragma: no cover
        raise NotImplementedError

    def memory_ledger(self) -> MemoryLedger:
        m = self.n_held
        led = MemoryLedger()
        led.add("held keys", m * (self.d or 0), self.bits_per_number)
        led.add("held values", m * (self.d_v or 0), self.bits_per_number)
        if self._keeps_scores:
            led.add("per-token scores", m, 64)
        led.add("token counter", 1, WORD_BITS)
        return led


class KeyNormEviction(_EvictionCache):
    r"""Keep the ``budget`` tokens with the largest key norms.

    When the cache exceeds its budget it evicts the held token with the
    smallest :math:`\|k_t\|_2` (ties: the oldest). The rule never looks at a
    query, so ``kind = "oblivious"``.

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

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> alg = kv.algorithms.KeyNormEviction(budget=2)
    >>> for r in (3.0, 1.0, 2.0):
    ...     alg.append(np.array([r, 0.0]), np.array([r, r]))
    >>> alg.keys[:, 0].tolist()          # the norm-1 key was evicted
    [3.0, 2.0]
    >>> alg.memory_bits() == 2 * (2 + 2) * 64 + 64
    True
    """

    name = "key-norm eviction"
    kind = "oblivious"

    def _victim(self) -> int:
        norms = np.linalg.norm(self._K.astype(np.float64, copy=False), axis=1)
        return int(np.argmin(norms))


class HeavyHitterEviction(_EvictionCache):
    r"""H2O-style cache: a recent window plus the heaviest past-attention tokens.

    Every query adds its attention weights :math:`w_t` to an accumulated
    score :math:`A_t=\sum_{\text{queries so far}}w_t` of each held token (a
    new token starts at 0). The ``recent`` newest tokens are always kept;
    when the cache exceeds its budget, the older token with the smallest
    :math:`A_t` is evicted (ties: the oldest). Past queries decide what is
    kept, so ``kind = "query-aware"``.

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
    the held arrays, so no positions are stored.

    References
    ----------
    Z. Zhang et al. H2O: Heavy-Hitter Oracle for Efficient Generative
    Inference of Large Language Models. NeurIPS 2023.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> alg = kv.algorithms.HeavyHitterEviction(budget=3, recent=1)
    >>> E = np.eye(4)
    >>> for t in range(4):            # every query looks at token 0
    ...     _ = alg.step(10 * E[0], E[t], E[t])
    >>> alg.values.argmax(axis=1).tolist()   # token 2 accumulated least: evicted
    [0, 1, 3]
    >>> alg.memory_bits() == 3 * (4 + 4) * 64 + 3 * 64 + 64
    True
    """

    name = "H2O-style heavy hitters"
    kind = "query-aware"
    _keeps_scores = True

    def __init__(self, budget: int, recent: int | None = None, dtype=np.float64) -> None:
        super().__init__(budget, dtype)
        if recent is None:
            recent = self.budget // 2
        self.recent = check_int(recent, "recent", lo=0, hi=self.budget - 1)

    def _update_scores(self, w):
        self._score = self._score + w

    def _victim(self) -> int:
        old = self.n_held - self.recent           # >= 1 since n_held > budget > recent
        return int(np.argmin(self._score[:old]))


class TOVAEviction(_EvictionCache):
    r"""TOVA-style cache: keep the tokens the latest query attends to most.

    Each query replaces every held token's score by its current attention
    weight; when the cache exceeds its budget the token with the smallest
    weight under the latest query is evicted (ties: the oldest). A token
    appended without a query has no weight yet and is exempt from that
    eviction (its score is :math:`+\infty` until the next query). Past
    queries decide what is kept, so ``kind = "query-aware"``.

    Parameters
    ----------
    budget : int
        Tokens kept between steps, ``>= 1``.
    dtype : numpy floating dtype, default float64
        Storage precision of keys and values.

    Notes
    -----
    Memory: ``m * (d + d_v)`` stored numbers, ``m`` float64 latest weights,
    and one word (token counter).

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> alg = kv.algorithms.TOVAEviction(budget=2)
    >>> E = np.eye(3)
    >>> for t in range(3):            # each query looks at token 0
    ...     _ = alg.step(10 * E[0], E[t], E[t])
    >>> alg.values.tolist()           # token 1 lost to the newer token 2 (tie: oldest goes)
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    >>> alg.memory_bits() == 2 * (3 + 3) * 64 + 2 * 64 + 64
    True
    """

    name = "TOVA-style latest attention"
    kind = "query-aware"
    _keeps_scores = True

    def _new_score(self) -> float:
        return np.inf

    def _update_scores(self, w):
        self._score = w.copy()

    def _victim(self) -> int:
        return int(np.argmin(self._score))
