"""Window algorithms (Chapter 7): exactness against brute force, memory, instances."""

import functools

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.algorithms import (
    SinkWindow,
    SlidingWindow,
    UnmaskedWindow,
    sink_window_attention,
    sliding_window_attention,
    unmasked_window_attention,
)
from kvtheory.instances import benign
from kvtheory.instances.window import window_bound_bits, window_index


def _stream(n=120, d=5, seed=0, scale=1.0):
    return benign.gaussian(n, d, seed=seed, q_scale=scale)


def _loop_unmasked(Q, K, V, W):
    """U_i written out literally from the definition of Chapter 7, one row at a time."""
    out = []
    for i in range(1, K.shape[0] + 1):         # 1-based step
        lo = max(1, i - W + 1)
        q = Q[i - 1]
        e = np.exp(K[lo - 1:i] @ q)
        num = e @ V[lo - 1:i] + V[: lo - 1].sum(axis=0)
        den = e.sum() + max(0, i - W)
        out.append(num / den)
    return np.array(out)


@pytest.mark.parametrize("W", [1, 2, 7, 40, 500])
def test_algorithms_match_brute_force(W):
    Q, K, V = _stream()
    assert np.max(np.abs(kv.run_stream(SlidingWindow(W), Q, K, V)
                         - sliding_window_attention(Q, K, V, W))) < 1e-12
    assert np.max(np.abs(kv.run_stream(SinkWindow(3, W), Q, K, V)
                         - sink_window_attention(Q, K, V, 3, W))) < 1e-12
    assert np.max(np.abs(kv.run_stream(UnmaskedWindow(W), Q, K, V)
                         - unmasked_window_attention(Q, K, V, W))) < 1e-12


def test_unmasked_reference_matches_the_formula_of_the_definition():
    Q, K, V = _stream(n=60, d=3, seed=4)
    for W in (1, 5, 60, 100):
        np.testing.assert_allclose(unmasked_window_attention(Q, K, V, W),
                                   _loop_unmasked(Q, K, V, W), rtol=1e-12, atol=1e-13)


def test_references_reduce_to_full_attention_when_the_window_covers_everything():
    Q, K, V = _stream(n=50)
    full = kv.causal_attention(Q, K, V)
    for Z in (sliding_window_attention(Q, K, V, 50), unmasked_window_attention(Q, K, V, 50),
              sink_window_attention(Q, K, V, 0, 50), sink_window_attention(Q, K, V, 50, 1)):
        assert np.max(np.abs(Z - full)) < 1e-12


def test_unmasked_window_is_stable_at_huge_scores():
    Q, K, V = _stream(n=80, scale=1e3)
    Z = kv.run_stream(UnmaskedWindow(10), Q, K, V)
    assert np.all(np.isfinite(Z))
    assert np.max(np.abs(Z - unmasked_window_attention(Q, K, V, 10))) < 1e-9
    Qn, Kp = -10 * np.abs(Q), np.abs(K)               # every score far below -745
    assert np.max(Qn @ Kp.T) < -745
    Zneg = kv.run_stream(UnmaskedWindow(10), Qn, Kp, V)
    assert np.all(np.isfinite(Zneg))
    # not only finite: equal to the brute-force reference, before (i <= W: softmax of the
    # window, no underflow to 0/0) and after the first token leaves (weight 1 outside)
    ref = unmasked_window_attention(Qn, Kp, V, 10)
    assert np.all(np.isfinite(ref))
    np.testing.assert_allclose(Zneg, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Zneg[:10], kv.causal_attention(Qn[:10], Kp[:10], V[:10]),
                               rtol=1e-12, atol=1e-12)


def test_unmasked_window_state_is_sum_and_count_of_departed_values():
    Q, K, V = _stream(n=30, d=4)
    alg = UnmaskedWindow(W=8)
    kv.run_stream(alg, Q, K, V)
    assert alg.c_out == 22
    np.testing.assert_allclose(alg.S_out, V[:22].sum(axis=0))


def test_memory_hand_counts():
    d, dv, W, n_sink = 6, 4, 10, 3
    rng = np.random.default_rng(0)
    algs = [SlidingWindow(W), SinkWindow(n_sink, W), UnmaskedWindow(W),
            UnmaskedWindow(W, dtype=np.float32)]
    for i in range(1, 40):
        k, v = rng.normal(size=d), rng.normal(size=dv)
        for a in algs:
            a.append(k, v)
        m = min(i, W)
        assert algs[0].memory_bits() == m * (d + dv) * 64 + 64
        held = min(i, n_sink) + min(max(0, i - n_sink), W)
        assert algs[1].memory_bits() == held * (d + dv) * 64 + 64
        assert algs[2].memory_bits() == m * (d + dv) * 64 + dv * 64 + 2 * 64
        assert algs[3].memory_bits() == m * (d + dv) * 32 + dv * 64 + 2 * 64
    # flat in n once the window is full: 2dW + d words plus two counters (d_v = d)
    a = UnmaskedWindow(W)
    for _ in range(200):
        a.append(np.ones(d), np.ones(d))
    assert a.memory_bits() == (2 * d * W + d) * 64 + 2 * 64


def test_kinds_and_names():
    for a in (SlidingWindow(3), SinkWindow(1, 3), UnmaskedWindow(3)):
        assert a.kind == "oblivious" and a.name


@pytest.mark.parametrize("bad,exc,match", [
    (lambda: SinkWindow(-1, 3), ValueError, "n_sink"),
    (lambda: SinkWindow(1, 0), ValueError, "W"),
    (lambda: SinkWindow(1.5, 3), TypeError, "n_sink"),
    (lambda: UnmaskedWindow(0), ValueError, "W"),
    (lambda: UnmaskedWindow("3"), TypeError, "W"),
    (lambda: UnmaskedWindow(3, dtype=np.int32), TypeError, "dtype"),
])
def test_constructors_reject_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        bad()


@pytest.mark.parametrize("func", [sliding_window_attention, unmasked_window_attention])
def test_references_reject_bad_input(func):
    Q, K, V = _stream(n=10)
    with pytest.raises(ValueError, match="W"):
        func(Q, K, V, 0)
    with pytest.raises(ValueError, match="Q"):
        func(Q[:5], K, V, 3)
    with pytest.raises(ValueError, match="V"):
        func(Q, K, V[:5], 3)
    with pytest.raises(ValueError, match="K"):
        func(Q, np.where(np.eye(10, 5) > 0, np.nan, K), V, 3)
    with pytest.raises(TypeError, match="Q"):
        func("Q", K, V, 3)
    with pytest.raises(ValueError, match="n_sink"):
        sink_window_attention(Q, K, V, -1, 3)


def test_algorithms_reject_bad_tokens():
    a = UnmaskedWindow(3)
    a.append(np.ones(4), np.ones(2))
    with pytest.raises(ValueError, match="k must have length 4"):
        a.append(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="q"):
        a.attend(np.array([np.nan, 0, 0, 0]))


def test_window_index_exact_algorithms_decode_and_short_windows_do_not():
    exact = window_index(functools.partial(SlidingWindow, W=32), 32, 24, trials=60, seed=1)
    assert exact.success_rate == 1.0 and exact.n == 31
    long = window_index(functools.partial(UnmaskedWindow, W=32), 32, 24, trials=60, seed=1,
                        prefix_tokens=500)
    assert long.success_rate == 1.0
    assert long.C > exact.C           # the prefix mass is absorbed by a larger C
    short = window_index(functools.partial(SlidingWindow, W=2), 32, 24, trials=200, seed=1)
    assert short.success_rate < 0.7


def test_window_index_and_bound_reject_bad_input():
    with pytest.raises(ValueError, match="W"):
        window_index(kv.ExactCache, 1, 8)
    with pytest.raises(ValueError, match="prefix_tokens"):
        window_index(kv.ExactCache, 8, 8, prefix_tokens=-1)
    with pytest.raises(ValueError, match="p \\+ delta"):
        window_bound_bits(8, 8, p=0.3, delta=0.3)
    assert window_bound_bits(9, 10, p=0.0, delta=0.0) == pytest.approx(80.0)


def test_window_certificates_both_ways():
    for f in (kv.bounds.unmasked_window_update, kv.bounds.window_index_conditions):
        assert f().holds and not f(wrong=True).holds
    # symbolic sizes: both the step i < W (nothing leaves) and i >= W are covered
    cert = kv.bounds.unmasked_window_update()
    assert cert.scope == "general" and "i < W" in cert.how and "i >= W" in cert.how


def test_experiments_records():
    ex = kv.experiments.window.window_exactness(80, 4, 9)
    assert set(ex) == {"sliding window", "sink + window", "unmasked window"}
    assert max(ex.values()) < 1e-12
    mem = kv.experiments.window.window_memory(200, 16, 4, every=50)
    assert mem["steps"].tolist() == [50, 100, 150, 200]
    assert mem["unmasked window"][-1] == mem["unmasked window"][0]
    assert mem["exact cache"][-1] == 2 * 200 * 4 * 64 + 64


def test_window_widget_redraws():
    w = kv.widgets.window_widget()
    controls = {c.description: c for c in w.children[:-1]}
    controls["n"].value = 100
    controls["W"].value = 10
    controls["d"].value = 4
    ax0 = w.result.axes[0]
    line = {ln.get_label(): ln for ln in ax0.lines}["unmasked window"]
    x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    assert x[-1] == 100
    assert y[-1] == (2 * 4 * 10 + 4) * 64 + 2 * 64


def test_window_plots_take_records_and_axes():
    import matplotlib.pyplot as plt

    ex = kv.experiments.window
    mem = ex.window_memory(120, 16, 4, every=20)
    fig, ax = plt.subplots()
    assert kv.viz.plot_window_memory(mem, W=16, ax=ax) is fig
    rows = ex.window_index_sweep(W=16, d=8, kept=(1, 16), trials=20, seed=0)
    assert [r["f"] for r in rows] == [0.0, 1.0]
    assert rows[-1]["ceiling_at_f"] == 1.0 and rows[0]["ceiling_at_f"] == 0.5
    f2, axes = plt.subplots(1, 2)
    assert kv.viz.plot_window_index(rows, ex.index_ceiling_curve(rows[0]["info_bits"]),
                                    axes=axes) is f2
    ratio = ex.memory_to_bound_ratio(128, 64)
    assert ratio["ratio"] == pytest.approx(2 * 64 / ratio["bound_constant"])
    plt.close("all")
