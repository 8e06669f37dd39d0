"""Lossy caches of Chapter 3: reservoir sampling, quantization, the sign-bit
cache and JL sketches. Exactness where it should hold, hand counts of
``memory_bits()``, and bad inputs."""

import functools

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.algorithms import JLSketchCache, QuantizedCache, ReservoirSampling, SignBitCache
from kvtheory.algorithms.quantization import quantize_minmax
from kvtheory.algorithms.sampling import RNG_STATE_BITS


def feed(alg, K, V):
    for k, v in zip(K, V, strict=True):
        alg.append(k, v)
    return alg


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    return rng.normal(size=(60, 6)), rng.normal(size=(60, 5)), rng.normal(size=6)


# ---------------------------------------------------------------- reservoir


def test_reservoir_is_exact_attention_over_its_sample(data):
    K, V, q = data
    res = feed(ReservoirSampling(12, seed=3), K, V)
    held = res.held_indices
    assert held.size == 12 and len(set(held.tolist())) == 12
    np.testing.assert_allclose(res.attend(q), kv.attention(q, K[held], V[held]), atol=1e-12)
    assert res.memory_bits() == 12 * (6 + 5) * 64 + 64 + RNG_STATE_BITS


def test_reservoir_holds_everything_while_small(data):
    K, V, q = data
    res = feed(ReservoirSampling(100, seed=0), K, V)
    np.testing.assert_allclose(res.attend(q), kv.attention(q, K, V), atol=1e-12)
    assert res.memory_bits() == 60 * 11 * 64 + 64 + 256


def test_reservoir_sample_is_uniform():
    n, s, reps = 20, 5, 4000
    counts = np.zeros(n)
    K = np.zeros((n, 1))
    V = np.zeros((n, 1))
    rng = np.random.default_rng(0)
    for _ in range(reps):
        counts[feed(ReservoirSampling(s, seed=rng), K, V).held_indices] += 1
    freq = counts / reps
    # each token held with probability s/n = 0.25; binomial SE ~ 0.0068
    assert np.max(np.abs(freq - s / n)) < 0.035


def test_reservoir_float16_counts_16_bits(data):
    K, V, _ = data
    res = feed(ReservoirSampling(4, seed=0, dtype=np.float16), K, V)
    assert res.memory_bits() == 4 * 11 * 16 + 64 + 256


def test_reservoir_success_on_index_is_about_half_plus_s_over_2n():
    res = kv.instances.run_index_protocol(functools.partial(ReservoirSampling, 100, seed=1),
                                          n=400, d=16, trials=400, seed=0)
    assert abs(res.success_rate - (0.5 + 100 / 800)) < 4 * res.stderr
    assert res.success_rate <= res.ceiling


# ------------------------------------------------------------- quantization


def test_quantize_minmax_round_trip_error_is_half_a_step():
    x = np.random.default_rng(1).normal(size=200)
    for bits in (1, 2, 4, 8):
        codes, zero, scale = quantize_minmax(x, bits, meta_dtype=np.float64)
        assert codes.max() <= 2**bits - 1
        assert np.max(np.abs(zero + codes * scale - x)) <= scale / 2 + 1e-12


def test_quantize_constant_vector_is_exact():
    codes, zero, scale = quantize_minmax(np.full(4, 2.5), 3)
    assert scale == 0.0 and np.all(codes == 0) and zero == 2.5


def test_quantized_cache_hand_count_and_error_shrinks(data):
    K, V, q = data
    z = kv.attention(q, K, V)
    errs = []
    for b in (2, 4, 8):
        cache = feed(QuantizedCache(b), K, V)
        assert cache.memory_bits() == 60 * 11 * b + 4 * 60 * 16 + 64
        errs.append(np.max(np.abs(cache.attend(q) - z)))
    assert errs[0] > errs[1] > errs[2]
    cache32 = feed(QuantizedCache(1, meta_dtype=np.float32), K, V)
    assert cache32.memory_bits() == 60 * 11 * 1 + 4 * 60 * 32 + 64


def test_one_bit_quantization_decodes_index():
    res = kv.instances.run_index_protocol(functools.partial(QuantizedCache, 1), n=300, d=16,
                                          trials=200, seed=0)
    assert res.success_rate == 1.0
    assert res.memory_bits == 300 * 32 + 4 * 300 * 16 + 64


# ---------------------------------------------------------------- sign bits


def test_sign_bit_cache_hand_count_and_decoding():
    res = kv.instances.run_index_protocol(SignBitCache, n=1000, d=32, trials=500, seed=0)
    assert res.success_rate == 1.0
    assert res.memory_bits == 2 * 1000 * 32 + 256
    assert res.bits_per_info_bit == pytest.approx(2.008)


def test_sign_bit_cache_reconstructs_sign_keys_and_bits_exactly():
    inst = kv.instances.index.make_index_instance(50, 16, seed=2)
    cache = feed(SignBitCache(), inst.keys, inst.X)
    Kr, Vr = cache.dequantized()
    np.testing.assert_allclose(Kr, inst.keys, atol=1e-15)
    np.testing.assert_array_equal(Vr, inst.X)


def test_sign_bit_prefix_keeps_first_tokens_only():
    inst = kv.instances.index.make_index_instance(50, 8, seed=2)
    cache = feed(SignBitCache(capacity=20), inst.keys, inst.X)
    assert cache.memory_bits() == 20 * 16 + 256
    assert cache.dequantized()[0].shape == (20, 8)


# ------------------------------------------------------------------- sketch


def test_jl_sketch_hand_counts(data):
    K, V, _ = data
    sv = feed(JLSketchCache(3, target="values", seed=0), K, V)
    assert sv.memory_bits() == 60 * 6 * 64 + 60 * 3 * 64 + 64 + 64
    sk = feed(JLSketchCache(3, target="keys", matrix="stored", seed=0, dtype=np.float32), K, V)
    assert sk.memory_bits() == 60 * 3 * 32 + 60 * 5 * 32 + 3 * 6 * 32 + 64
    assert sk.memory_ledger().items["projection matrix"] == (18, 32)


def test_jl_seed_and_stored_modes_agree(data):
    K, V, q = data
    a = feed(JLSketchCache(4, seed=5), K, V)
    b = feed(JLSketchCache(4, seed=5, matrix="stored"), K, V)
    np.testing.assert_allclose(a.attend(q), b.attend(q), atol=1e-12)
    np.testing.assert_allclose(a.projection(), b.projection())


def test_jl_value_sketch_is_unbiased_and_formula_matches(data):
    K, V, q = data
    z = kv.attention(q, K, V)
    outs = np.array([feed(JLSketchCache(4, seed=s), K, V).attend(q) for s in range(400)])
    se = outs.std(axis=0) / np.sqrt(len(outs))
    assert np.all(np.abs(outs.mean(axis=0) - z) < 4 * se + 1e-9)
    one = feed(JLSketchCache(4, seed=0), K, V)
    P = one.projection()
    np.testing.assert_allclose(one.attend(q), P.T @ P @ z, atol=1e-12)


def test_jl_key_sketch_with_large_m_approaches_exact(data):
    K, V, q = data
    z = kv.attention(q, K, V)
    err_small = np.max(np.abs(feed(JLSketchCache(2, target="keys", seed=1), K, V).attend(q) - z))
    err_big = np.max(np.abs(feed(JLSketchCache(4000, target="keys", seed=1), K, V).attend(q) - z))
    assert err_big < 0.05 < err_small or err_big < err_small


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize("make, exc, match", [
    (lambda: ReservoirSampling(0), ValueError, "s"),
    (lambda: ReservoirSampling(3, seed=None), TypeError, "seed"),
    (lambda: ReservoirSampling(3, dtype=np.int32), TypeError, "dtype"),
    (lambda: QuantizedCache(0), ValueError, "bits"),
    (lambda: QuantizedCache(17), ValueError, "bits"),
    (lambda: QuantizedCache(2.0), TypeError, "bits"),
    (lambda: SignBitCache(value_levels=(1.0, 0.0)), ValueError, "value_levels"),
    (lambda: SignBitCache(value_levels=1.0), TypeError, "value_levels"),
    (lambda: SignBitCache(capacity=0), ValueError, "capacity"),
    (lambda: JLSketchCache(0), ValueError, "m"),
    (lambda: JLSketchCache(2, target="queries"), ValueError, "target"),
    (lambda: JLSketchCache(2, matrix="file"), ValueError, "matrix"),
    (lambda: quantize_minmax([0.0, np.nan], 2), ValueError, "x"),
    (lambda: quantize_minmax([[0.0]], 2), ValueError, "x"),
])
def test_constructors_reject_bad_input(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_streaming_inputs_are_validated():
    cache = SignBitCache()
    cache.append(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="k must have length 3"):
        cache.append(np.ones(4), np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        cache.attend(np.array([np.nan, 0.0, 0.0]))
    with pytest.raises(ValueError, match="projection"):
        JLSketchCache(2).projection()
