r"""Sparse attention does not beat the space barrier (Chapter 6).

Two kinds of instance live here.

1. :func:`top1_mass_profile` measures the *top-1 mass* (the largest attention
   weight) at every step of the Chapter 3 hard instance when Alice's queries
   are :math:`q_t=Ck_t`: each step puts at least :math:`\frac1{1+\gamma}` of
   its mass on one token (the stream is 1-sparse in the strongest sense), yet
   an algorithm still needs :math:`\Omega(nd)` bits (the corollary of Chapter 6).
2. *Needle streams*: for each deterministic fixed-budget eviction policy of
   :mod:`kvtheory.algorithms.eviction`, an adversarial stream whose final
   query needs a token (the *needle*) that the policy has evicted, and benign
   streams on which the policies keep it.
   :func:`run_needle_game` plays one of them against any
   :class:`~kvtheory.StreamingAttention` and scores the decoded needle bits;
   :func:`needle_top1_profile` measures their concentration.

Geometry of the needle streams (dimension :math:`d\ge4`). Token 1 is a
*sink* with key along :math:`e_1`; the needle (token 2) has a component
:math:`s>0` along :math:`e_d`, which no other key has; the other tokens
(*fillers*) have keys in coordinates :math:`2..d-1` (a shared direction
:math:`e_2` and random signs). Values are fair bits. Alice's queries are
:math:`q_t=\frac{C}{\|k_1\|}e_1-\pi\frac{C}{s}e_d` (the sink scores
:math:`C`, the fillers 0, the needle :math:`-\pi C`), with
:math:`C=\frac{\ln n+\ln(1/\gamma)}{1-\kappa}\ge\ln(n/\gamma)`, except
where a stream lets a query look at the needle (score :math:`C`, all others
0). So at every step of Alice's stream one token scores :math:`C` and the
:math:`t-1` others at most 0, and its weight is at least
:math:`\frac1{1+(t-1)e^{-C}}\ge\frac1{1+\gamma}`: the streams are
:math:`\frac\gamma{1+\gamma}`-concentrated at every step. The final step is
Bob's: query :math:`\frac{C_f}{s}e_d` with :math:`C_f=\ln(n/\gamma)` and a
zero padding token, so the needle scores :math:`C_f`, the other :math:`n`
tokens 0, and its weight is exactly :math:`\frac1{1+\gamma}`: thresholding
at :math:`\frac12` decodes all :math:`d` of its bits. An algorithm that no
longer holds the needle outputs a function of the other tokens' bits,
independent of the needle's, and is right on each targeted bit with
probability :math:`\frac12`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .._validate import check_choice, check_int, check_real, check_rng
from ..attention import softmax
from ..game import Instance, play, score
from ..stream import StreamingAttention
from .index import alice_stream, default_C, make_index_instance

__all__ = [
    "top1_mass_profile",
    "NeedleStream",
    "knorm_adversary",
    "highnorm_adversary",
    "h2o_adversary",
    "tova_adversary",
    "snapkv_adversary",
    "keydiff_adversary",
    "benign_stream",
    "benign_lownorm_stream",
    "keynorm_adversary",
    "heavy_hitter_adversary",
    "needle_top1_profile",
    "STREAMS",
    "NEEDLE_STREAMS",
    "ADVERSARY_OF",
    "BENIGN_OF",
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
        Leaked mass and coherence: :math:`C=\frac{\ln n+\ln(1/\gamma)}{1-\kappa}`.
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


#: Position (0-based) of the needle in every needle stream: right after the sink.
NEEDLE_POSITION = 1


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

    def as_instance(self) -> Instance:
        """This stream as a :class:`kvtheory.game.Instance`: one padded probe on the needle.

        Examples
        --------
        >>> from kvtheory.instances.sparsity import keynorm_adversary
        >>> inst = keynorm_adversary(33, 8, budget=8, seed=0).as_instance()
        >>> inst.n, inst.targets.tolist(), inst.pad, inst.tau
        (33, [1], True, 0.5)
        """
        return Instance(self.name, "hard", self.K, self.V, self.Q, self.q_final[None, :], True,
                        np.array([self.needle]), self.tau, None, {"C": self.C})


def _needle_stream(name, n, d, *, budget, seed, gamma, needle_norm=1.0, filler_norm=1.0,
                   filler_common=0.0, needle_common=0.0, looks="sink", penalty=0.0):
    n = check_int(n, "n", lo=3)
    d = check_int(d, "d", lo=4)
    budget = check_int(budget, "budget", lo=1)
    if n < 2 * budget + 1:
        raise ValueError(f"n must be >= 2 * budget + 1 = {2 * budget + 1} so that "
                         f"eviction happens after the needle, got {n}")
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    rng = check_rng(seed)
    needle = NEEDLE_POSITION
    a, c = filler_common, needle_common
    # coordinates: 0 the sink, 1 the fillers' common direction g, d-1 the needle's own f
    X = rng.choice(np.array([-1.0, 1.0]), size=(n, d - 3)) / math.sqrt(d - 3)
    K = np.zeros((n, d))
    K[:, 1] = a
    K[:, 2: d - 1] = math.sqrt(1 - a * a) * X
    K *= filler_norm
    K[0] = 0.0
    K[0, 0] = filler_norm                              # the sink
    K[needle] = 0.0
    K[needle, 1] = needle_norm * c
    s = needle_norm * math.sqrt(1 - c * c)             # the needle's component along f
    K[needle, d - 1] = s
    C = default_C(n, gamma=gamma)                      # scale of Alice's queries
    sink_q = np.zeros(d)
    sink_q[0] = C / filler_norm                        # the sink scores C, fillers 0
    needle_q = np.zeros(d)
    needle_q[d - 1] = C / s                            # the needle scores C, all others 0
    Q = np.tile(sink_q - penalty * needle_q, (n, 1))   # needle scored -penalty * C
    if looks == "sink, needle looks at itself":
        Q[needle] = needle_q
    elif looks == "needle":
        Q[needle:] = needle_q
    V = rng.integers(0, 2, size=(n, d)).astype(np.float64)
    C_f = math.log(n / gamma)                          # n zero-score tokens incl. padding
    return NeedleStream(name=name, Q=Q, K=K, V=V, needle=needle,
                        q_final=(C_f / C) * needle_q, tau=0.5, C=C)


_STREAM_DOC = r"""

    Parameters
    ----------
    n : int
        Tokens before the final query, ``n >= 2 * budget + 1``.
    d : int
        Dimension, ``>= 4`` (coordinate 1 is the sink's, 2 a shared
        direction, the last the needle's).
    budget : int
        The cache budget the stream is sized for.
    seed : int or numpy.random.Generator
        Draws the fillers' keys and all value bits.
    gamma : float, default 0.1
        The needle's weight under the final query is exactly
        :math:`1/(1+\gamma)` in exact attention; every step of Alice's
        stream puts at least :math:`1/(1+\gamma)` on one token.

    Returns
    -------
    NeedleStream
"""


def knorm_adversary(n: int, d: int, *, budget: int, seed=0, gamma: float = 0.1) -> NeedleStream:
    r"""Adversary for published key-norm eviction (:class:`~kvtheory.algorithms.KnormEviction`).

    The needle's key has norm 1, every other key norm :math:`\frac12`, and
    every query looks at the sink. Low-norm eviction drops the needle, the
    largest key, at the first overflow after it arrives.
    """
    return _needle_stream("knorm-adversary", n, d, budget=budget, seed=seed, gamma=gamma,
                          needle_norm=1.0, filler_norm=0.5)


def highnorm_adversary(n: int, d: int, *, budget: int, seed=0,
                       gamma: float = 0.1) -> NeedleStream:
    r"""Adversary for high-norm eviction (:class:`~kvtheory.algorithms.HighNormEviction`).

    The needle's key has norm :math:`\frac12`, every other key norm 1, and
    every query looks at the sink. High-norm eviction drops the needle, the
    smallest key, at the first overflow after it arrives.
    """
    return _needle_stream("highnorm-adversary", n, d, budget=budget, seed=seed, gamma=gamma,
                          needle_norm=0.5, filler_norm=1.0)


def h2o_adversary(n: int, d: int, *, budget: int, seed=0, gamma: float = 0.1) -> NeedleStream:
    r"""Adversary for H2O (:class:`~kvtheory.algorithms.ObservedAttentionEviction`).

    Every query, the needle's own included, looks at the sink and scores the
    needle at :math:`-2C`, below every other token (needle key norm 1, the
    others 0.9, so high-norm eviction keeps it). Once the needle leaves
    the protected recent window its accumulated attention is the smallest of
    the older tokens, so it goes at the next overflow.
    """
    return _needle_stream("h2o-adversary", n, d, budget=budget, seed=seed, gamma=gamma,
                          needle_norm=1.0, filler_norm=0.9, penalty=2.0)


def tova_adversary(n: int, d: int, *, budget: int, seed=0, gamma: float = 0.1) -> NeedleStream:
    r"""Adversary for TOVA (:class:`~kvtheory.algorithms.TOVAEviction`).

    The needle's own query looks at the needle; every other query looks at
    the sink and scores the needle at :math:`-2C`, below every other token.
    Under the first later query the needle has the smallest weight and goes
    at the first overflow.
    """
    return _needle_stream("tova-adversary", n, d, budget=budget, seed=seed, gamma=gamma,
                          needle_norm=1.0, filler_norm=0.9, penalty=2.0,
                          looks="sink, needle looks at itself")


def snapkv_adversary(n: int, d: int, *, budget: int, seed=0,
                     gamma: float = 0.1) -> NeedleStream:
    r"""Adversary for SnapKV (:class:`~kvtheory.algorithms.SnapKVEviction`).

    The construction of :func:`tova_adversary`: the needle's own query looks
    at it, every later query looks at the sink and scores the needle at
    :math:`-2C`. While the needle is in the observation window it is
    protected; once it leaves, every observed query gives it the smallest
    weight, so it goes at the next overflow.
    """
    return _needle_stream("snapkv-adversary", n, d, budget=budget, seed=seed, gamma=gamma,
                          needle_norm=1.0, filler_norm=0.9, penalty=2.0,
                          looks="sink, needle looks at itself")


def keydiff_adversary(n: int, d: int, *, budget: int, seed=0,
                      gamma: float = 0.1) -> NeedleStream:
    r"""Adversary for KeyDiff (:class:`~kvtheory.algorithms.KeyDiffEviction`).

    The fillers' unit keys share the direction :math:`g` with weight 0.6
    (:math:`0.6g+0.8x_t`, :math:`x_t` a random sign vector), so the mean key
    direction is close to :math:`g`; the needle's unit key is
    :math:`0.9g+\sqrt{0.19}f`, closer to that mean than any filler, so
    KeyDiff evicts it first. The final query reads only the :math:`f`
    component, which no other key has. Every query looks at the sink.
    """
    return _needle_stream("keydiff-adversary", n, d, budget=budget, seed=seed, gamma=gamma,
                          needle_norm=1.0, filler_norm=1.0, filler_common=0.6,
                          needle_common=0.9)


def benign_stream(n: int, d: int, *, budget: int, seed=0, gamma: float = 0.1) -> NeedleStream:
    r"""A concentrated stream on which the heuristics keep the needle.

    From the needle's arrival on, every query looks at the needle (before,
    at the sink), so it is the heavy hitter, the latest query's top token
    and the observation window's favourite. Its key is the largest (norm 1,
    the others :math:`\frac12`) and orthogonal to the fillers' shared
    direction, so high-norm eviction and KeyDiff keep it too. Published
    key-norm eviction, which keeps *low* norms, evicts it: its benign stream
    is :func:`benign_lownorm_stream`.
    """
    return _needle_stream("benign", n, d, budget=budget, seed=seed, gamma=gamma,
                          needle_norm=1.0, filler_norm=0.5, filler_common=0.6, looks="needle")


def benign_lownorm_stream(n: int, d: int, *, budget: int, seed=0,
                          gamma: float = 0.1) -> NeedleStream:
    r""":func:`benign_stream` with a low-norm needle (norm :math:`\frac12`, the others 1).

    The stream the published key-norm heuristic expects: the token every
    query attends to has the smallest key.
    """
    return _needle_stream("benign-lownorm", n, d, budget=budget, seed=seed, gamma=gamma,
                          needle_norm=0.5, filler_norm=1.0, filler_common=0.6, looks="needle")


_STREAM_EXAMPLE = r"""
    Examples
    --------
    >>> import functools, kvtheory as kv
    >>> from kvtheory.instances.sparsity import {name}, run_needle_game
    >>> st = {name}(33, 8, budget=8, seed=0)
    >>> st.needle, st.n
    (1, 33)
    >>> cache = functools.partial(kv.algorithms.{cls}, budget=8)
    >>> run_needle_game(cache, {name}, 33, 8, budget=8, trials=2).needle_kept
    {kept}
"""

for _f, _cls, _kept in ((knorm_adversary, "KnormEviction", "0.0"),
                        (highnorm_adversary, "HighNormEviction", "0.0"),
                        (h2o_adversary, "ObservedAttentionEviction", "0.0"),
                        (tova_adversary, "TOVAEviction", "0.0"),
                        (snapkv_adversary, "SnapKVEviction", "0.0"),
                        (keydiff_adversary, "KeyDiffEviction", "0.0"),
                        (benign_stream, "TOVAEviction", "1.0"),
                        (benign_lownorm_stream, "KnormEviction", "1.0")):
    _f.__doc__ += _STREAM_DOC + _STREAM_EXAMPLE.format(name=_f.__name__, cls=_cls, kept=_kept)

#: Former names, kept for existing callers.
keynorm_adversary = highnorm_adversary
heavy_hitter_adversary = h2o_adversary

#: The needle streams by name (the benchmark's instance keys), in display order.
NEEDLE_STREAMS: tuple[str, ...] = (
    "knorm-adversary", "highnorm-adversary", "h2o-adversary", "tova-adversary",
    "snapkv-adversary", "keydiff-adversary", "benign", "benign-lownorm",
)

#: Every stream name :func:`run_needle_game` accepts: those of :data:`NEEDLE_STREAMS` and,
#: for existing callers, the former names "key-norm adversary" (now
#: "highnorm-adversary"), "H2O adversary" and "TOVA adversary".
STREAMS: dict[str, Callable[..., NeedleStream]] = {
    "knorm-adversary": knorm_adversary,
    "highnorm-adversary": highnorm_adversary,
    "h2o-adversary": h2o_adversary,
    "tova-adversary": tova_adversary,
    "snapkv-adversary": snapkv_adversary,
    "keydiff-adversary": keydiff_adversary,
    "benign": benign_stream,
    "benign-lownorm": benign_lownorm_stream,
    "key-norm adversary": highnorm_adversary,
    "H2O adversary": h2o_adversary,
    "TOVA adversary": tova_adversary,
}

#: The adversary built against each deterministic eviction policy (benchmark method keys).
ADVERSARY_OF: dict[str, str] = {
    "knorm": "knorm-adversary",
    "highnorm": "highnorm-adversary",
    "h2o": "h2o-adversary",
    "tova": "tova-adversary",
    "snapkv": "snapkv-adversary",
    "keydiff": "keydiff-adversary",
}

#: The benign stream of each policy: the one its heuristic is right about.
BENIGN_OF: dict[str, str] = {
    "knorm": "benign-lownorm", "highnorm": "benign", "h2o": "benign", "tova": "benign",
    "snapkv": "benign", "keydiff": "benign", "random": "benign",
}


def needle_top1_profile(stream: NeedleStream, gamma: float = 0.1) -> dict:
    r"""Largest exact attention weight at every step of a needle stream.

    Step :math:`t` of Alice's stream attends with :math:`q_t` over tokens
    :math:`1..t`; the final step attends with ``q_final`` over all ``n``
    tokens and the zero padding token.

    Parameters
    ----------
    stream : NeedleStream
    gamma : float, default 0.1
        The :math:`\gamma` the stream was built with (for ``bound``).

    Returns
    -------
    dict
        ``steps`` (1..n), ``top1`` (largest weight at each of Alice's
        steps), ``final_top1``, ``needle_final`` (the needle's weight at the
        final step), ``bound`` :math:`=\frac1{1+\gamma}`, and ``min_top1``
        (smallest over Alice's steps and the final step).

    Examples
    --------
    >>> from kvtheory.instances.sparsity import needle_top1_profile, tova_adversary
    >>> prof = needle_top1_profile(tova_adversary(65, 16, budget=16, seed=0))
    >>> bool(prof["min_top1"] >= prof["bound"]), f"{prof['needle_final']:.4f}"
    (True, '0.9091')
    """
    if not isinstance(stream, NeedleStream):
        raise TypeError(f"stream must be a NeedleStream, got {type(stream).__name__}")
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    n = stream.n
    S = stream.Q @ stream.K.T
    causal = np.where(np.tri(n, dtype=bool), S, -np.inf)
    top1 = 1.0 / np.exp(causal - causal.max(axis=1, keepdims=True)).sum(axis=1)
    w = softmax(np.append(stream.K @ stream.q_final, 0.0))
    final = float(w.max())
    return {"steps": np.arange(1, n + 1), "top1": top1, "final_top1": final,
            "needle_final": float(w[stream.needle]), "bound": 1.0 / (1.0 + gamma),
            "min_top1": float(min(top1.min(), final))}


@dataclass
class NeedleResult:
    """Outcome of :func:`run_needle_game`.

    ``successes`` counts correctly decoded needle bits over ``trials * d``
    targeted bits; ``needle_kept`` is the fraction of trials in which the
    algorithm still held the needle's key before the final query (``None``
    if the algorithm's :meth:`~kvtheory.StreamingAttention.held_keys` says
    nothing); ``stderr`` is the
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
    recovered, pooled over trials. Each trial is :func:`kvtheory.game.play`
    and :func:`kvtheory.game.score` on :meth:`NeedleStream.as_instance`;
    whether the needle was held comes from
    :meth:`~kvtheory.StreamingAttention.held_keys`.

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
    successes, kept, known = 0, 0.0, True
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
        game = st.as_instance()
        tr = play(alg, game)
        sc = score(tr, game, errors=False)
        name, kind, stream_name = tr.algorithm, tr.kind, st.name
        if sc.targets_held is None:
            known = False
        else:
            kept += sc.targets_held
        successes += sc.successes
        bits += sc.trials
        outputs.append(tr.outputs[0])
    return NeedleResult(algorithm=name, kind=kind, stream=stream_name, n=int(n), d=int(d),
                        trials=trials, successes=successes, bits=bits,
                        memory_bits=tr.memory_bits,
                        needle_kept=(kept / trials) if known else None,
                        outputs=np.array(outputs))
