"""The bench's streaming shortcuts leave every row as the step-by-step run (timing aside).

Issue 15: an instance with queries is played by ``step``; a method whose
state ignores the queries is fed with one ``extend`` instead
(:func:`kvtheory.bench.runner.prefill_exact`). These tests run both paths
and compare the rows.
"""

import math

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.bench import (
    DEFAULT_BUDGETS,
    DEFAULT_INSTANCES,
    DEFAULT_METHODS,
    INSTANCES,
    METHODS,
    run_bench,
    runner,
)
from kvtheory.bench.runner import _cell_rows, choose, exact_bits, prefill_exact, tuning_instance

N, D = 128, 16

#: Instances whose stream has queries (the ones the shortcut changes).
WITH_QUERIES = [k for k, s in INSTANCES.items() if s.is_available
                and runner.make_instance(k, 32, 4, seed=0).Q is not None]


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "sec_per_token"} for r in rows]


#: Methods whose ``extend`` equals the append loop up to the last bit of a matrix
#: product (``ROUNDING`` in tests/test_extend.py): their error columns may differ by
#: rounding when the bench streams with ``extend`` instead of ``step``.
ROUNDING = {"rotation", "jl-keys", "qjl", "lowrank"}
TOL = 1e-9


def _same(a, b):
    """Rows equal column by column (NaN equal to NaN; ROUNDING methods' float columns
    to ``TOL * max(1, |value|)``: the errors are of answers of size about 1)."""
    assert len(a) == len(b)
    worst = 0.0
    for ra, rb in zip(_strip(a), _strip(b), strict=True):
        for k, va in ra.items():
            vb = rb[k]
            where = (ra["method"], ra["instance"], ra["budget"], k, va, vb)
            if isinstance(va, float) and isinstance(vb, float):
                if math.isnan(va) or math.isnan(vb):
                    assert math.isnan(va) and math.isnan(vb), where
                elif ra["method"] in ROUNDING and va != vb:
                    gap = abs(va - vb) / max(1.0, abs(va))
                    worst = max(worst, gap)
                    assert gap <= TOL, where
                else:
                    assert va == vb, where
            else:
                assert va == vb, where
    return worst


def _choices(spec, key):
    tune = tuning_instance(key, N, D)
    bb = {b: int(math.floor(b * exact_bits(tune.n, tune.d, tune.d_v))) for b in DEFAULT_BUDGETS}
    return {b: choose(spec, bb[b], tune.n, tune.d, tune.d_v, data=(tune.K, tune.V))[0]
            for b in DEFAULT_BUDGETS}


def test_the_shortcut_rule():
    shortcut = {k for k, s in METHODS.items() if prefill_exact(s.make(s.grid(64, 8, 8)[0], 0))}
    assert shortcut == {k for k, s in METHODS.items()
                        if k not in ("h2o", "tova", "snapkv", "keydiff")}


@pytest.mark.parametrize("key", [k for k, s in METHODS.items()
                                 if prefill_exact(s.make(s.grid(64, 8, 8)[0], 0))])
def test_prefill_gives_the_rows_of_the_step_loop(key, monkeypatch):
    """Every method the bench feeds with one extend: the rows of the step loop, on every
    instance with queries, at every default budget."""
    spec = METHODS[key]
    for inst in WITH_QUERIES:
        ch = _choices(spec, inst)
        fast = _cell_rows(spec, inst, 0, N, D, DEFAULT_BUDGETS, ch)
        with monkeypatch.context() as m:
            m.setattr(runner, "prefill_exact", lambda alg: False)
            slow = _cell_rows(spec, inst, 0, N, D, DEFAULT_BUDGETS, ch)
        _same(fast, slow)


def test_default_run_rows_unchanged_by_the_shortcuts(monkeypatch):
    """The default methods on the default instances: the new path's rows are the old's."""
    new = run_bench(n=N, d=D, seeds=[0]).rows
    with monkeypatch.context() as m:
        m.setattr(runner, "prefill_exact", lambda alg: False)
        old = run_bench(n=N, d=D, seeds=[0]).rows
    assert {r["method"] for r in new} == set(DEFAULT_METHODS)
    assert {r["instance"] for r in new} == set(DEFAULT_INSTANCES)
    _same(new, old)


class Scribbler(kv.StreamingAttention):
    """A reader's method that writes into the tokens it is given."""

    name = "scribbler"

    def _append(self, k, v):
        v[0] = 99.0
        self.v = np.array(v)

    def _attend(self, q):
        return self.v

    def memory_ledger(self):
        return kv.MemoryLedger().add("value", self.d_v, 64)


def test_shared_instance_is_read_only_for_the_methods():
    """Instances are built once per process and shared by the cells (the Dask workers'
    saving); a method writing into its input fails its own cells, not the others'."""
    res = run_bench([Scribbler, "window"], ["index", "gaussian"], n=64, d=8, budgets=[0.1],
                    seeds=[0])
    bad = res.select(method="Scribbler")
    assert len(bad) == 2 and all("read-only" in r["status"] for r in bad)
    alone = run_bench(["window"], ["index", "gaussian"], n=64, d=8, budgets=[0.1], seeds=[0])
    _same(res.select(method="window"), alone.rows)
    inst = runner.cell_instance("index", 64, 8, 0)
    assert inst is runner.cell_instance("index", 64, 8, 0)
    assert not inst.K.flags.writeable and not inst.V.flags.writeable
