"""Experiments of Chapter 7: window algorithms, exactness, memory, in-window INDEX."""

from __future__ import annotations

import functools

import numpy as np

from .._validate import check_int, check_real
from ..algorithms.window import (
    SinkWindow,
    SlidingWindow,
    UnmaskedWindow,
    sink_window_attention,
    sliding_window_attention,
    unmasked_window_attention,
)
from ..information import index_success_ceiling
from ..instances import benign
from ..instances.window import window_bound_bits, window_index
from ..stream import ExactCache, memory_trace, run_stream

__all__ = ["random_stream", "window_exactness", "window_memory", "window_index_sweep",
           "window_index_several", "index_ceiling_curve", "window_explorer",
           "memory_to_bound_ratio", "worked_unmasked", "WORKED_STREAM"]


def random_stream(n: int, d: int, *, seed=0, q_scale: float = 1.0):
    """Gaussian ``(Q, K, V)`` with queries scaled by ``q_scale / sqrt(d)``
    (:func:`kvtheory.instances.benign.gaussian`).

    Examples
    --------
    >>> from kvtheory.experiments.window import random_stream
    >>> [a.shape for a in random_stream(5, 3)]
    [(5, 3), (5, 3), (5, 3)]
    """
    n = check_int(n, "n", lo=1, hi=200_000)
    d = check_int(d, "d", lo=1, hi=4096)
    q_scale = check_real(q_scale, "q_scale", lo=0)
    return benign.gaussian(n, d, seed=seed, q_scale=q_scale / np.sqrt(d))


def window_exactness(n: int = 300, d: int = 16, W: int = 20, *, n_sink: int = 4, seed=0,
                     q_scale: float = 1.0, per_step: bool = False) -> dict:
    """Max ``|streaming - brute force|`` of the three window algorithms.

    Returns ``{name: max difference}`` for ``"sliding window"``,
    ``"sink + window"`` and ``"unmasked window"``; with ``per_step=True``
    the values are arrays of the per-step maximum over coordinates.

    Examples
    --------
    >>> from kvtheory.experiments.window import window_exactness
    >>> all(v < 1e-12 for v in window_exactness(60, 4, 7).values())
    True
    """
    W = check_int(W, "W", lo=1)
    n_sink = check_int(n_sink, "n_sink", lo=0)
    Q, K, V = random_stream(n, d, seed=seed, q_scale=q_scale)
    pairs = [
        (SlidingWindow(W), sliding_window_attention(Q, K, V, W)),
        (SinkWindow(n_sink, W), sink_window_attention(Q, K, V, n_sink, W)),
        (UnmaskedWindow(W), unmasked_window_attention(Q, K, V, W)),
    ]
    out = {}
    for alg, ref in pairs:
        diff = np.max(np.abs(run_stream(alg, Q, K, V) - ref), axis=1)
        out[alg.name] = diff if per_step else float(diff.max())
    return out


def window_memory(n: int = 2000, W: int = 64, d: int = 32, *, n_sink: int = 4,
                  every: int = 40, seed=0) -> dict:
    """``memory_bits()`` of the window algorithms and ExactCache as tokens stream in.

    Returns ``{"steps": array, name: bits array, ...}`` read from the live
    ledgers after every ``every``-th token.
    """
    n = check_int(n, "n", lo=1, hi=200_000)
    d = check_int(d, "d", lo=1, hi=4096)
    W = check_int(W, "W", lo=1)
    every = check_int(every, "every", lo=1)
    K, V = benign.gaussian(n, d, seed=seed, queries=False)
    algs = [ExactCache(), SlidingWindow(W), SinkWindow(n_sink, W), UnmaskedWindow(W)]
    steps = np.union1d(np.arange(every, n + 1, every), [n])
    trace = memory_trace(algs, K, V, steps)
    out = {"steps": trace["steps"]}
    out.update({a.name: bits for a, bits in zip(algs, trace["bits"], strict=True)})
    return out


def window_index_sweep(W: int = 128, d: int = 32, kept=(1, 16, 32, 64, 96, 128), *,
                       trials: int = 200, seed=0) -> list[dict]:
    r"""In-window INDEX with model window ``W`` against ``SlidingWindow(w)`` for ``w`` in ``kept``.

    Returns rows with ``W``, ``d``, ``w``, ``f`` :math:`=(w-1)/(W-1)` (the
    fraction of Alice's tokens the window holds at Bob's step),
    ``memory_bits``, ``info_bits``, ``success``, ``stderr``, ``ceiling``
    (the INDEX ceiling at that memory), ``ceiling_at_f`` (the INDEX ceiling
    of an algorithm holding :math:`f(W-1)d` bits), ``half_plus_f``
    :math:`=\frac12+\frac f2` and ``bound_bits`` (the in-window lower
    bound at :math:`p=\delta=0.1`).
    """
    W = check_int(W, "W", lo=2)
    rows = []
    for w in kept:
        w = check_int(int(w), "kept", lo=1)
        r = window_index(functools.partial(SlidingWindow, W=w), W, d, trials=trials, seed=seed)
        f = (max(w, 1) - 1) / (W - 1)
        rows.append({"W": W, "d": d, "w": w, "f": f, "memory_bits": r.memory_bits,
                     "info_bits": r.info_bits, "success": r.success_rate, "stderr": r.stderr,
                     "ceiling": r.ceiling,
                     "ceiling_at_f": float(index_success_ceiling(f * r.info_bits, r.info_bits)),
                     "half_plus_f": 0.5 + f / 2, "bound_bits": window_bound_bits(W, d)})
    return rows


def window_index_several(Ws=(16, 32, 64, 128), d: int = 32, *, trials: int = 200, seed=0,
                         prefix_tokens: int = 2000, p: float = 0.1,
                         delta: float = 0.1) -> list[dict]:
    """Exact window algorithms on the in-window instance at several ``W``.

    For each ``W``: ``SlidingWindow(W)`` on the plain instance and
    ``UnmaskedWindow(W)`` on the long stream with ``prefix_tokens`` zero
    tokens first; their success and memory, and the lower bound
    :math:`(1-H_2(p+\\delta))(W-1)d` bits.
    """
    rows = []
    for W in Ws:
        W = check_int(int(W), "Ws", lo=2)
        sw = window_index(functools.partial(SlidingWindow, W=W), W, d, trials=trials, seed=seed)
        uw = window_index(functools.partial(UnmaskedWindow, W=W), W, d, trials=trials, seed=seed,
                          prefix_tokens=prefix_tokens)
        rows.append({"W": W, "info_bits": sw.info_bits,
                     "bound_bits": window_bound_bits(W, d, p=p, delta=delta),
                     "sliding_success": sw.success_rate, "sliding_bits": sw.memory_bits,
                     "unmasked_success": uw.success_rate, "unmasked_bits": uw.memory_bits,
                     "unmasked_C": uw.C})
    return rows


def index_ceiling_curve(info_bits: int, points: int = 201) -> dict:
    r"""The INDEX ceiling :math:`1-H_2^{-1}(1-f)` of an algorithm holding ``f * info_bits`` bits.

    Returns ``{"f": grid on [0, 1], "ceiling": array}``.

    Examples
    --------
    >>> from kvtheory.experiments.window import index_ceiling_curve
    >>> c = index_ceiling_curve(100, points=3)
    >>> [f"{x:.3f}" for x in c["ceiling"]]
    ['0.500', '0.890', '1.000']
    """
    info_bits = check_int(info_bits, "info_bits", lo=1)
    points = check_int(points, "points", lo=2)
    f = np.linspace(0, 1, points)
    return {"f": f, "ceiling": np.asarray(index_success_ceiling(f * info_bits, info_bits))}


def window_explorer(n: int = 600, W: int = 32, d: int = 16, *, n_sink: int = 4,
                    seed=0) -> dict:
    """Memory against ``n`` and per-step distance to brute force, for the widget.

    Returns ``{"n", "W", "d", "memory": window_memory(...), "diffs":
    window_exactness(..., per_step=True)}``.

    Examples
    --------
    >>> from kvtheory.experiments.window import window_explorer
    >>> rec = window_explorer(40, 8, 4)
    >>> int(rec["memory"]["steps"][-1]), max(float(v.max()) for v in rec["diffs"].values()) < 1e-12
    (40, True)
    """
    n = check_int(n, "n", lo=2, hi=5000)
    W = check_int(W, "W", lo=1, hi=1024)
    d = check_int(d, "d", lo=1, hi=256)
    return {"n": n, "W": W, "d": d,
            "memory": window_memory(n, W, d, n_sink=n_sink, every=max(1, n // 100), seed=seed),
            "diffs": window_exactness(n, d, W, n_sink=n_sink, seed=seed, per_step=True)}


def memory_to_bound_ratio(W: int, d: int, *, p: float = 0.1, delta: float = 0.1,
                          word_bits: int = 64) -> dict:
    r"""Memory of the exact window over the in-window lower bound, factor by factor.

    The window stores :math:`2(W-1)d` numbers of Alice's tokens (keys and
    values; the counter and Bob's slot aside) at ``word_bits`` bits each;
    the bound is :math:`(1-H_2(p+\delta))(W-1)d` bits. Their ratio is
    :math:`2\cdot	ext{word\_bits}/(1-H_2(p+\delta))`, independent of
    :math:`W` and :math:`d`.

    Returns ``{"keys_and_values": 2, "word_bits", "bound_constant"``
    :math:`1-H_2(p+\delta)`, ``"ratio"}``.

    Examples
    --------
    >>> from kvtheory.experiments.window import memory_to_bound_ratio
    >>> r = memory_to_bound_ratio(128, 64)
    >>> f"{r['bound_constant']:.3f}", f"{r['ratio']:.0f}"
    ('0.278', '460')
    """
    W = check_int(W, "W", lo=2)
    d = check_int(d, "d", lo=1)
    word_bits = check_int(word_bits, "word_bits", lo=1)
    const = window_bound_bits(W, d, p=p, delta=delta) / ((W - 1) * d)
    return {"keys_and_values": 2, "word_bits": word_bits, "bound_constant": const,
            "ratio": 2 * word_bits / const}


#: The worked example's stream (Chapter 7): four tokens with d = d_v = 1.
WORKED_STREAM = (np.ones((4, 1)), np.array([[0.5], [1.0], [-0.5], [1.5]]),
                 np.array([[2.0], [-1.0], [3.0], [0.5]]))


def worked_unmasked(Q=None, K=None, V=None, *, W: int = 2) -> list[dict]:
    r"""The unmasked-window algorithm step by step, every number of its state kept.

    The worked example of Chapter 7: the stream is fed to
    :class:`~kvtheory.algorithms.UnmaskedWindow` one token at a time; after
    each step the record holds the window's tokens, the outside sum
    :math:`S_{\rm out}` and counter :math:`c_{\rm out}` (the algorithm's own
    state), the unshifted numerator
    :math:`\sum_{\mathcal W_i}e^{s_t}v_t+S_{\rm out}` and denominator
    :math:`\sum_{\mathcal W_i}e^{s_t}+c_{\rm out}`, the algorithm's output
    and the brute-force reference :math:`U_i` of
    :func:`~kvtheory.algorithms.unmasked_window_attention`.

    Parameters
    ----------
    Q, K, V : array_like, shape (n, d), (n, d), (n, d_v), optional
        The stream; default :data:`WORKED_STREAM` (four tokens, ``d = 1``).
        Give all three or none; ``n <= 50``.
    W : int
        Window length, ``1 <= W``.

    Returns
    -------
    list of dict
        One record per step ``i`` (1-based): ``i``, ``window`` (1-based
        token indices), ``scores`` (:math:`s_t` of the window), ``S_out``,
        ``c_out``, ``numerator``, ``denominator``, ``z`` (the algorithm's
        output), ``reference`` (:math:`U_i`), ``gap`` (largest absolute
        difference).

    Examples
    --------
    >>> from kvtheory.experiments.window import worked_unmasked
    >>> [(r["i"], r["window"], float(r["S_out"][0]), r["c_out"]) for r in worked_unmasked()]
    [(1, [1], 0.0, 0), (2, [1, 2], 0.0, 0), (3, [2, 3], 2.0, 1), (4, [3, 4], 1.0, 2)]
    """
    if Q is None and K is None and V is None:
        Q, K, V = WORKED_STREAM
    elif Q is None or K is None or V is None:
        raise ValueError("give all of Q, K and V, or none of them")
    Q, K, V = (np.asarray(x, dtype=np.float64) for x in (Q, K, V))
    if Q.ndim != 2 or K.shape != Q.shape or V.ndim != 2 or V.shape[0] != Q.shape[0]:
        raise ValueError("Q and K must have shape (n, d) and V shape (n, d_v)")
    n = check_int(Q.shape[0], "n", lo=1, hi=50)
    W = check_int(W, "W", lo=1)
    ref = unmasked_window_attention(Q, K, V, W=W)
    alg = UnmaskedWindow(W)
    out = []
    for i in range(n):
        z = np.asarray(alg.step(Q[i], K[i], V[i]), dtype=np.float64)
        lo = max(0, i - W + 1)
        scores = K[lo:i + 1] @ Q[i]
        S_out = np.array(alg.S_out, dtype=np.float64)
        num = np.exp(scores) @ V[lo:i + 1] + S_out
        den = float(np.exp(scores).sum() + alg.c_out)
        out.append({"i": i + 1, "window": list(range(lo + 1, i + 2)), "scores": scores,
                    "S_out": S_out, "c_out": int(alg.c_out), "numerator": num,
                    "denominator": den, "z": z, "reference": ref[i],
                    "gap": float(np.max(np.abs(z - ref[i])))})
    return out
