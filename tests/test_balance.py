"""Tests of Chapter 11: the self-balancing walk, BalanceKV, certificates, experiments, widget."""

import copy

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.algorithms import BalanceKV
from kvtheory.algorithms.balance import (
    DEFAULT_C,
    difference_gram,
    halve,
    self_balancing_walk,
    theory_threshold,
)
from kvtheory.algorithms.sampling import RNG_STATE_BITS
from kvtheory.experiments import balance as E


def _feed(alg, K, V):
    for k, v in zip(K, V, strict=True):
        alg.append(k, v)
    return alg


def _stream(n=64, d=4, d_v=3, seed=0, scale=0.4):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((n, d)), scale * rng.standard_normal((n, d_v))


# ------------------------------------------------------------------ the walk
def test_walk_signs_are_pm_one_and_seeded():
    G = np.eye(10)
    s1, f1 = self_balancing_walk(G, seed=3)
    s2, f2 = self_balancing_walk(G, seed=3)
    assert set(np.unique(s1)) <= {-1.0, 1.0}
    np.testing.assert_array_equal(s1, s2)
    assert f1 == f2 == 0                          # orthogonal vectors: <w, u_t> = 0 always


def test_walk_uses_only_the_gram_matrix():
    """Two vector families with the same Gram matrix get the same signs (same seed)."""
    rng = np.random.default_rng(0)
    U = rng.standard_normal((30, 5))
    Qm, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    s1, _ = self_balancing_walk(U @ U.T, seed=1)
    s2, _ = self_balancing_walk((U @ Qm) @ (U @ Qm).T, seed=1)
    np.testing.assert_array_equal(s1, s2)


def test_walk_beats_random_signs():
    """Mean discrepancy along a fixed direction, 20 seeds, m = 512 vectors in R^8."""
    walk, rand = [], []
    for s in range(20):
        rng = np.random.default_rng(s)
        U = rng.standard_normal((512, 8))
        U /= np.linalg.norm(U, axis=1).max()
        th = rng.standard_normal(8)
        th /= np.linalg.norm(th)
        sig, _ = self_balancing_walk(U @ U.T, seed=rng)
        walk.append(abs(sig @ (U @ th)))
        rand.append(abs(rng.choice([-1.0, 1.0], 512) @ (U @ th)))
    assert np.mean(walk) < 0.3 * np.mean(rand)
    # every direction: the final vector is short, random signs give ~ sqrt(m / d) per axis
    assert np.linalg.norm(sig @ U) < 0.3 * np.sqrt(512)


def test_walk_law_is_symmetric_under_a_global_flip():
    """P(signs) = P(-signs): the frequency of sigma_1 sigma_2 patterns is symmetric."""
    G = np.array([[1.0, 0.6], [0.6, 1.0]])
    counts = {}
    for s in range(4000):
        sig, _ = self_balancing_walk(G, c=1.0, seed=s)
        counts[tuple(sig)] = counts.get(tuple(sig), 0) + 1
    for pat in [(1.0, 1.0), (1.0, -1.0)]:
        a, b = counts.get(pat, 0), counts.get(tuple(-x for x in pat), 0)
        assert abs(a - b) < 4 * np.sqrt(a + b)
    # exact law: P(sigma_2 = sigma_1) = (1 - 0.6) / 2 = 0.2 at c = 1
    same = (counts.get((1.0, 1.0), 0) + counts.get((-1.0, -1.0), 0)) / 4000
    assert same == pytest.approx(0.2, abs=0.03)


def test_walk_counts_threshold_events_and_zero_vectors():
    sig, fails = self_balancing_walk(np.ones((6, 6)), c=0.5, seed=0)
    assert fails >= 1                             # |<w, u>| = 1 > 0.5 after the first step
    assert abs(sig.sum()) <= 1                    # clipped steps still alternate
    sig0, f0 = self_balancing_walk(np.zeros((3, 3)), seed=0)
    assert sig0.shape == (3,) and f0 == 0


@pytest.mark.parametrize("gram, c, exc, match", [
    (np.ones((2, 3)), 1.0, ValueError, "square"),
    (np.zeros((0, 0)), 1.0, ValueError, "gram"),
    (np.eye(2), 0.0, ValueError, "c"),
    (np.array([[np.nan]]), 1.0, ValueError, "gram"),
    ("ab", 1.0, TypeError, "gram"),
])
def test_walk_bad_input(gram, c, exc, match):
    with pytest.raises(exc, match=match):
        self_balancing_walk(gram, c)


def test_theory_threshold_and_default():
    assert theory_threshold(512) == pytest.approx(np.log(2048))
    assert DEFAULT_C == 0.5
    with pytest.raises(ValueError, match="delta"):
        theory_threshold(8, delta=0.0)


# ------------------------------------------------------------- the kernel
def test_difference_gram_matches_explicit_features_for_linear_part():
    """Against a brute-force kernel matrix: <u_p, u_p'> from kappa(i, j)."""
    K, V = _stream(n=8, d=3, d_v=2)
    lam = 0.7
    kap = np.exp(lam ** 2 * K @ K.T) * (1 + V @ V.T)
    P = np.zeros((4, 8))
    P[np.arange(4), 2 * np.arange(4)] = 1
    P[np.arange(4), 2 * np.arange(4) + 1] = -1
    G = P @ kap @ P.T
    shift = lam ** 2 * np.max(np.sum(K * K, axis=1))
    np.testing.assert_allclose(difference_gram(K, V, lam) * np.exp(shift), G, rtol=1e-12)
    assert np.all(np.linalg.eigvalsh(G) > -1e-12)


def test_difference_gram_tiles_agree_with_the_whole_kernel():
    """Past one tile (and with a partial last tile) the tiled Gram matrix is the one
    computed from the whole kernel matrix at once, and it is symmetric."""
    from kvtheory.algorithms.balance import _GRAM_TILE
    m = 2 * _GRAM_TILE + 37
    K, V = _stream(n=2 * m, d=5, d_v=3, seed=3)
    lam = 0.9
    shift = lam ** 2 * np.max(np.sum(K * K, axis=1))
    kap = np.exp(lam ** 2 * K @ K.T - shift) * (1 + V @ V.T)
    G = kap[0::2, 0::2] - kap[0::2, 1::2] - kap[1::2, 0::2] + kap[1::2, 1::2]
    got = difference_gram(K, V, lam)
    np.testing.assert_allclose(got, G, rtol=0, atol=1e-13 * np.abs(G).max())
    np.testing.assert_allclose(got, got.T, rtol=0, atol=1e-13 * np.abs(G).max())


def test_difference_gram_bad_input():
    with pytest.raises(ValueError, match="even"):
        difference_gram(np.ones((3, 2)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="V must have"):
        difference_gram(np.ones((4, 2)), np.ones((2, 1)))
    with pytest.raises(ValueError, match="lam"):
        difference_gram(np.ones((4, 2)), np.ones((4, 1)), lam=0.0)


def test_halve_keeps_one_of_each_pair():
    K, V = _stream(n=16)
    for signs in ("walk", "random"):
        keep, _ = halve(K, V, signs=signs, seed=0)
        np.testing.assert_array_equal(keep // 2, np.arange(8))
    with pytest.raises(ValueError, match="signs"):
        halve(K, V, signs="greedy")


# ------------------------------------------------------------ BalanceKV
def test_exact_before_the_first_full_block():
    K, V = _stream(n=7)
    alg = _feed(BalanceKV(8, seed=0), K, V)
    q = np.array([0.3, -0.2, 0.5, 0.1])
    np.testing.assert_allclose(alg.attend(q), kv.attention(q, K, V), atol=1e-13)
    assert alg.halvings == 0 and alg.kept == 7


def test_levels_follow_the_binary_counter():
    K, V = _stream(n=200)
    alg = BalanceKV(8, seed=0)
    for i, (k, v) in enumerate(zip(K, V, strict=True), start=1):
        alg.append(k, v)
        M = i // 8
        assert alg.levels == [j for j in range(M.bit_length()) if (M >> j) & 1]
        assert alg.kept == BalanceKV.kept_after(i, 8)
    Ks, Vs, w = alg.state()
    assert w.sum() == pytest.approx(200)           # the weights always count every token
    assert Ks.shape == (alg.kept, 4) and Vs.shape == (alg.kept, 3)


def test_kept_tokens_are_original_tokens():
    K, V = _stream(n=96)
    alg = _feed(BalanceKV(4, seed=2), K, V)
    Ks, Vs, _ = alg.state()
    for k, v in zip(Ks, Vs, strict=True):
        i = int(np.argmin(np.linalg.norm(K - k, axis=1)))
        assert np.allclose(K[i], k) and np.allclose(V[i], v)


def test_normaliser_is_unbiased_over_seeds():
    """The walk's law is symmetric, so every halving errs with mean zero."""
    K, V = _stream(n=64, seed=5)
    q = np.array([0.5, 0.2, -0.4, 0.3])
    D = np.exp(K @ q).sum()
    est = []
    for s in range(400):
        Ks, _, w = _feed(BalanceKV(4, seed=s), K, V).state()
        est.append(np.exp(Ks @ q) @ w)
    est = np.asarray(est)
    assert abs(est.mean() - D) < 4 * est.std() / np.sqrt(est.size)


def test_balancing_beats_random_halving_on_a_bounded_stream():
    K, V, P = E.bounded_stream(1024, 8, 1.0, seed=0)
    err = {}
    for signs in ("walk", "random"):
        e = []
        for s in range(3):
            alg = _feed(BalanceKV(64, signs=signs, seed=s), K, V)
            e.append(np.mean([np.max(np.abs(alg.attend(q) - kv.attention(q, K, V)))
                              for q in P]))
        err[signs] = np.mean(e)
    assert err["walk"] < 0.8 * err["random"]


def test_ledger_by_hand():
    K, V = _stream(n=100)                          # d = 4, d_v = 3
    alg = _feed(BalanceKV(8, seed=0, dtype=np.float32), K, V)
    # 100 = 8 * 12 + 4 and 12 = 0b1100: blocks at levels 2 and 3, 4 buffered tokens
    assert alg.levels == [2, 3] and alg.kept == 20
    led = alg.memory_ledger()
    assert led.items["kept keys"] == (20 * 4, 32)
    assert led.items["kept values"] == (20 * 3, 32)
    assert led.items["block level tags"] == (2, 64)
    assert led.items["token counter"] == (1, 64)
    assert led.items["walk failure counter"] == (1, 64)
    assert led.items["generator state (PCG64)"] == (1, RNG_STATE_BITS)
    assert alg.memory_bits() == 20 * 7 * 32 + 4 * 64 + 256
    assert alg.memory_bits() == BalanceKV.predicted_bits(100, 4, 3, block=8, dtype=np.float32)


def test_same_seed_same_state_and_copy_is_independent():
    K, V = _stream(n=50)
    a = _feed(BalanceKV(4, seed=9), K, V)
    b = _feed(BalanceKV(4, seed=9), K, V)
    for x, y in zip(a.state(), b.state(), strict=True):
        np.testing.assert_array_equal(x, y)
    c = copy.deepcopy(a)
    c.append(np.ones(4), np.ones(3))
    assert a.n_seen == 50 and c.n_seen == 51


@pytest.mark.parametrize("kw, exc, match", [
    ({"block": 0}, ValueError, "block"),
    ({"block": 2.5}, TypeError, "block"),
    ({"block": 4, "c": -1.0}, ValueError, "c"),
    ({"block": 4, "lam": 0.0}, ValueError, "lam"),
    ({"block": 4, "signs": "best"}, ValueError, "signs"),
    ({"block": 4, "dtype": np.int32}, TypeError, "dtype"),
])
def test_constructor_bad_input(kw, exc, match):
    with pytest.raises(exc, match=match):
        BalanceKV(**kw)


def test_append_and_attend_bad_input():
    alg = BalanceKV(4)
    with pytest.raises(ValueError, match="at least one"):
        alg.attend(np.ones(2))
    alg.append(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="k must have length"):
        alg.append(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="q must have length"):
        alg.attend(np.ones(5))


def test_scores_of_1e4_are_safe():
    alg = BalanceKV(2, lam=0.01, seed=0)
    for x in (1.0, -1.0, 0.5, 0.2, 0.9):
        alg.append(np.array([x * 100.0]), np.array([x]))
    z = alg.attend(np.array([100.0]))
    assert np.all(np.isfinite(z))


# ------------------------------------------------------------ from_budget
@pytest.mark.parametrize("budget, n, d, d_v", [(20_000, 256, 8, 8), (3_000, 100, 4, 3),
                                               (500_000, 1000, 16, 16)])
def test_from_budget_matches_the_bits_really_used(budget, n, d, d_v):
    alg = BalanceKV.from_budget(budget, n, d, d_v, seed=0)
    rng = np.random.default_rng(1)
    _feed(alg, rng.standard_normal((n, d)) / 3, rng.standard_normal((n, d_v)) / 3)
    assert alg.memory_bits() == BalanceKV.predicted_bits(n, d, d_v, block=alg.block,
                                                         dtype=np.float32)
    assert alg.memory_bits() <= budget
    # the largest block that fits: block + 1 does not (when it is a valid size)
    if alg.block < n:
        bigger = [BalanceKV.predicted_bits(n, d, d_v, block=B, dtype=np.float32)
                  for B in range(alg.block + 1, n + 1)]
        assert all(b > budget for b in bigger)


def test_from_budget_too_small_and_bad_input():
    alg = BalanceKV.from_budget(10, 64, 4, 4, seed=0)
    assert alg.block == 1
    with pytest.raises(ValueError, match="budget_bits"):
        BalanceKV.from_budget(-1, 64, 4, 4)
    with pytest.raises(ValueError, match="n"):
        BalanceKV.from_budget(100, 0, 4, 4)


def test_runs_in_the_bench_as_a_readers_method():
    from kvtheory.bench import make_instance, run_cell
    from kvtheory.bench.methods import method_from_class
    spec = method_from_class(BalanceKV, key="balance")
    row = run_cell(spec, make_instance("gaussian", 64, 8, seed=0), budget=0.25, seed=0)
    assert row["status"] == "ok" and row["within_budget"] and row["kind"] == "oblivious"


def test_registry_entry_for_the_bench():
    """The MethodSpec the lead registers (key "balance"): from_budget drives it."""
    from kvtheory.bench import make_instance, run_cell
    from kvtheory.bench.methods import MethodSpec
    spec = MethodSpec("balance", "kernel sums balance (discrepancy)",
                      lambda p, s: BalanceKV(p, seed=s, dtype=np.float32),
                      lambda n, d, dv: [8, 16], lambda p: f"B={p}, fp32",
                      from_budget=BalanceKV.from_budget)
    for key in ("index", "clustered"):
        row = run_cell(spec, make_instance(key, 64, 8, seed=0), budget=0.25, seed=0)
        assert row["status"] == "ok" and row["within_budget"], row["status"]


def test_index_protocol_under_the_ceiling():
    r = E.index_runs(blocks=(2, 8), n=64, d=8, trials=100)
    for row in r:
        assert row["success"] <= row["ceiling"] + 0.1
        assert 0.0 <= row["success"] <= 1.0


# ------------------------------------------------------------ certificates
def test_chapter_11_certificates_hold_and_wrong_variants_fail():
    funcs = kv.bounds.certificate_functions(chapter=11)
    assert len(funcs) == 8
    for name, f in funcs.items():
        assert f().holds, name
        assert not f(wrong=True).holds, name
    assert funcs["balance_level_count"]().scope == "spot check"


# ------------------------------------------------------------ experiments
def test_bounded_stream_scores_are_bounded():
    for fam in ("gaussian", "clustered"):
        K, V, P = E.bounded_stream(128, 8, 3.0, family=fam, seed=1)
        assert np.max(np.abs(P @ K.T)) <= 3.0 + 1e-12
        assert np.max(np.linalg.norm(V, axis=1)) <= 1.0 + 1e-12
    with pytest.raises(ValueError, match="family"):
        E.bounded_stream(64, 8, 1.0, family="needle")
    with pytest.raises(ValueError, match="R"):
        E.bounded_stream(64, 8, 0.0)


def test_fit_slopes_and_error_vs_kept_shapes():
    res = E.error_vs_kept(1.0, sizes=(8, 16, 32), n=256, seeds=(0, 1),
                          methods=("balance", "uniform"))
    sl = E.fit_slopes(res)
    assert set(sl) == {"balance", "uniform"}
    assert all(np.isfinite(m) and np.isfinite(se) for m, se in sl.values())
    assert res["rows"]["uniform"]["kept"].tolist() == [8, 16, 32]
    with pytest.raises(ValueError, match="methods"):
        E.error_vs_kept(1.0, methods=("magic",))
    with pytest.raises(TypeError, match="error_vs_kept"):
        E.fit_slopes({"a": 1})


def test_walk_vs_random_and_explore_shapes_and_bad_input():
    res = E.walk_vs_random(ms=(32, 64), d=4, seeds=range(2), n_random=50)
    assert res["walk_all"].shape == (2, 2) and res["random"].shape == (2,)
    assert np.all(res["fail_rate"] >= 0) and np.all(res["fail_rate"] <= 1)
    with pytest.raises(ValueError, match="seeds"):
        E.walk_vs_random(ms=(32,), seeds=[])
    with pytest.raises(ValueError, match="ms"):
        E.walk_vs_random(ms=(1,))
    ex = E.explore(0.5, max_block=16, n=128, c=2.0)
    assert ex["sizes"].tolist() == [8, 16] and ex["c"] == 2.0
    with pytest.raises(ValueError, match="max_block"):
        E.explore(1.0, max_block=4, n=128)


def test_required_block_is_vacuous_on_index():
    for n in (16, 256, 4096):
        r = E.required_block(n)
        assert r["vacuous"] and r["B_needed"] > n ** 2


# ------------------------------------------------------------ viz and widget
def test_plots_take_an_ax():
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    out = kv.viz.plot_error_vs_R({"R": np.array([0.5, 1.0]), "err": np.array([0.1, 0.2]),
                                  "dnorm": np.array([0.01, 0.03]), "block": 8}, ax=ax)
    assert out is fig and len(ax.lines) == 3
    plt.close(fig)
    with pytest.raises(TypeError, match="walk_vs_random"):
        kv.viz.plot_walk_discrepancy({"m": [1]})


def test_balance_widget_redraws():
    w = kv.widgets.balance_widget()
    controls = {c.description: c for c in w.children[:-1]}
    controls["n"].value = 512
    controls["max B"].value = 16
    controls["R"].value = 0.5
    fig = w.result
    ax = fig.axes[0]
    assert "R=0.5" in ax.get_title() and "n=512" in ax.get_title()
    x = np.asarray(ax.lines[0].get_xdata())
    assert x.tolist() == [8.0, 16.0]


# ------------------------------------------------------------------ batch prefill
@pytest.mark.parametrize("block, cuts", [(1, (0, 5, 6, 64)), (4, (3, 4, 9, 33, 64)),
                                         (8, (7, 8, 16, 40, 64)), (5, (64,)),
                                         (16, (2, 3, 30, 31, 64)), (64, (63, 64))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extend_leaves_the_append_loops_state(block, cuts, dtype):
    """Blocks cut anywhere (inside the buffer, across block boundaries, several
    blocks at once): the same kept tokens, weights, levels, halvings, failures and
    generator state as the loop."""
    K, V = _stream(n=64, seed=4, scale=1.2)
    loop = _feed(BalanceKV(block, seed=2, dtype=dtype), K, V)
    blk, start = BalanceKV(block, seed=2, dtype=dtype), 0
    for c in cuts:
        blk.extend(K[start:c], V[start:c])
        start = c
    for x, y in zip(blk.state(), loop.state(), strict=True):
        np.testing.assert_array_equal(x, y)
    assert (blk.levels, blk.halvings, blk.failures, blk.n_seen, blk.memory_bits()) == \
        (loop.levels, loop.halvings, loop.failures, loop.n_seen, loop.memory_bits())
    assert blk._rng.random() == loop._rng.random()            # the same draws were used
    q = K[3] * 2
    np.testing.assert_array_equal(blk.attend(q), loop.attend(q))


def test_extend_does_not_alias_the_callers_block():
    K, V = _stream(n=32, seed=5)
    alg = BalanceKV(8, seed=0).extend(K, V)
    before = alg.state()
    K[:] = 7.0
    V[:] = 7.0
    for x, y in zip(alg.state(), before, strict=True):
        np.testing.assert_array_equal(x, y)


def test_bits_for_is_the_registry_form_of_the_ledger():
    """``BalanceKV.bits_for(param, n, d, d_v)``: the bench's closed-form memory (no dry
    run) equals the ledger of the registry's instance for every grid setting."""
    from kvtheory.bench import METHODS

    spec = METHODS["balance"]
    rng = np.random.default_rng(0)
    for n, d, d_v in ((1, 4, 4), (17, 4, 3), (100, 8, 5), (300, 6, 6)):
        K, V = rng.normal(size=(n, d)) / 3, rng.normal(size=(n, d_v)) / 3
        for p in spec.grid(n, d, d_v):
            alg = spec.make(p, 0).extend(K, V)
            assert BalanceKV.bits_for(p, n, d, d_v) == alg.memory_bits(), (p, n, d, d_v)
    assert BalanceKV.bits_for(8, 64, 4, 3, dtype=np.float64) == \
        BalanceKV.predicted_bits(64, 4, 3, block=8)
    with pytest.raises(ValueError, match="n must be"):
        BalanceKV.bits_for(8, -1, 4, 3)
    with pytest.raises(TypeError):
        BalanceKV.bits_for(8.5, 10, 4, 3)
