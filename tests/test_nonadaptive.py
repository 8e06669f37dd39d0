"""Tests of Chapter 8: the cell oracle, the planted-cell instances, the readers."""

from __future__ import annotations

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.experiments import nonadaptive as ex
from kvtheory.instances import nonadaptive as na


# ---------------------------------------------------------------- the oracle
def _toy_oracle(adaptive, budget=5, trials=2):
    V = np.arange(trials * 6, dtype=float).reshape(trials, 6)
    return na.CellOracle({"V": ((2, 3), lambda f: np.take_along_axis(V, f, axis=1))},
                         trials=trials, budget=budget, adaptive=adaptive)


def test_oracle_charges_per_trial_and_per_cell():
    o = _toy_oracle(True)
    out = o.read("V", np.array([[0, 1], [5, 5]]), mask=np.array([[True, False], [True, True]]))
    np.testing.assert_array_equal(out, [[0.0, 0.0], [11.0, 11.0]])   # unmasked reads as 0
    np.testing.assert_array_equal(o.cost, [1, 2])                      # repeats are charged
    np.testing.assert_array_equal(o.cost_by_region["V"], [1, 2])
    assert o.rounds == 1


def test_oracle_budget_is_enforced_before_revealing():
    o = _toy_oracle(True, budget=3)
    o.read("V", [0, 1])
    with pytest.raises(na.BudgetExceededError, match="budget is 3"):
        o.read("V", [2, 3])
    np.testing.assert_array_equal(o.cost, [2, 2])                      # nothing charged
    o.read("V", [2])
    np.testing.assert_array_equal(o.remaining, [0, 0])


def test_nonadaptive_oracle_allows_exactly_one_batch():
    o = _toy_oracle(False)
    with pytest.raises(na.AdaptivityError):
        o.read("V", [0])
    o.read_batch({"V": [0, 1]})
    with pytest.raises(na.AdaptivityError):
        o.read_batch({"V": [2]})


def test_oracle_exposes_no_arrays():
    o = _toy_oracle(False)
    public = [a for a in dir(o) if not a.startswith("_")]
    for name in public:
        val = getattr(o, name)
        assert not (isinstance(val, np.ndarray) and val.ndim >= 2), name
    with pytest.raises(AttributeError):
        o.extra = 1                                                    # __slots__


@pytest.mark.parametrize("bad, exc, match", [
    ({"V": [1.5]}, TypeError, "integer"),
    ({"V": [6]}, ValueError, r"\[0, 6\)"),
    ({"V": [-1]}, ValueError, r"\[0, 6\)"),
    ({"W": [0]}, ValueError, "region"),
    ({"V": np.zeros((3, 1), dtype=int)}, ValueError, "shape"),
    ({"V": ([0], np.array([1]))}, ValueError, "mask"),
    ({}, TypeError, "requests"),
])
def test_oracle_bad_requests(bad, exc, match):
    with pytest.raises(exc, match=match):
        _toy_oracle(True).read_batch(bad)


def test_oracle_bad_construction():
    with pytest.raises(ValueError, match="budget"):
        na.CellOracle({"V": ((1,), lambda f: f)}, trials=1, budget=-1, adaptive=True)
    with pytest.raises(TypeError, match="adaptive"):
        na.CellOracle({"V": ((1,), lambda f: f)}, trials=1, budget=1, adaptive=1)
    with pytest.raises(TypeError, match="regions"):
        na.CellOracle({}, trials=1, budget=1, adaptive=True)
    with pytest.raises(TypeError, match="callable"):
        na.CellOracle({"V": ((1,), 3)}, trials=1, budget=1, adaptive=True)


# ---------------------------------------------------------------- instances
@pytest.mark.parametrize("problem", na.PROBLEMS)
def test_exact_outputs_match_dense_attention(problem):
    if problem == "value":
        b = na.sample_planted_value(7, 5, trials=6, seed=3)
    else:
        b = na.sample_planted_key(7, 5, trials=6, gamma=0.2, seed=3)
    Z = b.exact_outputs()
    for j in range(b.trials):
        q, K, V = b.materialize(j)
        assert K.shape == V.shape == (8, 5)
        np.testing.assert_allclose(kv.attention(q, K, V), Z[j], atol=1e-12)


def test_value_distribution_is_a_fair_mixture_and_planted_cell_uniform():
    b = na.sample_planted_value(10, 4, trials=20000, seed=0)
    assert abs(b.planted.mean() - 0.5) < 0.02
    counts = np.bincount(b.t_star * 4 + b.l_star, minlength=40)
    assert counts.min() > 0.7 * 500 and counts.max() < 1.3 * 500
    q, K, V = b.materialize(int(np.argmin(b.planted)))                 # a D0 draw
    assert not K.any() and not V.any()


def test_key_distribution_values_are_fair_signs_and_weight_is_exact():
    b = na.sample_planted_key(50, 8, trials=40, gamma=0.1, seed=1)
    q, K, V = b.materialize(0)
    assert set(np.unique(V[:-1])) == {-1.0, 1.0}
    assert abs(V[:-1].mean()) < 0.1
    assert np.count_nonzero(K) == 1 and K[b.t_star[0], b.l_star[0]] == pytest.approx(b.L)
    w = kv.softmax(K @ q)
    assert w[b.t_star[0]] == pytest.approx(1 / 1.1)
    # the A_alpha margin of Theorem 8.2(b)
    z = b.exact_outputs()
    vstar = np.stack([b.materialize(j)[2][b.t_star[j]] for j in range(b.trials)])
    assert np.all(np.abs(z - vstar) <= 2 * 0.1 / 1.1 + 1e-12)


@pytest.mark.parametrize("kind", na.INDEX_KINDS)
@pytest.mark.parametrize("problem", na.PROBLEMS)
def test_oracle_index_equals_reference_builder(kind, problem):
    seed_idx = 11
    if problem == "value":
        b = na.sample_planted_value(6, 3, trials=8, seed=5)
    else:
        b = na.sample_planted_key(6, 3, trials=8, seed=5)
    region = {"key_rowmax": "key_rowmax", "argmax": "argmax", "lsh": "lsh_dir"}.get(kind)
    o = b.oracle(10_000, adaptive=True, index=(kind,), index_seed=seed_idx)
    q, K, V = b.materialize(0)
    ref = na.build_index(K[:-1], V[:-1], kind, seed=seed_idx)
    if kind == "summary":
        got = np.concatenate([o.read("value_sum", np.arange(3))[0],
                              o.read("heavy_value_row", np.arange(3))[0]])
    else:
        size = int(np.prod(o.regions[region]))
        got = o.read(region, np.arange(size))[0]
        got = got[:ref.size]                                            # directory is padded
        if kind == "lsh":
            assert not got[ref.size:].any()
    np.testing.assert_allclose(got, ref)


def test_sampler_bad_inputs():
    with pytest.raises(ValueError, match="n"):
        na.sample_planted_value(1, 4, trials=2)
    with pytest.raises(TypeError, match="d"):
        na.sample_planted_value(4, 2.0, trials=2)
    with pytest.raises(ValueError, match="trials"):
        na.sample_planted_key(4, 4, trials=0)
    with pytest.raises(ValueError, match="gamma"):
        na.sample_planted_key(4, 4, trials=2, gamma=1.0)
    with pytest.raises(ValueError, match="trials \\* n \\* d"):
        na.sample_planted_key(10**6, 64, trials=100)
    with pytest.raises(TypeError, match="seed"):
        na.sample_planted_key(4, 4, trials=2, seed=None)
    b = na.sample_planted_key(4, 4, trials=2)
    with pytest.raises(ValueError, match="outputs"):
        b.success(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="outputs"):
        b.success(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="eta"):
        b.success(np.zeros((2, 4)), eta=1.0)
    with pytest.raises(ValueError, match="index"):
        b.oracle(3, adaptive=True, index=("nope",))
    with pytest.raises(ValueError, match="trial"):
        b.materialize(5)


def test_success_bound_and_scale():
    assert na.success_bound(0, 10, 10) == 0.5
    np.testing.assert_allclose(na.success_bound([50, 100, 300], 10, 10), [0.75, 1.0, 1.0])
    with pytest.raises(ValueError, match="T"):
        na.success_bound(-1, 10, 10)
    with pytest.raises(ValueError, match="T"):
        na.success_bound(np.nan, 10, 10)
    with pytest.raises(ValueError, match="n"):
        na.success_bound(1, 0, 10)
    assert na.planted_key_scale(100, 0.5) == pytest.approx(np.log(200))
    with pytest.raises(ValueError, match="gamma"):
        na.planted_key_scale(100, 0.0)


# ---------------------------------------------------------------- readers
@pytest.mark.parametrize("name", list(na.NONADAPTIVE_READERS))
@pytest.mark.parametrize("problem", na.PROBLEMS)
def test_nonadaptive_cells_are_distinct_exact_budget_and_one_round(name, problem):
    n, d, B = 9, 4, 5
    reader = na.make_reader(name)
    for T in (0, 1, 7, 17, n * d):
        req = reader.cells(problem, n, d, T, B, np.random.default_rng(0))
        regions = {}
        for region, r in req.items():
            flat, mask = r if isinstance(r, tuple) else (r, np.ones(np.shape(r), bool))
            flat = np.broadcast_to(flat, (B, np.shape(flat)[-1]))
            regions[region] = (flat, np.broadcast_to(mask, flat.shape))
        for j in range(B):
            cells = [(reg, int(c)) for reg, (f, m) in regions.items() for c in f[j][m[j]]]
            assert len(cells) == len(set(cells)) == T                    # exactly T distinct
    batch = (na.sample_planted_value(n, d, trials=B) if problem == "value"
             else na.sample_planted_key(n, d, trials=B))
    run = na.run_reader(reader, batch, 17)
    assert run.rounds == 1 and np.all(run.cost == 17)


def test_nonadaptive_reader_never_sees_the_oracle():
    seen = {}

    class Spy(na.UniformCells):
        def cells(self, problem, n, d, T, trials, rng):
            seen["args"] = (problem, n, d, T, trials)
            return super().cells(problem, n, d, T, trials, rng)

    b = na.sample_planted_value(8, 2, trials=3)
    na.run_reader(Spy(), b, 4)
    assert seen["args"] == ("value", 8, 2, 4, 3)


def test_nonadaptive_success_matches_ceiling_on_mixture():
    # every fixed set of T cells attains 1/2 + T/(2nd) on the mixture, in expectation
    b = na.sample_planted_value(16, 8, trials=6000, seed=2)
    for name in na.NONADAPTIVE_READERS:
        run = na.run_reader(na.make_reader(name), b, 64, seed=1)
        assert abs(run.rate - na.success_bound(64, 16, 8)) < 4 * run.se + 1e-9


def test_decode_view_bayes_rule_and_guesses():
    view = {"V": (np.array([[0, 5], [1, 2]]), np.array([[0.0, 1.0], [0.0, 0.0]]),
                  np.ones((2, 2), bool))}
    out = na.decode_view("value", 3, 4, view)
    np.testing.assert_allclose(out, [[0, 0.25, 0, 0], [0, 0, 0, 0]])
    with pytest.raises(ValueError, match="problem"):
        na.decode_view("nope", 3, 4, view)
    with pytest.raises(TypeError, match="view"):
        na.decode_view("value", 3, 4, {})


def test_pointer_rows_is_limited_by_its_fixed_rows():
    b = na.sample_planted_key(64, 8, trials=3000, seed=4)
    run = na.run_reader(na.PointerRows(), b, 1 + 16 * 8, seed=0)     # 16 of 64 rows
    assert abs(run.rate - 0.25) < 4 * run.se
    assert run.rate <= na.success_bound(16 * 8, 64, 8)
    with pytest.raises(ValueError, match="key"):
        na.PointerRows().cells("value", 4, 4, 5, 1, np.random.default_rng(0))


def test_summary_reader_escapes_with_d_cells():
    for b in (na.sample_planted_value(100, 8, trials=200), na.sample_planted_key(100, 8,
                                                                                  trials=200)):
        run = na.run_reader(na.SummaryReader(), b, 8)
        assert run.rate == 1.0 and run.rounds == 1 and run.cost.max() == 8


@pytest.mark.parametrize("name, cost", [("argmax pointer", 17), ("key-max scan", 200 + 16),
                                        ("lsh", 3 * 16 + 4)])
def test_adaptive_readers_costs_and_success(name, cost):
    b = na.sample_planted_key(200, 16, trials=300, seed=6)
    run = na.run_reader(na.make_reader(name), b, 10**6)
    assert run.rate == 1.0 and run.rounds == 2
    assert np.all(run.cost == cost)
    short = na.run_reader(na.make_reader(name), b, cost - 1)         # one cell short
    assert short.rate < 0.7 and np.all(short.cost <= cost - 1)


def test_adaptive_scan_costs_order_nd():
    b = na.sample_planted_key(64, 8, trials=400, seed=7)
    run = na.run_reader(na.AdaptiveScan(chunk=8), b, 10**6)
    assert run.rate == 1.0
    assert 0.4 < (run.cost.mean() - 8) / (64 * 8) < 0.6               # about nd/2 + d
    bv = na.sample_planted_value(64, 8, trials=400, seed=7)
    runv = na.run_reader(na.AdaptiveScan(chunk=8), bv, 10**6)
    assert runv.rate == 1.0 and 0.68 < runv.cost.mean() / 512 < 0.82   # about 3nd/4
    with pytest.raises(ValueError, match="chunk"):
        na.AdaptiveScan(chunk=0)


def test_run_reader_bad_inputs():
    b = na.sample_planted_key(4, 4, trials=2)
    with pytest.raises(TypeError, match="reader"):
        na.run_reader("rows", b, 3)
    with pytest.raises(TypeError, match="batch"):
        na.run_reader(na.RowSampling(), object(), 3)
    with pytest.raises(ValueError, match="budget"):
        na.run_reader(na.RowSampling(), b, -2)
    with pytest.raises(ValueError, match="name"):
        na.make_reader("magic")


# ---------------------------------------------------------------- experiments
def test_sweep_records_and_table():
    rec = ex.nonadaptive_sweep("value", 16, 4, fractions=(0.0, 1.0), trials=200, seed=0)
    assert len(rec) == 8
    assert all(r["success"] == (0.5 if r["T"] == 0 else 1.0) or r["T"] == 0 for r in rec)
    assert all(r["success"] == 1.0 for r in rec if r["T"] == 64)
    table = ex.format_table(rec)
    assert "NO" not in table and table.count("\n") == 8
    with pytest.raises(ValueError, match="fractions"):
        ex.nonadaptive_sweep("value", 4, 4, fractions=(3.0,))
    with pytest.raises(ValueError, match="readers"):
        ex.nonadaptive_sweep("value", 4, 4, readers=("pointer rows",))
    with pytest.raises(ValueError, match="problem"):
        ex.nonadaptive_sweep("both", 4, 4)
    with pytest.raises(ValueError, match="n \\* d"):
        ex.nonadaptive_sweep("value", 1000, 1000)


def test_min_budget_finds_threshold():
    b = na.sample_planted_key(300, 16, trials=50, seed=0)
    r = ex.min_budget("argmax pointer", b, target=0.99)
    assert r["budget"] == 17 and r["success"] == 1.0
    with pytest.raises(ValueError, match="target"):
        ex.min_budget("argmax pointer", b, target=0.0)
    rec = ex.adaptive_costs(300, 16, readers=("lsh",), trials=30, seed=0)
    assert rec[0]["budget"] == 3 * 16 + 4
    with pytest.raises(ValueError, match="scan"):
        ex.adaptive_costs(10_000, 64, readers=("scan",))


# ---------------------------------------------------------------- certificates
@pytest.mark.parametrize("name", sorted(kv.bounds.certificate_functions(8)))
def test_chapter8_certificates_and_wrong_variants(name):
    f = kv.bounds.certificate_functions(8)[name]
    assert f().holds and f().chapter == 8
    assert not f(wrong=True).holds


# ---------------------------------------------------------------- widget
def test_widget_callback_headless():
    w = kv.widgets.nonadaptive_widget()
    controls = {c.description: c for c in w.children if hasattr(c, "description")}
    controls["n"].value = 32
    controls["d"].value = 4
    controls["T/(nd)"].value = 0.25
    fig = w.result
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    x, y = lines[0].get_xdata(), lines[0].get_ydata()
    np.testing.assert_allclose(y, np.minimum(1, 0.5 + np.asarray(x) / 2), atol=0.03)
    assert "n = 32, d = 4" in ax.get_title()
    vlines = [ln for ln in ax.get_lines() if ln.get_label().startswith("T = ")]
    assert vlines and vlines[0].get_label() == "T = 32"
    with pytest.raises(ValueError, match="reader"):
        kv.widgets.nonadaptive.reader_budget_plot(reader="magic")
