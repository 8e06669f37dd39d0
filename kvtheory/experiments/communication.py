r"""Experiments of Chapter 2: one-way INDEX protocols held against :math:`H_2^{-1}(1-S/N)`."""

from __future__ import annotations

import numpy as np

from .._validate import as_real_array, check_choice, check_int, check_real, check_rng
from ..communication import (
    PROTOCOLS,
    ProtocolRun,
    index_protocol_error,
    majority_block_error,
    simulate_index_protocol,
)
from ..information import H2, H2_inverse

__all__ = ["entropy_constants", "protocol_sweep", "protocol_curve", "floor_summary",
           "floor_curve", "exact_error_lines", "worked_protocol"]


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
    runs = _check_runs(runs)
    gaps = [r.error - r.floor for r in runs]
    k = int(np.argmin(gaps))
    return {"points": len(runs), "respecting": sum(r.respects_floor(z) for r in runs),
            "min_gap": float(gaps[k]), "worst": runs[k]}


def _check_runs(runs) -> list[ProtocolRun]:
    runs = list(runs)
    if not runs:
        raise ValueError("runs must not be empty")
    for r in runs:
        if not isinstance(r, ProtocolRun):
            raise TypeError(f"runs must hold ProtocolRun records, got {type(r).__name__}")
    return runs


def floor_curve(num: int = 401) -> dict:
    r"""The INDEX floor :math:`H_2^{-1}(1-s)` on a grid of message rates :math:`s\in[0,1]`.

    Parameters
    ----------
    num : int, default 401
        Number of grid points, ``2 <= num <= 100000``.

    Returns
    -------
    dict
        ``rate`` (the grid :math:`s=S/N`) and ``floor`` (the least error any
        one-way protocol sending :math:`S` bits can have).

    Raises
    ------
    TypeError, ValueError
        If ``num`` is not an integer in range.

    Examples
    --------
    >>> from kvtheory.experiments.communication import floor_curve
    >>> c = floor_curve(3)
    >>> [f"{v:.3f}" for v in c["floor"]]
    ['0.500', '0.110', '0.000']
    """
    s = np.linspace(0.0, 1.0, check_int(num, "num", lo=2, hi=100_000))
    return {"rate": s, "floor": np.asarray(H2_inverse(1.0 - s), dtype=float)}


def exact_error_lines(runs, *, points: int = 200) -> list[dict]:
    r"""The exact error of each protocol in ``runs``, as lines to draw beside them.

    The runs are grouped by ``(protocol, block)``; custom protocols have no
    exact error and are skipped. Each group's line runs over about ``points``
    message lengths from :math:`S=0` to the group's largest :math:`S` (for
    parity also every length in the last 8 below it, where the error drops),
    with the exact error averaged over all coins
    (:func:`kvtheory.communication.index_protocol_error`). For the majority
    protocol the error is linear in :math:`S`, so its line is the segment from
    :math:`(0,\frac12)` to the run at full coverage.

    Parameters
    ----------
    runs : sequence of ProtocolRun
    points : int, default 200
        Largest number of grid points per line before the parity tail,
        ``2..2000``.

    Returns
    -------
    list of dict
        One per group: ``protocol``, ``block``, ``N``, ``S`` (int array),
        ``rate`` (``S / N``) and ``error``.

    Raises
    ------
    TypeError
        If an element is not a ``ProtocolRun``.
    ValueError
        If ``runs`` is empty or ``points`` is out of range.

    Examples
    --------
    >>> from kvtheory.communication import simulate_index_protocol
    >>> from kvtheory.experiments.communication import exact_error_lines
    >>> run = simulate_index_protocol("bits", 20, 10, trials=100, seed=0)
    >>> line = exact_error_lines([run], points=3)[0]
    >>> line["S"].tolist(), [f"{e:.2f}" for e in line["error"]]
    ([0, 5, 10], ['0.50', '0.38', '0.25'])
    """
    runs = _check_runs(runs)
    points = check_int(points, "points", lo=2, hi=2000)
    groups: dict[tuple, list[ProtocolRun]] = {}
    for r in runs:
        if r.protocol != "custom":
            groups.setdefault((r.protocol, r.block, r.N), []).append(r)
    lines = []
    for (protocol, block, N), sel in groups.items():
        top = max(r.S for r in sel)
        S = np.unique(np.linspace(0, top, min(points, top + 1)).round().astype(int))
        if protocol == "parity":
            S = np.unique(np.concatenate([S, np.arange(max(0, top - 8), top + 1)]))
        err = np.array([index_protocol_error(protocol, N, int(k), block=block or 1) for k in S])
        lines.append({"protocol": protocol, "block": block, "N": N, "S": S, "rate": S / N,
                      "error": err})
    return lines


def _entropy_bits(counts) -> float:
    """Entropy in bits of the distribution proportional to ``counts``."""
    c = np.asarray(counts, dtype=float)
    c = c[c > 0] / c.sum()
    return float(-(c * np.log2(c)).sum())


def worked_protocol(protocol: str = "bits", N: int = 8, S: int = 4, *, block: int = 3) -> dict:
    r"""Every quantity of the INDEX bound's proof, computed exactly on a tiny protocol.

    Enumerates all :math:`2^N` strings :math:`x` for one of the book's
    deterministic protocols of Chapter 2 ("bits": Alice sends
    :math:`x_1,\dots,x_S`; "majority": the majority bit of each of :math:`S`
    blocks of ``block`` coordinates) and returns the exact values of the
    chain the proof of the one-way INDEX bound runs through:
    :math:`S\ge H(M)=I(X;M)=N-H(X\mid M)\ge N-\sum_jH(X_j\mid M)\ge
    N-\sum_jH_2(p_j)\ge(1-H_2(\bar p))N`. Bob answers from the message where
    it determines his guess and flips a fair coin otherwise.

    Parameters
    ----------
    protocol : {"bits", "majority"}
    N : int
        Length of Alice's string, 1 to 12 (the enumeration has :math:`2^N` rows).
    S : int
        Bits of the message, ``0 <= S <= N`` (for "majority", ``S * block <= N``).
    block : int
        Odd block size of the majority protocol.

    Returns
    -------
    dict
        ``protocol``, ``N``, ``S``, ``block``; ``p_j`` (Bob's exact error at each
        index, shape ``(N,)``), ``error`` (their mean :math:`\bar p`);
        ``H_M`` (:math:`=I(X;M)`, the protocols being deterministic),
        ``H_X_given_M``, ``sum_H_Xj_given_M``, ``sum_H2_pj``, ``H2_pbar`` and
        ``bound`` :math:`(1-H_2(\bar p))N`; ``chain``: the five numbers
        :math:`S`, :math:`N-H(X\mid M)`, :math:`N-\sum_jH(X_j\mid M)`,
        :math:`N-\sum_jH_2(p_j)`, :math:`(1-H_2(\bar p))N`, non-increasing.

    Raises
    ------
    TypeError, ValueError
        On a bad protocol name or sizes; the message names the argument.

    Examples
    --------
    >>> from kvtheory.experiments.communication import worked_protocol
    >>> r = worked_protocol("bits", 8, 4)
    >>> [f"{c:.3f}" for c in r["chain"]]
    ['4.000', '4.000', '4.000', '4.000', '1.510']
    """
    check_choice(protocol, "protocol", {"bits", "majority"})
    N = check_int(N, "N", lo=1, hi=12)
    S = check_int(S, "S", lo=0, hi=N)
    block = check_int(block, "block", lo=1)
    if protocol == "majority":
        if block % 2 == 0:
            raise ValueError(f"block must be odd, got {block}")
        if S * block > N:
            raise ValueError(f"majority needs S * block <= N, got S = {S}, block = {block}, "
                             f"N = {N}")
    X = ((np.arange(2 ** N)[:, None] >> np.arange(N)[None, :]) & 1).astype(np.int64)
    if protocol == "bits":
        M = X[:, :S]
        owner = np.where(np.arange(N) < S, np.arange(N), -1)    # message bit Bob copies
    else:
        M = (X[:, :S * block].reshape(-1, S, block).sum(axis=2) > block // 2).astype(np.int64)
        owner = np.where(np.arange(N) < S * block, np.arange(N) // block, -1)
    # Bob's probability of answering 1 at each index, given the message
    if S == 0:
        g = np.full(X.shape, 0.5)
    else:
        g = np.where(owner[None, :] >= 0, M[:, np.maximum(owner, 0)], 0.5)
    p_j = np.mean(np.where(X == 1, 1.0 - g, g), axis=0)
    m_code = (M * (1 << np.arange(M.shape[1]))).sum(axis=1) if S else np.zeros(len(X), int)
    H_M = _entropy_bits(np.bincount(m_code))
    # H(X | M) = H(X) - H(M) for a deterministic message; H(X_j | M) from the joint law
    H_X_given_M = N - H_M
    sum_cond = 0.0
    for j in range(N):
        joint = np.bincount(2 * m_code + X[:, j])
        sum_cond += _entropy_bits(joint) - H_M
    sum_h2 = float(sum(H2(float(p)) for p in p_j))
    pbar = float(p_j.mean())
    h2bar = float(H2(pbar))
    chain = [float(S), N - H_X_given_M, N - sum_cond, N - sum_h2, (1 - h2bar) * N]
    return {"protocol": protocol, "N": N, "S": S, "block": block, "p_j": p_j, "error": pbar,
            "H_M": H_M, "H_X_given_M": H_X_given_M, "sum_H_Xj_given_M": sum_cond,
            "sum_H2_pj": sum_h2, "H2_pbar": h2bar, "bound": (1 - h2bar) * N, "chain": chain}
