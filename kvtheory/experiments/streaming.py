"""Experiments of Chapter 1: the exact cache, its memory, and stable softmax."""

from __future__ import annotations

import numpy as np

from .._validate import check_int, check_rng
from ..attention import causal_attention, naive_softmax, softmax
from ..stream import ExactCache, run_stream

__all__ = ["exactness_gap", "exact_cache_memory", "softmax_stability_table"]


def exactness_gap(n: int = 500, d: int = 16, *, seed=0) -> float:
    """Max ``|z_stream - z_batch|`` of :class:`ExactCache` against batch attention.

    Queries, keys and values are i.i.d. standard normal (queries scaled by
    ``1/sqrt(d)``, the usual temperature).

    Examples
    --------
    >>> from kvtheory.experiments.streaming import exactness_gap
    >>> exactness_gap(n=50, d=4, seed=0) < 1e-12
    True
    """
    n = check_int(n, "n", lo=1, hi=100_000)
    d = check_int(d, "d", lo=1, hi=4096)
    rng = check_rng(seed)
    Q = rng.standard_normal((n, d)) / np.sqrt(d)
    K = rng.standard_normal((n, d))
    V = rng.standard_normal((n, d))
    Z = run_stream(ExactCache(), Q, K, V)
    return float(np.max(np.abs(Z - causal_attention(Q, K, V))))


def exact_cache_memory(n: int, d: int, *, dtype=np.float64, every: int = 1,
                       seed=0) -> dict:
    """Stream ``n`` random tokens into an :class:`ExactCache` and record its bits.

    Returns a dict with ``steps`` (1-based token counts) and ``bits``
    (``memory_bits()`` measured after each recorded step), plus the
    ``bits_per_number`` in force. Nothing is computed from the formula: the
    ledger of the live cache is read.
    """
    n = check_int(n, "n", lo=1, hi=200_000)
    d = check_int(d, "d", lo=1, hi=4096)
    every = check_int(every, "every", lo=1)
    rng = check_rng(seed)
    cache = ExactCache(dtype=dtype)
    K = rng.standard_normal((n, d))
    V = rng.standard_normal((n, d))
    steps, bits = [], []
    for i in range(n):
        cache.append(K[i], V[i])
        if (i + 1) % every == 0 or i == n - 1:
            steps.append(i + 1)
            bits.append(cache.memory_bits())
    return {"steps": np.array(steps), "bits": np.array(bits, dtype=np.int64),
            "bits_per_number": cache.bits_per_number, "d": d}


def softmax_stability_table(scale: float = 1e4) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Naive and stable softmax on score vectors of magnitude ``scale``.

    Returns rows ``(label, naive, stable)`` for large positive, large
    negative and mixed scores.
    """
    cases = [
        ("large positive", np.array([scale, scale - 1.0, scale - 2.0])),
        ("large negative", np.array([-scale, -scale - 1.0, -scale - 2.0])),
        ("mixed signs", np.array([scale, 0.0, -scale])),
    ]
    return [(label, naive_softmax(x), softmax(x)) for label, x in cases]
