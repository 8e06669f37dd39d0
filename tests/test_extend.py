"""Batch prefill: ``extend(K, V)`` against the ``append`` loop, for every method.

For each method of the bench registry (and the built-in classes it does not
register) two fresh instances with the same seed are fed the same stream, one
by ``append`` row by row and one by ``extend`` in blocks of uneven sizes with a
query (``step``) between blocks; the states must answer every query alike and
count the same bits. Methods whose ``extend`` uses one matrix product per block
(rotation, sketches, QJL, low rank) agree to rounding (the product and the
row-by-row products may differ in the last bit); the others agree exactly.
The score-based eviction caches whose prefill mode differs from the loop
(KeyDiff, SnapKV) are checked against their documented semantics instead.
"""

from __future__ import annotations

import numpy as np
import pytest

import kvtheory as kv
from kvtheory import algorithms as alg
from kvtheory.bench import METHODS

N, D, DV = 300, 6, 5
BLOCKS = (1, 37, 0, 90, 64, 108)          # sums to N; 0 is an empty block
assert sum(BLOCKS) == N

#: Methods whose extend computes a block's projections as one matrix product.
ROUNDING = {"rotation", "jl-keys", "qjl", "lowrank", "JLSketch-values-stored", "QJL-fp",
            "LowRank"}


def _param(spec):
    grid = spec.grid(N, D, DV)
    return grid[len(grid) // 2]


def _factories():
    out = {}
    for key, spec in METHODS.items():
        p = _param(spec)
        out[key] = (lambda spec=spec, p=p: spec.make(p, 3))
    extra = {
        "SlidingWindow": lambda: alg.SlidingWindow(W=40),
        "SlidingWindow-f16": lambda: alg.SlidingWindow(W=500, dtype=np.float16),
        "SinkWindow": lambda: alg.SinkWindow(n_sink=3, W=50),
        "SinkWindow-big": lambda: alg.SinkWindow(n_sink=120, W=7),
        "UnmaskedWindow": lambda: alg.UnmaskedWindow(W=20),
        "UnmaskedWindow-f32": lambda: alg.UnmaskedWindow(W=95, dtype=np.float32),
        "ExactCache-f32": lambda: kv.ExactCache(np.float32),
        "QuantizedCache": lambda: alg.QuantizedCache(3),
        "SignBitCache": lambda: alg.SignBitCache(),
        "SignBitCache-cap": lambda: alg.SignBitCache(capacity=100),
        "JLSketch-values-stored": lambda: alg.JLSketchCache(3, matrix="stored", seed=1),
        "KIVI-0": lambda: alg.KIVICache(2, group=8, residual=0),
        "KIVI-r": lambda: alg.KIVICache(3, group=16, residual=20),
        "QJL-fp": lambda: alg.QJLCache(8, value_bits=None, seed=2),
        "ReservoirSampling": lambda: alg.ReservoirSampling(30, seed=5),
        "Importance": lambda: alg.ImportanceSamplingEstimator(25, r=0.5, seed=4),
        "RandomEviction": lambda: alg.RandomEviction(20, seed=7),
        "RandomEviction-big": lambda: alg.RandomEviction(250, seed=7),
        "KnormEviction": lambda: alg.KnormEviction(30),
        "HighNormEviction": lambda: alg.HighNormEviction(30),
        "ObservedAttention": lambda: alg.ObservedAttentionEviction(30, recent=10),
        "TOVA": lambda: alg.TOVAEviction(30),
        "LowRank": lambda: alg.LowRankCache(2, prefix=50),
        "SubGen": lambda: alg.SubGen(1.0, 8, 8, seed=1),
        "ClusterCentres": lambda: alg.ClusterCentres(1.0),
    }
    out.update(extra)
    return out


FACTORIES = _factories()


def _stream(seed=0):
    rng = np.random.default_rng(seed)
    K = rng.normal(size=(N, D))
    Q = rng.normal(size=(N, D)) * 0.5
    V = rng.normal(size=(N, DV))
    return K, V, Q, rng.normal(size=(8, D))


def _feed(a, K, V, Q, *, blocks: bool):
    """Feed the stream; between blocks one step with a query (both ways alike)."""
    start = 0
    for i, b in enumerate(BLOCKS):
        if blocks:
            a.extend(K[start:start + b], V[start:start + b])
        else:
            for t in range(start, start + b):
                a.append(K[t], V[t])
        start += b
        if i == 2 and start:          # one query mid-stream (after 38 tokens)
            a.step(Q[start], K[start - 1], V[start - 1])
    return a


def _answers(a, P):
    import copy
    return np.array([copy.deepcopy(a).attend(p) for p in P])


def _prefill_differs(a) -> bool:
    return isinstance(a, alg.ScoreEviction) and not a.prefill_exact


@pytest.mark.parametrize("key", sorted(FACTORIES))
def test_extend_matches_append_loop(key):
    K, V, Qs, P = _stream()
    make = FACTORIES[key]
    loop = make()
    if _prefill_differs(loop):
        pytest.skip("prefill mode differs from the loop: see test_prefill_mode")
    blk = _feed(make(), K, V, Qs, blocks=True)
    loop = _feed(loop, K, V, Qs, blocks=False)
    assert blk.n_seen == loop.n_seen == N + 1
    assert blk.memory_bits() == loop.memory_bits()
    assert blk.memory_ledger().total == loop.memory_ledger().total
    za, zb = _answers(blk, P), _answers(loop, P)
    if key in ROUNDING:
        np.testing.assert_allclose(za, zb, rtol=1e-9, atol=1e-12)
    else:
        np.testing.assert_array_equal(za, zb)
    hk_a, hk_b = blk.held_keys(), loop.held_keys()
    assert (hk_a is None) == (hk_b is None)
    if hk_a is not None:
        np.testing.assert_array_equal(hk_a, hk_b)


@pytest.mark.parametrize("cls", [alg.KeyDiffEviction, alg.SnapKVEviction])
def test_prefill_mode(cls):
    """Documented prefill semantics: one eviction after the block keeps the top
    ``budget`` by the scores of all held tokens (ties: the oldest evicted)."""
    K, V, Qs, P = _stream(1)
    a = cls(20)
    a.extend(K[:30], V[:30])
    a.step(Qs[30], K[30], V[30])
    ref_K = np.concatenate([a.keys, K[31:200]])
    ref_V = np.concatenate([a.values, V[31:200]])
    before = a.recent_queries
    b = cls(20)
    b.extend(K[:30], V[:30])
    b.step(Qs[30], K[30], V[30])
    b._hold_block(K[31:200], V[31:200])            # the block held, before the eviction
    s = b.score(ref_K, ref_V, before)
    a.extend(K[31:200], V[31:200])
    keep = np.sort(np.argsort(s, kind="stable")[-20:])
    np.testing.assert_array_equal(a.keys, ref_K[keep])
    np.testing.assert_array_equal(a.values, ref_V[keep])
    assert a.n_held == 20 and a.n_seen == 200


def test_extend_is_validated_once_and_atomic():
    K, V, _, _ = _stream()
    a = kv.ExactCache().extend(K[:5], V[:5])
    bad = K[5:10].copy()
    bad[-1, 0] = np.nan
    with pytest.raises(ValueError, match="K must be finite"):
        a.extend(bad, V[5:10])
    assert a.n_seen == 5                            # nothing of the bad block appended
    with pytest.raises(ValueError, match="K must have 6 columns"):
        a.extend(K[:3, :4], V[:3])
    with pytest.raises(ValueError, match="V must have 3 rows"):
        a.extend(K[:3], V[:2])
    with pytest.raises(TypeError):
        a.extend(K[:3].astype(complex), V[:3])
    assert kv.ExactCache().extend(np.empty((0, 3)), np.empty((0, 2))).n_seen == 0


@pytest.mark.parametrize("which", ["K", "V"])
def test_exact_cache_checks_while_copying_and_refuses_the_block_whole(which, monkeypatch):
    """The exact cache checks finiteness slice by slice during its copy; a bad entry
    in a late slice still refuses the whole block (n_seen and the keys unchanged)."""
    from kvtheory import stream

    monkeypatch.setattr(stream, "_CHECK_BLOCK", 12)           # 2 rows per slice at d = 6
    K, V, _, _ = _stream()
    a = kv.ExactCache().extend(K[:7], V[:7])
    keys = a.keys.copy()
    bad = {"K": K[7:40].copy(), "V": V[7:40].copy()}
    bad[which][-1, -1] = np.inf
    with pytest.raises(ValueError, match=f"{which} must be finite"):
        a.extend(bad["K"], bad["V"])
    assert a.n_seen == 7 and a.memory_bits() == kv.ExactCache().extend(K[:7], V[:7]).memory_bits()
    np.testing.assert_array_equal(a.keys, keys)
    a.extend(K[7:], V[7:])                        # a good block after the refused one
    loop = kv.ExactCache()
    for k, v in zip(K, V, strict=True):
        loop.append(k, v)
    np.testing.assert_array_equal(a.keys, loop.keys)
    np.testing.assert_array_equal(a.values, loop.values)


def test_a_subclass_with_its_own_extend_gets_a_checked_block():
    """Only the exact cache's own hook checks while copying; a subclass that replaces
    the hook receives a block the base class has already checked."""
    seen = []

    class Logged(kv.ExactCache):
        def _extend(self, K, V):
            seen.append(bool(np.isfinite(K).all() and np.isfinite(V).all()))
            super()._extend(K, V)

    K, V, _, _ = _stream()
    bad = K[:5].copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="K must be finite"):
        Logged().extend(bad, V[:5])
    assert seen == []
    Logged().extend(K[:5], V[:5])
    assert seen == [True]


def test_row_dots_equal_the_loops_dot_products():
    from kvtheory.algorithms._rows import row_dots

    rng = np.random.default_rng(2)
    for shape in ((1, 1), (50, 3), (40, 64), (9, 129)):
        A = rng.normal(size=shape) * 3
        for X in (A, np.asfortranarray(A), A[::-1]):
            np.testing.assert_array_equal(row_dots(X), [k @ k for k in X])


def test_quantize_rows_equals_the_per_row_quantizer(monkeypatch):
    """The blocked row quantizer equals quantize_minmax row by row, bit for bit,
    including constant rows (scale 0) and blocks smaller than a row."""
    from kvtheory.algorithms import quantization as qm

    rng = np.random.default_rng(3)
    X = rng.normal(size=(37, 11)) * 4
    X[4] = 1.5
    X[9] = 0.0
    for block in (1 << 15, 20, 1):
        monkeypatch.setattr(qm, "_QUANT_BLOCK", block)
        for bits in (1, 3, 8, 16):
            for meta in (np.float16, np.float32):
                codes, zero, scale = qm._quantize_rows(X, bits, meta)
                for i, x in enumerate(X):
                    c, z, sc = qm.quantize_minmax(x, bits, meta_dtype=meta)
                    np.testing.assert_array_equal(codes[i], c)
                    assert (zero[i], scale[i]) == (z, sc)


def test_kivi_extend_in_group_blocks_matches_the_loop(monkeypatch):
    """KIVI's extend works a few groups at a time: tiny blocks of groups, a tail that
    starts inside the block, and random splits leave the loop's state."""
    from kvtheory.algorithms import kivi

    monkeypatch.setattr(kivi, "_KIVI_BLOCK", 40)
    rng = np.random.default_rng(4)
    for trial in range(12):
        G, R = int(rng.integers(1, 6)), int(rng.integers(0, 9))
        n = int(rng.integers(1, 120))
        K, V = rng.normal(size=(n, 3)), rng.normal(size=(n, 2))
        loop = alg.KIVICache(3, group=G, residual=R)
        for k, v in zip(K, V, strict=True):
            loop.append(k, v)
        blk, start = alg.KIVICache(3, group=G, residual=R), 0
        for c in [*np.sort(rng.integers(0, n + 1, size=3)), n]:
            blk.extend(K[start:c], V[start:c])
            start = c
        for x, y in zip(blk.dequantized(), loop.dequantized(), strict=True):
            np.testing.assert_array_equal(x, y)
        assert (blk.n_groups, blk.tail_length, blk.memory_bits()) == \
            (loop.n_groups, loop.tail_length, loop.memory_bits()), trial


def test_exact_cache_grows_amortised():
    K, V, _, _ = _stream()
    a = kv.ExactCache()
    sizes = set()
    for k, v in zip(K, V, strict=True):
        a.append(k, v)
        sizes.add(a.keys.base.shape[0] if a.keys.base is not None else 0)
    assert a.keys.shape == (N, D)
    b = kv.ExactCache().extend(K[:10], V[:10]).extend(K[10:], V[10:])
    np.testing.assert_array_equal(a.keys, b.keys)
    np.testing.assert_array_equal(a.values, b.values)


def test_reader_may_not_override_extend():
    with pytest.raises(TypeError, match="_extend"):
        class Bad(kv.StreamingAttention):          # noqa: F841
            def extend(self, K, V):
                return self

            def memory_ledger(self):
                return kv.MemoryLedger()


def test_reader_class_gets_extend_by_the_loop():
    from bench_fixtures import LastToken  # a reader's class: no _extend of its own

    K, V, _, _ = _stream()
    a = LastToken().extend(K, V)
    assert a.n_seen == N
    np.testing.assert_array_equal(a.attend(K[0]), V[-1])


# ------------------------------------------------------------ budgets without dry runs
@pytest.mark.parametrize("key", sorted(METHODS))
def test_budget_bits_in_closed_form_match_the_ledger(key):
    """``MethodSpec.bits`` (the budget-to-parameter map's memory count) equals the
    ledger after ``n`` appended tokens, for every grid setting and several shapes."""
    spec = METHODS[key]
    if spec.bits is None:
        if spec.data_dependent:                    # SubGen: its memory depends on the data
            return
        pytest.skip(f"{key} has no closed-form memory yet (its budget uses a dry run)")
    rng = np.random.default_rng(0)
    for n, d, dv in ((1, 4, 4), (17, 4, 3), (33, 8, 5), (300, 24, 24)):
        K, V = rng.normal(size=(n, d)), rng.normal(size=(n, dv))
        for p in spec.grid(n, d, dv):
            a = spec.make(p, 0).extend(K, V)
            assert spec.bits(p, n, d, dv) == a.memory_bits(), (key, p, n, d, dv)


def test_choose_stays_within_the_budget_without_dry_runs(monkeypatch):
    from kvtheory.bench import methods as bm

    def no_dry_run(*args, **kwargs):
        raise AssertionError("dry run")

    monkeypatch.setattr(bm, "dry_run_bits", no_dry_run)
    n, d = 512, 16
    for key, spec in METHODS.items():
        if spec.bits is None:
            continue
        costs = [spec.bits(p, n, d, d) for p in spec.grid(n, d, d)]
        for frac in (0.001, 0.01, 0.1, 0.5, 1.0):
            bb = int(frac * (n * 2 * d * 64 + 64))
            p, b = bm.choose(spec, bb, n, d, d)
            assert b == spec.bits(p, n, d, d)
            fits = [c for c in costs if c <= bb]
            if fits:
                assert b <= bb and b == max(fits), (key, frac)
            else:                                   # nothing fits: the cheapest setting
                assert b == min(costs)


# ---------------------------------------------------------------- real heads as instances
def test_real_heads_are_listed_and_unavailable_without_the_extra(monkeypatch):
    from kvtheory.bench import INSTANCES, make_instance
    from kvtheory.bench import instances as bi

    keys = [k for k in INSTANCES if k.startswith("real-")]
    assert len(keys) == 3
    monkeypatch.setattr(bi, "_real_available", lambda: False)
    assert not any(INSTANCES[k].is_available for k in keys)
    with pytest.raises(ValueError, match="unavailable"):
        make_instance(keys[0], 64, 8)


def test_real_head_instance_when_available():
    from kvtheory.bench import INSTANCES, make_instance

    spec = INSTANCES["real-L23H6"]
    if not spec.is_available:
        pytest.skip("the real extra or the model is not installed")
    inst = make_instance("real-L23H6", 128, 8, seed=0)
    assert inst.family == "benign" and inst.n == 128 and inst.d == 64
    assert inst.Q is not None and inst.Q.shape == (128, 64)
    assert inst.probes.shape == (16, 64) and not inst.pad


@pytest.mark.parametrize("what, row", [("key entry", (-10.0, 0.0)), ("key entry", (10.0, 0.0)),
                                       ("value entry", (0.0, -10.0)),
                                       ("squared value norm", (0.0, 0.8))])
def test_subgen_extend_raises_on_a_token_beyond_float16_as_the_loop(what, row):
    """A key or value beyond the storage range in the middle of a block (of either
    sign): the base class refuses the whole block (nothing appended), the loop stops
    at that token. A squared value norm beyond it (SubGen's own check): extend raises
    as the loop does, at the same token, in the same state."""
    big = float(np.finfo(np.float16).max)
    rng = np.random.default_rng(6)
    K, V = rng.normal(size=(9, 2)), rng.normal(size=(9, 2))
    if what == "key entry":
        K[5] = np.array(row) * big
    elif what == "value entry":
        V[5] = np.array(row) * big
    else:
        V[5] = np.array([0.8, 0.8]) * big
    blk = alg.SubGen(0.5, 2, 4, seed=0, dtype=np.float16)
    with pytest.raises(ValueError, match=what):
        blk.extend(K, V)
    loop = alg.SubGen(0.5, 2, 4, seed=0, dtype=np.float16)
    with pytest.raises(ValueError, match=what):
        for k, v in zip(K, V, strict=True):
            loop.append(k, v)
    assert loop.n_seen == 5
    if what != "squared value norm":
        assert blk.n_seen == 0 and blk.n_clusters == 0
        blk.extend(K[:5], V[:5])             # the good rows, as the loop took them
    assert blk.n_seen == 5
    assert blk.memory_bits() == loop.memory_bits()
    np.testing.assert_array_equal(blk.attend(K[0]), loop.attend(K[0]))
