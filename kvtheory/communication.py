r"""One-way communication: binary entropy and the INDEX bound.

In :math:`\mathrm{INDEX}_N` Alice holds :math:`x\in\{0,1\}^N`, Bob holds
:math:`j\in[N]`, Alice sends one message and Bob must output :math:`x_j`.
With :math:`x,j` uniform, a protocol whose messages have at most :math:`S`
bits errs with probability at least :math:`H_2^{-1}(1-S/N)`
(Kremer, Nisan and Ron 1999; entropy form as in Rao and Yehudayoff 2020).
Equivalently, error :math:`\le p` forces :math:`S\ge(1-H_2(p))N`. The
entropy and the bound itself live on the ground floor,
:mod:`kvtheory.information`; they are re-exported here, so
``kv.communication.H2`` keeps working.

This module, Chapter 2's, plays one-way protocols against that bound:
:func:`simulate_index_protocol` runs three simple protocols (send chosen
bits, send majorities of blocks, send random parities) and measures their
error with a standard error; :func:`index_protocol_error` gives their exact
error; :func:`run_one_way_protocol` plays a protocol a reader writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validate import check_choice, check_int, check_real, check_rng
from .information import (  # noqa: F401  (re-exported: kv.communication.H2 keeps working)
    H2,
    H2_inverse,
    index_bits_needed,
    index_error_floor,
    index_success_ceiling,
)

__all__ = ["H2", "H2_inverse", "index_error_floor", "index_success_ceiling",
           "index_bits_needed", "PROTOCOLS", "ProtocolRun", "majority_block_error",
           "index_protocol_error", "simulate_index_protocol", "run_one_way_protocol"]


# ---------------------------------------------------------------------------
# Simulated one-way protocols for INDEX_N
# ---------------------------------------------------------------------------

#: The built-in one-way protocols of Chapter 2 (see :func:`simulate_index_protocol`).
PROTOCOLS = ("bits", "majority", "parity")

# Trials per chunk are chosen so that one chunk of Alice's inputs holds about
# this many bits (a few MB): memory stays bounded for any ``trials``.
_CHUNK_BITS = 1 << 22


@dataclass(frozen=True)
class ProtocolRun:
    r"""Outcome of a simulated one-way :math:`\mathrm{INDEX}_N` protocol.

    Attributes
    ----------
    protocol : str
        ``"bits"``, ``"majority"``, ``"parity"``, or ``"custom"``.
    N : int
        Alice's number of bits.
    S : int
        Bits of Alice's message.
    block : int or None
        Block size of the majority protocol (``None`` for the others).
    trials : int
        Independent rounds played, each with fresh uniform :math:`x`,
        uniform :math:`j` and fresh private coins.
    errors : int
        Rounds in which Bob's guess differed from :math:`x_j`.
    error : float
        ``errors / trials``.
    stderr : float
        Its standard error :math:`\sqrt{\hat e(1-\hat e)/T}`.
    floor : float
        The bound :math:`H_2^{-1}(\max(0,1-S/N))` no protocol can beat.
    exact : float or None
        The protocol's exact error, averaged over every coin including the
        public ones (``None`` for a custom protocol).
    exact_given_R : float or None
        The exact error given the public randomness actually drawn (equals
        ``exact`` for protocols without public coins).
    """

    protocol: str
    N: int
    S: int
    block: int | None
    trials: int
    errors: int
    error: float
    stderr: float
    floor: float
    exact: float | None
    exact_given_R: float | None

    @property
    def ratio(self) -> float:
        """The message rate :math:`S/N`."""
        return self.S / self.N

    def respects_floor(self, z: float = 4.0) -> bool:
        """Whether ``error >= floor - z * stderr`` (no violation beyond ``z`` standard errors)."""
        z = check_real(z, "z", lo=0)
        return bool(self.error >= self.floor - z * self.stderr - 1e-12)


def majority_block_error(block: int) -> float:
    r"""Error of guessing a fair bit by the majority of its block of ``block`` fair bits.

    For odd :math:`b`, :math:`x_j` disagrees with the majority of its block
    iff at least :math:`(b+1)/2` of the other :math:`b-1` bits disagree with
    it, which has probability
    :math:`\frac12-\binom{b-1}{(b-1)/2}2^{-b}`.

    Parameters
    ----------
    block : int
        Odd block size :math:`b\ge1` (``b = 1`` gives error 0).

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``block`` is not an integer.
    ValueError
        If ``block`` is even or not positive.

    Examples
    --------
    >>> from kvtheory.communication import majority_block_error
    >>> [f"{majority_block_error(b):.4f}" for b in (1, 3, 5)]
    ['0.0000', '0.2500', '0.3125']
    """
    block = _check_block(block)
    m = (block - 1) // 2
    return 0.5 - math.comb(block - 1, m) / 2.0 ** block


def _check_block(block) -> int:
    block = check_int(block, "block", lo=1, hi=10_001)
    if block % 2 == 0:
        raise ValueError(f"block must be odd (majorities of even blocks can tie), got {block}")
    return block


def _check_protocol_args(protocol, N, S, block):
    protocol = check_choice(protocol, "protocol", PROTOCOLS)
    N = check_int(N, "N", lo=1, hi=1_000_000)
    S = check_int(S, "S", lo=0, hi=N)
    if protocol == "majority":
        block = _check_block(block)
        if S * block > N:
            raise ValueError(
                f"S must satisfy S * block <= N for the majority protocol "
                f"(S={S}, block={block}, N={N})")
    else:
        block = None
    return protocol, N, S, block


def _gf2_rank_moment(N: int, S: int) -> float:
    r""":math:`\mathbb E\,[(2^{\mathrm{rank}\,A}-1)/(2^N-1)]`, :math:`A` uniform in
    :math:`\mathbb F_2^{S\times N}`.

    Rows are added one at a time; a new uniform row lies in the span of the
    previous ones (rank ``r``) with probability :math:`2^{r-N}`.
    """
    if S == 0:
        return 0.0
    prob = np.zeros(S + 1)
    prob[0] = 1.0
    stay = 2.0 ** (np.arange(S + 1) - N)                 # P(new row in span | rank r)
    for _ in range(S):
        grow = prob * (1.0 - stay)
        prob = prob * stay
        prob[1:] += grow[:-1]
    ranks = np.arange(S + 1)
    e_pow = float(np.sum(prob * 2.0 ** (ranks - N)))       # E[2^{rank - N}]
    return (e_pow - 2.0 ** -N) / (1.0 - 2.0 ** -N)


def index_protocol_error(protocol: str, N: int, S: int, *, block: int = 3) -> float:
    r"""Exact error of a built-in one-way INDEX protocol, for uniform :math:`x` and :math:`j`.

    * ``"bits"``: Alice sends :math:`x_1..x_S`; Bob answers them exactly and
      flips a fair coin elsewhere: error :math:`\frac12(1-S/N)`.
    * ``"majority"``: Alice sends the majorities of ``S`` disjoint blocks of
      ``block`` bits (``S * block <= N``); Bob answers the majority of
      :math:`j`'s block, a coin outside the blocks. With
      :math:`c=S b/N` covered: error :math:`c\,e_b+\frac12(1-c)`,
      :math:`e_b` from :func:`majority_block_error`.
    * ``"parity"``: Alice sends :math:`Ax \bmod 2` for a public uniform
      :math:`A\in\mathbb F_2^{S\times N}`; Bob recovers :math:`x_j` exactly
      iff :math:`e_j` lies in the row space of :math:`A` and flips a coin
      otherwise. By symmetry :math:`\Pr[e_j\in\mathrm{row}(A)]=
      \mathbb E[(2^{\mathrm{rank}A}-1)/(2^N-1)]`, so the error is
      :math:`\frac12(1-\mathbb E[(2^{\mathrm{rank}A}-1)/(2^N-1)])`,
      within :math:`2^{S-N-1}` of :math:`\frac12`.

    Parameters
    ----------
    protocol : {"bits", "majority", "parity"}
    N : int
        Alice's number of bits, ``1 <= N <= 10**6``.
    S : int
        Message bits, ``0 <= S <= N`` (and ``S * block <= N`` for majority).
    block : int, default 3
        Odd block size; used by ``"majority"`` only.

    Returns
    -------
    float

    Raises
    ------
    TypeError, ValueError
        On a bad argument; the message names it.

    Examples
    --------
    >>> from kvtheory.communication import index_protocol_error
    >>> f"{index_protocol_error('bits', 300, 100):.4f}"
    '0.3333'
    >>> f"{index_protocol_error('majority', 300, 100, block=3):.4f}"
    '0.2500'
    >>> f"{index_protocol_error('parity', 300, 100):.4f}"
    '0.5000'
    """
    protocol, N, S, block = _check_protocol_args(protocol, N, S, block)
    if protocol == "bits":
        return 0.5 * (1.0 - S / N)
    if protocol == "majority":
        covered = S * block / N
        return covered * majority_block_error(block) + 0.5 * (1.0 - covered)
    return 0.5 * (1.0 - _gf2_rank_moment(N, S))


def _random_bits(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Uniform bits as uint8, drawn a byte at a time (eight fair bits per draw)."""
    rows, cols = shape
    raw = rng.integers(0, 256, size=(rows, (cols + 7) // 8), dtype=np.uint8)
    return np.unpackbits(raw, axis=1, count=cols)


def run_one_way_protocol(encode: Callable[[np.ndarray], np.ndarray],
                         decode: Callable[[np.ndarray, np.ndarray, np.random.Generator],
                                          np.ndarray],
                         N: int, S: int, *, trials: int = 10_000, seed=0,
                         name: str = "custom") -> ProtocolRun:
    r"""Play a reader-written one-way :math:`\mathrm{INDEX}_N` protocol and measure its error.

    Each round draws a uniform :math:`x\in\{0,1\}^N` and a uniform
    :math:`j`. Alice's ``encode`` sees only :math:`x`; Bob's ``decode`` sees
    only the message, :math:`j` and his own generator. Public randomness is
    whatever the two callables share (e.g. a matrix both close over). The
    message must be exactly ``S`` bits, so the count is honest.

    Parameters
    ----------
    encode : callable
        ``encode(x) -> m`` with ``x`` a ``(T, N)`` uint8 array of bits and
        ``m`` a ``(T, S)`` array of 0/1 entries (one message per row).
    decode : callable
        ``decode(m, j, rng) -> guess`` with ``j`` an int array of shape
        ``(T,)`` (0-based indices) and ``guess`` of shape ``(T,)`` in {0, 1}.
    N, S : int
        Input length (``1..10**6``) and message length (``0..N``).
    trials : int, default 10000
        Rounds to play (``1..10**7``); processed in chunks of bounded memory.
    seed : int or numpy.random.Generator
        Source of :math:`x`, :math:`j` and Bob's private coins.
    name : str
        Label stored in the result.

    Returns
    -------
    ProtocolRun
        With ``exact`` and ``exact_given_R`` set to ``None``.

    Raises
    ------
    TypeError
        If ``encode``/``decode`` are not callable or an argument has the wrong type.
    ValueError
        If a message or guess has the wrong shape or entries outside {0, 1}.

    Examples
    --------
    Alice sends the first ``S`` bits, Bob guesses 0 when he has nothing:

    >>> import numpy as np
    >>> from kvtheory.communication import run_one_way_protocol
    >>> S = 25
    >>> enc = lambda x: x[:, :S]
    >>> def dec(m, j, rng):
    ...     out = np.zeros(len(j), dtype=np.uint8)
    ...     known = j < S
    ...     out[known] = m[known, j[known]]
    ...     return out
    >>> run = run_one_way_protocol(enc, dec, N=100, S=S, trials=4000, seed=1)
    >>> abs(run.error - 0.375) < 4 * run.stderr, run.respects_floor()
    (True, True)
    """
    if not callable(encode):
        raise TypeError(f"encode must be callable, got {type(encode).__name__}")
    if not callable(decode):
        raise TypeError(f"decode must be callable, got {type(decode).__name__}")
    N = check_int(N, "N", lo=1, hi=1_000_000)
    S = check_int(S, "S", lo=0, hi=N)
    trials = check_int(trials, "trials", lo=1, hi=10_000_000)
    rng = check_rng(seed)
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    return _play(encode, decode, N, S, trials, rng, name, None, None, None)


def _play(encode, decode, N, S, trials, rng, name, block, exact, exact_given_R):
    chunk = max(1, min(trials, _CHUNK_BITS // N))
    errors = 0
    done = 0
    while done < trials:
        T = min(chunk, trials - done)
        x = _random_bits(rng, (T, N))
        j = rng.integers(0, N, size=T)
        m = np.asarray(encode(x))
        if m.shape != (T, S):
            raise ValueError(f"encode must return a message of shape ({T}, {S}), got {m.shape}")
        if m.size and not np.all((m == 0) | (m == 1)):
            raise ValueError("encode must return a message of 0/1 entries")
        m = m.astype(np.uint8, copy=False)
        guess = np.asarray(decode(m, j, rng))
        if guess.shape != (T,):
            raise ValueError(f"decode must return guesses of shape ({T},), got {guess.shape}")
        if not np.all((guess == 0) | (guess == 1)):
            raise ValueError("decode must return guesses in {0, 1}")
        errors += int(np.count_nonzero(guess != x[np.arange(T), j]))
        done += T
    err = errors / trials
    return ProtocolRun(protocol=name, N=N, S=S, block=block, trials=trials, errors=errors,
                       error=err, stderr=math.sqrt(err * (1.0 - err) / trials),
                       floor=float(index_error_floor(S, N)), exact=exact,
                       exact_given_R=exact_given_R)


def _gf2_row_decoders(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""For :math:`A\in\mathbb F_2^{S\times N}`: which :math:`e_j` lie in the row space, and how.

    Returns ``(decodable, Y)``: ``decodable[j]`` is True iff some
    :math:`y` has :math:`y^\top A=e_j^\top`, and then ``Y[j]`` is such a
    :math:`y` (so :math:`x_j=\langle y, Ax\rangle \bmod 2`). Gauss-Jordan
    elimination of :math:`[A\mid I_S]` over :math:`\mathbb F_2` on 64-bit
    packed rows: in reduced row echelon form, :math:`e_j` is in the row
    space iff some reduced row equals :math:`e_j`.
    """
    S, N = A.shape
    Y = np.zeros((N, S), dtype=np.uint8)
    decodable = np.zeros(N, dtype=bool)
    if S == 0:
        return decodable, Y
    L = N + S
    W = (L + 63) // 64
    bits = np.zeros((S, W * 64), dtype=np.uint64)
    bits[:, :N] = A
    bits[np.arange(S), N + np.arange(S)] = 1
    shifts = np.arange(64, dtype=np.uint64)
    G = (bits.reshape(S, W, 64) << shifts).sum(axis=2, dtype=np.uint64)   # packed rows
    pivots = []
    r = 0
    for c in range(N):
        if r == S:
            break
        col = (G[:, c // 64] >> np.uint64(c % 64)) & np.uint64(1)
        below = np.flatnonzero(col[r:])
        if below.size == 0:
            continue
        p = r + int(below[0])
        if p != r:
            G[[r, p]] = G[[p, r]]
            col[[r, p]] = col[[p, r]]
        hit = col.astype(bool)
        hit[r] = False
        G[hit] ^= G[r]
        pivots.append(c)
        r += 1
    dense = ((G[:, :, None] >> shifts) & np.uint64(1)).reshape(S, W * 64)[:, :L]
    dense = dense.astype(np.uint8)
    for row, c in enumerate(pivots):
        if int(dense[row, :N].sum()) == 1:             # the reduced row is e_c
            decodable[c] = True
            Y[c] = dense[row, N:]
    return decodable, Y


def simulate_index_protocol(protocol: str, N: int, S: int, *, block: int = 3,
                            trials: int = 10_000, seed=0) -> ProtocolRun:
    r"""Simulate a built-in one-way :math:`\mathrm{INDEX}_N` protocol and measure its error.

    The three protocols are described in :func:`index_protocol_error`, which
    gives their exact errors. Every round draws a fresh uniform :math:`x`, a
    uniform :math:`j` and Bob's private coins; Alice computes her whole
    ``S``-bit message from :math:`x` and Bob decodes from the message alone.
    For ``"parity"`` the public matrix :math:`A` is drawn once per call from
    the same generator (the protocol given :math:`R=A` is deterministic, and
    the bound holds for each :math:`R`); Bob's decoder is optimal for it.
    The work is vectorised over rounds, in chunks of bounded memory.

    Parameters
    ----------
    protocol : {"bits", "majority", "parity"}
    N : int
        Alice's number of bits, ``1 <= N <= 10**6`` (``N <= 4096`` for parity).
    S : int
        Message bits, ``0 <= S <= N`` (``S * block <= N`` for majority).
    block : int, default 3
        Odd block size; used by ``"majority"`` only.
    trials : int, default 10000
        Rounds to play, ``1 <= trials <= 10**7``.
    seed : int or numpy.random.Generator
        Source of every random draw.

    Returns
    -------
    ProtocolRun
        Measured ``error`` with ``stderr``, the ``floor``
        :math:`H_2^{-1}(1-S/N)`, and the exact error.

    Raises
    ------
    TypeError, ValueError
        On a bad argument; the message names it.

    References
    ----------
    .. [1] I. Kremer, N. Nisan and D. Ron, "On randomized one-round
       communication complexity", Computational Complexity 8 (1999).

    Examples
    --------
    >>> from kvtheory.communication import simulate_index_protocol
    >>> run = simulate_index_protocol("majority", N=300, S=100, block=3, trials=20000, seed=0)
    >>> f"error {run.error:.3f} +- {run.stderr:.3f}, exact {run.exact:.3f}, floor {run.floor:.3f}"
    'error 0.248 +- 0.003, exact 0.250, floor 0.174'
    >>> run.respects_floor()
    True
    """
    protocol, N, S, block = _check_protocol_args(protocol, N, S, block)
    trials = check_int(trials, "trials", lo=1, hi=10_000_000)
    rng = check_rng(seed)
    exact = index_protocol_error(protocol, N, S, block=block or 1)

    def coins(T):
        return rng.integers(0, 2, size=T, dtype=np.uint8)

    if protocol == "bits":
        def encode(x):
            return x[:, :S]

        def decode(m, j, _rng):
            out = coins(len(j))
            known = j < S
            out[known] = m[known, j[known]]
            return out
        given_R = exact
    elif protocol == "majority":
        covered = S * block

        def encode(x):
            blocks = x[:, :covered].reshape(len(x), S, block)
            return (blocks.sum(axis=2, dtype=np.int64) > block // 2).astype(np.uint8)

        def decode(m, j, _rng):
            out = coins(len(j))
            known = j < covered
            out[known] = m[known, j[known] // block]
            return out
        given_R = exact
    else:
        if N > 4096:
            raise ValueError(f"N must be <= 4096 for the parity protocol, got {N}")
        A = _random_bits(rng, (S, N))                        # public coins R
        decodable, Y = _gf2_row_decoders(A)
        A32 = A.astype(np.float32).T                         # sums stay below 2**24: exact

        def encode(x):
            return (np.rint(x.astype(np.float32) @ A32).astype(np.int64) & 1).astype(np.uint8)

        def decode(m, j, _rng):
            out = coins(len(j))
            known = decodable[j]
            if np.any(known):
                ys = Y[j[known]].astype(np.int64)
                out[known] = (np.sum(ys * m[known], axis=1) & 1).astype(np.uint8)
            return out
        given_R = 0.5 * (1.0 - decodable.mean())
    return _play(encode, decode, N, S, trials, rng, protocol, block, exact, float(given_R))
