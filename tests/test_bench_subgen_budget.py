"""SubGen's budget without a full dry run (issue 15): the sample estimate and its rule."""

import math

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.bench import METHODS
from kvtheory.bench import methods as bm
from kvtheory.bench.runner import tuning_instance

SPEC = METHODS["subgen"]


def _measured(p, inst):
    return SPEC.make(p, 0).extend(inst.K, inst.V).memory_bits()


def test_bits_for_is_the_ledger():
    rng = np.random.default_rng(1)
    for dt in (np.float16, np.float32, np.float64):
        for delta, t, s in ((0.3, 2, 3), (1.0, 4, 8), (5.0, 16, 1)):
            a = kv.algorithms.SubGen(delta, t, s, seed=2, dtype=dt)
            a.extend(rng.normal(size=(150, 5)) / 2, rng.normal(size=(150, 3)))
            R = int(np.minimum(a.cluster_counts, t).sum())
            assert kv.algorithms.SubGen.bits_for(
                5, 3, n_clusters=a.n_clusters, reservoir_keys=R, s=s, dtype=dt) \
                == a.memory_bits()
    empty = kv.algorithms.SubGen(1.0, 2, 4).extend(np.ones((3, 2)), np.zeros((3, 2)))
    assert kv.algorithms.SubGen.bits_for(2, 2, n_clusters=1, reservoir_keys=2, s=4,
                                         filled=False) == empty.memory_bits()
    with pytest.raises(ValueError, match="n_clusters"):
        kv.algorithms.SubGen.bits_for(2, 2, n_clusters=-1, reservoir_keys=0, s=1)


@pytest.mark.parametrize("key", ["index", "window-index", "gaussian", "clustered", "recency"])
def test_estimate_is_the_dry_run_up_to_the_sample_size(key):
    """n <= SAMPLE_TOKENS: the sample is the whole tuning draw, the estimate its memory."""
    inst = tuning_instance(key, 200, 12)
    for p in SPEC.grid(inst.n, inst.d, inst.d_v):
        assert SPEC.estimate(p, inst.n, inst.d, inst.d_v, inst.K, inst.V) == _measured(p, inst)


@pytest.mark.parametrize("key", ["index", "gaussian", "clustered"])
def test_chosen_setting_fits_the_budget_on_exchangeable_streams(key, monkeypatch):
    """n > SAMPLE_TOKENS, i.i.d. tokens: the clusters grow concavely, so the estimate errs
    high and the chosen setting's memory on the full tuning draw is within the budget
    (or it is the cheapest setting, when none fits); no dry run streams more than
    SAMPLE_TOKENS tokens."""
    monkeypatch.setattr(bm, "SAMPLE_TOKENS", 256)
    n, d = 1024, 16
    inst = tuning_instance(key, n, d)
    seen = []
    real_extend = kv.algorithms.SubGen.extend

    def counting(self, K, V):
        seen.append(len(K))
        return real_extend(self, K, V)

    eb = bm.exact_bits(n, d, d)
    grid = SPEC.grid(n, d, d)
    monkeypatch.setattr(kv.algorithms.SubGen, "extend", counting)
    est = {repr(p): SPEC.estimate(p, n, d, d, inst.K, inst.V) for p in grid}
    assert max(seen) <= 256
    monkeypatch.setattr(kv.algorithms.SubGen, "extend", real_extend)
    meas = {repr(p): _measured(p, inst) for p in grid}
    assert all(est[k] >= meas[k] for k in est), (key, est, meas)
    for f in (0.003, 0.01, 0.03, 0.1, 0.3):
        bb = int(math.floor(f * eb))
        p, b = bm.choose(SPEC, bb, n, d, d, data=(inst.K, inst.V))
        assert b == est[repr(p)]
        assert meas[repr(p)] <= bb or b == min(est.values())


def test_readers_grid_without_bits_is_dry_run_on_a_prefix(monkeypatch):
    """A MethodSpec with a grid and no bits: dry runs of at most SAMPLE_TOKENS tokens,
    scaled linearly (an upper bound for memory concave in n); a one-setting grid: none."""
    calls = []

    def fake(make, n, d, d_v, key=None, data=None):
        calls.append(n)
        return 1000 * n + 64

    monkeypatch.setattr(bm, "dry_run_bits", fake)
    spec = bm.MethodSpec("w", "test", lambda p, s: kv.algorithms.SlidingWindow(p),
                         lambda n, d, dv: [1, 2])
    p, b = bm.choose(spec, 10 ** 12, 4 * bm.SAMPLE_TOKENS, 8, 8)
    assert set(calls) == {bm.SAMPLE_TOKENS} and b == 4 * (1000 * bm.SAMPLE_TOKENS + 64)
    calls.clear()
    one = bm.method_from_class(kv.ExactCache)
    assert bm.choose(one, 10, 4096, 8, 8) == (None, None) and not calls
