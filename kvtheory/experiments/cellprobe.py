"""Experiments of Chapter 8: cache readers against the time barrier.

Every function returns plain records (lists of dicts). All randomness comes
from the ``seed`` argument; the same seed gives the same records.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_int, check_real, check_rng
from ..cellprobe import (
    ADAPTIVE_READERS,
    NONADAPTIVE_READERS,
    PROBLEMS,
    HedgedReader,
    make_reader,
    run_reader,
    sample_planted_key,
    sample_planted_value,
    success_bound,
    worst_case_bound,
)
from ..tables import Table

__all__ = ["nonadaptive_sweep", "worst_case_sweep", "min_budget", "adaptive_costs",
           "summary_escape", "format_table", "format_worst_case_table"]


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
        Keys of :data:`~kvtheory.cellprobe.NONADAPTIVE_READERS`, or
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
    >>> from kvtheory.experiments.cellprobe import nonadaptive_sweep
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


def worst_case_sweep(n: int = 64, d: int = 16, *, fractions=(0.0, 0.25, 0.5, 0.75, 1.0),
                     readers=("uniform", "rows", "columns", "prefix", "hedged"),
                     trials: int = 2000, seed=0) -> list[dict]:
    r"""Success on each input class of problem (a), against the worst-case ceiling.

    The time-barrier theorem of Chapter 8 asks for success on *every* input.
    Problem (a) has two input classes: the all-zero cache :math:`D_0` (one
    input) and the planted caches :math:`D_1` (one per cell). This runs each
    reader on a batch of :math:`D_0` draws and on a batch of uniformly
    planted :math:`D_1` draws (both shared by every reader and budget) and
    reports the success on each, their minimum (the worst input does no
    better than either class's average), the mixture (their mean), and two
    predictions of the proof at the measured value cells
    :math:`f=\mathbb E|S_V|/(nd)`: the line :math:`s_1\le f+\frac{1-s_0}{d}`
    and the ceiling :math:`\min(s_0,s_1)\le\frac{1+df}{d+1}`.

    The non-adaptive readers of
    :data:`~kvtheory.cellprobe.NONADAPTIVE_READERS` read
    :math:`T=\mathrm{round}(f\cdot nd)` cells; ``"hedged"`` is
    :class:`~kvtheory.cellprobe.HedgedReader` with ``p = f`` (a budget of all
    :math:`nd` cells, :math:`f\,nd` in expectation).

    Parameters
    ----------
    n, d : int
        Cached tokens and head dimension (``n * d <= 200_000``).
    fractions : sequence of float
        Budgets as fractions of :math:`nd`, each in ``[0, 1]``.
    readers : sequence of str
        Keys of :data:`~kvtheory.cellprobe.NONADAPTIVE_READERS`, or ``"hedged"``.
    trials : int, default 2000
        Draws per input class.
    seed : int or Generator, default 0

    Returns
    -------
    list of dict
        One record per (reader, budget): ``reader``, ``n``, ``d``, ``frac``
        (mean value cells over :math:`nd`), ``s0``, ``se0``, ``s1``, ``se1``,
        ``mixture``, ``worst`` (:math:`\min(s_0,s_1)`), ``line``
        (:math:`f+\frac{1-s_0}{d}`) and ``bound`` (the worst-case ceiling).

    Examples
    --------
    >>> from kvtheory.experiments.cellprobe import worst_case_sweep
    >>> for r in worst_case_sweep(16, 4, fractions=(0.5,), readers=("uniform", "hedged"),
    ...                           trials=2000, seed=1):
    ...     print(f"{r['reader']:<24}{r['s0']:.3f} {r['s1']:.3f} {r['bound']:.3f}")
    uniform cells           1.000 0.505 0.600
    hedged (all or nothing) 0.605 0.602 0.599
    """
    n = check_int(n, "n", lo=2)
    d = check_int(d, "d", lo=1)
    if n * d > 200_000:
        raise ValueError(f"n * d must be <= 200000, got {n * d}")
    trials = check_int(trials, "trials", lo=1, hi=100_000)
    if trials * n * d > 20_000_000:
        raise ValueError("trials * n * d must be <= 20,000,000 (memory and time)")
    fr = np.asarray(fractions, dtype=float) if not isinstance(fractions, str) else None
    if fr is None or fr.ndim != 1 or fr.size == 0 or not np.all(np.isfinite(fr)) \
            or np.any(fr < 0) or np.any(fr > 1):
        raise ValueError("fractions must be a non-empty sequence of numbers in [0, 1]")
    readers = _check_readers(readers, {**NONADAPTIVE_READERS, "hedged": None})
    rng = check_rng(seed)
    classes = [sample_planted_value(n, d, trials=trials, seed=rng, planted=flag)
               for flag in (False, True)]
    nd = n * d
    records = []
    for name in readers:
        for f in fr:
            if name == "hedged":
                reader, T = HedgedReader(float(f)), nd
            else:
                reader, T = make_reader(name), int(round(f * nd))
            runs = [run_reader(reader, batch, T, seed=rng) for batch in classes]
            cells = float(np.mean([run.cost_by_region["V"].mean() for run in runs]))
            s0, s1 = runs[0].rate, runs[1].rate
            records.append({
                "reader": reader.name, "n": n, "d": d, "frac": cells / nd,
                "s0": s0, "se0": runs[0].se, "s1": s1, "se1": runs[1].se,
                "mixture": (s0 + s1) / 2, "worst": min(s0, s1),
                "line": cells / nd + (1 - s0) / d,
                "bound": float(worst_case_bound(cells, n, d)),
            })
    return records


def min_budget(reader, batch, *, target: float = 0.99, seed=0) -> dict:
    r"""Smallest budget at which ``reader`` reaches success ``target`` on ``batch``.

    Runs the reader once with a budget covering every cell of the cache and
    of any insertion-time structure (``2nd + n + 2(d+2) + 2d``), then binary-searches budgets up
    to the largest cost of that run, re-running the reader with the same seed
    at each probe. Success of the readers of this module does not decrease
    with the budget, which the search relies on.

    Parameters
    ----------
    reader : Reader or str
        A reader or a name accepted by
        :func:`~kvtheory.cellprobe.make_reader`.
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
    >>> from kvtheory.cellprobe import sample_planted_key
    >>> from kvtheory.experiments.cellprobe import min_budget
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
    >>> from kvtheory.experiments.cellprobe import adaptive_costs
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
        raise ValueError("the structure-free scan is limited to n * d <= 100000 "
                         "(it reads ~nd cells)")
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
    r"""A non-adaptive reader with insertion-time summaries escapes the barrier.

    Plays :class:`~kvtheory.cellprobe.SummaryReader` (fixed cells,
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
    >>> from kvtheory.experiments.cellprobe import summary_escape
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


def format_table(records: list[dict]) -> Table:
    r"""A table of :func:`nonadaptive_sweep` records (a :class:`kvtheory.Table`).

    Columns: reader, :math:`T/(nd)`, value cells over :math:`nd`, success
    :math:`\pm` SE, the ceiling, and whether the measurement lies within
    3 SE below the ceiling (``ok``: ``yes`` / ``NO``).

    Examples
    --------
    >>> from kvtheory.experiments.cellprobe import nonadaptive_sweep, format_table
    >>> print(format_table(nonadaptive_sweep("value", 8, 4, fractions=(1.0,),
    ...                                      readers=("rows",), trials=50)))
    reader        T/(nd)  |S_V|/(nd)  success   ± SE  ceiling  ok
                    3 dp        3 dp     3 dp   3 dp     3 dp
    ------------  ------  ----------  -------  -----  -------  ---
    row sampling   1.000       1.000    1.000  0.000    1.000  yes
    ok: success at most the ceiling + 3 SE
    """
    rows = [dict(r, ok="yes" if r["success"] <= r["bound"] + 3 * r["se"] + 1e-12 else "NO")
            for r in records]
    return Table(rows, [("reader", "reader"), ("frac", "T/(nd)"), ("value_frac", "|S_V|/(nd)"),
                        ("success", "success"), ("se", "± SE"), ("bound", "ceiling"),
                        ("ok", "ok")],
                 fmt={k: ".3f" for k in ("frac", "value_frac", "success", "se", "bound")},
                 notes=["ok: success at most the ceiling + 3 SE"])


def format_worst_case_table(records: list[dict]) -> Table:
    r"""A table of :func:`worst_case_sweep` records (a :class:`kvtheory.Table`).

    Columns: reader, :math:`f=\mathbb E|S_V|/(nd)`, success :math:`s_0` on
    :math:`D_0` and :math:`s_1` on :math:`D_1` (each :math:`\pm` SE), the
    mixture, the line :math:`f+(1-s_0)/d` that bounds :math:`s_1`, the worse
    class :math:`\min(s_0,s_1)`, the worst-case ceiling, and whether that
    minimum lies at most 3 SE above the ceiling (``ok``).

    Examples
    --------
    >>> from kvtheory.experiments.cellprobe import worst_case_sweep, format_worst_case_table
    >>> print(format_worst_case_table(worst_case_sweep(8, 4, fractions=(1.0,),
    ...                                                readers=("rows",), trials=50)))
    reader            f     s0   ± SE     s1   ± SE  mixture   line    min  ceiling  ok
                   3 dp   3 dp   3 dp   3 dp   3 dp     3 dp   3 dp   3 dp     3 dp
    ------------  -----  -----  -----  -----  -----  -------  -----  -----  -------  ---
    row sampling  1.000  1.000  0.000  1.000  0.000    1.000  1.000  1.000    1.000  yes
    """
    rows = []
    for r in records:
        se = r["se0"] if r["s0"] <= r["s1"] else r["se1"]
        rows.append(dict(r, ok="yes" if r["worst"] <= r["bound"] + 3 * se + 1e-12 else "NO"))
    keys = ("frac", "s0", "se0", "s1", "se1", "mixture", "line", "worst", "bound")
    return Table(rows, [("reader", "reader"), ("frac", "f"), ("s0", "s0"), ("se0", "± SE"),
                        ("s1", "s1"), ("se1", "± SE"), ("mixture", "mixture"),
                        ("line", "line"), ("worst", "min"), ("bound", "ceiling"),
                        ("ok", "ok")],
                 fmt={k: ".3f" for k in keys})
