r"""The benchmark's instances: named streams, each a function of ``(n, d, seed)``.

Every instance is a stream of tokens followed by a set of *probe* queries.
Some instances are the hard inputs of the book's lower bounds, built by the
same library functions the chapters use (one source of truth); the others
are benign streams on which the structural assumptions of compression
methods hold.

========================  ======  ==============================================  =======
key                       family  what it is                                      decodes
========================  ======  ==============================================  =======
``index``                 hard    INDEX through attention (Ch. 3): sign keys,     yes
                                  fair-bit values, Bob's queries :math:`Ck_{i^*}`
``lowdim``                hard    INDEX on a sign code in dimension               yes
                                  :math:`\min(d,8)` (Ch. 4), padded to ``d``
``window-index``          hard    INDEX inside the last window of length          yes
                                  :math:`W=\lfloor n/4\rfloor` after zero tokens
                                  (Ch. 7)
``needle``                hard    one random token (the needle) of an INDEX       yes
                                  stream with soft random queries; one probe
``highnorm-adversary``    hard    small-key needle (Ch. 6) against the high-norm  yes
                                  variant, sized for :math:`\lfloor n/8\rfloor`
                                  tokens (renamed from ``keynorm-adversary``)
``h2o-adversary``         hard    needle ignored by earlier queries (Ch. 6)       yes
``tova-adversary``        hard    needle ignored by the latest queries (Ch. 6)    yes
``knorm-adversary``       hard    large-key needle against published Knorm        yes
``snapkv-adversary``      hard    needle ignored by SnapKV's observation window   yes
``keydiff-adversary``     hard    needle along the mean key (against KeyDiff)     yes
``gaussian``              benign  i.i.d. Gaussian queries, keys, values           no
``clustered``             benign  keys near 8 centres, queries near the centres   no
``lowrank``               benign  keys and values in a random 4-dim subspace      no
``recency``               benign  a positional coordinate :math:`k_{t,1}=0.15t`   no
                                  makes weights decay like :math:`e^{-0.15(i-t)}`
========================  ======  ==============================================  =======

"decodes": the instance has planted bits that the probes decode with Bob's
rule (:func:`kvtheory.game.decode_bits`), so the benchmark reports
a success rate; the three INDEX instances also carry ``info_bits``, the number
of planted bits, for the lower-bound curve
:func:`kvtheory.information.index_success_ceiling`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._validate import check_int, check_rng
from ..game import Instance
from ..instances import benign
from ..instances import sparsity as _sp
from ..instances.index import default_C, make_index_instance
from ..instances.lowdim import make_lowdim_instance

__all__ = ["BenchInstance", "InstanceSpec", "INSTANCES", "DEFAULT_INSTANCES", "make_instance",
           "N_PROBES"]

#: Probe queries per instance (where the instance does not fix them).
N_PROBES = 16


#: The benchmark's instance record is the general one of :mod:`kvtheory.game`.
BenchInstance = Instance


@dataclass(frozen=True)
class InstanceSpec:
    """A registry entry: key, family, builder, and what the instance tests."""

    key: str
    family: str
    make: Callable[[int, int, np.random.Generator], BenchInstance]
    description: str
    breaks: str
    default: bool = True
    #: ``available()`` tells whether the instance can be built here (the real heads
    #: need the ``real`` extra and the model); ``None``: always.
    available: Callable[[], bool] | None = None

    @property
    def is_available(self) -> bool:
        """Whether :func:`make_instance` can build this instance on this machine."""
        return self.available is None or bool(self.available())


# ------------------------------------------------------------------ hard ones
def _index_probes(n: int, rng, m: int = N_PROBES) -> np.ndarray:
    return np.sort(rng.choice(n, size=min(m, n), replace=False))


def _index(n, d, rng):
    inst = make_index_instance(n, d, seed=rng)
    tg = _index_probes(n, rng)
    return BenchInstance("index", "hard", inst.keys, inst.X, None, inst.C * inst.keys[tg],
                         True, tg, inst.tau, n * d)


def _lowdim(n, d, rng):
    d_low = min(d, 8)
    low = make_lowdim_instance(max(n, 2), d_low, seed=0)      # the code is public and fixed
    inst = make_index_instance(low.n_prime, d_low, seed=rng, keys=low.keys, C=low.C, d_v=d)
    K = np.zeros((low.n_prime, d))
    K[:, :d_low] = inst.keys
    tg = _index_probes(low.n_prime, rng)
    return BenchInstance("lowdim", "hard", K, inst.X, None, inst.C * K[tg], True, tg,
                         inst.tau, low.n_prime * d, {"code_dim": d_low})


def _window_index(n, d, rng):
    W = max(2, n // 4)
    prefix = n - (W - 1)
    inst = make_index_instance(W - 1, d, seed=rng, C=default_C(n))
    K = np.vstack([np.zeros((prefix, d)), inst.keys])
    V = np.vstack([np.zeros((prefix, d)), inst.X])
    tg = _index_probes(W - 1, rng)
    return BenchInstance("window-index", "hard", K, V, None, inst.C * inst.keys[tg], True,
                         prefix + tg, inst.tau, (W - 1) * d, {"W": W})


def _needle(n, d, rng):
    inst = make_index_instance(n, d, seed=rng)
    needle = int(rng.integers(0, n))
    Q = rng.standard_normal((n, d)) / math.sqrt(d)       # soft, uninformative queries
    return BenchInstance("needle", "hard", inst.keys, inst.X, Q,
                         inst.C * inst.keys[[needle]], True, np.array([needle]), inst.tau,
                         None)


def _adversary(builder, key):
    def make(n, d, rng):
        st = builder(n, d, budget=max(1, n // 8), seed=rng)
        return BenchInstance(key, "hard", st.K, st.V, st.Q, st.q_final[None, :], True,
                             np.array([st.needle]), st.tau, None, {"budget": max(1, n // 8)})
    return make


# ---------------------------------------------------------------- benign ones
def _gaussian(n, d, rng):
    s = d ** -0.25                     # scores <q, k> ~ N(0, 1)
    Q, K, V, P = benign.gaussian(n, d, seed=rng, q_scale=s, k_scale=s, n_probes=N_PROBES)
    return BenchInstance("gaussian", "benign", K, V, Q, P, False)


def _clustered(n, d, rng, c: int = 8):
    Q, K, V, P = benign.clustered(n, d, n_probes=N_PROBES, c=c, seed=rng)
    return BenchInstance("clustered", "benign", K, V, Q, P, False)


def _lowrank(n, d, rng, r: int = 4):
    Q, K, V, P = benign.lowrank(n, d, n_probes=N_PROBES, r=r, seed=rng)
    return BenchInstance("lowrank", "benign", K, V, Q, P, False)


def _recency(n, d, rng, lam: float = 0.15):
    # score <q_i, k_t> = lam * t + content: weights decay like e^{-lam (i - t)} (ALiBi-like)
    Q, K, V, P = benign.recency(n, d, n_probes=N_PROBES, lam=lam, seed=rng)
    return BenchInstance("recency", "benign", K, V, Q, P, False)


# ------------------------------------------------------- real heads (SmolLM2)
#: Tokens of the shipped corpus whose cache the real-head instances use (the
#: cached extraction of Chapter 10, :func:`kvtheory.experiments.real.corpus_kv`).
REAL_TOKENS = 1024

#: The heads offered as instances, ``(layer, head)``, chosen by how the last 16
#: queries of the 1024-token cache attend: L23H6 puts ~100% of the mass on the
#: first 4 and the last 64 tokens (easy for sinks + window, not for a window
#: alone), L7H7 only ~13% (it reads tokens far back: hard for windows and for
#: the eviction scorers), L0H0 spreads it (entropy ~6.6 nats; flat attention is
#: easy for every method at the additive error).
REAL_HEADS = ((23, 6), (7, 7), (0, 0))


def _real_available() -> bool:
    try:
        from ..real import available
    except ImportError:                             # the real extra is not installed
        return False
    return bool(available())


_REAL_KV: dict = {}


def _real_kv():
    if "kv" not in _REAL_KV:                        # once per process
        from ..experiments.real import corpus_kv
        _REAL_KV["kv"] = corpus_kv(REAL_TOKENS)
    return _REAL_KV["kv"]


def _real(layer: int, head: int):
    key = f"real-L{layer}H{head}"

    def make(n, d, rng):
        if not _real_available():
            raise ValueError(f"instance {key!r} is unavailable: it needs the 'real' extra "
                             "and the SmolLM2 model (see kvtheory.real)")
        kvr = _real_kv()
        m = min(n, kvr.n)
        Q, K, V = kvr.head(layer, head, n=m)
        # the stream: the model's keys, values and own queries; the probes: the queries
        # of the last N_PROBES tokens, asked after the whole stream (the last one is
        # exactly the model's final step; the others also see up to 15 later tokens)
        return BenchInstance(key, "benign", K, V, Q, Q[m - N_PROBES:].copy(), False,
                             extra={"layer": layer, "head": head, "model": "SmolLM2",
                                    "tokens": m})
    return make


#: The instance registry, in the order of the chapter's figure. ``default=False``
#: entries (the adversaries of the scorers added with Chapter 6's kvpress names)
#: run only when asked for, so the headline run keeps its shape.
INSTANCES: dict[str, InstanceSpec] = {s.key: s for s in [
    InstanceSpec("index", "hard", _index,
                 "INDEX through attention: random sign keys, fair-bit values",
                 "any compression below ~nd bits (Chapter 3)"),
    InstanceSpec("lowdim", "hard", _lowdim,
                 "INDEX on a sign code in dimension min(d, 8)",
                 "low rank / low dimension: few dimensions, many bits (Chapter 4)"),
    InstanceSpec("window-index", "hard", _window_index,
                 "INDEX in the last n/4 tokens after zero tokens",
                 "anything that is not a recency window (Chapter 7)"),
    InstanceSpec("needle", "hard", _needle,
                 "one random token matters; queries in the stream are uninformative",
                 "sampling, windows, eviction: the needle is anywhere (Chapter 6)"),
    InstanceSpec("highnorm-adversary", "hard",
                 _adversary(_sp.highnorm_adversary, "highnorm-adversary"),
                 "a needle with a small key among large ones",
                 "high-norm key eviction, the book's variant (Chapter 6)"),
    InstanceSpec("h2o-adversary", "hard", _adversary(_sp.h2o_adversary, "h2o-adversary"),
                 "a needle every earlier query ignores",
                 "observed-attention (H2O) eviction (Chapter 6)"),
    InstanceSpec("tova-adversary", "hard", _adversary(_sp.tova_adversary, "tova-adversary"),
                 "a needle the latest queries ignore", "TOVA eviction (Chapter 6)"),
    InstanceSpec("knorm-adversary", "hard", _adversary(_sp.knorm_adversary, "knorm-adversary"),
                 "a needle with a large key among small ones",
                 "published key-norm (Knorm) eviction (Chapter 6)", default=False),
    InstanceSpec("snapkv-adversary", "hard",
                 _adversary(_sp.snapkv_adversary, "snapkv-adversary"),
                 "a needle the observation window's queries ignore",
                 "SnapKV eviction (Chapter 6)", default=False),
    InstanceSpec("keydiff-adversary", "hard",
                 _adversary(_sp.keydiff_adversary, "keydiff-adversary"),
                 "a needle whose key points along the mean key",
                 "KeyDiff eviction (Chapter 6)", default=False),
    InstanceSpec("gaussian", "benign", _gaussian,
                 "i.i.d. Gaussian tokens, scores ~ N(0, 1)", "nothing: flat attention"),
    InstanceSpec("clustered", "benign", _clustered,
                 "keys and queries near 8 centres", "nothing: helps clustering (SubGen)"),
    InstanceSpec("lowrank", "benign", _lowrank,
                 "keys and values in a 4-dim subspace", "nothing: helps PCA"),
    InstanceSpec("recency", "benign", _recency,
                 "weights decay like exp(-0.15 * age): queries attend to the recent past",
                 "nothing: helps windows"),
    *[InstanceSpec(f"real-L{L}H{H}", "benign", _real(L, H),
                   f"SmolLM2 layer {L} head {H} on the shipped corpus (keys, values, its own "
                   f"queries; d = 64, at most {REAL_TOKENS} tokens)",
                   "nothing: a real cache", available=lambda: _real_available())
      for L, H in REAL_HEADS],
]}


#: Instances run by default (``InstanceSpec.default``; the real heads only where available).
DEFAULT_INSTANCES: tuple[str, ...] = tuple(k for k, s in INSTANCES.items()
                                           if s.default and s.is_available)


def make_instance(key: str, n: int, d: int, seed=0) -> BenchInstance:
    r"""Build instance ``key`` of the registry for stream length ``n`` and dimension ``d``.

    Parameters
    ----------
    key : str
        A key of :data:`INSTANCES`.
    n : int
        Stream length, ``>= 16`` (``lowdim`` streams only the
        :math:`n'=\min(n-1,\text{code size})` informative tokens).
    d : int
        Dimension of keys, queries and values, ``>= 4``.
    seed : int or numpy.random.Generator

    Returns
    -------
    BenchInstance

    Raises
    ------
    ValueError
        For an unknown key or ``n``, ``d`` out of range.

    Examples
    --------
    >>> from kvtheory.bench import make_instance
    >>> inst = make_instance("index", 64, 8, seed=0)
    >>> inst.n, inst.d, inst.probes.shape, inst.info_bits
    (64, 8, (16, 8), 512)
    >>> make_instance("recency", 64, 8).pad
    False
    """
    if key not in INSTANCES:
        raise ValueError(f"instance must be one of {sorted(INSTANCES)}, got {key!r}")
    n = check_int(n, "n", lo=16)
    d = check_int(d, "d", lo=4)
    rng = check_rng(seed)
    return INSTANCES[key].make(n, d, rng)


