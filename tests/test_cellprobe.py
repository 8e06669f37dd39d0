"""Tests of Chapter 8: the cell-probe package (oracle, planted instances, readers, runner)."""

from __future__ import annotations

import numpy as np
import pytest

import kvtheory as kv
from kvtheory import cellprobe as cp
from kvtheory.experiments import cellprobe as ex


# ---------------------------------------------------------------- the oracle
def _toy_oracle(adaptive, budget=5, trials=2):
    V = np.arange(trials * 6, dtype=float).reshape(trials, 6)
    return cp.CellOracle({"V": ((2, 3), lambda f: np.take_along_axis(V, f, axis=1))},
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
    with pytest.raises(cp.BudgetExceededError, match="budget is 3"):
        o.read("V", [2, 3])
    np.testing.assert_array_equal(o.cost, [2, 2])                      # nothing charged
    o.read("V", [2])
    np.testing.assert_array_equal(o.remaining, [0, 0])


def test_nonadaptive_oracle_allows_exactly_one_batch():
    o = _toy_oracle(False)
    with pytest.raises(cp.AdaptivityError):
        o.read("V", [0])
    o.read_batch({"V": [0, 1]})
    with pytest.raises(cp.AdaptivityError):
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
        cp.CellOracle({"V": ((1,), lambda f: f)}, trials=1, budget=-1, adaptive=True)
    with pytest.raises(TypeError, match="adaptive"):
        cp.CellOracle({"V": ((1,), lambda f: f)}, trials=1, budget=1, adaptive=1)
    with pytest.raises(TypeError, match="regions"):
        cp.CellOracle({}, trials=1, budget=1, adaptive=True)
    with pytest.raises(TypeError, match="callable"):
        cp.CellOracle({"V": ((1,), 3)}, trials=1, budget=1, adaptive=True)


# ---------------------------------------------------------------- instances
@pytest.mark.parametrize("problem", cp.PROBLEMS)
def test_exact_outputs_match_dense_attention(problem):
    if problem == "value":
        b = cp.sample_planted_value(7, 5, trials=6, seed=3)
    else:
        b = cp.sample_planted_key(7, 5, trials=6, gamma=0.2, seed=3)
    Z = b.exact_outputs()
    for j in range(b.trials):
        q, K, V = b.materialize(j)
        assert K.shape == V.shape == (8, 5)
        np.testing.assert_allclose(kv.attention(q, K, V), Z[j], atol=1e-12)


def test_value_distribution_is_a_fair_mixture_and_planted_cell_uniform():
    b = cp.sample_planted_value(10, 4, trials=20000, seed=0)
    assert abs(b.planted.mean() - 0.5) < 0.02
    counts = np.bincount(b.t_star * 4 + b.l_star, minlength=40)
    assert counts.min() > 0.7 * 500 and counts.max() < 1.3 * 500
    q, K, V = b.materialize(int(np.argmin(b.planted)))                 # a D0 draw
    assert not K.any() and not V.any()


def test_key_distribution_values_are_fair_signs_and_weight_is_exact():
    b = cp.sample_planted_key(50, 8, trials=40, gamma=0.1, seed=1)
    q, K, V = b.materialize(0)
    assert set(np.unique(V[:-1])) == {-1.0, 1.0}
    assert abs(V[:-1].mean()) < 0.1
    assert np.count_nonzero(K) == 1 and K[b.t_star[0], b.l_star[0]] == pytest.approx(b.L)
    w = kv.softmax(K @ q)
    assert w[b.t_star[0]] == pytest.approx(1 / 1.1)
    # the A_alpha margin of part (b) of the time-barrier theorem
    z = b.exact_outputs()
    vstar = np.stack([b.materialize(j)[2][b.t_star[j]] for j in range(b.trials)])
    assert np.all(np.abs(z - vstar) <= 2 * 0.1 / 1.1 + 1e-12)


@pytest.mark.parametrize("kind", cp.STRUCTURES)
@pytest.mark.parametrize("problem", cp.PROBLEMS)
def test_oracle_structure_equals_reference_builder(kind, problem):
    seed_idx = 11
    if problem == "value":
        b = cp.sample_planted_value(6, 3, trials=8, seed=5)
    else:
        b = cp.sample_planted_key(6, 3, trials=8, seed=5)
    region = {"key_rowmax": "key_rowmax", "argmax": "argmax", "lsh": "lsh_dir"}.get(kind)
    o = b.oracle(10_000, adaptive=True, structures=(kind,), structure_seed=seed_idx)
    q, K, V = b.materialize(0)
    ref = cp.build_structure(K[:-1], V[:-1], kind, seed=seed_idx)
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
        cp.sample_planted_value(1, 4, trials=2)
    with pytest.raises(TypeError, match="d"):
        cp.sample_planted_value(4, 2.0, trials=2)
    with pytest.raises(ValueError, match="trials"):
        cp.sample_planted_key(4, 4, trials=0)
    with pytest.raises(ValueError, match="gamma"):
        cp.sample_planted_key(4, 4, trials=2, gamma=1.0)
    with pytest.raises(ValueError, match="trials \\* n \\* d"):
        cp.sample_planted_key(10**6, 64, trials=100)
    with pytest.raises(TypeError, match="seed"):
        cp.sample_planted_key(4, 4, trials=2, seed=None)
    b = cp.sample_planted_key(4, 4, trials=2)
    with pytest.raises(ValueError, match="outputs"):
        b.success(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="outputs"):
        b.success(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="eta"):
        b.success(np.zeros((2, 4)), eta=1.0)
    with pytest.raises(ValueError, match="structures"):
        b.oracle(3, adaptive=True, structures=("nope",))
    with pytest.raises(ValueError, match="trial"):
        b.materialize(5)


def test_success_bound_and_scale():
    assert cp.success_bound(0, 10, 10) == 0.5
    np.testing.assert_allclose(cp.success_bound([50, 100, 300], 10, 10), [0.75, 1.0, 1.0])
    with pytest.raises(ValueError, match="T"):
        cp.success_bound(-1, 10, 10)
    with pytest.raises(ValueError, match="T"):
        cp.success_bound(np.nan, 10, 10)
    with pytest.raises(ValueError, match="n"):
        cp.success_bound(1, 0, 10)
    assert cp.planted_key_scale(100, 0.5) == pytest.approx(np.log(200))
    with pytest.raises(ValueError, match="gamma"):
        cp.planted_key_scale(100, 0.0)


# ---------------------------------------------------------------- readers
@pytest.mark.parametrize("name", list(cp.NONADAPTIVE_READERS))
@pytest.mark.parametrize("problem", cp.PROBLEMS)
def test_nonadaptive_cells_are_distinct_exact_budget_and_one_round(name, problem):
    n, d, B = 9, 4, 5
    reader = cp.make_reader(name)
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
    batch = (cp.sample_planted_value(n, d, trials=B) if problem == "value"
             else cp.sample_planted_key(n, d, trials=B))
    run = cp.run_reader(reader, batch, 17)
    assert run.rounds == 1 and np.all(run.cost == 17)


def test_nonadaptive_reader_never_sees_the_oracle():
    seen = {}

    class Spy(cp.UniformCells):
        def cells(self, problem, n, d, T, trials, rng):
            seen["args"] = (problem, n, d, T, trials)
            return super().cells(problem, n, d, T, trials, rng)

    b = cp.sample_planted_value(8, 2, trials=3)
    cp.run_reader(Spy(), b, 4)
    assert seen["args"] == ("value", 8, 2, 4, 3)


def test_nonadaptive_success_matches_ceiling_on_mixture():
    # every fixed set of T cells attains 1/2 + T/(2nd) on the mixture, in expectation
    b = cp.sample_planted_value(16, 8, trials=6000, seed=2)
    for name in cp.NONADAPTIVE_READERS:
        run = cp.run_reader(cp.make_reader(name), b, 64, seed=1)
        assert abs(run.rate - cp.success_bound(64, 16, 8)) < 4 * run.se + 1e-9


def test_decode_view_bayes_rule_and_guesses():
    view = {"V": (np.array([[0, 5], [1, 2]]), np.array([[0.0, 1.0], [0.0, 0.0]]),
                  np.ones((2, 2), bool))}
    out = cp.decode_view("value", 3, 4, view)
    np.testing.assert_allclose(out, [[0, 0.25, 0, 0], [0, 0, 0, 0]])
    with pytest.raises(ValueError, match="problem"):
        cp.decode_view("nope", 3, 4, view)
    with pytest.raises(TypeError, match="view"):
        cp.decode_view("value", 3, 4, {})


def test_pointer_rows_is_limited_by_its_fixed_rows():
    b = cp.sample_planted_key(64, 8, trials=3000, seed=4)
    run = cp.run_reader(cp.PointerRows(), b, 1 + 16 * 8, seed=0)     # 16 of 64 rows
    assert abs(run.rate - 0.25) < 4 * run.se
    assert run.rate <= cp.success_bound(16 * 8, 64, 8)
    with pytest.raises(ValueError, match="key"):
        cp.PointerRows().cells("value", 4, 4, 5, 1, np.random.default_rng(0))


def test_summary_reader_escapes_with_d_cells():
    for b in (cp.sample_planted_value(100, 8, trials=200), cp.sample_planted_key(100, 8,
                                                                                  trials=200)):
        run = cp.run_reader(cp.SummaryReader(), b, 8)
        assert run.rate == 1.0 and run.rounds == 1 and run.cost.max() == 8


@pytest.mark.parametrize("name, cost", [("argmax pointer", 17), ("key-max scan", 200 + 16),
                                        ("lsh", 3 * 16 + 4)])
def test_adaptive_readers_costs_and_success(name, cost):
    b = cp.sample_planted_key(200, 16, trials=300, seed=6)
    run = cp.run_reader(cp.make_reader(name), b, 10**6)
    assert run.rate == 1.0 and run.rounds == 2
    assert np.all(run.cost == cost)
    short = cp.run_reader(cp.make_reader(name), b, cost - 1)         # one cell short
    assert short.rate < 0.7 and np.all(short.cost <= cost - 1)


def test_adaptive_scan_costs_order_nd():
    b = cp.sample_planted_key(64, 8, trials=400, seed=7)
    run = cp.run_reader(cp.AdaptiveScan(chunk=8), b, 10**6)
    assert run.rate == 1.0
    assert 0.4 < (run.cost.mean() - 8) / (64 * 8) < 0.6               # about nd/2 + d
    bv = cp.sample_planted_value(64, 8, trials=400, seed=7)
    runv = cp.run_reader(cp.AdaptiveScan(chunk=8), bv, 10**6)
    assert runv.rate == 1.0 and 0.68 < runv.cost.mean() / 512 < 0.82   # about 3nd/4
    with pytest.raises(ValueError, match="chunk"):
        cp.AdaptiveScan(chunk=0)


def test_run_reader_bad_inputs():
    b = cp.sample_planted_key(4, 4, trials=2)
    with pytest.raises(TypeError, match="reader"):
        cp.run_reader("rows", b, 3)
    with pytest.raises(TypeError, match="batch"):
        cp.run_reader(cp.RowSampling(), object(), 3)
    with pytest.raises(ValueError, match="budget"):
        cp.run_reader(cp.RowSampling(), b, -2)
    with pytest.raises(ValueError, match="name"):
        cp.make_reader("magic")


# ---------------------------------------------------------------- experiments
def test_sweep_records_and_table():
    rec = ex.nonadaptive_sweep("value", 16, 4, fractions=(0.0, 1.0), trials=200, seed=0)
    assert len(rec) == 8
    assert all(r["success"] == (0.5 if r["T"] == 0 else 1.0) or r["T"] == 0 for r in rec)
    assert all(r["success"] == 1.0 for r in rec if r["T"] == 64)
    table = ex.format_table(rec)
    assert "NO" not in table and table.shape == (8, 7)
    with pytest.raises(ValueError, match="fractions"):
        ex.nonadaptive_sweep("value", 4, 4, fractions=(3.0,))
    with pytest.raises(ValueError, match="readers"):
        ex.nonadaptive_sweep("value", 4, 4, readers=("pointer rows",))
    with pytest.raises(ValueError, match="problem"):
        ex.nonadaptive_sweep("both", 4, 4)
    with pytest.raises(ValueError, match="n \\* d"):
        ex.nonadaptive_sweep("value", 1000, 1000)


def test_min_budget_finds_threshold():
    b = cp.sample_planted_key(300, 16, trials=50, seed=0)
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
    w = kv.widgets.cellprobe_widget()
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
        kv.widgets.cellprobe.reader_budget_plot(reader="magic")


# ---------------------------------------------------------------- worst case (part (a))
def test_planted_flag_selects_one_input_class():
    zero = cp.sample_planted_value(10, 4, trials=50, seed=0, planted=False)
    one = cp.sample_planted_value(10, 4, trials=50, seed=0, planted=True)
    assert not zero.planted.any() and one.planted.all()
    assert np.all(zero.exact_outputs() == 0)
    with pytest.raises(TypeError, match="planted"):
        cp.sample_planted_value(10, 4, trials=5, planted=1)


def test_worst_case_bound_values_and_validation():
    assert cp.worst_case_bound(0, 64, 16) == pytest.approx(1 / 17)
    np.testing.assert_allclose(cp.worst_case_bound([512, 1024, 4096], 64, 16),
                               [9 / 17, 1.0, 1.0])
    with pytest.raises(ValueError, match="T"):
        cp.worst_case_bound(-1, 4, 4)


def test_hedged_reader_attains_the_worst_case_ceiling_on_both_classes():
    n, d, p = 16, 4, 0.5
    bound = cp.worst_case_bound(p * n * d, n, d)
    for flag in (False, True):
        b = cp.sample_planted_value(n, d, trials=20000, seed=3, planted=flag)
        run = cp.run_reader(cp.HedgedReader(p), b, n * d, seed=4)
        assert abs(run.rate - bound) < 4 * run.se
        assert abs(run.cost.mean() / (n * d) - p) < 0.02
    with pytest.raises(ValueError, match="budget"):
        cp.run_reader(cp.HedgedReader(p), b, n * d - 1)
    with pytest.raises(ValueError, match="p"):
        cp.HedgedReader(1.5)
    with pytest.raises(ValueError, match="value"):
        cp.run_reader(cp.HedgedReader(p), cp.sample_planted_key(8, 4, trials=2), 64)


def test_worst_case_sweep_prediction_holds_for_every_reader():
    rec = ex.worst_case_sweep(32, 8, fractions=(0.0, 0.5, 1.0), trials=1500, seed=2)
    assert len(rec) == 5 * 3
    for r in rec:
        se = max(r["se0"], r["se1"], 1e-3)
        assert r["worst"] <= r["bound"] + 4 * se, r
        assert r["s1"] <= r["line"] + 4 * se, r
        assert r["mixture"] == pytest.approx((r["s0"] + r["s1"]) / 2)
    text = ex.format_worst_case_table(rec)
    assert text.shape == (len(rec), 11) and "NO" not in text
    with pytest.raises(ValueError, match="fractions"):
        ex.worst_case_sweep(8, 4, fractions=(1.5,))
    with pytest.raises(ValueError, match="readers"):
        ex.worst_case_sweep(8, 4, readers=("pointer rows",))


def test_reader_decode_is_the_output_rule_of_the_runner():
    class Zero(cp.UniformCells):
        def decode(self, problem, n, d, view, *, gamma, rng):
            return np.zeros((next(iter(view.values()))[1].shape[0], d))

    b = cp.sample_planted_value(8, 2, trials=400, seed=1, planted=True)
    assert cp.run_reader(Zero(), b, 16).rate == 0.0
    assert cp.run_reader(cp.UniformCells(), b, 16).rate == 1.0


# ---------------------------------------------------------------- plots take data and ax
def test_plots_draw_into_given_axes():
    import matplotlib.pyplot as plt

    rec = ex.nonadaptive_sweep("value", 8, 4, fractions=(0.0, 1.0), readers=("rows",),
                               trials=50, seed=0)
    fig, ax = plt.subplots()
    assert kv.viz.plot_reader_budget(rec, ax=ax) is fig
    fig2, axes = plt.subplots(1, 2)
    recb = ex.nonadaptive_sweep("key", 8, 4, fractions=(0.5, 2.0), readers=("rows",),
                                trials=50, seed=0)
    assert kv.viz.plot_nonadaptive_success(rec, recb, axes=axes) is fig2
    with pytest.raises(ValueError, match="axes"):
        kv.viz.plot_nonadaptive_success(rec, recb, axes=[ax])
    with pytest.raises(TypeError, match="ax"):
        kv.viz.plot_reader_budget(rec, ax="left")
    with pytest.raises(ValueError, match="records"):
        kv.viz.plot_reader_budget([])
    plt.close("all")


def test_widget_reader_labels_come_from_reader_names():
    w = kv.widgets.cellprobe_widget()
    dd = next(c for c in w.children if getattr(c, "description", "") == "reader")
    assert [label for label, _ in dd.options] == [
        make().name for make in cp.NONADAPTIVE_READERS.values()]
    dd.value = "columns"
    assert "n = 128" in w.result.axes[0].get_title()


def test_plot_worst_case_draws_ceiling_from_records():
    import matplotlib.pyplot as plt

    rec = ex.worst_case_sweep(8, 4, fractions=(0.0, 0.5, 1.0), readers=("uniform", "hedged"),
                              trials=100, seed=0)
    fig, ax = plt.subplots()
    assert kv.viz.plot_worst_case(rec, ax=ax) is fig
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"][0]
    x, y = dashed.get_xdata(), dashed.get_ydata()
    np.testing.assert_allclose(y, cp.worst_case_bound(np.asarray(x) * 32, 8, 4))
    with pytest.raises(ValueError, match="records"):
        kv.viz.plot_worst_case([])
    plt.close("all")
