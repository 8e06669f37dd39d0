"""Chapter 2: binary entropy, the INDEX floor, simulated one-way protocols, certificates."""

import itertools
import math

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.communication import (
    H2,
    H2_inverse,
    ProtocolRun,
    _gf2_row_decoders,
    _random_bits,
    index_bits_needed,
    index_error_floor,
    index_protocol_error,
    index_success_ceiling,
    majority_block_error,
    run_one_way_protocol,
    simulate_index_protocol,
)
from kvtheory.experiments.communication import (
    entropy_constants,
    floor_summary,
    protocol_curve,
    protocol_sweep,
)

# ---------------------------------------------------------------- entropy


def test_H2_known_values_and_symmetry():
    assert H2(0) == 0.0 and H2(1) == 0.0 and H2(0.5) == pytest.approx(1.0, abs=1e-15)
    assert H2(0.1) == pytest.approx(0.4689955935892812, abs=1e-14)
    assert H2(0.25) == pytest.approx(0.8112781244591328, abs=1e-14)
    p = np.linspace(0, 1, 101)
    np.testing.assert_allclose(H2(p), H2(1 - p), atol=1e-14)


def test_H2_is_vectorised_and_scalar_in_scalar_out():
    out = H2(np.array([[0.1, 0.2], [0.3, 0.5]]))
    assert isinstance(out, np.ndarray) and out.shape == (2, 2)
    assert isinstance(H2(0.3), float)


def test_H2_inverse_round_trips_both_ways():
    p = np.linspace(0, 0.5, 201)
    np.testing.assert_allclose(H2_inverse(H2(p)), p, atol=1e-10)
    h = np.linspace(0, 1, 201)
    np.testing.assert_allclose(H2(H2_inverse(h)), h, atol=1e-10)
    assert H2_inverse(0.0) == 0.0 and H2_inverse(1.0) == 0.5


def test_H2_inverse_known_values_and_shape():
    assert H2_inverse(1 - 1 / 3) == pytest.approx(0.17395, abs=1e-4)
    assert H2_inverse(0.8) == pytest.approx(0.24300, abs=1e-4)
    out = H2_inverse(np.array([0.2, 0.5, 0.9]))
    assert out.shape == (3,) and np.all(np.diff(out) > 0)


def test_floor_ceiling_and_bits_needed_agree():
    assert index_error_floor(200, 1000) == pytest.approx(0.2430, abs=1e-4)
    assert index_error_floor(2000, 1000) == 0.0
    assert index_success_ceiling(0, 10) == 0.5
    S = np.array([0, 100, 500, 1000])
    np.testing.assert_allclose(index_success_ceiling(S, 1000), 1 - index_error_floor(S, 1000))
    for p in (0.05, 0.1, 0.2, 0.25):   # S = (1 - H2(p)) N bits give floor exactly p
        S = index_bits_needed(p, 1000)
        assert index_error_floor(S, 1000) == pytest.approx(p, abs=1e-9)
    assert index_bits_needed(0.1, 1000) / 1000 == pytest.approx(0.531, abs=5e-4)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: H2(1.5), ValueError, "p must"),
    (lambda: H2(np.nan), ValueError, "p must"),
    (lambda: H2("a"), TypeError, "p must"),
    (lambda: H2_inverse(-0.1), ValueError, "h must"),
    (lambda: H2_inverse(0.3, tol=0), ValueError, "tol"),
    (lambda: index_error_floor(-1, 10), ValueError, "S must"),
    (lambda: index_error_floor(1, 0), ValueError, "N must"),
    (lambda: index_error_floor(1, 2.0), TypeError, "N must"),
    (lambda: index_bits_needed(0.6, 10), ValueError, "p must"),
])
def test_entropy_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------- exact errors


@pytest.mark.parametrize("b", [1, 3, 5, 7, 9])
def test_majority_block_error_by_brute_force(b):
    configs = np.array(list(itertools.product([0, 1], repeat=b)))
    maj = configs.sum(axis=1) > b // 2
    brute = np.mean(configs[:, 0] != maj)          # x_j is the first bit of its block
    assert majority_block_error(b) == pytest.approx(brute, abs=1e-15)


def test_majority_block_error_quoted_values_and_bad_blocks():
    assert majority_block_error(3) == 0.25 and majority_block_error(5) == 0.3125
    with pytest.raises(ValueError, match="block must be odd"):
        majority_block_error(4)
    with pytest.raises(ValueError, match="block"):
        majority_block_error(0)
    with pytest.raises(TypeError, match="block"):
        majority_block_error(True)


def test_index_protocol_error_formulas():
    assert index_protocol_error("bits", 300, 60) == pytest.approx(0.4)
    assert index_protocol_error("majority", 300, 100, block=3) == pytest.approx(0.25)
    # half coverage with b = 5: (1/2) 0.3125 + (1/2) 0.5
    assert index_protocol_error("majority", 300, 30, block=5) == pytest.approx(0.40625)
    # block 1 majority is the bits protocol
    assert index_protocol_error("majority", 90, 30, block=1) == pytest.approx(
        index_protocol_error("bits", 90, 30))
    assert index_protocol_error("parity", 200, 150) == pytest.approx(0.5, abs=1e-12)
    assert index_protocol_error("parity", 5, 0) == 0.5


@pytest.mark.parametrize("S, N", [(1, 3), (2, 3), (3, 3), (2, 4), (3, 4)])
def test_parity_exact_error_by_enumerating_every_public_matrix(S, N):
    total = 0.0
    count = 0
    for flat in itertools.product([0, 1], repeat=S * N):
        A = np.array(flat, dtype=np.uint8).reshape(S, N)
        decodable, _ = _gf2_row_decoders(A)
        total += 0.5 * (1 - decodable.mean())
        count += 1
    assert index_protocol_error("parity", N, S) == pytest.approx(total / count, abs=1e-12)


def test_gf2_decoders_against_brute_force_span():
    rng = np.random.default_rng(7)
    for S, N in [(4, 5), (5, 5), (6, 9), (3, 12), (8, 8)]:
        for _ in range(5):
            A = _random_bits(rng, (S, N))
            decodable, Y = _gf2_row_decoders(A)
            ys = np.array(list(itertools.product([0, 1], repeat=S)))
            span = {tuple(v) for v in (ys @ A) % 2}
            for j in range(N):
                e = tuple(int(i == j) for i in range(N))
                assert decodable[j] == (e in span)
                if decodable[j]:
                    np.testing.assert_array_equal((Y[j].astype(int) @ A) % 2, e)


# ---------------------------------------------------------------- simulations

CASES = [("bits", 120, 0, 3), ("bits", 120, 40, 3), ("bits", 120, 120, 3),
         ("majority", 120, 40, 3), ("majority", 120, 24, 5), ("majority", 120, 10, 5),
         ("majority", 120, 13, 9), ("parity", 120, 40, 3), ("parity", 120, 119, 3),
         ("parity", 120, 120, 3)]


@pytest.mark.parametrize("protocol, N, S, block", CASES)
def test_measured_error_matches_exact_and_respects_floor(protocol, N, S, block):
    run = simulate_index_protocol(protocol, N, S, block=block, trials=6000, seed=11)
    assert isinstance(run, ProtocolRun) and run.trials == 6000 and run.S == S
    assert run.errors == round(run.error * run.trials)
    se = max(run.stderr, 1e-3)
    assert abs(run.error - run.exact_given_R) <= 4 * se
    assert run.error >= run.floor - 4 * se
    assert run.respects_floor(4)
    assert run.floor == pytest.approx(index_error_floor(S, N))
    if protocol != "parity" or S < N - 10:
        assert run.exact_given_R == pytest.approx(run.exact, abs=1e-12)


def test_bits_protocol_is_exact_on_sent_bits_and_block_field():
    run = simulate_index_protocol("bits", 50, 50, trials=2000, seed=0)
    assert run.errors == 0 and run.stderr == 0.0 and run.block is None
    assert simulate_index_protocol("majority", 50, 10, block=5, trials=10, seed=0).block == 5


def test_simulation_is_reproducible_and_accepts_a_generator():
    a = simulate_index_protocol("parity", 80, 60, trials=3000, seed=5)
    b = simulate_index_protocol("parity", 80, 60, trials=3000, seed=5)
    assert a == b
    c = simulate_index_protocol("majority", 81, 27, trials=3000,
                                seed=np.random.default_rng(5))
    assert 0 <= c.error <= 1


def test_chunking_does_not_change_the_estimate_much():
    # N large enough that the rounds are split into several chunks
    run = simulate_index_protocol("bits", 4096, 1024, trials=3000, seed=2)
    assert abs(run.error - 0.375) <= 4 * run.stderr


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(protocol="foo", N=10, S=1), ValueError, "protocol"),
    (dict(protocol="bits", N=0, S=0), ValueError, "N must"),
    (dict(protocol="bits", N=10, S=11), ValueError, "S must"),
    (dict(protocol="bits", N=10, S=-1), ValueError, "S must"),
    (dict(protocol="bits", N=10, S=1.5), TypeError, "S must"),
    (dict(protocol="bits", N=10, S=1, trials=0), ValueError, "trials"),
    (dict(protocol="bits", N=10, S=1, seed=None), TypeError, "seed"),
    (dict(protocol="bits", N=10, S=1, seed=-3), ValueError, "seed"),
    (dict(protocol="majority", N=10, S=2, block=4), ValueError, "block must be odd"),
    (dict(protocol="majority", N=10, S=4, block=3), ValueError, "S \\* block <= N"),
    (dict(protocol="parity", N=5000, S=1), ValueError, "N must be <= 4096"),
])
def test_simulate_bad_inputs(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        simulate_index_protocol(**kwargs)


def test_respects_floor_rejects_negative_z():
    run = simulate_index_protocol("bits", 10, 5, trials=10, seed=0)
    with pytest.raises(ValueError, match="z must"):
        run.respects_floor(-1)


# ---------------------------------------------------------------- custom protocols


def _send_first(S):
    def enc(x):
        return x[:, :S]

    def dec(m, j, rng):
        out = rng.integers(0, 2, size=len(j))
        known = j < S
        out[known] = m[known, j[known]]
        return out
    return enc, dec


def test_custom_protocol_runs_and_matches_bits_protocol():
    enc, dec = _send_first(30)
    run = run_one_way_protocol(enc, dec, 90, 30, trials=6000, seed=3, name="mine")
    assert run.protocol == "mine" and run.exact is None and run.exact_given_R is None
    assert abs(run.error - 1 / 3) <= 4 * run.stderr and run.respects_floor()


def test_custom_protocol_cannot_send_more_bits_than_declared():
    enc, dec = _send_first(30)
    with pytest.raises(ValueError, match="encode must return a message of shape"):
        run_one_way_protocol(enc, dec, 90, 20, trials=10, seed=0)
    with pytest.raises(ValueError, match="0/1"):
        run_one_way_protocol(lambda x: 2 * x[:, :3], dec, 90, 3, trials=10, seed=0)
    with pytest.raises(ValueError, match="decode must return guesses of shape"):
        run_one_way_protocol(lambda x: x[:, :3], lambda m, j, r: m, 90, 3, trials=10, seed=0)
    with pytest.raises(ValueError, match="decode must return guesses in"):
        run_one_way_protocol(lambda x: x[:, :3], lambda m, j, r: j + 2, 90, 3, trials=10,
                             seed=0)
    with pytest.raises(TypeError, match="encode must be callable"):
        run_one_way_protocol(None, dec, 90, 3)
    with pytest.raises(TypeError, match="decode must be callable"):
        run_one_way_protocol(enc, 3, 90, 3)
    with pytest.raises(TypeError, match="name"):
        run_one_way_protocol(enc, dec, 90, 3, name=3)


def test_a_cheating_protocol_would_be_caught_by_the_floor():
    # Bob peeking at x is not a one-way protocol; the floor check flags it.
    fake = ProtocolRun("cheat", N=100, S=10, block=None, trials=10_000, errors=0, error=0.0,
                       stderr=0.0, floor=float(index_error_floor(10, 100)), exact=None,
                       exact_given_R=None)
    assert not fake.respects_floor(4)


# ---------------------------------------------------------------- experiments


def test_entropy_constants_quoted_values():
    rows = entropy_constants((0.1, 0.2, 0.25))
    assert [round(r["rate"], 3) for r in rows] == [0.531, 0.278, 0.189]
    with pytest.raises(ValueError, match="ps must lie"):
        entropy_constants((0.6,))
    with pytest.raises(ValueError, match="ps must have 1"):
        entropy_constants([[0.1]])


def test_protocol_sweep_small_respects_floor_everywhere():
    runs = protocol_sweep(N=45, steps=5, blocks=(3, 5), near_full=2, trials=3000, seed=1)
    assert {r.protocol for r in runs} == {"bits", "majority", "parity"}
    summary = floor_summary(runs, z=4)
    assert summary["points"] == len(runs) == summary["respecting"]
    for r in runs:
        assert abs(r.error - r.exact_given_R) <= 4 * max(r.stderr, 1e-3)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(N=1), ValueError, "N must"),
    (dict(steps=0), ValueError, "steps"),
    (dict(blocks=(4,)), ValueError, "block must be odd"),
    (dict(blocks=3), TypeError, "blocks"),
    (dict(near_full=-1), ValueError, "near_full"),
    (dict(trials=0), ValueError, "trials"),
])
def test_protocol_sweep_bad_inputs(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        protocol_sweep(**kwargs)


def test_floor_summary_and_protocol_curve_bad_inputs():
    with pytest.raises(ValueError, match="runs must not be empty"):
        floor_summary([])
    with pytest.raises(TypeError, match="ProtocolRun"):
        floor_summary([0.3])
    with pytest.raises(ValueError, match="N must"):
        protocol_curve("bits", 5000)
    with pytest.raises(ValueError, match="protocol"):
        protocol_curve("hash", 50)
    with pytest.raises(ValueError, match="trials"):
        protocol_curve("bits", 50, trials=10**6)
    runs = protocol_curve("majority", 30, block=5, points=4, trials=100)
    assert [r.S for r in runs] == [0, 2, 4, 6]


# ---------------------------------------------------------------- certificates


def test_chapter_2_certificates_hold_and_wrong_variants_fail():
    funcs = kv.bounds.certificate_functions(chapter=2)
    assert len(funcs) == 5
    for name, f in funcs.items():
        assert f().holds, name
        assert not f(wrong=True).holds, name
        assert f().chapter == 2


def test_half_chord_certificate_matches_numerics():
    u = np.linspace(0, 1, 1001)
    assert np.all(H2(u / 2) >= u - 1e-12)
    # hence the bits protocol never beats the floor: (1 - s)/2 >= H2^{-1}(1 - s)
    s = np.linspace(0, 1, 1001)
    assert np.all((1 - s) / 2 >= H2_inverse(1 - s) - 1e-12)


def test_jensen_step_numerically():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.5, size=(200, 17))
    assert np.all(H2(p).mean(axis=1) <= H2(p.mean(axis=1)) + 1e-12)


# ---------------------------------------------------------------- figures and widget


def test_plot_index_protocols_draws_every_run():
    import matplotlib.pyplot as plt

    from kvtheory.experiments.communication import exact_error_lines, floor_curve

    runs = protocol_sweep(N=45, steps=3, blocks=(3,), near_full=1, trials=300, seed=0)
    exact, floor = exact_error_lines(runs), floor_curve()
    assert {(e["protocol"], e["block"]) for e in exact} == {("bits", None), ("majority", 3),
                                                            ("parity", None)}
    fig, ax = plt.subplots()
    assert kv.viz.plot_index_protocols(runs, exact, floor, ax=ax) is fig
    floor_line = ax.lines[0]
    s = np.asarray(floor_line.get_xdata())
    np.testing.assert_allclose(floor_line.get_ydata(), H2_inverse(1 - s), atol=1e-12)
    plt.close(fig)
    with pytest.raises(ValueError, match="runs must not be empty"):
        kv.viz.plot_index_protocols([], exact, floor)
    with pytest.raises(TypeError, match="ProtocolRun"):
        kv.viz.plot_index_protocols([1], exact, floor)
    with pytest.raises(TypeError, match="floor"):
        kv.viz.plot_index_protocols(runs, exact, {"rate": s})


def test_index_protocol_widget_redraws_headless():
    w = kv.widgets.index_protocol_widget(trials=3000)
    controls = {c.description: c for c in w.children[:-1]}
    controls["protocol"].value = "bits"
    controls["N"].value = 60
    ax = w.result.axes[0]
    bound, exact, measured = ax.lines[0], ax.lines[1], ax.lines[2]
    x = np.asarray(measured.get_xdata(), dtype=float)
    y = np.asarray(measured.get_ydata(), dtype=float)
    assert x[-1] == pytest.approx(1.0) and len(x) == 12
    np.testing.assert_allclose(y, (1 - x) / 2, atol=4 * math.sqrt(0.25 / 3000) + 1e-12)
    assert np.all(y >= H2_inverse(1 - x) - 0.04)
    np.testing.assert_allclose(exact.get_ydata(), (1 - np.asarray(exact.get_xdata())) / 2)
    assert bound.get_ydata()[0] == 0.5
    controls["protocol"].value = "majority"
    controls["group g"].value = 5
    x = np.asarray(w.result.axes[0].lines[2].get_xdata(), dtype=float)
    assert x[-1] == pytest.approx((60 // 5) / 60)
