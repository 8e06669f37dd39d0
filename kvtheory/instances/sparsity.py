r"""Sparse attention does not beat the space barrier (Chapter 6).

Two kinds of instance live here.

1. :func:`top1_mass_profile` measures the *top-1 mass* (the largest attention
   weight) at every step of the Chapter 3 hard instance when Alice's queries
   are :math:`q_t=Ck_t`: each step puts at least :math:`\frac1{1+\gamma}` of
   its mass on one token (the stream is 1-sparse in the strongest sense), yet
   an algorithm still needs :math:`\Omega(nd)` bits (the corollary of Chapter 6).
2. *Needle streams*: for each fixed-budget eviction policy of
   :mod:`kvtheory.algorithms.eviction`, an adversarial stream whose final
   query needs a token (the *needle*) that the policy has evicted, and a
   benign stream on which the same policies keep it.
   :func:`run_needle_game` plays one of them against any
   :class:`~kvtheory.StreamingAttention` and scores the decoded needle bits.

Geometry of the needle streams. The other tokens have keys
:math:`\rho\,\hat u_t` with :math:`\hat u_t` a random unit sign vector in the
first :math:`d-1` coordinates; the needle's key is :math:`r\,e_d`, orthogonal
to all of them. Values are fair bits. The final step is Bob's: query
:math:`\frac{C_f}{r}e_d` with :math:`C_f=\ln(n/\gamma)` and a zero padding
token, so in exact attention the needle scores :math:`C_f`, the other
:math:`n` tokens score 0, and its weight is exactly :math:`\frac1{1+\gamma}`:
thresholding at :math:`\frac12` decodes all :math:`d` of its bits. An
algorithm that no longer holds the needle outputs a function of the other
tokens' bits, independent of the needle's, and is right on each targeted bit
with probability :math:`\frac12`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .._validate import as_real_array, check_choice, check_int, check_real, check_rng
from ..attention import softmax
from ..stream import StreamingAttention
from .index import alice_stream, default_C, make_index_instance

__all__ = [
    "top1_mass_profile",
    "NeedleStream",
    "keynorm_adversary",
    "heavy_hitter_adversary",
    "tova_adversary",
    "benign_stream",
    "STREAMS",
    "ADVERSARY_OF",
    "NeedleResult",
    "run_needle_game",
]


def top1_mass_profile(n: int, d: int, *, seed=0, gamma: float = 0.1, eps: float = 0.5,
                      keys=None, C: float | None = None) -> dict:
    r"""Largest attention weight at every step of the Chapter 3 instance with
    self-queries :math:`q_t=Ck_t`, and at Bob's step for every :math:`i^*`.

    Parameters
    ----------
    n, d : int
        Tokens and dimension (``n <= 5000``: the profile costs
        :math:`O(n^2d)`).
    seed : int or numpy.random.Generator
        Draws the keys (the same draw as
        :func:`~kvtheory.instances.index.make_index_instance`).
    gamma, eps : float
        Leaked mass and coherence: :math:`C=\frac{\ln n+\ln(1/\gamma)}{1-\varepsilon}`.
    keys : array_like, shape (n, d), optional
        Public keys instead of random signs.
    C : float, optional
        Query scale instead of the default.

    Returns
    -------
    dict
        ``steps`` (1..n), ``top1`` (largest weight at step t over tokens
        1..t), ``bob_top1`` (largest weight at Bob's step with query
        :math:`Ck_{i^*}` over the n tokens and the zero padding token, for
        each :math:`i^*`), ``bound`` :math:`=\frac1{1+\gamma}`, ``C``.

    Examples
    --------
    >>> from kvtheory.instances.sparsity import top1_mass_profile
    >>> prof = top1_mass_profile(200, 96, seed=0)
    >>> f"{prof['bound']:.3f}", bool(prof["top1"].min() >= prof["bound"])
    ('0.909', True)
    """
    n = check_int(n, "n", lo=1, hi=5000)
    d = check_int(d, "d", lo=1, hi=4096)
    inst = make_index_instance(n, d, seed=seed, keys=keys, C=C, gamma=gamma, eps=eps)
    Q, K, _ = alice_stream(inst, queries="self")
    S = Q @ K.T                                       # S[t, u] = C <k_t, k_u>
    causal = np.where(np.tri(n, dtype=bool), S, -np.inf)
    # the largest weight is 1 / sum_u exp(s_u - max_u s_u)
    top1 = 1.0 / np.exp(causal - causal.max(axis=1, keepdims=True)).sum(axis=1)
    bob = np.concatenate([S, np.zeros((n, 1))], axis=1)   # Bob's query C k_{i*}; padding scores 0
    bob_top1 = softmax(bob, axis=1).max(axis=1)
    return {"steps": np.arange(1, n + 1), "top1": top1, "bob_top1": bob_top1,
            "bound": 1.0 / (1.0 + gamma), "C": inst.C}


@dataclass(frozen=True)
class NeedleStream:
    """A stream whose final query needs one token, the *needle*.

    ``Q, K, V`` are the ``n`` tokens (fed with ``step``); the final step is
    ``(q_final, 0, 0)``, after which the decoder thresholds every coordinate
    at ``tau`` to recover ``V[needle]``.
    """

    name: str
    Q: np.ndarray
    K: np.ndarray
    V: np.ndarray
    needle: int
    q_final: np.ndarray
    tau: float
    C: float

    @property
    def n(self) -> int:
        return self.K.shape[0]


def _needle_stream(name, n, d, *, budget, seed, gamma, needle_norm, other_norm,
                   queries, penalty):
    n = check_int(n, "n", lo=3)
    d = check_int(d, "d", lo=2)
    budget = check_int(budget, "budget", lo=1)
    if n < 2 * budget + 1:
        raise ValueError(f"n must be >= 2 * budget + 1 = {2 * budget + 1} so that "
                         f"eviction happens after the needle, got {n}")
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    rng = check_rng(seed)
    hubs = budget - budget // 2          # heavy-hitter slots of the default H2O cache
    needle = hubs                        # right after the hubs, early in the stream
    U = np.zeros((n, d))
    U[:, : d - 1] = rng.choice(np.array([-1.0, 1.0]), size=(n, d - 1)) / math.sqrt(d - 1)
    K = other_norm * U
    e_d = np.zeros(d)
    e_d[-1] = 1.0
    U[needle] = e_d
    K[needle] = needle_norm * e_d
    C = default_C(n, gamma=gamma)                      # scale of the stream's queries
    norms2 = np.sum(K * K, axis=1)
    self_q = C * K / norms2[:, None]                   # <q_t, k_t> = C
    if queries == "self":
        Q = self_q
    elif queries == "hubs":
        h = np.array([t % min(t + 1, hubs) for t in range(n)])
        Q = self_q[h]                                  # query t looks at hub h(t)
    else:                                              # "needle": also look at the needle
        Q = self_q + (C / needle_norm) * e_d[None, :]
    Q = Q - (penalty * C / needle_norm) * e_d[None, :]  # needle score lowered by penalty*C
    V = rng.integers(0, 2, size=(n, d)).astype(np.float64)
    C_f = math.log(n / gamma)                          # n zero-score tokens incl. padding
    return NeedleStream(name=name, Q=Q, K=K, V=V, needle=needle,
                        q_final=(C_f / needle_norm) * e_d, tau=0.5, C=C)


_STREAM_DOC = r"""

    Parameters
    ----------
    n : int
        Tokens before the final query, ``n >= 2 * budget + 1``.
    d : int
        Dimension, ``>= 2`` (the needle uses coordinate ``d``).
    budget : int
        The cache budget the stream is sized for: the needle sits at
        position ``budget - budget // 2`` (after the heavy-hitter "hubs").
    seed : int or numpy.random.Generator
        Draws the other keys and all value bits.
    gamma : float, default 0.1
        The needle's weight under the final query is exactly
        :math:`1/(1+\gamma)` in exact attention.

    Returns
    -------
    NeedleStream
"""


def keynorm_adversary(n: int, d: int, *, budget: int, seed=0, gamma: float = 0.1) -> NeedleStream:
    r"""Adversary for key-norm eviction: a low-norm needle.

    The needle's key has norm :math:`\frac12`, every other key norm 1, and
    each query attends to its own token (:math:`q_t=Ck_t`). Key-norm eviction
    drops the needle at the first overflow after it arrives.
    """
    return _needle_stream("key-norm adversary", n, d, budget=budget, seed=seed, gamma=gamma,
                          needle_norm=0.5, other_norm=1.0, queries="self", penalty=0.0)


def heavy_hitter_adversary(n: int, d: int, *, budget: int, seed=0,
                           gamma: float = 0.1) -> NeedleStream:
    r"""Adversary for H2O-style eviction: a needle that early queries ignore.

    The needle's key has norm 1, the others 0.9 (so key-norm eviction keeps
    the needle: this stream targets H2O only). The first ``budget - budget // 2`` tokens are
    *hubs*: query :math:`t` attends to hub :math:`t \bmod` (number of hubs),
    and every query scores the needle at :math:`-2C` (below any other
    token). The hubs fill the heavy-hitter slots; once the needle leaves the
    recent window its accumulated attention is the smallest, so it goes.
    """
    return _needle_stream("H2O adversary", n, d, budget=budget, seed=seed, gamma=gamma,
                          needle_norm=1.0, other_norm=0.9, queries="hubs", penalty=2.0)


def tova_adversary(n: int, d: int, *, budget: int, seed=0, gamma: float = 0.1) -> NeedleStream:
    r"""Adversary for TOVA-style eviction: the latest queries ignore the needle.

    The needle's key has norm 1, the others 0.9 (key-norm eviction keeps the
    needle); each query attends to its own token and scores the
    needle below every other token, so under every latest query the needle
    has the smallest weight and is evicted at the first overflow.
    """
    return _needle_stream("TOVA adversary", n, d, budget=budget, seed=seed, gamma=gamma,
                          needle_norm=1.0, other_norm=0.9, queries="self", penalty=2.0)


def benign_stream(n: int, d: int, *, budget: int, seed=0, gamma: float = 0.1) -> NeedleStream:
    r"""A stream on which all three eviction policies keep the needle.

    The needle has the largest key (norm 1, the others :math:`\frac12`) and
    every query attends to it as much as to its own token, so it is a heavy
    hitter and always among the latest query's top tokens: the heuristics'
    assumptions hold.
    """
    return _needle_stream("benign", n, d, budget=budget, seed=seed, gamma=gamma,
                          needle_norm=1.0, other_norm=0.5, queries="needle", penalty=0.0)


for _f in (keynorm_adversary, heavy_hitter_adversary, tova_adversary, benign_stream):
    _f.__doc__ += _STREAM_DOC

#: The needle streams by name.
STREAMS: dict[str, Callable[..., NeedleStream]] = {
    "key-norm adversary": keynorm_adversary,
    "H2O adversary": heavy_hitter_adversary,
    "TOVA adversary": tova_adversary,
    "benign": benign_stream,
}

#: The adversary built against each eviction policy (keys as in the book).
ADVERSARY_OF: dict[str, str] = {
    "key-norm": "key-norm adversary",
    "H2O": "H2O adversary",
    "TOVA": "TOVA adversary",
}


@dataclass
class NeedleResult:
    """Outcome of :func:`run_needle_game`.

    ``successes`` counts correctly decoded needle bits over ``trials * d``
    targeted bits; ``needle_kept`` is the fraction of trials in which the
    algorithm still held the needle's key before the final query (``None``
    if the algorithm does not expose its held keys); ``stderr`` is the
    binomial standard error of ``success_rate``.
    """

    algorithm: str
    kind: str
    stream: str
    n: int
    d: int
    trials: int
    successes: int
    bits: int
    memory_bits: int
    needle_kept: float | None
    outputs: np.ndarray = field(repr=False)

    @property
    def success_rate(self) -> float:
        return self.successes / self.bits

    @property
    def stderr(self) -> float:
        p = self.success_rate
        return math.sqrt(max(p * (1 - p), 0.25 / self.bits) / self.bits)


def run_needle_game(make_algorithm: Callable[[], StreamingAttention], stream, n: int, d: int, *,
                    budget: int, trials: int = 20, seed=0, gamma: float = 0.1) -> NeedleResult:
    r"""Play a needle stream against a streaming algorithm and decode the needle.

    For each trial a fresh stream is drawn, ``make_algorithm()`` receives its
    ``n`` tokens with :meth:`~kvtheory.StreamingAttention.step`, and the
    final step ``(q_final, 0, 0)`` is decoded coordinate by coordinate at
    threshold ``tau``; the score is the fraction of the needle's ``d`` bits
    recovered, pooled over trials.

    Parameters
    ----------
    make_algorithm : callable
        Returns a fresh :class:`~kvtheory.StreamingAttention`.
    stream : str or callable
        A key of :data:`STREAMS`, or a function with the signature of
        :func:`keynorm_adversary`.
    n, d, budget, gamma
        Passed to the stream.
    trials : int
        Independent streams.
    seed : int or numpy.random.Generator

    Returns
    -------
    NeedleResult

    Examples
    --------
    >>> import functools, kvtheory as kv
    >>> from kvtheory.instances.sparsity import run_needle_game
    >>> res = run_needle_game(kv.ExactCache, "key-norm adversary", 33, 8, budget=8, trials=3)
    >>> res.success_rate, res.needle_kept
    (1.0, 1.0)
    >>> alg = functools.partial(kv.algorithms.KeyNormEviction, budget=8)
    >>> run_needle_game(alg, "key-norm adversary", 33, 8, budget=8, trials=3).needle_kept
    0.0
    """
    if not callable(make_algorithm):
        raise TypeError("make_algorithm must be callable with no arguments")
    if isinstance(stream, str):
        check_choice(stream, "stream", set(STREAMS))
        make_stream = STREAMS[stream]
    elif callable(stream):
        make_stream = stream
    else:
        raise TypeError("stream must be a name in STREAMS or a callable")
    trials = check_int(trials, "trials", lo=1)
    rng = check_rng(seed)
    successes, kept, known = 0, 0, True
    outputs = []
    bits = 0
    name, kind, stream_name = "?", "?", "?"
    for _ in range(trials):
        st = make_stream(n, d, budget=budget, seed=rng, gamma=gamma)
        alg = make_algorithm()
        if not isinstance(alg, StreamingAttention):
            raise TypeError(
                f"make_algorithm() must return a StreamingAttention, got {type(alg).__name__}"
            )
        name, kind, stream_name = alg.name, alg.kind, st.name
        for t in range(st.n):
            alg.step(st.Q[t], st.K[t], st.V[t])
        held = getattr(alg, "keys", None)
        if held is None or not isinstance(held, np.ndarray):
            known = False
        else:
            held = as_real_array(held, "held keys", dtype=None)
            kept += bool(held.size and np.any(np.all(held == st.K[st.needle], axis=1)))
        bits_now = alg.memory_bits()
        final = copy.deepcopy(alg)
        z = final.step(st.q_final, np.zeros(st.K.shape[1]), np.zeros(st.V.shape[1]))
        guess = (z > st.tau).astype(np.float64)
        successes += int(np.sum(guess == st.V[st.needle]))
        bits += st.V.shape[1]
        outputs.append(z)
    return NeedleResult(algorithm=name, kind=kind, stream=stream_name, n=int(n), d=int(d),
                        trials=trials, successes=successes, bits=bits, memory_bits=int(bits_now),
                        needle_kept=(kept / trials) if known else None,
                        outputs=np.array(outputs))
