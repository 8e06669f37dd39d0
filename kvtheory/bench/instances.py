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
``keynorm-adversary``     hard    low-norm needle (Ch. 6), sized for a budget     yes
                                  of :math:`\lfloor n/8\rfloor` tokens
``h2o-adversary``         hard    needle ignored by early queries (Ch. 6)         yes
``tova-adversary``        hard    needle ignored by the latest queries (Ch. 6)    yes
``gaussian``              benign  i.i.d. Gaussian queries, keys, values           no
``clustered``             benign  keys near 8 centres, queries near the centres   no
``lowrank``               benign  keys and values in a random 4-dim subspace      no
``recency``               benign  a positional coordinate :math:`k_{t,1}=0.15t`   no
                                  makes weights decay like :math:`e^{-0.15(i-t)}`
========================  ======  ==============================================  =======

"decodes": the instance has planted bits that the probes decode with Bob's
rule (:func:`kvtheory.instances.index.decode_bits`), so the benchmark reports
a success rate; the three INDEX instances also carry ``info_bits``, the number
of planted bits, for the lower-bound curve
:func:`kvtheory.communication.index_success_ceiling`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .._validate import check_int, check_rng
from ..instances.index import default_C, make_index_instance
from ..instances.lowdim import make_lowdim_instance
from ..instances.sparsity import heavy_hitter_adversary, keynorm_adversary, tova_adversary

__all__ = ["BenchInstance", "InstanceSpec", "INSTANCES", "make_instance", "N_PROBES"]

#: Probe queries per instance (where the instance does not fix them).
N_PROBES = 16


@dataclass(frozen=True)
class BenchInstance:
    r"""One draw of a benchmark instance.

    Attributes
    ----------
    name : str
        Registry key.
    family : {"hard", "benign"}
    K, V : numpy.ndarray, shapes ``(N, d)`` and ``(N, d_v)``
        The stream's keys and values.
    Q : numpy.ndarray or None, shape ``(N, d)``
        The stream's queries, fed with ``step``; ``None`` means the tokens are
        fed with ``append`` (queries play no role, as in the INDEX game).
    probes : numpy.ndarray, shape ``(m, d)``
        Queries asked after the stream, each on a copy of the final state.
    pad : bool
        If true each probe is a step with the zero padding token
        ``(q, 0, 0)`` (Bob's step of the INDEX game); else it is
        ``attend(q)``.
    targets : numpy.ndarray of int or None, shape ``(m,)``
        For decoding instances: the token whose value bits probe ``j``
        decodes.
    tau : float or None
        Decoding threshold.
    info_bits : int or None
        Planted bits of an INDEX-type instance (the ``N`` of the ceiling).
    """

    name: str
    family: str
    K: np.ndarray
    V: np.ndarray
    Q: np.ndarray | None
    probes: np.ndarray
    pad: bool
    targets: np.ndarray | None = None
    tau: float | None = None
    info_bits: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Tokens in the stream (before the probes)."""
        return int(self.K.shape[0])

    @property
    def d(self) -> int:
        return int(self.K.shape[1])

    @property
    def d_v(self) -> int:
        return int(self.V.shape[1])

    def reference(self) -> tuple[np.ndarray, np.ndarray]:
        """Keys and values the probes attend over (with the padding token if ``pad``)."""
        if not self.pad:
            return self.K, self.V
        return (np.vstack([self.K, np.zeros((1, self.d))]),
                np.vstack([self.V, np.zeros((1, self.d_v))]))


@dataclass(frozen=True)
class InstanceSpec:
    """A registry entry: key, family, builder, and what the instance tests."""

    key: str
    family: str
    make: Callable[[int, int, np.random.Generator], BenchInstance]
    description: str
    breaks: str


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
    Q, K, P = (rng.standard_normal((m, d)) * s for m in (n, n, N_PROBES))
    V = rng.standard_normal((n, d))
    return BenchInstance("gaussian", "benign", K, V, Q, P, False)


def _clustered(n, d, rng, c: int = 8):
    centres = rng.standard_normal((c, d))
    centres *= 2.0 / np.linalg.norm(centres, axis=1, keepdims=True)
    lab_k, lab_q, lab_p = (rng.integers(0, c, size=m) for m in (n, n, N_PROBES))
    K = centres[lab_k] + 0.1 * rng.standard_normal((n, d)) / math.sqrt(d)
    Q = centres[lab_q] + 0.1 * rng.standard_normal((n, d)) / math.sqrt(d)
    P = centres[lab_p] + 0.1 * rng.standard_normal((N_PROBES, d)) / math.sqrt(d)
    V = rng.standard_normal((c, d))[lab_k] + 0.1 * rng.standard_normal((n, d))
    return BenchInstance("clustered", "benign", K, V, Q, P, False)


def _lowrank(n, d, rng, r: int = 4):
    U = np.linalg.qr(rng.standard_normal((d, min(r, d))))[0]
    K = rng.standard_normal((n, U.shape[1])) @ U.T
    V = rng.standard_normal((n, U.shape[1])) @ U.T
    Q = rng.standard_normal((n, d)) / math.sqrt(d) * 2
    P = rng.standard_normal((N_PROBES, d)) / math.sqrt(d) * 2
    return BenchInstance("lowrank", "benign", K, V, Q, P, False)


def _recency(n, d, rng, lam: float = 0.15):
    # score <q_i, k_t> = lam * t + content: weights decay like e^{-lam (i - t)} (ALiBi-like)
    s = 0.5 * d ** -0.25
    K = rng.standard_normal((n, d)) * s
    Q = rng.standard_normal((n, d)) * s
    P = rng.standard_normal((N_PROBES, d)) * s
    K[:, 0] = lam * np.arange(n)
    Q[:, 0] = P[:, 0] = 1.0
    V = rng.standard_normal((n, d))
    return BenchInstance("recency", "benign", K, V, Q, P, False)


#: The instance registry, in the order of the chapter's figure.
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
    InstanceSpec("keynorm-adversary", "hard", _adversary(keynorm_adversary, "keynorm-adversary"),
                 "a low-norm needle", "key-norm eviction (Chapter 6)"),
    InstanceSpec("h2o-adversary", "hard", _adversary(heavy_hitter_adversary, "h2o-adversary"),
                 "a needle early queries ignore", "heavy-hitter (H2O) eviction (Chapter 6)"),
    InstanceSpec("tova-adversary", "hard", _adversary(tova_adversary, "tova-adversary"),
                 "a needle the latest queries ignore", "TOVA eviction (Chapter 6)"),
    InstanceSpec("gaussian", "benign", _gaussian,
                 "i.i.d. Gaussian tokens, scores ~ N(0, 1)", "nothing: flat attention"),
    InstanceSpec("clustered", "benign", _clustered,
                 "keys and queries near 8 centres", "nothing: helps clustering (SubGen)"),
    InstanceSpec("lowrank", "benign", _lowrank,
                 "keys and values in a 4-dim subspace", "nothing: helps PCA"),
    InstanceSpec("recency", "benign", _recency,
                 "weights decay like exp(-0.15 * age): queries attend to the recent past",
                 "nothing: helps windows"),
]}


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


