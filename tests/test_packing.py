"""Packings, codes and threshold clustering (kvtheory.geometry.packing) against brute force."""

import itertools
import math

import numpy as np
import pytest

from kvtheory.geometry import packing as P


# ------------------------------------------------------------------ brute force
def _greedy_brute(X, rho):
    kept = []
    for i, x in enumerate(X):
        if all(np.linalg.norm(x - X[j]) > rho for j in kept):
            kept.append(i)
    return kept


def _clustering_brute(K, delta):
    centres, labels = [], []
    for i, k in enumerate(K):
        if centres:
            dist = [np.linalg.norm(k - K[c]) for c in centres]
            j = int(np.argmin(dist))
            if dist[j] <= delta:
                labels.append(j)
                continue
        centres.append(i)
        labels.append(len(centres) - 1)
    return centres, labels


# ------------------------------------------------------------------ greedy packing
@pytest.mark.parametrize("seed, d, rho", [(0, 2, 0.3), (1, 3, 0.5), (2, 5, 0.9), (3, 1, 0.05)])
def test_greedy_packing_equals_sequential_rule(seed, d, rho):
    X = np.random.default_rng(seed).normal(size=(1500, d))   # > one block of 1024
    got = P.greedy_packing(X, rho)
    assert got.tolist() == _greedy_brute(X, rho)


def test_greedy_packing_is_separated_and_maximal():
    X = P.sample_ball(3000, 3, seed=4)
    kept = P.greedy_packing(X, 0.4)
    S = X[kept]
    D = np.linalg.norm(S[:, None] - S[None], axis=-1)
    assert D[~np.eye(len(S), dtype=bool)].min() > 0.4
    nearest = np.linalg.norm(X[:, None] - S[None], axis=-1).min(axis=1)
    assert nearest.max() <= 0.4 + 1e-12               # a net of the candidates


def test_greedy_packing_bad_inputs():
    with pytest.raises(ValueError, match="points"):
        P.greedy_packing(np.zeros(3), 0.5)
    with pytest.raises(ValueError, match="points"):
        P.greedy_packing(np.array([[np.nan, 0.0]]), 0.5)
    with pytest.raises(TypeError, match="points"):
        P.greedy_packing("abc", 0.5)
    with pytest.raises(ValueError, match="rho"):
        P.greedy_packing(np.zeros((3, 2)), 0.0)
    assert P.greedy_packing(np.zeros((0, 2)), 1.0).size == 0


def test_samplers():
    S = P.sample_sphere(500, 4, seed=0)
    np.testing.assert_allclose(np.linalg.norm(S, axis=1), 1.0)
    B = P.sample_ball(4000, 2, R=3.0, seed=0)
    r = np.linalg.norm(B, axis=1)
    assert r.max() <= 3.0
    # uniform in the disc: P(r <= 1.5) = 1/4
    assert abs(np.mean(r <= 1.5) - 0.25) < 0.03
    with pytest.raises(ValueError, match="R"):
        P.sample_ball(5, 2, R=-1.0)
    with pytest.raises(TypeError, match="seed"):
        P.sample_sphere(5, 2, seed=None)
    with pytest.raises(ValueError, match="n"):
        P.sample_sphere(0, 2)


# ------------------------------------------------------------------ nets and bounds
@pytest.mark.parametrize("d", [1, 2, 3])
def test_greedy_net_in_ball_respects_lemma_4_5(d):
    net = P.greedy_net(d, 0.5, domain="ball", n_candidates=8000, seed=d)
    lo, hi = P.ball_covering_bounds(d, 0.5)
    assert net.size <= hi                          # a packing: at most M <= (1+2R/rho)^d
    assert net.size >= lo                          # a net of a dense sample: >= N >= (R/rho)^d
    c = net.centres
    D = np.linalg.norm(c[:, None] - c[None], axis=-1)
    assert D[~np.eye(len(c), dtype=bool)].min() > 0.5
    assert net.covering_radius <= 0.5 + 0.1


def test_greedy_net_sphere_radius():
    net = P.greedy_net(3, 0.5, domain="sphere", R=2.0, n_candidates=3000, seed=0)
    np.testing.assert_allclose(np.linalg.norm(net.centres, axis=1), 2.0)


def test_greedy_net_bad_inputs():
    with pytest.raises(ValueError, match="domain"):
        P.greedy_net(2, 0.5, domain="cube")
    with pytest.raises(ValueError, match="d"):
        P.greedy_net(0, 0.5)
    with pytest.raises(ValueError, match="n_candidates"):
        P.greedy_net(2, 0.5, n_candidates=10 ** 7)
    with pytest.raises(TypeError, match="rho"):
        P.greedy_net(2, "0.5")


def test_ball_covering_bounds():
    assert P.ball_covering_bounds(3, 0.5) == (8.0, 125.0)
    assert P.ball_covering_bounds(2, 1.0, R=2.0) == (4.0, 25.0)
    with pytest.raises(ValueError, match="rho"):
        P.ball_covering_bounds(2, -1.0)
    with pytest.raises(OverflowError):
        P.ball_covering_bounds(10 ** 6, 0.01)


# ------------------------------------------------------------------ codes
def test_hamming_ball_volume_by_enumeration():
    for d in range(1, 9):
        words = list(itertools.product([0, 1], repeat=d))
        for k in range(-1, d + 2):
            assert P.hamming_ball_volume(d, k) == sum(sum(w) <= k for w in words)
    with pytest.raises(ValueError, match="d"):
        P.hamming_ball_volume(-1, 2)
    with pytest.raises(TypeError, match="k"):
        P.hamming_ball_volume(4, 1.5)


def test_gv_and_hamming_bounds():
    assert P.gilbert_varshamov_bound(8, 2) == 29          # ceil(256 / 9)
    assert P.gilbert_varshamov_bound(16, 4) == math.ceil(2 ** 16 / 697)
    assert P.hamming_bound(7, 3) == 16                     # the perfect Hamming code
    assert P.hamming_bound(8, 1) == 256
    with pytest.raises(ValueError, match="D"):
        P.gilbert_varshamov_bound(8, 9)
    with pytest.raises(ValueError, match="D"):
        P.hamming_bound(8, 0)


def test_sign_code_min_distance():
    assert P.sign_code_min_distance(16, 0.5) == 4
    assert P.sign_code_min_distance(10, 0.5) == 3
    assert P.sign_code_min_distance(8, 0.99) == 1
    for d in range(1, 20):
        for eps in (-0.5, 0.0, 0.25, 0.5, 0.75):
            D = P.sign_code_min_distance(d, eps)
            # distance h allowed iff 1 - 2h/d <= eps
            assert all((1 - 2 * h / d <= eps + 1e-12) == (h >= D) for h in range(1, d + 1))
    with pytest.raises(ValueError, match="eps"):
        P.sign_code_min_distance(8, 1.0)


@pytest.mark.parametrize("d, eps", [(6, 0.5), (8, 0.5), (9, 0.3), (10, 0.0)])
def test_greedy_sign_code_properties(d, eps):
    code = P.greedy_sign_code(d, eps, seed=3)
    V = code.vectors
    G = V @ V.T
    assert np.all(G[~np.eye(code.size, dtype=bool)] <= eps + 1e-12)
    np.testing.assert_allclose(np.linalg.norm(V, axis=1), 1.0)
    assert code.maximal and code.d == d
    assert code.mu == pytest.approx(2 * code.min_distance / d)
    assert P.gilbert_varshamov_bound(d, code.min_distance) <= code.size
    assert code.size <= P.hamming_bound(d, code.min_distance)
    # maximal: every sign vector is within distance D-1 of a codeword
    allv = np.array(list(itertools.product([-1, 1], repeat=d)))
    dist = (d - allv @ code.signs.T.astype(int)) // 2
    assert dist.min(axis=1).max() <= code.min_distance - 1


def test_greedy_sign_code_equals_sequential_rule_on_its_order():
    d, eps, seed = 10, 0.5, 7
    order = np.random.default_rng(seed).permutation(2 ** d)
    signs = 2 * ((order[:, None] >> np.arange(d)) & 1) - 1
    D = P.sign_code_min_distance(d, eps)
    kept = []
    for s in signs:
        if all(np.sum(s != t) >= D for t in kept):
            kept.append(s)
    code = P.greedy_sign_code(d, eps, seed=seed)
    np.testing.assert_array_equal(code.signs, np.array(kept))
    assert code.seed == seed


def test_greedy_sign_code_sizes_and_caps():
    assert [P.greedy_sign_code(d, 0.5, seed=0).size for d in (8, 12, 16)] == [69, 155, 510]
    part = P.greedy_sign_code(12, 0.5, seed=0, max_candidates=100)
    assert not part.maximal and part.size <= 100
    with pytest.raises(ValueError, match="d"):
        P.greedy_sign_code(25)
    with pytest.raises(ValueError, match="eps"):
        P.greedy_sign_code(8, 1.5)
    with pytest.raises(ValueError, match="max_candidates"):
        P.greedy_sign_code(8, max_candidates=0)
    g = np.random.default_rng(0)
    assert P.greedy_sign_code(6, seed=g).seed is None


def test_spherical_code_min_angle():
    C = P.spherical_code(4, math.pi / 3, n_candidates=4000, seed=1)
    G = C @ C.T
    assert np.all(G[~np.eye(len(C), dtype=bool)] <= 0.5 + 1e-12)
    assert len(C) <= 24 + 5           # kissing-type configurations in R^4 have <= ~24 points
    with pytest.raises(ValueError, match="theta"):
        P.spherical_code(3, 0.0)
    with pytest.raises(ValueError, match="d"):
        P.spherical_code(1, 1.0)


# ------------------------------------------------------------------ threshold clustering
@pytest.mark.parametrize("seed, d, delta", [(0, 2, 0.3), (1, 4, 1.0), (2, 3, 2 / (math.e - 1))])
def test_threshold_clustering_equals_sequential_rule(seed, d, delta):
    K = P.sample_sphere(1300, d, seed=seed)
    cl = P.threshold_clustering(K, delta)
    centres, labels = _clustering_brute(K, delta)
    assert cl.centre_index.tolist() == centres
    assert cl.labels.tolist() == labels
    assert cl.counts.sum() == len(K)


def test_threshold_clustering_lemma_4_6():
    rng = np.random.default_rng(5)
    d, delta = 3, 0.5
    K = P.sample_ball(4000, d, seed=rng)
    cl = P.threshold_clustering(K, delta)
    c = cl.centres
    D = np.linalg.norm(c[:, None] - c[None], axis=-1)
    assert D[~np.eye(len(c), dtype=bool)].min() > delta                   # (a)
    assert cl.n_clusters <= (1 + 2 / delta) ** d
    assert np.linalg.norm(K - c[cl.labels], axis=1).max() <= delta + 1e-12  # (b)
    # (c): m0 groups of diameter <= delta open at most m0 clusters
    m0 = 6
    centres = 10 * P.sample_sphere(m0, d, seed=rng)
    Kc = centres[rng.integers(0, m0, 3000)] + 0.24 * P.sample_ball(3000, d, seed=rng)
    assert P.threshold_clustering(Kc, delta).n_clusters <= m0


def test_threshold_clustering_bad_inputs():
    with pytest.raises(ValueError, match="keys"):
        P.threshold_clustering(np.ones(4), 0.5)
    with pytest.raises(ValueError, match="delta"):
        P.threshold_clustering(np.ones((4, 2)), 0.0)
    with pytest.raises(ValueError, match="keys"):
        P.threshold_clustering(np.array([[np.inf, 1.0]]), 0.5)
    empty = P.threshold_clustering(np.zeros((0, 3)), 0.5)
    assert empty.n_clusters == 0 and empty.labels.size == 0
