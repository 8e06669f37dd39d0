"""The one game from instance to ceiling: kvtheory.game (Instance, play, score, decode_bits)."""

import functools

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.game import Instance, Transcript, check_memory_bits, decode_bits, play, score
from kvtheory.instances.index import make_index_instance
from kvtheory.instances.sparsity import keynorm_adversary


def _toy(pad=True, Q=None, **kw):
    K = np.eye(3)
    V = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    return Instance("toy", "hard", K, V, Q, 30 * K[[0, 2]], pad, targets=np.array([0, 2]),
                    tau=0.5, info_bits=6, **kw)


class _Const(kv.StreamingAttention):
    """Answers a fixed vector and reports a fixed memory: for the validation tests."""

    name, kind = "const", "oblivious"

    def __init__(self, answer=None, bits=64):
        super().__init__()
        self.answer, self.bits = answer, bits

    def _append(self, k, v):
        pass

    def _attend(self, q):
        return np.zeros(self.d_v) if self.answer is None else self.answer

    def memory_ledger(self):
        return kv.MemoryLedger().add("answer", 1, 64)


class _Raw(_Const):
    """Like kvtheory's own classes that extend a public method (e.g. eviction's ``step``),
    it returns its answer unchecked, so :func:`play` must check it."""

    __module__ = "kvtheory._test_raw"     # the base class lets kvtheory's classes extend attend

    def attend(self, q):
        return self._attend(q)

    def memory_bits(self):
        return self.bits


# ------------------------------------------------------------------ decode
def test_decode_bits_sees_outputs_and_threshold_only():
    assert np.array_equal(decode_bits([0.9, 0.1, 0.5], 0.5), [1.0, 0.0, 0.0])
    out = decode_bits([np.inf, -np.inf, np.nan, 0.7], 0.5)
    assert np.isnan(out[:3]).all() and out[3] == 1.0
    with pytest.raises(TypeError, match="outputs"):
        decode_bits(["a"], 0.5)
    with pytest.raises(TypeError, match="tau"):
        decode_bits([0.1], "x")


# ---------------------------------------------------------------- instance
def test_instance_defaults_truth_and_validates_shapes():
    inst = _toy()
    assert inst.truth.tolist() == [[1.0, 0.0], [1.0, 1.0]] and inst.decodes
    assert inst.reference()[0].shape == (4, 3)
    rows, cols = inst.decoded_cells()
    assert rows.tolist() == [0, 0, 1, 1] and cols.tolist() == [0, 1, 0, 1]
    assert kv.bench.BenchInstance is Instance


@pytest.mark.parametrize("kw, exc, match", [
    ({"family": "odd"}, ValueError, "family"),
    ({"V": np.ones((2, 2))}, ValueError, "V must have 3 rows"),
    ({"Q": np.ones((3, 2))}, ValueError, "Q must have shape"),
    ({"probes": np.ones((1, 2))}, ValueError, "probes"),
    ({"targets": np.array([0, 5])}, ValueError, "targets must lie"),
    ({"targets": np.array([0.0, 1.0])}, ValueError, "targets must be"),
    ({"tau": None}, ValueError, "tau is required"),
    ({"pad": 1}, TypeError, "pad"),
    ({"info_bits": 2.5}, TypeError, "info_bits"),
    ({"cells": np.array([[0, 2]])}, ValueError, "cells"),
    ({"truth": np.ones((3, 2))}, ValueError, "truth"),
    ({"K": np.array([[np.nan, 0, 0]] * 3)}, ValueError, "K must be finite"),
])
def test_instance_rejects_bad_fields(kw, exc, match):
    base = dict(name="toy", family="hard", K=np.eye(3), V=np.ones((3, 2)), Q=None,
                probes=np.ones((2, 3)), pad=True, targets=np.array([0, 1]), tau=0.5)
    base.update(kw)
    with pytest.raises(exc, match=match):
        Instance(**base)


# -------------------------------------------------------------------- play
def test_play_probes_independent_copies_and_records_memory():
    inst = _toy()
    alg = kv.ExactCache()
    tr = play(alg, inst)
    assert alg.n_seen == 3                          # the probes ran on copies
    assert tr.memory_bits == alg.memory_bits() == 3 * (3 + 2) * 64 + 64
    assert tr.outputs.shape == (2, 2) and not tr.outputs.flags.writeable
    assert np.array_equal(tr.held_keys, np.eye(3)) and tr.algorithm == "exact cache"
    s = score(tr, inst)
    assert s.success_rate == 1.0 and s.trials == 4 and s.targets_held == 1.0
    assert s.ceiling == 1.0 and np.all(s.err_additive < 1e-6)


def test_play_uses_step_when_the_instance_has_queries():
    calls = []

    class Spy(kv.ExactCache):
        def _append(self, k, v):
            calls.append("append")
            super()._append(k, v)

        def _extend(self, K, V):
            calls.append(f"extend {len(K)}")
            super()._extend(K, V)

        def _attend(self, q):
            calls.append("attend")
            return super()._attend(q)

    play(Spy(), _toy(pad=False, Q=np.zeros((3, 3))))
    assert calls == ["append", "attend"] * 3 + ["attend"] * 2   # steps, then bare probes
    calls.clear()
    play(Spy(), _toy(pad=True))
    # no queries: one block prefill, then Bob's padded steps on copies
    assert calls == ["extend 3"] + ["append", "attend"] * 2


@pytest.mark.parametrize("bits", [True, 1.0, float("nan"), -1, "64"])
def test_play_rejects_bad_memory_naming_the_class(bits):
    with pytest.raises(ValueError, match="_Raw.memory_bits"):
        play(_Raw(bits=bits), _toy())


def test_play_accepts_numpy_integer_memory():
    assert play(_Raw(bits=np.int32(7)), _toy()).memory_bits == 7
    assert check_memory_bits(np.uint8(3), kv.ExactCache()) == 3


def test_play_rejects_complex_and_misshapen_answers():
    with pytest.raises(TypeError, match="_Raw.attend returned a complex"):
        play(_Raw(answer=np.zeros(2, dtype=complex)), _toy(pad=False))
    with pytest.raises(ValueError, match="_Raw.attend returned shape"):
        play(_Raw(answer=np.zeros(3)), _toy(pad=False))
    with pytest.raises(TypeError, match="_Const._attend returned dtype complex"):
        play(_Const(answer=np.zeros(2, dtype=complex)), _toy(pad=False))
    with pytest.raises(TypeError, match="StreamingAttention"):
        play(object(), _toy())
    with pytest.raises(TypeError, match="Instance"):
        play(kv.ExactCache(), "toy")


def test_base_class_attend_rejects_complex():
    class C(kv.ExactCache):
        def _attend(self, q):
            return np.zeros(self.d_v, dtype=complex)

    c = C()
    c.append(np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="C._attend returned dtype complex"):
        c.attend(np.ones(2))


# ------------------------------------------------------------------- score
def test_nonfinite_answers_are_kept_and_counted_wrong():
    inst = _toy()
    tr = play(_Raw(answer=np.array([np.inf, 1.0])), inst)
    s = score(tr, inst)
    assert s.nonfinite_answers == 2 and s.nonfinite_guesses == 2
    assert s.successes == 1                         # only coordinate 1 of probe 2 is right
    assert np.isinf(s.err_entrywise).all() and np.isinf(s.err_l2).all()
    d = s.as_dict()
    assert d["err_additive_max"] == np.inf and d["success"] == 0.25


def test_score_memory_override_and_stderr():
    inst = _toy()
    tr = play(kv.ExactCache(), inst)
    assert score(tr, inst, memory_bits=0).ceiling == 0.5
    assert score(tr, inst, memory_bits=np.int64(3)).memory_bits == 3
    with pytest.raises(ValueError, match="memory_bits"):
        score(tr, inst, memory_bits=-1)
    s = score(tr, inst, errors=False)
    assert s.err_l2 is None and s.stderr == pytest.approx(np.sqrt(0.25 / 4 / 4))
    with pytest.raises(ValueError, match="outputs has shape"):
        score(Transcript("x", "oblivious", np.zeros((1, 2)), 0, 0.0), inst)


def test_benign_instance_has_no_success():
    rng = np.random.default_rng(0)
    inst = Instance("g", "benign", rng.normal(size=(20, 4)), rng.normal(size=(20, 4)),
                    rng.normal(size=(20, 4)), rng.normal(size=(3, 4)), False)
    s = score(play(kv.ExactCache(), inst), inst).as_dict()
    assert s["success"] is None and s["ceiling"] is None and s["err_additive_max"] < 1e-12


# ------------------------------------------------------------ constructors
def test_index_and_needle_constructors_return_instances():
    ii = make_index_instance(40, 8, seed=0)
    inst = ii.as_instance([1, 3], prefix_tokens=5, queries="self")
    assert inst.n == 45 and inst.Q is not None and inst.targets.tolist() == [6, 8]
    assert np.array_equal(inst.truth, ii.X[[1, 3]]) and inst.info_bits == 320
    with pytest.raises(ValueError, match="probes"):
        ii.as_instance([40])
    ns = keynorm_adversary(33, 8, budget=8, seed=0).as_instance()
    s = score(play(kv.ExactCache(), ns), ns)
    assert s.success_rate == 1.0 and s.targets_held == 1.0
    ev = functools.partial(kv.algorithms.KnormEviction, budget=8) if hasattr(
        kv.algorithms, "KnormEviction") else None
    if ev is not None:
        assert score(play(ev(), ns), ns).targets_held in (0.0, 1.0)


def test_wrappers_agree_with_play_and_score():
    res = kv.instances.run_index_protocol(kv.algorithms.SignBitCache, n=60, d=16, trials=40,
                                          seed=1)
    assert res.success_rate == 1.0 and res.outputs.shape == (40,) and res.truth.shape == (40,)
    assert res.ceiling == float(kv.information.index_success_ceiling(res.memory_bits, 960))


def test_no_streaming_loops_outside_game_and_stream_in_the_protocols():
    """The INDEX protocol, the needle game and the benchmark cell do not stream by hand."""
    import inspect

    from kvtheory.bench import runner
    from kvtheory.instances import index, sparsity

    for fn in (index.run_index_protocol, sparsity.run_needle_game, runner.run_cell):
        src = inspect.getsource(fn)
        assert ".append(k" not in src and ".step(" not in src, fn.__name__
