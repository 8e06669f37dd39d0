"""Eviction caches and the sparsity instances of Chapter 6."""

import functools

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import kvtheory as kv  # noqa: E402
from kvtheory.algorithms import HeavyHitterEviction, KeyNormEviction, TOVAEviction  # noqa: E402
from kvtheory.instances.sparsity import (  # noqa: E402
    ADVERSARY_OF,
    STREAMS,
    run_needle_game,
    top1_mass_profile,
)

POLICIES = {"key-norm": KeyNormEviction, "H2O": HeavyHitterEviction, "TOVA": TOVAEviction}


def _feed(alg, n=40, d=6, seed=0):
    rng = np.random.default_rng(seed)
    Q, K, V = rng.normal(size=(3, n, d))
    return [alg.step(q, k, v) for q, k, v in zip(Q, K, V, strict=True)], K, V


@pytest.mark.parametrize("cls", list(POLICIES.values()))
def test_budget_is_respected_and_memory_counted(cls):
    alg = cls(budget=7)
    _feed(alg)
    assert alg.n_held == 7
    scores = 7 * 64 if cls is not KeyNormEviction else 0
    assert alg.memory_bits() == 7 * (6 + 6) * 64 + scores + 64
    led = alg.memory_ledger()
    assert led.items["held keys"] == (42, 64)


@pytest.mark.parametrize("cls", list(POLICIES.values()))
def test_exact_while_under_budget(cls):
    rng = np.random.default_rng(1)
    Q, K, V = rng.normal(size=(3, 20, 4))
    Z = kv.run_stream(cls(budget=20), Q, K, V)
    assert np.max(np.abs(Z - kv.causal_attention(Q, K, V))) < 1e-12


def test_output_is_exact_attention_over_held_tokens_plus_current():
    alg = HeavyHitterEviction(budget=5, recent=2)
    _feed(alg, n=30)
    K_held, V_held = alg.keys, alg.values
    q, k, v = np.ones(6), np.zeros(6), np.ones(6)
    z = alg.step(q, k, v)
    ref = kv.attention(q, np.vstack([K_held, k]), np.vstack([V_held, v]))
    np.testing.assert_allclose(z, ref)


def test_kinds():
    assert KeyNormEviction.kind == "oblivious"
    assert HeavyHitterEviction.kind == "query-aware"
    assert TOVAEviction.kind == "query-aware"


def test_keynorm_keeps_largest_norms():
    alg = KeyNormEviction(budget=3)
    for r in (5.0, 1.0, 4.0, 2.0, 3.0):
        alg.append(np.array([r, 0.0]), np.array([r, 0.0]))
    assert sorted(alg.keys[:, 0].tolist()) == [3.0, 4.0, 5.0]


def test_h2o_protects_the_recent_window():
    alg = HeavyHitterEviction(budget=4, recent=2)
    E = np.eye(8)
    for t in range(8):
        alg.step(10 * E[0], E[t], E[t])
    held = alg.values.argmax(axis=1).tolist()
    assert held[-2:] == [6, 7]         # the two newest
    assert 0 in held                   # the heavy hitter
    assert HeavyHitterEviction(budget=6).recent == 3


def test_tova_bare_append_exempts_the_newcomer():
    alg = TOVAEviction(budget=2)
    E = np.eye(3)
    alg.step(10 * E[0], E[0], E[0])
    alg.step(10 * E[0], E[1], E[1])
    alg.append(E[2], E[2])             # no query: evict the lowest of the scored ones
    assert alg.values.argmax(axis=1).tolist() == [0, 2]


@pytest.mark.parametrize("bad,exc,match", [
    (lambda: KeyNormEviction(0), ValueError, "budget"),
    (lambda: TOVAEviction(2.0), TypeError, "budget"),
    (lambda: HeavyHitterEviction(4, recent=4), ValueError, "recent"),
    (lambda: HeavyHitterEviction(4, recent=-1), ValueError, "recent"),
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


@pytest.mark.parametrize("policy", list(POLICIES))
def test_each_policy_loses_the_needle_to_its_adversary_and_keeps_it_when_benign(policy):
    make = functools.partial(POLICIES[policy], budget=8)
    adv = run_needle_game(make, ADVERSARY_OF[policy], 48, 8, budget=8, trials=6, seed=2)
    assert adv.needle_kept == 0.0
    assert 0.2 < adv.success_rate < 0.8
    ben = run_needle_game(make, "benign", 48, 8, budget=8, trials=6, seed=2)
    assert ben.needle_kept == 1.0 and ben.success_rate == 1.0


@pytest.mark.parametrize("stream", list(STREAMS))
def test_exact_cache_decodes_every_needle(stream):
    res = run_needle_game(kv.ExactCache, stream, 48, 8, budget=8, trials=3, seed=0)
    assert res.success_rate == 1.0 and res.needle_kept == 1.0


def test_needle_streams_are_admissible_and_weight_is_exact():
    for name, make in STREAMS.items():
        st = make(41, 8, budget=8, seed=0)
        assert np.all(np.linalg.norm(st.K, axis=1) <= 1 + 1e-12), name
        w = kv.softmax(np.append(st.K @ st.q_final, 0.0))
        assert w[st.needle] == pytest.approx(1 / 1.1), name


def test_needle_game_rejects_bad_input():
    with pytest.raises(ValueError, match="stream"):
        run_needle_game(kv.ExactCache, "nope", 40, 8, budget=8)
    with pytest.raises(TypeError, match="stream"):
        run_needle_game(kv.ExactCache, 3, 40, 8, budget=8)
    with pytest.raises(TypeError, match="make_algorithm"):
        run_needle_game(None, "benign", 40, 8, budget=8)
    with pytest.raises(ValueError, match="n must be"):
        run_needle_game(kv.ExactCache, "benign", 10, 8, budget=8)
    with pytest.raises(ValueError, match="d"):
        run_needle_game(kv.ExactCache, "benign", 40, 1, budget=8)
    with pytest.raises(ValueError, match="trials"):
        run_needle_game(kv.ExactCache, "benign", 40, 8, budget=8, trials=0)


def test_sparsity_certificates_both_ways():
    for f in (kv.bounds.sparsity_profile_decreasing, kv.bounds.sparsity_profile_at_last_step,
              kv.bounds.sparsity_all_pairs_dimension):
        assert f().holds and not f(wrong=True).holds


def test_eviction_table_rows():
    rows = kv.experiments.sparsity.eviction_table(48, 8, budget=8, trials=3,
                                                  streams=["benign"])
    assert [r["policy"] for r in rows] == ["key-norm", "H2O", "TOVA", "exact"]
    assert all(r["success"] == 1.0 for r in rows)
    with pytest.raises(ValueError, match="policy"):
        kv.experiments.sparsity.make_policy("LRU", 4)


def test_eviction_widget_redraws():
    w = kv.widgets.eviction_widget()
    controls = {c.description: c for c in w.children[:-1]}
    controls["budget"].value = 8
    controls["policy"].value = "TOVA"
    controls["stream"].value = "benign"
    ax1 = w.result.axes[1]
    heights = [p.get_height() for p in ax1.patches]
    assert heights == [1.0, 1.0]
    controls["stream"].value = "TOVA adversary"
    heights = [p.get_height() for p in w.result.axes[1].patches]
    assert heights[1] == 1.0 and heights[0] < 0.8
