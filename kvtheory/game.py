r"""One game from instance to ceiling: :class:`Instance`, :func:`play`, :func:`score`.

Every experiment that streams an instance through an algorithm and asks
questions afterwards is the same game:

1. **Instance.** A stream of tokens (keys, values, and queries or none),
   then *probe* queries asked after the stream; for the hard instances also
   the tokens the probes target, Bob's threshold :math:`\tau` and the planted
   bits (kept for the scorer only).
2. **Play** (:func:`play`). The algorithm receives the tokens (``step`` when
   the instance has queries, else ``append``); its ``memory_bits()`` is read
   at the hand-off; each probe is answered on an independent deep copy of the
   handed-over state (one more ``step`` with the zero padding token
   ``(q, 0, 0)``, Bob's step of the INDEX game, or a bare ``attend(q)``). The
   result is a :class:`Transcript`.
3. **Score** (:func:`score`). The answers are compared with exact attention in
   the book's three error notions; Bob's rule (:func:`decode_bits`, which sees
   the answers and the threshold, never the truth) decodes bits, which are
   compared with the planted ones; the success rate is set beside the INDEX
   ceiling of :mod:`kvtheory.information` at the memory used.

Non-finite answers are handled here and only here: :func:`decode_bits` maps
them to NaN, the scorer counts them as wrong guesses and as infinite errors.

The INDEX protocol of Chapter 3
(:func:`kvtheory.instances.index.run_index_protocol`), the needle game of
Chapter 6 (:func:`kvtheory.instances.sparsity.run_needle_game`) and the
benchmark's cells (:func:`kvtheory.bench.run_cell`) are thin wrappers over
:func:`play` and :func:`score`.
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_real_array, check_real
from .attention import additive_error, attention, entrywise_error, softmax
from .information import index_success_ceiling
from .stream import StreamingAttention

__all__ = ["Instance", "Transcript", "Score", "decode_bits", "play", "score", "check_memory_bits"]


def _freeze(a: np.ndarray) -> np.ndarray:
    a = a.view()
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class Instance:
    r"""A streamed instance: tokens, probes, and (for hard instances) what Bob decodes.

    Attributes
    ----------
    name : str
        A short name (the benchmark's registry key).
    family : {"hard", "benign"}
        Hard instances come from the lower-bound proofs; benign ones are
        streams on which compression methods' assumptions hold.
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
        Bob's decoding threshold (required with ``targets``).
    info_bits : int or None
        Planted bits of an INDEX-type instance (the ``N`` of the ceiling).
    extra : dict
        Instance-specific facts (e.g. the window length).
    truth : numpy.ndarray or None, shape ``(m, d_v)``
        The planted bits probe ``j`` should recover; default ``V[targets]``.
        Only the scorer reads it.
    cells : numpy.ndarray of int or None, shape ``(T, 2)``
        The ``(probe, coordinate)`` pairs Bob decodes, one per trial (as in
        the INDEX game, where Bob wants one bit :math:`X_{i^*j^*}`); default
        every coordinate of every probe.

    Raises
    ------
    ValueError, TypeError
        If the arrays' shapes disagree, ``targets`` lies outside the stream,
        or ``tau`` is missing for a decoding instance.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.game import Instance
    >>> K = np.eye(3); V = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> inst = Instance("toy", "hard", K, V, None, probes=20 * K[[1]], pad=True,
    ...                 targets=np.array([1]), tau=0.5)
    >>> inst.n, inst.d, inst.d_v, inst.truth.tolist()
    (3, 3, 2, [[0.0, 1.0]])
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
    truth: np.ndarray | None = field(default=None, repr=False)
    cells: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        set_ = object.__setattr__
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__}")
        if self.family not in ("hard", "benign"):
            raise ValueError(f"family must be 'hard' or 'benign', got {self.family!r}")
        K = as_real_array(self.K, "K", ndim=2)
        V = as_real_array(self.V, "V", ndim=2)
        n, d = K.shape
        if n == 0 or d == 0 or V.shape[1] == 0:
            raise ValueError(f"K and V must be non-empty, got shapes {K.shape} and {V.shape}")
        if V.shape[0] != n:
            raise ValueError(f"V must have {n} rows like K, got {V.shape[0]}")
        set_(self, "K", K)
        set_(self, "V", V)
        if self.Q is not None:
            set_(self, "Q", as_real_array(self.Q, "Q", shape=(n, d)))
        P = as_real_array(self.probes, "probes", ndim=2)
        if P.shape[1] != d or P.shape[0] == 0:
            raise ValueError(f"probes must have shape (m, {d}) with m >= 1, got {P.shape}")
        set_(self, "probes", P)
        if not isinstance(self.pad, (bool, np.bool_)):
            raise TypeError(f"pad must be a bool, got {type(self.pad).__name__}")
        set_(self, "pad", bool(self.pad))
        if self.info_bits is not None:
            if isinstance(self.info_bits, bool) or not isinstance(self.info_bits,
                                                                    numbers.Integral):
                raise TypeError("info_bits must be an int or None")
            if self.info_bits < 1:
                raise ValueError(f"info_bits must be >= 1, got {self.info_bits}")
            set_(self, "info_bits", int(self.info_bits))
        if self.targets is None:
            if self.truth is not None or self.cells is not None:
                raise ValueError("truth and cells need targets")
            if self.tau is not None:
                set_(self, "tau", check_real(self.tau, "tau"))
            return
        tg = np.asarray(self.targets)
        if tg.dtype.kind not in "iu" or tg.shape != (P.shape[0],):
            raise ValueError(f"targets must be {P.shape[0]} integers (one per probe), "
                             f"got shape {tg.shape} and dtype {tg.dtype}")
        if tg.min() < 0 or tg.max() >= n:
            raise ValueError(f"targets must lie in [0, {n})")
        set_(self, "targets", tg.astype(np.int64))
        if self.tau is None:
            raise ValueError("tau is required when targets are given")
        set_(self, "tau", check_real(self.tau, "tau"))
        truth = V[tg] if self.truth is None else as_real_array(self.truth, "truth",
                                                                shape=(P.shape[0], V.shape[1]))
        set_(self, "truth", _freeze(np.array(truth, dtype=np.float64)))
        if self.cells is not None:
            c = np.asarray(self.cells)
            if c.dtype.kind not in "iu" or c.ndim != 2 or c.shape[1] != 2 or c.shape[0] == 0:
                raise ValueError(f"cells must be a (T, 2) integer array, got shape {c.shape}")
            if (c[:, 0].min() < 0 or c[:, 0].max() >= P.shape[0] or c[:, 1].min() < 0
                    or c[:, 1].max() >= V.shape[1]):
                raise ValueError("cells must hold (probe, coordinate) pairs inside "
                                 f"[0, {P.shape[0]}) x [0, {V.shape[1]})")
            set_(self, "cells", c.astype(np.int64))

    @property
    def n(self) -> int:
        """Tokens in the stream (before the probes)."""
        return int(self.K.shape[0])

    @property
    def d(self) -> int:
        """Key (and query) dimension."""
        return int(self.K.shape[1])

    @property
    def d_v(self) -> int:
        """Value dimension."""
        return int(self.V.shape[1])

    @property
    def decodes(self) -> bool:
        """Whether the probes decode planted bits."""
        return self.targets is not None

    def reference(self) -> tuple[np.ndarray, np.ndarray]:
        """Keys and values the probes attend over (with the padding token if ``pad``)."""
        if not self.pad:
            return self.K, self.V
        return (np.vstack([self.K, np.zeros((1, self.d))]),
                np.vstack([self.V, np.zeros((1, self.d_v))]))

    @functools.cached_property
    def value_opnorm(self) -> float:
        """Operator norm :math:`\\|V\\|_{op}` of the values (the padding token,
        a zero row, does not change it); computed once per instance, since
        :func:`score` needs it for every run on the instance."""
        return float(np.linalg.norm(self.V, 2))

    @functools.cached_property
    def reference_answers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per probe, what :func:`score` compares an answer with: the exact
        attention output, the product :math:`w^\\top V` of the softmax weights
        :math:`w` with the values, and :math:`\\|w\\|`; computed once per
        instance, since every run on the instance is scored against them
        (like :attr:`value_opnorm`, they assume the arrays are not changed
        afterwards)."""
        K, V = self.reference()
        m = self.probes.shape[0]
        Z, WV, wn = np.empty((m, self.d_v)), np.empty((m, self.d_v)), np.empty(m)
        for j, q in enumerate(self.probes):
            Z[j] = attention(q, K, V)
            w = softmax(K @ q)     # as kv.l2_error_ratio, with the operator norm computed once
            WV[j] = w @ V
            wn[j] = np.linalg.norm(w)
        return Z, WV, wn

    def decoded_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column indices (into the probes' answers) of the bits Bob decodes."""
        if self.targets is None:
            raise ValueError(f"instance {self.name!r} plants no bits")
        if self.cells is not None:
            return self.cells[:, 0], self.cells[:, 1]
        m = self.probes.shape[0]
        return np.repeat(np.arange(m), self.d_v), np.tile(np.arange(self.d_v), m)


@dataclass(frozen=True)
class Transcript:
    """What :func:`play` saw: the answers, the memory at the hand-off, the time.

    Attributes
    ----------
    algorithm, kind : str
        The algorithm's ``name`` and ``kind``.
    outputs : numpy.ndarray, shape ``(m, d_v)``
        The answer to each probe (non-finite entries are kept).
    memory_bits : int
        ``memory_bits()`` after the stream, before any probe.
    sec_per_token : float
        Wall time of the streaming phase per token.
    held_keys : numpy.ndarray or None
        The keys the algorithm held verbatim at the hand-off
        (:meth:`~kvtheory.StreamingAttention.held_keys`), ``None`` if it does
        not say.
    """

    algorithm: str
    kind: str
    outputs: np.ndarray = field(repr=False)
    memory_bits: int
    sec_per_token: float
    held_keys: np.ndarray | None = field(default=None, repr=False)


def check_memory_bits(bits, alg) -> int:
    """``bits`` as an ``int`` if it is a non-negative integer, else raise naming ``alg``'s class.

    Python and numpy integers are accepted; ``bool``, floats (also integral
    ones), NaN and negative numbers raise :class:`ValueError`.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.game import check_memory_bits
    >>> check_memory_bits(np.int64(64), kv.ExactCache())
    64
    >>> check_memory_bits(1.5, kv.ExactCache())
    Traceback (most recent call last):
        ...
    ValueError: ExactCache.memory_bits() must return a non-negative integer, got 1.5
    """
    ok = (isinstance(bits, numbers.Integral) and not isinstance(bits, (bool, np.bool_))
          and bits >= 0)
    if not ok:
        raise ValueError(f"{type(alg).__name__}.memory_bits() must return a non-negative "
                         f"integer, got {bits!r}")
    return int(bits)


def _check_answer(z, alg, method: str, d_v: int) -> np.ndarray:
    z = np.asarray(z)
    if z.dtype.kind == "c":
        raise TypeError(f"{type(alg).__name__}.{method} returned a complex answer; "
                        "attention outputs are real")
    if z.dtype.kind not in "biuf":
        raise TypeError(f"{type(alg).__name__}.{method} returned dtype {z.dtype}, "
                        "expected a real array")
    if z.shape != (d_v,):
        raise ValueError(f"{type(alg).__name__}.{method} returned shape {z.shape}, "
                         f"expected ({d_v},)")
    return z.astype(np.float64)


def play(alg: StreamingAttention, inst: Instance) -> Transcript:
    r"""Play ``inst`` against ``alg``: stream, hand off, probe each query on a copy.

    Parameters
    ----------
    alg : StreamingAttention
        A fresh algorithm; it receives the stream and is left in the
        handed-over state (the probes run on deep copies).
    inst : Instance

    Returns
    -------
    Transcript

    Raises
    ------
    TypeError
        If ``alg`` is not a StreamingAttention, or returns a complex or
        non-numeric answer.
    ValueError
        If ``memory_bits()`` is not a non-negative integer, or an answer has
        the wrong shape.

    Examples
    --------
    >>> import kvtheory as kv
    >>> from kvtheory.game import play
    >>> from kvtheory.instances.index import make_index_instance
    >>> inst = make_index_instance(50, 24, seed=0).as_instance([3, 7])
    >>> tr = play(kv.ExactCache(), inst)
    >>> tr.outputs.shape, tr.memory_bits
    ((2, 24), 153664)
    """
    if not isinstance(alg, StreamingAttention):
        raise TypeError(f"alg must be a StreamingAttention instance, got {type(alg).__name__}")
    if not isinstance(inst, Instance):
        raise TypeError(f"inst must be a kvtheory.game.Instance, got {type(inst).__name__}")
    t0 = time.perf_counter()
    if inst.Q is None:
        alg.extend(inst.K, inst.V)
    else:
        for q, k, v in zip(inst.Q, inst.K, inst.V, strict=True):
            alg.step(q, k, v)
    sec = (time.perf_counter() - t0) / inst.n
    bits = check_memory_bits(alg.memory_bits(), alg)
    held = alg.held_keys()
    if held is not None:
        held = np.array(held, dtype=np.float64)
    Z = np.empty((inst.probes.shape[0], inst.d_v))
    zk, zv = np.zeros(inst.d), np.zeros(inst.d_v)
    method = "step" if inst.pad else "attend"
    for j, q in enumerate(inst.probes):
        a = copy.deepcopy(alg)
        z = a.step(q, zk, zv) if inst.pad else a.attend(q)
        Z[j] = _check_answer(z, alg, method, inst.d_v)
    return Transcript(algorithm=str(getattr(alg, "name", type(alg).__name__)),
                      kind=str(alg.kind), outputs=_freeze(Z), memory_bits=bits,
                      sec_per_token=sec, held_keys=held)


def decode_bits(outputs, tau: float) -> np.ndarray:
    r"""Bob's rule: ``1.0`` where an output exceeds ``tau``, ``0.0`` where not, NaN where
    the output is not finite.

    The decoder sees the answers and the threshold only, never the planted
    bits; :func:`score` counts a NaN guess as wrong.

    Parameters
    ----------
    outputs : array_like
        The decoded coordinates of the algorithm's answers (may be non-finite).
    tau : float
        Bob's threshold (:func:`kvtheory.instances.index.decode_threshold`).

    Returns
    -------
    numpy.ndarray of float, the shape of ``outputs``.

    Examples
    --------
    >>> from kvtheory.game import decode_bits
    >>> decode_bits([0.9, 0.1, float("inf")], 0.5).tolist()
    [1.0, 0.0, nan]
    """
    outputs = as_real_array(outputs, "outputs", finite=False)
    tau = check_real(tau, "tau")
    with np.errstate(invalid="ignore"):
        guess = (outputs > tau).astype(np.float64)
    return np.where(np.isfinite(outputs), guess, np.nan)


@dataclass(frozen=True)
class Score:
    r"""The score of a :class:`Transcript` on its :class:`Instance`.

    Attributes
    ----------
    err_entrywise, err_additive, err_l2 : numpy.ndarray or None, shape ``(m,)``
        Per probe: :func:`~kvtheory.entrywise_error`,
        :func:`~kvtheory.additive_error` and the
        :func:`~kvtheory.l2_error_ratio` against exact attention over the
        stream (and the padding token); ``inf`` for a non-finite answer;
        ``None`` when not computed (``errors=False``). ``err_l2`` is NaN if
        all values are zero.
    guesses, truth : numpy.ndarray or None, shape ``(T,)``
        Bob's decoded bits (NaN for a non-finite output) and the planted ones
        at the decoded cells; ``None`` if nothing is planted.
    successes, trials : int or None
        Correct guesses and decoded bits.
    memory_bits : int
        The memory the ceiling is taken at.
    ceiling : float or None
        :func:`~kvtheory.information.index_success_ceiling` at
        ``memory_bits`` and the instance's ``info_bits``.
    nonfinite_answers : int
        Probes whose answer has a non-finite entry.
    nonfinite_guesses : int
        Decoded outputs that were not finite (each counted as wrong).
    targets_held : float or None
        Fraction of probes whose target key the algorithm held verbatim at
        the hand-off (``None`` if it does not say or nothing is targeted).
    """

    err_entrywise: np.ndarray | None
    err_additive: np.ndarray | None
    err_l2: np.ndarray | None
    guesses: np.ndarray | None
    truth: np.ndarray | None
    successes: int | None
    trials: int | None
    memory_bits: int
    ceiling: float | None
    nonfinite_answers: int
    nonfinite_guesses: int
    targets_held: float | None

    @property
    def success_rate(self) -> float | None:
        """Fraction of planted bits decoded correctly."""
        return None if self.trials is None else self.successes / self.trials

    @property
    def stderr(self) -> float | None:
        r"""Binomial standard error of :attr:`success_rate`,
        :math:`\sqrt{\max(\hat p(1-\hat p),\,1/(4T))/T}` (never 0)."""
        if self.trials is None:
            return None
        p = self.success_rate
        return math.sqrt(max(p * (1 - p), 0.25 / self.trials) / self.trials)

    def as_dict(self) -> dict:
        """Worst and mean errors, success, its standard error, ceiling and counts.

        The keys ``err_*_max`` / ``err_*_mean`` and ``success`` are the
        benchmark's columns (``None`` where not computed).
        """
        out = {}
        for key, arr in (("entrywise", self.err_entrywise), ("additive", self.err_additive),
                         ("l2", self.err_l2)):
            out[f"err_{key}_max"] = None if arr is None else float(np.max(arr))
            out[f"err_{key}_mean"] = None if arr is None else float(np.mean(arr))
        out.update(success=self.success_rate, stderr=self.stderr, successes=self.successes,
                   trials=self.trials, memory_bits=self.memory_bits, ceiling=self.ceiling,
                   nonfinite_answers=self.nonfinite_answers,
                   nonfinite_guesses=self.nonfinite_guesses, targets_held=self.targets_held)
        return out


def score(transcript: Transcript, inst: Instance, *, memory_bits=None,
          errors: bool = True) -> Score:
    r"""Score a transcript: errors in the three notions, decoded bits, success, ceiling.

    Parameters
    ----------
    transcript : Transcript
        From :func:`play` on ``inst``.
    inst : Instance
    memory_bits : int, optional
        The memory at which the INDEX ceiling is taken; default the
        transcript's. (The benchmark passes the largest memory the method
        reached on any input of the cell.)
    errors : bool, default True
        Compute the three error notions (skip them when only the decoded
        bits matter: the INDEX protocol asks hundreds of probes).

    Returns
    -------
    Score

    Examples
    --------
    >>> import kvtheory as kv
    >>> from kvtheory.game import play, score
    >>> from kvtheory.instances.index import make_index_instance
    >>> inst = make_index_instance(50, 24, seed=0).as_instance([3, 7])
    >>> s = score(play(kv.algorithms.SignBitCache(), inst), inst)
    >>> s.success_rate, s.trials, f"{s.ceiling:.2f}", s.err_additive.shape
    (1.0, 48, '1.00', (2,))
    """
    if not isinstance(transcript, Transcript):
        raise TypeError(f"transcript must be a Transcript, got {type(transcript).__name__}")
    if not isinstance(inst, Instance):
        raise TypeError(f"inst must be a kvtheory.game.Instance, got {type(inst).__name__}")
    Z = transcript.outputs
    if Z.shape != (inst.probes.shape[0], inst.d_v):
        raise ValueError(f"transcript.outputs has shape {Z.shape}, but the instance has "
                         f"{inst.probes.shape[0]} probes of dimension {inst.d_v}")
    if memory_bits is None:
        bits = transcript.memory_bits
    elif (isinstance(memory_bits, numbers.Integral)
          and not isinstance(memory_bits, (bool, np.bool_)) and memory_bits >= 0):
        bits = int(memory_bits)
    else:
        raise ValueError(f"memory_bits must be a non-negative integer, got {memory_bits!r}")
    finite = np.all(np.isfinite(Z), axis=1)
    ent = add = l2 = None
    if errors:
        op = inst.value_opnorm
        Z_ref, WV, wn = inst.reference_answers
        ent, add, l2 = (np.full(Z.shape[0], np.inf) for _ in range(3))
        for j, z_hat in enumerate(Z):
            if not finite[j]:
                continue
            ent[j] = entrywise_error(z_hat, Z_ref[j])
            add[j] = additive_error(z_hat, Z_ref[j])
            l2[j] = np.linalg.norm(z_hat - WV[j]) / (wn[j] * op) if op > 0 else np.nan
    guesses = truth = None
    successes = trials = None
    nonfinite_guesses = 0
    held = None
    if inst.decodes:
        rows, cols = inst.decoded_cells()
        guesses = decode_bits(Z[rows, cols], inst.tau)
        truth = inst.truth[rows, cols]
        successes = int(np.sum(guesses == truth))          # NaN never equals a bit
        trials = int(truth.size)
        nonfinite_guesses = int(np.sum(np.isnan(guesses)))
        if transcript.held_keys is not None:
            hk = transcript.held_keys
            tk = inst.K[inst.targets]
            if hk.size == 0:
                held = 0.0
            else:
                held = float(np.mean([np.any(np.all(hk == k, axis=1)) for k in tk]))
    ceiling = (None if inst.info_bits is None
               else float(index_success_ceiling(bits, inst.info_bits)))
    return Score(err_entrywise=ent, err_additive=add, err_l2=l2, guesses=guesses, truth=truth,
                 successes=successes, trials=trials, memory_bits=bits, ceiling=ceiling,
                 nonfinite_answers=int(np.sum(~finite)), nonfinite_guesses=nonfinite_guesses,
                 targets_held=held)
