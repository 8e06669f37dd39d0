"""Contract test: every method of the registry honours the streaming interface (NetworkX style).

One parametrised suite over :data:`kvtheory.bench.METHODS`: a method added to the
registry is checked here without writing a test for it.
"""

import copy

import numpy as np
import pytest

from kvtheory.bench import METHODS, make_method
from kvtheory.stream import StreamingAttention

N, D, DV = 40, 8, 6


def _stream(seed=0):
    rng = np.random.default_rng(seed)
    Q = rng.standard_normal((N, D)) / np.sqrt(D)
    K = rng.standard_normal((N, D)) / np.sqrt(D)
    V = rng.standard_normal((N, DV))
    return Q, K, V


def _build(key, seed=7):
    spec = METHODS[key]
    grid = spec.grid(N, D, DV)
    return spec.make(grid[len(grid) // 2], seed)


def _run(alg, Q, K, V):
    return np.array([alg.step(q, k, v) for q, k, v in zip(Q, K, V, strict=True)])


KEYS = list(METHODS)


@pytest.mark.parametrize("key", KEYS)
def test_output_shape_and_finite(key):
    alg = _build(key)
    assert isinstance(alg, StreamingAttention)
    Z = _run(alg, *_stream())
    assert Z.shape == (N, DV) and np.all(np.isfinite(Z))
    assert alg.n_seen == N and alg.kind in {"oblivious", "adaptive", "query-aware"}


@pytest.mark.parametrize("key", KEYS)
def test_memory_bits_is_the_ledger_total(key):
    alg = _build(key)
    Q, K, V = _stream()
    for i, (q, k, v) in enumerate(zip(Q, K, V, strict=True)):
        alg.step(q, k, v)
        if i in (0, N // 2, N - 1):
            bits = alg.memory_bits()
            assert isinstance(bits, int) and bits >= 0
            assert bits == alg.memory_ledger().total


@pytest.mark.parametrize("key", KEYS)
def test_deep_copy_is_independent(key):
    Q, K, V = _stream()
    alg = _build(key)
    _run(alg, Q[:20], K[:20], V[:20])
    before_bits = alg.memory_bits()
    before = alg.attend(Q[20])
    twin = copy.deepcopy(alg)
    _run(twin, Q[20:], K[20:] * 3.0, V[20:] + 5.0)         # feed the copy only
    assert alg.n_seen == 20 and alg.memory_bits() == before_bits
    assert np.array_equal(alg.attend(Q[20]), before)


@pytest.mark.parametrize("key", KEYS)
def test_fixed_seed_reproduces(key):
    Q, K, V = _stream(1)
    a = _run(_build(key, seed=11), Q, K, V)
    b = _run(_build(key, seed=11), Q, K, V)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("key", KEYS)
def test_bad_inputs_raise(key):
    alg = _build(key)
    with pytest.raises(ValueError):
        alg.attend(np.ones(D))                              # nothing appended yet
    alg.append(np.ones(D), np.ones(DV))
    with pytest.raises(ValueError):
        alg.append(np.ones(D + 1), np.ones(DV))             # key length changed
    with pytest.raises(ValueError):
        alg.append(np.full(D, np.nan), np.ones(DV))         # non-finite
    with pytest.raises(ValueError):
        alg.attend(np.ones(D - 1))                          # query length
    with pytest.raises(TypeError):
        alg.append("abc", np.ones(DV))                      # not numbers
    with pytest.raises((TypeError, ValueError)):
        alg.attend(np.ones(D) + 1j)                         # complex query


@pytest.mark.parametrize("key", [k for k, s in METHODS.items() if s.tokens is not None])
def test_token_budget_constructor(key):
    alg = make_method(key, 16, n=N, d=D, d_v=DV, seed=3)
    Z = _run(alg, *_stream())
    assert Z.shape == (N, DV) and np.all(np.isfinite(Z))
    if key not in ("exact", "subgen", "quant", "rotation"):
        # a token budget bounds what is kept: at most about 16 tokens' worth of numbers
        exact = make_method("exact", 16, n=N, d=D, d_v=DV)
        _run(exact, *_stream())
        assert alg.memory_bits() < exact.memory_bits()
    with pytest.raises(ValueError):
        make_method(key, N + 1, n=N, d=D)


def test_registry_entries_are_described():
    for key, spec in METHODS.items():
        assert spec.key == key and spec.family and spec.display
        assert (spec.tokens is None) == (spec.tokens_meaning == "")


NARROW = [k for k in KEYS if _build(k)._storage_max is not None]


def test_most_methods_store_below_float64():
    """The next test is not vacuous: the registry's windows, evictions and samplers
    store at float16 or float32."""
    assert len(NARROW) >= 10, NARROW


@pytest.mark.parametrize("key", NARROW)
def test_entries_beyond_the_storage_dtype_are_refused(key):
    """A finite entry that the storage dtype cannot hold (1e39 is beyond float32 and
    float16) is refused with a ValueError naming the argument, by append and by
    extend, and the state is left as it was: stored, it would be infinity. (Memory
    is compared before any query: a query-aware cache records the queries it sees.)"""
    Q, K, V = _stream(3)
    alg = _build(key)
    alg.extend(K[:10], V[:10])
    before = (alg.n_seen, alg.memory_bits())
    for name, k, v in (("k", np.r_[1e39, K[10, 1:]], V[10]), ("v", K[10], -1e39 * V[10])):
        with pytest.raises(ValueError, match=f"^{name}: a .* exceeds the largest"):
            alg.append(k, v)
        Kb, Vb = K[10:14].copy(), V[10:14].copy()
        (Kb if name == "k" else Vb)[2] = k if name == "k" else v
        with pytest.raises(ValueError, match=f"^{name.upper()}: a .* exceeds the largest"):
            alg.extend(Kb, Vb)
        assert (alg.n_seen, alg.memory_bits()) == before
    assert np.all(np.isfinite(alg.attend(Q[0])))
