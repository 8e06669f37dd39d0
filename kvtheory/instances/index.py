r"""The hard instance of the space barrier: INDEX through attention.

Alice holds bits :math:`X\in\{0,1\}^{n\times d}`. She streams tokens
:math:`(q_t,k_t,v_t)=(0,k_t,X_t)` with public keys :math:`k_t`, then hands the
algorithm's state to Bob. Bob, who wants :math:`X_{i^*j^*}`, runs one more step
with :math:`(Ck_{i^*},0,0)`: the query singles out token :math:`i^*` (its score
is :math:`C`, all others at most :math:`C\kappa`), the padding token adds
weight :math:`e^0=1` and value 0, and Bob outputs 1 iff coordinate
:math:`j^*` of the answer exceeds a threshold :math:`\tau`. An algorithm that
meets the approximation notion thereby solves :math:`\mathrm{INDEX}_{nd}`, so
its state must hold :math:`(1-H_2(p))\,nd` bits (Chapter 3).

:func:`run_index_protocol` plays this game against *any*
:class:`~kvtheory.StreamingAttention`, including a reader's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .._validate import as_real_array, check_choice, check_int, check_real, check_rng
from ..game import Instance, play, score
from ..information import H2
from ..stream import StreamingAttention

__all__ = [
    "default_C",
    "decode_threshold",
    "sign_keys",
    "IndexInstance",
    "make_index_instance",
    "alice_stream",
    "IndexResult",
    "run_index_protocol",
    "hoeffding_d",
    "leaked_mass",
    "expected_leaked_mass",
    "first_moment_d",
    "space_bound_bits",
]


def default_C(n: int, *, gamma: float = 0.1, eps: float = 0.5) -> float:
    r"""Query scale :math:`C=\frac{\ln n+\ln(1/\gamma)}{1-\kappa}`.

    With all other keys at inner product :math:`\le\kappa` with
    :math:`k_{i^*}`, this makes :math:`w_{i^*}\ge 1/(1+\gamma)`.

    Examples
    --------
    >>> from kvtheory.instances.index import default_C
    >>> f"{default_C(1000):.2f}"
    '18.42'
    """
    n = check_int(n, "n", lo=1)
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    eps = check_real(eps, "eps", lo=0, hi=1, hi_open=True)
    return (math.log(n) + math.log(1 / gamma)) / (1 - eps)


def decode_threshold(notion: str = "entrywise", *, eta: float = 0.0,
                     gamma: float = 0.1, alpha: float | None = None) -> float:
    r"""Bob's threshold :math:`\tau`.

    For :math:`(\mathrm E_\eta)`: case 1 outputs are :math:`\ge a=\frac{1-\eta}{1+\gamma}`,
    case 0 outputs :math:`\le b=\frac{(1+\eta)\gamma}{1+\gamma}`, and
    :math:`\tau=\frac{a+b}2`; this needs :math:`\gamma<\frac{1-\eta}{1+\eta}`.
    For :math:`(\mathrm A_\alpha)`: :math:`\tau=\frac12`, which needs
    :math:`\alpha<\frac{1-\gamma}{2(1+\gamma)}` (checked if ``alpha`` is given).

    Raises
    ------
    ValueError
        If the separation condition fails (Bob could not decode).

    Examples
    --------
    >>> from kvtheory.instances.index import decode_threshold
    >>> f"{decode_threshold('entrywise', eta=0.5, gamma=0.1):.3f}"
    '0.295'
    """
    check_choice(notion, "notion", {"entrywise", "additive"})
    gamma = check_real(gamma, "gamma", lo=0, lo_open=True)
    if notion == "additive":
        if alpha is not None:
            alpha = check_real(alpha, "alpha", lo=0)
            if not alpha < (1 - gamma) / (2 * (1 + gamma)):
                bound = (1 - gamma) / (2 * (1 + gamma))
                raise ValueError(f"alpha must be < (1-gamma)/(2(1+gamma)) = {bound:.4f}")
        return 0.5
    eta = check_real(eta, "eta", lo=0, hi=1, hi_open=True)
    if not gamma < (1 - eta) / (1 + eta):
        raise ValueError(
            f"gamma must be < (1-eta)/(1+eta) = {(1 - eta) / (1 + eta):.4f} for eta={eta}"
        )
    return ((1 - eta) + gamma * (1 + eta)) / (2 * (1 + gamma))


def sign_keys(n: int, d: int, *, seed=0) -> np.ndarray:
    r"""``n`` i.i.d. uniform keys in :math:`\{\pm1/\sqrt d\}^d` (unit norm)."""
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    rng = check_rng(seed)
    return rng.choice(np.array([-1.0, 1.0]), size=(n, d)) / math.sqrt(d)


@dataclass(frozen=True)
class IndexInstance:
    """One draw of the hard instance: public keys, Alice's bits, Bob's scale."""

    keys: np.ndarray          # (n, d) public keys
    X: np.ndarray             # (n, d_v) Alice's bits, as floats 0/1
    C: float                  # Bob's query scale
    tau: float                # Bob's threshold
    notion: str
    eta: float
    gamma: float

    @property
    def n(self) -> int:
        return self.keys.shape[0]

    @property
    def d(self) -> int:
        return self.keys.shape[1]

    @property
    def d_v(self) -> int:
        return self.X.shape[1]

    def as_instance(self, probes, *, cells=None, queries: str = "zero",
                    prefix_tokens: int = 0, name: str = "index") -> Instance:
        r"""This draw as a :class:`kvtheory.game.Instance`: Alice's stream and Bob's probes.

        Parameters
        ----------
        probes : array_like of int, shape ``(m,)``
            The targets :math:`i^*` of Bob's probes; probe ``j`` is the query
            :math:`Ck_{i^*_j}`, asked with the zero padding token.
        cells : array_like of int, shape ``(T, 2)``, optional
            ``(probe, coordinate)`` pairs Bob decodes; default every
            coordinate of every probe.
        queries : {"zero", "self"}
            Alice's queries (:func:`alice_stream`); with ``"zero"`` her
            tokens are appended, with ``"self"`` they are stepped.
        prefix_tokens : int
            All-zero tokens before Alice's (the window chapters); they are fed
            like her tokens.
        name : str

        Returns
        -------
        kvtheory.game.Instance
            With ``info_bits = n * d_v`` and ``tau`` Bob's threshold.

        Examples
        --------
        >>> from kvtheory.instances.index import make_index_instance
        >>> inst = make_index_instance(100, 16, seed=0).as_instance([5, 9], prefix_tokens=10)
        >>> inst.n, inst.targets.tolist(), inst.info_bits, inst.pad
        (110, [15, 19], 1600, True)
        """
        check_choice(queries, "queries", {"zero", "self"})
        prefix_tokens = check_int(prefix_tokens, "prefix_tokens", lo=0)
        tg = np.asarray(probes)
        if tg.dtype.kind not in "iu" or tg.ndim != 1 or tg.size == 0:
            raise ValueError("probes must be a non-empty 1-D array of token indices")
        if tg.min() < 0 or tg.max() >= self.n:
            raise ValueError(f"probes must lie in [0, {self.n})")
        Q, K, V = alice_stream(self, queries=queries)
        if prefix_tokens:
            K = np.vstack([np.zeros((prefix_tokens, self.d)), K])
            V = np.vstack([np.zeros((prefix_tokens, self.d_v)), V])
            Q = np.vstack([np.zeros((prefix_tokens, self.d)), Q])
        return Instance(name, "hard", K, V, None if queries == "zero" else Q,
                        self.C * self.keys[tg], True, prefix_tokens + tg, self.tau,
                        self.n * self.d_v, {"C": self.C, "prefix_tokens": prefix_tokens},
                        cells=cells)


def make_index_instance(n: int, d: int, *, seed=0, keys=None, C: float | None = None,
                        gamma: float = 0.1, eps: float = 0.5, eta: float = 0.0,
                        notion: str = "entrywise", d_v: int | None = None) -> IndexInstance:
    r"""Draw the instance: sign keys (or the given ``keys``) and fair bits.

    Parameters
    ----------
    n, d : int
        Tokens Alice streams, and the key dimension.
    seed : int or numpy.random.Generator
        Source of the keys (when not given) and of Alice's bits.
    keys : array_like, shape (n, d), optional
        Public keys to use instead of random signs (e.g. a code, Chapter 4).
    C : float, optional
        Bob's query scale; default :func:`default_C` ``(n, gamma, eps)``.
    gamma, eps, eta, notion
        See :func:`default_C` and :func:`decode_threshold`.
    d_v : int, optional
        Value dimension (default ``d``): Alice holds ``n * d_v`` bits.
    """
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    d_v = d if d_v is None else check_int(d_v, "d_v", lo=1)
    rng = check_rng(seed)
    if keys is None:
        keys = sign_keys(n, d, seed=rng)
    else:
        keys = as_real_array(keys, "keys", shape=(n, d))
    C = default_C(n, gamma=gamma, eps=eps) if C is None else check_real(C, "C", lo=0, lo_open=True)
    tau = decode_threshold(notion, eta=eta, gamma=gamma)
    X = rng.integers(0, 2, size=(n, d_v)).astype(np.float64)
    return IndexInstance(keys=keys, X=X, C=C, tau=tau, notion=notion, eta=eta, gamma=gamma)


def alice_stream(inst: IndexInstance, *, queries: str = "zero"):
    r"""Alice's tokens ``(Q, K, V)``: keys, her bits as values, and queries
    that are zero (``"zero"``) or :math:`Ck_t` (``"self"``, Chapter 6)."""
    check_choice(queries, "queries", {"zero", "self"})
    Q = np.zeros_like(inst.keys) if queries == "zero" else inst.C * inst.keys
    return Q, inst.keys, inst.X


@dataclass
class IndexResult:
    """Outcome of :func:`run_index_protocol`.

    ``ceiling`` is the most any algorithm keeping ``memory_bits`` bits can
    achieve on average, :math:`1-H_2^{-1}(\\max(0,1-S/(n d_v)))`;
    ``stderr`` is the binomial standard error of ``success_rate``.
    """

    algorithm: str
    kind: str
    n: int
    d: int
    trials: int
    successes: int
    memory_bits: int
    info_bits: int
    ceiling: float
    C: float
    tau: float
    outputs: np.ndarray = field(repr=False)   # z_hat[j*] per trial
    truth: np.ndarray = field(repr=False)     # X[i*, j*] per trial

    @property
    def success_rate(self) -> float:
        return self.successes / self.trials

    @property
    def stderr(self) -> float:
        p = self.success_rate
        return math.sqrt(max(p * (1 - p), 0.25 / self.trials) / self.trials)

    @property
    def bits_per_info_bit(self) -> float:
        return self.memory_bits / self.info_bits


def run_index_protocol(make_algorithm: Callable[[], StreamingAttention], n: int, d: int, *,
                       trials: int = 200, seed=0, keys=None, C: float | None = None,
                       gamma: float = 0.1, eps: float = 0.5, eta: float = 0.0,
                       notion: str = "entrywise", queries: str = "zero",
                       prefix_tokens: int = 0) -> IndexResult:
    r"""Play the INDEX game of Chapter 3 against a streaming algorithm.

    1. Draw the instance (:func:`make_index_instance`).
    2. Alice: a fresh ``make_algorithm()`` receives ``prefix_tokens`` tokens
       with zero query, key and value (used by the window chapters), then her
       ``n`` tokens; ``memory_bits()`` is read at the hand-off.
    3. Bob: for ``trials`` uniform pairs :math:`(i^*,j^*)` he runs one more
       step with :math:`(Ck_{i^*},0,0)` on a copy of the handed-over state
       and decodes coordinate :math:`j^*` with threshold :math:`\tau`. Pairs
       with the same :math:`i^*` share one step.

    Steps 2 and 3 are :func:`kvtheory.game.play` on
    :meth:`IndexInstance.as_instance`, and the tally is
    :func:`kvtheory.game.score`; this function only draws Bob's pairs.

    Parameters
    ----------
    make_algorithm : callable
        Called with no arguments; must return a fresh
        :class:`~kvtheory.StreamingAttention`. A class with a no-argument
        constructor works, e.g. ``kv.ExactCache``; for parameters use
        ``functools.partial`` or a lambda.
    n, d : int
        Alice's tokens and the dimension; she holds ``n * d`` bits.
    trials : int
        Number of Bob's queries :math:`(i^*,j^*)`.
    seed : int or numpy.random.Generator
        Seeds keys, bits and Bob's pairs (the algorithm seeds itself).
    keys, C, gamma, eps, eta, notion
        Passed to :func:`make_index_instance`.
    queries : {"zero", "self"}
        Alice's queries (see :func:`alice_stream`).
    prefix_tokens : int
        All-zero tokens streamed before Alice's.

    Returns
    -------
    IndexResult

    Examples
    --------
    >>> import kvtheory as kv
    >>> from kvtheory.instances.index import run_index_protocol
    >>> res = run_index_protocol(kv.ExactCache, n=100, d=24, trials=50, seed=0)
    >>> res.success_rate, res.info_bits
    (1.0, 2400)
    """
    if not callable(make_algorithm):
        raise TypeError("make_algorithm must be callable with no arguments")
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    trials = check_int(trials, "trials", lo=1)
    prefix_tokens = check_int(prefix_tokens, "prefix_tokens", lo=0)
    rng = check_rng(seed)
    inst = make_index_instance(n, d, seed=rng, keys=keys, C=C, gamma=gamma, eps=eps,
                               eta=eta, notion=notion)
    alg = make_algorithm()
    if not isinstance(alg, StreamingAttention):
        raise TypeError(
            f"make_algorithm() must return a StreamingAttention, got {type(alg).__name__}"
        )
    # Bob's pairs (i*, j*); pairs with the same i* share one probe
    i_star = rng.integers(0, n, size=trials)
    j_star = rng.integers(0, inst.d_v, size=trials)
    targets, probe_of = np.unique(i_star, return_inverse=True)
    game = inst.as_instance(targets, cells=np.column_stack([probe_of, j_star]),
                            queries=queries, prefix_tokens=prefix_tokens)
    tr = play(alg, game)
    sc = score(tr, game, errors=False)
    return IndexResult(
        algorithm=tr.algorithm, kind=tr.kind, n=n, d=d, trials=trials,
        successes=sc.successes, memory_bits=tr.memory_bits, info_bits=game.info_bits,
        ceiling=sc.ceiling, C=inst.C, tau=inst.tau,
        outputs=np.array(tr.outputs[probe_of, j_star]), truth=np.array(sc.truth),
    )


# --------------------------------------------------------------------------
# The constants of Chapter 3's space-barrier theorem and leaked-mass proposition
# --------------------------------------------------------------------------

def hoeffding_d(n: int, *, eps: float = 0.5, delta: float = 0.1,
                two_sided: bool = False) -> int:
    r"""Least integer :math:`d\ge\frac{2}{\kappa^2}\ln\frac{n}{\delta}`: the
    Hoeffding + union-bound dimension of the space-barrier theorem of Chapter 3.

    With this :math:`d`, :math:`n e^{-\kappa^2 d/2}\le\delta`, so all
    :math:`n-1` partners :math:`t\ne i^*` have
    :math:`\rho_t=\langle k_t,k_{i^*}\rangle\le\kappa` except with
    probability :math:`\delta`. ``two_sided=True`` bounds
    :math:`\max_t|\rho_t|` instead (twice as many events:
    :math:`\frac{2}{\kappa^2}\ln\frac{2n}{\delta}`).

    Parameters
    ----------
    n : int
        Number of keys, ``n >= 1``.
    eps : float
        Coherence level, in ``(0, 1)``.
    delta : float
        Failure probability, in ``(0, 1)``.
    two_sided : bool
        Bound :math:`|\rho_t|` rather than :math:`\rho_t`.

    Returns
    -------
    int

    Examples
    --------
    >>> from kvtheory.instances.index import hoeffding_d
    >>> [hoeffding_d(n) for n in (10**3, 10**4, 10**5)]
    [74, 93, 111]
    >>> hoeffding_d(1000, two_sided=True)
    80
    """
    n = check_int(n, "n", lo=1)
    eps = check_real(eps, "eps", lo=0, hi=1, lo_open=True, hi_open=True)
    delta = check_real(delta, "delta", lo=0, hi=1, lo_open=True, hi_open=True)
    if not isinstance(two_sided, bool):
        raise TypeError("two_sided must be a bool")
    events = 2 * n if two_sided else n
    return max(1, math.ceil(2.0 / eps**2 * math.log(events / delta) - 1e-12))


def leaked_mass(keys, i_star, C: float) -> np.ndarray:
    r"""The leaked mass :math:`\Lambda=\sum_{t\ne i^*}e^{-C(1-\rho_t)}+e^{-C}` of
    Chapter 3's leaked-mass proposition, for one or several targets ``i_star``.

    Exact attention on the instance gives :math:`w_{i^*}=1/(1+M)` (the last
    term is the padding token). Computed in the log domain, so large ``C``
    is safe.

    Parameters
    ----------
    keys : array_like, shape (n, d)
        The keys (unit norm for the identity to hold).
    i_star : int or array_like of int
        Target indices in ``[0, n)``.
    C : float
        Query scale, ``> 0``.

    Returns
    -------
    numpy.ndarray
        One value of :math:`M` per target (shape of ``np.atleast_1d(i_star)``).

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.instances.index import leaked_mass
    >>> keys = np.eye(3)                    # orthogonal: rho_t = 0
    >>> f"{leaked_mass(keys, 0, 2.0)[0]:.6f}"   # 2 e^{-2} + e^{-2}
    '0.406006'
    """
    K = as_real_array(keys, "keys", ndim=2)
    C = check_real(C, "C", lo=0, lo_open=True)
    idx = np.atleast_1d(np.asarray(i_star))
    if idx.dtype.kind not in "iu" or idx.ndim != 1:
        raise TypeError("i_star must be an integer or a 1-D array of integers")
    if idx.size and (idx.min() < 0 or idx.max() >= K.shape[0]):
        raise ValueError(f"i_star must lie in [0, {K.shape[0]})")
    rho = K[idx] @ K.T                                  # (m, n)
    expo = -C * (1.0 - rho)
    expo[np.arange(idx.size), idx] = -np.inf            # leave out t = i*
    return np.exp(expo).sum(axis=1) + math.exp(-C)


def expected_leaked_mass(n: int, d: int, *, C: float | None = None,
                         gamma: float = 0.1, eps: float = 0.5) -> float:
    r""":math:`\mathbb E\Lambda=(n-1)\bigl(\frac{1+e^{-2C/d}}{2}\bigr)^d+e^{-C}` for
    uniform sign keys (the leaked-mass proposition of Chapter 3).

    ``C`` defaults to :func:`default_C` ``(n, gamma=gamma, eps=eps)``.

    Examples
    --------
    >>> from kvtheory.instances.index import expected_leaked_mass
    >>> f"{expected_leaked_mass(1000, 23):.4f}", f"{expected_leaked_mass(1000, 22):.4f}"
    ('0.0081', '0.0104')
    """
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    C = default_C(n, gamma=gamma, eps=eps) if C is None else check_real(C, "C", lo=0,
                                                                         lo_open=True)
    # log-domain for the power, to stay accurate for large d
    log_term = d * math.log((1.0 + math.exp(-2.0 * C / d)) / 2.0)
    return (n - 1) * math.exp(log_term) + math.exp(-C)


def first_moment_d(n: int, *, C: float | None = None, gamma: float = 0.1,
                   delta: float = 0.1, eps: float = 0.5, d_max: int = 100_000) -> int:
    r"""Least :math:`d` with :math:`\mathbb E\Lambda\le\gamma\delta` (Chapter 3's leaked-mass
    proposition).

    By Markov's inequality, :math:`\Pr[w_{i^*}<\frac1{1+\gamma}]=\Pr[M>\gamma]\le\delta`
    at this :math:`d`, which is all the proof of the space-barrier theorem uses about the keys.

    Raises
    ------
    ValueError
        If no :math:`d\le` ``d_max`` works (e.g. ``C`` too small: as
        :math:`d\to\infty`, :math:`\mathbb E\Lambda\to(n-1)e^{-C}+e^{-C}`).

    Examples
    --------
    >>> from kvtheory.instances.index import first_moment_d
    >>> [first_moment_d(n) for n in (10**3, 10**4, 10**5)]
    [23, 26, 30]
    """
    n = check_int(n, "n", lo=1)
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    delta = check_real(delta, "delta", lo=0, hi=1, lo_open=True, hi_open=True)
    d_max = check_int(d_max, "d_max", lo=1)
    C = default_C(n, gamma=gamma, eps=eps) if C is None else check_real(C, "C", lo=0,
                                                                         lo_open=True)
    target = gamma * delta
    # E M is decreasing in d: ((1+e^{-2C/d})/2)^d = E exp(-2C * mean of d fair
    # bits), and sample means decrease in the convex order as d grows. Bisect.
    if expected_leaked_mass(n, d_max, C=C) > target:
        raise ValueError(
            f"no d <= d_max={d_max} has E[Lambda] <= gamma*delta={target:.3g} at C={C:.3g}; "
            "increase C"
        )
    lo, hi = 0, d_max
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if expected_leaked_mass(n, mid, C=C) <= target:
            hi = mid
        else:
            lo = mid
    return hi


def space_bound_bits(n: int, d: int, *, p: float = 0.1, delta: float = 0.1) -> float:
    r"""The bound of the space-barrier theorem of Chapter 3: :math:`(1-H_2(p+\delta))\,nd` bits.

    Examples
    --------
    >>> from kvtheory.instances.index import space_bound_bits
    >>> f"{space_bound_bits(1000, 74) / (1000 * 74):.3f}"
    '0.278'
    """
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    p = check_real(p, "p", lo=0)
    delta = check_real(delta, "delta", lo=0)
    if not p + delta < 0.5:
        raise ValueError(f"p + delta must be < 1/2, got {p + delta}")
    return (1.0 - H2(p + delta)) * n * d
