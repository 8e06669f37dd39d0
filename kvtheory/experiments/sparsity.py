"""Experiments of Chapter 6: 1-sparse hard instances and eviction adversaries.

The eviction methods come from the benchmark's registry
(:data:`kvtheory.bench.METHODS`, built with :func:`kvtheory.bench.make_method`
at a budget of kept tokens); the needle streams from
:mod:`kvtheory.instances.sparsity`.
"""

from __future__ import annotations

import functools

import numpy as np

from .._validate import check_choice, check_int, check_real, check_rng
from ..bench import METHODS, make_method
from ..information import H2
from ..instances.index import run_index_protocol
from ..instances.sparsity import (
    ADVERSARY_OF,
    BENIGN_OF,
    NEEDLE_STREAMS,
    STREAMS,
    needle_top1_profile,
    run_needle_game,
    top1_mass_profile,
)
from ..stream import ExactCache, run_stream

__all__ = ["SCORERS", "method_factory", "sparse_instance_summary", "adversary_concentration",
           "eviction_table", "eviction_vs_budget", "needle_game_view"]

#: The eviction scorers of Chapter 6, by their registry keys: the six deterministic
#: policies with an adversary, then random eviction.
SCORERS: tuple[str, ...] = ("knorm", "highnorm", "h2o", "tova", "snapkv", "keydiff", "random")


def method_factory(key: str, budget: int, n: int, d: int, *, seed=0):
    """A no-argument factory for the registered method ``key`` keeping ``budget`` tokens.

    ``seed`` seeds one generator shared by the instances the factory makes,
    so a randomised method draws fresh choices in every trial.

    Examples
    --------
    >>> from kvtheory.experiments.sparsity import method_factory
    >>> method_factory("h2o", 8, 64, 16)().kind
    'query-aware'
    """
    check_choice(key, "method", set(METHODS))
    rng = check_rng(seed)
    return functools.partial(make_method, key, budget, n=n, d=d, seed=rng)


def sparse_instance_summary(n: int = 500, d: int = 128, *, trials: int = 200, seed=0,
                            gamma: float = 0.1, eps: float = 0.5, p: float = 0.1,
                            delta: float = 0.1) -> dict:
    r"""Top-1 mass of the Chapter 3 instance with self-queries, and ExactCache decoding it.

    Returns a dict with the profile of
    :func:`~kvtheory.instances.sparsity.top1_mass_profile` (``steps``,
    ``top1``, ``bob_top1``, ``bound``, ``C``), their minima ``min_top1`` and
    ``min_bob_top1``, ``n`` and ``d``, the
    :class:`~kvtheory.instances.index.IndexResult` of ExactCache on the same
    instance (``index``, played with ``queries="self"`` and the same seed),
    and the lower bound ``bound_bits`` :math:`=(1-H_2(p+\delta))nd`.

    Examples
    --------
    >>> from kvtheory.experiments.sparsity import sparse_instance_summary
    >>> s = sparse_instance_summary(100, 96, trials=20)
    >>> bool(s["min_top1"] >= s["bound"]), s["index"].success_rate
    (True, 1.0)
    """
    n = check_int(n, "n", lo=1, hi=5000)
    d = check_int(d, "d", lo=1, hi=4096)
    p = check_real(p, "p", lo=0)
    delta = check_real(delta, "delta", lo=0)
    if not p + delta < 0.5:
        raise ValueError(f"p + delta must be < 1/2, got {p + delta}")
    prof = top1_mass_profile(n, d, seed=seed, gamma=gamma, eps=eps)
    res = run_index_protocol(ExactCache, n, d, trials=trials, seed=seed, gamma=gamma, eps=eps,
                             queries="self")
    prof.update(min_top1=float(prof["top1"].min()), min_bob_top1=float(prof["bob_top1"].min()),
                index=res, bound_bits=float((1 - H2(p + delta)) * n * d), n=n, d=d)
    return prof


def adversary_concentration(n: int = 128, d: int = 16, *, budget: int = 16, seeds=range(5),
                            gamma: float = 0.1, streams=NEEDLE_STREAMS) -> list[dict]:
    r"""How concentrated each needle stream is: its smallest top-1 mass over several draws.

    Returns
    -------
    list of dict
        One row per stream: ``stream``, ``min_alice`` (smallest largest
        weight over Alice's steps and the draws), ``final`` (the needle's
        weight at the final step, smallest over the draws), ``bound``
        :math:`=\frac1{1+\gamma}`, ``concentrated`` (both at least the
        bound, up to rounding).

    Examples
    --------
    >>> from kvtheory.experiments.sparsity import adversary_concentration
    >>> rows = adversary_concentration(33, 8, budget=8, seeds=[0], streams=["h2o-adversary"])
    >>> rows[0]["concentrated"], f"{rows[0]['final']:.4f}"
    (True, '0.9091')
    """
    rows = []
    seeds = [check_int(int(s), "seeds", lo=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must not be empty")
    for name in streams:
        check_choice(name, "streams", set(STREAMS))
        profs = [needle_top1_profile(STREAMS[name](n, d, budget=budget, seed=s, gamma=gamma),
                                     gamma=gamma) for s in seeds]
        alice = min(float(p["top1"].min()) for p in profs)
        final = min(p["needle_final"] for p in profs)
        bound = profs[0]["bound"]
        rows.append({"stream": name, "min_alice": alice, "final": final, "bound": bound,
                     "concentrated": bool(min(alice, final) >= bound - 1e-12)})
    return rows


def _game_row(key, stream, role, n, d, budget, trials, seed):
    r = run_needle_game(method_factory(key, budget, n, d, seed=seed), stream, n, d,
                        budget=budget, trials=trials, seed=seed)
    return {"method": key, "label": METHODS[key].display, "kind": r.kind, "stream": stream,
            "role": role, "success": r.success_rate, "stderr": r.stderr,
            "needle_kept": r.needle_kept, "memory_bits": r.memory_bits}


def eviction_table(n: int = 128, d: int = 16, *, budget: int = 16, trials: int = 20,
                   seed=0, methods=SCORERS, exact: bool = True) -> list[dict]:
    """Each scorer on its own adversary and on its benign stream (random and exact: on all).

    Parameters
    ----------
    n, d, budget, trials
        As in :func:`~kvtheory.instances.sparsity.run_needle_game`; every
        method keeps ``budget`` tokens.
    seed : int
        Every (method, stream) pair replays the same streams.
    methods : sequence of str
        Registry keys (default :data:`SCORERS`).
    exact : bool
        Also play the exact cache on every stream.

    Returns
    -------
    list of dict
        One row per game: ``method``, ``label``, ``kind``, ``stream``,
        ``role`` (``"adversary"``, ``"benign"`` or ``"any"``), ``success``,
        ``stderr``, ``needle_kept``, ``memory_bits``. A method with an
        adversary in :data:`~kvtheory.instances.sparsity.ADVERSARY_OF` gets
        two rows; random eviction and the exact cache, which have none,
        one per stream of
        :data:`~kvtheory.instances.sparsity.NEEDLE_STREAMS`.

    Examples
    --------
    >>> from kvtheory.experiments.sparsity import eviction_table
    >>> rows = eviction_table(33, 8, budget=8, trials=2, methods=["tova"], exact=False)
    >>> [(r["stream"], r["needle_kept"]) for r in rows]
    [('tova-adversary', 0.0), ('benign', 1.0)]
    """
    seed = check_int(seed, "seed", lo=0)
    rows = []
    for key in list(methods) + (["exact"] if exact else []):
        check_choice(key, "methods", set(METHODS))
        if key in ADVERSARY_OF:
            pairs = [(ADVERSARY_OF[key], "adversary"), (BENIGN_OF.get(key, "benign"), "benign")]
        else:
            pairs = [(s, "any") for s in NEEDLE_STREAMS]
        for stream, role in pairs:
            rows.append(_game_row(key, stream, role, n, d, budget, trials, seed))
    return rows


def eviction_vs_budget(budgets=(4, 8, 16, 32), n: int = 128, d: int = 16, *,
                       trials: int = 12, seed=0, methods=SCORERS[:6]) -> dict:
    """Success against budget for each method on its adversary and on its benign stream.

    Returns ``{"budgets": array, "n", "d", "trials", "methods": list, key:
    {"label", "kind", "adversary": (rates, stderrs), "benign": (rates,
    stderrs)}}``; random eviction (no adversary) uses the benign stream for
    both.

    Examples
    --------
    >>> from kvtheory.experiments.sparsity import eviction_vs_budget
    >>> rec = eviction_vs_budget((4,), 9, 4, trials=1, methods=["knorm"])
    >>> rec["knorm"]["kind"], rec["knorm"]["benign"][0].tolist()
    ('oblivious', [1.0])
    """
    budgets = np.array([check_int(int(b), "budgets", lo=1) for b in budgets])
    seed = check_int(seed, "seed", lo=0)
    rng = check_rng(seed)
    out: dict = {"budgets": budgets, "n": n, "d": d, "trials": trials, "methods": list(methods)}
    for key in methods:
        check_choice(key, "methods", set(METHODS))
        rec = {"label": METHODS[key].display, "kind": None}
        pairs = (("adversary", ADVERSARY_OF.get(key, BENIGN_OF.get(key, "benign"))),
                 ("benign", BENIGN_OF.get(key, "benign")))
        for role, stream in pairs:
            rates, errs = [], []
            for b in budgets:
                s = int(rng.integers(2**31))
                r = run_needle_game(method_factory(key, int(b), n, d, seed=s), stream, n, d,
                                    budget=int(b), trials=trials, seed=s)
                rates.append(r.success_rate)
                errs.append(r.stderr)
                rec["kind"] = r.kind
            rec[role] = (np.array(rates), np.array(errs))
        out[key] = rec
    return out


def needle_game_view(method: str = "h2o", stream: str = "h2o-adversary", budget: int = 16,
                     n: int = 128, d: int = 16, *, trials: int = 20, rows: int = 8,
                     seed=0) -> dict:
    """What a method holds before the final query, and its success beside the exact cache.

    Returns
    -------
    dict
        ``method``, ``label``, ``stream``, ``budget``, ``n``, ``needle``
        (its position), ``held`` (list of ``rows`` arrays: positions held
        before the final query in replays of the stream; read back from the
        held values, so the method must expose ``values`` and ignore them in
        its decisions, as the scorers do), ``needle_held``
        (bool per replay), and ``results``: the
        :class:`~kvtheory.instances.sparsity.NeedleResult` of the method and
        of the exact cache over ``trials`` streams.

    Examples
    --------
    >>> from kvtheory.experiments.sparsity import needle_game_view
    >>> v = needle_game_view("tova", "benign", 8, 33, 8, trials=2, rows=2)
    >>> v["needle_held"], [len(h) for h in v["held"]]
    ([True, True], [8, 8])
    """
    check_choice(method, "method", set(METHODS))
    check_choice(stream, "stream", set(STREAMS))
    budget = check_int(budget, "budget", lo=1)
    trials = check_int(trials, "trials", lo=1, hi=200)
    rows = check_int(rows, "rows", lo=1, hi=50)
    rng = np.random.default_rng(seed)
    held, flags, needle = [], [], 0
    make = method_factory(method, budget, n, d, seed=seed)
    for _ in range(rows):
        st = STREAMS[stream](n, d, budget=budget, seed=int(rng.integers(2**31)))
        # the scorers never look at values: stream position tags as values to read the
        # held positions back (keys alone may repeat)
        alg = make()
        run_stream(alg, st.Q, st.K, np.arange(st.n, dtype=np.float64)[:, None])
        pos = np.sort(alg.values[:, 0].astype(int))
        held.append(pos)
        flags.append(bool(st.needle in pos))
        needle = st.needle
    results = [run_needle_game(method_factory(m, budget, n, d, seed=seed), stream, n, d,
                               budget=budget, trials=trials, seed=seed)
               for m in (method, "exact")]
    return {"method": method, "label": METHODS[method].display, "stream": stream,
            "budget": budget, "n": n, "needle": needle, "held": held, "needle_held": flags,
            "results": results}
