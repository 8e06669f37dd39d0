r"""The streaming token-generation interface and the exact cache.

At step :math:`i` an algorithm receives :math:`(q_i,k_i,v_i)` and must output
(an approximation of) :math:`\mathrm{Attn}(q_i,K_i,V_i)`, the current token
included. Between steps it keeps a state; it cannot reread earlier tokens.
Every algorithm in :mod:`kvtheory` subclasses :class:`StreamingAttention`, and
so can a reader's own: the INDEX protocol, the benchmark and the chapters
drive anything with this interface.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_real_array, check_choice
from .attention import attention
from .memory import WORD_BITS, MemoryLedger, float_bits

__all__ = ["KINDS", "StreamingAttention", "ExactCache", "run_stream"]

#: The allowed values of :attr:`StreamingAttention.kind`.
#:
#: * ``"oblivious"``: what is stored does not depend on past queries;
#: * ``"query-aware"``: past queries influence what is kept (e.g. H2O);
#: * ``"adaptive"``: the reading pattern at query time depends on the data.
KINDS = frozenset({"oblivious", "adaptive", "query-aware"})


class StreamingAttention:
    r"""Base class of streaming attention algorithms.

    A subclass implements

    * ``_append(k, v)``: absorb one token (already validated, float64, 1-D);
    * ``_attend(q)``: answer one query (validated), returning shape ``(d_v,)``;
    * ``memory_ledger()`` returning a :class:`~kvtheory.MemoryLedger` of
      everything kept, **or** ``memory_bits()`` directly.

    The base class validates inputs, infers the key and value dimensions from
    the first token, counts tokens in :attr:`n_seen`, and provides
    :meth:`step`, which appends and then attends (the current token counts).

    Attributes
    ----------
    name : str
        A short human-readable name (class attribute; may be overridden per
        instance).
    kind : {"oblivious", "adaptive", "query-aware"}
        How the algorithm relates to queries; see :data:`KINDS`.
    n_seen : int
        Tokens appended so far.
    d, d_v : int or None
        Key and value dimensions, fixed by the first token.

    Examples
    --------
    A reader's own algorithm: keep only the most recent token.

    >>> import numpy as np, kvtheory as kv
    >>> class LastToken(kv.StreamingAttention):
    ...     name, kind = "last token", "oblivious"
    ...     def _append(self, k, v):
    ...         self.v = v
    ...     def _attend(self, q):
    ...         return self.v
    ...     def memory_ledger(self):
    ...         return kv.MemoryLedger().add("value", self.d_v, 64)
    >>> alg = LastToken()
    >>> alg.step(np.ones(2), np.zeros(2), np.array([3.0, 4.0])).tolist()
    [3.0, 4.0]
    >>> alg.memory_bits()
    128
    """

    name: str = "streaming attention"
    kind: str = "oblivious"

    def __init__(self) -> None:
        self.n_seen = 0
        self.d: int | None = None
        self.d_v: int | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        check_choice(cls.kind, f"{cls.__name__}.kind", KINDS)
        own = StreamingAttention
        if (cls.memory_bits is own.memory_bits
                and cls.memory_ledger is own.memory_ledger):
            # Checked at instantiation, so intermediate base classes are fine.
            cls._needs_memory = True
        else:
            cls._needs_memory = False

    def __new__(cls, *args, **kwargs):
        if cls is StreamingAttention:
            raise TypeError("StreamingAttention is abstract; subclass it")
        if getattr(cls, "_needs_memory", False):
            raise TypeError(
                f"{cls.__name__} must implement memory_ledger() or memory_bits(): "
                "an algorithm has to account for what it keeps"
            )
        return super().__new__(cls)

    # ------------------------------------------------------------------ API
    def append(self, k, v) -> None:
        """Absorb the token ``(k, v)``.

        Raises
        ------
        TypeError, ValueError
            If ``k`` or ``v`` is not a finite real vector, or its length
            differs from earlier tokens'.
        """
        k = as_real_array(k, "k", ndim=1)
        v = as_real_array(v, "v", ndim=1)
        if self.d is None:
            if k.size == 0 or v.size == 0:
                raise ValueError("k and v must be non-empty vectors")
            self.d, self.d_v = k.size, v.size
        elif k.size != self.d:
            raise ValueError(f"k must have length {self.d} like earlier keys, got {k.size}")
        elif v.size != self.d_v:
            raise ValueError(f"v must have length {self.d_v} like earlier values, got {v.size}")
        self._append(k, v)
        self.n_seen += 1

    def attend(self, q) -> np.ndarray:
        """Return the algorithm's answer for query ``q`` over the tokens so far.

        Raises
        ------
        ValueError
            If no token has been appended, or ``q`` has the wrong length or
            non-finite entries.
        """
        if self.n_seen == 0:
            raise ValueError("attend() needs at least one appended token")
        q = as_real_array(q, "q", ndim=1)
        if q.size != self.d:
            raise ValueError(f"q must have length {self.d} like the keys, got {q.size}")
        z = np.asarray(self._attend(q), dtype=np.float64)
        if z.shape != (self.d_v,):
            raise RuntimeError(
                f"{type(self).__name__}._attend returned shape {z.shape}, expected ({self.d_v},)"
            )
        return z

    def step(self, q, k, v) -> np.ndarray:
        """Append ``(k, v)``, then attend with ``q``: one step of generation."""
        self.append(k, v)
        return self.attend(q)

    def memory_bits(self) -> int:
        """Bits of state kept between steps (see :mod:`kvtheory.memory`)."""
        return self.memory_ledger().total

    def memory_ledger(self) -> MemoryLedger:
        """Itemised account of :meth:`memory_bits`.

        Subclasses that only define ``memory_bits`` get a single-line ledger.
        """
        return MemoryLedger().add("state (not itemised)", self.memory_bits(), 1)

    # ------------------------------------------------------------ hooks
    def _append(self, k: np.ndarray, v: np.ndarray) -> None:  # pragma: no cover
        raise NotImplementedError

    def _attend(self, q: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_seen={self.n_seen}, bits={self.memory_bits()})"


class ExactCache(StreamingAttention):
    r"""The uncompressed KV cache: stores every key and value.

    Its answer is exact attention over all tokens so far, computed in the
    stable form. Memory: ``2 * n * d * bits_per_number`` for the keys and
    values (with ``d_v = d``; in general ``n * (d + d_v) * bits_per_number``)
    plus one :data:`~kvtheory.memory.WORD_BITS`-bit token counter.

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32, numpy.float16}, default float64
        Precision at which keys and values are stored (and counted).

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> cache = kv.ExactCache()
    >>> rng = np.random.default_rng(0)
    >>> for k, v in zip(rng.normal(size=(5, 4)), rng.normal(size=(5, 4))):
    ...     cache.append(k, v)
    >>> cache.memory_bits() == 2 * 5 * 4 * 64 + 64
    True
    """

    name = "exact cache"
    kind = "oblivious"

    def __init__(self, dtype=np.float64) -> None:
        super().__init__()
        self.bits_per_number = float_bits(dtype)
        self.dtype = np.dtype(dtype)
        self._K = None
        self._V = None

    def _append(self, k, v):
        n = self.n_seen
        if self._K is None:
            self._K = np.empty((16, self.d), dtype=self.dtype)
            self._V = np.empty((16, self.d_v), dtype=self.dtype)
        elif n == self._K.shape[0]:          # amortised doubling
            self._K = np.concatenate([self._K, np.empty_like(self._K)])
            self._V = np.concatenate([self._V, np.empty_like(self._V)])
        self._K[n] = k
        self._V[n] = v

    @property
    def keys(self) -> np.ndarray:
        """The stored keys, shape ``(n_seen, d)`` (a read-only view)."""
        out = self._K[: self.n_seen] if self._K is not None else np.empty((0, 0))
        out = out.view()
        out.flags.writeable = False
        return out

    @property
    def values(self) -> np.ndarray:
        """The stored values, shape ``(n_seen, d_v)`` (a read-only view)."""
        out = self._V[: self.n_seen] if self._V is not None else np.empty((0, 0))
        out = out.view()
        out.flags.writeable = False
        return out

    def _attend(self, q):
        n = self.n_seen
        return attention(q, self._K[:n].astype(np.float64, copy=False),
                         self._V[:n].astype(np.float64, copy=False))

    def memory_ledger(self) -> MemoryLedger:
        n = self.n_seen
        led = MemoryLedger()
        led.add("keys", n * (self.d or 0), self.bits_per_number)
        led.add("values", n * (self.d_v or 0), self.bits_per_number)
        led.add("token counter", 1, WORD_BITS)
        return led


def run_stream(algorithm: StreamingAttention, Q, K, V, *,
               return_memory: bool = False):
    r"""Drive ``algorithm`` through the stream ``(Q[i], K[i], V[i])``.

    Calls :meth:`StreamingAttention.step` once per token and collects the
    outputs, so row ``i`` of the result approximates
    ``attention(Q[i], K[:i+1], V[:i+1])``.

    Parameters
    ----------
    algorithm : StreamingAttention
        A fresh (or partly fed) algorithm; it is mutated.
    Q, K : array_like, shape (n, d)
    V : array_like, shape (n, d_v)
    return_memory : bool, default False
        Also return ``memory_bits()`` after every step.

    Returns
    -------
    Z : numpy.ndarray, shape (n, d_v)
    bits : numpy.ndarray of int, shape (n,)
        Only if ``return_memory``.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> rng = np.random.default_rng(1)
    >>> Q, K, V = rng.normal(size=(3, 50, 8))
    >>> Z = kv.run_stream(kv.ExactCache(), Q, K, V)
    >>> float(np.max(np.abs(Z - kv.causal_attention(Q, K, V)))) < 1e-12
    True
    """
    if not isinstance(algorithm, StreamingAttention):
        raise TypeError(
            f"algorithm must be a StreamingAttention instance, got {type(algorithm).__name__}"
        )
    Q = as_real_array(Q, "Q", ndim=2)
    K = as_real_array(K, "K", ndim=2)
    V = as_real_array(V, "V", ndim=2)
    n = K.shape[0]
    if Q.shape != K.shape:
        raise ValueError(f"Q must have the shape of K {K.shape}, got {Q.shape}")
    if V.shape[0] != n:
        raise ValueError(f"V must have {n} rows like K, got {V.shape[0]}")
    Z = np.empty((n, V.shape[1]))
    bits = np.empty(n, dtype=np.int64)
    for i in range(n):
        Z[i] = algorithm.step(Q[i], K[i], V[i])
        if return_memory:
            bits[i] = algorithm.memory_bits()
    return (Z, bits) if return_memory else Z

