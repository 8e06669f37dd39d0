r"""Experiments of Chapter 3: the space barrier, run.

* :func:`decode_vs_d`: decode accuracy of the exact cache on the INDEX
  instance against the key dimension, beside the dimensions the theory names;
* :func:`coherence_vs_d`: measured maximum inner product of random keys
  against the Hoeffding + union-bound level;
* :func:`coherence_crossing_d`: where the measured quantile crosses a level;
* :func:`run_barrier`: the barrier plot's data: success against
  ``memory_bits`` for lossy caches at several budgets, with the
  information-theoretic ceiling of each point;
* :func:`barrier_ceiling`: the ceiling curve and the theorem's point, for the plot;
* :func:`barrier_at_budget`: every cache sized to one bit budget (the widget).

Every function returns plain records (dicts or lists of dicts); the figures
of :mod:`kvtheory.viz.index` only draw them.
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
from ..information import H2, index_success_ceiling
from ..instances.index import (
    default_C,
    expected_leaked_mass,
    first_moment_d,
    hoeffding_d,
    leaked_mass,
    run_index_protocol,
)
from ..stream import ExactCache
from ..tables import Table
from .streaming import MODEL_SHAPES, ModelShape

__all__ = ["decode_vs_d", "coherence_vs_d", "coherence_crossing_d", "barrier_families",
           "run_barrier", "barrier_ceiling", "format_barrier_table", "barrier_at_budget",
           "SE_MULTIPLIER", "practical_takeaway", "format_takeaway", "takeaway_tables",
           "worked_decode"]

#: A point is "under the ceiling within sampling error" if
#: ``success <= ceiling + SE_MULTIPLIER * stderr``.
SE_MULTIPLIER = 2.0


def decode_vs_d(n: int, ds, *, trials: int = 200, seed=0, gamma: float = 0.1,
                eps: float = 0.5, delta: float = 0.1) -> dict:
    r"""Success of :class:`~kvtheory.ExactCache` on the INDEX instance for each ``d``.

    Runs :func:`~kvtheory.instances.index.run_index_protocol` at the default
    query scale :math:`C` and records, beside the measured success and its
    standard error, the first-moment guarantee :math:`1-\mathbb E\Lambda` of
    Chapter 3's first-moment refinement (exact attention errs only if
    :math:`M\ge1`), the
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


def coherence_crossing_d(record, level: float = 0.5) -> float:
    r"""The key dimension at which the measured :math:`(1-\delta)`-quantile of the
    maximum inner product falls to ``level``.

    Interpolates linearly in :math:`(\log d,\log\text{quantile})` between the
    two measured dimensions that bracket ``level`` (the maxima scale like
    :math:`d^{-1/2}`, a straight line on these axes). Compare with the
    dimension at which the union-bound curve reaches ``level``: the ratio is
    the slack of Hoeffding's tail alone.

    Parameters
    ----------
    record : dict
        From :func:`coherence_vs_d`.
    level : float, default 0.5
        The coherence :math:`\kappa` of interest, in ``(0, 1]``.

    Returns
    -------
    float
        The interpolated dimension.

    Raises
    ------
    ValueError
        If the measured quantiles do not cross ``level`` inside the range of ``d``.

    Examples
    --------
    >>> from kvtheory.experiments.index import coherence_crossing_d
    >>> rec = {"ds": np.array([16, 64]), "quantile": np.array([1.0, 0.5])}
    >>> f"{coherence_crossing_d(rec, 0.5):.1f}", f"{coherence_crossing_d(rec, 2**-0.5):.1f}"
    ('64.0', '32.0')
    """
    level = check_real(level, "level", lo=0, lo_open=True, hi=1)
    ds = np.asarray(record["ds"], dtype=float)
    q = np.asarray(record["quantile"], dtype=float)
    below = np.nonzero(q <= level)[0]
    if below.size == 0 or below[0] == 0:
        raise ValueError(f"the measured quantiles do not cross level={level} inside ds")
    j = int(below[0])
    x0, x1 = np.log(ds[j - 1]), np.log(ds[j])
    y0, y1 = np.log(q[j - 1]), np.log(q[j])
    return float(np.exp(x0 + (np.log(level) - y0) * (x1 - x0) / (y1 - y0)))


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


def barrier_ceiling(n: int, d: int, *, p: float = 0.1, delta: float = 0.1,
                    num: int = 400) -> dict:
    r"""The curves the barrier plot draws beside the records of :func:`run_barrier`.

    Parameters
    ----------
    n, d : int
        The instance: :math:`N=nd` bits of values.
    p, delta : float, default 0.1
        The theorem's error levels; its point is
        :math:`((1-H_2(p+\delta)),\,1-(p+\delta))` in units of :math:`nd` bits.
    num : int, default 400
        Grid points of the ceiling, on :math:`[10^{-2},300]` bits per :math:`nd`.

    Returns
    -------
    dict
        ``n, d``; ``bits_per_nd`` (log grid) and ``ceiling``
        :math:`1-H_2^{-1}(\max(0,1-S/nd))`; ``theorem_bits_per_nd`` and
        ``theorem_success`` (the space-barrier theorem's point).

    Examples
    --------
    >>> from kvtheory.experiments.index import barrier_ceiling
    >>> c = barrier_ceiling(100, 8, num=5)
    >>> f"{c['theorem_bits_per_nd']:.3f}", c["theorem_success"], float(c["ceiling"][-1])
    ('0.278', 0.8, 1.0)
    """
    n = check_int(n, "n", lo=2)
    d = check_int(d, "d", lo=1)
    p = check_real(p, "p", lo=0, hi=0.5)
    delta = check_real(delta, "delta", lo=0, hi=0.5)
    if p + delta >= 0.5:
        raise ValueError(f"p + delta must be below 1/2, got {p + delta}")
    num = check_int(num, "num", lo=2, hi=100_000)
    x = np.logspace(-2, np.log10(300), num)
    return {"n": n, "d": d, "bits_per_nd": x,
            "ceiling": np.asarray(index_success_ceiling(x * n * d, n * d), dtype=float),
            "theorem_bits_per_nd": 1.0 - float(H2(p + delta)),
            "theorem_success": 1.0 - (p + delta)}


def format_barrier_table(records) -> Table:
    """The barrier records as a table, one row per cache and budget.

    A :class:`kvtheory.Table`: an HTML table in Jupyter and the book, aligned
    text under ``print``. ``verdict`` is ``under`` when the measured success
    is at most the ceiling plus two standard errors, else ``ABOVE``.

    Examples
    --------
    >>> from kvtheory.experiments.index import format_barrier_table
    >>> print(format_barrier_table([{"cache": "exact", "budget": "all", "bits": 64,
    ...     "bits_per_nd": 2.0, "success": 1.0, "stderr": 0.0, "ceiling": 1.0,
    ...     "under": True}]))
    cache  budget  memory  bits / nd  success   ± SE  ceiling  verdict
                     bits       3 dp     3 dp   3 dp     3 dp
    -----  ------  ------  ---------  -------  -----  -------  -------
    exact  all         64      2.000    1.000  0.000    1.000  under
    """
    rows = [dict(r, verdict="under" if r["under"] else "ABOVE") for r in records]
    return Table(rows, [("cache", "cache"), ("budget", "budget"), ("bits", "memory"),
                        ("bits_per_nd", "bits / nd"), ("success", "success"),
                        ("stderr", "± SE"), ("ceiling", "ceiling"), ("verdict", "verdict")],
                 units={"bits": "bits"},
                 fmt={"bits": "d", "bits_per_nd": ".3f", "success": ".3f", "stderr": ".3f",
                      "ceiling": ".3f"})


def barrier_at_budget(n: int, d: int, C: float, budget: float, *, trials: int = 150,
                      seed=0, gamma: float = 0.1) -> dict:
    r"""Caches sized to spend about ``budget * n * d`` bits, on one instance with query scale ``C``.

    Reservoir and window hold :math:`\lfloor\text{budget}\cdot nd/(32d)\rfloor`
    float16 tokens; the sign-bit cache holds
    :math:`\lfloor\text{budget}\cdot nd/(2d)\rfloor` tokens; quantization uses the
    largest :math:`b\le8` whose :math:`n(2db+64)` bits fit (omitted if none).
    The exact cache is run as the reference. Also returns :math:`w_{i^*}` of
    exact attention for 200 random targets (the proof's quantity) and the
    share of them with :math:`w_{i^*}\ge\frac1{1+\gamma}`.

    Returns
    -------
    dict
        ``records`` (as :func:`run_barrier`), ``weights``, ``gamma``,
        ``share_above`` (share of ``weights`` at least :math:`1/(1+\gamma)`),
        ``n, d, C, budget``.
    """
    n = check_int(n, "n", lo=10, hi=5000)
    d = check_int(d, "d", lo=2, hi=256)
    C = check_real(C, "C", lo=0, lo_open=True, hi=200)
    budget = check_real(budget, "budget", lo=0, lo_open=True, hi=64)
    trials = check_int(trials, "trials", lo=1, hi=5000)
    seed = check_int(seed, "seed", lo=0)
    gamma = check_real(gamma, "gamma", lo=0, lo_open=True)
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
    weights = 1.0 / (1.0 + M)
    return {"records": recs, "weights": weights, "gamma": gamma,
            "share_above": float(np.mean(weights >= 1.0 / (1.0 + gamma))),
            "n": n, "d": d, "C": C, "budget": budget}


def practical_takeaway(models=MODEL_SHAPES, *, settings=((0.1, 0.1), (0.05, 0.05)),
                       lengths=(1024, 8192, 131072, 1_000_000), eps: float = 0.5,
                       gamma: float = 0.1, cache_bits: int = 16) -> dict:
    r"""What the space barrier of Chapter 3 means for real models, as records.

    For each error setting :math:`(p,\delta)` the space-barrier theorem forces
    :math:`(1-H_2(p+\delta))\,d` bits per token per head; an exact cache at
    ``cache_bits`` bits per number stores :math:`2\cdot b\cdot d` (a key and a
    value). For a whole model with :math:`L` layers and :math:`H` KV heads, the
    per-head counts are multiplied by :math:`LH`: if every head must be served
    on arbitrary inputs, the heads' INDEX instances concatenate into one of
    :math:`LHnd` bits (Bob also names the head), and the proof of the theorem
    runs unchanged. The conditions of the theorem are checked at real context
    lengths: the Hoeffding dimension :math:`\frac{2}{\kappa^2}\ln\frac n\delta`
    (:math:`8\ln\frac n\delta` at :math:`\kappa=\frac12`), the first-moment
    dimension of Chapter 3's leaked-mass proposition, and the query norm
    :math:`C=\frac{\ln n+\ln(1/\gamma)}{1-\kappa}` the hard instance needs.

    Parameters
    ----------
    models : sequence of ModelShape
        Default: SmolLM2-135M and a Llama-3-8B shape
        (:data:`kvtheory.experiments.streaming.MODEL_SHAPES`).
    settings : sequence of (p, delta)
        Error settings, each with :math:`p+\delta<\frac12`; the first is the book's default.
    lengths : sequence of int
        Context lengths at which the conditions are checked.
    eps, gamma : float
        Coherence level :math:`\kappa` (Python name ``eps``) and leaked mass
        :math:`\gamma` of the instance (the book's defaults).
    cache_bits : int, default 16
        Bits per number of the exact cache compared with (fp16).

    Returns
    -------
    dict
        ``per_head``: one record per setting and head dimension (``p``,
        ``delta``, ``d``, ``coef`` :math:`=1-H_2(p+\delta)`, ``bound_bits``,
        ``bound_bytes``, ``cache_bits`` (:math:`2bd`), ``cache_bytes``, ``room``
        (their ratio)); ``per_model``: one record per setting and model
        (``name``, ``layers``, ``kv_heads``, ``d``, ``p``, ``delta``,
        ``bound_bytes``, ``cache_bytes`` per token, ``room``);
        ``conditions``: one record per length (``n``, ``hoeffding_d`` (real),
        ``first_moment_d``, ``C``) with ``ok`` mapping each head dimension to
        ``(hoeffding_ok, first_moment_ok)``; ``n_max``: per head dimension, the
        largest :math:`n` the Hoeffding condition allows at the first setting's
        :math:`\delta`.

    Raises
    ------
    TypeError, ValueError
        On bad models, settings or lengths; the message names the argument.

    Examples
    --------
    >>> from kvtheory.experiments.index import practical_takeaway
    >>> t = practical_takeaway()
    >>> r = t["per_head"][1]
    >>> r["d"], f"{r['coef']:.3f}", f"{r['bound_bits']:.1f}", r["cache_bits"], f"{r['room']:.0f}"
    (128, '0.278', '35.6', 4096, '115')
    >>> m = t["per_model"][1]
    >>> m["name"], f"{m['bound_bytes']:.0f}", m["cache_bytes"]
    ('Llama-3-8B', '1139', 131072)
    >>> t["n_max"]
    {64: 298, 128: 888611}
    """
    models = list(models)
    if not models or not all(isinstance(m, ModelShape) for m in models):
        raise TypeError("models must be a non-empty sequence of ModelShape")
    settings = [(check_real(p, "settings[i][0]", lo=0), check_real(dl, "settings[i][1]", lo=0,
                                                                      lo_open=True))
                for p, dl in settings]
    if not settings or any(not p + dl < 0.5 for p, dl in settings):
        raise ValueError("settings must be non-empty pairs (p, delta) with p + delta < 1/2")
    lengths = [check_int(n, "lengths[i]", lo=2) for n in lengths]
    if not lengths:
        raise ValueError("lengths must not be empty")
    eps = check_real(eps, "eps", lo=0, hi=1, lo_open=True, hi_open=True)
    gamma = check_real(gamma, "gamma", lo=0, hi=1, lo_open=True, hi_open=True)
    cache_bits = check_int(cache_bits, "cache_bits", lo=1, hi=64)
    ds = sorted({m.head_dim for m in models})
    per_head, per_model = [], []
    for p, dl in settings:
        coef = 1.0 - H2(p + dl)
        for d in ds:
            bound, cache = coef * d, 2 * cache_bits * d
            per_head.append({"p": p, "delta": dl, "d": d, "coef": coef, "bound_bits": bound,
                             "bound_bytes": bound / 8, "cache_bits": cache,
                             "cache_bytes": cache // 8, "room": cache / bound})
        for m in models:
            heads = m.n_layers * m.n_kv_heads
            bound = heads * coef * m.head_dim / 8
            cache = heads * 2 * cache_bits * m.head_dim // 8
            per_model.append({"name": m.name, "layers": m.n_layers, "kv_heads": m.n_kv_heads,
                              "d": m.head_dim, "p": p, "delta": dl, "bound_bytes": bound,
                              "cache_bytes": cache, "room": cache / bound})
    delta0 = settings[0][1]
    conditions = []
    for n in lengths:
        fm = first_moment_d(n, gamma=gamma, delta=delta0, eps=eps)
        hd = 2 / eps ** 2 * math.log(n / delta0)
        conditions.append({"n": n, "hoeffding_d": hd, "first_moment_d": fm,
                           "C": default_C(n, gamma=gamma, eps=eps),
                           "ok": {d: (d >= hd, d >= fm) for d in ds}})
    n_max = {d: int(math.floor(delta0 * math.exp(eps ** 2 * d / 2))) for d in ds}
    return {"per_head": per_head, "per_model": per_model, "conditions": conditions,
            "n_max": n_max, "eps": eps, "gamma": gamma, "cache_bits": cache_bits}


def format_takeaway(takeaway: dict) -> str:
    """:func:`practical_takeaway`'s records as aligned text: the three tables of
    :func:`takeaway_tables`, separated by blank lines.

    For a terminal or a log. A notebook displays the tables themselves
    (``for t in takeaway_tables(...): display(t)``), which render as HTML
    tables; both forms come from the one table helper :func:`kvtheory.table`,
    so units and rounding are stated in the column headers.

    Parameters
    ----------
    takeaway : dict
        The result of :func:`practical_takeaway`.

    Returns
    -------
    str
        Per token and head; per token for whole models; the theorem's
        conditions at each context length.

    Examples
    --------
    >>> from kvtheory.experiments.index import practical_takeaway, format_takeaway
    >>> text = format_takeaway(practical_takeaway())
    >>> print(text.splitlines()[0])
    Per token and head: bits the barrier forces, against an fp16 cache
    >>> print(text.splitlines()[5])
     0.10  128           35.6             4096      115
    """
    return "\n\n".join(str(t) for t in takeaway_tables(takeaway))


def worked_decode(inst, i_star: int, j_star: int, *, algorithm=None) -> dict:
    r"""Bob decodes one bit of an INDEX instance, every intermediate number kept.

    The worked example of Chapter 3: Alice's tokens are streamed into
    ``algorithm`` (default the exact cache) with :func:`kvtheory.game.play`,
    Bob asks the query :math:`Ck_{i^*}` with the padding token, and the
    library's decode rule :func:`kvtheory.game.decode_bits` compares
    coordinate :math:`j^*` of the answer with the threshold :math:`\tau`.
    Beside it, the exact weights of Bob's step show where the softmax puts
    its mass.

    Parameters
    ----------
    inst : kvtheory.instances.index.IndexInstance
        The instance (:func:`kvtheory.instances.index.make_index_instance`).
    i_star, j_star : int
        Bob's token and coordinate, 0-based (Python indices).
    algorithm : StreamingAttention, optional
        A fresh algorithm to play; default :class:`kvtheory.ExactCache`.

    Returns
    -------
    dict
        ``n``, ``d``, ``C``, ``tau``, ``gamma``, ``i_star``, ``j_star``;
        ``rho`` (:math:`\langle k_t,k_{i^*}\rangle`, shape ``(n,)``);
        ``scores`` and ``weights`` of Bob's step over the ``n`` tokens and the
        padding token (shape ``(n + 1,)``, exact attention); ``w_star``,
        ``leaked_mass`` :math:`\Lambda` (so ``w_star == 1/(1+leaked_mass)``)
        and ``w_bound`` :math:`1/(1+\gamma)`; ``z`` (the algorithm's answer,
        shape ``(d_v,)``) and ``z_j`` (its coordinate :math:`j^*`); ``guess``
        (Bob's bit), ``truth`` (:math:`X_{i^*j^*}`), ``correct``; ``memory_bits``
        and ``algorithm`` (its name).

    Raises
    ------
    TypeError, ValueError
        If ``inst`` is not an IndexInstance or an index is out of range.

    Examples
    --------
    >>> from kvtheory.instances.index import make_index_instance
    >>> from kvtheory.experiments.index import worked_decode
    >>> r = worked_decode(make_index_instance(8, 16, seed=0), 2, 0)
    >>> r["guess"] == r["truth"], f"{r['weights'].sum():.6f}"
    (True, '1.000000')
    """
    from ..game import decode_bits, play
    from ..instances.index import IndexInstance
    from ..stream import StreamingAttention

    if not isinstance(inst, IndexInstance):
        raise TypeError(f"inst must be an IndexInstance, got {type(inst).__name__}")
    i_star = check_int(i_star, "i_star", lo=0, hi=inst.n - 1)
    j_star = check_int(j_star, "j_star", lo=0, hi=inst.d_v - 1)
    alg = ExactCache() if algorithm is None else algorithm
    if not isinstance(alg, StreamingAttention):
        raise TypeError(f"algorithm must be a StreamingAttention, got {type(alg).__name__}")
    tr = play(alg, inst.as_instance(np.array([i_star])))
    z = np.asarray(tr.outputs[0], dtype=float)
    q = inst.C * inst.keys[i_star]
    rho = inst.keys @ inst.keys[i_star]
    scores = np.append(inst.keys @ q, 0.0)              # the padding token scores 0
    shifted = np.exp(scores - scores.max())
    weights = shifted / shifted.sum()
    lam = float(leaked_mass(inst.keys, i_star, inst.C)[0])
    guess = float(decode_bits(np.array([z[j_star]]), inst.tau)[0])
    truth = float(inst.X[i_star, j_star])
    return {"n": inst.n, "d": inst.d, "C": inst.C, "tau": inst.tau, "gamma": inst.gamma,
            "i_star": i_star, "j_star": j_star, "rho": rho, "scores": scores,
            "weights": weights, "w_star": float(weights[i_star]), "leaked_mass": lam,
            "w_bound": 1.0 / (1.0 + inst.gamma), "z": z, "z_j": float(z[j_star]),
            "guess": guess, "truth": truth, "correct": bool(guess == truth),
            "memory_bits": tr.memory_bits, "algorithm": tr.algorithm}


def takeaway_tables(takeaway: dict) -> list:
    """:func:`practical_takeaway`'s records as three :func:`kvtheory.table` tables.

    Per token and head; per token for whole models; the theorem's conditions
    at each context length (Hoeffding and first-moment dimension, query norm,
    and whether each head dimension meets them).

    Examples
    --------
    >>> from kvtheory.experiments.index import practical_takeaway, takeaway_tables
    >>> [t.shape for t in takeaway_tables(practical_takeaway())]
    [(4, 5), (4, 7), (4, 6)]
    """
    from ..tables import table

    bits = takeaway["cache_bits"]
    name = {16: "fp16", 32: "fp32", 64: "fp64"}.get(bits, f"{bits}-bit")
    ds = sorted(takeaway["n_max"])
    per_head = table(
        takeaway["per_head"],
        [("p", "p = δ"), "d", ("bound_bits", "forced (bits)"),
         ("cache_bits", f"{name} K+V (bits)"), ("room", "room")],
        fmt={"p": ".2f", "bound_bits": ".1f", "room": ".0f"},
        title=f"Per token and head: bits the barrier forces, against an {name} cache")
    per_model = table(
        takeaway["per_model"],
        [("p", "p = δ"), ("name", "model"), "layers", ("kv_heads", "KV heads"),
         ("bound_bytes", "forced (bytes)"), ("cache_bytes", f"{name} K+V (bytes)"),
         ("room", "room")],
        fmt={"p": ".2f", "bound_bytes": ",.0f", "cache_bytes": ",d", "room": ".0f"},
        title="Per token, whole model (every layer and KV head)")
    yes = {True: "yes", False: "no"}
    rows = [{"n": c["n"], "hoeffding_d": c["hoeffding_d"], "first_moment_d": c["first_moment_d"],
             "C": c["C"], **{f"ok{d}": f"{yes[c['ok'][d][0]]} / {yes[c['ok'][d][1]]}" for d in ds}}
            for c in takeaway["conditions"]]
    conditions = table(
        rows, ["n", ("hoeffding_d", "Hoeffding d"), ("first_moment_d", "first-moment d"),
               ("C", "query norm C")]
        + [(f"ok{d}", f"d = {d}: Hoeffding / first-moment") for d in ds],
        fmt={"n": ",d", "hoeffding_d": ".1f", "C": ".1f"},
        title=f"The theorem's conditions at real context lengths (κ = {takeaway['eps']:g})",
        notes=["Hoeffding condition holds up to "
               + " and ".join(f"n = {takeaway['n_max'][d]:,} (d = {d})" for d in ds)])
    return [per_head, per_model, conditions]
