r"""Cache readers, the cell oracle, and the planted-cell instances of Chapter 8.

The time lower bound speaks about algorithms that keep every token verbatim
and, at each step, *read* some cells of the stored :math:`K,V`. This module
makes that model executable.

* :class:`CellOracle` holds the stored arrays (and any index built at
  insertion time) and hands out only the cells a reader pays for: one unit per
  cell, a hard budget :math:`T`, costs kept per trial. In non-adaptive mode the
  reader submits its whole cell set in **one** :meth:`CellOracle.read_batch`
  call, before it has seen any content; an adaptive oracle allows rounds.
* :func:`sample_planted_value` and :func:`sample_planted_key` draw batches of
  the two hard distributions (:class:`PlantedCellBatch`): (a) a lone value cell
  :math:`V[t^*,l^*]=1` planted with probability 1/2 among zeros, for
  :math:`(\mathrm E_\eta)`; (b) a lone key cell :math:`K[t^*,l^*]=L=\ln(n/\gamma)`
  among zeros with fair :math:`\pm1` values and :math:`q=\mathbf 1_d`, for
  :math:`(\mathrm A_\alpha)`.
* Readers: non-adaptive (:class:`UniformCells`, :class:`RowSampling`,
  :class:`ColumnSampling`, :class:`PrefixCells`, :class:`PointerRows`,
  :class:`SummaryReader`) choose their cells from ``(n, d, T, trials, rng)``
  only: they never receive the oracle before the set is fixed. Adaptive
  readers (:class:`AdaptiveScan`, :class:`KeyMaxScan`, :class:`ArgmaxPointer`,
  :class:`LSHBucketSearch`) query in rounds.
* :func:`run_reader` plays a reader against a batch, with every trial's
  accounting kept separately, and grades the outputs against exact attention.

A *trial* is one independent draw of the instance together with one run of
the reader on fresh random bits; everything is vectorised over trials, and
every oracle call charges each trial for the cells requested on its behalf.

References
----------
.. [1] A. C.-C. Yao. Probabilistic computations: toward a unified measure of
   complexity. FOCS 1977.
.. [2] K. G. Larsen, J. Nelson, H. L. Nguyen. Time lower bounds for nonadaptive
   turnstile streaming algorithms. STOC 2015.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .._validate import as_real_array, check_choice, check_int, check_real, check_rng

__all__ = [
    "PROBLEMS",
    "INDEX_KINDS",
    "BudgetExceededError",
    "AdaptivityError",
    "CellOracle",
    "planted_key_scale",
    "success_bound",
    "PlantedCellBatch",
    "sample_planted_value",
    "sample_planted_key",
    "build_index",
    "decode_view",
    "Reader",
    "UniformCells",
    "RowSampling",
    "ColumnSampling",
    "PrefixCells",
    "PointerRows",
    "SummaryReader",
    "AdaptiveScan",
    "KeyMaxScan",
    "ArgmaxPointer",
    "LSHBucketSearch",
    "NONADAPTIVE_READERS",
    "ADAPTIVE_READERS",
    "make_reader",
    "ReaderRun",
    "run_reader",
]

#: The two hard distributions: ``"value"`` is (a), ``"key"`` is (b).
PROBLEMS = ("value", "key")

#: Indexes an algorithm may build at insertion time (all are excluded by
#: Definition 8.1; they exist to show what breaks when they are allowed).
INDEX_KINDS = ("key_rowmax", "argmax", "lsh", "summary")

#: Largest number of stored bits a batch may hold (about 125 MB).
_MAX_BATCH_BITS = 10**9
_LSH_BITS = 16


class BudgetExceededError(RuntimeError):
    """A reader asked for more cells than its budget allows."""


class AdaptivityError(RuntimeError):
    """A non-adaptive reader tried to read in a second round."""


# ---------------------------------------------------------------------------
# the oracle
# ---------------------------------------------------------------------------

def _as_index(x, name: str, trials: int) -> np.ndarray:
    """``x`` as an int64 array of shape ``(trials, m)`` (a 1-D ``x`` is shared)."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an integer array, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = np.broadcast_to(arr, (trials, arr.shape[0]))
    if arr.ndim != 2 or arr.shape[0] != trials:
        raise ValueError(f"{name} must have shape (m,) or ({trials}, m), got {arr.shape}")
    return arr.astype(np.int64, copy=False)


class CellOracle:
    r"""The stored cache, handing out only the cells a reader pays for.

    The oracle holds named *regions* (``"K"`` and ``"V"`` of shape
    ``(n, d)``, plus any index built at insertion time), one copy per trial.
    A cell is addressed by its region and its flat (row-major) position.
    Every requested cell costs one unit, charged to the trial it was requested
    for, repeats included (a re-read is a new memory access). A request that
    would take any trial past ``budget`` raises :class:`BudgetExceededError`
    *before* anything is revealed.

    * Non-adaptive (``adaptive=False``): the reader calls :meth:`read_batch`
      exactly once, with its whole cell set. :meth:`read` and a second batch
      raise :class:`AdaptivityError`. Since the set is submitted before any
      content is returned, it cannot depend on the contents.
    * Adaptive (``adaptive=True``): any number of rounds.

    The arrays live in a closure, not in attributes; there is no public path
    to them that does not charge. (Python cannot forbid introspection; a
    reader that digs into private state is outside the model.)

    Parameters
    ----------
    regions : dict
        ``name -> (shape, fetch)``; ``fetch(flat)`` maps an int array of
        shape ``(trials, m)`` of flat positions to the contents, a float
        array of the same shape.
    trials : int
        Number of independent trials held side by side.
    budget : int
        The cell budget :math:`T` of every trial.
    adaptive : bool
        Whether several rounds are allowed.

    Raises
    ------
    TypeError, ValueError
        On malformed regions, a non-integer or negative budget.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.instances.nonadaptive import CellOracle
    >>> V = np.arange(6.0).reshape(1, 2, 3)                 # one trial, n=2, d=3
    >>> fetch = lambda flat: np.take_along_axis(V.reshape(1, -1), flat, axis=1)
    >>> o = CellOracle({"V": ((2, 3), fetch)}, trials=1, budget=4, adaptive=False)
    >>> o.read_batch({"V": [1, 5]})["V"]
    array([[1., 5.]])
    >>> int(o.cost[0]), int(o.remaining[0])
    (2, 2)
    >>> o.read_batch({"V": [0]})
    Traceback (most recent call last):
    ...
    kvtheory.instances.nonadaptive.AdaptivityError: a non-adaptive reader submits ...
    """

    __slots__ = ("_trials", "_budget", "_adaptive", "_shapes", "_cost", "_by_region",
                 "_rounds", "_fetch")

    def __init__(self, regions: dict, *, trials: int, budget: int, adaptive: bool):
        self._trials = check_int(trials, "trials", lo=1)
        self._budget = check_int(budget, "budget", lo=0)
        if not isinstance(adaptive, bool):
            raise TypeError(f"adaptive must be a bool, got {type(adaptive).__name__}")
        self._adaptive = adaptive
        if not isinstance(regions, dict) or not regions:
            raise TypeError("regions must be a non-empty dict name -> (shape, fetch)")
        shapes, fetchers = {}, {}
        for name, spec in regions.items():
            if not isinstance(name, str) or not isinstance(spec, tuple) or len(spec) != 2:
                raise TypeError(f"region {name!r} must map to a (shape, fetch) pair")
            shape, fetch = spec
            if not callable(fetch):
                raise TypeError(f"fetch of region {name!r} must be callable")
            shapes[name] = tuple(int(s) for s in shape)
            fetchers[name] = fetch
        self._shapes = shapes

        def _fetch(name, flat):          # the only route to the contents
            return np.asarray(fetchers[name](flat), dtype=np.float64)

        self._fetch = _fetch
        self._cost = np.zeros(self._trials, dtype=np.int64)
        self._by_region = {name: np.zeros(self._trials, dtype=np.int64) for name in shapes}
        self._rounds = 0

    # -- public, read-only facts ------------------------------------------------
    @property
    def trials(self) -> int:
        """Number of trials held side by side."""
        return self._trials

    @property
    def budget(self) -> int:
        """The cell budget :math:`T` of each trial."""
        return self._budget

    @property
    def adaptive(self) -> bool:
        """Whether reads in several rounds are allowed."""
        return self._adaptive

    @property
    def regions(self) -> dict[str, tuple[int, ...]]:
        """Region names and shapes (the layout is public; the contents are not)."""
        return dict(self._shapes)

    @property
    def cost(self) -> np.ndarray:
        """Cells charged so far, per trial (a copy)."""
        return self._cost.copy()

    @property
    def remaining(self) -> np.ndarray:
        """Budget left, per trial (a copy)."""
        return self._budget - self._cost

    @property
    def cost_by_region(self) -> dict[str, np.ndarray]:
        """Cells charged so far per region, per trial (copies)."""
        return {k: v.copy() for k, v in self._by_region.items()}

    @property
    def rounds(self) -> int:
        """Number of read calls made so far."""
        return self._rounds

    # -- reading -----------------------------------------------------------------
    def _prepare(self, region, flat, mask):
        if region not in self._shapes:
            raise ValueError(f"region must be one of {sorted(self._shapes)}, got {region!r}")
        flat = _as_index(flat, f"cells of region {region!r}", self._trials)
        size = int(np.prod(self._shapes[region]))
        if flat.size and (flat.min() < 0 or flat.max() >= size):
            raise ValueError(f"cells of region {region!r} must lie in [0, {size})")
        if mask is None:
            count = np.full(self._trials, flat.shape[1], dtype=np.int64)
        else:
            mask = np.asarray(mask)
            if mask.dtype != bool or mask.shape != flat.shape:
                raise ValueError(f"mask of region {region!r} must be a bool array of shape "
                                 f"{flat.shape}")
            count = mask.sum(axis=1).astype(np.int64)
        return flat, mask, count

    def read_batch(self, requests: dict) -> dict[str, np.ndarray]:
        """Read one round of cells in several regions at once.

        Parameters
        ----------
        requests : dict
            ``region -> flat`` or ``region -> (flat, mask)``; ``flat`` of shape
            ``(m,)`` (same cells in every trial) or ``(trials, m)``; ``mask`` a
            bool array of ``flat``'s shape selecting the cells actually
            requested (only those are charged; unmasked entries read as 0).

        Returns
        -------
        dict
            ``region -> contents`` of shape ``(trials, m)``.

        Raises
        ------
        AdaptivityError
            On a second call of a non-adaptive oracle.
        BudgetExceededError
            If any trial would exceed the budget (nothing is charged or revealed).
        ValueError, TypeError
            On an unknown region or malformed cells.
        """
        if not self._adaptive and self._rounds >= 1:
            raise AdaptivityError("a non-adaptive reader submits its whole cell set in one "
                                  "read_batch call")
        if not isinstance(requests, dict) or not requests:
            raise TypeError("requests must be a non-empty dict region -> cells")
        prepared = {}
        total = np.zeros(self._trials, dtype=np.int64)
        for region, req in requests.items():
            flat, mask = (req if isinstance(req, tuple) else (req, None))
            prepared[region] = self._prepare(region, flat, mask)
            total += prepared[region][2]
        over = np.nonzero(self._cost + total > self._budget)[0]
        if over.size:
            j = int(over[0])
            raise BudgetExceededError(
                f"trial {j} would read {int(self._cost[j] + total[j])} cells, budget is "
                f"{self._budget}")
        out = {}
        for region, (flat, mask, count) in prepared.items():
            self._cost += count
            self._by_region[region] += count
            vals = self._fetch(region, flat)
            out[region] = vals if mask is None else np.where(mask, vals, 0.0)
        self._rounds += 1
        return out

    def read(self, region: str, flat, mask=None) -> np.ndarray:
        """Read cells of one region in one adaptive round (see :meth:`read_batch`).

        Raises
        ------
        AdaptivityError
            If the oracle is non-adaptive (use one :meth:`read_batch`).
        """
        if not self._adaptive:
            raise AdaptivityError("a non-adaptive reader submits its whole cell set in one "
                                  "read_batch call")
        return self.read_batch({region: (flat, mask)})[region]

    def __repr__(self) -> str:
        mode = "adaptive" if self._adaptive else "non-adaptive"
        return (f"CellOracle({mode}, trials={self._trials}, budget={self._budget}, "
                f"regions={sorted(self._shapes)})")


# ---------------------------------------------------------------------------
# the hard distributions
# ---------------------------------------------------------------------------

def planted_key_scale(n: int, gamma: float) -> float:
    r"""The planted key entry :math:`L=\ln(n/\gamma)` of distribution (b).

    With :math:`q=\mathbf 1_d`, the planted token scores :math:`L` and the other
    :math:`n` tokens (the :math:`n-1` other cached tokens and the current one)
    score 0, so :math:`w_{t^*}=e^L/(e^L+n)=1/(1+\gamma)`.

    Examples
    --------
    >>> from kvtheory.instances.nonadaptive import planted_key_scale
    >>> f"{planted_key_scale(10_000, 0.1):.4f}"
    '11.5129'
    """
    n = check_int(n, "n", lo=2)
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    return math.log(n / gamma)


def success_bound(T, n: int, d: int) -> np.ndarray | float:
    r"""The ceiling :math:`\min\{1,\ \tfrac12+\tfrac{T}{2nd}\}` on success.

    Any reader that fixes its cells in advance and reads :math:`T` value cells
    (in expectation) succeeds with at most this probability on the 50/50
    mixture of distribution (a), and on distribution (b) when :math:`T` counts
    its value cells (Theorem 8.2).

    Parameters
    ----------
    T : int, float or array_like
        Cells read (nonnegative).
    n, d : int
        Cached tokens and head dimension.

    Returns
    -------
    float or numpy.ndarray
        The bound, same shape as ``T``.

    Examples
    --------
    >>> from kvtheory.instances.nonadaptive import success_bound
    >>> f"{success_bound(320, 40, 16):.3f}"
    '0.750'
    """
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    T_arr = as_real_array(T, "T")
    if np.any(T_arr < 0):
        raise ValueError("T must be nonnegative")
    out = np.minimum(1.0, 0.5 + T_arr / (2.0 * n * d))
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True, eq=False)
class PlantedCellBatch:
    r"""A batch of independent draws of one planted-cell distribution.

    Every draw has ``n`` cached tokens and the current token :math:`(q,0,0)`
    with :math:`q=\mathbf 1_d`. Use :func:`sample_planted_value` and
    :func:`sample_planted_key` to make one.

    Attributes
    ----------
    problem : {"value", "key"}
        Distribution (a) or (b).
    n, d : int
        Cached tokens and head dimension.
    gamma : float
        For (b): the weight left off the planted token is
        :math:`\gamma/(1+\gamma)`. Unused by (a).
    L : float
        The planted key entry :math:`\ln(n/\gamma)` ((b); 0 for (a)).
    planted : numpy.ndarray
        ``(trials,)`` bool: is the cell planted (always true for (b)).
    t_star, l_star : numpy.ndarray
        ``(trials,)`` int: the planted cell's token and coordinate.
    """

    problem: str
    n: int
    d: int
    gamma: float
    L: float
    planted: np.ndarray
    t_star: np.ndarray
    l_star: np.ndarray
    _bits: np.ndarray | None = field(default=None, repr=False)     # packed signs of V, (b)
    _colsum: np.ndarray | None = field(default=None, repr=False)   # sum_t V[t], (b)

    @property
    def trials(self) -> int:
        """Number of draws in the batch."""
        return int(self.t_star.shape[0])

    @property
    def query(self) -> np.ndarray:
        """The query :math:`\\mathbf 1_d` of the current token."""
        return np.ones(self.d)

    # -- contents, as the oracle's fetch functions ----------------------------------
    def _planted_flat(self) -> np.ndarray:
        return self.t_star * self.d + self.l_star

    def _fetch_K(self, flat):
        if self.problem == "value":
            return np.zeros(flat.shape)
        return np.where(flat == self._planted_flat()[:, None], self.L, 0.0)

    def _fetch_V(self, flat):
        if self.problem == "value":
            hit = (flat == self._planted_flat()[:, None]) & self.planted[:, None]
            return hit.astype(np.float64)
        byte = np.take_along_axis(self._bits, flat >> 3, axis=1)
        bit = (byte >> (7 - (flat & 7)).astype(np.uint8)) & 1
        return 2.0 * bit - 1.0

    def _value_rows(self, rows) -> np.ndarray:
        """``V[rows[j]]`` of every trial ``j``, shape ``(trials, d)``."""
        flat = np.asarray(rows)[:, None] * self.d + np.arange(self.d)
        return self._fetch_V(flat)

    # -- indexes an algorithm could build while the tokens were inserted -----------
    def _index_regions(self, kinds, seed) -> dict:
        n, d, B = self.n, self.d, self.trials
        regions = {}
        key = self.problem == "key"
        rowmax_of_planted = self.L if key else 0.0
        if "key_rowmax" in kinds:                       # max_l |K[t, l]| per token
            def fetch_rowmax(flat):
                return np.where(key & (flat == self.t_star[:, None]), rowmax_of_planted, 0.0)
            regions["key_rowmax"] = ((n,), fetch_rowmax)
        top = self.t_star if key else np.zeros(B, dtype=np.int64)   # first maximiser
        if "argmax" in kinds:                           # pointer to the largest key
            regions["argmax"] = ((1,), lambda flat: np.broadcast_to(
                top[:, None].astype(np.float64), flat.shape).copy())
        if "summary" in kinds:                          # what Definition 8.1 forbids
            if key:
                vsum = self._colsum
            else:
                vsum = np.zeros((B, d))
                vsum[np.arange(B), self.l_star] = self.planted.astype(np.float64)
            heavy = self._value_rows(top)
            regions["value_sum"] = ((d,), lambda flat: np.take_along_axis(vsum, flat, axis=1))
            regions["heavy_value_row"] = ((d,), lambda flat: np.take_along_axis(heavy, flat,
                                                                                 axis=1))
        if "lsh" in kinds:
            regions["lsh_dir"] = ((2, 2 + d), self._lsh_directory(seed))
        return regions

    def _lsh_directory(self, seed):
        """Directory of a sign-hash bucket index (see :func:`build_index`).

        Each trial's algorithm draws its own ``m = 16`` Gaussian hyperplanes.
        On this instance every zero key hashes to code 0, the planted key to
        the sign pattern of column ``l*`` of the hyperplanes, so there are at
        most two buckets; the directory has two rows
        ``[size, representative, representative key (d)]``, in order of first
        insertion, the second row zero when there is one bucket.
        """
        n, d, B = self.n, self.d, self.trials
        rng = check_rng(seed)
        G = rng.standard_normal((B, _LSH_BITS, d))
        col = G[np.arange(B), :, self.l_star] if self.problem == "key" else np.zeros((B, 1))
        alone = np.any(col * (self.L if self.problem == "key" else 0.0) > 0, axis=1)
        directory = np.zeros((B, 2, 2 + d))
        planted_key = np.zeros((B, d))
        if self.problem == "key":
            planted_key[np.arange(B), self.l_star] = self.L
        first_is_planted = self.t_star == 0
        # bucket of code 0 (the zero keys), and the planted bucket if it is separate
        zero_size = np.where(alone, n - 1, n)
        zero_rep = np.where(alone & first_is_planted, 1, 0)
        zero_key = np.where((~alone & first_is_planted)[:, None], planted_key, 0.0)
        p_row = np.concatenate([np.ones((B, 1)), self.t_star[:, None].astype(float),
                                planted_key], axis=1)
        z_row = np.concatenate([zero_size[:, None].astype(float), zero_rep[:, None]
                                .astype(float), zero_key], axis=1)
        order_p_first = alone & first_is_planted
        directory[:, 0] = np.where(order_p_first[:, None], p_row, z_row)
        directory[:, 1] = np.where(order_p_first[:, None], z_row,
                                   np.where(alone[:, None], p_row, 0.0))
        flat_dir = directory.reshape(B, -1)
        return lambda flat: np.take_along_axis(flat_dir, flat, axis=1)

    # -- public API ----------------------------------------------------------------
    def oracle(self, budget: int, *, adaptive: bool, index=(), index_seed=0) -> CellOracle:
        """A fresh :class:`CellOracle` over this batch.

        Parameters
        ----------
        budget : int
            Cells each trial may read.
        adaptive : bool
            Allow several rounds.
        index : sequence of str, optional
            Insertion-time indexes to store beside ``K`` and ``V`` (names in
            :data:`INDEX_KINDS`); reading them costs one unit per cell too.
        index_seed : int or Generator, default 0
            The algorithm's seed for randomised indexes (``"lsh"``).
        """
        for kind in index:
            check_choice(kind, "index", INDEX_KINDS)
        shape = (self.n, self.d)
        regions = {"K": (shape, self._fetch_K), "V": (shape, self._fetch_V)}
        regions.update(self._index_regions(tuple(index), index_seed))
        return CellOracle(regions, trials=self.trials, budget=budget, adaptive=adaptive)

    def exact_outputs(self) -> np.ndarray:
        r"""Exact attention :math:`z` of every trial, shape ``(trials, d)``.

        (a): :math:`z=0` under :math:`D_0`, :math:`z=e_{l^*}/(n+1)` under
        :math:`D_1`. (b): :math:`z=(e^L v_{t^*}+\sum_{t\ne t^*}v_t)/(e^L+n)`.
        """
        B, n, d = self.trials, self.n, self.d
        if self.problem == "value":
            z = np.zeros((B, d))
            z[np.arange(B), self.l_star] = self.planted / (n + 1.0)
            return z
        eL = math.exp(self.L)
        vstar = self._value_rows(self.t_star)
        return (eL * vstar + (self._colsum - vstar)) / (eL + n)

    def materialize(self, trial: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dense ``(q, K, V)`` of one trial, the current token appended as row ``n``.

        For checks on small instances: ``kv.attention(q, K, V)`` equals
        ``exact_outputs()[trial]``.

        Raises
        ------
        ValueError
            If ``n * d`` exceeds 2,000,000 or ``trial`` is out of range.
        """
        trial = check_int(trial, "trial", lo=0, hi=self.trials - 1)
        if self.n * self.d > 2_000_000:
            raise ValueError("materialize needs n * d <= 2,000,000")
        flat = np.arange(self.n * self.d)[None, :].repeat(self.trials, axis=0)
        K = self._fetch_K(flat)[trial].reshape(self.n, self.d)
        V = self._fetch_V(flat)[trial].reshape(self.n, self.d)
        zero = np.zeros((1, self.d))
        return self.query, np.vstack([K, zero]), np.vstack([V, zero])

    def success(self, outputs, *, eta: float = 0.5, alpha: float = 0.2) -> np.ndarray:
        r"""Per-trial verdicts: does each output meet the problem's notion?

        (a) is graded under :math:`(\mathrm E_\eta)`, (b) under
        :math:`(\mathrm A_\alpha)`.

        Parameters
        ----------
        outputs : array_like
            ``(trials, d)`` outputs :math:`\hat z`.
        eta : float, default 0.5
            Entrywise tolerance, :math:`0\le\eta<1`.
        alpha : float, default 0.2
            Additive tolerance, :math:`\alpha\ge0`.

        Returns
        -------
        numpy.ndarray
            ``(trials,)`` bool.
        """
        outputs = as_real_array(outputs, "outputs", shape=(self.trials, self.d))
        eta = check_real(eta, "eta", lo=0, hi=1, hi_open=True)
        alpha = check_real(alpha, "alpha", lo=0)
        z = self.exact_outputs()
        if self.problem == "value":
            return np.all(np.abs(outputs - z) <= eta * np.abs(z), axis=1)
        return np.max(np.abs(outputs - z), axis=1) <= alpha


def _check_sizes(n, d, trials):
    n = check_int(n, "n", lo=2, hi=10**7)
    d = check_int(d, "d", lo=1, hi=4096)
    trials = check_int(trials, "trials", lo=1, hi=10**6)
    return n, d, trials


def sample_planted_value(n: int, d: int, *, trials: int, seed=0) -> PlantedCellBatch:
    r"""Draw ``trials`` instances of distribution (a) on the 50/50 mixture.

    Each trial flips a fair coin ``planted``: under :math:`D_0` the cache is
    all zero (:math:`z=0`); under :math:`D_1` it also holds
    :math:`V[t^*,l^*]=1` at a uniform cell (:math:`z=e_{l^*}/(n+1)`).
    Nothing of size ``n * d`` is stored: cells are computed on demand.

    Parameters
    ----------
    n, d : int
        Cached tokens (``n >= 2``) and head dimension.
    trials : int
        Number of independent draws.
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    PlantedCellBatch

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.instances.nonadaptive import sample_planted_value
    >>> b = sample_planted_value(5, 3, trials=4, seed=1)
    >>> q, K, V = b.materialize(0)
    >>> bool(np.allclose(kv.attention(q, K, V), b.exact_outputs()[0]))
    True
    """
    n, d, trials = _check_sizes(n, d, trials)
    rng = check_rng(seed)
    planted = rng.random(trials) < 0.5
    t_star = rng.integers(0, n, size=trials)
    l_star = rng.integers(0, d, size=trials)
    return PlantedCellBatch("value", n, d, 0.0, 0.0, planted, t_star, l_star)


def sample_planted_key(n: int, d: int, *, trials: int, gamma: float = 0.1,
                       seed=0) -> PlantedCellBatch:
    r"""Draw ``trials`` instances of distribution (b).

    Values are fair signs :math:`V\in\{\pm1\}^{n\times d}` (stored packed, one
    bit each), keys are zero except :math:`K[t^*,l^*]=L=\ln(n/\gamma)` at a
    uniform cell, and :math:`q=\mathbf 1_d`, so :math:`w_{t^*}=1/(1+\gamma)`.

    Parameters
    ----------
    n, d : int
        Cached tokens (``n >= 2``) and head dimension.
    trials : int
        Number of independent draws; ``trials * n * d`` may not exceed
        :math:`10^9` (about 125 MB of packed bits).
    gamma : float, default 0.1
        In ``(0, 1)``.
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    PlantedCellBatch

    Raises
    ------
    ValueError
        On out-of-range sizes or a batch above the memory cap.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.instances.nonadaptive import sample_planted_key
    >>> b = sample_planted_key(6, 4, trials=3, gamma=0.1, seed=2)
    >>> q, K, V = b.materialize(1)
    >>> w = kv.softmax(K @ q)
    >>> f"{w[b.t_star[1]]:.6f} vs 1/(1+gamma) = {1 / 1.1:.6f}"
    '0.909091 vs 1/(1+gamma) = 0.909091'
    >>> bool(np.allclose(kv.attention(q, K, V), b.exact_outputs()[1]))
    True
    """
    n, d, trials = _check_sizes(n, d, trials)
    L = planted_key_scale(n, gamma)
    if trials * n * d > _MAX_BATCH_BITS:
        raise ValueError(f"trials * n * d must be <= {_MAX_BATCH_BITS}, got {trials * n * d}")
    rng = check_rng(seed)
    t_star = rng.integers(0, n, size=trials)
    l_star = rng.integers(0, d, size=trials)
    nbytes = -(-n * d // 8)
    bits = rng.integers(0, 256, size=(trials, nbytes), dtype=np.uint8)
    colsum = np.empty((trials, d))
    chunk = max(1, 4_000_000 // (n * d))
    for s in range(0, trials, chunk):
        unpacked = np.unpackbits(bits[s:s + chunk], axis=1, count=n * d)
        ones = unpacked.reshape(-1, n, d).sum(axis=1, dtype=np.int64)
        colsum[s:s + chunk] = 2.0 * ones - n
    return PlantedCellBatch("key", n, d, float(gamma), L, np.ones(trials, dtype=bool),
                            t_star, l_star, bits, colsum)


def build_index(K, V, kind: str, *, seed=0) -> np.ndarray:
    r"""Build an insertion-time index from dense ``K, V`` of one trial.

    The reference implementation of what :meth:`PlantedCellBatch.oracle`
    stores for ``index=(kind,)`` (tests check the two agree). Each index can
    be maintained in :math:`O(d)` time per inserted token.

    * ``"key_rowmax"``: :math:`(\max_l|K[t,l]|)_{t<n}`, ``n`` numbers.
    * ``"argmax"``: the first :math:`t` maximising that, one pointer.
    * ``"summary"``: :math:`\sum_t V[t]` followed by the value row of the
      argmax token, ``2d`` numbers (the summaries Remark 1 must exclude).
    * ``"lsh"``: keys hashed by the signs of ``m = 16`` Gaussian hyperplanes
      (the same draw as the oracle's for ``index_seed=seed``, trial 0);
      buckets in order of first insertion; per bucket
      ``[size, representative, representative key]`` (first member).

    Parameters
    ----------
    K, V : array_like
        ``(n, d)`` keys and values (without the current token).
    kind : str
        One of :data:`INDEX_KINDS`.
    seed : int or Generator, default 0
        Hyperplane seed for ``"lsh"``.

    Returns
    -------
    numpy.ndarray
        The index, flattened as the oracle stores it.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.instances.nonadaptive import build_index
    >>> K = np.zeros((4, 2)); K[2, 1] = -3.0
    >>> build_index(K, np.ones((4, 2)), "argmax")
    array([2.])
    """
    K = as_real_array(K, "K", ndim=2)
    V = as_real_array(V, "V", shape=K.shape)
    check_choice(kind, "kind", INDEX_KINDS)
    rowmax = np.max(np.abs(K), axis=1)
    top = int(np.argmax(rowmax))
    if kind == "key_rowmax":
        return rowmax
    if kind == "argmax":
        return np.array([float(top)])
    if kind == "summary":
        return np.concatenate([V.sum(axis=0), V[top]])
    rng = check_rng(seed)
    G = rng.standard_normal((1, _LSH_BITS, K.shape[1]))[0]
    codes = [tuple(row) for row in (K @ G.T > 0)]
    buckets: dict = {}
    for t, c in enumerate(codes):
        buckets.setdefault(c, []).append(t)
    rows = [np.concatenate([[len(m), m[0]], K[m[0]]]) for m in buckets.values()]
    return np.concatenate(rows)


# ---------------------------------------------------------------------------
# decoding a view
# ---------------------------------------------------------------------------

def _empty(trials):
    return (np.zeros((trials, 0), dtype=np.int64), np.zeros((trials, 0)),
            np.zeros((trials, 0), dtype=bool))


def _merge_view(view, region, flat, contents, mask=None):
    flat = np.asarray(flat, dtype=np.int64)
    if flat.ndim == 1:
        flat = np.broadcast_to(flat, contents.shape)
    mask = np.ones(contents.shape, dtype=bool) if mask is None else mask
    if region not in view:
        view[region] = (flat, contents, mask)
        return
    old = view[region]
    view[region] = (np.concatenate([old[0], flat], axis=1),
                    np.concatenate([old[1], contents], axis=1),
                    np.concatenate([old[2], mask], axis=1))


def decode_view(problem: str, n: int, d: int, view: dict, *, gamma: float = 0.1,
                seed=0) -> np.ndarray:
    r"""The output every reader of this module gives for what it has read.

    The output depends only on the view (the cells read and their contents)
    and on the reader's random bits, never on unread cells.

    * (a) ``"value"``: if a read value cell holds 1 at :math:`(t,l)`, output
      :math:`e_l/(n+1)`; if the insertion-time ``value_sum`` was read, output
      it divided by :math:`n+1`; else output 0. This is the Bayes-optimal
      rule on the mixture: a miss is a tie and 0 wins it.
    * (b) ``"key"``: find the planted token :math:`\hat t` (a read key cell
      :math:`\ne0`, or a read ``argmax`` pointer); output
      :math:`\hat v/(1+\gamma)`, where :math:`\hat v_l` is the read value
      :math:`V[\hat t,l]`, or a fair coin for an unread coordinate. With the
      ``heavy_value_row`` summary, :math:`\hat v` is that row. If no token is
      found, output 0.

    Parameters
    ----------
    problem : {"value", "key"}
    n, d : int
    view : dict
        ``region -> (flat, contents, mask)``, arrays of shape ``(trials, m)``.
    gamma : float, default 0.1
    seed : int or Generator, default 0
        The reader's coins for unread coordinates.

    Returns
    -------
    numpy.ndarray
        Outputs, ``(trials, d)``.
    """
    check_choice(problem, "problem", PROBLEMS)
    n = check_int(n, "n", lo=2)
    d = check_int(d, "d", lo=1)
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    rng = check_rng(seed)
    if not isinstance(view, dict) or not view:
        raise TypeError("view must be a non-empty dict region -> (flat, contents, mask)")
    B = next(iter(view.values()))[1].shape[0]
    rows = np.arange(B)
    out = np.zeros((B, d))
    if problem == "value":
        if "V" in view and view["V"][1].shape[1]:
            flat, val, mask = view["V"]
            hit = mask & (val == 1.0)
            has = hit.any(axis=1)
            where = np.argmax(hit, axis=1)
            cols = flat[rows, where] % d
            out[rows[has], cols[has]] = 1.0 / (n + 1)
        if "value_sum" in view:
            flat, val, mask = view["value_sum"]
            b, m = np.nonzero(mask)
            out[b, flat[b, m]] = val[b, m] / (n + 1)
        return out
    vhat = 2.0 * rng.integers(0, 2, size=(B, d)) - 1.0
    t_hat = np.full(B, -1, dtype=np.int64)
    if "K" in view and view["K"][1].shape[1]:
        flat, val, mask = view["K"]
        hit = mask & (val != 0.0)
        has = hit.any(axis=1)
        t_hat[has] = flat[rows, np.argmax(hit, axis=1)][has] // d
    if "argmax" in view and view["argmax"][1].shape[1]:
        flat, val, mask = view["argmax"]
        has = mask.any(axis=1)
        t_hat[has] = val[rows, np.argmax(mask, axis=1)][has].astype(np.int64)
    if "heavy_value_row" in view:
        flat, val, mask = view["heavy_value_row"]
        b, m = np.nonzero(mask)
        vhat[b, flat[b, m]] = val[b, m]
        return vhat / (1.0 + gamma)
    if "V" in view:
        flat, val, mask = view["V"]
        mine = mask & (flat // d == t_hat[:, None])
        b, m = np.nonzero(mine)
        vhat[b, flat[b, m] % d] = val[b, m]
    found = t_hat >= 0
    out[found] = vhat[found] / (1.0 + gamma)
    return out


# ---------------------------------------------------------------------------
# readers
# ---------------------------------------------------------------------------

class Reader:
    """Base class of the readers of this module.

    Attributes
    ----------
    name : str
        Display name.
    adaptive : bool
        Whether the reader reads in several rounds.
    index : tuple of str
        Insertion-time indexes it relies on (empty for the model of
        Definition 8.1).
    """

    name = "reader"
    adaptive = False
    index: tuple = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _NonAdaptive(Reader):
    """A reader whose cells are a function of ``(n, d, T, trials, rng)`` only.

    Subclasses implement :meth:`cells`; it never sees the oracle, so the set
    cannot depend on any content. :func:`run_reader` submits the set in one
    batch and decodes the view with :func:`decode_view`.
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


class PointerRows(_NonAdaptive):
    r"""Non-adaptive, but with an argmax pointer: Remark 2 of Chapter 8.

    Reads the insertion-time ``argmax`` pointer (1 cell) *and*, in the same
    batch, ``(T-1)//d`` whole value rows chosen at random. Its output may use
    :math:`t^*` (read from the pointer), but its cell set may not, so it hits
    the planted row with probability about :math:`T/(nd)` only. Problem (b).
    """

    name = "pointer + rows (non-adaptive)"
    index = ("argmax",)

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
    r"""Reads an insertion-time summary: why Definition 8.1 forbids them (Remark 1).

    (a): the running sum :math:`\sum_t v_t` (``d`` cells); since all keys are
    zero, attention is its mean. (b): the value row of the largest key
    (``d`` cells). Fixed cells, one batch, success 1: a non-adaptive reader
    with such summaries escapes the theorem.
    """

    name = "insertion-time summary"
    index = ("summary",)

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
    index = ("argmax",)

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
    r"""Adaptive with a per-token key-max index: scan it, then read the flagged row (``n+d`` cells).

    Round 1 reads :math:`\max_l|K[t,l]|` for as many tokens as the budget
    allows (up to ``n``); round 2 reads the value row of the largest.
    """

    name = "key-max scan (adaptive)"
    index = ("key_rowmax",)

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
    r"""Two-round search over an LSH-style bucket index (``3d+4`` cells here).

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
    index = ("lsh",)

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
    r"""Adaptive, no index: scan the cache until the planted cell turns up.

    Reads key cells (problem (b)) or value cells (problem (a)) in row-major
    order from a uniformly random starting cell, wrapping around, in rounds
    of ``chunk`` cells, stopping as soon as a nonzero cell is seen or the
    budget runs out; in (b) it then reads the found token's value row. Its
    expected cost is about :math:`nd/2` on (b) and :math:`3nd/4` on the
    mixture (a): adaptivity alone does not escape (Remark 3).
    """

    name = "adaptive scan (no index)"

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
    ``"pointer rows"`` or ``"summary"``.

    Examples
    --------
    >>> from kvtheory.instances.nonadaptive import make_reader
    >>> make_reader("rows").name
    'row sampling'
    """
    table = {**NONADAPTIVE_READERS, **ADAPTIVE_READERS, "pointer rows": PointerRows,
             "summary": SummaryReader}
    check_choice(name, "name", table)
    return table[name]()


@dataclass
class ReaderRun:
    """The record of one reader against one batch.

    Attributes
    ----------
    reader : str
        The reader's name.
    problem : str
    budget : int
    success : numpy.ndarray
        ``(trials,)`` bool verdicts.
    cost : numpy.ndarray
        ``(trials,)`` cells charged by the oracle.
    cost_by_region : dict
        ``region -> (trials,)`` cells charged.
    rounds : int
        Read calls made (1 for a non-adaptive reader).
    """

    reader: str
    problem: str
    budget: int
    success: np.ndarray
    cost: np.ndarray
    cost_by_region: dict
    rounds: int

    @property
    def rate(self) -> float:
        """Fraction of trials that succeeded."""
        return float(np.mean(self.success))

    @property
    def se(self) -> float:
        """Binomial standard error of :attr:`rate`."""
        p = self.rate
        return math.sqrt(p * (1 - p) / self.success.shape[0])


def run_reader(reader: Reader, batch: PlantedCellBatch, budget: int, *, seed=0,
               eta: float = 0.5, alpha: float = 0.2, index_seed=0) -> ReaderRun:
    """Play ``reader`` against every trial of ``batch`` with a budget of ``budget`` cells.

    A non-adaptive reader's :meth:`cells` receives only
    ``(problem, n, d, T, trials, rng)``; its set is submitted in a single
    :meth:`CellOracle.read_batch` and the view decoded by :func:`decode_view`.
    An adaptive reader gets the oracle itself. Outputs are graded by
    :meth:`PlantedCellBatch.success`.

    Parameters
    ----------
    reader : Reader
    batch : PlantedCellBatch
    budget : int
        Cells per trial, ``0 <= budget``.
    seed : int or Generator, default 0
        The reader's random bits.
    eta, alpha : float
        Tolerances of the grading notion.
    index_seed : int or Generator, default 0
        The seed of randomised insertion-time indexes.

    Returns
    -------
    ReaderRun

    Examples
    --------
    >>> from kvtheory.instances.nonadaptive import (sample_planted_key, run_reader,
    ...     ArgmaxPointer)
    >>> batch = sample_planted_key(10_000, 64, trials=20, seed=0)
    >>> run = run_reader(ArgmaxPointer(), batch, budget=65)
    >>> f"success {run.rate:.2f} with {int(run.cost.max())} of {10_000 * 64} cells"
    'success 1.00 with 65 of 640000 cells'
    """
    if not isinstance(reader, Reader):
        raise TypeError(f"reader must be a Reader, got {type(reader).__name__}")
    if not isinstance(batch, PlantedCellBatch):
        raise TypeError(f"batch must be a PlantedCellBatch, got {type(batch).__name__}")
    budget = check_int(budget, "budget", lo=0)
    rng = check_rng(seed)
    gamma = batch.gamma if batch.problem == "key" else 0.1
    oracle = batch.oracle(budget, adaptive=reader.adaptive, index=reader.index,
                          index_seed=index_seed)
    n, d, B = batch.n, batch.d, batch.trials
    if reader.adaptive:
        outputs = reader.run(oracle, batch.problem, n, d, gamma, rng)
    else:
        request = reader.cells(batch.problem, n, d, budget, B, rng)
        contents = oracle.read_batch(request)
        view: dict = {}
        for region, req in request.items():
            flat, mask = req if isinstance(req, tuple) else (req, None)
            _merge_view(view, region, flat, contents[region], mask)
        outputs = decode_view(batch.problem, n, d, view, gamma=gamma, seed=rng)
    success = batch.success(outputs, eta=eta, alpha=alpha)
    return ReaderRun(reader.name, batch.problem, budget, success, oracle.cost,
                     oracle.cost_by_region, oracle.rounds)
