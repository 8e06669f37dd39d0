r"""The planted-cell distributions of Chapter 8, and insertion-time structures.

* :func:`sample_planted_value` and :func:`sample_planted_key` draw batches of
  the two hard distributions (:class:`PlantedCellBatch`): (a) a lone value cell
  :math:`V[t^*,l^*]=1` planted with probability 1/2 among zeros, for
  :math:`(\mathrm E_\eta)`; (b) a lone key cell :math:`K[t^*,l^*]=L=\ln(n/\gamma)`
  among zeros with fair :math:`\pm1` values and :math:`q=\mathbf 1_d`, for
  :math:`(\mathrm A_\alpha)`.
* :data:`STRUCTURES` are what an algorithm could build while the tokens are
  inserted (a per-token key maximum, an argmax pointer, an LSH directory, a
  running summary). The chapter's model excludes them; they exist to show
  what breaks when they are allowed. :func:`build_structure` is the dense
  reference of what the oracle stores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._validate import as_real_array, check_choice, check_int, check_real, check_rng
from .oracle import CellOracle

__all__ = ["PROBLEMS", "STRUCTURES", "planted_key_scale", "success_bound",
           "worst_case_bound", "PlantedCellBatch", "sample_planted_value",
           "sample_planted_key", "build_structure"]

#: The two hard distributions: ``"value"`` is (a), ``"key"`` is (b).
PROBLEMS = ("value", "key")

#: Structures an algorithm may build at insertion time (all are excluded by
#: the chapter's definition of a cache reader; they exist to show what breaks
#: when they are allowed).
STRUCTURES = ("key_rowmax", "argmax", "lsh", "summary")

#: Largest number of stored bits a batch may hold (about 125 MB).
_MAX_BATCH_BITS = 10**9
_LSH_BITS = 16


def planted_key_scale(n: int, gamma: float) -> float:
    r"""The planted key entry :math:`L=\ln(n/\gamma)` of distribution (b).

    With :math:`q=\mathbf 1_d`, the planted token scores :math:`L` and the other
    :math:`n` tokens (the :math:`n-1` other cached tokens and the current one)
    score 0, so :math:`w_{t^*}=e^L/(e^L+n)=1/(1+\gamma)`.

    Examples
    --------
    >>> from kvtheory.cellprobe import planted_key_scale
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
    its value cells (the time-barrier theorem of Chapter 8).

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
    >>> from kvtheory.cellprobe import success_bound
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


def worst_case_bound(T, n: int, d: int) -> np.ndarray | float:
    r"""The ceiling :math:`\frac{1+dT/(nd)}{d+1}` on success on *every* input of (a).

    A non-adaptive reader that reads :math:`T` value cells in expectation
    and succeeds with probability at least :math:`s_0` on the all-zero input
    succeeds on a uniformly planted :math:`D_1` input with probability at
    most :math:`\frac{T}{nd}+\frac{1-s_0}{d}`; the smaller of the two is
    largest when they are equal, which gives this ceiling (the time-barrier
    theorem of Chapter 8, part (a), solved for the success). A reader that
    reads everything with probability :math:`T/(nd)` and otherwise guesses
    (:class:`~kvtheory.cellprobe.HedgedReader`) attains it.

    Parameters
    ----------
    T : int, float or array_like
        Value cells read in expectation, ``0 <= T``.
    n, d : int
        Cached tokens and head dimension.

    Returns
    -------
    float or numpy.ndarray
        The bound, same shape as ``T``, capped at 1.

    Examples
    --------
    >>> from kvtheory.cellprobe import worst_case_bound
    >>> f"{worst_case_bound(0, 64, 16):.4f} {worst_case_bound(512, 64, 16):.4f}"
    '0.0588 0.5294'
    """
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    T_arr = as_real_array(T, "T")
    if np.any(T_arr < 0):
        raise ValueError("T must be nonnegative")
    f = np.minimum(1.0, T_arr / (n * d))
    out = (1.0 + d * f) / (d + 1.0)
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

    # -- structures an algorithm could build while the tokens were inserted --------
    def _structure_regions(self, kinds, seed) -> dict:
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
        if "summary" in kinds:                          # what the cache-reader model forbids
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
        """Directory of a sign-hash bucket structure (see :func:`build_structure`).

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
    def oracle(self, budget: int, *, adaptive: bool, structures=(),
               structure_seed=0) -> CellOracle:
        """A fresh :class:`CellOracle` over this batch.

        Parameters
        ----------
        budget : int
            Cells each trial may read.
        adaptive : bool
            Allow several rounds.
        structures : sequence of str, optional
            Insertion-time structures to store beside ``K`` and ``V`` (names in
            :data:`STRUCTURES`); reading them costs one unit per cell too.
        structure_seed : int or Generator, default 0
            The algorithm's seed for randomised structures (``"lsh"``).
        """
        for kind in structures:
            check_choice(kind, "structures", STRUCTURES)
        shape = (self.n, self.d)
        regions = {"K": (shape, self._fetch_K), "V": (shape, self._fetch_V)}
        regions.update(self._structure_regions(tuple(structures), structure_seed))
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


def sample_planted_value(n: int, d: int, *, trials: int, seed=0,
                         planted: bool | None = None) -> PlantedCellBatch:
    r"""Draw ``trials`` instances of distribution (a), on the 50/50 mixture or one class.

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
    planted : bool or None, default None
        ``None``: the 50/50 mixture. ``False``: every trial is the all-zero
        input :math:`D_0`. ``True``: every trial is a :math:`D_1` input with
        a uniform planted cell. The two classes let an experiment measure
        success on each input class separately (the worst-case notion).

    Returns
    -------
    PlantedCellBatch

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> from kvtheory.cellprobe import sample_planted_value
    >>> b = sample_planted_value(5, 3, trials=4, seed=1)
    >>> q, K, V = b.materialize(0)
    >>> bool(np.allclose(kv.attention(q, K, V), b.exact_outputs()[0]))
    True
    """
    n, d, trials = _check_sizes(n, d, trials)
    rng = check_rng(seed)
    if planted is not None and not isinstance(planted, (bool, np.bool_)):
        raise TypeError(f"planted must be None or a bool, got {type(planted).__name__}")
    coin = rng.random(trials) < 0.5
    flags = coin if planted is None else np.full(trials, bool(planted))
    t_star = rng.integers(0, n, size=trials)
    l_star = rng.integers(0, d, size=trials)
    return PlantedCellBatch("value", n, d, 0.0, 0.0, flags, t_star, l_star)


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
    >>> from kvtheory.cellprobe import sample_planted_key
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


def build_structure(K, V, kind: str, *, seed=0) -> np.ndarray:
    r"""Build an insertion-time structure from dense ``K, V`` of one trial.

    The reference implementation of what :meth:`PlantedCellBatch.oracle`
    stores for ``structures=(kind,)`` (tests check the two agree). Each can
    be maintained in :math:`O(d)` time per inserted token.

    * ``"key_rowmax"``: :math:`(\max_l|K[t,l]|)_{t<n}`, ``n`` numbers.
    * ``"argmax"``: the first :math:`t` maximising that, one pointer.
    * ``"summary"``: :math:`\sum_t V[t]` followed by the value row of the
      argmax token, ``2d`` numbers (the summaries the cache-reader model must exclude).
    * ``"lsh"``: keys hashed by the signs of ``m = 16`` Gaussian hyperplanes
      (the same draw as the oracle's for ``structure_seed=seed``, trial 0);
      buckets in order of first insertion; per bucket
      ``[size, representative, representative key]`` (first member).

    Parameters
    ----------
    K, V : array_like
        ``(n, d)`` keys and values (without the current token).
    kind : str
        One of :data:`STRUCTURES`.
    seed : int or Generator, default 0
        Hyperplane seed for ``"lsh"``.

    Returns
    -------
    numpy.ndarray
        The structure, flattened as the oracle stores it.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.cellprobe import build_structure
    >>> K = np.zeros((4, 2)); K[2, 1] = -3.0
    >>> build_structure(K, np.ones((4, 2)), "argmax")
    array([2.])
    """
    K = as_real_array(K, "K", ndim=2)
    V = as_real_array(V, "V", shape=K.shape)
    check_choice(kind, "kind", STRUCTURES)
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
