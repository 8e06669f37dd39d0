r"""Sketching caches: Johnson-Lindenstrauss projections of values or keys.

:class:`JLSketchCache` multiplies every value (or every key) by a random
Gaussian matrix :math:`P\in\mathbb R^{m\times d}` with i.i.d.
:math:`N(0,1/m)` entries and stores the :math:`m<d` numbers
:math:`Pv_t` (or :math:`Pk_t`) instead of the :math:`d` coordinates.
Since :math:`\mathbb E P^\top P=I`, the answers are unbiased in the right
sense: :math:`P^\top P z` for values, :math:`\langle Pq,Pk_t\rangle` for
scores. The projection is either regenerated from a stored seed (``matrix="seed"``: one word)
or kept as :math:`md` stored numbers (``matrix="stored"``); the ledger says which.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_int, check_rng
from ..attention import attention
from ..memory import WORD_BITS, MemoryLedger
from ..stream import StreamingAttention, _grow_rows

__all__ = ["JLSketchCache"]


class JLSketchCache(StreamingAttention):
    r"""Store a JL projection of the values (or of the keys) to ``m`` dimensions.

    Parameters
    ----------
    m : int
        Sketch dimension, ``m >= 1`` (``m`` below the projected dimension is
        the interesting case; larger ``m`` is allowed).
    target : {"values", "keys"}
        What is projected; the other half is stored in full at ``dtype``.
    matrix : {"seed", "stored"}
        ``"seed"``: only a 64-bit seed is kept and :math:`P` is regenerated
        whenever it is needed (it is not held between steps);
        ``"stored"``: :math:`P` is kept and counted as ``m * d`` numbers at
        ``dtype``.
    seed : int or numpy.random.Generator
        Source of the projection.
    dtype : numpy floating dtype, default float64
        Storage precision of every stored number.

    Notes
    -----
    Memory (hand count), ``n`` tokens, ``target="values"``: ``n * d`` key
    numbers and ``n * m`` sketch numbers at ``dtype``; plus one word for the
    seed (``matrix="seed"``) or ``m * d_v`` numbers at ``dtype``
    (``matrix="stored"``); plus a 64-bit token counter. For ``target="keys"``
    exchange the roles: ``n * m`` sketch numbers, ``n * d_v`` value numbers,
    and ``m * d`` for a stored matrix.

    Values: the answer is :math:`P^\top\bigl(\sum_t w_t\,Pv_t\bigr)=P^\top Pz`,
    with the exact weights :math:`w`. Keys: the weights come from the sketched
    scores :math:`\langle Pq,Pk_t\rangle`.

    References
    ----------
    W. B. Johnson and J. Lindenstrauss, Extensions of Lipschitz mappings into a
    Hilbert space, Contemporary Mathematics 26, 1984.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> rng = np.random.default_rng(0)
    >>> K, V = rng.normal(size=(2, 30, 16))
    >>> sk = kv.algorithms.JLSketchCache(m=4, target="values", seed=3)
    >>> for k, v in zip(K, V):
    ...     sk.append(k, v)
    >>> sk.memory_bits() == 30 * 16 * 64 + 30 * 4 * 64 + 64 + 64
    True
    >>> sk.attend(rng.normal(size=16)).shape
    (16,)
    """

    name = "JL sketch"
    kind = "oblivious"

    def __init__(self, m: int, *, target: str = "values", matrix: str = "seed", seed=0,
                 dtype=np.float64) -> None:
        super().__init__()
        self.m = check_int(m, "m", lo=1)
        self.target = check_choice(target, "target", {"values", "keys"})
        self.matrix = check_choice(matrix, "matrix", {"seed", "stored"})
        rng = check_rng(seed)
        self._seed = int(rng.integers(0, 2**63 - 1))     # the one stored word
        self._set_dtype(dtype)
        self.name = f"JL sketch of {target}, m = {self.m}"
        self._P = None            # held only when matrix == "stored"
        self._A = self._B = None  # full half and sketched half

    def projection(self) -> np.ndarray:
        """The matrix :math:`P`, shape ``(m, d)`` (keys) or ``(m, d_v)`` (values).

        With ``matrix="seed"`` it is regenerated from the stored seed.
        """
        if self.d is None:
            raise ValueError("projection() needs at least one appended token")
        if self._P is not None:
            return self._P
        cols = self.d_v if self.target == "values" else self.d
        P = np.random.default_rng(self._seed).standard_normal((self.m, cols)) / np.sqrt(self.m)
        P = P.astype(self.dtype).astype(np.float64)      # at the declared precision
        if self.matrix == "stored":
            self._P = P
        return P

    def _append(self, k, v):
        n = self.n_seen
        full, proj = (k, v) if self.target == "values" else (v, k)
        if self._A is None:
            self._A = np.empty((16, full.size), dtype=self.dtype)
            self._B = np.empty((16, self.m), dtype=self.dtype)
        elif n == self._A.shape[0]:
            self._A = np.concatenate([self._A, np.empty_like(self._A)])
            self._B = np.concatenate([self._B, np.empty_like(self._B)])
        self._A[n] = full
        self._B[n] = self.projection() @ proj

    def _extend(self, K, V):
        # one product per block (equal to the rows P @ x up to the last bit)
        n, L = self.n_seen, K.shape[0]
        full, proj = (K, V) if self.target == "values" else (V, K)
        self._A, self._B = _grow_rows((self._A, self._B), n + L, (full.shape[1], self.m),
                                      self.dtype)
        self._A[n:n + L] = full
        self._B[n:n + L] = proj @ self.projection().T
        self.n_seen = n + L

    def _attend(self, q):
        n = self.n_seen
        P = self.projection()
        A = self._A[:n].astype(np.float64, copy=False)
        B = self._B[:n].astype(np.float64, copy=False)
        if self.target == "values":
            return P.T @ attention(q, A, B)
        return attention(P @ q, B, A)

    def memory_ledger(self) -> MemoryLedger:
        n = self.n_seen
        b = self.bits_per_number
        d, d_v = self.d or 0, self.d_v or 0
        led = MemoryLedger()
        if self.target == "values":
            led.add("keys", n * d, b)
            led.add("value sketches", n * self.m, b)
            cols = d_v
        else:
            led.add("key sketches", n * self.m, b)
            led.add("values", n * d_v, b)
            cols = d
        if self.matrix == "seed":
            led.add("projection seed", 1, WORD_BITS)
        else:
            led.add("projection matrix", self.m * cols, b)
        return self._add_token_counter(led)
