"""Attention, softmax and the error metrics against explicit references."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import kvtheory as kv


def _reference_attention(q, K, V):
    """Explicit loop in extended precision (np.longdouble) with a max shift."""
    q = np.asarray(q, dtype=np.longdouble)
    K = np.asarray(K, dtype=np.longdouble)
    V = np.asarray(V, dtype=np.longdouble)
    scores = [sum(q[l] * K[t, l] for l in range(K.shape[1])) for t in range(K.shape[0])]
    m = max(scores)
    w = [np.exp(s - m) for s in scores]
    total = sum(w)
    return np.array([sum(w[t] * V[t, l] for t in range(K.shape[0])) / total
                     for l in range(V.shape[1])], dtype=np.longdouble)


@pytest.mark.parametrize("seed", range(5))
def test_attention_matches_extended_precision_loop(seed):
    rng = np.random.default_rng(seed)
    n, d = rng.integers(1, 9), rng.integers(1, 6)
    q, K, V = rng.normal(size=d) * 3, rng.normal(size=(n, d)), rng.normal(size=(n, d))
    ref = _reference_attention(q, K, V)
    assert np.max(np.abs(kv.attention(q, K, V) - ref.astype(float))) < 1e-12


def test_batched_queries_match_single():
    rng = np.random.default_rng(3)
    Qs, K, V = rng.normal(size=(4, 3)), rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    batched = kv.attention(Qs, K, V)
    assert batched.shape == (4, 2)
    for i in range(4):
        np.testing.assert_allclose(batched[i], kv.attention(Qs[i], K, V), rtol=1e-13)


@pytest.mark.parametrize("scale", [1e2, 1e3, 1e4, -1e4])
def test_softmax_is_stable_at_large_scores(scale):
    x = np.array([scale, scale - 1.0, scale - 3.0])
    w = kv.softmax(x)
    assert np.all(np.isfinite(w))
    e = np.exp([0.0, -1.0, -3.0])
    np.testing.assert_allclose(w, e / e.sum(), rtol=1e-14)
    naive = kv.naive_softmax(x)
    if abs(scale) >= 1e3:
        assert np.isnan(naive).any()   # the failure the stable form avoids


def test_attention_at_huge_scores_is_exact_argmax():
    K = np.eye(3)
    V = np.arange(9.0).reshape(3, 3)
    z = kv.attention(np.array([0.0, 1e4, -1e4]), K, V)
    np.testing.assert_array_equal(z, V[1])


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.integers(1, 8), elements=st.floats(-50, 50)),
       st.floats(-1e3, 1e3))
def test_softmax_shift_invariance_property(x, c):
    np.testing.assert_allclose(kv.softmax(x + c), kv.softmax(x), rtol=1e-9, atol=1e-15)
    assert math.isclose(float(kv.softmax(x).sum()), 1.0, rel_tol=1e-12)


def test_logsumexp():
    x = np.array([1e4, 1e4])
    assert math.isclose(float(kv.logsumexp(x)), 1e4 + math.log(2), rel_tol=1e-15)


def test_causal_attention_matches_rowwise_and_blocks():
    rng = np.random.default_rng(0)
    Q, K, V = rng.normal(size=(3, 37, 5))
    Z = kv.causal_attention(Q, K, V, block=8)
    for i in range(37):
        np.testing.assert_allclose(Z[i], kv.attention(Q[i], K[: i + 1], V[: i + 1]), atol=1e-13)
    np.testing.assert_allclose(Z, kv.causal_attention(Q, K, V), atol=1e-14)


def test_error_metrics():
    assert kv.entrywise_error([1.0, 2.2], [1.0, 2.0]) == pytest.approx(0.1)
    assert kv.entrywise_error([0.0, 1.0], [0.0, 1.0]) == 0.0
    assert kv.entrywise_error([1e-9, 1.0], [0.0, 1.0]) == math.inf
    assert kv.additive_error([0.5, -1.0], [0.0, 0.0]) == 1.0
    rng = np.random.default_rng(1)
    K, V, q = rng.normal(size=(20, 4)), rng.normal(size=(20, 3)), rng.normal(size=4)
    z = kv.attention(q, K, V)
    assert kv.l2_error_ratio(z, q, K, V) == 0.0
    w = kv.softmax(K @ q)
    expected = 1.0 / (np.linalg.norm(w) * np.linalg.norm(V, 2))
    assert kv.l2_error_ratio(z + np.array([1.0, 0, 0]), q, K, V) == pytest.approx(expected)


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, exc, match", [
    (lambda: kv.softmax("abc"), TypeError, "x"),
    (lambda: kv.softmax([1.0, np.nan]), ValueError, "x must be finite"),
    (lambda: kv.softmax([]), ValueError, "non-empty"),
    (lambda: kv.softmax(3.0), ValueError, "one-dimensional"),
    (lambda: kv.softmax([1.0, 2.0], axis=2), ValueError, "axis"),
    (lambda: kv.softmax(np.array([1 + 1j])), TypeError, "x"),
    (lambda: kv.attention(np.ones(3), np.ones((4, 2)), np.ones((4, 2))), ValueError, "q"),
    (lambda: kv.attention(np.ones(2), np.ones((4, 2)), np.ones((5, 2))), ValueError, "V"),
    (lambda: kv.attention(np.ones(2), np.ones((0, 2)), np.ones((0, 2))), ValueError, "K"),
    (lambda: kv.attention(np.ones(2), np.ones(2), np.ones((1, 2))), ValueError, "K"),
    (lambda: kv.attention(np.array([np.inf, 0]), np.ones((1, 2)), np.ones((1, 2))),
     ValueError, "q"),
    (lambda: kv.attention(np.ones(2), np.ones((1, 2)), [["a", "b"]]), TypeError, "V"),
    (lambda: kv.causal_attention(np.ones((3, 2)), np.ones((4, 2)), np.ones((4, 2))),
     ValueError, "Q"),
    (lambda: kv.causal_attention(np.ones((4, 2)), np.ones((4, 2)), np.ones((4, 2)), block=0),
     ValueError, "block"),
    (lambda: kv.entrywise_error([1.0], [1.0, 2.0]), ValueError, "same shape"),
    (lambda: kv.additive_error([np.nan], [1.0]), ValueError, "z_hat"),
    (lambda: kv.l2_error_ratio(np.ones(2), np.ones(2), np.ones((3, 2)), np.zeros((3, 2))),
     ValueError, "V must not be all zero"),
    (lambda: kv.l2_error_ratio(np.ones(3), np.ones(2), np.ones((3, 2)), np.ones((3, 2))),
     ValueError, "z_hat"),
])
def test_bad_inputs_raise_naming_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
