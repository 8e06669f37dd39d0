r"""The cell oracle of Chapter 8's cell-probe model.

:class:`CellOracle` holds the stored arrays (and any structure built at
insertion time) and hands out only the cells a reader pays for: one unit per
cell, a hard budget :math:`T`, costs kept per trial. In non-adaptive mode the
reader submits its whole cell set in **one** :meth:`CellOracle.read_batch`
call, before it has seen any content; an adaptive oracle allows rounds.

A *trial* is one independent draw of an instance together with one run of a
reader on fresh random bits; everything is vectorised over trials, and every
oracle call charges each trial for the cells requested on its behalf.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int

__all__ = ["BudgetExceededError", "AdaptivityError", "CellOracle"]


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
    ``(n, d)``, plus any structure built at insertion time), one copy per trial.
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
    >>> from kvtheory.cellprobe import CellOracle
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
    kvtheory.cellprobe.oracle.AdaptivityError: a non-adaptive reader submits ...
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
