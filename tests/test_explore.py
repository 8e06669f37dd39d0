"""kvtheory.viz.explore: the book's in-page explorers.

* every formula of ``formulas()`` equals its library function (sympy's value);
* the Vega expression the page evaluates equals the library's number at
  several parameter values (evaluated by Node.js with Vega's function names);
* a whole explorer, compiled by the pinned vega-lite and run by the pinned
  vega in Node.js (no browser), plots the library's numbers after a slider
  moves, for a formula and for a build-time record set;
* the HTML output is deterministic, names no remote URL, and its element id
  derives from the name.

The Node.js tests skip (with the reason) when ``node`` or ``node_modules``
(``npm ci``) is missing.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp

from kvtheory.viz import explore as E

ROOT = Path(__file__).resolve().parents[1]

#: Parameter values per formula at which page, sympy and library must agree.
POINTS = {
    "index_bits_needed": [dict(p=0.05, N=315), dict(p=0.25, N=1000), dict(p=0.4999, N=7)],
    "space_bound": [dict(p=0.1, delta=0.1, n=1000, d=74), dict(p=0.01, delta=0.3, n=64, d=8),
                    dict(p=0.2, delta=0.05, n=10_000, d=128)],
    "window_bound": [dict(p=0.1, delta=0.1, W=65, d=32), dict(p=0.05, delta=0.2, W=2, d=1),
                     dict(p=0.3, delta=0.15, W=1024, d=128)],
    "hoeffding_d": [dict(n=1000, eps=0.5, delta=0.1), dict(n=10**5, eps=0.5, delta=0.1),
                    dict(n=333, eps=0.3, delta=0.05), dict(n=7, eps=0.9, delta=0.5)],
    "covering_lower": [dict(R=1, rho=0.5, d=3), dict(R=2, rho=0.3, d=7), dict(R=1, rho=0.9, d=12)],
    "covering_upper": [dict(R=1, rho=0.5, d=3), dict(R=2, rho=0.3, d=7), dict(R=1, rho=0.9, d=12)],
    "cellprobe_worst_case": [dict(f=0, d=16), dict(f=0.5, d=16), dict(f=0.25, d=3),
                             dict(f=1, d=64)],
    "cellprobe_mixture": [dict(f=0), dict(f=0.3), dict(f=1)],
}

NODE_EXPR = """
const {pow, log, exp, sqrt, min, max, abs, floor, ceil, round} = Math;
const {E, LN2, LN10, PI, SQRT2} = Math;
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(cases.map(c => { const datum = c.datum; return eval(c.expr); })));
"""

# Compile a spec with the pinned vega-lite, run it with the pinned vega, set
# signals, and print every plotted line/point/text item's datum.
NODE_VIEW = """
import * as vega from 'vega';
import * as vl from 'vega-lite';
import {readFileSync} from 'fs';
const {spec, signals} = JSON.parse(readFileSync(0, 'utf8'));
const view = new vega.View(vega.parse(vl.compile(spec).spec), {renderer: 'none'});
for (const [k, v] of Object.entries(signals || {})) view.signal(k, v);
await view.runAsync();
const out = [];
(function walk(node, mark) {
  if (!node) return;
  if (node.marktype) mark = node;
  for (const it of node.items || []) {
    if (it.datum && mark && ['line', 'symbol', 'text'].includes(mark.marktype)
        && !(mark.role || '').startsWith('axis') && (mark.role || '') !== 'legend-label')
      out.push({mark: mark.marktype, role: mark.role, datum: it.datum, text: it.text});
    walk(it, mark);
  }
})(view.scenegraph().root, null);
console.log(JSON.stringify(out));
"""


def _node():
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (the README's prerequisites list it)")
    for pkg in ("vega", "vega-lite"):
        if not (ROOT / "node_modules" / pkg / "package.json").is_file():
            pytest.skip(f"node_modules/{pkg} missing: run `npm ci`")
    return node


def _run(args, payload):
    res = subprocess.run(args, input=json.dumps(payload), capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _datum_names(F):
    return {sym: f'datum["{name}"]' for name, sym in F.symbols.items()}


@pytest.mark.parametrize("key", sorted(POINTS))
def test_formula_equals_library(key):
    F = E.formula(key)
    for values in POINTS[key]:
        lib = F.library(**values)
        assert math.isclose(F(**values), lib, rel_tol=1e-9, abs_tol=1e-12), (key, values)


def test_every_formula_is_checked():
    # this file checks the formulas of Chapters 2-4, 7 and 8; test_explore_a
    # those of Chapters 1, 5 and 6; test_explore_b those of Chapters 10, 11
    from test_explore_a import POINTS_A
    from test_explore_b import POINTS_B

    parts = [set(POINTS), set(POINTS_A), set(POINTS_B)]
    assert set(E.formulas()) == set().union(*parts)
    assert sum(map(len, parts)) == len(E.formulas()), "a formula is checked twice"


def test_vega_expressions_match_library_in_node():
    node = _node()
    cases, expected = [], []
    for key, points in sorted(POINTS.items()):
        F = E.formula(key)
        expr = E.vega_expression(F.expr, _datum_names(F))
        for values in points:
            cases.append({"expr": expr, "datum": values})
            expected.append((key, values, F.library(**values)))
    got = _run([node, "-e", NODE_EXPR], cases)
    for (key, values, lib), js in zip(expected, got, strict=True):
        assert js is not None and math.isclose(js, lib, rel_tol=1e-9, abs_tol=1e-12), \
            (key, values, js, lib)


def _plotted(spec, signals, mark="line"):
    node = _node()
    items = _run([node, "--input-type=module", "-e", NODE_VIEW],
                 {"spec": spec, "signals": signals})
    return [i for i in items if i["mark"] == mark]


def test_formula_explorer_plots_library_values_after_slider_moves():
    F1, F2 = E.formula("cellprobe_worst_case"), E.formula("cellprobe_mixture")
    f, d = F1.symbols["f"], F1.symbols["d"]
    ex = E.explorer({"every input": F1.expr, "mixture": F2.expr.xreplace({F2.symbols["f"]: f})},
                    name="test-ceiling", title="Ceilings", x=(f, 0, 1),
                    sliders={d: (1, 64, 1, 16, "d")}, samples=11)
    before = _plotted(ex.spec, {})
    after = _plotted(ex.spec, {"p_d": 4})
    assert len(before) == len(after) == 22
    moved = 0
    for b, a in zip(before, after, strict=True):
        x, curve = a["datum"]["x"], a["datum"]["curve"]
        if curve == "every input":
            assert math.isclose(a["datum"]["value"], F1.library(f=x, d=4), rel_tol=1e-12)
            assert math.isclose(b["datum"]["value"], F1.library(f=x, d=16), rel_tol=1e-12)
            moved += a["datum"]["value"] != b["datum"]["value"]
        else:
            assert math.isclose(a["datum"]["value"], F2.library(f=x), rel_tol=1e-12)
    assert moved >= 9


def test_records_explorer_selects_grid_rows():
    recs = [{"T": t, "n": n, "success": t / (t + n), "bound": min(1.0, 0.5 + t / (2 * n))}
            for n in (8, 16, 64) for t in range(5)]
    ex = E.explorer(recs, name="test-grid", title="Grid", x="T", y=["success", "bound"],
                    slider="n", note="5 budgets per n.",
                    labels={"success": "measured", "bound": "ceiling"})
    subtitle = " ".join(ex.spec["title"]["subtitle"])
    assert "3 values of n from 8 to 64" in subtitle and "5 budgets per n." in subtitle
    for k, n in enumerate((8, 16, 64)):
        lines = _plotted(ex.spec, {"p_n": k})
        got = {(i["datum"]["series"], i["datum"]["T"]): i["datum"]["value"] for i in lines}
        want = {(label, r["T"]): r[s] for r in recs if r["n"] == n
                for s, label in (("success", "measured"), ("bound", "ceiling"))}
        assert got.keys() == want.keys()
        assert all(math.isclose(got[key], want[key], rel_tol=1e-9) for key in want)
        texts = [i["text"] for i in _plotted(ex.spec, {"p_n": k}, mark="text")]
        assert f"n = {n}" in texts


def test_html_is_deterministic_offline_and_named():
    F = E.formula("hoeffding_d")
    make = lambda: E.explorer(F.expr, name="index-hoeffding", title="Hoeffding dimension",  # noqa: E731
                              x=(F.symbols["n"], 10, 1e6), x_log=True,
                              sliders={F.symbols["eps"]: (0.1, 0.9, 0.05, 0.5),
                                       F.symbols["delta"]: (0.01, 0.5, 0.01, 0.1)})
    a, b = make(), make()
    html = a.to_html()
    assert html == b.to_html()
    assert 'id="kv-explore-index-hoeffding"' in html and 'class="kv-explorer"' in html
    assert "://" not in html and "$schema" not in html
    assert "window.vegaEmbed(" in html and "require(" not in html
    bundle = a._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert bundle["text/plain"] == ("<Explorer 'index-hoeffding' (formula; sliders: "
                                    "p_eps=0.5, p_delta=0.1)>")


def test_validation():
    x = sp.Symbol("x", positive=True)
    y = sp.Symbol("y", positive=True)
    with pytest.raises(ValueError, match="name"):
        E.explorer(x, name="Bad Name", title="t", x=(x, 0, 1))
    with pytest.raises(ValueError, match="no slider"):
        E.explorer(x * y, name="a", title="t", x=(x, 0, 1))
    with pytest.raises(ValueError, match="slider"):
        E.explorer(x * y, name="a", title="t", x=(x, 0, 1), sliders={y: (1, 0, 1, 0)})
    with pytest.raises(TypeError, match="x"):
        E.explorer(x, name="a", title="t", x="x")
    with pytest.raises(ValueError, match="field"):
        E.explorer([{"a": 1}], name="a", title="t", x="a", y="b", slider="a")
    with pytest.raises(ValueError, match="Vega"):
        E.vega_expression(sp.gamma(x), {x: "x"})
    with pytest.raises(ValueError, match="no Vega name"):
        E.vega_expression(x + y, {x: "x"})
    with pytest.raises(ValueError, match="unknown formula"):
        E.formula("nope")
