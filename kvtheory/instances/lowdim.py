r"""The low-dimensional hard instance (Chapter 4): INDEX on a code of keys.

The INDEX reduction of Chapter 3 works with *any* public unit keys
:math:`u_1,\dots,u_{n'}` whose pairwise inner products are at most
:math:`1-\mu`, provided Bob's query :math:`Cu_{i^*}` has norm
:math:`C=\ln(n'/\gamma)/\mu` (Chapter 4's code-based bound). In dimension :math:`d` such codes
have only :math:`e^{\Theta(d)}` words at constant :math:`\mu`, so only
:math:`n'=\min(n-1,\text{code size})` tokens of a length-:math:`n` stream carry
information, and the bound reads :math:`(1-H_2(p))\,d\,n'` bits.

The query norm is explicit everywhere: :attr:`LowDimInstance.query_norm` is the
norm of Bob's query, and ``max_query_norm`` shrinks the code until the
instance fits a norm budget (Chapter 4's query-norm proposition). Without a budget even
:math:`d=2` suffices (:func:`circle_keys`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._validate import check_choice, check_int, check_real, check_rng
from ..geometry.packing import greedy_sign_code
from ..information import index_bits_needed
from ..stream import StreamingAttention
from .index import IndexResult, make_index_instance, run_index_protocol

__all__ = [
    "CODES",
    "code_query_scale",
    "circle_keys",
    "LowDimInstance",
    "make_lowdim_instance",
    "required_bits",
    "LowDimResult",
    "run_lowdim_protocol",
    "method_token_ceiling",
]

#: The key codes :func:`make_lowdim_instance` can build.
#:
#: * ``"greedy"``: the greedy one-sided sign code of coherence ``eps``
#:   (:func:`kvtheory.geometry.packing.greedy_sign_code`), :math:`\mu=2D/d`;
#: * ``"all-signs"``: all :math:`2^d` sign vectors, :math:`\mu=2/d`;
#: * ``"circle"``: :math:`d=2`, keys at angles :math:`2\pi t/m`,
#:   :math:`\mu=1-\cos(2\pi/m)` with :math:`m` the number of keys used.
CODES = ("greedy", "all-signs", "circle")


def code_query_scale(n_prime: int, mu: float, *, gamma: float = 0.1) -> float:
    r"""Bob's query norm :math:`C=\ln(n'/\gamma)/\min(\mu,1)` for a code of gap :math:`\mu`.

    With unit keys whose pairwise inner products are :math:`\le1-\mu`, this
    makes :math:`w_{i^*}\ge1/(1+\gamma)` (Chapter 4's code-based bound).
    That bound needs :math:`\mu\le1`: the padding token scores 0, which must
    not exceed the partners' bound :math:`C(1-\mu)`. A code with
    :math:`\mu>1` (two antipodal keys, three keys on a circle, a sign code
    with ``eps < 0``) also has inner products :math:`\le0=1-1`, so it is used
    with the gap :math:`\min(\mu,1)`, i.e. :math:`C=\ln(n'/\gamma)`.

    Examples
    --------
    >>> from kvtheory.instances.lowdim import code_query_scale
    >>> f"{code_query_scale(69, 0.5):.2f}"
    '13.07'
    >>> f"{code_query_scale(2, 2.0):.3f}" == f"{math.log(2 / 0.1):.3f}"   # mu > 1 counts as 1
    True
    """
    n_prime = check_int(n_prime, "n_prime", lo=1)
    mu = check_real(mu, "mu", lo=0, hi=2, lo_open=True)
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    return math.log(n_prime / gamma) / min(mu, 1.0)


def circle_keys(m: int) -> np.ndarray:
    r"""``m`` unit keys in :math:`\mathbb R^2` at angles :math:`2\pi t/m`, :math:`t=0..m-1`.

    Distinct keys have inner product :math:`\cos(2\pi(a-b)/m)\le\cos(2\pi/m)`,
    so :math:`\mu=1-\cos(2\pi/m)\approx2\pi^2/m^2` (Chapter 4's query-norm proposition).

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.instances.lowdim import circle_keys
    >>> U = circle_keys(4)
    >>> np.round(U, 12).tolist()
    [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [-0.0, -1.0]]
    """
    m = check_int(m, "m", lo=1)
    ang = 2.0 * math.pi * np.arange(m) / m
    return np.column_stack([np.cos(ang), np.sin(ang)])


def _circle_mu(m: int) -> float:
    r"""The gap the theorem uses for ``m`` circle keys: :math:`\min(1-\cos(2\pi/m),1)`.

    For ``m <= 3`` the raw gap exceeds 1 (``m = 1`` has no partner at all);
    the code-based bound needs :math:`\mu\le1`, and the inner products are
    then :math:`\le0`, so the gap 1 is valid.
    """
    return min(1.0 - math.cos(2 * math.pi / m), 1.0) if m > 1 else 1.0


def _circle_C(m: int, gamma: float) -> float:
    return math.log(m / gamma) / _circle_mu(m)


@dataclass(frozen=True)
class LowDimInstance:
    r"""A code of public keys and the query scale that makes it a hard instance.

    Attributes
    ----------
    keys : numpy.ndarray, shape (n_prime, d)
        Unit keys, pairwise inner products :math:`\le1-\mu`.
    mu : float
        The coherence gap :math:`\mu\in(0,1]` the theorem uses (a code whose
        raw gap exceeds 1 is recorded with gap 1, see :func:`code_query_scale`).
    C : float
        Bob's query scale :math:`\ln(n'/\gamma)/\mu`.
    n : int
        Stream length of the theorem (Bob's token is number ``n_prime + 1``).
    code : str
        Which code (see :data:`CODES`).
    code_size : int
        Size of the full code before truncation to ``n_prime``.
    gamma : float
        Leaked mass.
    """

    keys: np.ndarray
    mu: float
    C: float
    n: int
    code: str
    code_size: int
    gamma: float

    @property
    def n_prime(self) -> int:
        """Informative tokens :math:`n'`."""
        return int(self.keys.shape[0])

    @property
    def d(self) -> int:
        """Key dimension."""
        return int(self.keys.shape[1])

    def as_instance(self, probes, *, seed=0, d_v: int | None = None, cells=None,
                    name: str = "lowdim"):
        r"""The INDEX game on this code as a :class:`kvtheory.game.Instance`.

        Draws Alice's fair bits (:func:`~kvtheory.instances.index.make_index_instance`
        with these keys and this ``C``), then asks Bob's padded probes
        :math:`Ck_{i^*}` for the targets ``probes``.

        Examples
        --------
        >>> from kvtheory.instances.lowdim import make_lowdim_instance
        >>> inst = make_lowdim_instance(1000, 8).as_instance([0, 5], seed=1)
        >>> inst.n, inst.info_bits, inst.targets.tolist()
        (69, 552, [0, 5])
        """
        idx = make_index_instance(self.n_prime, self.d, seed=seed, keys=self.keys, C=self.C,
                                  gamma=self.gamma, d_v=d_v)
        return idx.as_instance(probes, cells=cells, name=name)

    @property
    def query_norm(self) -> float:
        r"""Norm of Bob's query :math:`Cu_{i^*}`; equals ``C`` (unit keys)."""
        return float(self.C * np.linalg.norm(self.keys[0]))


def _full_code(code: str, d: int, eps: float, seed) -> tuple[np.ndarray, float]:
    if code == "greedy":
        c = greedy_sign_code(d, eps, seed=seed)
        return c.vectors, min(c.mu, 1.0)      # eps < 0 can give mu > 1: gap 1 suffices
    if code == "all-signs":
        if d > 20:
            raise ValueError(f"d must be <= 20 for code='all-signs', got {d}")
        idx = np.arange(2 ** d, dtype=np.int64)
        signs = 2.0 * ((idx[:, None] >> np.arange(d)[None, :]) & 1) - 1.0
        return signs / math.sqrt(d), (2.0 / d if d > 1 else 1.0)   # d = 1: antipodal, gap 1
    raise AssertionError(code)  # pragma: no cover


def make_lowdim_instance(n: int, d: int, *, code: str = "greedy", eps: float = 0.5,
                         gamma: float = 0.1, max_query_norm: float | None = None,
                         circle_size: int | None = None, seed=0) -> LowDimInstance:
    r"""The hard instance of Chapter 4's code-based bound: :math:`n'=\min(n-1,\text{size})` keys.

    Parameters
    ----------
    n : int
        Stream length, ``n >= 2``; the informative tokens are the first
        :math:`n'\le n-1` (Bob's token is number :math:`n'+1`).
    d : int
        Key dimension (``2`` for ``code="circle"``).
    code : {"greedy", "all-signs", "circle"}
        See :data:`CODES`.
    eps : float
        Coherence of the greedy sign code (``code="greedy"`` only).
    gamma : float
        Leaked mass, in ``(0, 1)``.
    max_query_norm : float, optional
        A norm budget :math:`r` for Bob's query. The code is truncated to the
        largest :math:`n'` with :math:`\ln(n'/\gamma)/\mu\le r`, i.e.
        :math:`n'\le\gamma e^{r\mu}` (for the circle, :math:`\mu` itself
        depends on :math:`n'` and the largest fitting :math:`n'` is found by
        search).
    circle_size : int, optional
        For ``code="circle"``: number of keys on the circle before the
        truncation to ``n - 1`` (default ``n - 1``).
    seed : int or numpy.random.Generator
        Seed of the greedy code's visiting order.

    Returns
    -------
    LowDimInstance

    Raises
    ------
    ValueError
        If the budget leaves no informative token (:math:`\gamma e^{r\mu}<1`),
        or ``d != 2`` with ``code="circle"``.

    Examples
    --------
    >>> from kvtheory.instances.lowdim import make_lowdim_instance
    >>> inst = make_lowdim_instance(1000, 8, seed=0)
    >>> inst.n_prime, inst.mu, f"{inst.query_norm:.2f}"
    (69, 0.5, '13.07')
    >>> make_lowdim_instance(30, 8, seed=0).n_prime            # n - 1 < code size
    29
    >>> make_lowdim_instance(1000, 8, max_query_norm=10.0, seed=0).n_prime
    14
    """
    n = check_int(n, "n", lo=2)
    d = check_int(d, "d", lo=1)
    check_choice(code, "code", set(CODES))
    eps = check_real(eps, "eps", lo=-1, hi=1, hi_open=True)
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    if max_query_norm is not None:
        max_query_norm = check_real(max_query_norm, "max_query_norm", lo=0, lo_open=True)
    if code == "circle":
        if d != 2:
            raise ValueError(f"d must be 2 for code='circle', got {d}")
        m = n - 1 if circle_size is None else check_int(circle_size, "circle_size", lo=1)
        m = min(m, n - 1)
        if max_query_norm is not None:
            if _circle_C(1, gamma) > max_query_norm:
                raise ValueError(
                    f"max_query_norm={max_query_norm} is too small for even one informative token"
                )
            lo, hi = 1, m                      # C(m) increases with m: bisect
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if _circle_C(mid, gamma) <= max_query_norm else (lo, mid - 1)
            m = lo
        keys = circle_keys(m)
        mu = _circle_mu(m)
        size = m
    else:
        keys, mu = _full_code(code, d, eps, seed)
        size = keys.shape[0]
        m = min(n - 1, size)
        if max_query_norm is not None:
            fit = math.floor(gamma * math.exp(min(max_query_norm * mu, 700.0)) * (1 + 1e-12))
            if fit < 1:
                raise ValueError(
                    f"max_query_norm={max_query_norm} is too small: gamma*exp(r*mu) = "
                    f"{gamma * math.exp(max_query_norm * mu):.3g} < 1 informative token"
                )
            m = min(m, fit)
        keys = keys[:m]
    mu = min(float(mu), 1.0)        # the theorem needs mu <= 1; a larger gap is also one of 1
    C = code_query_scale(m, mu, gamma=gamma)
    return LowDimInstance(keys=np.ascontiguousarray(keys), mu=mu, C=C, n=n,
                          code=code, code_size=int(size), gamma=gamma)


def required_bits(p: float, d: int, n_prime: int) -> float:
    r"""The bound of Chapter 4's code-based bound: :math:`(1-H_2(p))\,d\,n'` bits.

    Examples
    --------
    >>> from kvtheory.instances.lowdim import required_bits
    >>> f"{required_bits(0.1, 8, 69):.1f}"
    '293.1'
    """
    d = check_int(d, "d", lo=1)
    n_prime = check_int(n_prime, "n_prime", lo=1)
    return index_bits_needed(p, d * n_prime)


@dataclass
class LowDimResult:
    """Outcome of :func:`run_lowdim_protocol`: the instance and the INDEX game's result."""

    instance: LowDimInstance
    index: IndexResult
    p: float

    @property
    def success_rate(self) -> float:
        """Bob's decoding accuracy."""
        return self.index.success_rate

    @property
    def memory_bits(self) -> int:
        """The algorithm's state at the hand-off (after step :math:`n'`)."""
        return self.index.memory_bits

    @property
    def required_bits(self) -> float:
        r""":math:`(1-H_2(p))\,d\,n'`: what an algorithm erring :math:`\le p` must keep."""
        return required_bits(self.p, self.instance.d, self.instance.n_prime)


def run_lowdim_protocol(make_algorithm: Callable[[], StreamingAttention], n: int, d: int, *,
                        code: str = "greedy", eps: float = 0.5, gamma: float = 0.1,
                        max_query_norm: float | None = None, trials: int = 200,
                        eta: float = 0.0, notion: str = "entrywise", p: float = 0.1,
                        seed=0, code_seed: int = 0) -> LowDimResult:
    r"""Play the INDEX game of Chapter 4's code-based bound on the low-dimensional instance.

    Builds :func:`make_lowdim_instance` and drives it through
    :func:`~kvtheory.instances.index.run_index_protocol` with
    ``keys=code`` and ``C=ln(n'/gamma)/mu``: Alice streams the :math:`n'`
    informative tokens, Bob adds token :math:`n'+1`. (The theorem's stream
    may continue to length :math:`n` with any admissible tokens; space is a
    maximum over steps, so the state after step :math:`n'` is what counts.)

    Parameters
    ----------
    make_algorithm : callable
        Returns a fresh :class:`~kvtheory.StreamingAttention`.
    n, d, code, eps, gamma, max_query_norm
        See :func:`make_lowdim_instance`.
    trials, eta, notion
        See :func:`~kvtheory.instances.index.run_index_protocol`.
    p : float
        Error level for :attr:`LowDimResult.required_bits`, in ``[0, 0.5]``.
    seed : int or numpy.random.Generator
        Seeds Alice's bits and Bob's pairs.
    code_seed : int
        Seeds the greedy code's visiting order: the code is a fixed public
        object, the same for every algorithm compared.

    Returns
    -------
    LowDimResult

    Examples
    --------
    >>> import kvtheory as kv
    >>> from kvtheory.instances.lowdim import run_lowdim_protocol
    >>> res = run_lowdim_protocol(kv.ExactCache, n=1000, d=8, trials=100, seed=0)
    >>> res.instance.n_prime, res.success_rate, f"{res.required_bits:.1f}"
    (69, 1.0, '293.1')
    """
    p = check_real(p, "p", lo=0, hi=0.5)
    rng = check_rng(seed)
    code_seed = check_int(code_seed, "code_seed", lo=0)
    inst = make_lowdim_instance(n, d, code=code, eps=eps, gamma=gamma,
                                max_query_norm=max_query_norm, seed=code_seed)
    res = run_index_protocol(make_algorithm, inst.n_prime, inst.d, trials=trials, seed=rng,
                             keys=inst.keys, C=inst.C, gamma=gamma, eta=eta, notion=notion)
    return LowDimResult(instance=inst, index=res, p=p)


def method_token_ceiling(d: int, r: float, *, gamma: float = 0.1, n: int | None = None,
                         grid: int = 2000) -> tuple[float, float]:
    r"""Most informative tokens any code-based instance can use under a query-norm budget.

    With unit keys of coherence gap :math:`\mu` and Bob's query norm
    :math:`\ln(n'/\gamma)/\mu\le r`, Chapter 4's query-norm proposition gives
    :math:`n'\le\gamma e^{r\mu}` and, by the packing bound,
    :math:`n'\le(1+\sqrt{2/\mu})^d`. Returns ``(n_max, mu_best)``: the
    maximum over :math:`\mu\in(0,1]` (on a log grid of ``grid`` points) of
    :math:`\min\{\gamma e^{r\mu},(1+\sqrt{2/\mu})^d\}` (and of ``n - 1`` if
    ``n`` is given), and the :math:`\mu` attaining it.

    Examples
    --------
    >>> from kvtheory.instances.lowdim import method_token_ceiling
    >>> n_max, mu = method_token_ceiling(8, 20.0)
    >>> f"{n_max:.3g}"
    '5.24e+03'
    """
    d = check_int(d, "d", lo=1, hi=10_000)
    r = check_real(r, "r", lo=0, lo_open=True)
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    grid = check_int(grid, "grid", lo=10, hi=1_000_000)
    mu = np.geomspace(1e-8, 1.0, grid)
    log_budget = math.log(gamma) + r * mu
    log_pack = d * np.log1p(np.sqrt(2.0 / mu))
    log_n = np.minimum(log_budget, log_pack)
    if n is not None:
        n = check_int(n, "n", lo=2)
        log_n = np.minimum(log_n, math.log(n - 1))
    i = int(np.argmax(log_n))
    return float(math.exp(min(log_n[i], 700.0))), float(mu[i])

