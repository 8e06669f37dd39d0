"""The formulas behind the explorers of Chapters 10 and 11 (issue 16).

* ``first_moment_mass`` (Chapter 10's first-moment condition) and
  ``balance_eps`` (Chapter 11's guarantee) equal their library functions at
  several parameter values, both as sympy evaluates them and as the page's
  Vega expression does (Node.js);
* the guarantee's level count :math:`L=\\lfloor\\log_2(n/B)\\rfloor`, which the
  page computes in floating point as ``floor(log(n/B)/log(2))``, agrees with
  the integer count of the binary counter at every block size of a few
  stream lengths (powers of two included, where a rounding slip would show);
* a whole explorer of the guarantee, compiled and run in Node.js, plots the
  library's numbers before and after its sliders move.

The Node.js tests skip (with the reason) when ``node`` or ``node_modules``
is missing, like those of ``tests/test_explore.py``, whose helpers they use.
"""

from __future__ import annotations

import math

import pytest
from test_explore import NODE_EXPR, _datum_names, _node, _plotted, _run

from kvtheory.viz import explore as E

#: Parameter values per formula at which page, sympy and library must agree.
POINTS_B = {
    "first_moment_mass": [dict(n=1000, d=23, gamma=0.1, eps=0.5),
                          dict(n=1000, d=22, gamma=0.1, eps=0.5),
                          dict(n=10**6, d=33, gamma=0.1, eps=0.5),
                          dict(n=50, d=200, gamma=0.3, eps=0.2),
                          dict(n=2, d=1, gamma=0.9, eps=0.05)],
    "balance_eps": [dict(R=1, n=2048, B=256, beta=2.3), dict(R=2, n=1000, B=33, beta=1),
                    dict(R=0.5, n=2048, B=1024, beta=1), dict(R=0.25, n=4095, B=7, beta=1.5),
                    dict(R=4, n=65536, B=1, beta=0.5), dict(R=3, n=4096, B=2048, beta=2)],
}

#: Points outside the guarantee's curve (B > n/2: no halving): NaN everywhere.
NAN_POINTS = {"balance_eps": [dict(R=1, n=2048, B=1025, beta=1), dict(R=1, n=100, B=100, beta=1)]}


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("key", sorted(POINTS_B))
def test_formula_equals_library(key):
    F = E.formula(key)
    for values in POINTS_B[key]:
        lib = F.library(**values)
        assert math.isfinite(lib) and _close(F(**values), lib), (key, values)
    for values in NAN_POINTS.get(key, []):
        assert math.isnan(F.library(**values)) and math.isnan(F(**values)), (key, values)


def test_formulas_are_registered_with_their_keys():
    table = E.formulas()
    for key in POINTS_B:
        assert table[key].key == key and table[key].what


def test_values_the_chapters_quote():
    # Chapter 3's first-moment dimension at n = 1000 is 23: the mass crosses
    # gamma * delta = 0.01 between d = 22 and d = 23
    F = E.formula("first_moment_mass")
    assert F(n=1000, d=22, gamma=0.1, eps=0.5) > 0.01 >= F(n=1000, d=23, gamma=0.1, eps=0.5)
    # Chapter 11: L = 3 at n = 2048, B = 256, so eps = 3 sqrt(2) e^2 beta / 256
    G = E.formula("balance_eps")
    assert _close(G(R=1, n=2048, B=256, beta=1), 3 * math.sqrt(2) * math.e**2 / 256)


def test_vega_expressions_match_library_in_node():
    node = _node()
    cases, expected = [], []
    for key in sorted(POINTS_B):
        F = E.formula(key)
        expr = E.vega_expression(F.expr, _datum_names(F))
        for values in POINTS_B[key] + NAN_POINTS.get(key, []):
            cases.append({"expr": expr, "datum": values})
            expected.append((key, values, F.library(**values)))
    got = _run([node, "-e", NODE_EXPR], cases)
    for (key, values, lib), js in zip(expected, got, strict=True):
        if math.isnan(lib):
            assert js is None, (key, values, js)        # NaN is null in JSON
        else:
            assert js is not None and _close(js, lib), (key, values, js, lib)


def test_level_count_in_floating_point_matches_the_counter():
    node = _node()
    F = E.formula("balance_eps")
    expr = E.vega_expression(F.expr, _datum_names(F))
    cases, expected = [], []
    for n in (2048, 4095, 4096, 6144, 65536):
        for B in range(1, n // 2 + 1, max(1, n // 4096)):
            values = dict(R=0.5, n=n, B=B, beta=1)
            cases.append({"expr": expr, "datum": values})
            expected.append((values, F.library(**values)))
    got = _run([node, "-e", NODE_EXPR], cases)
    bad = [(v, js, lib) for (v, lib), js in zip(expected, got, strict=True)
           if js is None or not _close(js, lib)]
    assert not bad, bad[:5]


def test_guarantee_explorer_plots_library_values_after_sliders_move():
    F = E.formula("balance_eps")
    s = F.symbols
    ex = E.explorer({"guarantee eps": F, "eps = 1": 1 + 0 * s["B"]},
                    name="test-balance-eps", title="Guarantee", x=(s["B"], 2, 4096),
                    x_log=True, x_integer=True, y_log=True,
                    sliders={s["R"]: (0.25, 4, 0.25, 1, "R"), s["n"]: (256, 65536, 256, 2048),
                             s["beta"]: (0.5, 4, 0.01, 2.3, "beta")}, samples=25)
    assert ex.spec["usermeta"]["kvtheory"]["curves"] == {"guarantee eps": "balance_eps"}
    for signals, (R, n, beta) in (({}, (1, 2048, 2.3)),
                                  ({"p_R": 2, "p_n": 4096, "p_beta": 1}, (2, 4096, 1))):
        items = [i["datum"] for i in _plotted(ex.spec, signals)
                 if i["datum"]["curve"] == "guarantee eps"]
        assert len([i for i in items if i["value"] is not None]) >= 10
        for datum in items:
            lib = F.library(R=R, n=n, B=datum["x"], beta=beta)
            if datum["x"] > n // 2:             # past B = n/2 the curve stops
                assert math.isnan(lib) and datum["value"] is None, (signals, datum)
            else:
                assert _close(datum["value"], lib), (signals, datum)
