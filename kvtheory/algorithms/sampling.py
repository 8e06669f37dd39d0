r"""Sampling caches: keep a uniform random subset of the tokens.

:class:`ReservoirSampling` keeps a uniform sample of ``s`` tokens of the
stream with Vitter's Algorithm R and answers with exact attention over the
sample. Uniform sampling rescales numerator and denominator of attention by
the same factor :math:`n/s`, so the estimate is simply attention over the
sample. On the INDEX instance of Chapter 3 the sample contains Bob's token
:math:`i^*` with probability about :math:`s/n`; otherwise the answer carries no
information about :math:`X_{i^*j^*}`, so success is about
:math:`\frac12+\frac{s}{2n}`.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int, check_rng
from ..memory import MemoryLedger
from ._kept import KeptTokensCache

__all__ = ["ReservoirSampling", "RNG_STATE_BITS"]

#: Bits of the state of numpy's default bit generator (PCG64: a 128-bit state
#: and a 128-bit increment). A sampler that keeps drawing random numbers keeps
#: this state between steps, so it is charged to its memory.
RNG_STATE_BITS = 256


class ReservoirSampling(KeptTokensCache):
    r"""A uniform sample of ``s`` tokens (Vitter's Algorithm R).

    The first ``s`` tokens fill the reservoir; token :math:`t>s` (1-based)
    replaces a uniformly chosen slot with probability :math:`s/t`. After any
    number of tokens every ``s``-subset is equally likely to be held.

    Parameters
    ----------
    s : int
        Reservoir size, ``s >= 1``.
    seed : int or numpy.random.Generator
        Source of the sampling decisions.
    dtype : numpy floating dtype, default float64
        Storage precision of the sampled keys and values.

    Notes
    -----
    Memory (hand count): ``min(n, s) * (d + d_v)`` numbers at the storage
    precision, one :data:`~kvtheory.memory.WORD_BITS`-bit token counter, and
    the generator's state, :data:`RNG_STATE_BITS` = 256 bits (the sampler keeps
    drawing, so its generator state is part of what it keeps).

    References
    ----------
    J. S. Vitter, Random sampling with a reservoir, ACM TOMS 11(1), 1985.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> rng = np.random.default_rng(0)
    >>> K, V = rng.normal(size=(2, 100, 4))
    >>> res = kv.algorithms.ReservoirSampling(s=10, seed=1)
    >>> for k, v in zip(K, V):
    ...     res.append(k, v)
    >>> res.held_indices.shape
    (10,)
    >>> res.memory_bits() == 10 * (4 + 4) * 64 + 64 + 256
    True
    """

    name = "reservoir sampling"
    kind = "oblivious"
    kept_label = "sampled"

    def __init__(self, s: int, *, seed=0, dtype=np.float64) -> None:
        self.s = check_int(s, "s", lo=1)
        super().__init__(self.s, dtype)
        self._rng = check_rng(seed)
        self._idx = np.empty(self.s, dtype=np.int64)   # for inspection only, not counted

    def _append(self, k, v):
        t = self.n_seen                      # 0-based index of this token
        if t < self.s:
            slot = t
        else:
            j = int(self._rng.integers(0, t + 1))   # uniform in {0, ..., t}
            if j >= self.s:
                return
            slot = j
        self._store(slot, k, v)
        self._idx[slot] = t

    def _extend(self, K, V):
        # The same draws as the loop: one integers(0, t + 1) per token t >= s, drawn in
        # one call with the array of bounds (the generator's stream is the same).
        n0, L = self.n_seen, K.shape[0]
        t = np.arange(n0, n0 + L)
        slots = t.copy()
        late = t >= self.s
        if late.any():
            j = self._rng.integers(0, t[late] + 1)
            slots[late] = np.where(j < self.s, j, -1)
        keep = slots >= 0
        used, rows = self._store_many(slots[keep], K[keep], V[keep])
        self._idx[used] = t[keep][rows]
        self.n_seen = n0 + L

    def _held(self) -> int:
        return min(self.n_seen, self.s)

    @property
    def held_indices(self) -> np.ndarray:
        """0-based stream positions of the tokens held (kept for inspection and
        tests; an implementation would not need them, so they are not counted)."""
        return np.sort(self._idx[: self._held()])

    def memory_ledger(self) -> MemoryLedger:
        return super().memory_ledger().add("generator state (PCG64)", 1, RNG_STATE_BITS)
