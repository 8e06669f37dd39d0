r"""The game of Chapter 8's cell-probe model: the reader interface, decoding, the runner.

* :class:`Reader` is the interface every reader implements: a non-adaptive
  reader returns its whole cell set from ``cells(problem, n, d, T, trials,
  rng)`` (it never sees the oracle), an adaptive one reads in rounds in
  ``run(oracle, ...)``.
* :func:`decode_view` is the output rule: the output depends only on the
  cells read and the reader's random bits.
* :func:`run_reader` plays a reader against a :class:`PlantedCellBatch`,
  with every trial's accounting kept separately, and grades the outputs
  against exact attention.

References
----------
.. [1] A. C.-C. Yao. Probabilistic computations: toward a unified measure of
   complexity. FOCS 1977.
.. [2] K. G. Larsen, J. Nelson, H. L. Nguyen. Time lower bounds for nonadaptive
   turnstile streaming algorithms. STOC 2015.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validate import check_choice, check_int, check_real, check_rng
from .planted import PROBLEMS, PlantedCellBatch

__all__ = ["Reader", "decode_view", "ReaderRun", "run_reader"]


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


class Reader:
    """The interface every cache reader of the cell-probe model implements.

    A non-adaptive reader implements ``cells(problem, n, d, T, trials, rng)``,
    returning its whole request ``region -> (trials, m)`` flat cells (or
    ``(flat, mask)``); it never receives the oracle, so its set depends only
    on the sizes, the budget and its random bits (the chapter's model: the
    step index and the seed). :func:`run_reader` submits the set in one
    batch and turns the view into outputs with :meth:`decode`. An adaptive
    reader implements ``run(oracle, problem, n, d, gamma, rng)`` and reads in
    rounds.

    Attributes
    ----------
    name : str
        Display name.
    adaptive : bool
        Whether the reader reads in several rounds.
    structures : tuple of str
        Insertion-time structures it relies on (empty for the chapter's
        model of a cache reader).
    """

    name = "reader"
    adaptive = False
    structures: tuple = ()

    def decode(self, problem: str, n: int, d: int, view: dict, *, gamma: float,
               rng: np.random.Generator) -> np.ndarray:
        """Outputs ``(trials, d)`` from the cells read; by default :func:`decode_view`."""
        return decode_view(problem, n, d, view, gamma=gamma, seed=rng)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


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
               eta: float = 0.5, alpha: float = 0.2, structure_seed=0) -> ReaderRun:
    """Play ``reader`` against every trial of ``batch`` with a budget of ``budget`` cells.

    A non-adaptive reader's :meth:`cells` receives only
    ``(problem, n, d, T, trials, rng)``; its set is submitted in a single
    :meth:`CellOracle.read_batch` and the view decoded by :meth:`Reader.decode`.
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
    structure_seed : int or Generator, default 0
        The seed of randomised insertion-time structures.

    Returns
    -------
    ReaderRun

    Examples
    --------
    >>> from kvtheory.cellprobe import (sample_planted_key, run_reader,
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
    oracle = batch.oracle(budget, adaptive=reader.adaptive, structures=reader.structures,
                          structure_seed=structure_seed)
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
        outputs = reader.decode(batch.problem, n, d, view, gamma=gamma, rng=rng)
    success = batch.success(outputs, eta=eta, alpha=alpha)
    return ReaderRun(reader.name, batch.problem, budget, success, oracle.cost,
                     oracle.cost_by_region, oracle.rounds)
