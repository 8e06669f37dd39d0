r"""The cache readers of Chapter 8.

Non-adaptive readers (:class:`UniformCells`, :class:`RowSampling`,
:class:`ColumnSampling`, :class:`PrefixCells`, :class:`HedgedReader`,
:class:`PointerRows`, :class:`SummaryReader`) choose their cells from
``(n, d, T, trials, rng)`` only: they never receive the oracle before the set
is fixed. Adaptive readers (:class:`AdaptiveScan`, :class:`KeyMaxScan`,
:class:`ArgmaxPointer`, :class:`LSHBucketSearch`) query in rounds.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .._validate import check_choice, check_int, check_real
from .oracle import CellOracle
from .run import Reader, _empty, _merge_view, decode_view

__all__ = ["UniformCells", "RowSampling", "ColumnSampling", "PrefixCells", "HedgedReader",
           "PointerRows", "SummaryReader", "AdaptiveScan", "KeyMaxScan", "ArgmaxPointer",
           "LSHBucketSearch", "NONADAPTIVE_READERS", "ADAPTIVE_READERS", "make_reader"]


class _NonAdaptive(Reader):
    """A reader whose cells are a function of ``(n, d, T, trials, rng)`` only.

    Subclasses implement :meth:`cells`; it never sees the oracle, so the set
    cannot depend on any content. :func:`~kvtheory.cellprobe.run_reader`
    submits the set in one batch and turns the view into outputs with
    :meth:`~kvtheory.cellprobe.Reader.decode` (by default
    :func:`~kvtheory.cellprobe.decode_view`).
    """

    def cells(self, problem: str, n: int, d: int, T: int, trials: int,
              rng: np.random.Generator) -> dict:
        """The request ``region -> (trials, m)`` flat cells, at most ``T`` per trial."""
        raise NotImplementedError


def _virtual_to_regions(problem, virtual, d):
    """Map virtual cells to K/V requests.

    (a): virtual cells are the value cells, row-major. (b): row ``t`` of the
    virtual layout is ``K[t]`` followed by ``V[t]`` (length ``2d``).
    """
    if problem == "value":
        return {"V": virtual}
    t, r = np.divmod(virtual, 2 * d)
    is_v = r >= d
    flat = t * d + np.where(is_v, r - d, r)
    return {"K": (flat, ~is_v), "V": (flat, is_v)}


def _n_virtual(problem, n, d):
    return n * d if problem == "value" else 2 * n * d


class UniformCells(_NonAdaptive):
    """``T`` distinct cells uniformly at random (of ``V`` for (a), of ``K`` and ``V`` for (b))."""

    name = "uniform cells"

    def cells(self, problem, n, d, T, trials, rng):
        N = _n_virtual(problem, n, d)
        T = min(T, N)
        if T == 0:
            return _virtual_to_regions(problem, np.zeros((trials, 0), dtype=np.int64), d)
        if T == N:
            virtual = np.broadcast_to(np.arange(N), (trials, N))
        else:              # the T smallest of N uniform keys: a uniform T-subset
            virtual = np.argpartition(rng.random((trials, N)), T - 1, axis=1)[:, :T]
        return _virtual_to_regions(problem, virtual.astype(np.int64), d)


class RowSampling(_NonAdaptive):
    """Whole token rows in a random order (``V`` rows for (a), ``K`` and ``V`` rows for (b)).

    Takes the first ``T`` cells of the rows in a uniformly random order, so
    the last row may be partial.
    """

    name = "row sampling"

    def cells(self, problem, n, d, T, trials, rng):
        width = d if problem == "value" else 2 * d
        T = min(T, n * width)
        k = -(-T // width)
        order = np.argsort(rng.random((trials, n)), axis=1)[:, :k]
        virtual = (order[:, :, None] * width + np.arange(width)).reshape(trials, -1)[:, :T]
        return _virtual_to_regions(problem, virtual, d)


class ColumnSampling(_NonAdaptive):
    """Whole coordinate columns in a random order (``d`` of ``V``, or ``2d`` of ``K, V``)."""

    name = "column sampling"

    def cells(self, problem, n, d, T, trials, rng):
        width = d if problem == "value" else 2 * d
        T = min(T, n * width)
        k = -(-T // n)
        order = np.argsort(rng.random((trials, width)), axis=1)[:, :k]
        virtual = (np.arange(n)[None, None, :] * width + order[:, :, None]).reshape(trials, -1)
        return _virtual_to_regions(problem, virtual[:, :T], d)


class PrefixCells(_NonAdaptive):
    """The first ``T`` cells in row-major order: deterministic, the same in every trial."""

    name = "prefix (deterministic)"

    def cells(self, problem, n, d, T, trials, rng):
        T = min(T, _n_virtual(problem, n, d))
        virtual = np.broadcast_to(np.arange(T, dtype=np.int64), (trials, T))
        return _virtual_to_regions(problem, virtual, d)


class HedgedReader(_NonAdaptive):
    r"""Reads every value cell with probability ``p``, else nothing and hedges: problem (a).

    The reader that attains the worst-case ceiling of part (a) of the
    time-barrier theorem (:func:`~kvtheory.cellprobe.worst_case_bound`). With
    probability ``p`` it reads all :math:`nd` value cells and answers
    exactly; otherwise it reads nothing and outputs :math:`e_{l'}/(n+1)` for
    a uniform column :math:`l'` with probability :math:`d/(d+1)`, and 0
    otherwise. Its success is :math:`p+\tfrac{1-p}{d+1}` on the all-zero
    input and on every planted input alike, with :math:`\mathbb E|S|=p\,nd`.
    The budget must allow all :math:`nd` cells.

    Parameters
    ----------
    p : float, default 0.5
        Probability of reading everything, in ``[0, 1]``.

    Examples
    --------
    >>> from kvtheory.cellprobe import HedgedReader, sample_planted_value, run_reader
    >>> b = sample_planted_value(8, 4, trials=4000, seed=0, planted=False)
    >>> run = run_reader(HedgedReader(0.5), b, budget=32)
    >>> f"{run.rate:.2f} vs {0.5 + 0.5 / 5:.2f}, mean cells {run.cost.mean() / 32:.2f} nd"
    '0.61 vs 0.60, mean cells 0.51 nd'
    """

    name = "hedged (all or nothing)"

    def __init__(self, p: float = 0.5):
        self.p = check_real(p, "p", lo=0, hi=1)

    def __repr__(self) -> str:
        return f"HedgedReader(p={self.p})"

    def cells(self, problem, n, d, T, trials, rng):
        if problem != "value":
            raise ValueError("HedgedReader is a reader for problem 'value'")
        if T < n * d:
            raise ValueError(f"HedgedReader needs a budget of n * d = {n * d} cells, got {T}")
        read_all = rng.random(trials) < self.p
        flat = np.broadcast_to(np.arange(n * d, dtype=np.int64), (trials, n * d))
        mask = np.broadcast_to(read_all[:, None], (trials, n * d))
        return {"V": (flat, mask)}

    def decode(self, problem, n, d, view, *, gamma, rng):
        out = decode_view(problem, n, d, view, gamma=gamma, seed=rng)
        blind = ~view["V"][2].any(axis=1)
        guess = blind & (rng.random(blind.shape[0]) < d / (d + 1.0))
        cols = rng.integers(0, d, size=blind.shape[0])
        rows = np.nonzero(guess)[0]
        out[rows, cols[rows]] = 1.0 / (n + 1)
        return out


class PointerRows(_NonAdaptive):
    r"""Non-adaptive, but with an argmax pointer (Chapter 8's remark on structures over the keys).

    Reads the insertion-time ``argmax`` pointer (1 cell) *and*, in the same
    batch, ``(T-1)//d`` whole value rows chosen at random. Its output may use
    :math:`t^*` (read from the pointer), but its cell set may not, so it hits
    the planted row with probability about :math:`T/(nd)` only. Problem (b).
    """

    name = "pointer + rows (non-adaptive)"
    structures = ("argmax",)

    def cells(self, problem, n, d, T, trials, rng):
        if problem != "key":
            raise ValueError("PointerRows is a reader for problem 'key'")
        if T == 0:
            return {"V": np.zeros((trials, 0), dtype=np.int64)}
        k = min(n, (T - 1) // d)
        order = np.argsort(rng.random((trials, n)), axis=1)[:, :k]
        flat = (order[:, :, None] * d + np.arange(d)).reshape(trials, -1)
        return {"argmax": np.zeros((trials, 1), dtype=np.int64), "V": flat}


class SummaryReader(_NonAdaptive):
    r"""Reads an insertion-time summary: why the cache-reader model forbids them.

    (a): the running sum :math:`\sum_t v_t` (``d`` cells); since all keys are
    zero, attention is its mean. (b): the value row of the largest key
    (``d`` cells). Fixed cells, one batch, success 1: a non-adaptive reader
    with such summaries escapes the theorem.
    """

    name = "insertion-time summary"
    structures = ("summary",)

    def cells(self, problem, n, d, T, trials, rng):
        m = min(T, d)
        region = "value_sum" if problem == "value" else "heavy_value_row"
        return {region: np.broadcast_to(np.arange(m), (trials, m))}


class _Adaptive(Reader):
    adaptive = True

    def run(self, oracle: CellOracle, problem: str, n: int, d: int, gamma: float,
            rng: np.random.Generator) -> np.ndarray:
        """Read in rounds from ``oracle`` and return ``(trials, d)`` outputs."""
        raise NotImplementedError


def _read_value_row(oracle, view, t_hat, d):
    """Round: read as much of row ``t_hat`` of V as each trial's budget allows."""
    B = oracle.trials
    valid = t_hat >= 0
    take = np.where(valid, np.minimum(d, oracle.remaining), 0)
    flat = np.clip(t_hat, 0, None)[:, None] * d + np.arange(d)
    mask = np.arange(d)[None, :] < take[:, None]
    if mask.any():
        vals = oracle.read("V", flat, mask)
        _merge_view(view, "V", flat, vals, mask)
    elif "V" not in view:
        view["V"] = _empty(B)


class ArgmaxPointer(_Adaptive):
    """Adaptive, with an insertion-time argmax pointer: read it, then that value row (``d+1``)."""

    name = "argmax pointer (adaptive)"
    structures = ("argmax",)

    def run(self, oracle, problem, n, d, gamma, rng):
        B = oracle.trials
        view: dict = {}
        can = oracle.remaining >= 1
        ptr = oracle.read("argmax", np.zeros((B, 1), dtype=np.int64), can[:, None])
        _merge_view(view, "argmax", np.zeros((B, 1), dtype=np.int64), ptr, can[:, None])
        t_hat = np.where(can, ptr[:, 0].astype(np.int64), -1)
        _read_value_row(oracle, view, t_hat, d)
        return decode_view(problem, n, d, view, gamma=gamma, seed=rng)


class KeyMaxScan(_Adaptive):
    r"""Adaptive with a per-token key-max structure: scan it, then read the flagged row.

    Round 1 reads :math:`\max_l|K[t,l]|` for as many tokens as the budget
    allows (up to ``n``); round 2 reads the value row of the largest.
    """

    name = "key-max scan (adaptive)"
    structures = ("key_rowmax",)

    def run(self, oracle, problem, n, d, gamma, rng):
        B = oracle.trials
        view: dict = {}
        take = np.minimum(n, oracle.remaining)
        flat = np.broadcast_to(np.arange(n), (B, n))
        mask = np.arange(n)[None, :] < take[:, None]
        vals = oracle.read("key_rowmax", flat, mask)
        best = np.argmax(np.where(mask, vals, -1.0), axis=1)
        t_hat = np.where(vals[np.arange(B), best] > 0, best, -1)
        if problem == "key":
            _merge_view(view, "argmax", np.zeros((B, 1), dtype=np.int64),
                        t_hat[:, None].astype(float), (t_hat >= 0)[:, None])
            _read_value_row(oracle, view, t_hat, d)
        else:
            view["V"] = _empty(B)
        return decode_view(problem, n, d, view, gamma=gamma, seed=rng)


class LSHBucketSearch(_Adaptive):
    r"""Two-round search over an LSH-style bucket directory (``3d+4`` cells here).

    At insertion time each key is hashed by the signs of 16 Gaussian
    hyperplanes; the directory keeps, per bucket, its size, its first member
    and that member's key. Round 1 reads the directory (two buckets on this
    instance: ``2(d+2)`` cells) and scores each representative key with the
    query; round 2 reads the value row of the winning representative (``d``
    cells). It fails only when the planted key hashes with the zero keys
    (all 16 hyperplanes on the wrong side, probability :math:`2^{-16}`).
    On a general instance one would attend over the whole winning bucket.
    """

    name = "LSH buckets (adaptive)"
    structures = ("lsh",)

    def run(self, oracle, problem, n, d, gamma, rng):
        B = oracle.trials
        view: dict = {}
        size = 2 * (2 + d)
        flat = np.broadcast_to(np.arange(size), (B, size))
        can = oracle.remaining >= size
        vals = oracle.read("lsh_dir", flat, np.broadcast_to(can[:, None], (B, size)))
        dirs = vals.reshape(B, 2, 2 + d)
        score = np.where(dirs[:, :, 0] > 0, dirs[:, :, 2:] @ np.ones(d), -np.inf)
        win = np.argmax(score, axis=1)
        t_hat = np.where(can, dirs[np.arange(B), win, 1].astype(np.int64), -1)
        if problem == "key":
            _merge_view(view, "argmax", np.zeros((B, 1), dtype=np.int64),
                        t_hat[:, None].astype(float), (t_hat >= 0)[:, None])
            _read_value_row(oracle, view, t_hat, d)
        else:
            view["V"] = _empty(B)
        return decode_view(problem, n, d, view, gamma=gamma, seed=rng)


class AdaptiveScan(_Adaptive):
    r"""Adaptive, no structure: scan the cache until the planted cell turns up.

    Reads key cells (problem (b)) or value cells (problem (a)) in row-major
    order from a uniformly random starting cell, wrapping around, in rounds
    of ``chunk`` cells, stopping as soon as a nonzero cell is seen or the
    budget runs out; in (b) it then reads the found token's value row. Its
    expected cost is about :math:`nd/2` on (b) and :math:`3nd/4` on the
    mixture (a): adaptivity alone does not escape (part (b) of the theorem).
    """

    name = "adaptive scan (no structure)"

    def __init__(self, chunk: int = 64):
        self.chunk = check_int(chunk, "chunk", lo=1)

    def run(self, oracle, problem, n, d, gamma, rng):
        B = oracle.trials
        N = n * d
        region = "K" if problem == "key" else "V"
        start = rng.integers(0, N, size=B)
        done = np.zeros(B, dtype=bool)
        scanned = np.zeros(B, dtype=np.int64)
        found_flat = np.full(B, -1, dtype=np.int64)
        view: dict = {}
        while True:
            active = ~done & (scanned < N) & (oracle.remaining > 0)
            if not active.any():
                break
            m = min(self.chunk, N)
            offs = scanned[:, None] + np.arange(m)
            take = np.minimum(np.minimum(m, N - scanned), oracle.remaining)
            mask = active[:, None] & (np.arange(m)[None, :] < take[:, None])
            flat = (start[:, None] + offs) % N
            vals = oracle.read(region, flat, mask)
            hit = mask & (vals != 0)
            newly = hit.any(axis=1)
            first = np.argmax(hit, axis=1)
            found_flat[newly] = flat[np.arange(B), first][newly]
            # cells after the first hit in this round were still paid for; keep them in the view
            _merge_view(view, region, flat, vals, mask)
            scanned += np.where(active, take, 0)
            done |= newly
        if problem == "key":
            t_hat = np.where(found_flat >= 0, found_flat // d, -1)
            _read_value_row(oracle, view, t_hat, d)
        return decode_view(problem, n, d, view, gamma=gamma, seed=rng)


#: Constructors of the non-adaptive readers of the chapter, by short name.
NONADAPTIVE_READERS: dict[str, Callable[[], Reader]] = {
    "uniform": UniformCells,
    "rows": RowSampling,
    "columns": ColumnSampling,
    "prefix": PrefixCells,
}

#: Constructors of the readers that escape on (b), by short name.
ADAPTIVE_READERS: dict[str, Callable[[], Reader]] = {
    "key-max scan": KeyMaxScan,
    "argmax pointer": ArgmaxPointer,
    "lsh": LSHBucketSearch,
    "scan": AdaptiveScan,
}


def make_reader(name: str) -> Reader:
    """A reader by short name: a key of :data:`NONADAPTIVE_READERS`, :data:`ADAPTIVE_READERS`,
    ``"pointer rows"``, ``"summary"`` or ``"hedged"``.

    Examples
    --------
    >>> from kvtheory.cellprobe import make_reader
    >>> make_reader("rows").name
    'row sampling'
    """
    table = {**NONADAPTIVE_READERS, **ADAPTIVE_READERS, "pointer rows": PointerRows,
             "summary": SummaryReader, "hedged": HedgedReader}
    check_choice(name, "name", table)
    return table[name]()
