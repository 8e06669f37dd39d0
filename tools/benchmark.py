"""Speed and memory targets of the library, measured (never asserted in tests).

Run from the repository root:

    python tools/benchmark.py            # all measurements
    python tools/benchmark.py --quick    # smaller sizes

Prints one line per measurement. Timings are wall-clock medians on this
machine and vary with load; memory figures are exact ledger counts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import kvtheory as kv  # noqa: E402
from kvtheory.algorithms import SubGen  # noqa: E402
from kvtheory.instances.index import run_index_protocol  # noqa: E402


def _median_time(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def clusterable_keys(n: int, d: int, m: int, noise: float, rng) -> np.ndarray:
    centres = rng.standard_normal((m, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return centres[rng.integers(0, m, size=n)] + noise * rng.standard_normal((n, d))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args(argv)
    n = 20_000 if args.quick else 100_000
    d = 8
    rng = np.random.default_rng(0)
    K = clusterable_keys(n, d, 30, 0.02, rng)
    V = rng.standard_normal((n, d))
    q = 2.0 * K[0] / np.linalg.norm(K[0])

    exact = kv.ExactCache()
    t0 = time.perf_counter()
    for k, v in zip(K, V, strict=True):
        exact.append(k, v)
    t_exact_append = time.perf_counter() - t0

    sub = SubGen(delta=0.2, t=64, s=256, seed=0)
    t0 = time.perf_counter()
    for k, v in zip(K, V, strict=True):
        sub.append(k, v)
    t_sub_append = time.perf_counter() - t0

    t_exact_attend = _median_time(lambda: exact.attend(q))
    t_sub_attend = _median_time(lambda: sub.attend(q))
    print(f"n = {n}, d = {d}, clusterable keys (30 centres, noise 0.02)")
    print(f"ExactCache append : {n / t_exact_append:10.0f} tokens/s")
    print(f"SubGen append     : {n / t_sub_append:10.0f} tokens/s  ({sub.n_clusters} clusters)")
    print(f"ExactCache attend : {1e3 * t_exact_attend:10.3f} ms")
    print(f"SubGen attend     : {1e3 * t_sub_attend:10.3f} ms  "
          f"(exact / SubGen = {t_exact_attend / t_sub_attend:.1f}x)")
    print(f"memory_bits       : exact {exact.memory_bits():,}  SubGen {sub.memory_bits():,}  "
          f"(ratio {sub.memory_bits() / exact.memory_bits():.4f})")

    t0 = time.perf_counter()
    res = run_index_protocol(kv.ExactCache, n=1000, d=32, trials=500, seed=0)
    t_index = time.perf_counter() - t0
    print(f"run_index_protocol(ExactCache, n=1000, d=32, trials=500): "
          f"success {res.success_rate:.3f} in {t_index:.2f} s")


if __name__ == "__main__":
    main()
