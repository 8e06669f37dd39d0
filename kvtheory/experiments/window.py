"""Experiments of Chapter 7: window algorithms, exactness, memory, in-window INDEX."""

from __future__ import annotations

import functools

import numpy as np

from .._validate import check_int, check_real, check_rng
from ..algorithms.window import (
    SinkWindow,
    SlidingWindow,
    UnmaskedWindow,
    sink_window_attention,
    sliding_window_attention,
    unmasked_window_attention,
)
from ..instances.window import window_bound_bits, window_index
from ..stream import ExactCache, run_stream

__all__ = ["random_stream", "window_exactness", "window_memory", "window_index_sweep",
           "window_index_several"]


def random_stream(n: int, d: int, *, seed=0, q_scale: float = 1.0):
    """Gaussian ``(Q, K, V)`` with queries scaled by ``q_scale / sqrt(d)``.

    Examples
    --------
    >>> from kvtheory.experiments.window import random_stream
    >>> [a.shape for a in random_stream(5, 3)]
    [(5, 3), (5, 3), (5, 3)]
    """
    n = check_int(n, "n", lo=1, hi=200_000)
    d = check_int(d, "d", lo=1, hi=4096)
    q_scale = check_real(q_scale, "q_scale", lo=0)
    rng = check_rng(seed)
    Q = rng.standard_normal((n, d)) * (q_scale / np.sqrt(d))
    K = rng.standard_normal((n, d))
    V = rng.standard_normal((n, d))
    return Q, K, V


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
    rng = check_rng(seed)
    K = rng.standard_normal((n, d))
    V = rng.standard_normal((n, d))
    algs = [ExactCache(), SlidingWindow(W), SinkWindow(n_sink, W), UnmaskedWindow(W)]
    steps, bits = [], {a.name: [] for a in algs}
    for i in range(n):
        for a in algs:
            a.append(K[i], V[i])
        if (i + 1) % every == 0 or i == n - 1:
            steps.append(i + 1)
            for a in algs:
                bits[a.name].append(a.memory_bits())
    out = {"steps": np.array(steps)}
    out.update({k: np.array(v, dtype=np.int64) for k, v in bits.items()})
    return out


def window_index_sweep(W: int = 128, d: int = 32, kept=(1, 16, 32, 64, 96, 128), *,
                       trials: int = 200, seed=0) -> list[dict]:
    """In-window INDEX with model window ``W`` against ``SlidingWindow(w)`` for ``w`` in ``kept``.

    Returns rows with ``w``, ``memory_bits``, ``info_bits``, ``success``,
    ``stderr``, ``ceiling`` (the INDEX ceiling at that memory).
    """
    rows = []
    for w in kept:
        w = check_int(int(w), "kept", lo=1)
        r = window_index(functools.partial(SlidingWindow, W=w), W, d, trials=trials, seed=seed)
        rows.append({"w": w, "memory_bits": r.memory_bits, "info_bits": r.info_bits,
                     "success": r.success_rate, "stderr": r.stderr, "ceiling": r.ceiling})
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
