"""The benchmark on Dask: the same rows serially, on a local pool and on a cluster.

One test starts a two-worker ``dask.distributed.LocalCluster`` (``kv.bench.local_cluster``)
on localhost and runs the same small sweep there (``scheduler=``) and
serially; the rows must be identical
(the timing column ``sec_per_token`` aside); the default local pool
(``jobs=2``) is compared with a serial run in ``tests/test_bench.py``.
A reader's class defined in this
module, which the workers cannot import, is shipped by value.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.bench import local_cluster, read_results, run_bench

distributed = pytest.importorskip("dask.distributed")

SMALL = {"n": 64, "d": 8, "budgets": [0.1, 0.3], "seeds": [0, 1]}
METHODS = ["window", "kivi", "reservoir"]
INSTANCES = ["index", "recency"]


class FirstTokens(kv.StreamingAttention):
    """A reader's method: keep the first 8 tokens (defined here, not importable by workers)."""

    name = "first tokens"

    def __init__(self):
        super().__init__()
        self.K, self.V = [], []

    def _append(self, k, v):
        if len(self.K) < 8:
            self.K.append(k)
            self.V.append(v)

    def _attend(self, q):
        return kv.attention(q, np.array(self.K), np.array(self.V))

    def memory_ledger(self):
        return kv.MemoryLedger().add("kept", len(self.K) * (self.d + self.d_v), 64)


def _worker_env():
    return {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_")}


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "sec_per_token"} for r in rows]


def test_serial_local_pool_and_cluster_give_the_same_rows():
    methods = [*METHODS, FirstTokens]
    trim = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    t0 = time.perf_counter()
    serial = run_bench(methods, INSTANCES, jobs=1, **SMALL)
    t_serial = time.perf_counter() - t0
    with local_cluster(2, host="127.0.0.1") as cluster:
        t0 = time.perf_counter()
        remote = run_bench(methods, INSTANCES, scheduler=cluster.scheduler_address, **SMALL)
        t_cluster = time.perf_counter() - t0
        with distributed.Client(cluster) as client:
            env = client.run(_worker_env)
    # the bench's pool: single-threaded BLAS, and glibc's trim threshold left as the
    # environment has it (Dask's default sets 64 KiB; see local_cluster)
    assert len(env) == 2
    for got in env.values():
        assert got["OPENBLAS_NUM_THREADS"] == "1"
        assert got["MALLOC_TRIM_THRESHOLD_"] == trim
    print(f"\nwall times: serial {t_serial:.2f} s, two-worker cluster {t_cluster:.2f} s; "
          f"{len(serial.rows)} rows")
    assert len(serial.rows) == len(METHODS + ["FirstTokens"]) * 2 * 2 * 2
    assert all(r["status"] == "ok" for r in serial.rows)
    assert _strip(serial.rows) == _strip(remote.rows)


def test_resume_skips_finished_cells(tmp_path):
    first = run_bench(["window", "kivi"], ["index"], **SMALL)
    first.to_csv(tmp_path / "r.csv")
    prev = read_results(tmp_path / "r.csv").rows
    keep = [r for r in prev if r["method"] == "window"]          # kivi's cells "lost"
    again = run_bench(["window", "kivi"], ["index"], resume=keep, **SMALL)
    assert _strip(again.rows) == _strip(first.rows)
    # cells of the resumed method are taken as they were, not run again
    marked = [dict(r, sec_per_token=-1.0) for r in keep]
    again = run_bench(["window", "kivi"], ["index"], resume=marked, **SMALL)
    assert all(r["sec_per_token"] == -1.0 for r in again.rows if r["method"] == "window")
    assert all(r["sec_per_token"] >= 0 for r in again.rows if r["method"] == "kivi")
