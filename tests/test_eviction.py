"""Score-based eviction caches and the sparsity instances of Chapter 6."""

import copy
import functools

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.algorithms import (
    HeavyHitterEviction,
    HighNormEviction,
    KeyDiffEviction,
    KeyNormEviction,
    KnormEviction,
    ObservedAttentionEviction,
    RandomEviction,
    ScoreEviction,
    SnapKVEviction,
    TOVAEviction,
)
from kvtheory.instances import sparsity as hard
from kvtheory.instances.sparsity import (
    ADVERSARY_OF,
    BENIGN_OF,
    NEEDLE_STREAMS,
    STREAMS,
    needle_top1_profile,
    run_needle_game,
    top1_mass_profile,
)

CLASSES = {"knorm": KnormEviction, "highnorm": HighNormEviction, "random": RandomEviction,
           "keydiff": KeyDiffEviction, "tova": TOVAEviction, "h2o": ObservedAttentionEviction,
           "snapkv": SnapKVEviction}
W64 = 64


def _feed(alg, n=40, d=6, seed=0):
    rng = np.random.default_rng(seed)
    Q, K, V = rng.normal(size=(3, n, d))
    return [alg.step(q, k, v) for q, k, v in zip(Q, K, V, strict=True)], K, V


# hand counts after 40 steps at budget 7, d = d_v = 6: 7 tokens * 12 numbers * 64 bits,
# the token counter, and each policy's own state
_HAND = {
    "knorm": 7 * 12 * W64 + W64,
    "highnorm": 7 * 12 * W64 + W64,
    "keydiff": 7 * 12 * W64 + W64,
    "random": 7 * 12 * W64 + 256 + W64,              # PCG64 state: 128 + 128 bits
    "tova": 7 * 12 * W64 + 6 * W64 + W64 + W64,      # latest query, tokens-since counter
    "h2o": 7 * 12 * W64 + 7 * W64 + W64,             # one accumulated score per token
    "snapkv": 7 * 12 * W64 + 1 * 6 * W64 + W64 + W64,  # window max(1, 7 // 4) = 1 query
}


@pytest.mark.parametrize("key", list(CLASSES))
def test_budget_is_respected_and_memory_hand_counted(key):
    alg = CLASSES[key](budget=7)
    _feed(alg)
    assert alg.n_held == 7
    assert alg.memory_bits() == _HAND[key]
    assert alg.memory_bits() == alg.memory_ledger().total
    assert alg.memory_ledger().items["held keys"] == (42, 64)


def test_snapkv_ledger_counts_its_observation_window():
    alg = SnapKVEviction(budget=7, window=3)
    _feed(alg, n=2)
    assert alg.memory_ledger().items["observation window (queries)"] == (2 * 6, 64)
    _feed(alg, n=20)
    assert alg.memory_bits() == 7 * 12 * 64 + 3 * 6 * 64 + 64 + 64
    f32 = TOVAEviction(budget=4, dtype=np.float32)
    _feed(f32)
    assert f32.memory_bits() == 4 * 12 * 32 + 6 * 32 + 64 + 64


@pytest.mark.parametrize("key", list(CLASSES))
def test_exact_while_under_budget(key):
    rng = np.random.default_rng(1)
    Q, K, V = rng.normal(size=(3, 20, 4))
    Z = kv.run_stream(CLASSES[key](budget=20), Q, K, V)
    assert np.max(np.abs(Z - kv.causal_attention(Q, K, V))) < 1e-12


@pytest.mark.parametrize("key", list(CLASSES))
def test_output_is_exact_attention_over_held_tokens_plus_current(key):
    alg = CLASSES[key](budget=5)
    _feed(alg, n=30)
    K_held, V_held = alg.keys, alg.values
    q, k, v = np.ones(6), np.zeros(6), np.ones(6)
    z = alg.step(q, k, v)
    ref = kv.attention(q, np.vstack([K_held, k]), np.vstack([V_held, v]))
    np.testing.assert_allclose(z, ref)


@pytest.mark.parametrize("key", list(CLASSES))
def test_deep_copy_is_independent_and_seed_reproduces(key):
    a = CLASSES[key](budget=5)
    _feed(a, n=12)
    b = copy.deepcopy(a)
    za, _, _ = _feed(a, n=15, seed=3)
    zb, _, _ = _feed(b, n=15, seed=3)
    np.testing.assert_array_equal(np.array(za), np.array(zb))
    np.testing.assert_array_equal(a.keys, b.keys)


def test_kinds_and_aliases():
    for key in ("knorm", "highnorm", "random", "keydiff"):
        assert CLASSES[key].kind == "oblivious"
    for key in ("tova", "h2o", "snapkv"):
        assert CLASSES[key].kind == "query-aware"
    assert KeyNormEviction is HighNormEviction
    assert HeavyHitterEviction is ObservedAttentionEviction
    assert all(issubclass(c, ScoreEviction) for c in CLASSES.values())


def test_knorm_keeps_lowest_norms_and_highnorm_the_largest():
    low, high = KnormEviction(budget=3), HighNormEviction(budget=3)
    for r in (5.0, 1.0, 4.0, 2.0, 3.0):
        for a in (low, high):
            a.append(np.array([r, 0.0]), np.array([r, 0.0]))
    assert sorted(low.keys[:, 0].tolist()) == [1.0, 2.0, 3.0]
    assert sorted(high.keys[:, 0].tolist()) == [3.0, 4.0, 5.0]


def test_knorm_scores_are_minus_the_key_norm():
    alg = KnormEviction(budget=2)
    K = np.array([[3.0, 4.0], [0.0, 1.0]])
    np.testing.assert_allclose(alg.score(K, K, np.empty((0, 2))), [-5.0, -1.0])


def test_ties_evict_the_oldest():
    alg = HighNormEviction(budget=2)
    for t in range(3):
        alg.append(np.array([1.0, 0.0]), np.array([float(t)]))
    assert alg.values[:, 0].tolist() == [1.0, 2.0]


def test_keydiff_evicts_the_key_closest_to_the_mean_direction():
    alg = KeyDiffEviction(budget=3)
    keys = ([1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0])
    for t, k in enumerate(keys):
        alg.append(np.array(k), np.array([float(t)]))
    # unit keys' mean ~ (0.47, 0.28, 0.25); [0.9, 0.1, 0] has the largest cosine with it
    assert alg.values[:, 0].tolist() == [0.0, 2.0, 3.0]
    assert np.all(alg.score(np.zeros((2, 3)), np.zeros((2, 1)), np.empty((0, 3))) == 0)


def test_random_eviction_is_seeded():
    def held(seed):
        a = RandomEviction(4, seed=seed)
        for t in range(30):
            a.append(np.eye(30)[t], np.array([float(t)]))
        return a.values[:, 0].tolist()
    assert held(5) == held(5)
    assert len({tuple(held(s)) for s in range(6)}) > 1
    with pytest.raises(TypeError, match="seed"):
        RandomEviction(4, seed=None)


def test_h2o_protects_the_recent_window():
    alg = ObservedAttentionEviction(budget=4, recent=2)
    E = np.eye(8)
    for t in range(8):
        alg.step(10 * E[0], E[t], E[t])
    held = alg.values.argmax(axis=1).tolist()
    assert held[-2:] == [6, 7]         # the two newest
    assert 0 in held                   # the heavy hitter
    assert ObservedAttentionEviction(budget=6).recent == 3


def test_tova_bare_append_exempts_the_newcomer():
    alg = TOVAEviction(budget=2)
    E = np.eye(3)
    alg.step(10 * E[0], E[0], E[0])
    alg.step(10 * E[0], E[1], E[1])
    alg.append(E[2], E[2])             # no query: evict the lowest of the scored ones
    assert alg.values.argmax(axis=1).tolist() == [0, 2]
    assert alg.n_unseen == 1


def test_snapkv_averages_its_window_and_protects_it():
    alg = SnapKVEviction(budget=3, window=2)
    E = np.eye(6)
    # queries look at token 1 (first two steps at token 0)
    for t in range(6):
        alg.step(10 * E[0] if t < 2 else 10 * E[1], E[t], E[t])
    held = alg.values.argmax(axis=1).tolist()
    assert held == [1, 4, 5]           # token 1 is the window's favourite; 4, 5 protected
    assert alg.recent_queries.shape == (2, 6)
    assert SnapKVEviction(budget=16).window == 4 and SnapKVEviction(budget=1).window == 0


def test_a_readers_scorer_and_a_bad_score():
    class Newest(ScoreEviction):
        name = "newest"

        def score(self, K, V, recent_queries):
            return np.arange(K.shape[0], dtype=float)

    alg = Newest(budget=2)
    for t in range(5):
        alg.append(np.ones(2), np.array([float(t)]))
    assert alg.values[:, 0].tolist() == [3.0, 4.0]

    class Bad(ScoreEviction):
        def score(self, K, V, recent_queries):
            return np.full(K.shape[0] + 1, 1.0)

    b = Bad(budget=1)
    b.append(np.ones(2), np.ones(1))
    with pytest.raises(ValueError, match="Bad.score"):
        b.append(np.ones(2), np.ones(1))
    with pytest.raises(NotImplementedError, match="score"):
        s = ScoreEviction(budget=1)
        s.append(np.ones(2), np.ones(1))
        s.append(np.ones(2), np.ones(1))


@pytest.mark.parametrize("bad,exc,match", [
    (lambda: KnormEviction(0), ValueError, "budget"),
    (lambda: TOVAEviction(2.0), TypeError, "budget"),
    (lambda: ObservedAttentionEviction(4, recent=4), ValueError, "recent"),
    (lambda: ObservedAttentionEviction(4, recent=-1), ValueError, "recent"),
    (lambda: SnapKVEviction(4, window=4), ValueError, "window"),
    (lambda: KeyDiffEviction(3, dtype=np.int32), TypeError, "dtype"),
    (lambda: RandomEviction(3, seed=-1), ValueError, "seed"),
])
def test_constructors_reject_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        bad()


def test_top1_profile_meets_the_corollary():
    prof = top1_mass_profile(300, 120, seed=3)
    assert prof["top1"].shape == (300,) and prof["top1"][0] == 1.0
    assert prof["top1"].min() >= prof["bound"]
    assert prof["bob_top1"].min() >= prof["bound"]
    with pytest.raises(ValueError, match="n"):
        top1_mass_profile(0, 8)
    with pytest.raises(ValueError, match="gamma"):
        top1_mass_profile(10, 8, gamma=1.5)


@pytest.mark.parametrize("key", list(ADVERSARY_OF))
def test_each_policy_loses_the_needle_to_its_adversary_and_keeps_it_when_benign(key):
    make = functools.partial(CLASSES[key], budget=8)
    adv = run_needle_game(make, ADVERSARY_OF[key], 48, 8, budget=8, trials=6, seed=2)
    assert adv.needle_kept == 0.0
    assert 0.2 < adv.success_rate < 0.8
    ben = run_needle_game(make, BENIGN_OF[key], 48, 8, budget=8, trials=6, seed=2)
    assert ben.needle_kept == 1.0 and ben.success_rate == 1.0


def test_random_eviction_fares_the_same_on_every_stream():
    make = functools.partial(RandomEviction, 8, seed=0)
    kept = {run_needle_game(make, s, 48, 8, budget=8, trials=6, seed=2).needle_kept
            for s in NEEDLE_STREAMS}
    assert len(kept) == 1              # its choices ignore the stream


@pytest.mark.parametrize("stream", list(STREAMS))
def test_exact_cache_decodes_every_needle(stream):
    res = run_needle_game(kv.ExactCache, stream, 48, 8, budget=8, trials=3, seed=0)
    assert res.success_rate == 1.0 and res.needle_kept == 1.0


@pytest.mark.parametrize("stream", NEEDLE_STREAMS)
@pytest.mark.parametrize("n,d,budget", [(41, 4, 8), (128, 16, 16), (200, 32, 40)])
def test_needle_streams_are_concentrated_admissible_and_weight_is_exact(stream, n, d, budget):
    for seed in range(3):
        st = STREAMS[stream](n, d, budget=budget, seed=seed)
        assert np.all(np.linalg.norm(st.K, axis=1) <= 1 + 1e-12)
        prof = needle_top1_profile(st)
        assert prof["top1"].min() >= prof["bound"]      # every one of Alice's steps
        assert prof["needle_final"] == pytest.approx(1 / 1.1)
        assert prof["min_top1"] >= prof["bound"] - 1e-12
        # the proof's bound: weight >= 1 / (1 + (t - 1) e^{-C}) at step t
        t = np.arange(1, n + 1)
        assert np.all(prof["top1"] >= 1 / (1 + (t - 1) * np.exp(-st.C)) - 1e-12)


def test_needle_profile_and_game_reject_bad_input():
    with pytest.raises(TypeError, match="NeedleStream"):
        needle_top1_profile("benign")
    with pytest.raises(ValueError, match="stream"):
        run_needle_game(kv.ExactCache, "nope", 40, 8, budget=8)
    with pytest.raises(TypeError, match="stream"):
        run_needle_game(kv.ExactCache, 3, 40, 8, budget=8)
    with pytest.raises(TypeError, match="make_algorithm"):
        run_needle_game(None, "benign", 40, 8, budget=8)
    with pytest.raises(ValueError, match="n must be"):
        run_needle_game(kv.ExactCache, "benign", 10, 8, budget=8)
    with pytest.raises(ValueError, match="d"):
        run_needle_game(kv.ExactCache, "benign", 40, 3, budget=8)
    with pytest.raises(ValueError, match="trials"):
        run_needle_game(kv.ExactCache, "benign", 40, 8, budget=8, trials=0)
    assert hard.keynorm_adversary is hard.highnorm_adversary


def test_sparsity_certificates_both_ways():
    for f in (kv.bounds.sparsity_profile_decreasing, kv.bounds.sparsity_profile_at_last_step,
              kv.bounds.sparsity_all_pairs_dimension):
        assert f().holds and not f(wrong=True).holds


def test_eviction_table_and_concentration_rows():
    ex = kv.experiments.sparsity
    rows = ex.eviction_table(48, 8, budget=8, trials=3, methods=["knorm", "random"])
    knorm = [r for r in rows if r["method"] == "knorm"]
    assert [(r["stream"], r["role"]) for r in knorm] == [("knorm-adversary", "adversary"),
                                                         ("benign-lownorm", "benign")]
    assert [r["stream"] for r in rows if r["method"] == "random"] == list(NEEDLE_STREAMS)
    assert all(r["success"] == 1.0 for r in rows if r["method"] == "exact")
    with pytest.raises(ValueError, match="methods"):
        ex.eviction_table(48, 8, budget=8, trials=1, methods=["LRU"])
    conc = ex.adversary_concentration(48, 8, budget=8, seeds=[0, 1])
    assert [r["stream"] for r in conc] == list(NEEDLE_STREAMS)
    assert all(r["concentrated"] for r in conc)


def test_plots_take_records_and_axes():
    import matplotlib.pyplot as plt

    ex = kv.experiments.sparsity
    summ = ex.sparse_instance_summary(60, 64, trials=5)
    fig, ax = plt.subplots()
    assert kv.viz.plot_top1_profile(summ, ax=ax) is fig
    rec = ex.eviction_vs_budget((4, 8), 40, 8, trials=2, methods=["knorm", "h2o"])
    f2 = kv.viz.plot_eviction_vs_budget(rec)
    assert len([a for a in f2.axes if a.get_visible()]) == 2
    view = ex.needle_game_view("knorm", "knorm-adversary", 8, 40, 8, trials=2, rows=3)
    assert view["needle_held"] == [False] * 3
    f3 = kv.viz.plot_needle_game(view)
    assert [p.get_height() for p in f3.axes[1].patches][1] == 1.0
    plt.close("all")


def test_eviction_widget_redraws():
    w = kv.widgets.eviction_widget()
    controls = {c.description: c for c in w.children[:-1]}
    controls["budget"].value = 8
    controls["method"].value = "tova"
    controls["stream"].value = "benign"
    ax1 = w.result.axes[1]
    heights = [p.get_height() for p in ax1.patches]
    assert heights == [1.0, 1.0]
    controls["stream"].value = "tova-adversary"
    heights = [p.get_height() for p in w.result.axes[1].patches]
    assert heights[1] == 1.0 and heights[0] < 0.8
