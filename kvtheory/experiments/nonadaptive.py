"""Experiments of Chapter 8: non-adaptive readers against the time barrier.

Every function returns plain records (lists of dicts). All randomness comes
from the ``seed`` argument; the same seed gives the same records.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_int, check_real, check_rng
from ..instances.nonadaptive import (
    ADAPTIVE_READERS,
    NONADAPTIVE_READERS,
    PROBLEMS,
    make_reader,
    run_reader,
    sample_planted_key,
    sample_planted_value,
    success_bound,
)

__all__ = ["nonadaptive_sweep", "min_budget", "adaptive_costs", "summary_escape",
           "format_table"]


def _batch(problem, n, d, trials, rng, gamma):
    if problem == "value":
        return sample_planted_value(n, d, trials=trials, seed=rng)
    return sample_planted_key(n, d, trials=trials, gamma=gamma, seed=rng)


def _check_readers(readers, allowed):
    if isinstance(readers, str):
        readers = (readers,)
    readers = tuple(readers)
    if not readers:
        raise ValueError("readers must name at least one reader")
    for r in readers:
        check_choice(r, "readers", allowed)
    return readers


def nonadaptive_sweep(problem: str = "value", n: int = 64, d: int = 16, *,
                      fractions=(0.0, 0.25, 0.5, 0.75, 1.0),
                      readers=("uniform", "rows", "columns", "prefix"),
                      trials: int = 1000, gamma: float = 0.1, seed=0) -> list[dict]:
    r"""Success of non-adaptive readers against the budget, with the ceiling.

    One batch of ``trials`` draws is shared by every reader and budget
    (common random numbers). The budget is :math:`T=\mathrm{round}(f\cdot nd)`
    cells for each fraction :math:`f`: value cells for problem (a), cells of
    :math:`K` and :math:`V` together for problem (b).

    Parameters
    ----------
    problem : {"value", "key"}
        The hard distribution: (a) on the 50/50 mixture, or (b).
    n, d : int
        Cached tokens and head dimension (``n * d <= 200_000``).
    fractions : sequence of float
        Budgets as fractions of :math:`nd`, each in ``[0, 2]``.
    readers : sequence of str
        Keys of :data:`~kvtheory.instances.nonadaptive.NONADAPTIVE_READERS`, or
        ``"pointer rows"`` (problem (b) only).
    trials : int, default 1000
    gamma : float, default 0.1
        Problem (b)'s weight parameter.
    seed : int or Generator, default 0

    Returns
    -------
    list of dict
        One record per (reader, budget): ``reader``, ``problem``, ``T``,
        ``frac`` (:math:`T/(nd)`), ``value_frac`` (mean value cells read over
        :math:`nd`), ``success``, ``se`` (binomial standard error) and
        ``bound`` (:math:`\tfrac12+\tfrac{\mathbb E|S_V|}{2nd}`, capped at 1).

    Examples
    --------
    >>> from kvtheory.experiments.nonadaptive import nonadaptive_sweep
    >>> rec = nonadaptive_sweep("value", 16, 8, fractions=(0.5,), readers=("prefix",),
    ...                         trials=2000, seed=1)
    >>> r = rec[0]
    >>> f"{r['frac']:.2f} {r['success']:.3f} +- {r['se']:.3f}  bound {r['bound']:.3f}"
    '0.50 0.758 +- 0.010  bound 0.750'
    """
    check_choice(problem, "problem", PROBLEMS)
    n = check_int(n, "n", lo=2)
    d = check_int(d, "d", lo=1)
    if n * d > 200_000:
        raise ValueError(f"n * d must be <= 200000, got {n * d}")
    trials = check_int(trials, "trials", lo=1, hi=100_000)
    if trials * n * d > 20_000_000:
        raise ValueError("trials * n * d must be <= 20,000,000 (memory and time)")
    fr = np.asarray(fractions, dtype=float) if not isinstance(fractions, str) else None
    if fr is None or fr.ndim != 1 or fr.size == 0 or not np.all(np.isfinite(fr)) \
            or np.any(fr < 0) or np.any(fr > 2):
        raise ValueError("fractions must be a non-empty sequence of numbers in [0, 2]")
    allowed = dict(NONADAPTIVE_READERS)
    if problem == "key":
        allowed["pointer rows"] = None
    readers = _check_readers(readers, allowed)
    rng = check_rng(seed)
    batch = _batch(problem, n, d, trials, rng, gamma)
    cap = n * d if problem == "value" else 2 * n * d
    records = []
    for name in readers:
        reader = make_reader(name)
        for f in fr:
            T = int(min(cap, round(f * n * d)))
            run = run_reader(reader, batch, T, seed=rng)
            vcells = float(np.mean(run.cost_by_region["V"]))
            records.append({
                "reader": reader.name, "problem": problem, "n": n, "d": d, "T": T,
                "frac": T / (n * d), "value_frac": vcells / (n * d),
                "success": run.rate, "se": run.se,
                "bound": float(success_bound(vcells, n, d)),
            })
    return records


def min_budget(reader, batch, *, target: float = 0.99, seed=0) -> dict:
    r"""Smallest budget at which ``reader`` reaches success ``target`` on ``batch``.

    Runs the reader once with a budget covering every cell of the cache and
    of any index (``2nd + n + 2(d+2) + 2d``), then binary-searches budgets up
    to the largest cost of that run, re-running the reader with the same seed
    at each probe. Success of the readers of this module does not decrease
    with the budget, which the search relies on.

    Parameters
    ----------
    reader : Reader or str
        A reader or a name accepted by
        :func:`~kvtheory.instances.nonadaptive.make_reader`.
    batch : PlantedCellBatch
    target : float, default 0.99
        In ``(0, 1]``.
    seed : int, default 0
        The reader's seed (an integer, so every probe replays the same coins).

    Returns
    -------
    dict
        ``reader``, ``budget`` (the smallest budget found, or ``None`` if even
        the full budget misses the target), ``success``, ``se``, ``mean_cost``,
        ``max_cost``, ``rounds``.

    Examples
    --------
    >>> from kvtheory.instances.nonadaptive import sample_planted_key
    >>> from kvtheory.experiments.nonadaptive import min_budget
    >>> r = min_budget("argmax pointer", sample_planted_key(500, 32, trials=50, seed=0))
    >>> r["budget"], f"{r['success']:.2f}"
    (33, '1.00')
    """
    if isinstance(reader, str):
        reader = make_reader(reader)
    target = check_real(target, "target", lo=0, hi=1, lo_open=True)
    seed = check_int(seed, "seed", lo=0)
    hi = 2 * batch.n * batch.d + batch.n + 2 * (batch.d + 2) + 2 * batch.d

    def attempt(T):
        return run_reader(reader, batch, T, seed=seed)

    top = attempt(hi)
    if top.rate < target:
        return {"reader": reader.name, "budget": None, "success": top.rate, "se": top.se,
                "mean_cost": float(top.cost.mean()), "max_cost": int(top.cost.max()),
                "rounds": top.rounds}
    # a budget above the largest cost of the unconstrained run changes nothing
    lo, best = -1, top
    best_T = int(top.cost.max())
    while best_T - lo > 1:
        mid = (lo + best_T) // 2
        run = attempt(mid)
        if run.rate >= target:
            best_T, best = mid, run
        else:
            lo = mid
    return {"reader": reader.name, "budget": best_T, "success": best.rate, "se": best.se,
            "mean_cost": float(best.cost.mean()), "max_cost": int(best.cost.max()),
            "rounds": best.rounds}


def adaptive_costs(n: int = 10_000, d: int = 64, *,
                   readers=("key-max scan", "lsh", "argmax pointer"), target: float = 0.99,
                   trials: int = 200, gamma: float = 0.1, seed=0) -> list[dict]:
    r"""Cells each adaptive reader needs to reach ``target`` success on problem (b).

    Returns one record per reader from :func:`min_budget`, plus ``n``, ``d``,
    ``nd`` and ``frac`` (budget over :math:`nd`).

    Examples
    --------
    >>> from kvtheory.experiments.nonadaptive import adaptive_costs
    >>> for r in adaptive_costs(1000, 16, trials=40, seed=0):
    ...     print(f"{r['reader']:<26} {r['budget']:>5} cells, success {r['success']:.2f}")
    key-max scan (adaptive)     1016 cells, success 1.00
    LSH buckets (adaptive)        52 cells, success 1.00
    argmax pointer (adaptive)     17 cells, success 1.00
    """
    n = check_int(n, "n", lo=2)
    d = check_int(d, "d", lo=1)
    trials = check_int(trials, "trials", lo=1, hi=100_000)
    readers = _check_readers(readers, ADAPTIVE_READERS)
    if "scan" in readers and n * d > 100_000:
        raise ValueError("the index-free scan is limited to n * d <= 100000 (it reads ~nd cells)")
    rng = check_rng(seed)
    batch = sample_planted_key(n, d, trials=trials, gamma=gamma, seed=rng)
    out = []
    for name in readers:
        rec = min_budget(name, batch, target=target, seed=int(rng.integers(2**31)))
        rec.update({"n": n, "d": d, "nd": n * d,
                    "frac": None if rec["budget"] is None else rec["budget"] / (n * d)})
        out.append(rec)
    return out


def summary_escape(n: int = 1000, d: int = 64, *, trials: int = 200, gamma: float = 0.1,
                   seed=0) -> list[dict]:
    r"""Remark 1: a non-adaptive reader with insertion-time summaries escapes.

    Plays :class:`~kvtheory.instances.nonadaptive.SummaryReader` (fixed cells,
    one batch) on both problems with a budget of ``d`` cells, next to the best
    non-adaptive reader of the model at the same budget (whose ceiling is
    :math:`\tfrac12+\tfrac{d}{2nd}`).

    Returns
    -------
    list of dict
        ``problem``, ``reader``, ``cells`` (max charged), ``success``, ``se``,
        ``bound`` (the model's ceiling at that budget).

    Examples
    --------
    >>> from kvtheory.experiments.nonadaptive import summary_escape
    >>> for r in summary_escape(200, 8, trials=100, seed=0):
    ...     print(f"{r['problem']:<5} {r['reader']:<24} {r['cells']:>2} {r['success']:.2f}")
    value insertion-time summary    8 1.00
    value prefix (deterministic)    8 0.56
    key   insertion-time summary    8 1.00
    key   prefix (deterministic)    8 0.00
    """
    n = check_int(n, "n", lo=2)
    d = check_int(d, "d", lo=1)
    trials = check_int(trials, "trials", lo=1, hi=100_000)
    rng = check_rng(seed)
    out = []
    for problem in PROBLEMS:
        batch = _batch(problem, n, d, trials, rng, gamma)
        for name in ("summary", "prefix"):
            run = run_reader(make_reader(name), batch, d, seed=rng)
            out.append({"problem": problem, "reader": run.reader,
                        "cells": int(run.cost.max()), "success": run.rate, "se": run.se,
                        "bound": float(success_bound(d, n, d))})
    return out


def format_table(records: list[dict]) -> str:
    r"""A fixed-width text table of :func:`nonadaptive_sweep` records.

    Columns: reader, :math:`T/(nd)`, value cells over :math:`nd`, success
    :math:`\pm` SE, the ceiling, and whether the measurement lies within
    3 SE below the ceiling (``ok``).

    Examples
    --------
    >>> from kvtheory.experiments.nonadaptive import nonadaptive_sweep, format_table
    >>> print(format_table(nonadaptive_sweep("value", 8, 4, fractions=(1.0,),
    ...                                      readers=("rows",), trials=50)))
    reader                          T/(nd)  |S_V|/(nd)   success  +- SE   bound  <= bound + 3 SE
    row sampling                     1.000       1.000     1.000  0.000   1.000  yes
    """
    lines = [f"{'reader':<30}{'T/(nd)':>8}{'|S_V|/(nd)':>12}{'success':>10}"
             f"{'+- SE':>7}{'bound':>8}  <= bound + 3 SE"]
    for r in records:
        ok = r["success"] <= r["bound"] + 3 * r["se"] + 1e-12
        lines.append(f"{r['reader']:<30}{r['frac']:>8.3f}{r['value_frac']:>12.3f}"
                     f"{r['success']:>10.3f}{r['se']:>7.3f}{r['bound']:>8.3f}  "
                     f"{'yes' if ok else 'NO'}")
    return "\n".join(lines)
