"""In-page explorers of Chapters 1, 5 and 6 (issue 16, explore-A).

* each closed form these chapters add to ``formulas()`` equals its library
  function (sympy's value), at several parameter values, and so does the
  Vega expression the page evaluates (Node.js, Vega's function names);
* the closed forms reproduce numbers the chapters print from the library
  (the real-scale crossover, SubGen's measured ledger, the promised mass);
* the explorers the chapters build plot the library's numbers after a
  slider moves (formula) and select grid rows (records).

The helpers (Node.js runner, plotted items) come from ``test_explore``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import test_explore as base

from kvtheory.viz import explore as E

#: Parameter values per formula at which page, sympy and library must agree.
POINTS_A = {
    "cache_gb": [dict(L=32, H=8, d=128, n=2**20, b=16), dict(L=30, H=3, d=64, n=11677, b=16),
                 dict(L=1, H=1, d=1, n=1, b=4), dict(L=80, H=8, d=128, n=131072, b=8)],
    "weights_gb": [dict(P=8030, b=16), dict(P=135, b=16), dict(P=0.5, b=4),
                   dict(P=70000, b=8)],
    "subgen_ledger_words": [dict(m=30, d=8, h=64, ell=256, n=30_000),
                            dict(m=1, d=1, h=1, ell=1, n=1), dict(m=5, d=3, h=7, ell=11, n=35),
                            dict(m=12, d=16, h=4, ell=40, n=10**6),
                            dict(m=30, d=8, h=64, ell=256, n=1919)],
    "sparsity_top1_floor": [dict(t=500, C=math.log(5000) / 0.5, mu=0.5),
                            dict(t=1, C=1, mu=1), dict(t=10**5, C=20, mu=0.3),
                            dict(t=7, C=0.5, mu=0.9)],
}


def _same(a, b):
    if math.isnan(b):
        return math.isnan(a)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("key", sorted(POINTS_A))
def test_formula_equals_library(key):
    F = E.formula(key)
    assert F.key == key and F.what
    for values in POINTS_A[key]:
        assert _same(F(**values), F.library(**values)), (key, values)


def test_formulas_are_in_the_table():
    assert set(POINTS_A) <= set(E.formulas())


def test_vega_expressions_match_library_in_node():
    node = base._node()
    cases, expected = [], []
    for key, points in sorted(POINTS_A.items()):
        F = E.formula(key)
        expr = E.vega_expression(F.expr, base._datum_names(F))
        for values in points:
            cases.append({"expr": expr, "datum": values})
            expected.append((key, values, F.library(**values)))
    got = base._run([node, "-e", base.NODE_EXPR], cases)
    for (key, values, lib), js in zip(expected, got, strict=True):
        if math.isnan(lib):            # NaN reaches JSON as null
            assert js is None, (key, values, js)
        else:
            assert js is not None and _same(js, lib), (key, values, js, lib)


def test_cache_formulas_reproduce_chapter_1_crossover():
    from kvtheory.experiments.streaming import MODEL_SHAPES, cache_vs_weights

    cache, weights = E.formula("cache_gb"), E.formula("weights_gb")
    for shape, rec in zip(MODEL_SHAPES, cache_vs_weights(points=2), strict=True):
        dims = dict(L=shape.n_layers, H=shape.n_kv_heads, d=shape.head_dim, b=16)
        P = shape.n_params / 10**6
        assert math.isclose(cache(n=1, **dims) * 1e9, rec["bytes_per_token"])
        assert math.isclose(weights(P=P, b=16) * 1e9, rec["weight_bytes"])
        # the crossing of the two curves is the chapter's n_equal
        assert math.isclose(cache(n=rec["n_equal"], **dims), weights(P=P, b=16))
        # and it does not depend on the precision b
        dims4 = dict(dims, b=4)
        assert math.isclose(cache(n=rec["n_equal"], **dims4), weights(P=P, b=4))


def test_subgen_ledger_matches_a_measured_run():
    """The chapter's memory_vs_n run: the closed form is its final ledger."""
    from kvtheory.experiments import subgen as ex

    mem = ex.memory_vs_n(n=3000, d=8, t=16, s=64, delta=0.2, seed=0)
    m = int(mem["n_clusters"][-1])
    F = E.formula("subgen_ledger_words")
    assert F(m=m, d=8, h=16, ell=64, n=3000) * 64 == mem["subgen_bits"][-1]


def test_subgen_ledger_when_every_key_is_a_cluster():
    """Substituting m = n, h = 1 gives SubGen's ledger on pairwise far keys."""
    from kvtheory.algorithms import SubGen

    F = E.formula("subgen_ledger_words")
    m, h, n = (F.symbols[k] for k in ("m", "h", "n"))
    hard = F.expr.xreplace({m: n, h: 1})
    d, ell = F.symbols["d"], F.symbols["ell"]
    rng = np.random.default_rng(0)
    for nn, dd in ((40, 16), (7, 64)):
        K = rng.choice([-1.0, 1.0], size=(nn, dd)) / math.sqrt(dd)
        K[:, 0] += 3.0 * np.arange(nn)          # pairwise more than 1/2 apart
        alg = SubGen(delta=0.5, t=8, s=32, seed=1).extend(K, np.ones((nn, dd)))
        assert alg.n_clusters == nn
        want = float(hard.xreplace({n: nn, d: dd, ell: 32}))
        assert alg.memory_bits() == 64 * want


def test_top1_floor_meets_the_promise_at_the_last_step():
    F = E.formula("sparsity_top1_floor")
    for n, gamma, mu in ((500, 0.1, 0.5), (10**4, 0.01, 0.2), (3, 0.5, 1.0)):
        C = math.log(n / gamma) / mu
        assert math.isclose(F.library(t=n, C=C, mu=mu), 1 / (1 + gamma), rel_tol=1e-12)
        # decreasing in t: earlier steps are more concentrated
        assert F.library(t=n // 2, C=C, mu=mu) > 1 / (1 + gamma)


def test_top1_floor_bounds_the_measured_profile():
    """Chapter 6's instance: every measured top-1 mass is above the floor at
    mu = 1 - (largest inner product between distinct keys)."""
    from kvtheory.instances.index import make_index_instance
    from kvtheory.instances.sparsity import top1_mass_profile

    n, d = 200, 96
    prof = top1_mass_profile(n, d, seed=0)
    K = make_index_instance(n, d, seed=0).keys
    G = K @ K.T
    mu = 1 - float(np.max(G[~np.eye(n, dtype=bool)]))
    F = E.formula("sparsity_top1_floor")
    floors = np.array([F.library(t=t, C=prof["C"], mu=mu) for t in prof["steps"]])
    assert np.all(prof["top1"] >= floors - 1e-12)


def test_chapter_1_explorer_moves_with_the_library():
    cache, weights = E.formula("cache_gb"), E.formula("weights_gb")
    L, H, d, n, b = (cache.symbols[k] for k in ("L", "H", "d", "n", "b"))
    P = weights.symbols["P"]
    ex = E.explorer({"KV cache": cache, "weights": weights.expr.xreplace({})},
                    name="test-real-scale", title="t", x=(n, 2**10, 2**22), x_log=True,
                    x_integer=True, samples=9,
                    sliders={L: (1, 128, 1, 32), H: (1, 64, 1, 8), d: (16, 256, 16, 128),
                             b: (2, 32, 2, 16), P: (10, 100_000, 10, 8030)})
    for signals, vals in (({}, dict(L=32, H=8, d=128, b=16)),
                          ({"p_L": 2, "p_b": 4}, dict(L=2, H=8, d=128, b=4))):
        lines = base._plotted(ex.spec, signals)
        got = [i["datum"] for i in lines if i["datum"]["curve"] == "KV cache"]
        assert len(got) == 9
        for item in got:
            want = cache.library(n=item["x"], **vals)
            assert math.isclose(item["value"], want, rel_tol=1e-12)


def test_records_explorer_of_chapter_6_selects_a_policy():
    recs = [{"policy": p, "budget": B, "adversary": 0.5, "benign": 1.0 - 0.01 * B * k}
            for k, p in enumerate(("H2O", "TOVA")) for B in (4, 8, 16)]
    ex = E.explorer(recs, name="test-policies", title="t", x="budget",
                    y=["adversary", "benign"], slider="policy", x_log=True)
    assert ex.spec["usermeta"]["kvtheory"]["values"] == ["H2O", "TOVA"]
    lines = base._plotted(ex.spec, {"p_policy": 1})
    got = sorted((i["datum"]["budget"], i["datum"]["value"]) for i in lines
                 if i["datum"]["series"] == "benign")
    assert got == [(4, 0.96), (8, 0.92), (16, 0.84)]

