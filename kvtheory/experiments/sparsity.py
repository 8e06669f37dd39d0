"""Experiments of Chapter 6: 1-sparse hard instances and eviction adversaries."""

from __future__ import annotations

import functools

import numpy as np

from .._validate import check_choice, check_int, check_real, check_rng
from ..algorithms.eviction import HeavyHitterEviction, KeyNormEviction, TOVAEviction
from ..communication import H2
from ..instances.index import run_index_protocol
from ..instances.sparsity import ADVERSARY_OF, STREAMS, run_needle_game, top1_mass_profile
from ..stream import ExactCache

__all__ = ["POLICIES", "make_policy", "sparse_instance_summary", "eviction_table",
           "eviction_vs_budget"]

#: The eviction policies of Chapter 6, by the names the book uses.
POLICIES = {"key-norm": KeyNormEviction, "H2O": HeavyHitterEviction, "TOVA": TOVAEviction}


def make_policy(policy: str, budget: int):
    """A no-argument factory for the named eviction policy (or ``"exact"``).

    Examples
    --------
    >>> from kvtheory.experiments.sparsity import make_policy
    >>> make_policy("H2O", 8)().kind
    'query-aware'
    """
    check_choice(policy, "policy", set(POLICIES) | {"exact"})
    budget = check_int(budget, "budget", lo=1)
    if policy == "exact":
        return ExactCache
    return functools.partial(POLICIES[policy], budget=budget)


def sparse_instance_summary(n: int = 500, d: int = 128, *, trials: int = 200, seed=0,
                            gamma: float = 0.1, eps: float = 0.5, p: float = 0.1,
                            delta: float = 0.1) -> dict:
    r"""Top-1 mass of the Chapter 3 instance with self-queries, and ExactCache decoding it.

    Returns a dict with the profile of
    :func:`~kvtheory.instances.sparsity.top1_mass_profile` (``top1``,
    ``bob_top1``, ``bound``, ``C``), their minima ``min_top1`` and
    ``min_bob_top1``, the :class:`~kvtheory.instances.index.IndexResult` of
    ExactCache on the same instance (``index``, played with
    ``queries="self"`` and the same seed), and the lower bound
    ``bound_bits`` :math:`=(1-H_2(p+\delta))nd`.

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
                index=res, bound_bits=float((1 - H2(p + delta)) * n * d))
    return prof


def eviction_table(n: int = 128, d: int = 16, *, budget: int = 16, trials: int = 20,
                   seed=0, streams=None) -> list[dict]:
    """Success of every policy (and ExactCache) on each needle stream.

    Parameters
    ----------
    n, d, budget, trials
        As in :func:`~kvtheory.instances.sparsity.run_needle_game`; every
        policy gets the same ``budget``.
    seed : int
        Every (policy, stream) pair replays the same streams.
    streams : sequence of str, optional
        Keys of :data:`~kvtheory.instances.sparsity.STREAMS` (default all).

    Returns
    -------
    list of dict
        One row per (policy, stream): ``policy``, ``kind``, ``stream``,
        ``targeted`` (whether the stream is the policy's own adversary),
        ``success``, ``stderr``, ``needle_kept``, ``memory_bits``.
    """
    streams = list(STREAMS) if streams is None else [check_choice(s, "streams", set(STREAMS))
                                                     for s in streams]
    seed = check_int(seed, "seed", lo=0)
    rows = []
    for policy in list(POLICIES) + ["exact"]:
        for stream in streams:
            r = run_needle_game(make_policy(policy, budget), stream, n, d, budget=budget,
                                trials=trials, seed=seed)
            rows.append({"policy": policy, "kind": r.kind, "stream": stream,
                         "targeted": ADVERSARY_OF.get(policy) == stream,
                         "success": r.success_rate, "stderr": r.stderr,
                         "needle_kept": r.needle_kept, "memory_bits": r.memory_bits})
    return rows


def eviction_vs_budget(budgets=(4, 8, 16, 32), n: int = 128, d: int = 16, *,
                       trials: int = 12, seed=0) -> dict:
    """Success against budget for each policy on its adversary and on the benign stream.

    Returns ``{"budgets": array, policy: {"adversary": (rates, stderrs),
    "benign": (rates, stderrs)}}``.
    """
    budgets = np.array([check_int(int(b), "budgets", lo=1) for b in budgets])
    seed = check_int(seed, "seed", lo=0)
    rng = check_rng(seed)
    out: dict = {"budgets": budgets}
    for policy in POLICIES:
        rec = {}
        for label, stream in (("adversary", ADVERSARY_OF[policy]), ("benign", "benign")):
            rates, errs = [], []
            for b in budgets:
                r = run_needle_game(make_policy(policy, int(b)), stream, n, d, budget=int(b),
                                    trials=trials, seed=int(rng.integers(2**31)))
                rates.append(r.success_rate)
                errs.append(r.stderr)
            rec[label] = (np.array(rates), np.array(errs))
        out[policy] = rec
    return out
