r"""Sampling estimators of attention with unbiased numerator and denominator.

Attention is a ratio of two sums over the tokens,

.. math::
    \mathrm{Attn}(q,K,V)=\frac{U(q)}{Z(q)},\qquad
    U(q)=\sum_t e^{\langle q,k_t\rangle}v_t,\qquad Z(q)=\sum_t e^{\langle q,k_t\rangle}.

A sample of tokens chosen *before* the query is known gives unbiased
estimates :math:`\hat U`, :math:`\hat Z` of both sums (Horvitz-Thompson
weights: divide each sampled term by its probability of being sampled), and
the answer is :math:`\hat U/\hat Z`. The ratio is not unbiased, but it is
consistent, and the error of each sum is controlled by the variance of the
sampled terms.

* :class:`UniformSamplingEstimator`: a uniform sample without replacement
  (reservoir sampling, :class:`~kvtheory.algorithms.ReservoirSampling`), every
  token kept with probability :math:`s/n`.
* :class:`ImportanceSamplingEstimator`: ``s`` independent draws with
  replacement, token :math:`t` drawn with probability proportional to an
  importance weight :math:`\omega_t=e^{r\|k_t\|}(1+\|v_t\|)`, an upper bound
  (up to the factor :math:`1+\|v_t\|`) on token :math:`t`'s contribution to
  :math:`U` and :math:`Z` for any query of norm at most :math:`r`: the
  norm-proportional sampling of Drineas, Kannan and Mahoney (2006) for
  approximate matrix products, made streaming with one weighted reservoir
  per draw.
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_int, check_real, check_rng
from ..attention import softmax
from ..memory import MemoryLedger
from ..stream import StreamingAttention
from ._rows import row_dots
from .sampling import RNG_STATE_BITS, ReservoirSampling

__all__ = ["UniformSamplingEstimator", "ImportanceSamplingEstimator"]


class UniformSamplingEstimator(ReservoirSampling):
    r"""Uniform sampling of ``s`` tokens; unbiased :math:`\hat U`, :math:`\hat Z`.

    The sample is Vitter's reservoir (:class:`~kvtheory.algorithms.ReservoirSampling`,
    whose ledger and storage this class inherits unchanged). Each token is in
    the sample with probability :math:`\pi=\min(1,s/n)`, so

    .. math::
        \hat U=\frac1\pi\sum_{t\in\mathcal S}e^{\langle q,k_t\rangle}v_t,\qquad
        \hat Z=\frac1\pi\sum_{t\in\mathcal S}e^{\langle q,k_t\rangle}

    are unbiased, and the answer :math:`\hat U/\hat Z` is attention over the
    sample (the factor :math:`1/\pi` cancels).

    Parameters
    ----------
    s : int
        Sample size, ``>= 1``.
    seed : int or numpy.random.Generator
    dtype : numpy floating dtype, default float64
        Storage precision of the sampled keys and values.

    Notes
    -----
    Memory: as :class:`~kvtheory.algorithms.ReservoirSampling`:
    ``min(n, s) * (d + d_v)`` numbers at ``dtype``, a token counter (which also
    gives :math:`\pi`) and the 256-bit generator state.

    References
    ----------
    J. S. Vitter, Random sampling with a reservoir, ACM TOMS 11(1), 1985.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.algorithms.estimators import UniformSamplingEstimator
    >>> rng = np.random.default_rng(0)
    >>> K, V = rng.normal(size=(2, 12, 3)) / 2
    >>> q = rng.normal(size=3)
    >>> N_true = np.exp(K @ q) @ V
    >>> est = []
    >>> for seed in range(4000):
    ...     alg = UniformSamplingEstimator(s=4, seed=seed)
    ...     for k, v in zip(K, V):
    ...         alg.append(k, v)
    ...     est.append(alg.estimates(q)[0])
    >>> bool(np.max(np.abs(np.mean(est, axis=0) - N_true)) < 0.1 * np.max(np.abs(N_true)))
    True
    """

    name = "uniform sampling"
    kind = "oblivious"

    def __init__(self, s: int, *, seed=0, dtype=np.float64) -> None:
        super().__init__(s, seed=seed, dtype=dtype)
        self.name = f"uniform sampling, s={self.s}"

    def estimates(self, q) -> tuple[np.ndarray, float]:
        r"""The unbiased estimates :math:`(\hat U(q),\hat Z(q))`.

        Computed as :math:`e^{c}` times a stable sum with
        :math:`c=\max_{t\in\mathcal S}\langle q,k_t\rangle`; may overflow for huge
        scores, where only the ratio (:meth:`attend`) is representable.
        """
        q = self._check_query(q, "estimates()")
        m = self._held()
        K = self._K[:m].astype(np.float64, copy=False)
        V = self._V[:m].astype(np.float64, copy=False)
        s = K @ q
        c = float(s.max())
        e = np.exp(s - c)
        scale = math.exp(c) * self.n_seen / m
        return scale * (e @ V), scale * float(e.sum())


class ImportanceSamplingEstimator(StreamingAttention):
    r"""``s`` importance-weighted draws with replacement; unbiased :math:`\hat U`, :math:`\hat Z`.

    Token :math:`t` has weight :math:`\omega_t=e^{r\|k_t\|}(1+\|v_t\|)`. Each
    of the ``s`` slots is an independent weighted reservoir of size one: with
    :math:`W_t=\sum_{u\le t}\omega_u`, token :math:`t` replaces the slot's
    content with probability :math:`\omega_t/W_t`, so after :math:`n` tokens
    the slot holds token :math:`t` with probability :math:`p_t=\omega_t/W_n`.
    The estimates

    .. math::
        \hat U=\frac1s\sum_{j=1}^s\frac{e^{\langle q,k_{t_j}\rangle}v_{t_j}}{p_{t_j}},\qquad
        \hat Z=\frac1s\sum_{j=1}^s\frac{e^{\langle q,k_{t_j}\rangle}}{p_{t_j}}

    are unbiased, and the answer :math:`\hat U/\hat Z` is a softmax over the
    slots of the scores :math:`\langle q,k_{t_j}\rangle-\ln\omega_{t_j}`.
    Everything is kept in the log domain, so :math:`r\|k\|` may be large.

    Parameters
    ----------
    s : int
        Number of draws (slots), ``>= 1``.
    r : float, default 1.0
        The query-norm budget the weights are designed for, ``>= 0``
        (``r = 0`` weighs by value norm only).
    seed : int or numpy.random.Generator
    dtype : numpy floating dtype, default float64
        Storage precision of the slots' keys and values.

    Notes
    -----
    Memory (hand count): ``s * (d + d_v)`` numbers at ``dtype`` for the slots'
    keys and values (a token drawn twice is stored twice), ``s`` log-weights
    :math:`\ln\omega_{t_j}` and the running :math:`\ln W` as float64, a token
    counter, and the 256-bit generator state
    (:data:`~kvtheory.algorithms.sampling.RNG_STATE_BITS`). Before the first
    token the slots are empty and cost nothing.

    References
    ----------
    P. Drineas, R. Kannan, M. W. Mahoney. Fast Monte Carlo Algorithms for
    Matrices I: Approximating Matrix Multiplication. SIAM J. Computing 36(1),
    2006.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.algorithms.estimators import ImportanceSamplingEstimator
    >>> rng = np.random.default_rng(0)
    >>> K, V = rng.normal(size=(2, 12, 3)) / 2
    >>> q = rng.normal(size=3)
    >>> D_true = np.exp(K @ q).sum()
    >>> est = []
    >>> for seed in range(4000):
    ...     alg = ImportanceSamplingEstimator(s=4, r=1.0, seed=seed)
    ...     for k, v in zip(K, V):
    ...         alg.append(k, v)
    ...     est.append(alg.estimates(q)[1])
    >>> bool(abs(np.mean(est) / D_true - 1) < 0.02)
    True
    >>> alg.memory_bits() == 4 * 6 * 64 + 4 * 64 + 64 + 64 + 256
    True
    """

    name = "importance sampling"
    kind = "oblivious"

    def __init__(self, s: int, *, r: float = 1.0, seed=0, dtype=np.float64) -> None:
        super().__init__()
        self.s = check_int(s, "s", lo=1)
        self.r = check_real(r, "r", lo=0)
        self._rng = check_rng(seed)
        self._set_dtype(dtype)
        self.name = f"importance sampling, s={self.s}"
        self._K = self._V = None
        self._logw = np.full(self.s, -np.inf)
        self._logW = -np.inf

    def _append(self, k, v):
        if self._K is None:
            self._K = np.empty((self.s, self.d), dtype=self.dtype)
            self._V = np.empty((self.s, self.d_v), dtype=self.dtype)
        logw = self.r * float(np.linalg.norm(k)) + math.log1p(float(np.linalg.norm(v)))
        self._logW = float(np.logaddexp(self._logW, logw))
        take = self._rng.random(self.s) < math.exp(logw - self._logW)   # prob w_t / W_t
        self._K[take] = k
        self._V[take] = v
        self._logw[take] = logw

    def _extend(self, K, V):
        # The loop's arithmetic and draws, in blocks: the row norms as the loop's dot
        # products, the running total by a sequential logaddexp.accumulate, math.exp /
        # math.log1p per token as in the loop, and random((rows, s)) in row order (the
        # generator's stream is that of one random(s) per token). A slot ends with the
        # last token that took it.
        if self._K is None:
            self._K = np.empty((self.s, self.d), dtype=self.dtype)
            self._V = np.empty((self.s, self.d_v), dtype=self.dtype)
        L = K.shape[0]
        nk = np.sqrt(row_dots(K))
        nv = row_dots(V)
        logw = self.r * nk + np.fromiter(map(math.log1p, np.sqrt(nv).tolist()), np.float64, L)
        logW = np.logaddexp.accumulate(np.concatenate([[self._logW], logw]))[1:]
        p = np.fromiter(map(math.exp, (logw - logW).tolist()), np.float64, L)
        chunk = max(1, (1 << 20) // self.s)
        for a in range(0, L, chunk):
            b = min(L, a + chunk)
            take = self._rng.random((b - a, self.s)) < p[a:b, None]
            hit = take.any(axis=0)
            last = a + (b - a - 1) - np.argmax(take[::-1], axis=0)
            slots = np.flatnonzero(hit)
            rows = last[hit]
            self._K[slots] = K[rows]
            self._V[slots] = V[rows]
            self._logw[slots] = logw[rows]
        self._logW = float(logW[-1])
        self.n_seen += L

    def estimates(self, q) -> tuple[np.ndarray, float]:
        r"""The unbiased estimates :math:`(\hat U(q),\hat Z(q))` (may overflow for huge scores)."""
        q = self._check_query(q, "estimates()")
        a = self._K.astype(np.float64) @ q - self._logw + self._logW    # log(e^s / p)
        c = float(a.max())
        e = np.exp(a - c) / self.s
        return math.exp(c) * (e @ self._V.astype(np.float64)), math.exp(c) * float(e.sum())

    def _attend(self, q):
        a = self._K.astype(np.float64, copy=False) @ q - self._logw
        return softmax(a) @ self._V.astype(np.float64, copy=False)

    def memory_ledger(self) -> MemoryLedger:
        filled = self.s if self.n_seen else 0
        led = MemoryLedger()
        led.add("sampled keys", filled * (self.d or 0), self.bits_per_number)
        led.add("sampled values", filled * (self.d_v or 0), self.bits_per_number)
        led.add("log-weights of the slots", filled, 64)
        led.add("running log total weight", 1, 64)
        self._add_token_counter(led)
        led.add("generator state (PCG64)", 1, RNG_STATE_BITS)
        return led
