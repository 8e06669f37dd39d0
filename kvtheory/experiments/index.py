r"""Experiments of Chapter 3: the space barrier, run.

* :func:`decode_vs_d`: decode accuracy of the exact cache on the INDEX
  instance against the key dimension, beside the dimensions the theory names;
* :func:`coherence_vs_d`: measured maximum inner product of random keys
  against the Hoeffding + union-bound level;
* :func:`run_barrier`: the barrier plot's data: success against
  ``memory_bits`` for lossy caches at several budgets, with the
  information-theoretic ceiling of each point;
* :func:`barrier_at_budget`: every cache sized to one bit budget (the widget).

Every function returns plain records (dicts or lists of dicts).
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from .._validate import check_int, check_real, check_rng
from ..algorithms.quantization import QuantizedCache, SignBitCache
from ..algorithms.sampling import ReservoirSampling
from ..algorithms.sketch import JLSketchCache
from ..algorithms.window import SlidingWindow
from ..geometry.nearorth import coherence_prediction, max_coherence, random_keys
from ..instances.index import (
    expected_leaked_mass,
    first_moment_d,
    hoeffding_d,
    leaked_mass,
    run_index_protocol,
)
from ..stream import ExactCache

__all__ = ["decode_vs_d", "coherence_vs_d", "barrier_families", "run_barrier",
           "format_barrier_table", "barrier_at_budget", "SE_MULTIPLIER"]

#: A point is "under the ceiling within sampling error" if
#: ``success <= ceiling + SE_MULTIPLIER * stderr``.
SE_MULTIPLIER = 2.0


def decode_vs_d(n: int, ds, *, trials: int = 200, seed=0, gamma: float = 0.1,
                eps: float = 0.5, delta: float = 0.1) -> dict:
    r"""Success of :class:`~kvtheory.ExactCache` on the INDEX instance for each ``d``.

    Runs :func:`~kvtheory.instances.index.run_index_protocol` at the default
    query scale :math:`C` and records, beside the measured success and its
    standard error, the first-moment guarantee :math:`1-\mathbb EM` of
    Proposition 3.2 (exact attention errs only if :math:`M\ge1`), the
    Hoeffding dimension, the first-moment dimension and :math:`\log_2 n`.

    Returns
    -------
    dict
        ``n, ds, success, stderr, guarantee, hoeffding_d, first_moment_d, log2n``.

    Examples
    --------
    >>> from kvtheory.experiments.index import decode_vs_d
    >>> rec = decode_vs_d(200, [8, 24], trials=50, seed=0)
    >>> rec["hoeffding_d"], rec["first_moment_d"], [f"{s:.2f}" for s in rec["success"]]
    (61, 20, ['0.82', '1.00'])
    """
    n = check_int(n, "n", lo=2, hi=100_000)
    ds = [check_int(d, "ds[i]", lo=1, hi=4096) for d in ds]
    trials = check_int(trials, "trials", lo=1)
    rng = check_rng(seed)
    succ, se, guar = [], [], []
    for d in ds:
        res = run_index_protocol(ExactCache, n, d, trials=trials, seed=rng, gamma=gamma, eps=eps)
        succ.append(res.success_rate)
        se.append(res.stderr)
        guar.append(max(0.0, 1.0 - expected_leaked_mass(n, d, gamma=gamma, eps=eps)))
    return {"n": n, "ds": np.array(ds), "success": np.array(succ), "stderr": np.array(se),
            "guarantee": np.array(guar),
            "hoeffding_d": hoeffding_d(n, eps=eps, delta=delta),
            "first_moment_d": first_moment_d(n, gamma=gamma, delta=delta, eps=eps),
            "log2n": math.log2(n)}


def coherence_vs_d(n: int, ds, *, kind: str = "sign", reps: int = 20, pairs: str = "partners",
                   two_sided: bool = False, delta: float = 0.1, seed=0) -> dict:
    r"""Measured maximum inner product of ``n`` random keys against the prediction.

    For each ``d``, draws ``reps`` independent key sets and measures
    :func:`~kvtheory.geometry.nearorth.max_coherence` (which maximum:
    ``pairs`` and ``two_sided``). The union bound predicts that the maximum
    exceeds :func:`~kvtheory.geometry.nearorth.coherence_prediction` with
    probability at most ``delta``, so the :math:`(1-\delta)`-quantile of the
    measurements should lie below the curve.

    Returns
    -------
    dict
        ``ds, measured (reps x len(ds)), mean, quantile, prediction, exceed``
        (fraction of draws above the curve), plus the settings.

    Examples
    --------
    >>> from kvtheory.experiments.index import coherence_vs_d
    >>> rec = coherence_vs_d(500, [64, 256], reps=5, seed=0)
    >>> bool(all(rec["quantile"] < rec["prediction"]))
    True
    """
    n = check_int(n, "n", lo=2, hi=20_000)
    ds = [check_int(d, "ds[i]", lo=1, hi=4096) for d in ds]
    reps = check_int(reps, "reps", lo=1, hi=10_000)
    rng = check_rng(seed)
    meas = np.empty((reps, len(ds)))
    for j, d in enumerate(ds):
        for r in range(reps):
            K = random_keys(n, d, kind=kind, seed=rng)
            meas[r, j] = max_coherence(K, pairs=pairs, two_sided=two_sided)
    pred = coherence_prediction(n, np.array(ds, dtype=float), delta=delta, pairs=pairs,
                                two_sided=two_sided)
    return {"n": n, "ds": np.array(ds), "kind": kind, "pairs": pairs, "two_sided": two_sided,
            "delta": delta, "measured": meas, "mean": meas.mean(axis=0),
            "quantile": np.quantile(meas, 1 - delta, axis=0), "prediction": np.atleast_1d(pred),
            "exceed": (meas > pred).mean(axis=0)}


def barrier_families(n: int, d: int, *, storage=np.float16) -> dict:
    r"""The lossy caches of the barrier plot, three budgets each.

    Returns ``{family: [(parameter label, factory), ...]}``. Token-keeping
    caches store numbers at ``storage`` precision (float16 by default, which is
    exact for 0/1 values and loses nothing the decoder needs on sign keys).

    * reservoir sampling and sliding window: :math:`s=W\approx0.004n,0.016n,0.064n`;
    * sign-bit cache on the first :math:`0.1n, 0.25n, 0.5n` tokens;
    * scalar quantization at :math:`b=1,2,4` bits (float16 scales, zero-points);
    * JL sketch of values and of keys, :math:`m=d/8,d/4,d/2`.
    """
    n = check_int(n, "n", lo=2)
    d = check_int(d, "d", lo=2)
    sizes = sorted({max(1, round(f * n)) for f in (0.004, 0.016, 0.064)})
    caps = sorted({max(1, round(f * n)) for f in (0.1, 0.25, 0.5)})
    ms = sorted({max(1, d // k) for k in (8, 4, 2)})
    return {
        "reservoir sampling": [(f"s={s}", partial(ReservoirSampling, s, seed=1, dtype=storage))
                               for s in sizes],
        "sliding window": [(f"W={s}", partial(SlidingWindow, s, dtype=storage)) for s in sizes],
        "sign-bit prefix": [(f"first {c}", partial(SignBitCache, capacity=c)) for c in caps],
        "quantization": [(f"b={b}", partial(QuantizedCache, b)) for b in (1, 2, 4)],
        "JL of values": [(f"m={m}", partial(JLSketchCache, m, target="values", seed=2,
                                            dtype=storage)) for m in ms],
        "JL of keys": [(f"m={m}", partial(JLSketchCache, m, target="keys", seed=3,
                                          dtype=storage)) for m in ms],
    }


def _record(family, label, res):
    return {"cache": family, "budget": label, "bits": res.memory_bits,
            "bits_per_nd": res.bits_per_info_bit, "success": res.success_rate,
            "stderr": res.stderr, "ceiling": res.ceiling,
            "under": bool(res.success_rate <= res.ceiling + SE_MULTIPLIER * res.stderr)}


def run_barrier(n: int = 1000, d: int = 32, *, trials: int = 400, seed=0,
                storage=np.float16) -> list[dict]:
    r"""Run every cache of :func:`barrier_families`, the tight sign-bit cache and
    the exact cache through the INDEX protocol on one instance.

    Returns
    -------
    list of dict
        One record per point: ``cache, budget, bits, bits_per_nd, success,
        stderr, ceiling, under``, where ``under`` says whether
        ``success <= ceiling + 2 * stderr``.

    Examples
    --------
    >>> from kvtheory.experiments.index import run_barrier
    >>> recs = run_barrier(n=200, d=16, trials=60, seed=0)
    >>> all(r["under"] for r in recs), recs[-1]["cache"], recs[-1]["success"]
    (True, 'exact cache (float64)', 1.0)
    """
    n = check_int(n, "n", lo=2, hi=20_000)
    d = check_int(d, "d", lo=2, hi=512)
    trials = check_int(trials, "trials", lo=1)
    seed = check_int(seed, "seed", lo=0)
    out = []
    for family, items in barrier_families(n, d, storage=storage).items():
        for label, make in items:
            out.append(_record(family, label,
                               run_index_protocol(make, n, d, trials=trials, seed=seed)))
    out.append(_record("sign-bit (tight)", "all tokens",
                       run_index_protocol(SignBitCache, n, d, trials=trials, seed=seed)))
    out.append(_record("exact cache (float64)", "all tokens",
                       run_index_protocol(ExactCache, n, d, trials=trials, seed=seed)))
    return out


def format_barrier_table(records) -> str:
    """The barrier records as a fixed-width text table (one line per point)."""
    head = (f"{'cache':<22}{'budget':<11}{'bits':>9}{'bits/nd':>9}{'success':>9}"
            f"{'+-SE':>7}{'ceiling':>9}  verdict")
    lines = [head, "-" * len(head)]
    for r in records:
        verdict = "under" if r["under"] else "ABOVE"
        lines.append(f"{r['cache']:<22}{r['budget']:<11}{r['bits']:>9d}{r['bits_per_nd']:>9.3f}"
                     f"{r['success']:>9.3f}{r['stderr']:>7.3f}{r['ceiling']:>9.3f}  {verdict}")
    return "\n".join(lines)


def barrier_at_budget(n: int, d: int, C: float, budget: float, *, trials: int = 150,
                      seed=0) -> dict:
    r"""Caches sized to spend about ``budget * n * d`` bits, on one instance with query scale ``C``.

    Reservoir and window hold :math:`\lfloor\text{budget}\cdot nd/(32d)\rfloor`
    float16 tokens; the sign-bit cache holds
    :math:`\lfloor\text{budget}\cdot nd/(2d)\rfloor` tokens; quantization uses the
    largest :math:`b\le8` whose :math:`n(2db+64)` bits fit (omitted if none).
    The exact cache is run as the reference. Also returns :math:`w_{i^*}` of
    exact attention for 200 random targets (the proof's quantity).

    Returns
    -------
    dict
        ``records`` (as :func:`run_barrier`), ``weights``, ``n, d, C, budget``.
    """
    n = check_int(n, "n", lo=10, hi=5000)
    d = check_int(d, "d", lo=2, hi=256)
    C = check_real(C, "C", lo=0, lo_open=True, hi=200)
    budget = check_real(budget, "budget", lo=0, lo_open=True, hi=64)
    trials = check_int(trials, "trials", lo=1, hi=5000)
    seed = check_int(seed, "seed", lo=0)
    bits = budget * n * d
    caches = []
    s = int(bits // (32 * d))
    if s >= 1:
        caches.append(("reservoir", f"s={min(s, n)}",
                       partial(ReservoirSampling, min(s, n), seed=1, dtype=np.float16)))
        caches.append(("window", f"W={min(s, n)}", partial(SlidingWindow, min(s, n),
                                                            dtype=np.float16)))
    cap = int(bits // (2 * d))
    if cap >= 1:
        caches.append(("sign-bit", f"first {min(cap, n)}",
                       partial(SignBitCache, capacity=min(cap, n))))
    b = int((bits / n - 64) // (2 * d))
    if b >= 1:
        caches.append(("quantization", f"b={min(b, 8)}", partial(QuantizedCache, min(b, 8))))
    caches.append(("exact", "float64", ExactCache))
    recs = [_record(fam, lab, run_index_protocol(make, n, d, trials=trials, seed=seed, C=C))
            for fam, lab, make in caches]
    rng = check_rng(seed)
    K = random_keys(n, d, seed=rng)
    M = leaked_mass(K, rng.integers(0, n, size=200), C)
    return {"records": recs, "weights": 1.0 / (1.0 + M), "n": n, "d": d, "C": C,
            "budget": budget}
