"""The Chapter 9 methods: KIVI, QJL, rotation, sampling estimators, low rank."""

import functools

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.algorithms import (
    ImportanceSamplingEstimator,
    KIVICache,
    LowRankCache,
    QJLCache,
    QuantizedCache,
    RotatedQuantizedCache,
    UniformSamplingEstimator,
)
from kvtheory.algorithms.lowrank import pca_basis
from kvtheory.algorithms.rotation import random_rotation


def _feed(alg, K, V):
    for k, v in zip(K, V, strict=True):
        alg.append(k, v)
    return alg


def _data(n=50, d=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=d) / 3


# ---------------------------------------------------------------- KIVI
@pytest.mark.parametrize("n,group,residual", [(5, 4, 4), (8, 4, 4), (40, 16, 8), (33, 8, 0)])
def test_kivi_memory_hand_count(n, group, residual):
    K, V, _ = _data(n, 6)
    c = _feed(KIVICache(3, group=group, residual=residual), K, V)
    g = 0 if n < group + residual else (n - residual) // group
    m = n - g * group
    assert (c.n_groups, c.tail_length) == (g, m)
    want = g * group * 12 * 3 + (2 * g * 6 + 2 * g * group) * 16 + m * 12 * 16 + 64
    assert c.memory_bits() == want
    assert c.memory_ledger().items["key zero-points and scales"] == (2 * g * 6, 16)


def test_kivi_keys_per_channel_values_per_token():
    rng = np.random.default_rng(1)
    K = rng.normal(size=(8, 4)) + np.array([100.0, 0, 0, 0])   # outlier channel
    V = rng.normal(size=(8, 4))
    c = _feed(KIVICache(2, group=8, residual=0, meta_dtype=np.float64), K, V)
    Kd, Vd = c.dequantized()
    for col in range(4):   # each channel spans its own 4 levels
        lo, hi = K[:, col].min(), K[:, col].max()
        assert np.all(np.abs(Kd[:, col] - K[:, col]) <= (hi - lo) / 3 / 2 + 1e-12)
    for row in range(8):   # each value vector its own range
        lo, hi = V[row].min(), V[row].max()
        assert np.all(np.abs(Vd[row] - V[row]) <= (hi - lo) / 3 / 2 + 1e-12)


def test_kivi_high_precision_is_close_to_exact():
    K, V, q = _data(70, 8)
    c = _feed(KIVICache(16, group=16, residual=16), K, V)
    assert np.max(np.abs(c.attend(q) - kv.attention(q, K, V))) < 1e-2


@pytest.mark.parametrize("kw,exc,match", [
    ({"bits": 0}, ValueError, "bits"), ({"bits": 2.0}, TypeError, "bits"),
    ({"bits": 2, "group": 0}, ValueError, "group"),
    ({"bits": 2, "residual": -1}, ValueError, "residual"),
    ({"bits": 2, "meta_dtype": np.int32}, TypeError, "dtype"),
])
def test_kivi_bad_inputs(kw, exc, match):
    with pytest.raises(exc, match=match):
        KIVICache(**kw)


# ----------------------------------------------------------------- QJL
def test_qjl_estimator_is_unbiased():
    rng = np.random.default_rng(3)
    K = rng.normal(size=(5, 6))
    q = rng.normal(size=6)
    est = np.mean([_feed(QJLCache(16, seed=s, meta_dtype=np.float64), K, K)
                   .score_estimates(q) for s in range(3000)], axis=0)
    truth = K @ q
    se = np.linalg.norm(K, axis=1) * np.linalg.norm(q) * np.sqrt(np.pi / 2 / 16 / 3000)
    assert np.all(np.abs(est - truth) < 4 * se)


def test_qjl_memory_hand_count():
    K, V, _ = _data(20, 8)
    c = _feed(QJLCache(32, value_bits=None), K, V)
    assert c.memory_bits() == 20 * 32 + 20 * 16 + 20 * 8 * 16 + 64 + 64
    c = _feed(QJLCache(32, value_bits=2), K, V)
    assert c.memory_bits() == 20 * 32 + 20 * 16 + 20 * 8 * 2 + 2 * 20 * 16 + 64 + 64


def test_qjl_bad_inputs():
    with pytest.raises(ValueError, match="m"):
        QJLCache(0)
    with pytest.raises(ValueError, match="value_bits"):
        QJLCache(8, value_bits=17)
    c = QJLCache(8)
    with pytest.raises(ValueError, match="at least one"):
        c.score_estimates(np.ones(3))
    c.append(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="q"):
        c.score_estimates(np.ones(4))
    with pytest.raises(ValueError, match="finite"):
        c.score_estimates(np.array([np.nan, 0, 0]))


# ------------------------------------------------------------ rotation
def test_random_rotation_is_orthogonal_and_seeded():
    R = random_rotation(7, seed=2)
    assert np.allclose(R @ R.T, np.eye(7))
    assert np.array_equal(R, random_rotation(7, seed=2))
    with pytest.raises(ValueError, match="d"):
        random_rotation(0)


def test_rotation_ledger_is_quantized_plus_seed():
    K, V, q = _data(30, 8)
    r = _feed(RotatedQuantizedCache(4, seed=0), K, V)
    p = _feed(QuantizedCache(4), K, V)
    assert r.memory_bits() == p.memory_bits() + 64
    assert r.memory_ledger().items["rotation seed"] == (1, 64)
    # 16 bits with float32 metadata: close to exact (the rotation is undone)
    r16 = _feed(RotatedQuantizedCache(16, seed=0, meta_dtype=np.float32), K, V)
    assert np.max(np.abs(r16.attend(q) - kv.attention(q, K, V))) < 1e-3


def test_rotation_bad_inputs():
    with pytest.raises(ValueError, match="bits"):
        RotatedQuantizedCache(0)
    with pytest.raises(TypeError, match="seed"):
        RotatedQuantizedCache(2, seed=None)


# ---------------------------------------------------------- estimators
def test_uniform_estimator_is_exact_when_sample_holds_everything():
    K, V, q = _data(10, 4)
    u = _feed(UniformSamplingEstimator(s=10, seed=0), K, V)
    N, D = u.estimates(q)
    assert np.allclose(N, np.exp(K @ q) @ V) and np.isclose(D, np.exp(K @ q).sum())
    assert np.allclose(u.attend(q), kv.attention(q, K, V))


def test_importance_estimator_numerator_unbiased():
    rng = np.random.default_rng(5)
    K, V = rng.normal(size=(2, 8, 3)) / 2
    q = rng.normal(size=3)
    N_true = np.exp(K @ q) @ V
    est = np.mean([_feed(ImportanceSamplingEstimator(3, r=1.0, seed=s), K, V).estimates(q)[0]
                   for s in range(4000)], axis=0)
    assert np.max(np.abs(est - N_true)) < 0.08 * np.max(np.abs(N_true)) + 0.05


def test_importance_weights_follow_the_rule():
    # with r = 0 and equal value norms, sampling is uniform over tokens
    rng = np.random.default_rng(6)
    K = rng.normal(size=(4, 3))
    V = np.eye(4, 3) + 0.0
    V[3] = [0, 0, 1.0]
    counts = np.zeros(4)
    for s in range(2000):
        a = _feed(ImportanceSamplingEstimator(1, r=0.0, seed=s), K, V)
        counts[np.flatnonzero(np.all(K == a._K[0], axis=1))[0]] += 1
    assert np.all(np.abs(counts / 2000 - 0.25) < 0.04)


def test_estimator_memory_and_bad_inputs():
    K, V, _ = _data(12, 4)
    imp = ImportanceSamplingEstimator(5, seed=0)
    assert imp.memory_bits() == 64 + 64 + 256
    _feed(imp, K, V)
    assert imp.memory_bits() == 5 * 8 * 64 + 5 * 64 + 64 + 64 + 256
    assert _feed(UniformSamplingEstimator(5, seed=0), K, V).memory_bits() == 5 * 8 * 64 + 64 + 256
    with pytest.raises(ValueError, match="s"):
        ImportanceSamplingEstimator(0)
    with pytest.raises(ValueError, match="r"):
        ImportanceSamplingEstimator(2, r=-1.0)
    with pytest.raises(ValueError, match="at least one"):
        UniformSamplingEstimator(2).estimates(np.ones(2))


# -------------------------------------------------------------- low rank
def test_lowrank_exact_on_low_rank_data_and_before_prefix():
    rng = np.random.default_rng(7)
    U = np.linalg.qr(rng.normal(size=(10, 2)))[0]
    K = rng.normal(size=(40, 2)) @ U.T
    V = rng.normal(size=(40, 2)) @ U.T
    q = rng.normal(size=10)
    c = LowRankCache(2, prefix=15, dtype=np.float64)
    _feed(c, K[:10], V[:10])
    assert not c.basis_learned
    assert c.memory_bits() == 10 * 20 * 64 + 64
    assert np.allclose(c.attend(q), kv.attention(q, K[:10], V[:10]))
    _feed(c, K[10:], V[10:])
    assert c.basis_learned
    assert np.max(np.abs(c.attend(q) - kv.attention(q, K, V))) < 1e-10
    assert c.memory_bits() == (10 * 2 * 2 + 20 + 40 * 4) * 64 + 64


def test_lowrank_rank_capped_by_prefix():
    K, V, _ = _data(12, 8)
    c = _feed(LowRankCache(6, prefix=3, dtype=np.float64), K, V)
    assert c.memory_ledger().items["coefficients"] == (12 * 6, 64)   # min(6, 3 rows)=3 each


def test_lowrank_bad_inputs():
    with pytest.raises(ValueError, match="rank"):
        LowRankCache(0)
    with pytest.raises(ValueError, match="prefix"):
        LowRankCache(2, prefix=0)
    with pytest.raises(ValueError, match="X"):
        pca_basis(np.ones(3), 1)
    with pytest.raises(ValueError, match="X"):
        pca_basis(np.array([[np.inf, 0.0]]), 1)


# ------------------------------------------------- all through the INDEX game
@pytest.mark.parametrize("make", [
    functools.partial(KIVICache, 1, group=8, residual=8),
    functools.partial(QJLCache, 64, value_bits=1),
    functools.partial(RotatedQuantizedCache, 8),
    functools.partial(UniformSamplingEstimator, 10),
    functools.partial(ImportanceSamplingEstimator, 10),
    functools.partial(LowRankCache, 4, prefix=16),
])
def test_new_methods_play_the_index_game(make):
    res = kv.instances.run_index_protocol(make, n=40, d=24, trials=20, seed=0)
    assert 0.0 <= res.success_rate <= 1.0
    assert res.memory_bits > 0
    assert make().kind == "oblivious"
