"""The low-dimensional instance (Chapter 4): codes, query norms, the INDEX game, figures, widget."""

import math
from functools import partial

import matplotlib
import numpy as np
import pytest

import kvtheory as kv
from kvtheory.experiments import lowdim as E
from kvtheory.instances import lowdim as L


def _weight_on_target(keys, C, i):
    """Exact attention weight of token i for Bob's query C k_i, padding token included."""
    scores = np.concatenate([keys @ (C * keys[i]), [0.0]])
    return kv.softmax(scores)[i]


# ------------------------------------------------------------------ instances
@pytest.mark.parametrize("n, d", [(1000, 8), (40, 8), (5000, 12)])
def test_instance_is_a_code_with_the_theorem_scale(n, d):
    inst = L.make_lowdim_instance(n, d, seed=0)
    K = inst.keys
    np.testing.assert_allclose(np.linalg.norm(K, axis=1), 1.0)
    G = K @ K.T
    assert G[~np.eye(inst.n_prime, dtype=bool)].max() <= 1 - inst.mu + 1e-12
    assert inst.n_prime == min(n - 1, inst.code_size)
    assert inst.C == pytest.approx(math.log(inst.n_prime / 0.1) / inst.mu)
    assert inst.query_norm == pytest.approx(inst.C)
    # the weight bound of Chapter 4's code-based bound, for every target
    w = [_weight_on_target(K, inst.C, i) for i in range(inst.n_prime)]
    assert min(w) >= 1 / 1.1 - 1e-12


@pytest.mark.parametrize("r, n_prime", [(3.0, 2), (3.6, 3)])
def test_codes_with_gap_above_one_use_gap_one(r, n_prime):
    # two or three keys on the circle have raw gap 2 or 1.5 > 1; the theorem
    # needs mu <= 1 (the padding token scores 0), so C = ln(n'/gamma)
    inst = L.make_lowdim_instance(10, 2, code="circle", max_query_norm=r)
    assert inst.n_prime == n_prime and inst.mu == 1.0
    assert inst.C == pytest.approx(math.log(n_prime / 0.1))
    w = [_weight_on_target(inst.keys, inst.C, i) for i in range(n_prime)]
    assert min(w) >= 1 / 1.1 - 1e-12
    # with the raw gap the weight bound fails: the gap must be capped
    raw_mu = 1 - math.cos(2 * math.pi / n_prime)
    assert _weight_on_target(inst.keys, math.log(n_prime / 0.1) / raw_mu, 0) < 1 / 1.1
    assert L.code_query_scale(2, 2.0) == pytest.approx(math.log(20.0))
    assert L.code_query_scale(5, 0.5) == pytest.approx(2 * math.log(50.0))
    with pytest.raises(ValueError, match="mu"):
        L.code_query_scale(2, 2.5)


def test_greedy_code_with_negative_eps_and_one_dimensional_signs():
    inst = L.make_lowdim_instance(10, 4, eps=-0.5, seed=0)
    assert inst.mu <= 1.0
    w = [_weight_on_target(inst.keys, inst.C, i) for i in range(inst.n_prime)]
    assert min(w) >= 1 / 1.1 - 1e-12
    one = L.make_lowdim_instance(10, 1, code="all-signs")
    assert one.n_prime == 2 and one.mu == 1.0
    assert min(_weight_on_target(one.keys, one.C, i) for i in range(2)) >= 1 / 1.1 - 1e-12


def test_instance_codes():
    allsigns = L.make_lowdim_instance(100, 6, code="all-signs")
    assert allsigns.code_size == 64 and allsigns.n_prime == 64
    assert allsigns.mu == pytest.approx(2 / 6)
    circ = L.make_lowdim_instance(65, 2, code="circle")
    assert circ.n_prime == 64
    assert circ.mu == pytest.approx(1 - math.cos(2 * math.pi / 64))
    assert circ.C == pytest.approx(math.log(640) / circ.mu)
    G = circ.keys @ circ.keys.T
    assert G[~np.eye(64, dtype=bool)].max() <= 1 - circ.mu + 1e-12
    assert L.make_lowdim_instance(65, 2, code="circle", circle_size=10).n_prime == 10


@pytest.mark.parametrize("code, d, r", [("greedy", 8, 10.0), ("greedy", 12, 9.0),
                                        ("circle", 2, 12.9), ("circle", 2, 1342.0),
                                        ("all-signs", 8, 30.0)])
def test_query_norm_budget_is_respected_and_tight(code, d, r):
    inst = L.make_lowdim_instance(10_000, d, code=code, max_query_norm=r, seed=0)
    assert inst.query_norm <= r * (1 + 1e-12)
    # one more token would break the budget (or the code/stream is exhausted)
    if code == "circle":
        m = inst.n_prime + 1
        C_next = math.log(m / 0.1) / (1 - math.cos(2 * math.pi / m))
        assert C_next > r
    elif inst.n_prime < min(inst.code_size, 9999):
        assert math.log((inst.n_prime + 1) / 0.1) / inst.mu > r


def test_query_norm_budget_examples():
    assert L.make_lowdim_instance(1000, 8, max_query_norm=10.0, seed=0).n_prime == 14
    assert L.make_lowdim_instance(65, 2, code="circle", max_query_norm=12.9).n_prime == 7


def test_instance_bad_inputs():
    with pytest.raises(ValueError, match="n"):
        L.make_lowdim_instance(1, 8)
    with pytest.raises(ValueError, match="code"):
        L.make_lowdim_instance(100, 8, code="random")
    with pytest.raises(ValueError, match="d must be 2"):
        L.make_lowdim_instance(100, 3, code="circle")
    with pytest.raises(ValueError, match="max_query_norm"):
        L.make_lowdim_instance(100, 8, max_query_norm=1.0)
    with pytest.raises(ValueError, match="max_query_norm"):
        L.make_lowdim_instance(100, 2, code="circle", max_query_norm=0.5)
    with pytest.raises(ValueError, match="max_query_norm"):
        L.make_lowdim_instance(100, 8, max_query_norm=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        L.make_lowdim_instance(100, 8, gamma=1.0)
    with pytest.raises(ValueError, match="d must be <= 20"):
        L.make_lowdim_instance(100, 21, code="all-signs")
    with pytest.raises(TypeError, match="circle_size"):
        L.make_lowdim_instance(100, 2, code="circle", circle_size=2.5)


def test_small_helpers():
    assert L.code_query_scale(69, 0.5) == pytest.approx(2 * math.log(690))
    np.testing.assert_allclose(L.circle_keys(4) @ L.circle_keys(4).T,
                               [[1, 0, -1, 0], [0, 1, 0, -1], [-1, 0, 1, 0], [0, -1, 0, 1]],
                               atol=1e-12)
    assert L.required_bits(0.0, 8, 10) == pytest.approx(80.0)
    assert L.required_bits(0.5, 8, 10) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="mu"):
        L.code_query_scale(10, 0.0)
    with pytest.raises(ValueError, match="n_prime"):
        L.code_query_scale(0, 0.5)
    with pytest.raises(ValueError, match="m"):
        L.circle_keys(0)
    with pytest.raises(ValueError, match="p"):
        L.required_bits(0.7, 8, 10)


def test_method_token_ceiling():
    a, mu_a = L.method_token_ceiling(8, 20.0)
    b, _ = L.method_token_ceiling(8, 200.0)
    assert 1 < a < b
    assert 0 < mu_a <= 2
    # no code within the budget can beat it: the greedy codes' usable counts lie below
    bc = E.budget_codes(8, 10 ** 6, 20.0)
    assert bc["n_prime"] <= a
    capped, _ = L.method_token_ceiling(8, 200.0, n=50)
    assert capped == pytest.approx(49.0)
    with pytest.raises(ValueError, match="r"):
        L.method_token_ceiling(8, 0.0)
    with pytest.raises(ValueError, match="grid"):
        L.method_token_ceiling(8, 1.0, grid=3)


# ------------------------------------------------------------------ the INDEX game
def test_protocol_exact_cache_decodes_and_bits():
    res = L.run_lowdim_protocol(kv.ExactCache, n=1000, d=8, trials=80, seed=1)
    assert res.success_rate == 1.0
    assert res.instance.n_prime == 69
    assert res.required_bits == pytest.approx((1 - kv.communication.H2(0.1)) * 8 * 69)
    assert res.memory_bits == 2 * 69 * 8 * 64 + 64
    assert res.index.info_bits == 69 * 8


def test_protocol_lossy_cache_below_the_line_fails():
    inst_np = L.make_lowdim_instance(4096, 12).n_prime
    full = L.run_lowdim_protocol(kv.algorithms.SignBitCache, 4096, 12, trials=200, seed=2)
    assert full.success_rate >= 0.99
    cap = partial(kv.algorithms.SignBitCache, capacity=inst_np // 8)
    lossy = L.run_lowdim_protocol(cap, 4096, 12, trials=200, seed=2)
    assert lossy.memory_bits < lossy.required_bits
    assert lossy.success_rate < 0.9
    assert lossy.success_rate <= lossy.index.ceiling + 3 * lossy.index.stderr


def test_protocol_same_code_for_every_seed():
    a = L.run_lowdim_protocol(kv.ExactCache, 500, 10, trials=10, seed=1)
    b = L.run_lowdim_protocol(kv.ExactCache, 500, 10, trials=10, seed=2)
    np.testing.assert_array_equal(a.instance.keys, b.instance.keys)
    with pytest.raises(ValueError, match="code_seed"):
        L.run_lowdim_protocol(kv.ExactCache, 500, 10, code_seed=-1)
    with pytest.raises(ValueError, match="p"):
        L.run_lowdim_protocol(kv.ExactCache, 500, 10, p=0.9)
    with pytest.raises(TypeError, match="make_algorithm"):
        L.run_lowdim_protocol(3, 500, 10)


def test_circle_needs_the_norm_and_the_precision():
    rows = E.circle_experiment([64], trials=100, budget=12.9)
    r = rows[0]
    assert r["success_float64"] == 1.0
    assert r["C"] == pytest.approx(1341.87, abs=0.01)
    assert abs(r["C_approx"] / r["C"] - 1) < 0.01
    assert r["fits_budget"] == 7


# ------------------------------------------------------------------ experiments
def test_sign_code_table_and_flattening():
    t = E.sign_code_table([8, 12, 16])
    assert t["size"].tolist() == [69, 155, 510]
    assert np.all(t["gv"] <= t["size"]) and np.all(t["size"] <= t["hamming"])
    assert np.all(t["hamming"] <= t["volume"])
    rows = E.flattening(ds=[8], ns=[16, 64, 128, 1024], trials=30)
    req = [r["required_bits"] for r in rows]
    assert req[0] < req[1] < req[2] == req[3]                 # flat beyond n' + 1 = 70
    assert all(r["success"] == 1.0 for r in rows)
    with pytest.raises(ValueError, match="ds"):
        E.sign_code_table([])
    with pytest.raises(ValueError, match=r"ns\[i\]"):
        E.flattening(ds=[8], ns=[1])


def test_covering_and_clustering_tables():
    c = E.covering_table([1, 2, 3], 0.5, n_candidates=4000)
    assert np.all(c["lower"] <= c["size"]) and np.all(c["size"] <= c["upper"])
    t = E.clustering_table([2, 4], n=2000, m0=5)
    assert np.all(t["uniform"] <= t["bound"]) and np.all(t["clusterable"] <= 5)
    assert np.all(t["max_radius"] <= t["delta"] + 1e-12)
    with pytest.raises(ValueError, match="m0"):
        E.clustering_table([2], n=10, m0=20)
    with pytest.raises(ValueError, match="rho"):
        E.covering_table([2], 0.0)


def test_lossy_on_code_records():
    out = E.lossy_on_code(d=12, n=4096, trials=100)
    assert out["n_prime"] == 155
    for row in out["rows"]:
        assert row["success"] <= row["ceiling"] + 3 * row["stderr"]
    below = [r for r in out["rows"] if r["memory_bits"] < out["required_bits"]]
    assert below and all(r["success"] < 1 - out["p"] for r in below)


def test_budget_codes_and_curve():
    b = E.budget_codes(8, 10_000, 13.1)
    assert b["n_prime"] == 69 and int(b["D"][b["best"]]) == 2
    c = E.budget_curve(2, 2 ** 10, 1e3, trials=30)
    assert c["code"] == "circle code" and c["success"] == 1.0
    assert np.all(c["achieved"] <= c["unlimited"])
    none = E.budget_curve(12, 2 ** 10, 1.0)
    assert none["success"] is None and none["n_prime"] == 0
    with pytest.raises(ValueError, match="d"):
        E.budget_codes(17, 100, 1.0)
    with pytest.raises(ValueError, match="r"):
        E.budget_curve(8, 100, -1.0)


# ------------------------------------------------------------------ certificates, figures, widget
def test_chapter_4_certificates_both_ways():
    names = sorted(kv.bounds.certificate_functions(chapter=4))
    assert names == sorted(kv.bounds.lowdim.__all__)
    for f in kv.bounds.certificate_functions(chapter=4).values():
        assert f().holds and not f(wrong=True).holds


def test_figures():
    t = E.sign_code_table([6, 8, 10])
    fig = kv.viz.plot_sign_codes(t)
    measured = [ln for ln in fig.axes[0].lines if ln.get_label().startswith("greedy")][0]
    np.testing.assert_array_equal(measured.get_ydata(), t["size"])
    rows = E.flattening(ds=[8], ns=[16, 256], trials=20)
    lossy = E.lossy_on_code(d=8, n=256, trials=40)
    fig2 = kv.viz.plot_flattening(rows, lossy)
    assert len(fig2.axes) == 2
    # the ceiling curve is data from the experiment, drawn as given
    ceiling = [ln for ln in fig2.axes[1].lines if ln.get_label().startswith("INDEX")][0]
    np.testing.assert_array_equal(ceiling.get_ydata(), lossy["ceiling_curve"]["success"])
    # ax= / axes=: draw into the reader's own grid and return its figure
    own, axes = matplotlib.pyplot.subplots(1, 4)
    assert kv.viz.plot_sign_codes(t, ax=axes[0]) is own
    assert kv.viz.plot_flattening(rows, lossy, axes=axes[1:3]) is own
    assert kv.viz.plot_flattening(rows, axes=axes[3]) is own
    curve = E.budget_curve(8, 2 ** 8, 13.1, trials=10)
    assert kv.viz.plot_query_norm_budget(curve, ax=axes[3]) is own
    with pytest.raises(ValueError, match="2 Axes"):
        kv.viz.plot_flattening(rows, lossy, axes=axes[:1])
    matplotlib.pyplot.close("all")


def test_lowdim_widget_redraws():
    w = kv.widgets.lowdim_widget()
    controls = {c.description: c for c in w.children[:-1]}
    assert set(controls) == {"d", "log2 n", "query norm"}
    controls["d"].value = 2
    controls["log2 n"].value = 8
    controls["query norm"].value = 1000.0
    ax = w.result.axes[0]
    assert "circle code" in ax.get_title() and "decodes 1.00" in ax.get_title()
    achieved = [ln for ln in ax.lines if ln.get_label().startswith("achieved")][0]
    x = np.asarray(achieved.get_xdata())
    assert x[-1] == 256
    controls["d"].value = 12
    controls["query norm"].value = 1.0
    assert "no code fits" in w.result.axes[0].get_title()
    matplotlib.pyplot.close("all")
