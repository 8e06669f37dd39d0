"""Chapter 3: the INDEX instance's constants, near-orthogonality, certificates,
experiments, figures and the widget."""

import math

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.experiments import index as ex
from kvtheory.geometry import nearorth
from kvtheory.instances import index as idx

# ------------------------------------------------------------------ constants


def test_constants_of_theory_section_3():
    assert f"{idx.default_C(1000):.2f}" == "18.42"
    assert f"{idx.default_C(10_000):.2f}" == "23.03"
    assert [idx.hoeffding_d(n) for n in (10**3, 10**4, 10**5)] == [74, 93, 111]
    assert [idx.hoeffding_d(n, two_sided=True) for n in (10**3, 10**4, 10**5)] == [80, 98, 117]
    assert [idx.first_moment_d(n) for n in (10**3, 10**4, 10**5)] == [23, 26, 30]
    assert f"{idx.space_bound_bits(100, 10) / 1000:.3f}" == "0.278"
    assert f"{idx.decode_threshold('entrywise', eta=0.5, gamma=0.1):.3f}" == "0.295"


def test_hoeffding_d_is_least_integer_meeting_the_union_bound():
    for n in (10, 1000, 12345):
        for eps in (0.3, 0.5, 0.8):
            d = idx.hoeffding_d(n, eps=eps, delta=0.1)
            assert n * math.exp(-eps**2 * d / 2) <= 0.1 + 1e-12
            assert n * math.exp(-eps**2 * (d - 1) / 2) > 0.1


def test_first_moment_d_is_least_and_monotone():
    for n in (100, 1000, 5000):
        d = idx.first_moment_d(n)
        assert idx.expected_leaked_mass(n, d) <= 0.01 < idx.expected_leaked_mass(n, d - 1)
    with pytest.raises(ValueError, match="increase C"):
        idx.first_moment_d(1000, C=1.0)


def test_expected_leaked_mass_matches_brute_force_binomial_sum():
    n, d, C = 50, 7, 3.0
    from math import comb
    brute = (n - 1) * sum(comb(d, k) * 0.5**d * math.exp(-2 * C * k / d)
                          for k in range(d + 1)) + math.exp(-C)
    assert idx.expected_leaked_mass(n, d, C=C) == pytest.approx(brute, rel=1e-12)


def test_leaked_mass_gives_exact_attention_weight():
    keys = idx.sign_keys(40, 12, seed=3)
    C = 5.0
    for i in (0, 17, 39):
        q = C * keys[i]
        scores = np.concatenate([keys @ q, [0.0]])     # plus the padding token
        w = kv.softmax(scores)
        M = idx.leaked_mass(keys, i, C)[0]
        assert w[i] == pytest.approx(1 / (1 + M), rel=1e-12)


def test_leaked_mass_empirical_mean_matches_formula():
    n, d = 300, 16
    C = idx.default_C(n)
    rng = np.random.default_rng(0)
    Ms = [idx.leaked_mass(idx.sign_keys(n, d, seed=rng), 0, C)[0] for _ in range(300)]
    assert np.mean(Ms) == pytest.approx(idx.expected_leaked_mass(n, d), rel=0.25)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: idx.hoeffding_d(0), ValueError, "n"),
    (lambda: idx.hoeffding_d(10, eps=1.0), ValueError, "eps"),
    (lambda: idx.hoeffding_d(10, delta=0.0), ValueError, "delta"),
    (lambda: idx.hoeffding_d(10, two_sided=1), TypeError, "two_sided"),
    (lambda: idx.leaked_mass(np.eye(3), 3, 1.0), ValueError, "i_star"),
    (lambda: idx.leaked_mass(np.eye(3), 0.5, 1.0), TypeError, "i_star"),
    (lambda: idx.leaked_mass(np.eye(3), 0, -1.0), ValueError, "C"),
    (lambda: idx.leaked_mass([[np.nan]], 0, 1.0), ValueError, "keys"),
    (lambda: idx.expected_leaked_mass(10, 0), ValueError, "d"),
    (lambda: idx.first_moment_d(10, gamma=2.0), ValueError, "gamma"),
    (lambda: idx.space_bound_bits(10, 10, p=0.3, delta=0.3), ValueError, "p \\+ delta"),
])
def test_constants_reject_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------- near-orthogonality


def test_max_coherence_against_brute_force():
    K = nearorth.random_keys(30, 8, seed=1)
    G = K @ K.T
    brute_partner = max(G[5, t] for t in range(30) if t != 5)
    brute_all = max(abs(G[a, b]) for a in range(30) for b in range(a + 1, 30))
    assert nearorth.max_coherence(K, i_star=5) == pytest.approx(brute_partner)
    assert nearorth.max_coherence(K, pairs="all", two_sided=True) == pytest.approx(brute_all)


def test_union_events_and_prediction():
    assert nearorth.union_events(10) == 9
    assert nearorth.union_events(10, pairs="all") == 45
    assert nearorth.union_events(10, pairs="all", two_sided=True) == 90
    pred = nearorth.coherence_prediction(1000, 64, delta=0.1)
    assert pred == pytest.approx(math.sqrt(2 * math.log(999 / 0.1) / 64))


def test_measured_quantile_below_prediction_for_sign_keys():
    rec = ex.coherence_vs_d(400, [32, 128], reps=20, seed=0)
    assert np.all(rec["quantile"] < rec["prediction"])
    assert np.all(rec["exceed"] <= 0.1 + 3 * math.sqrt(0.09 / 20))


@pytest.mark.parametrize("call, exc, match", [
    (lambda: nearorth.random_keys(5, 4, kind="cauchy"), ValueError, "kind"),
    (lambda: nearorth.random_keys(5, 0), ValueError, "d"),
    (lambda: nearorth.random_keys(5, 4, seed=None), TypeError, "seed"),
    (lambda: nearorth.max_coherence(np.ones((1, 3))), ValueError, "at least 2"),
    (lambda: nearorth.max_coherence(np.ones((3, 3)), i_star=3), ValueError, "i_star"),
    (lambda: nearorth.max_coherence(np.ones((3, 3)), pairs="some"), ValueError, "pairs"),
    (lambda: nearorth.max_coherence(np.ones(3)), ValueError, "keys"),
    (lambda: nearorth.coherence_prediction(10, 0.5), ValueError, "d"),
    (lambda: nearorth.coherence_prediction(10, 4, delta=1.5), ValueError, "delta"),
    (lambda: nearorth.union_events(1), ValueError, "n"),
])
def test_nearorth_rejects_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------- certificates


def test_chapter_3_certificates_hold_and_wrong_variants_fail():
    funcs = kv.bounds.certificate_functions(chapter=3)
    assert len(funcs) == 9
    for name, f in funcs.items():
        assert f().holds, name
        assert not f(wrong=True).holds, name


# ------------------------------------------------------------------ protocol


def test_exact_cache_decodes_every_bit_at_d32():
    res = kv.instances.run_index_protocol(kv.ExactCache, n=1000, d=32, trials=500, seed=0)
    assert res.success_rate == 1.0
    assert res.memory_bits == 2 * 1000 * 32 * 64 + 64


def test_decode_success_is_at_least_first_moment_guarantee():
    rec = ex.decode_vs_d(300, [10, 14, 20], trials=150, seed=0)
    assert np.all(rec["success"] >= rec["guarantee"] - 2 * rec["stderr"] - 1e-12)
    assert rec["success"][-1] == 1.0


def test_barrier_points_are_under_ceiling_and_tight_cache_decodes():
    recs = ex.run_barrier(n=300, d=16, trials=120, seed=1)
    assert all(r["under"] for r in recs)
    tight = [r for r in recs if r["cache"] == "sign-bit (tight)"][0]
    assert tight["success"] == 1.0 and tight["bits"] == 2 * 300 * 16 + 256
    table = ex.format_barrier_table(recs)
    assert "ABOVE" not in table and len(table.splitlines()) == len(recs) + 3  # head, units, rule
    assert table.shape == (len(recs), 8)


def test_barrier_at_budget_sizes_caches():
    out = ex.barrier_at_budget(200, 16, 15.0, 0.5, trials=40, seed=0)
    recs = {r["cache"]: r for r in out["records"]}
    assert recs["sign-bit"]["budget"] == "first 50"           # 0.5*200*16/(2*16)
    assert recs["sign-bit"]["bits"] <= 0.5 * 200 * 16 + 256
    assert "quantization" not in recs                          # cannot fit 64 bits/token
    assert out["weights"].shape == (200,) and np.all((out["weights"] > 0) & (out["weights"] <= 1))
    assert out["share_above"] == np.mean(out["weights"] >= 1 / 1.1)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: ex.decode_vs_d(1, [8]), ValueError, "n"),
    (lambda: ex.decode_vs_d(100, [0]), ValueError, "ds"),
    (lambda: ex.coherence_vs_d(100, [8], reps=0), ValueError, "reps"),
    (lambda: ex.run_barrier(n=100, d=16, trials=0), ValueError, "trials"),
    (lambda: ex.barrier_at_budget(100, 16, 0.0, 0.5), ValueError, "C"),
    (lambda: ex.barrier_at_budget(100, 16, 5.0, 100.0), ValueError, "budget"),
])
def test_experiments_reject_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ------------------------------------------------------------- figures, widget


def test_figures_plot_the_records():
    dec = ex.decode_vs_d(200, [8, 16], trials=30, seed=0)
    fig = kv.viz.plot_decode_vs_d([dec])
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), [8, 16])
    coh = ex.coherence_vs_d(200, [16, 64], reps=3, seed=0)
    fig = kv.viz.plot_coherence([coh])
    np.testing.assert_allclose(fig.axes[0].lines[2].get_ydata(), coh["prediction"])
    recs = ex.run_barrier(n=100, d=8, trials=20, seed=0)
    fig = kv.viz.plot_barrier(recs, ex.barrier_ceiling(100, 8))
    ceiling = fig.axes[0].lines[0]
    assert np.max(ceiling.get_ydata()) == 1.0 and np.min(ceiling.get_ydata()) >= 0.5
    with pytest.raises(TypeError, match="ceiling"):
        kv.viz.plot_barrier(recs, {"n": 100})
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert kv.viz.plot_decode_vs_d([dec], ax=ax) is fig
    plt.close(fig)


def test_coherence_crossing_d_interpolates_and_rejects_no_crossing():
    rec = {"ds": np.array([32, 64]), "quantile": np.array([0.625, 0.472])}
    d = ex.coherence_crossing_d(rec, 0.5)
    assert 32 < d < 64
    with pytest.raises(ValueError, match="cross"):
        ex.coherence_crossing_d(rec, 0.3)


def test_barrier_widget_redraws():
    w = kv.widgets.barrier_widget()
    controls = {c.description: c for c in w.children[:-1]}
    assert set(controls) == {"n", "d", "C", "bits/(nd)"}
    controls["n"].value = 200
    controls["d"].value = 16
    controls["bits/(nd)"].value = 1.0
    fig = w.result
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert any("exact" in lab for lab in labels)
    heights = [p.get_height() for p in ax.patches]
    assert heights[-1] == 1.0                      # the exact cache decodes everything
    controls["C"].value = 1.0                      # query too weak: even exact attention fails
    heights = [p.get_height() for p in w.result.axes[0].patches]
    assert heights[-1] < 0.8
