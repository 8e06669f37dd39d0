"""Tests of Chapter 5: SubGen, its variants, certificates, experiments and widget."""

import copy
import math

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.algorithms import ClusterCentres, SubGen, SubGenEntrywise
from kvtheory.algorithms.subgen import RNG_STATE_WORDS
from kvtheory.experiments import subgen as E


def _feed(alg, K, V):
    for k, v in zip(K, V, strict=True):
        alg.append(k, v)
    return alg


def _stream(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return 0.6 * rng.standard_normal((n, d)), rng.standard_normal((n, 2))


# --------------------------------------------------------------- exactness
def test_normaliser_exact_when_reservoirs_hold_everything():
    K, V = _stream()
    alg = _feed(SubGen(delta=0.4, t=len(K), s=4, seed=0), K, V)
    q = np.array([0.5, -1.0, 0.3])
    est = alg.estimates(q)
    assert est.normaliser * math.exp(est.shift) == pytest.approx(np.sum(np.exp(K @ q)), rel=1e-12)


def test_reservoir_arrays_grow_with_what_is_held_not_with_t():
    """A large t costs working memory only once a cluster fills: one key per cluster
    keeps the reservoir 8 slots wide, one cluster of 100 keys widens it to 100..200
    (append and extend alike), and the answers are those of a small exact t."""
    rng = np.random.default_rng(4)
    K, V = rng.standard_normal((100, 6)), rng.standard_normal((100, 2))
    q = rng.standard_normal(6) / 3
    apart = SubGen(delta=1e-3, t=4096, s=2, seed=0).extend(K, V)       # own clusters
    assert apart.n_clusters == 100 and apart._cl.reservoir.shape[1] == 8
    for feed in (lambda a: _feed(a, K, V), lambda a: a.extend(K, V)):
        one = feed(SubGen(delta=1e3, t=4096, s=2, seed=0))
        assert one.n_clusters == 1 and 100 <= one._cl.reservoir.shape[1] <= 200
        same = feed(SubGen(delta=1e3, t=100, s=2, seed=0))                # holds all 100
        np.testing.assert_array_equal(one.attend(q), same.attend(q))
        assert one.memory_bits() == same.memory_bits()


def test_single_token_is_exact():
    alg = SubGen(delta=0.1, t=1, s=3, seed=0)
    z = alg.step(np.ones(2), np.array([0.3, 0.1]), np.array([2.0, -1.0]))
    np.testing.assert_allclose(z, [2.0, -1.0])


def test_output_converges_with_many_slots():
    K, V = _stream(n=30)
    alg = _feed(SubGen(delta=0.3, t=30, s=50_000, seed=1), K, V)
    q = np.array([0.2, 0.4, -0.1])
    assert kv.l2_error_ratio(alg.attend(q), q, K, V) < 0.02


def test_all_zero_values_give_zero_output():
    alg = _feed(SubGen(delta=0.5, t=2, s=4, seed=0), np.eye(3), np.zeros((3, 2)))
    np.testing.assert_array_equal(alg.attend(np.ones(3)), [0.0, 0.0])
    assert alg.memory_ledger().items["slot keys"][0] == 0


# ---------------------------------------------------------- unbiasedness
def test_numerator_and_normaliser_unbiased_over_seeds():
    K, V = _stream(n=25, d=2, seed=3)
    q = np.array([0.7, -0.4])
    e = np.exp(K @ q)
    N, Z = e @ V, e.sum()
    nums, zs = [], []
    for seed in range(600):
        alg = _feed(SubGen(delta=0.5, t=2, s=1, seed=seed), K, V)
        est = alg.estimates(q)
        nums.append(est.numerator * math.exp(est.shift))
        zs.append(est.normaliser * math.exp(est.shift))
    nums, zs = np.array(nums), np.array(zs)
    se_n = nums.std(axis=0) / math.sqrt(len(nums))
    se_z = zs.std() / math.sqrt(len(zs))
    assert np.all(np.abs(nums.mean(axis=0) - N) < 4 * se_n)
    assert abs(zs.mean() - Z) < 4 * se_z
    assert se_z > 0      # the test is not vacuous: Z-hat does vary


def test_slot_law_matches_value_norms():
    V = np.array([[1.0], [2.0], [0.5], [3.0]])
    K = np.arange(4.0)[:, None]
    counts = np.zeros(4)
    for seed in range(300):
        alg = _feed(SubGen(delta=10.0, t=1, s=20, seed=seed), K, V)
        held = np.asarray(alg._sk[:, 0], dtype=int)
        counts += np.bincount(held, minlength=4)
    freq = counts / counts.sum()
    p = (V[:, 0] ** 2) / np.sum(V ** 2)
    np.testing.assert_allclose(freq, p, atol=0.02)


def test_reservoir_is_uniform_within_cluster():
    K = np.arange(10.0)[:, None] * 1e-3        # one cluster, distinguishable keys
    V = np.ones((10, 1))
    hits = np.zeros(10)
    for seed in range(2000):
        alg = _feed(SubGen(delta=1.0, t=3, s=1, seed=seed), K, V)
        held = np.rint(alg._cl.reservoir[0, :, 0] * 1e3).astype(int)
        hits[held] += 1
    np.testing.assert_allclose(hits / 2000, 0.3, atol=0.04)


# ------------------------------------------------------------- clustering
def test_centres_pairwise_far_and_packing_bound():
    rng = np.random.default_rng(5)
    g = rng.standard_normal((3000, 3))
    K = g / np.linalg.norm(g, axis=1, keepdims=True) * rng.random((3000, 1)) ** (1 / 3)
    delta = 0.5
    alg = _feed(SubGen(delta=delta, t=1, s=1, seed=0), K, np.ones((3000, 1)))
    C = np.asarray(alg.centres)
    D = np.linalg.norm(C[:, None] - C[None], axis=2)
    assert np.all(D[np.triu_indices(len(C), 1)] > delta)
    assert alg.n_clusters <= (1 + 2 / delta) ** 3
    assert int(np.sum(alg.cluster_counts)) == 3000


def test_clusterable_keys_give_at_most_m0_clusters():
    K, V = E.clusterable_stream(3000, 8, n_centres=7, noise=0.01, seed=2)
    # groups have diameter << 0.3, and planted centres are >> 0.3 apart
    alg = _feed(SubGen(delta=0.3, t=4, s=8, seed=0), K, V)
    assert alg.n_clusters <= 7


def test_block_clustering_matches_subgen():
    K = E.uniform_sphere_keys(2500, 4, seed=9)
    alg = _feed(SubGen(delta=0.6, t=1, s=1, seed=0), K, np.ones((2500, 1)))
    counts = E.threshold_cluster_counts(K, 0.6, [10, 100, 2500], block=64)
    assert counts[-1] == alg.n_clusters
    assert list(counts) == sorted(counts)


# ------------------------------------------------------------------ memory
def test_memory_hand_count():
    K, V = _stream(n=50, d=3)
    t, s = 4, 7
    alg = _feed(SubGen(delta=0.5, t=t, s=s, seed=0), K, V)
    m = alg.n_clusters
    R = int(np.sum(np.minimum(alg.cluster_counts, t)))
    d, dv = 3, 2
    floats = m * d + R * d + s * (d + dv + 1)
    words = m + m + 1 + 1 + 1 + RNG_STATE_WORDS     # counts, norms, F, tokens, m, rng
    assert alg.memory_bits() == 64 * floats + 64 * words


def test_memory_float32_counts_32_bits():
    K, V = _stream(n=20, d=3)
    a64 = _feed(SubGen(delta=0.5, t=2, s=3, seed=0), K, V)
    a32 = _feed(SubGen(delta=0.5, t=2, s=3, seed=0, dtype=np.float32), K, V)
    led = a32.memory_ledger().items
    assert led["cluster centres"][1] == 32 and led["value mass F"][1] == 64
    assert a32.memory_bits() < a64.memory_bits()


def test_variants_memory_hand_count():
    K, V = _stream(n=30, d=3)
    V = np.abs(V)
    cc = _feed(ClusterCentres(delta=0.5), K, V)
    m = cc.n_clusters
    assert cc.memory_bits() == 64 * m * (3 + 2) + 64 * (2 * m + 2)
    se = _feed(SubGenEntrywise(delta=0.5, t=3, seed=0), K, V)
    m = se.n_clusters
    R = int(np.sum(np.minimum(se._cl.counts[:m], 3)))
    filled = int(np.count_nonzero(se._a[:m] > 0))
    assert se.memory_bits() == 64 * (m * 3 + R * 3 + m * 2 + filled * 3 * 3) \
        + 64 * (2 * m + 2 + RNG_STATE_WORDS)


# ----------------------------------------------------------- determinism
def test_same_seed_same_output_and_copies_are_independent():
    K, V = _stream(n=60)
    a = _feed(SubGen(delta=0.3, t=3, s=5, seed=11), K, V)
    b = _feed(SubGen(delta=0.3, t=3, s=5, seed=11), K, V)
    q = np.array([1.0, 0.0, -1.0])
    np.testing.assert_array_equal(a.attend(q), b.attend(q))
    c = copy.deepcopy(a)
    c.append(K[0], V[0])
    np.testing.assert_array_equal(a.attend(q), b.attend(q))


def test_n_slots_prefix_matches_estimate_shape():
    K, V = _stream()
    alg = _feed(SubGen(delta=0.3, t=3, s=8, seed=0), K, V)
    est = alg.estimates(np.ones(3), n_slots=2)
    assert est.numerator.shape == (2,)
    with pytest.raises(ValueError, match="n_slots"):
        alg.estimates(np.ones(3), n_slots=9)


def test_large_scores_stay_finite():
    rng = np.random.default_rng(0)
    K = rng.standard_normal((100, 4))
    V = rng.standard_normal((100, 4))
    alg = _feed(SubGen(delta=0.1, t=2, s=16, seed=0), K, V)
    z = alg.attend(1e4 * K[3])
    assert np.all(np.isfinite(z))


def test_overflowing_estimate_raises():
    # one cluster whose reservoir (t = 1) keeps the first key, while every slot
    # holds the second (the first value is zero); the query scores 0 and 800.
    for seed in range(20):
        alg = _feed(SubGen(delta=10.0, t=1, s=2, seed=seed), np.array([[0.0], [1.0]]),
                    np.array([[0.0], [1.0]]))
        if alg._cl.reservoir[0, 0, 0] == 0.0:
            break
    with pytest.raises(FloatingPointError, match="overflows"):
        alg.attend(np.array([800.0]))


# -------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("kwargs, exc, match", [
    ({"delta": -0.1, "t": 1, "s": 1}, ValueError, "delta"),
    ({"delta": float("nan"), "t": 1, "s": 1}, ValueError, "delta"),
    ({"delta": "a", "t": 1, "s": 1}, TypeError, "delta"),
    ({"delta": 0.5, "t": 0, "s": 1}, ValueError, "t"),
    ({"delta": 0.5, "t": 1.5, "s": 1}, TypeError, "t"),
    ({"delta": 0.5, "t": 1, "s": 0}, ValueError, "s"),
    ({"delta": 0.5, "t": 1, "s": 1, "seed": None}, TypeError, "seed"),
    ({"delta": 0.5, "t": 1, "s": 1, "dtype": np.int32}, TypeError, "dtype"),
])
def test_subgen_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        SubGen(**kwargs)


def test_subgen_bad_tokens_and_queries():
    alg = SubGen(delta=0.5, t=2, s=2, seed=0)
    with pytest.raises(ValueError, match="at least one"):
        alg.estimates(np.ones(2))
    with pytest.raises(ValueError, match="k must be finite"):
        alg.append(np.array([np.nan, 0.0]), np.ones(2))
    alg.append(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="q must have length 2"):
        alg.estimates(np.ones(3))
    with pytest.raises(ValueError, match="k must have length 2"):
        alg.append(np.ones(3), np.ones(2))
    with pytest.raises(TypeError, match="q"):
        alg.attend("query")


def test_variant_bad_inputs():
    with pytest.raises(ValueError, match="v must be nonnegative"):
        SubGenEntrywise(delta=0.5, t=2, seed=0).append(np.ones(2), np.array([-1.0, 0.0]))
    with pytest.raises(ValueError, match="delta"):
        ClusterCentres(delta=-1.0)
    with pytest.raises(ValueError, match="t"):
        SubGenEntrywise(delta=0.5, t=0)


def test_experiment_bad_inputs():
    with pytest.raises(ValueError, match="checkpoints"):
        E.threshold_cluster_counts(np.ones((5, 2)), 0.5, [3, 2])
    with pytest.raises(ValueError, match="keys"):
        E.threshold_cluster_counts(np.ones(5), 0.5)
    with pytest.raises(ValueError, match="delta"):
        E.threshold_cluster_counts(np.ones((5, 2)), -0.5)
    with pytest.raises(TypeError, match="curves"):
        E.cluster_count_table([{"x": 1}])
    with pytest.raises(ValueError, match="n"):
        E.clusterable_stream(0, 3)
    with pytest.raises(ValueError, match="s"):
        E.predicted_index_success(10, 0)
    with pytest.raises(ValueError, match="d"):
        E.subgen_overview(d=50)
    with pytest.raises(ValueError, match="zero_share"):
        E.predicted_index_success(10, 2, zero_share=1.5)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_huge_tokens_in_low_precision_raise_clearly_and_keep_the_state(dtype):
    big = float(np.finfo(dtype).max)
    alg = SubGen(delta=0.5, t=2, s=4, seed=0, dtype=dtype)
    alg.append(np.ones(2), np.ones(2))
    before = (alg.n_seen, alg.n_clusters, alg.value_mass, alg.memory_bits())
    for k, v, what in [(np.array([10 * big, 0.0]), np.ones(2), "key entry"),
                       (np.ones(2), np.array([10 * big, 0.0]), "value entry"),
                       (np.ones(2), np.array([0.8 * big, 0.8 * big]), "squared value norm")]:
        with pytest.raises(ValueError, match=what):
            alg.append(k, v)
        assert (alg.n_seen, alg.n_clusters, alg.value_mass, alg.memory_bits()) == before
    assert np.all(np.isfinite(alg.attend(np.ones(2))))
    # float64 takes the same tokens and stays finite (no silent NaN anywhere)
    alg64 = SubGen(delta=0.5, t=2, s=4, seed=0)
    alg64.append(np.array([1e39, 0.0]), np.array([1e19, 1e19]))
    assert np.all(np.isfinite(alg64.attend(np.array([1e-39, 0.0]))))


def test_slot_keys_are_public_and_read_only():
    alg = SubGen(delta=0.1, t=1, s=5, seed=0)
    K5 = np.arange(3.0)[:, None]
    _feed(alg, K5, np.ones((3, 1)))
    sk = alg.slot_keys
    assert sk.shape == (5, 1) and set(sk[:, 0].tolist()) <= {0.0, 1.0, 2.0}
    with pytest.raises(ValueError):
        sk[0, 0] = 9.0


# ---------------------------------------------------------------- variants
def test_cluster_centres_entrywise_guarantee():
    rng = np.random.default_rng(1)
    K = rng.standard_normal((400, 3))
    V = rng.random((400, 2))
    delta, r = 0.3, 2.0
    alg = _feed(ClusterCentres(delta=delta), K, V)
    for _ in range(5):
        q = rng.standard_normal(3)
        q *= r / np.linalg.norm(q)
        err = kv.entrywise_error(alg.attend(q), kv.attention(q, K, V))
        assert err <= math.exp(2 * delta * r) - 1


def test_entrywise_variant_unbiased_numerator_and_good_accuracy():
    K, V = E.clusterable_stream(1500, 4, n_centres=5, noise=0.02, seed=4)
    V = np.abs(V)
    alg = _feed(SubGenEntrywise(delta=0.3, t=32, seed=0), K, V)
    q = 2.0 * K[0] / np.linalg.norm(K[0])
    assert kv.entrywise_error(alg.attend(q), kv.attention(q, K, V)) < 0.1


# ----------------------------------------------------------- certificates
def test_chapter5_certificates_hold_and_wrong_variants_fail():
    funcs = kv.bounds.certificate_functions(chapter=5)
    assert {"subgen_frobenius_rank", "subgen_second_moment", "subgen_slot_law",
            "subgen_choice_of_t", "subgen_ratio_bound", "subgen_cluster_weight_ratio",
            "subgen_space_sublinear"} <= set(funcs)
    for name in [n for n in funcs if n.startswith("subgen_")]:
        assert funcs[name]().holds, name
        assert not funcs[name](wrong=True).holds, name


# ------------------------------------------------------------- experiments
def test_cluster_table_under_bound_and_index_runs():
    cur = E.cluster_count_curves(ds=(2, 3), delta=0.5, n=3000, points=6)
    rows = E.cluster_count_table(cur)
    assert all(r["m"] <= r["bound"] for r in rows)
    res = E.index_instance_runs(configs=((0.5, 1, 4),), n=60, d=32, trials=60)
    assert res[0]["n_clusters"] == 60            # sign keys in d = 32 never repeat
    assert res[0]["words_per_nd"] > 1.0          # the centres alone are n d words
    r = res[0]
    assert 0.0 <= r["zero_share"] <= 1.0
    hit = 2 * (r["predicted"] - 0.5)             # predicted = 1/2 + hit/2 at z0 = 1/2
    assert r["predicted_given_zeros"] == pytest.approx(hit + (1 - hit) * r["zero_share"])


def test_memory_vs_n_crossover():
    rec = E.memory_vs_n(n=3000, d=4, t=8, s=16, n_centres=5, points=10)
    assert rec["crossover"] is not None
    assert rec["subgen_bits"][-1] < rec["exact_bits"][-1]


# ------------------------------------------------------------------- figures
def test_plots_only_plot_and_take_axes():
    import matplotlib.pyplot as plt

    cur = E.cluster_count_curves(ds=(2, 3), delta=0.5, n=500, points=5)
    slots = E.error_vs_slots(slots=(4, 16), n=300, d=4, t=8, n_queries=3, seeds=(0,))
    tres = E.normaliser_error_vs_t(ts=(1, 4), n=300, d=4, n_queries=3, seeds=(0,))
    mem = E.memory_vs_n(n=500, d=4, t=4, s=8, n_centres=3, points=6)
    runs = E.index_instance_runs(configs=((0.5, 1, 8), (2.5, 4, 8)), n=40, d=32, trials=40)
    sign = E.sign_key_clusters(ds=(4, 8), n=100)
    over = E.subgen_overview(d=2, n=300, seed=0)
    fig, axes = plt.subplots(2, 5)
    calls = [(kv.viz.plot_cluster_counts, (cur,), {"axes": axes[:, 0]}),
             (kv.viz.plot_error_rates, (slots, tres), {"axes": axes[:, 1]}),
             (kv.viz.plot_index_instance, (runs, sign), {"axes": axes[:, 2]}),
             (kv.viz.plot_subgen_overview, (over,), {"axes": axes[:, 3]})]
    for f, args, kw in calls:
        assert f(*args, **kw) is fig
        assert f(*args).axes[0] is not axes[0, 0]          # default: a new figure
    assert kv.viz.plot_memory_vs_n(mem, ax=axes[0, 4]) is fig
    with pytest.raises(ValueError, match="2 Axes"):
        kv.viz.plot_cluster_counts(cur, axes=[axes[0, 0]])
    with pytest.raises(TypeError, match="ax"):
        kv.viz.plot_memory_vs_n(mem, ax="left")
    # the log axis of the hard-instance panel has several labelled ticks
    f2 = kv.viz.plot_index_instance(runs, sign)
    f2.canvas.draw()
    labels = [t.get_text() for t in f2.axes[0].get_xticklabels() if t.get_text()]
    assert len(labels) >= 2
    plt.close("all")


# ------------------------------------------------------------------- widget
def test_subgen_widget_redraws():
    w = kv.widgets.subgen_widget()
    controls = {c.description: c for c in w.children[:-1]}
    controls["n"].value = 500
    controls["d"].value = 2
    assert set(controls) == {"d", "Δ", "h", "ℓ", "n"}    # Chapter 5's symbols
    controls["Δ"].value = 1.0
    fig = w.result
    ax = fig.axes[0]
    x, y = np.asarray(ax.lines[0].get_xdata()), np.asarray(ax.lines[0].get_ydata())
    assert x[-1] == 500
    assert y[-1] <= 9.0 + 1e-9                   # (1 + 2/1)^2 clusters at most
    bound = np.asarray(ax.lines[1].get_ydata())
    assert bound[0] == pytest.approx(9.0)
