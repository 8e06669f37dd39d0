"""The streaming interface, ExactCache, SlidingWindow, the memory ledger."""

import copy

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.algorithms import SlidingWindow
from kvtheory.instances import benign


def _stream(n=60, d=5, seed=0):
    return benign.gaussian(n, d, seed=seed, q_scale=1 / np.sqrt(d))


def test_exact_cache_equals_batch_attention():
    Q, K, V = _stream()
    Z = kv.run_stream(kv.ExactCache(), Q, K, V)
    assert np.max(np.abs(Z - kv.causal_attention(Q, K, V))) < 1e-13


@pytest.mark.parametrize("dtype, b", [(np.float64, 64), (np.float32, 32), (np.float16, 16)])
def test_exact_cache_memory_hand_count(dtype, b):
    Q, K, V = _stream(n=37, d=6)
    cache = kv.ExactCache(dtype=dtype)
    _, bits = kv.run_stream(cache, Q, K, V, return_memory=True)
    # keys + values at b bits, plus the 64-bit token counter, after every step
    np.testing.assert_array_equal(bits, 2 * np.arange(1, 38) * 6 * b + 64)
    rows = {name: (count, each) for name, count, each, _ in cache.memory_ledger().as_rows()}
    assert rows == {"keys": (37 * 6, b), "values": (37 * 6, b), "token counter": (1, 64)}


def test_exact_cache_grows_past_initial_capacity_and_views_are_read_only():
    cache = kv.ExactCache()
    rng = np.random.default_rng(0)
    K = rng.normal(size=(100, 3))
    for k in K:
        cache.append(k, -k)
    np.testing.assert_array_equal(cache.keys, K)
    np.testing.assert_array_equal(cache.values, -K)
    with pytest.raises(ValueError):
        cache.keys[0, 0] = 1.0


def test_step_counts_the_current_token():
    cache = kv.ExactCache()
    z = cache.step(np.zeros(2), np.zeros(2), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(z, [1.0, 2.0])


def test_value_dimension_may_differ_from_key_dimension():
    cache = kv.ExactCache()
    cache.append(np.ones(3), np.ones(5))
    assert cache.attend(np.ones(3)).shape == (5,)
    assert cache.memory_bits() == (3 + 5) * 64 + 64


def test_sliding_window_is_exact_over_its_window_and_counts_memory():
    Q, K, V = _stream(n=50, d=4)
    W = 7
    Z = kv.run_stream(SlidingWindow(W), Q, K, V)
    for i in range(50):
        lo = max(0, i - W + 1)
        np.testing.assert_allclose(Z[i], kv.attention(Q[i], K[lo:i + 1], V[lo:i + 1]), atol=1e-13)
    win = SlidingWindow(W)
    for i, (k, v) in enumerate(zip(K, V, strict=True)):
        win.append(k, v)
        assert win.memory_bits() == min(i + 1, W) * 8 * 64 + 64


def test_deepcopy_gives_an_independent_state():
    Q, K, V = _stream(n=10)
    cache = kv.ExactCache()
    kv.run_stream(cache, Q, K, V)
    clone = copy.deepcopy(cache)
    clone.append(K[0], V[0])
    assert cache.n_seen == 10 and clone.n_seen == 11


def test_reader_written_algorithm_must_account_for_memory():
    class NoMemory(kv.StreamingAttention):
        def _append(self, k, v):
            pass

        def _attend(self, q):
            return q

    with pytest.raises(TypeError, match="memory_ledger"):
        NoMemory()
    with pytest.raises(TypeError, match="abstract"):
        kv.StreamingAttention()


def test_invalid_kind_is_rejected_at_class_creation():
    with pytest.raises(ValueError, match="kind"):
        class Bad(kv.StreamingAttention):  # noqa: F841
            kind = "clairvoyant"


def test_attend_output_shape_is_checked():
    class WrongShape(kv.StreamingAttention):
        def _append(self, k, v):
            pass

        def _attend(self, q):
            return np.zeros(1)

        def memory_ledger(self):
            return kv.MemoryLedger()

    alg = WrongShape()
    alg.append(np.ones(3), np.ones(3))
    with pytest.raises(RuntimeError, match="shape"):
        alg.attend(np.ones(3))
    assert alg.memory_ledger().total == 0


@pytest.mark.parametrize("call, exc, match", [
    (lambda c: c.attend(np.ones(2)), ValueError, "at least one appended token"),
    (lambda c: c.append(np.ones((2, 2)), np.ones(2)), ValueError, "k must have 1"),
    (lambda c: c.append(np.ones(2), [np.nan, 1.0]), ValueError, "v must be finite"),
    (lambda c: c.append(np.ones(0), np.ones(0)), ValueError, "non-empty"),
    (lambda c: c.append("ab", np.ones(2)), TypeError, "k"),
])
def test_bad_tokens_raise(call, exc, match):
    with pytest.raises(exc, match=match):
        call(kv.ExactCache())


def test_dimension_mismatch_after_first_token():
    cache = kv.ExactCache()
    cache.append(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="k must have length 2"):
        cache.append(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="v must have length 2"):
        cache.append(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="q must have length 2"):
        cache.attend(np.ones(3))


@pytest.mark.parametrize("call, exc, match", [
    (lambda: kv.ExactCache(dtype=np.int32), TypeError, "dtype"),
    (lambda: SlidingWindow(0), ValueError, "W"),
    (lambda: SlidingWindow(2.5), TypeError, "W"),
    (lambda: kv.run_stream("cache", np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2))),
     TypeError, "algorithm"),
    (lambda: kv.run_stream(kv.ExactCache(), np.ones((3, 2)), np.ones((2, 2)), np.ones((2, 2))),
     ValueError, "Q"),
    (lambda: kv.MemoryLedger().add("x", -1, 8), ValueError, "count"),
    (lambda: kv.MemoryLedger().add("x", 1, 0), ValueError, "bits_each"),
    (lambda: kv.MemoryLedger().add("x", 1, 8).add("x", 1, 16), ValueError, "recorded at 8"),
])
def test_bad_parameters_raise(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ------------------------------------------------------------ memory_trace
def test_memory_trace_reads_live_ledgers_at_checkpoints():
    K, V = benign.gaussian(30, 4, seed=1, queries=False)
    seen = []
    tr = kv.stream.memory_trace([kv.ExactCache(), SlidingWindow(5)], K, V, [1, 10, 30],
                                observe=seen.append)
    assert tr["steps"].tolist() == [1, 10, 30] and seen == [1, 10, 30]
    assert tr["bits"][0].tolist() == [2 * c * 4 * 64 + 64 for c in (1, 10, 30)]
    assert tr["bits"][1][-1] == SlidingWindow(5).extend(K, V).memory_bits()


def test_extend_equals_appending_row_by_row():
    K, V = benign.gaussian(20, 3, seed=2, queries=False)
    a = kv.ExactCache().extend(K, V)
    b = kv.ExactCache()
    for k, v in zip(K, V, strict=True):
        b.append(k, v)
    assert np.array_equal(a.keys, b.keys) and a.memory_bits() == b.memory_bits()
    with pytest.raises(ValueError, match="V must have 20 rows"):
        kv.ExactCache().extend(K, V[:3])


@pytest.mark.parametrize("args, exc, match", [
    (([], np.ones((3, 2)), np.ones((3, 2)), [1]), ValueError, "algs"),
    ((["x"], np.ones((3, 2)), np.ones((3, 2)), [1]), TypeError, "algs"),
    (([None], np.ones((3, 2)), np.ones((3, 2)), [1]), TypeError, "algs"),
    ((None, np.ones((3, 2)), np.ones((2, 2)), [1]), ValueError, "V must have 3 rows"),
    ((None, np.ones((3, 2)), np.ones((3, 2)), [2, 2]), ValueError, "checkpoints"),
    ((None, np.ones((3, 2)), np.ones((3, 2)), [4]), ValueError, "checkpoints"),
    ((None, np.ones((3, 2)), np.ones((3, 2)), [1.5]), ValueError, "checkpoints"),
])
def test_memory_trace_rejects_bad_input(args, exc, match):
    algs = [kv.ExactCache()] if args[0] is None else args[0]
    with pytest.raises(exc, match=match):
        kv.stream.memory_trace(algs, *args[1:])


def test_held_keys_default_and_exact_cache():
    class Last(kv.StreamingAttention):
        def _append(self, k, v):
            self.v = v

        def _attend(self, q):
            return self.v

        def memory_ledger(self):
            return kv.MemoryLedger()

    a = Last()
    a.append(np.ones(2), np.ones(2))
    assert a.held_keys() is None
    c = kv.ExactCache()
    c.append(np.ones(2), np.ones(2))
    h = c.held_keys()
    h[0, 0] = 5.0                                   # a copy
    assert c.keys[0, 0] == 1.0


@pytest.mark.parametrize("x, stored", [(65510.0, True), (65530.0, False), (-65530.0, False)])
def test_storage_range_is_where_the_cast_overflows_in_append_and_extend(x, stored):
    """float16's largest number is 65504; 65510 rounds to it, 65530 rounds to infinity.
    append (per-token check) and the exact cache's extend (check of the stored copy)
    draw the line at the same place."""
    K = np.array([[x, 0.0]])
    for feed in (lambda c: c.append(K[0], np.ones(2)), lambda c: c.extend(K, np.ones((1, 2)))):
        cache = kv.ExactCache(np.float16)
        if stored:
            feed(cache)
            assert cache.n_seen == 1 and np.isfinite(cache.keys).all()
        else:
            with pytest.raises(ValueError, match="exceeds the largest float16"):
                feed(cache)
            assert cache.n_seen == 0
