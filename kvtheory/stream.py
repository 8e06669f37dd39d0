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
from .attention import _attention_trusted
from .memory import WORD_BITS, MemoryLedger, float_bits

__all__ = ["KINDS", "StreamingAttention", "ExactCache", "run_stream", "memory_trace"]

#: The allowed values of :attr:`StreamingAttention.kind`.
#:
#: * ``"oblivious"``: what is stored does not depend on past queries;
#: * ``"query-aware"``: past queries influence what is kept (e.g. H2O);
#: * ``"adaptive"``: the reading pattern at query time depends on the data.
KINDS = frozenset({"oblivious", "adaptive", "query-aware"})


#: Public methods a subclass must not override, and the hook to implement instead.
_PUBLIC_HOOKS = {"append": "_append(k, v)", "extend": "_extend(K, V)", "attend": "_attend(q)",
                 "step": "_append(k, v) and _attend(q)", "memory_bits": "memory_ledger()"}


class StreamingAttention:
    r"""Base class of streaming attention algorithms.

    A subclass implements three hooks (and optionally a classmethod
    ``from_budget(budget_bits, n, d, d_v, seed)`` for the benchmark):

    * ``_append(k, v)``: absorb one token (already validated, float64, 1-D);
    * ``_attend(q)``: answer one query (validated), returning shape ``(d_v,)``;
    * ``memory_ledger()`` returning a :class:`~kvtheory.MemoryLedger` of
      everything kept.

    The base class validates inputs, infers the key and value dimensions from
    the first token, counts tokens in :attr:`n_seen`, and provides
    :meth:`append`, :meth:`extend` (a block of tokens at once, validated
    once), :meth:`attend`, :meth:`step` (append, then attend: the current
    token counts) and :meth:`memory_bits` (the ledger's total). A reader's
    subclass that overrides one of these public methods instead of the hooks
    is refused with a ``TypeError`` when the class is created. A subclass
    whose state after a block does not depend on how the block was split may
    also implement ``_extend(K, V)`` (vectorised; the default appends row by
    row).

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
    #: Largest magnitude the storage dtype holds, if below float64 (set by ``_set_dtype``).
    _storage_max: float | None = None

    def __init__(self) -> None:
        self.n_seen = 0
        self.d: int | None = None
        self.d_v: int | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        check_choice(cls.kind, f"{cls.__name__}.kind", KINDS)
        # One interface: a reader implements the hooks. Overriding the public methods would
        # skip the validation, the dimension check and the token count (kvtheory's own
        # classes may extend ``step``, e.g. to evict after attending; the contract test
        # in tests/test_contract.py checks them).
        if not cls.__module__.startswith("kvtheory."):
            for public, hook in _PUBLIC_HOOKS.items():
                if public in cls.__dict__:
                    raise TypeError(
                        f"{cls.__name__} overrides {public}(); implement the hook {hook} "
                        "instead (the base class's public methods validate the inputs and "
                        "count tokens)")
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
        big = self._storage_max
        if big is not None and (float(np.vdot(k, k)) > big * big
                                or float(np.vdot(v, v)) > big * big):
            self._check_storable(k, "k")       # the fast test of _check_storable, inlined:
            self._check_storable(v, "v")       # this is the per-token path
        self._append(k, v)
        self.n_seen += 1

    def extend(self, K, V) -> StreamingAttention:
        """Append the tokens ``(K[i], V[i])`` in order (a prefill); return ``self``.

        The inputs are validated once for the whole block (real, finite,
        2-D, matching rows and the dimensions of earlier tokens), then handed
        to the hook :meth:`_extend` (the exact cache's own hook checks
        finiteness slice by slice as it copies, one read of the block
        instead of two). The base hook appends row by row;
        every built-in method whose state after a block does not depend on
        how the block was split overrides it with vectorised numpy, so the
        state equals the one the :meth:`append` loop leaves (the score-based
        eviction caches document their prefill mode). A block with a bad row
        is refused whole: nothing is appended.

        Raises
        ------
        TypeError, ValueError
            As :meth:`append`; also if ``K`` and ``V`` are not 2-D with the
            same number of rows.

        Examples
        --------
        >>> import numpy as np, kvtheory as kv
        >>> kv.ExactCache().extend(np.ones((3, 2)), np.zeros((3, 2))).n_seen
        3
        """
        # The exact cache checks finiteness while it copies the block (one read of the
        # block instead of two); every other hook gets a block already checked.
        # A cache that stores below float64 checks finiteness and the storage range in one
        # read of the block (_check_storable).
        fused = type(self)._extend is ExactCache._extend
        narrow = self._storage_max is not None and not fused
        K = as_real_array(K, "K", ndim=2, finite=not (fused or narrow))
        V = as_real_array(V, "V", ndim=2, finite=not (fused or narrow))
        if V.shape[0] != K.shape[0]:
            raise ValueError(f"V must have {K.shape[0]} rows like K, got {V.shape[0]}")
        if narrow:
            self._check_storable(K, "K", finite=False)
            self._check_storable(V, "V", finite=False)
        if self.d is None:
            if K.shape[0] == 0:
                return self
            if K.shape[1] == 0 or V.shape[1] == 0:
                raise ValueError("K and V must have at least one column")
            self.d, self.d_v = K.shape[1], V.shape[1]
        elif K.shape[1] != self.d:
            raise ValueError(f"K must have {self.d} columns like earlier keys, got {K.shape[1]}")
        elif V.shape[1] != self.d_v:
            raise ValueError(f"V must have {self.d_v} columns like earlier values, "
                             f"got {V.shape[1]}")
        if K.shape[0]:
            self._extend(K, V)
        return self

    def attend(self, q) -> np.ndarray:
        """Return the algorithm's answer for query ``q`` over the tokens so far.

        Raises
        ------
        ValueError
            If no token has been appended, or ``q`` has the wrong length or
            non-finite entries.
        """
        q = self._check_query(q)
        z = np.asarray(self._attend(q))
        if z.dtype.kind not in "biuf":
            raise TypeError(
                f"{type(self).__name__}._attend returned dtype {z.dtype}, expected a real array"
            )
        z = z.astype(np.float64, copy=False)
        if z.shape != (self.d_v,):
            raise RuntimeError(
                f"{type(self).__name__}._attend returned shape {z.shape}, expected ({self.d_v},)"
            )
        return z

    def _set_dtype(self, dtype) -> None:
        """Store numbers at ``dtype``: set :attr:`dtype` and the matching ``bits_per_number``.

        Raises
        ------
        ValueError, TypeError
            For a dtype other than float16, float32 or float64
            (:func:`~kvtheory.memory.float_bits`).
        """
        self.bits_per_number = float_bits(dtype)
        self.dtype = np.dtype(dtype)
        # below float64 a finite input can overflow the storage: append and extend refuse it
        self._storage_max = (float(np.finfo(self.dtype).max) if self.dtype.itemsize < 8
                             else None)

    def _check_storable(self, X: np.ndarray, name: str, *, finite: bool = True) -> None:
        """Raise ``ValueError`` if an entry of ``X`` (keys or values, named ``name``) is
        beyond the range of the storage dtype: stored, it would be infinity and turn
        the answers into NaN. With ``finite=False`` (``X`` not yet checked),
        also if an entry is NaN or infinite, as :func:`~kvtheory._validate.as_real_array`
        would. For classes that store below float64 (:meth:`_set_dtype`);
        :meth:`append` and :meth:`extend` call it.

        One read of ``X`` in the common case: :math:`\\sum_i x_i^2\\le M^2`, with
        :math:`M` the dtype's largest number, bounds every entry by :math:`M` and is
        NaN (so fails) if an entry is NaN or infinite. Otherwise the entries are
        looked at one by one, for the right message (or to accept a block whose
        sum of squares is large but whose entries all fit).
        """
        big = self._storage_max
        if big is None or not X.size or float(np.vdot(X, X)) <= big * big:
            return                    # (vdot: no overflow warning, NaN propagates)
        if not finite and not np.isfinite(X).all():
            raise ValueError(f"{name} must be finite (no NaN or inf)")
        top = max(float(X.max()), -float(X.min()))
        with np.errstate(over="ignore"):
            overflows = bool(np.isinf(self.dtype.type(top)))   # as the stored copy would
        if overflows:
            what = "key" if name.lower() == "k" else "value"
            raise ValueError(
                f"{name}: a {what} entry of magnitude {top:.3g} exceeds the largest "
                f"{self.dtype.name} number ({big:.3g}) that {self.name} stores; use "
                f"dtype=np.float64 or rescale the {what}s")

    @staticmethod
    def _add_token_counter(led: MemoryLedger) -> MemoryLedger:
        """Add the one-word token counter every streaming algorithm keeps; return ``led``."""
        return led.add("token counter", 1, WORD_BITS)

    def _check_query(self, q, what: str = "attend()") -> np.ndarray:
        """``q`` as a float64 vector of the keys' length, for any method that reads a query.

        Raises
        ------
        ValueError
            ``"<what> needs at least one appended token"`` before the first
            token; if ``q`` is not a finite vector of length :attr:`d`.
        TypeError
            If ``q`` is not real.
        """
        if self.n_seen == 0:
            raise ValueError(f"{what} needs at least one appended token")
        q = as_real_array(q, "q", ndim=1)
        if q.size != self.d:
            raise ValueError(f"q must have length {self.d} like the keys, got {q.size}")
        return q

    def step(self, q, k, v) -> np.ndarray:
        """Append ``(k, v)``, then attend with ``q``: one step of generation."""
        self.append(k, v)
        return self.attend(q)

    def memory_bits(self) -> int:
        """Bits of state kept between steps (see :mod:`kvtheory.memory`)."""
        return self.memory_ledger().total

    def held_keys(self) -> np.ndarray | None:
        """The keys held verbatim now, shape ``(m, d)``, or ``None`` if the algorithm
        does not keep tokens verbatim (or does not say).

        Used by the scorer of :mod:`kvtheory.game` to report whether a targeted
        token (a needle) was still held at the hand-off. Caches that keep a
        subset of the tokens override it; the default says nothing.
        """
        return None

    def memory_ledger(self) -> MemoryLedger:
        """Itemised account of :meth:`memory_bits`.

        Subclasses that only define ``memory_bits`` get a single-line ledger.
        """
        return MemoryLedger().add("state (not itemised)", self.memory_bits(), 1)

    # ------------------------------------------------------------ hooks
    def _append(self, k: np.ndarray, v: np.ndarray) -> None:  # pragma: no cover
        raise NotImplementedError

    def _extend(self, K: np.ndarray, V: np.ndarray) -> None:
        """Absorb a validated, non-empty block (float64, 2-D) and advance :attr:`n_seen`.

        The default calls :meth:`_append` row by row, counting each token as
        :meth:`append` does. An override must leave the state the loop would
        leave (or document how it differs) and add ``len(K)`` to
        :attr:`n_seen`.
        """
        for k, v in zip(K, V, strict=True):
            self._append(k, v)
            self.n_seen += 1

    def _attend(self, q: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_seen={self.n_seen}, bits={self.memory_bits()})"


#: Entries per slice of :meth:`ExactCache._extend` (copied, then checked while cached).
_CHECK_BLOCK = 1 << 16


def _grow_rows(arrays, rows: int, widths, dtype, *, cap: int | None = None):
    """Buffers with room for ``rows`` rows: allocated at 16 rows, grown by doubling.

    ``arrays`` holds the current buffers (or ``None`` before the first token);
    ``widths`` their column counts; ``dtype`` one dtype for all, or one per
    buffer. Growth copies the filled buffer once per doubling, so appending
    ``n`` tokens costs ``O(n)`` copies in all (amortised). ``cap`` bounds the
    capacity (a cache that never holds more).
    """
    size = 0 if arrays[0] is None else arrays[0].shape[0]
    if rows <= size:
        return arrays
    new = max(16, 2 * size, rows)
    if cap is not None:
        new = min(new, cap)
    dtypes = dtype if isinstance(dtype, (list, tuple)) else [dtype] * len(arrays)
    out = []
    for a, w, dt in zip(arrays, widths, dtypes, strict=True):
        b = np.empty((new, w), dtype=dt)
        if a is not None:
            b[:size] = a
        out.append(b)
    return tuple(out)


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
        self._set_dtype(dtype)
        self._K = None
        self._V = None

    def _append(self, k, v):
        n = self.n_seen
        self._K, self._V = _grow_rows((self._K, self._V), n + 1, (self.d, self.d_v),
                                      self.dtype)
        self._K[n] = k
        self._V[n] = v

    def _extend(self, K, V):
        # Copy in slices of about a megabyte and check each stored slice for NaN and inf
        # while it is still in the processor's cache (the base class leaves the check, and
        # the storage range's, to this hook). A bad entry raises before n_seen moves: the
        # rows copied past n_seen are unused capacity, so the block is refused whole, as
        # everywhere.
        n, m = self.n_seen, K.shape[0]
        self._K, self._V = _grow_rows((self._K, self._V), n + m, (self.d, self.d_v),
                                      self.dtype)
        step = max(1, _CHECK_BLOCK // max(self.d, self.d_v))
        for a in range(0, m, step):
            b = min(m, a + step)
            with np.errstate(over="ignore"):       # an overflow is found and refused below
                self._K[n + a:n + b] = K[a:b]
                self._V[n + a:n + b] = V[a:b]
            # the stored slice is finite iff the input's is and fits the storage dtype
            for X, D, name in ((K, self._K, "K"), (V, self._V, "V")):
                if not np.isfinite(D[n + a:n + b]).all():
                    if not np.isfinite(X[a:b]).all():
                        raise ValueError(f"{name} must be finite (no NaN or inf)")
                    self._check_storable(X[a:b], name)
        self.n_seen = n + m

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

    def held_keys(self) -> np.ndarray:
        """All keys so far (a copy): the exact cache holds every token."""
        return np.array(self.keys, dtype=np.float64)

    def _attend(self, q):
        # The stored rows were validated on append: no re-check, and at float64 no copy
        # (views into the capacity-doubled buffers).
        n = self.n_seen
        return _attention_trusted(q, self._K[:n].astype(np.float64, copy=False),
                                  self._V[:n].astype(np.float64, copy=False))

    def memory_ledger(self) -> MemoryLedger:
        n = self.n_seen
        led = MemoryLedger()
        led.add("keys", n * (self.d or 0), self.bits_per_number)
        led.add("values", n * (self.d_v or 0), self.bits_per_number)
        return self._add_token_counter(led)


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


def memory_trace(algs, K, V, checkpoints, *, observe=None) -> dict:
    r"""Append the tokens ``(K[i], V[i])`` to every algorithm and read ``memory_bits()``
    at the checkpoints.

    The one loop that records memory while tokens stream in: token ``i`` is
    appended to each algorithm in turn (in the order of ``algs``), and after
    token number ``c`` (1-based) for each ``c`` in ``checkpoints`` every
    algorithm's live ledger is read.

    Parameters
    ----------
    algs : sequence of StreamingAttention
        Fresh (or partly fed) algorithms; they are mutated.
    K : array_like, shape (n, d)
    V : array_like, shape (n, d_v)
    checkpoints : array_like of int
        Strictly increasing token counts in ``[1, n]``; streaming stops
        after the last one.
    observe : callable, optional
        Called as ``observe(c)`` at each checkpoint, after the memory is
        read (to record anything else, e.g. a cluster count).

    Returns
    -------
    dict
        ``steps`` (the checkpoints, int array) and ``bits``: one int array
        per algorithm, in the order of ``algs`` (a list).

    Raises
    ------
    TypeError, ValueError
        For a non-algorithm, mismatched ``K``/``V``, or bad checkpoints.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> K = V = np.ones((10, 2))
    >>> tr = kv.stream.memory_trace([kv.ExactCache()], K, V, [1, 5, 10])
    >>> tr["steps"].tolist(), tr["bits"][0].tolist()
    ([1, 5, 10], [320, 1344, 2624])
    """
    algs = list(algs)
    if not algs:
        raise ValueError("algs must not be empty")
    for a in algs:
        if not isinstance(a, StreamingAttention):
            raise TypeError(f"algs must hold StreamingAttention instances, "
                            f"got {type(a).__name__}")
    K = as_real_array(K, "K", ndim=2)
    V = as_real_array(V, "V", ndim=2)
    n = K.shape[0]
    if V.shape[0] != n:
        raise ValueError(f"V must have {n} rows like K, got {V.shape[0]}")
    cp = np.asarray(checkpoints)
    if cp.dtype.kind not in "iu" or cp.ndim != 1 or cp.size == 0:
        raise ValueError("checkpoints must be a non-empty 1-D array of token counts")
    if cp[0] < 1 or cp[-1] > n or np.any(np.diff(cp) <= 0):
        raise ValueError(f"checkpoints must increase strictly within [1, {n}]")
    if observe is not None and not callable(observe):
        raise TypeError("observe must be callable")
    bits = np.empty((len(algs), cp.size), dtype=np.int64)
    g = 0
    for i in range(n):
        for a in algs:
            a.append(K[i], V[i])
        if i + 1 == cp[g]:
            for j, a in enumerate(algs):
                bits[j, g] = a.memory_bits()
            if observe is not None:
                observe(int(cp[g]))
            g += 1
            if g == cp.size:
                break
    return {"steps": cp.astype(np.int64), "bits": list(bits)}
