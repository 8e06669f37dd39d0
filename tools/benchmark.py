"""Speed targets of the library and the benchmark, measured (never asserted in tests).

Run from the repository root:

    python tools/benchmark.py                  # every measurement (several minutes)
    python tools/benchmark.py --quick          # smaller sizes, no bench runs
    python tools/benchmark.py --only attend,extend

Sections (``--only``): ``attend`` (ExactCache.attend and kv.attention against
the bare numpy computation), ``append`` (per-token cost of append through the
base class), ``extend`` (extend against the append loop, per method), ``bench``
(the ``python -m kvtheory bench`` runs of issue #15, each in a fresh process),
``cluster`` (the n = 32768 sweep on a two-worker local Dask cluster, when the
bench offers ``--scheduler``). Timings are wall-clock (attention: the
minimum of interleaved repeats; the rest: medians) with single-threaded BLAS;
the machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import kvtheory as kv  # noqa: E402

SECTIONS = ("attend", "append", "extend", "bench", "cluster")


def _median_time(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _load() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:                         # pragma: no cover - not on every OS
        return "load average n/a"


def bare_attention(q, K, V):
    """The bare numpy computation: scores, stable softmax, weighted values."""
    s = K @ q
    e = np.exp(s - s.max())
    return V.T @ (e / e.sum())


def measure_attend(sizes) -> list[dict]:
    out = []
    for n, d in sizes:
        rng = np.random.default_rng(0)
        K, V = rng.standard_normal((2, n, d))
        q = rng.standard_normal(d) / np.sqrt(d)
        cache = kv.ExactCache().extend(K, V)
        repeat = 41 if n <= 10_000 else 15
        fns = (lambda q=q, K=K, V=V: bare_attention(q, K, V),
               lambda q=q, c=cache: c.attend(q),
               lambda q=q, K=K, V=V: kv.attention(q, K, V))
        times = [[], [], []]
        for _ in range(repeat):             # interleaved, so a burst of load hits all three
            for f, ts in zip(fns, times, strict=True):
                t0 = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t0)
        # the minimum: the least disturbed run of each (the machine is shared)
        t_bare, t_cache, t_attn = (min(ts) for ts in times)
        out.append({"n": n, "d": d, "bare_ms": 1e3 * t_bare,
                    "cache_ratio": t_cache / t_bare, "attention_ratio": t_attn / t_bare})
    return out


def measure_append(n: int = 20_000, d: int = 128) -> float:
    rng = np.random.default_rng(0)
    K, V = rng.standard_normal((2, n, d))
    cache = kv.ExactCache()
    t0 = time.perf_counter()
    for k, v in zip(K, V, strict=True):
        cache.append(k, v)
    return (time.perf_counter() - t0) / n


def measure_extend(n: int, d: int, keys=None) -> list[dict]:
    """Tokens per second of extend and of the append loop, per bench method."""
    from kvtheory.bench import METHODS

    rng = np.random.default_rng(0)
    K = rng.standard_normal((n, d)) / np.sqrt(d)
    V = rng.standard_normal((n, d))
    rows = []
    cases = []
    for key, spec in METHODS.items():
        if keys and key not in keys:
            continue
        grid = spec.grid(n, d, d)
        cases.append((key, spec, grid[len(grid) // 2]))
        if key == "exact":
            cases.append(("exact", spec, np.float64))
    for key, spec, p in cases:
        times = []
        for _ in range(3):                  # median of 3 fresh instances (first touch of
            a = spec.make(p, 0)             # new memory is slow on some machines)
            t0 = time.perf_counter()
            a.extend(K, V)
            times.append(time.perf_counter() - t0)
        t_ext = statistics.median(times)
        b = spec.make(p, 0)
        t0 = time.perf_counter()
        for k, v in zip(K, V, strict=True):
            b.append(k, v)
        t_loop = time.perf_counter() - t0
        rows.append({"method": key, "param": spec.describe(p), "extend_tok_s": n / t_ext,
                     "append_tok_s": n / t_loop, "speedup": t_loop / t_ext,
                     "same_bits": a.memory_bits() == b.memory_bits(),
                     "prefill_exact": getattr(a, "prefill_exact", True)})
    return rows


def run_bench(args: list[str], out: str, timeout: float = 1800) -> float:
    """Wall seconds of ``python -m kvtheory bench ARGS --out OUT --quiet`` (a fresh process);
    ``inf`` if it did not finish within ``timeout`` seconds."""
    cmd = [sys.executable, "-m", "kvtheory", "bench", *args, "--out", out, "--quiet",
           "--no-figure"]
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"  [not finished within {timeout:.0f} s: {' '.join(cmd[3:])}]")
        return math.inf
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        print(f"  [failed: {' '.join(cmd)}]\n{res.stderr[-2000:]}")
    return dt


def _compare_rows(a: str, b: str) -> None:
    """Print whether two bench outputs hold the same rows (timing column aside)."""
    from kvtheory.bench import read_results

    try:
        ra = read_results(os.path.join(a, "results.csv")).rows
        rb = read_results(os.path.join(b, "results.csv")).rows
    except (OSError, ValueError) as exc:
        print(f"  rows not compared ({exc})")
        return

    def strip(rows):
        return [{k: v for k, v in r.items() if k != "sec_per_token"} for r in rows]
    print(f"  rows identical (timing aside): {strip(ra) == strip(rb)} ({len(ra)} rows)")


def _bench_supports(flag: str) -> bool:
    res = subprocess.run([sys.executable, "-m", "kvtheory", "bench", "--help"],
                         capture_output=True, text=True)
    return flag in res.stdout


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, no bench runs")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections of {SECTIONS}")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds allowed to each bench run (default %(default)s)")
    parser.add_argument("--out", default="/tmp/kvtheory-benchmark",
                        help="directory for the bench runs' output")
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    if args.quick:
        only -= {"bench", "cluster"}
    print(f"kvtheory benchmark ({_load()}, {os.cpu_count()} cores, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']})")

    if "attend" in only:
        sizes = [(10_000, 64), (1_000, 64)] if args.quick else \
            [(100_000, 128), (10_000, 64), (1_000, 64)]
        print("\n== attention against bare numpy (K@q, stable softmax, V.T@w); target <= 1.3")
        for r in measure_attend(sizes):
            print(f"n = {r['n']:>6}, d = {r['d']:>3}: bare {r['bare_ms']:8.3f} ms   "
                  f"ExactCache.attend / bare {r['cache_ratio']:5.2f}   "
                  f"kv.attention / bare {r['attention_ratio']:5.2f}")

    if "append" in only:
        us = 1e6 * measure_append(5_000 if args.quick else 20_000)
        print(f"\n== per-token append through the base class (ExactCache, d = 128): "
              f"{us:.1f} us/token")

    if "extend" in only:
        n, d = (4096, 64) if args.quick else (32_768, 128)
        print(f"\n== extend vs the append loop, tokens/s, n = {n}, d = {d} "
              f"(middle grid parameter; target: exact >= 50x)")
        print(f"{'method':<11} {'parameter':<28} {'extend':>12} {'append loop':>12} "
              f"{'speed-up':>9}  bits  prefill")
        for r in measure_extend(n, d):
            print(f"{r['method']:<11} {r['param'][:28]:<28} {r['extend_tok_s']:12,.0f} "
                  f"{r['append_tok_s']:12,.0f} {r['speedup']:8.1f}x  "
                  f"{'same' if r['same_bits'] else 'DIFF'}  "
                  f"{'exact' if r['prefill_exact'] else 'prefill mode'}")

    big_serial = t_idx_serial = None
    if "bench" in only:
        print(f"\n== python -m kvtheory bench ({_load()})")
        to = args.timeout
        t_idx_serial = run_bench(["--n", "4096", "--d", "128", "--instances", "index",
                                  "--methods", "all", "--seeds", "1", "--jobs", "1"],
                                 os.path.join(args.out, "index4096"), to)
        print(f"bench --n 4096  --d 128 --instances index --methods all --seeds 1 (serial): "
              f"{t_idx_serial:7.1f} s", flush=True)
        big_serial = run_bench(["--n", "32768", "--d", "128", "--instances", "index",
                                "--methods", "all", "--seeds", "1", "--jobs", "1"],
                               os.path.join(args.out, "index32768"), to)
        print(f"bench --n 32768 --d 128 --instances index --methods all --seeds 1 (serial): "
              f"{big_serial:7.1f} s   (target < 300 s); ratio to n = 4096: "
              f"{big_serial / t_idx_serial:.1f}x (linear growth: 8x)", flush=True)

    if "cluster" in only:
        if not _bench_supports("--scheduler"):
            print("\n== two-worker local cluster: not measured (the bench has no --scheduler)")
        else:
            import logging

            from dask.distributed import LocalCluster

            sizes = [("4096", t_idx_serial)]
            if big_serial is not None and math.isfinite(big_serial):
                sizes.append(("32768", big_serial))
            print(f"\n== the index sweep (all methods, seed 0) on a two-worker LocalCluster "
                  f"vs serial ({_load()})")
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=":0", silence_logs=logging.ERROR) as cluster:
                for n_txt, serial in sizes:
                    t_cl = run_bench(["--n", n_txt, "--d", "128", "--instances", "index",
                                      "--methods", "all", "--seeds", "1", "--scheduler",
                                      cluster.scheduler_address],
                                     os.path.join(args.out, f"index{n_txt}-cluster"))
                    print(f"n = {n_txt:>5}: cluster {t_cl:7.1f} s, serial "
                          + (f"{serial:7.1f} s (speed-up {serial / t_cl:.2f}x)"
                             if serial is not None else "not measured"))
                    _compare_rows(os.path.join(args.out, f"index{n_txt}"),
                                  os.path.join(args.out, f"index{n_txt}-cluster"))
    if "bench" in only:
        t_small = run_bench(["--n", "4096", "--d", "64", "--seeds", "1", "--jobs", "2"],
                            os.path.join(args.out, "n4096"), args.timeout)
        print(f"\nbench --n 4096 --d 64 --seeds 1 (default methods and instances, 2 jobs): "
              f"{t_small:7.1f} s   (target < 60 s; {_load()})")
    print(f"\n({_load()})")


if __name__ == "__main__":
    main()
