r"""The benchmark's methods, and how a memory budget picks each one's parameter.

**What a budget means.** A budget is a fraction :math:`f\in(0,1]` of the bits
of the exact cache on the same stream: ``budget_bits = floor(f * B_exact)``,
where :math:`B_{\rm exact}` is ``ExactCache().memory_bits()`` after the
stream's :math:`n` tokens, :math:`n(d+d_v)\cdot64+64` (float64 storage).

**How a parameter is chosen.** Every method has a grid of parameter settings
(sizes, bit widths, storage precisions). Each built-in method knows the
memory of each setting after :math:`n` tokens in closed form
(:attr:`MethodSpec.bits`, the hand count of its ledger, checked against the
ledger in ``tests/test_extend.py``), so no stream is run to choose. SubGen,
whose memory depends on the data, is *dry-run on a sample*: a fresh SubGen
absorbs :data:`SAMPLE_TOKENS` evenly spaced tokens of an independent draw of
the instance, and its clusters and reservoir keys are scaled to :math:`n`
(:func:`subgen_estimate`). A reader's method given as a :class:`MethodSpec`
with a grid but neither ``bits`` nor ``estimate`` is dry-run on a prefix of
at most ``SAMPLE_TOKENS`` standard Gaussian tokens, scaled linearly
(:func:`choose`). The benchmark uses the
setting with the largest memory not above ``budget_bits``; if no
setting fits, the cheapest one (and the result row says
``within_budget = false``). The memory *recorded* is always the one measured
on the real stream, never the dry run; for methods whose memory depends on
the data (SubGen's clusters) the dry run samples an *independent* draw of the
same instance family (:func:`kvtheory.bench.runner.tuning_instance`), never a
draw that is then evaluated: a choice made on the evaluated tokens could
carry up to :math:`\log_2|\text{grid}|` bits about them that
``memory_bits()`` does not count. The measured memory on the evaluated draws
may still differ from the dry run: ``within_budget`` tells, and the INDEX
ceiling of a cell is taken at the largest memory the method reached on any
of its seeds.

A reader's own method (:func:`method_from_class`) is used either through a
classmethod ``from_budget(budget_bits, n, d, d_v, seed)`` that returns an
instance, or, without one, as a fixed configuration (constructed with no
arguments, or with ``seed=`` if its constructor takes one) at every budget.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import math
import sys
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import algorithms as alg
from .._validate import check_int, check_real
from ..game import check_memory_bits
from ..stream import ExactCache, StreamingAttention

__all__ = ["MethodSpec", "METHODS", "DEFAULT_METHODS", "make_method", "exact_bits",
           "dry_run_bits", "method_from_class", "load_method", "SAMPLE_TOKENS", "subgen_estimate",
           "choose", "grid_bits", "pick"]

F16, F32 = np.float16, np.float32
_DT = {F16: "fp16", F32: "fp32", np.float64: "fp64"}


def _sizes(n: int) -> list[int]:
    out, x = [], 1
    while x <= n:
        out += [x] if x < 3 else [x, x + x // 2] if x + x // 2 <= n else [x]
        x *= 2
    return sorted(set(out))


@dataclass(frozen=True)
class MethodSpec:
    """A registry entry.

    Attributes
    ----------
    key : str
        Name used on the command line and in the results' ``method`` column.
    family : str
        What the method leans on (one short phrase).
    make : callable
        ``make(param, seed) -> StreamingAttention``.
    grid : callable
        ``grid(n, d, d_v) -> list`` of parameter settings.
    describe : callable
        ``describe(param) -> str`` for the ``param`` column.
    from_budget : callable, optional
        ``from_budget(budget_bits, n, d, d_v, seed)``, used instead of the
        grid (readers' methods).
    data_dependent : bool
        Memory depends on the data, not only on the shape (SubGen): the
        dry run streams an independent draw of the instance's family
        instead of Gaussian tokens (never the evaluated draw itself).
    label : str
        Display name for tables, legends and widgets (default: ``key``).
    tokens : callable, optional
        ``tokens(t, *, n, d, d_v, seed, **context) -> StreamingAttention``:
        the method at its natural size for a budget of ``t`` kept tokens
        (see :func:`make_method`); ``None`` if the method has no token size.
    tokens_meaning : str
        What ``t`` becomes in the method's own parameter.
    cite : str
        Where the method was published ("" for the book's own constructions).
    default : bool
        Whether ``run_bench`` runs it by default (:data:`DEFAULT_METHODS`).
    cls : type, optional
        The class of a reader's method (for provenance and disambiguation).
    bits : callable, optional
        ``bits(param, n, d, d_v)``: the memory in bits of ``make(param, seed)``
        after ``n`` tokens, in closed form (the ledger's hand count). Every
        built-in method except SubGen (whose memory depends on the data) has
        one, so :func:`choose` maps a budget to the parameter without a dry
        run; ``tests/test_extend.py`` checks each against the ledger.
    estimate : callable, optional
        ``estimate(param, n, d, d_v, K, V)``: the memory after the ``n``
        tokens ``(K, V)`` (an independent draw of the instance), estimated
        from a dry run on :data:`SAMPLE_TOKENS` of them, for a method whose
        memory depends on the data (SubGen: :func:`subgen_estimate`).
    """

    key: str
    family: str
    make: Callable[[Any, int], StreamingAttention]
    grid: Callable[[int, int, int], list]
    describe: Callable[[Any], str] = str
    from_budget: Callable | None = None
    data_dependent: bool = False
    bits: Callable[[Any, int, int, int], int] | None = None
    estimate: Callable[..., int] | None = None
    label: str = ""
    tokens: Callable[..., StreamingAttention] | None = None
    tokens_meaning: str = ""
    cite: str = ""
    default: bool = True
    cls: type | None = None

    @property
    def display(self) -> str:
        """``label`` if set, else ``key``."""
        return self.label or self.key


def _tokens_grid(n, d, d_v):
    return [(s, dt) for s in _sizes(n) for dt in (F16, F32)]


def _subgen_sizes(n: int) -> list[int]:
    """SubGen's reservoir sizes ``t = s``: 2, 8, 32, then by factors of 4 up to ``n / 8``.

    Up to ``n = 256`` the grid is 2, 8, 32; at model scale it grows with
    ``n``, so a budget can buy SubGen a larger sample where its keys do not
    cluster (one cluster of all keys, ``delta`` large), as it does for the
    sampling methods.

    >>> from kvtheory.bench.methods import _subgen_sizes
    >>> _subgen_sizes(256), _subgen_sizes(32768)
    ([2, 8, 32], [2, 8, 32, 128, 512, 2048])
    """
    out = [2]
    while out[-1] * 4 <= max(32, n // 8):
        out.append(out[-1] * 4)
    return out


def _desc_size(label):
    return lambda p: f"{label}={p[0]}, {_DT[p[1]]}"


def _bits_of_tokens(t: int, n: int, hi: int = 16) -> int:
    """Bits per entry that keep about ``t / n`` of a float64 cache: ``round(64 t / n)``, 1..hi."""
    return int(min(hi, max(1, round(64 * t / n))))


def _seeded(cls) -> bool:
    try:
        return "seed" in inspect.signature(cls).parameters
    except (TypeError, ValueError):       # pragma: no cover
        return False


def _scorer(cls):
    """``make`` and ``tokens`` of a kept-tokens scorer class ``cls(budget, [seed=], dtype=)``."""
    if _seeded(cls):
        return (lambda p, s: cls(p[0], seed=s, dtype=p[1]),
                lambda t, *, seed, **c: cls(t, seed=seed, **_ctx(c, "*")))
    return (lambda p, s: cls(p[0], dtype=p[1]), lambda t, *, seed, **c: cls(t, **_ctx(c, "*")))


_SHAPE = ("n", "d", "d_v")
#: Facts about the stream a method may use or ignore (not options of a method).
_CONTEXT = ("key_radius",)


def _ctx(c: dict, *allowed) -> dict:
    """``c`` without the shape and stream facts; only ``allowed`` options may remain."""
    c = {k: v for k, v in c.items() if k not in _SHAPE + _CONTEXT}
    bad = sorted(set(c) - set(allowed))
    if allowed != ("*",) and bad:
        raise TypeError(f"unexpected context argument(s) {bad}; this method takes "
                        f"{sorted(allowed) or 'none'}")
    return c


# Honest names when the eviction module has them (today's KeyNormEviction keeps the
# LARGEST norms; H2O is "observed attention" in kvpress).
_HighNorm = getattr(alg, "HighNormEviction", None) or alg.KeyNormEviction
_H2O = getattr(alg, "ObservedAttentionEviction", None) or alg.HeavyHitterEviction

_SPECS = [
    MethodSpec("window", "recency", lambda p, s: alg.SlidingWindow(p[0], dtype=p[1]),
               _tokens_grid, _desc_size("W"), label="sliding window",
               tokens=lambda t, *, seed, **c: alg.SlidingWindow(W=t, **_ctx(c, "dtype")),
               tokens_meaning="W = t tokens"),
    MethodSpec("sink", "recency + first tokens",
               lambda p, s: alg.SinkWindow(min(4, p[0]), p[0], dtype=p[1]),
               _tokens_grid, _desc_size("W"), label="StreamingLLM (sinks + window)",
               tokens=lambda t, *, seed, **c: alg.SinkWindow(n_sink=min(4, t - 1),
                                                             W=max(1, t - 4),
                                                             **_ctx(c, "dtype")),
               tokens_meaning="4 sink tokens + (t - 4) recent",
               cite="Xiao et al. 2024, Efficient streaming language models with attention "
                    "sinks (StreamingLLM)"),
    MethodSpec("highnorm", "large keys matter (the book's high-norm variant)",
               _scorer(_HighNorm)[0], _tokens_grid, _desc_size("budget"),
               label="key norm (high kept)", tokens=_scorer(_HighNorm)[1],
               tokens_meaning="t tokens with the largest key norm",
               cite="the book's variant (keeps the LARGEST key norms); the published key-norm "
                    "press keeps the smallest: see knorm"),
    MethodSpec("h2o", "past attention predicts future attention",
               lambda p, s: _H2O(p[0], dtype=p[1]),
               _tokens_grid, _desc_size("budget"), label="H2O (observed attention)",
               tokens=lambda t, *, seed, **c: _H2O(
                   budget=t, **_ctx(c, "recent", "dtype")),
               tokens_meaning="t tokens, half of them recent",
               cite="Zhang et al. 2023, H2O: heavy-hitter oracle"),
    MethodSpec("tova", "the latest query predicts future attention",
               lambda p, s: alg.TOVAEviction(p[0], dtype=p[1]), _tokens_grid,
               _desc_size("budget"), label="TOVA",
               tokens=lambda t, *, seed, **c: alg.TOVAEviction(budget=t, **_ctx(c, "dtype")),
               tokens_meaning="t tokens",
               cite="Oren et al. 2024, Transformers are multi-state RNNs (TOVA)"),
    MethodSpec("uniform", "many tokens matter a little",
               lambda p, s: alg.UniformSamplingEstimator(p[0], seed=s, dtype=p[1]),
               _tokens_grid, _desc_size("s"), label="uniform sampling",
               tokens=lambda t, *, seed, **c: alg.UniformSamplingEstimator(
                   t, seed=seed, **_ctx(c, "dtype")),
               tokens_meaning="uniform sample of t tokens (unbiased estimator)"),
    MethodSpec("importance", "large keys and values matter",
               lambda p, s: alg.ImportanceSamplingEstimator(p[0], seed=s, dtype=p[1]),
               _tokens_grid, _desc_size("s"), label="importance sampling",
               tokens=lambda t, *, seed, **c: alg.ImportanceSamplingEstimator(
                   t, seed=seed, **_ctx(c, "dtype")),
               tokens_meaning="importance sample of t tokens"),
    MethodSpec("subgen", "keys cluster",
               lambda p, s: alg.SubGen(p[0], p[1], p[1], seed=s, dtype=F32),
               lambda n, d, dv: [(delta, t) for delta in (0.5, 1.0, 2.0, 4.0)
                                 for t in _subgen_sizes(n)],
               lambda p: f"delta={p[0]}, t=s={p[1]}", data_dependent=True, label="SubGen",
               tokens=lambda t, *, seed, key_radius=1.0, **c: alg.SubGen(
                   delta=0.8 * check_real(key_radius, "key_radius", lo=0, lo_open=True),
                   t=max(1, t // 8), s=max(1, t // 2), seed=seed, **_ctx(c, "dtype")),
               tokens_meaning="delta = 0.8 R (R = key_radius), t // 8 per cluster, "
                              "t // 2 slots",
               cite="Zandieh et al. 2024, SubGen"),
    MethodSpec("quant", "entries need few bits",
               lambda p, s: alg.QuantizedCache(p), lambda n, d, dv: [1, 2, 3, 4, 6, 8, 12, 16],
               lambda p: f"bits={p}", label="quantized",
               tokens=lambda t, *, seed, n, **c: alg.QuantizedCache(
                   bits=_bits_of_tokens(t, n), **_ctx(c, "meta_dtype")),
               tokens_meaning="bits per entry = round(64 t / n), 1..16"),
    MethodSpec("signbit", "keys are signs, values bits",
               lambda p, s: alg.SignBitCache(capacity=p), lambda n, d, dv: _sizes(n),
               lambda p: f"capacity={p}", label="sign bits",
               tokens=lambda t, *, seed, **c: alg.SignBitCache(capacity=t, **_ctx(c)),
               tokens_meaning="capacity = t tokens"),
    MethodSpec("jl-keys", "scores survive projection",
               lambda p, s: alg.JLSketchCache(p[0], target="keys", seed=s, dtype=p[1]),
               lambda n, d, dv: [(m, dt) for m in _sizes(d) for dt in (F16, F32)],
               _desc_size("m"), label="JL sketch of keys",
               cite="Johnson and Lindenstrauss 1984"),
    MethodSpec("kivi", "entries need few bits; outlier channels",
               lambda p, s: alg.KIVICache(p[0], group=16, residual=p[1]),
               lambda n, d, dv: [(b, r) for b in (1, 2, 3, 4, 8) for r in (0, 16)],
               lambda p: f"bits={p[0]}, residual={p[1]}", label="KIVI",
               cite="Liu et al. 2024, KIVI"),
    MethodSpec("qjl", "scores survive a sign sketch",
               lambda p, s: alg.QJLCache(p[0], value_bits=p[1], seed=s),
               lambda n, d, dv: [(m, vb) for m in (4, 8, 16, 32, 64, 128, 256)
                                 for vb in (1, 2, 4, 8)],
               lambda p: f"m={p[0]}, value_bits={p[1]}", label="QJL",
               cite="Zandieh et al. 2024, QJL"),
    MethodSpec("rotation", "entries need few bits after rotation",
               lambda p, s: alg.RotatedQuantizedCache(p, seed=s),
               lambda n, d, dv: [1, 2, 3, 4, 6, 8, 12, 16], lambda p: f"bits={p}",
               label="rotated quantization",
               tokens=lambda t, *, seed, n, **c: alg.RotatedQuantizedCache(
                   _bits_of_tokens(t, n), seed=seed, **_ctx(c)),
               tokens_meaning="bits per entry = round(64 t / n), 1..16",
               cite="Ashkboos et al. 2024, QuaRot"),
    MethodSpec("lowrank", "keys and values are low-rank",
               lambda p, s: alg.LowRankCache(p[0], prefix=32, dtype=p[1]),
               lambda n, d, dv: [(r, dt) for r in _sizes(max(d, dv)) for dt in (F16, F32)],
               _desc_size("rank"), label="low rank",
               cite="Saxena et al. 2024, Eigen attention"),
    MethodSpec("reservoir", "many tokens matter a little",
               lambda p, s: alg.ReservoirSampling(p[0], seed=s, dtype=p[1]),
               _tokens_grid, _desc_size("s"), label="reservoir",
               tokens=lambda t, *, seed, **c: alg.ReservoirSampling(
                   s=t, seed=seed, **_ctx(c, "dtype")),
               tokens_meaning="uniform sample of t tokens (Vitter's reservoir)",
               cite="Vitter 1985", default=False),
    MethodSpec("balance", "kernel sums balance (discrepancy)",
               lambda p, s: alg.BalanceKV(p, seed=s, dtype=F32),
               lambda n, d, dv: _sizes(n), lambda p: f"B={p}, fp32",
               from_budget=alg.BalanceKV.from_budget, label="BalanceKV (vector balancing)",
               cite="Kochetkova et al. 2025, Streaming attention approximation via "
                    "discrepancy theory", default=False),
    MethodSpec("exact", "nothing (the reference)", lambda p, s: ExactCache(p),
               lambda n, d, dv: [F16, F32, np.float64], lambda p: _DT[p], label="exact cache",
               tokens=lambda t, *, seed, **c: ExactCache(**_ctx(c, "dtype")),
               tokens_meaning="all tokens (t is ignored)", default=False),
]


# The field's scorers (kvpress-style, kvtheory.algorithms.eviction): registered when present.
_SCORERS = [
    # key, class name, family, label, tokens meaning, citation
    ("knorm", "KnormEviction", "small keys matter (published key-norm press)",
     "Knorm (low key norm kept)", "t tokens with the smallest key norm",
     "Devoto et al. 2024, A simple and effective L2 norm-based strategy for KV cache "
     "compression (arXiv:2406.11430); kvpress KnormPress"),
    ("random", "RandomEviction", "any token is as good as another", "random eviction",
     "t tokens kept, evicted uniformly at random", "kvpress RandomPress"),
    ("snapkv", "SnapKVEviction", "an observation window of recent queries predicts attention",
     "SnapKV", "t tokens", "Li et al. 2024, SnapKV (arXiv:2404.14469); kvpress SnapKVPress"),
    ("keydiff", "KeyDiffEviction", "keys unlike the mean key matter", "KeyDiff",
     "t tokens", "Park et al. 2025, KeyDiff (arXiv:2504.15364); kvpress KeyDiffPress"),
]
for _key, _cls, _fam, _lab, _mean, _cite in _SCORERS:
    _c = getattr(alg, _cls, None)
    if _c is not None:
        _mk, _tk = _scorer(_c)
        _SPECS.append(MethodSpec(_key, _fam, _mk, _tokens_grid, _desc_size("budget"), label=_lab,
                                 tokens=_tk, tokens_meaning=_mean, cite=_cite, default=False))

# ----------------------------------------------------------- analytic memory
# bits(param, n, d, d_v) of each built-in method after n appended tokens: the hand count
# of its memory ledger (kvtheory.algorithms), so a budget maps to a parameter without a
# dry run. SubGen keeps clusters that depend on the data and has none.
_W, _RNG = 64, 256            # one word (WORD_BITS); a PCG64 generator's state


def _fb(dt) -> int:
    return int(np.dtype(dt).itemsize * 8)


def _kept_bits(m, d, d_v, dt, per_token=0, extra=0):
    return m * (d + d_v) * _fb(dt) + m * per_token + extra + _W


def _bits_sink(p, n, d, d_v):
    ns = min(4, p[0])
    return _kept_bits(min(n, ns) + min(max(0, n - ns), p[0]), d, d_v, p[1])


def _bits_scorer(per_token=0, extra=0):
    return lambda p, n, d, d_v: _kept_bits(min(n, p[0]), d, d_v, p[1], per_token, extra)


def _bits_snapkv(p, n, d, d_v):
    window = max(1, p[0] // 4) if p[0] > 1 else 0     # SnapKVEviction's default window
    return _kept_bits(min(n, p[0]), d, d_v, p[1], extra=_W if window else 0)


def _bits_importance(p, n, d, d_v):
    s = p[0] if n else 0
    return _kept_bits(s, d, d_v, p[1], per_token=64, extra=64 + _RNG)


def _bits_quant(p, n, d, d_v):
    return n * (d + d_v) * p + 4 * n * 16 + _W               # float16 zero-points and scales


def _bits_signbit(p, n, d, d_v):
    return (n if p is None else min(n, p)) * (d + d_v) + 3 * 64 + _W


def _bits_jl_keys(p, n, d, d_v):
    return n * (p[0] + d_v) * _fb(p[1]) + _W + _W


def _bits_kivi(p, n, d, d_v, G=16):
    b, R = p
    g = (n - R) // G if n >= R + G else 0
    return (g * G * (d + d_v) * b + 2 * g * d * 16 + 2 * g * G * 16
            + (n - g * G) * (d + d_v) * 16 + _W)


def _bits_qjl(p, n, d, d_v):
    m, vb = p
    v = n * d_v * 16 if vb is None else n * d_v * vb + 2 * n * 16
    return n * m + n * 16 + v + _W + _W


def _bits_lowrank(p, n, d, d_v, prefix=32):
    r, dt = p
    b = _fb(dt)
    if n < prefix:
        return n * (d + d_v) * b + _W
    rk, rv = min(r, prefix, d), min(r, prefix, d_v)
    return (d * rk + d_v * rv + d + d_v + n * (rk + rv)) * b + _W


_BITS = {
    "window": lambda p, n, d, d_v: _kept_bits(min(n, p[0]), d, d_v, p[1]),
    "sink": _bits_sink,
    "highnorm": _bits_scorer(), "knorm": _bits_scorer(), "keydiff": _bits_scorer(),
    "h2o": _bits_scorer(per_token=64),
    "tova": _bits_scorer(extra=_W),        # stored query (none before a query) + counter
    "snapkv": _bits_snapkv,
    "random": _bits_scorer(extra=_RNG),
    "uniform": _bits_scorer(extra=_RNG), "reservoir": _bits_scorer(extra=_RNG),
    "importance": _bits_importance,
    "quant": _bits_quant,
    "rotation": lambda p, n, d, d_v: _bits_quant(p, n, d, d_v) + _W,
    "signbit": _bits_signbit,
    "jl-keys": _bits_jl_keys,
    "kivi": _bits_kivi,
    "qjl": _bits_qjl,
    "lowrank": _bits_lowrank,
    "exact": lambda p, n, d, d_v: n * (d + d_v) * _fb(p) + _W,
    "balance": alg.BalanceKV.bits_for,
}
_SPECS = [replace(s, bits=_BITS[s.key]) if s.key in _BITS else s for s in _SPECS]

#: Tokens a data-dependent method's dry run streams (SubGen's budget): at most
#: this many of the tuning draw's ``n``, evenly spaced, per grid setting.
SAMPLE_TOKENS = 1024


def _sample_rows(n: int) -> np.ndarray:
    """``min(n, SAMPLE_TOKENS)`` evenly spaced token indices of ``0..n-1``, in order."""
    n0 = min(n, SAMPLE_TOKENS)
    return (np.arange(n0) * n) // n0


def subgen_estimate(make: Callable, p, n: int, d: int, d_v: int, K, V) -> int:
    r"""SubGen's memory after the ``n`` tokens ``(K, V)``, from a dry run on a sample of them.

    The dry run streams :math:`n_0=\min(n,` :data:`SAMPLE_TOKENS` :math:`)`
    evenly spaced tokens of ``(K, V)``, in order (all of them when
    :math:`n\le` ``SAMPLE_TOKENS``: the estimate is then the dry run's
    measured memory), and reads its clusters :math:`m` and reservoir keys
    :math:`R=\sum_j\min(n_j,t)` after the first half of the sample and after
    all of it. Each is extended to :math:`n` tokens along the slope of the
    sample's second half:

    .. math:: \hat m=\min\Bigl(n,\ \Bigl\lceil m(n_0)+(n-n_0)\,
              \frac{m(n_0)-m(n_0/2)}{n_0/2}\Bigr\rceil\Bigr),

    and :math:`\hat R` alike, capped at :math:`\min(n, t\hat m)`; the
    estimate is :meth:`~kvtheory.algorithms.SubGen.bits_for` at
    :math:`(\hat m,\hat R)`. Why: on a stream of exchangeable tokens the
    greedy clustering opens a cluster at step :math:`i` with a probability
    that does not grow with :math:`i` (the centres only accumulate), so the
    expected number of clusters is concave in the number of tokens, and a
    concave function grows past :math:`n_0` no faster than over
    :math:`[n_0/2,n_0]`: :math:`\hat m` errs high in expectation. Sampling
    the whole stream rather than a prefix keeps a stream whose structure
    changes along it (``window-index``: zeros, then INDEX keys) represented.
    On other streams it is an estimate; the memory recorded in a row is
    always the one measured on the evaluated stream (``within_budget``).
    Cost: one dry run of :math:`n_0` tokens per grid setting (12 for the
    registry's SubGen up to n = 256, 24 at n = 32768) instead of :math:`n`.
    """
    idx = _sample_rows(n)
    n0, h = idx.size, idx.size // 2
    K, V = np.asarray(K), np.asarray(V)
    a = make(p, 0)

    def state():
        return int(a.n_clusters), int(np.minimum(a.cluster_counts, a.t).sum())

    a.extend(K[idx[:h]], V[idx[:h]])
    m_h, R_h = state() if h else (0, 0)
    a.extend(K[idx[h:]], V[idx[h:]])
    m0, R0 = state()
    grow = (n - n0) / max(n0 - h, 1)
    m = min(n, math.ceil(m0 + grow * (m0 - m_h) - 1e-9))
    R = min(n, a.t * m, math.ceil(R0 + grow * (R0 - R_h) - 1e-9))
    filled = bool(np.any(V != 0))
    return alg.SubGen.bits_for(d, d_v, n_clusters=m, reservoir_keys=R, s=a.s, dtype=a.dtype,
                               filled=filled)


_SPECS = [replace(s, estimate=partial(subgen_estimate, s.make)) if s.key == "subgen" else s
          for s in _SPECS]

#: The method registry: the only one in kvtheory (the real-cache and sparsity
#: experiments and the widgets take their methods and labels from it).
METHODS: dict[str, MethodSpec] = {s.key: s for s in _SPECS}

#: Methods run by default: the ``default`` ones (not the exact cache, which is
#: the reference, nor the methods added after the headline table was fixed).
DEFAULT_METHODS: tuple[str, ...] = tuple(k for k, s in METHODS.items() if s.default)


def make_method(key: str, tokens: int, *, n: int, d: int, d_v: int | None = None, seed=None,
                **context) -> StreamingAttention:
    r"""The registered method ``key`` at its natural size for a budget of ``tokens`` tokens.

    The token budget is the unit of the real-cache and sparsity experiments
    (Chapters 6 and 10): each method turns ``tokens`` into its own parameter
    (:attr:`MethodSpec.tokens_meaning`), so that at one budget the methods
    keep roughly ``tokens / n`` of the exact cache (SubGen's memory depends
    on the data and is measured, not set). The benchmark's bit budgets use
    the grid instead (module docstring).

    Parameters
    ----------
    key : str
        A key of :data:`METHODS` with a token conversion.
    tokens : int
        Kept tokens, ``1 <= tokens <= n``.
    n, d : int
        Stream length and key dimension.
    d_v : int, optional
        Value dimension (default ``d``).
    seed : int or numpy.random.Generator, optional
        Passed to randomised methods as is (default 0).
    **context
        Facts about the stream, used by the methods that need them and
        ignored by the others: ``key_radius`` (the largest key norm R; SubGen
        sets ``delta = 0.8 R``, default R = 1). Method options: ``recent``
        (h2o), ``dtype`` (kept-token methods), ``meta_dtype`` (quant).

    Returns
    -------
    StreamingAttention

    Raises
    ------
    ValueError
        For an unknown key, a method without a token size, or ``tokens``
        outside ``[1, n]``.
    TypeError
        For an option the method does not take.

    Examples
    --------
    >>> from kvtheory.bench import make_method
    >>> make_method("window", 16, n=64, d=8).W
    16
    >>> make_method("subgen", 64, n=512, d=8, key_radius=2.0).delta
    1.6
    >>> make_method("lowrank", 16, n=64, d=8)
    Traceback (most recent call last):
    ...
    ValueError: method 'lowrank' has no token-budget conversion; use the bench's bit budgets
    """
    if key not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {key!r}")
    spec = METHODS[key]
    if spec.tokens is None:
        raise ValueError(f"method {key!r} has no token-budget conversion; "
                         "use the bench's bit budgets")
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    d_v = d if d_v is None else check_int(d_v, "d_v", lo=1)
    tokens = check_int(tokens, "tokens", lo=1, hi=n)
    return spec.tokens(tokens, n=n, d=d, d_v=d_v, seed=0 if seed is None else seed, **context)


_DRY: dict = {}


def dry_run_bits(make: Callable[[], StreamingAttention], n: int, d: int, d_v: int,
                 key=None, data=None) -> int:
    """``memory_bits()`` of ``make()`` after ``n`` standard Gaussian tokens (seeded).

    Memoised on ``key`` when given. ``data=(K, V)`` streams those tokens
    instead (memoised on ``key`` and a hash of the data).

    Examples
    --------
    >>> import kvtheory as kv
    >>> from kvtheory.bench.methods import dry_run_bits
    >>> dry_run_bits(kv.ExactCache, 10, 4, 4)
    5184
    """
    if data is not None:
        K, V = (np.ascontiguousarray(a, dtype=np.float64) for a in data)
        if key is not None:
            key = (key, hashlib.sha1(K.tobytes() + V.tobytes()).hexdigest())
    if key is not None and (key, n, d, d_v) in _DRY:
        return _DRY[(key, n, d, d_v)]
    if data is None:
        K, V = _gaussian_tokens(n, d, d_v)
    a = make()
    a.extend(K, V)
    bits = check_memory_bits(a.memory_bits(), a)
    if key is not None:
        _DRY[(key, n, d, d_v)] = bits
    return bits


def exact_bits(n: int, d: int, d_v: int) -> int:
    """Bits of the float64 exact cache after ``n`` tokens: the budgets' unit.

    Examples
    --------
    >>> from kvtheory.bench.methods import exact_bits
    >>> exact_bits(256, 24, 24) == 256 * 48 * 64 + 64
    True
    """
    n, d, d_v = (check_int(x, name, lo=1) for x, name in ((n, "n"), (d, "d"), (d_v, "d_v")))
    return dry_run_bits(ExactCache, n, d, d_v, key="exact/fp64")


def _gaussian_tokens(n: int, d: int, d_v: int):
    """The dry runs' standard Gaussian stream (seeded): keys scaled by ``1/sqrt(d)``."""
    rng = np.random.default_rng(12345)
    return rng.standard_normal((n, d)) / np.sqrt(d), rng.standard_normal((n, d_v))


def choose(spec: MethodSpec, budget_bits: int, n: int, d: int, d_v: int, data=None):
    r"""The grid setting of ``spec`` for ``budget_bits`` (see the module docstring).

    The memory of each setting after ``n`` tokens comes from, in order:
    the closed form :attr:`MethodSpec.bits`; the estimate
    :attr:`MethodSpec.estimate` from a dry run on :data:`SAMPLE_TOKENS`
    tokens of ``data=(K, V)`` (the tuning draw of the instance; Gaussian
    tokens without it); for a grid of one setting, nothing (there is no
    choice to make, and no dry run); otherwise a dry run on the first
    :math:`n_0=\min(n,` ``SAMPLE_TOKENS`` :math:`)` tokens (of ``data``
    for a ``data_dependent`` method, else Gaussian), scaled by
    :math:`n/n_0` and rounded up: an upper bound for a method whose memory
    is concave in the number of tokens (it grows at most linearly, from a
    nonnegative start), as every cache that stores at most a fixed amount
    per token. Cost: one dry run of :math:`n_0` tokens per grid setting.
    Among settings of equal memory the later one in the grid wins (the
    grids list more tokens at lower precision later). Returns
    ``(param, bits)`` (``bits`` is ``None`` for a one-setting grid).
    """
    return pick(grid_bits(spec, n, d, d_v, data), budget_bits)


def grid_bits(spec: MethodSpec, n: int, d: int, d_v: int, data=None) -> list[tuple]:
    """Every grid setting of ``spec`` with its memory after ``n`` tokens, as :func:`choose`
    counts it: ``[(param, bits), ...]`` in grid order, or ``[(param, None)]`` for a
    one-setting grid with neither ``bits`` nor ``estimate`` (no dry run).

    Independent of the budget: the benchmark computes it once per method and
    instance, and takes each budget's setting from it with :func:`pick`.
    """
    grid = spec.grid(n, d, d_v)
    if spec.bits is None and spec.estimate is None and len(grid) == 1:
        return [(grid[0], None)]
    use = data if spec.data_dependent else None
    n0 = min(n, SAMPLE_TOKENS)
    out = []
    for p in grid:
        if spec.bits is not None:               # the closed form: no dry run
            b = int(spec.bits(p, n, d, d_v))
        elif spec.estimate is not None:         # a dry run on a sample, scaled
            K, V = data if data is not None else _gaussian_tokens(n, d, d_v)
            b = int(spec.estimate(p, n, d, d_v, K, V))
        else:                                   # a dry run on a prefix, scaled
            pre = None if use is None else tuple(np.asarray(a)[:n0] for a in use)
            b0 = dry_run_bits(partial(spec.make, p, 0), n0, d, d_v, key=(spec.key, repr(p)),
                              data=pre)
            b = b0 if n0 == n else -(-b0 * n // n0)
        out.append((p, b))
    return out


def pick(table: list[tuple], budget_bits: int) -> tuple:
    """The setting of a :func:`grid_bits` table for ``budget_bits``: the largest memory
    that fits (the later setting among equals), else the cheapest; ``(param, bits)``."""
    if len(table) == 1 and table[0][1] is None:
        return table[0]
    best, cheapest = None, None
    for p, b in table:
        if cheapest is None or b < cheapest[1]:
            cheapest = (p, b)
        if b <= budget_bits and (best is None or b >= best[1]):
            best = (p, b)
    return best if best is not None else cheapest


def _takes_seed(cls) -> bool:
    try:
        return "seed" in inspect.signature(cls).parameters
    except (TypeError, ValueError):       # pragma: no cover
        return False


def method_from_class(cls, key: str | None = None) -> MethodSpec:
    """Wrap a reader's :class:`~kvtheory.StreamingAttention` subclass as a :class:`MethodSpec`.

    If ``cls`` has a ``from_budget(budget_bits, n, d, d_v, seed)`` classmethod
    it is called for each budget; otherwise ``cls()`` (or ``cls(seed=seed)``)
    is used at every budget.

    Raises
    ------
    TypeError
        If ``cls`` is not a StreamingAttention subclass.

    Examples
    --------
    >>> import kvtheory as kv
    >>> from kvtheory.bench.methods import method_from_class
    >>> method_from_class(kv.ExactCache).key
    'ExactCache'
    """
    if not (isinstance(cls, type) and issubclass(cls, StreamingAttention)):
        raise TypeError(f"method must be a StreamingAttention subclass, got {cls!r}")
    if cls is StreamingAttention:
        raise TypeError("method must be a subclass of StreamingAttention, not the abstract "
                        "base class itself")
    key = key or cls.__name__
    if hasattr(cls, "from_budget"):
        fb = cls.from_budget
        return MethodSpec(key, "reader's method", lambda p, s: cls(), lambda n, d, dv: [None],
                          lambda p: "from_budget", from_budget=fb, cls=cls)
    if _takes_seed(cls):
        return MethodSpec(key, "reader's method", lambda p, s: cls(seed=s),
                          lambda n, d, dv: [None], lambda p: "fixed", cls=cls)
    return MethodSpec(key, "reader's method", lambda p, s: cls(), lambda n, d, dv: [None],
                      lambda p: "fixed", cls=cls)


def load_method(spec: str) -> MethodSpec:
    """Load ``"module:Class"`` or ``"path/to/file.py:Class"`` as a :class:`MethodSpec`.

    Raises
    ------
    ValueError
        If ``spec`` is not of that form, the module or file cannot be loaded,
        or it has no such class.
    TypeError
        If the object is not a StreamingAttention subclass.

    Examples
    --------
    >>> from kvtheory.bench.methods import load_method
    >>> load_method("kvtheory.stream:ExactCache").key
    'ExactCache'
    >>> load_method("nosuchmodule:X")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --method nosuchmodule:X: cannot import module 'nosuchmodule' (...)
    """
    if not isinstance(spec, str) or spec.count(":") < 1:
        raise ValueError(f"--method must look like module:Class or file.py:Class, got {spec!r}")
    mod_name, _, cls_name = spec.rpartition(":")
    if not mod_name or not cls_name.isidentifier():
        raise ValueError(f"--method must look like module:Class or file.py:Class, got {spec!r}")
    if mod_name.endswith(".py") or "/" in mod_name or "\\" in mod_name:
        path = Path(mod_name).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"--method {spec}: no such file {str(path)!r}")
        name = f"kvtheory_user_{path.stem}_{abs(hash(str(path)))}"
        module = sys.modules.get(name)
        if module is None:
            imp = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(imp)
            sys.modules[name] = module
            try:
                imp.loader.exec_module(module)
            except Exception as exc:
                del sys.modules[name]
                raise ValueError(f"--method {spec}: error while loading {path.name}: "
                                 f"{type(exc).__name__}: {exc}") from exc
    else:
        try:
            module = importlib.import_module(mod_name)
        except Exception as exc:
            raise ValueError(f"--method {spec}: cannot import module {mod_name!r} ({exc})") from exc
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise ValueError(f"--method {spec}: module {mod_name!r} has no attribute {cls_name!r}")
    return method_from_class(cls)
