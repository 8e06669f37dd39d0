r"""Experiments of Chapter 2: one-way INDEX protocols held against :math:`H_2^{-1}(1-S/N)`."""

from __future__ import annotations

import numpy as np

from .._validate import as_real_array, check_choice, check_int, check_real, check_rng
from ..communication import (
    H2,
    PROTOCOLS,
    H2_inverse,
    ProtocolRun,
    majority_block_error,
    simulate_index_protocol,
)

__all__ = ["entropy_constants", "protocol_sweep", "protocol_curve", "floor_summary"]


def entropy_constants(ps=(0.05, 0.1, 0.2, 0.25, 1 / 3)) -> list[dict]:
    r"""The constants of the INDEX bound at a few error levels.

    For each :math:`p` the row holds :math:`H_2(p)` and the rate
    :math:`1-H_2(p)` a protocol with error :math:`p` must send (bits of
    message per bit of input).

    Parameters
    ----------
    ps : array_like
        Error levels in :math:`[0,\frac12]`.

    Returns
    -------
    list of dict
        Keys ``p``, ``H2``, ``rate``.

    Raises
    ------
    ValueError
        If an entry lies outside :math:`[0,\frac12]`, is NaN, or ``ps`` is not 1-D.

    Examples
    --------
    >>> from kvtheory.experiments.communication import entropy_constants
    >>> [f"{r['rate']:.3f}" for r in entropy_constants((0.1, 0.2, 0.25))]
    ['0.531', '0.278', '0.189']
    """
    arr = as_real_array(ps, "ps", ndim=1)
    if np.any((arr < 0) | (arr > 0.5)):
        raise ValueError("ps must lie in [0, 1/2]")
    h = np.atleast_1d(H2(arr))
    return [{"p": float(p), "H2": float(v), "rate": float(1 - v)}
            for p, v in zip(arr, h, strict=True)]


def protocol_sweep(N: int = 315, *, steps: int = 15, blocks=(3, 5, 7, 9),
                   near_full: int = 3, trials: int = 10_000, seed=0) -> list[ProtocolRun]:
    r"""Run the three protocols of Chapter 2 across message rates :math:`S/N`.

    * ``"bits"`` and ``"parity"`` at :math:`S=\mathrm{round}(kN/\text{steps})`,
      :math:`k=0..\text{steps}`; parity also at :math:`S=N-1,\dots,N-\text{near\_full}`,
      where a random hash starts to decode.
    * ``"majority"`` at full coverage :math:`S=\lfloor N/b\rfloor` for every
      block size :math:`b` in ``blocks``.

    One generator, seeded once, feeds every run in this order, so the sweep
    is reproducible.

    Parameters
    ----------
    N : int, default 315
        Input length, ``2 <= N <= 4096`` (315 is divisible by 3, 5, 7, 9 and 15).
    steps : int, default 15
        Number of equal steps of :math:`S/N` in ``(0, 1]`` (``1..200``).
    blocks : sequence of int
        Odd block sizes of the majority protocol, each ``<= N``.
    near_full : int, default 3
        Extra parity points just below :math:`S=N` (``0..N-1``).
    trials : int, default 10000
        Rounds per point, ``1..10**6``.
    seed : int or numpy.random.Generator

    Returns
    -------
    list of ProtocolRun

    Raises
    ------
    TypeError, ValueError
        On a bad argument; the message names it.

    Examples
    --------
    >>> from kvtheory.experiments.communication import protocol_sweep
    >>> runs = protocol_sweep(N=60, steps=3, blocks=(3,), near_full=1, trials=2000, seed=0)
    >>> [(r.protocol, r.S) for r in runs]  # doctest: +NORMALIZE_WHITESPACE
    [('bits', 0), ('bits', 20), ('bits', 40), ('bits', 60), ('majority', 20),
     ('parity', 0), ('parity', 20), ('parity', 40), ('parity', 60), ('parity', 59)]
    >>> all(r.respects_floor(4) for r in runs)
    True
    """
    N = check_int(N, "N", lo=2, hi=4096)
    steps = check_int(steps, "steps", lo=1, hi=200)
    near_full = check_int(near_full, "near_full", lo=0, hi=N - 1)
    trials = check_int(trials, "trials", lo=1, hi=1_000_000)
    if isinstance(blocks, (str, bytes)) or not hasattr(blocks, "__iter__"):
        raise TypeError("blocks must be a sequence of odd integers")
    blocks = [check_int(b, "blocks", lo=1, hi=N) for b in blocks]
    for b in blocks:
        majority_block_error(b)                                  # validates oddness
    rng = check_rng(seed)
    grid = sorted({int(round(k * N / steps)) for k in range(steps + 1)})
    runs = [simulate_index_protocol("bits", N, S, trials=trials, seed=rng) for S in grid]
    runs += [simulate_index_protocol("majority", N, N // b, block=b, trials=trials, seed=rng)
             for b in blocks]
    extra = [N - k for k in range(1, near_full + 1) if N - k not in grid]
    runs += [simulate_index_protocol("parity", N, S, trials=trials, seed=rng)
             for S in grid + extra]
    return runs


def protocol_curve(protocol: str, N: int, *, block: int = 3, points: int = 12,
                   trials: int = 2000, seed=0) -> list[ProtocolRun]:
    r"""One protocol at about ``points`` message lengths, from 0 to its largest.

    The largest message is :math:`N` for ``"bits"`` and ``"parity"`` and
    :math:`\lfloor N/b\rfloor` blocks for ``"majority"``. Used by the
    chapter's widget; every argument is bounded so a call stays fast.

    Parameters
    ----------
    protocol : {"bits", "majority", "parity"}
    N : int
        Input length, ``2 <= N <= 1000``.
    block : int, default 3
        Odd block size for ``"majority"``.
    points : int, default 12
        Number of message lengths, ``2..40``.
    trials : int, default 2000
        Rounds per point, ``1..20000``.
    seed : int or numpy.random.Generator

    Returns
    -------
    list of ProtocolRun
        Sorted by ``S`` (duplicates removed).

    Raises
    ------
    TypeError, ValueError
        On a bad argument; the message names it.

    Examples
    --------
    >>> from kvtheory.experiments.communication import protocol_curve
    >>> [r.S for r in protocol_curve("majority", 30, block=5, points=4, trials=100)]
    [0, 2, 4, 6]
    """
    protocol = check_choice(protocol, "protocol", PROTOCOLS)
    N = check_int(N, "N", lo=2, hi=1000)
    points = check_int(points, "points", lo=2, hi=40)
    trials = check_int(trials, "trials", lo=1, hi=20_000)
    if protocol == "majority":
        majority_block_error(block)                               # validates block
        block = check_int(block, "block", lo=1, hi=N)
        top = N // block
    else:
        top = N
    rng = check_rng(seed)
    grid = sorted({int(round(k * top / (points - 1))) for k in range(points)})
    return [simulate_index_protocol(protocol, N, S, block=block, trials=trials, seed=rng)
            for S in grid]


def floor_summary(runs, *, z: float = 4.0) -> dict:
    r"""How the measured errors of ``runs`` sit against the INDEX floor.

    Parameters
    ----------
    runs : sequence of ProtocolRun
    z : float, default 4
        Number of standard errors allowed below the floor.

    Returns
    -------
    dict
        ``points``; ``respecting`` (runs with ``error >= floor - z*stderr``);
        ``min_gap`` (smallest ``error - floor``) and ``worst`` (the run
        attaining it).

    Raises
    ------
    TypeError
        If an element is not a ``ProtocolRun``.
    ValueError
        If ``runs`` is empty or ``z < 0``.

    Examples
    --------
    >>> from kvtheory.communication import simulate_index_protocol
    >>> from kvtheory.experiments.communication import floor_summary
    >>> s = floor_summary([simulate_index_protocol("bits", 50, 10, trials=500, seed=0)])
    >>> s["points"], s["respecting"]
    (1, 1)
    """
    z = check_real(z, "z", lo=0)
    runs = list(runs)
    if not runs:
        raise ValueError("runs must not be empty")
    for r in runs:
        if not isinstance(r, ProtocolRun):
            raise TypeError(f"runs must hold ProtocolRun records, got {type(r).__name__}")
    gaps = [r.error - r.floor for r in runs]
    k = int(np.argmin(gaps))
    return {"points": len(runs), "respecting": sum(r.respects_floor(z) for r in runs),
            "min_gap": float(gaps[k]), "worst": runs[k]}


def _floor_curve(num: int = 401) -> tuple[np.ndarray, np.ndarray]:
    """The floor :math:`H_2^{-1}(1-s)` on a grid of ``num`` rates ``s`` in [0, 1]."""
    s = np.linspace(0.0, 1.0, check_int(num, "num", lo=2, hi=100_000))
    return s, np.asarray(H2_inverse(1.0 - s))
