r"""In-page explorers: Vega-Lite charts with sliders that need no kernel.

The static book cannot run Python callbacks, so its widgets are only notes
there. An *explorer* is the static book's own interactive figure: a
Vega-Lite chart, written here (through altair) and drawn in the page by the
copies of Vega, Vega-Lite and vega-embed that the book's extension serves
from its own ``_static/vega`` folder (no network, no kernel). One helper,
:func:`explorer`, makes both kinds:

* **a formula** (a sympy expression, or several sharing their symbols): the
  expression is printed with :func:`sympy.jscode`, translated into a Vega
  expression (:func:`vega_expression`) and evaluated in the page as a
  slider moves, so the curve and the library's formula cannot disagree (the
  tests evaluate the generated expression with Node.js against the
  library's numbers);
* **a record set** computed at build time (a grid of simulated quantities):
  the slider steps through the grid's values of one field, and the figure
  states the grid's resolution (how many values, which range, and the
  caller's note on trials per point).

The notebook output is a ``text/html`` bundle: a ``<div>`` whose id derives
from the explorer's name (no random ids, so ``nbval`` can compare it), and a
``<script>`` that calls the page's ``vegaEmbed``. Where Vega is not loaded
(Jupyter itself) the ``<div>`` keeps a one-line note instead.

:func:`formulas` names the book's closed-form quantities as sympy
expressions, each beside the library function it must agree with; a chapter
passes ``formula(key)`` to :func:`explorer`, which records the key in the
chart's ``usermeta`` so the browser test can check the page against the
library at whatever setting the slider reaches.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import sympy as sp
from sympy.printing.jscode import JavascriptCodePrinter

from ._style import PALETTE

__all__ = ["Explorer", "Slider", "Formula", "explorer", "vega_expression", "formula",
           "formulas"]

#: Math.* names of sympy's JavaScript printer that Vega's expression
#: language provides under the same name, without the ``Math.`` prefix.
_VEGA_NAMES = frozenset({
    "abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "exp", "floor", "log", "max",
    "min", "pow", "round", "sin", "sqrt", "tan", "E", "LN2", "LN10", "LOG2E", "LOG10E",
    "PI", "SQRT1_2", "SQRT2",
})

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")
_PLACEHOLDER = "KVSYM{}X"


@dataclass(frozen=True)
class Slider:
    """A slider of an explorer: range, step, start value and a label.

    Examples
    --------
    >>> Slider(1, 64, 1, 16, "d").value
    16
    """

    lo: float
    hi: float
    step: float
    value: float
    label: str | None = None

    def __post_init__(self):
        lo, hi, step, value = (float(v) for v in (self.lo, self.hi, self.step, self.value))
        if not all(math.isfinite(v) for v in (lo, hi, step, value)):
            raise ValueError("slider: lo, hi, step and value must be finite numbers")
        if not (lo < hi and step > 0 and lo <= value <= hi):
            raise ValueError(f"slider: need lo < hi, step > 0 and lo <= value <= hi; "
                             f"got {self.lo}, {self.hi}, {self.step}, {self.value}")


@dataclass(frozen=True)
class Formula:
    """A closed-form quantity of the book, with the library function it equals.

    ``expr`` is a sympy expression in ``symbols`` (by name); ``library`` takes
    the same names as keyword arguments and returns the library's number.
    """

    expr: sp.Expr
    symbols: dict[str, sp.Symbol]
    library: Callable[..., float]
    what: str
    key: str = ""

    def __call__(self, **values) -> float:
        """The formula evaluated by sympy at ``values`` (a float)."""
        subs = {self.symbols[k]: sp.nsimplify(v) for k, v in values.items()}
        return float(self.expr.xreplace(subs).evalf(30))


@dataclass(frozen=True)
class Explorer:
    """A Vega-Lite chart with sliders, ready to show in a notebook or the book.

    Attributes
    ----------
    name : str
        Identifier (lowercase, digits and hyphens); the page element is
        ``kv-explore-<name>``.
    spec : dict
        The Vega-Lite specification (without ``$schema``: nothing in the page
        names a remote URL).
    expressions : dict
        For a formula explorer, each curve's Vega expression (fields read as
        ``datum[...]``, sliders as ``p_<symbol>``); empty for a record set.
    params : dict
        Slider name in the page -> its :class:`Slider`.
    """

    name: str
    spec: dict
    expressions: dict[str, str] = field(default_factory=dict)
    params: dict[str, Slider] = field(default_factory=dict)

    @property
    def element_id(self) -> str:
        return f"kv-explore-{self.name}"

    def to_json(self) -> str:
        """The specification as compact JSON with sorted keys (deterministic)."""
        return json.dumps(self.spec, sort_keys=True, separators=(",", ":"))

    def to_html(self) -> str:
        """``<div>`` + ``<script>`` that draw the chart with the page's vegaEmbed."""
        spec = self.to_json().replace("</", "<\\/")
        eid = self.element_id
        return (
            f'<div class="kv-explorer" id="{eid}" data-kv-explorer="{self.name}">'
            '<p class="kv-explorer-note">In-page explorer: its sliders run in the built '
            "book, which serves Vega itself (no kernel, no network). In Jupyter, use the "
            "widget of this section instead.</p></div>\n"
            '<script type="text/javascript">\n'
            "(function () {\n"
            f'  var el = document.getElementById("{eid}");\n'
            '  if (!el || typeof window.vegaEmbed !== "function") { return; }\n'
            f"  var spec = {spec};\n"
            '  el.innerHTML = "";\n'
            '  window.vegaEmbed(el, spec, {actions: false, renderer: "svg", mode: "vega-lite"})'
            ".then(function (result) {\n"
            "    window.kvExplorers = window.kvExplorers || {};\n"
            f'    window.kvExplorers["{self.name}"] = result.view;\n'
            "    window.kvExplorerSpecs = window.kvExplorerSpecs || {};\n"
            f'    window.kvExplorerSpecs["{self.name}"] = spec;\n'
            '    el.setAttribute("data-kv-ready", "1");\n'
            "  }).catch(function (err) { console.error(err); });\n"
            "})();\n"
            "</script>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.to_html(), "text/plain": repr(self)}

    def __repr__(self) -> str:
        sliders = ", ".join(f"{p}={s.value:g}" for p, s in self.params.items())
        kind = "formula" if self.expressions else "records"
        return f"<Explorer {self.name!r} ({kind}; sliders: {sliders})>"


# --------------------------------------------------------------------------
# sympy -> Vega expression
# --------------------------------------------------------------------------
class _Printer(JavascriptCodePrinter):
    """sympy's JavaScript printer, plus NaN (Vega has the constant)."""

    def _print_NaN(self, expr):
        return "NaN"


def _jscode_to_vega(code: str) -> str:
    def repl(m):
        name = m.group(1)
        if name not in _VEGA_NAMES:
            raise ValueError(f"expr: sympy printed Math.{name}, which Vega expressions lack")
        return name

    out = re.sub(r"Math\.([A-Za-z0-9_]+)", repl, code)
    if "Not supported" in out or "//" in out:
        raise ValueError(f"expr: sympy.jscode could not print it: {code!r}")
    return out


def vega_expression(expr, names: dict) -> str:
    """A Vega expression that computes the sympy expression ``expr``.

    Parameters
    ----------
    expr : sympy.Expr
        The expression; it may use ``log`` (any base), ``exp``, powers,
        ``Min``/``Max``, ``floor``/``ceiling``, ``Abs`` and ``Piecewise``.
    names : dict
        Each free symbol of ``expr`` -> the Vega text that reads it, e.g.
        ``{x: 'datum["x"]', d: "p_d"}``.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If a free symbol has no name, or sympy prints a function Vega lacks.

    Examples
    --------
    >>> import sympy as sp
    >>> p = sp.Symbol("p", positive=True)
    >>> vega_expression(1 + p * sp.log(p, 2), {p: "p_p"})
    'p_p*log(p_p)/log(2) + 1'
    """
    if not isinstance(expr, sp.Basic):
        raise TypeError("expr must be a sympy expression")
    missing = [s for s in expr.free_symbols if s not in names]
    if missing:
        raise ValueError(f"names: no Vega name for the symbols {sorted(map(str, missing))}")
    order = sorted(names, key=str)
    holders = {s: sp.Symbol(_PLACEHOLDER.format(i), **s.assumptions0)
               for i, s in enumerate(order)}
    try:
        printed = _Printer().doprint(expr.xreplace(holders))
    except NotImplementedError as err:  # sympy's PrintMethodNotImplementedError
        raise ValueError(f"expr: sympy cannot print it for Vega: {err}") from err
    code = _jscode_to_vega(" ".join(printed.split()))
    # longest placeholder first so KVSYM1X never matches inside KVSYM11X
    for i in sorted(range(len(order)), key=lambda i: -len(str(i))):
        code = code.replace(_PLACEHOLDER.format(i), names[order[i]])
    return code


# --------------------------------------------------------------------------
# the helper
# --------------------------------------------------------------------------
def _num(v: float) -> float | int:
    v = float(v)
    if v.is_integer() and abs(v) < 2**53:
        return int(v)
    return float(f"{v:.10g}")


def _slider(value) -> Slider:
    if isinstance(value, Slider):
        return value
    try:
        return Slider(*value)
    except TypeError as err:
        raise TypeError("sliders: each value must be a Slider or a tuple "
                        "(lo, hi, step, value[, label])") from err


def _base_props(title: str, subtitle: list[str]) -> dict:
    t = {"text": title, "anchor": "start", "fontSize": 13}
    if subtitle:
        t["subtitle"] = subtitle if len(subtitle) > 1 else subtitle[0]
        t["subtitleFontSize"] = 11
    return {"title": t, "width": 420, "height": 260}


def _finish(chart, title, subtitle) -> dict:
    import altair as alt

    spec = chart.properties(**_base_props(title, subtitle)).configure(
        background="white", font="DejaVu Sans, sans-serif",
        range=alt.RangeConfig(category=list(PALETTE))).to_dict()
    spec.pop("$schema", None)
    return spec


def _param(name: str, s: Slider):
    import altair as alt

    return alt.param(name=name, value=_num(s.value),
                     bind=alt.binding_range(min=_num(s.lo), max=_num(s.hi), step=_num(s.step),
                                            name=(s.label or name) + " "))


def _yscale(y_domain, y_log):
    import altair as alt

    kw = {"type": "log"} if y_log else {"zero": False}
    if y_domain:
        kw["domain"] = [_num(v) for v in y_domain]
    return alt.Scale(**kw)


def _formula_explorer(source, *, name, title, x, sliders, x_title, y_title, samples,
                      x_log, x_integer, y_log, y_domain, note) -> Explorer:
    import altair as alt

    curves = source if isinstance(source, dict) else {y_title or "value": source}
    keys = {label: e.key for label, e in curves.items() if isinstance(e, Formula) and e.key}
    curves = {label: e.expr if isinstance(e, Formula) else e for label, e in curves.items()}
    for label, e in curves.items():
        if not isinstance(e, sp.Basic):
            raise TypeError(f"source: curve {label!r} is not a sympy expression")
        if re.search(r"[.\[\]\\\"]", label):
            raise ValueError(f"source: curve label {label!r} may not contain . [ ] \\ or \"")
    if not (isinstance(x, tuple) and len(x) == 3 and isinstance(x[0], sp.Symbol)):
        raise TypeError("x: give (sympy Symbol, lo, hi) for a formula explorer")
    xs, lo, hi = x
    if not float(lo) < float(hi) or (x_log and float(lo) <= 0):
        raise ValueError("x: need lo < hi (and lo > 0 on a log axis)")
    sliders = {s: _slider(v) for s, v in (sliders or {}).items()}
    free = set().union(*(e.free_symbols for e in curves.values()))
    extra = free - set(sliders) - {xs}
    if extra:
        raise ValueError(f"sliders: no slider for the symbols {sorted(map(str, extra))}")
    names = {xs: 'datum["x"]'}
    params = {}
    for s, sl in sliders.items():
        pname = "p_" + re.sub(r"\W", "_", str(s))
        names[s] = pname
        params[pname] = sl
    samples = int(samples)
    if samples < 2:
        raise ValueError("samples must be at least 2")
    grid = (np.geomspace if x_log else np.linspace)(float(lo), float(hi), samples)
    if x_integer:  # an integer quantity (tokens, dimensions): integer samples only
        grid = np.unique(np.round(grid))
    exprs = {label: vega_expression(e, names) for label, e in curves.items()}
    data = alt.Data(values=[{"x": _num(v)} for v in grid])
    chart = alt.Chart(data).add_params(*(_param(p, s) for p, s in params.items()))
    for label, code in exprs.items():
        chart = chart.transform_calculate(**{label: code})
    chart = chart.transform_fold(list(exprs), as_=["curve", "value"])
    xscale = alt.Scale(type="log") if x_log else alt.Scale(zero=False)
    yscale = _yscale(y_domain, y_log)
    enc = dict(x=alt.X("x:Q", title=x_title or str(xs), scale=xscale),
               y=alt.Y("value:Q", title=y_title, scale=yscale),
               tooltip=[alt.Tooltip("curve:N"), alt.Tooltip("x:Q", format=".4g"),
                        alt.Tooltip("value:Q", format=".4g")])
    if len(exprs) > 1:
        enc["color"] = alt.Color("curve:N", title=None, sort=list(exprs),
                                 legend=alt.Legend(orient="bottom"))
    else:
        enc["color"] = alt.value(PALETTE[0])
    chart = chart.mark_line(clip=True, strokeWidth=2).encode(**enc)
    subtitle = ["Recomputed in the page from the formula as the sliders move."]
    if note:
        subtitle.append(note)
    spec = _finish(chart, title, subtitle)
    # what each curve is, for the browser test: symbol names of x and sliders,
    # and the library formula (formulas()) a curve was made from
    spec["usermeta"] = {"kvtheory": {
        "kind": "formula", "x": str(xs), "params": {p: str(s) for s, p in names.items()
                                                    if p != 'datum["x"]'},
        "curves": keys}}
    return Explorer(name=name, spec=spec, expressions=exprs, params=params)


def _records_explorer(source, *, name, title, x, y, slider, color, x_title, y_title, x_log,
                      y_log, y_domain, note, slider_label, labels) -> Explorer:
    import altair as alt

    records = list(source)
    if not records or not all(isinstance(r, dict) for r in records):
        raise TypeError("source: give a non-empty list of dicts (records)")
    ys = [y] if isinstance(y, str) else list(y or [])
    fields = [x, slider, *ys] + ([color] if color else [])
    for f in fields:
        if not isinstance(f, str) or any(f not in r for r in records):
            raise ValueError(f"source: field {f!r} is missing from some records")
    if re.search(r"[.\[\]\\\"]", "".join(fields)):
        raise ValueError("fields may not contain . [ ] \\ or \"")
    def cell(v):
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            return _num(v)
        return str(v)

    raw = [cell(r[slider]) for r in records]
    numeric = all(isinstance(v, (int, float)) for v in raw)
    # numbers in increasing order; names (e.g. readers) in order of appearance
    values = sorted(set(raw)) if numeric else list(dict.fromkeys(raw))
    index = {v: i for i, v in enumerate(values)}
    shown_values = [f"{v:.4g}" if numeric else v for v in values]
    if any('"' in v or "\\" in v for v in shown_values):
        raise ValueError(f"source: values of {slider!r} may not contain quotes or backslashes")
    rows = []
    for r, v in zip(records, raw, strict=True):
        row = {f: cell(r[f]) for f in fields}
        row["_k"] = index[v]
        rows.append(row)
    pname = "p_" + re.sub(r"\W", "_", slider)
    sl = Slider(0, max(len(values) - 1, 1), 1, 0, slider_label or f"{slider} (grid step)")
    params = {pname: sl}
    span = f" from {values[0]:.4g} to {values[-1]:.4g}" if numeric else ""
    resolution = (f"Grid computed at build time: {len(values)} values of {slider}{span}, "
                  f"{len(records)} records.")
    resolution = [resolution] + ([note] if note else [])
    base = alt.Chart(alt.Data(values=rows)).add_params(_param(pname, sl)).transform_filter(
        f'datum["_k"] == {pname}')
    xscale = alt.Scale(type="log") if x_log else alt.Scale(zero=False)
    yscale = _yscale(y_domain, y_log)
    xq = isinstance(rows[0][x], (int, float))
    xenc = alt.X(f"{x}:{'Q' if xq else 'N'}", title=x_title or x,
                 **({"scale": xscale} if xq else {}))
    labels = dict(labels or {})
    if any(not isinstance(v, str) or '"' in v or "\\" in v for v in labels.values()):
        raise ValueError("labels: give strings without quotes or backslashes")
    shown = [labels.get(f, f) for f in ys]
    if len(ys) > 1:
        plot = base.transform_fold(ys, as_=["series", "value"])
        if labels:
            expr = '""'
            for f in reversed(ys):
                expr = f'datum["series"] == "{f}" ? "{labels.get(f, f)}" : ({expr})'
            plot = plot.transform_calculate(series=expr)
        cenc = alt.Color("series:N", title=None, sort=shown, legend=alt.Legend(orient="bottom"))
    else:
        plot = base.transform_calculate(series=f'"{shown[0]}"', value=f'datum["{ys[0]}"]')
        cenc = (alt.Color(f"{color}:N", title=color, legend=alt.Legend(orient="bottom"))
                if color else alt.value(PALETTE[0]))
    if color and len(ys) > 1:
        raise ValueError("give either several y fields or a color field, not both")
    enc = dict(x=xenc, y=alt.Y("value:Q", title=y_title, scale=yscale), color=cenc,
               tooltip=[alt.Tooltip(f"{x}:{'Q' if xq else 'N'}"),
                        alt.Tooltip("value:Q", format=".4g"), alt.Tooltip("series:N")])
    detail = [alt.Detail(f"{color}:N")] if color else []
    if xq:
        lines = plot.mark_line(point=True, clip=True).encode(*detail, **enc)
    else:  # categories on the horizontal axis: points, no connecting lines
        enc["x"] = alt.X(f"{x}:N", title=x_title or x, sort=None,
                         axis=alt.Axis(labelAngle=-20, labelLimit=160))
        lines = plot.mark_point(filled=True, size=70, opacity=0.85).encode(*detail, **enc)
    # the grid value the slider selects, printed on the figure
    names = json.dumps([f"{slider} = {v}" for v in shown_values])
    label = base.transform_aggregate(count="count()").transform_calculate(
        text=f"{names}[{pname}]").mark_text(
        align="left", baseline="top", fontSize=12, fontWeight="bold").encode(
        x=alt.value(6), y=alt.value(6), text="text:N")
    chart = alt.layer(lines, label)
    spec = _finish(chart, title, resolution)
    spec["usermeta"] = {"kvtheory": {"kind": "records", "slider": slider, "param": pname,
                                     "values": values}}
    return Explorer(name=name, spec=spec, params=params)


def explorer(source, *, name: str, title: str, x, y=None, sliders=None, slider: str | None = None,
             color: str | None = None, x_title: str | None = None, y_title: str = "",
             samples: int = 121, x_log: bool = False, x_integer: bool = False,
             y_log: bool = False, y_domain=None, note: str | None = None,
             slider_label: str | None = None, labels: dict | None = None) -> Explorer:
    r"""An in-page explorer from a sympy formula or a build-time record set.

    Parameters
    ----------
    source : sympy.Expr, Formula, dict of str to either, or list of dict
        A formula (or several curves sharing their symbols, keyed by legend
        label; a :class:`Formula` of :func:`formulas` is recorded by name in
        the specification's ``usermeta``, so a test can compare the page
        with the library), or records computed at build time.
    name : str
        Identifier: lowercase letters, digits, hyphens (``"cellprobe-ceiling"``);
        the page element is ``kv-explore-<name>``.
    title : str
        Figure title (plain text; no TeX).
    x : tuple or str
        Formula: ``(symbol, lo, hi)``, the horizontal axis. Records: the field
        on the horizontal axis.
    y : str or list of str, optional
        Records: the field(s) plotted (several fields become several lines).
    sliders : dict, optional
        Formula: every other free symbol -> :class:`Slider` or
        ``(lo, hi, step, value[, label])``.
    slider : str, optional
        Records: the field whose grid values the slider steps through.
    color : str, optional
        Records: a field that splits the points into lines (one per value).
    x_title, y_title : str, optional
        Axis titles.
    samples : int, default 121
        Formula: points on the horizontal axis.
    x_log : bool, default False
        Logarithmic horizontal axis (and, for a formula, geometric samples).
    x_integer : bool, default False
        Formula: the horizontal quantity is an integer (tokens, dimension);
        the samples are rounded to distinct integers.
    y_log : bool, default False
        Logarithmic vertical axis.
    y_domain : (float, float), optional
        Fixed vertical range.
    note : str, optional
        Appended to the subtitle, e.g. "2000 trials per point".
    slider_label : str, optional
        Records: the slider's label.
    labels : dict, optional
        Records: legend label of each ``y`` field (default: the field name).

    Returns
    -------
    Explorer
        Displays itself in a notebook as ``text/html``.

    Raises
    ------
    TypeError, ValueError
        On a malformed source, name, axis or slider.

    Examples
    --------
    >>> import sympy as sp
    >>> f, d = sp.symbols("f d", positive=True)
    >>> e = explorer((1 + d * f) / (d + 1), name="demo", title="Ceiling", x=(f, 0, 1),
    ...              sliders={d: (1, 64, 1, 16)})
    >>> e.expressions
    {'value': '(p_d*datum["x"] + 1)/(p_d + 1)'}
    >>> e.element_id, sorted(e.params)
    ('kv-explore-demo', ['p_d'])
    >>> recs = [{"T": t, "s": t / 4, "n": n} for n in (8, 16) for t in range(4)]
    >>> explorer(recs, name="demo-grid", title="Grid", x="T", y="s", slider="n")
    <Explorer 'demo-grid' (records; sliders: p_n=0)>
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError("name: use lowercase letters, digits and hyphens, starting "
                         f"with a letter; got {name!r}")
    if not isinstance(title, str) or not title:
        raise ValueError("title: give a non-empty string")
    if isinstance(source, (sp.Basic, dict, Formula)):
        if y is not None or slider is not None or color is not None or labels:
            raise ValueError("y, slider and color are for record sets; a formula takes x "
                             "and sliders")
        return _formula_explorer(source, name=name, title=title, x=x, sliders=sliders,
                                 x_title=x_title, y_title=y_title, samples=samples,
                                 x_log=x_log, x_integer=x_integer, y_log=y_log,
                                 y_domain=y_domain, note=note)
    if sliders is not None:
        raise ValueError("sliders is for formulas; a record set takes slider=<field>")
    if not isinstance(x, str) or y is None or not isinstance(slider, str):
        raise ValueError("records: give x=<field>, y=<field or fields> and slider=<field>")
    return _records_explorer(source, name=name, title=title, x=x, y=y, slider=slider,
                             color=color, x_title=x_title, y_title=y_title, x_log=x_log,
                             y_log=y_log, y_domain=y_domain, note=note, slider_label=slider_label,
                             labels=labels)


# --------------------------------------------------------------------------
# the book's closed-form quantities
# --------------------------------------------------------------------------
def _h2(p):
    return -p * sp.log(p, 2) - (1 - p) * sp.log(1 - p, 2)


@functools.lru_cache(maxsize=64)
def _formulas_a() -> dict[str, Formula]:
    """Closed forms of Chapters 1, 5 and 6 (real-scale cache, SubGen's ledger,
    the concentration floor of the 1-sparse instance)."""
    from ..algorithms import SubGen
    from ..attention import softmax
    from ..bounds.sparsity import _profile
    from ..experiments.streaming import ModelShape

    L, H, d, n, b, P = sp.symbols("L H d n b P", positive=True)
    m, h, ell = sp.symbols("m h ell", positive=True)
    t, C, mu = sp.symbols("t C mu", positive=True)
    words = m * d + m * h * d + ell * (2 * d + 1) + 2 * m + 7

    def cache_gb(L, H, d, n, b):
        shape = ModelShape("shape", int(L), int(H), int(d), 1)
        return float(shape.cache_bytes(n, bits_per_number=int(b))) / 1e9

    def weights_gb(P, b):
        shape = ModelShape("shape", 1, 1, 1, int(round(P * 10**6)))
        return shape.weight_bytes(bits_per_number=int(b)) / 1e9

    def subgen_words(m, d, h, ell, n):
        # SubGen's own closed form of its ledger (float64, d_v = d), once m
        # clusters hold h reservoir keys each and a value has arrived
        if n < m * h:
            return math.nan
        bits = SubGen.bits_for(int(d), int(d), n_clusters=int(m),
                               reservoir_keys=int(m) * int(h), s=int(ell))
        return float(bits // 64)

    def top1_floor(t, C, mu):
        scores = np.full(int(t) + 1, C * (1 - mu))
        scores[0] = C
        return float(softmax(scores)[0])

    return {
        "cache_gb": Formula(
            2 * L * H * d * n * b / (8 * 10**9), {"L": L, "H": H, "d": d, "n": n, "b": b},
            cache_gb,
            "Chapter 1: GB of one sequence's exact cache, 2 L H d n b / 8 / 1e9 "
            "(ModelShape.cache_bytes)"),
        "weights_gb": Formula(
            P * 10**6 * b / (8 * 10**9), {"P": P, "b": b}, weights_gb,
            "Chapter 1: GB of P million weights at b bits each (ModelShape.weight_bytes)"),
        "subgen_ledger_words": Formula(
            sp.Piecewise((words, n >= m * h), (sp.nan, True)),
            {"m": m, "d": d, "h": h, "ell": ell, "n": n}, subgen_words,
            "Chapter 5: SubGen's ledger in words once m clusters hold h keys each "
            "(n >= m h), m d + m h d + ell (2d + 1) + 2m + 7"),
        "sparsity_top1_floor": Formula(
            _profile(t, C, mu), {"t": t, "C": C, "mu": mu}, top1_floor,
            "Chapter 6: weight of a token scoring C against t others scoring at most "
            "C (1 - mu), 1/(1 + t e^(-C mu))"),
    }


def _formulas_b() -> dict[str, Formula]:
    """Closed forms of Chapters 10 and 11 (the first-moment leaked mass, the
    balancing guarantee's epsilon)."""
    from ..instances.index import expected_leaked_mass

    n, d, gamma, eps = sp.symbols("n d gamma eps", positive=True)
    R, B, beta = sp.symbols("R B beta", positive=True)
    C = (sp.log(n) + sp.log(1 / gamma)) / (1 - eps)     # default_C
    leaked = (n - 1) * ((1 + sp.exp(-2 * C / d)) / 2) ** d + sp.exp(-C)
    # L = floor(log2(n/B)) of lem-balance-levels; the curve stops where L = 0
    # (B > n/2: no halving, the cache keeps every token and errs 0)
    L = sp.floor(sp.log(n / B, 2))
    guarantee = sp.sqrt(2) * sp.exp(2 * R) * L * beta / B

    def leaked_mass(n, d, gamma, eps):
        return expected_leaked_mass(int(n), int(d), gamma=gamma, eps=eps)

    def balance_eps(R, n, B, beta):
        n, B = int(n), int(B)
        if 2 * B > n:
            return math.nan
        # the top level of BalanceKV's binary counter of n // B blocks
        top = (n // B).bit_length() - 1
        return math.sqrt(2) * math.exp(2 * R) * top * beta / B

    return {
        "first_moment_mass": Formula(
            leaked, {"n": n, "d": d, "gamma": gamma, "eps": eps}, leaked_mass,
            "Chapter 3's expected leaked mass (n - 1)((1 + e^(-2C/d))/2)^d + e^(-C), "
            "C = ln(n/gamma)/(1 - kappa) (expected_leaked_mass)"),
        "balance_eps": Formula(
            sp.Piecewise((guarantee, 2 * B <= n), (sp.nan, True)),
            {"R": R, "n": n, "B": B, "beta": beta}, balance_eps,
            "Chapter 11's guarantee, sqrt(2) e^(2R) L beta / B with "
            "L = floor(log2(n/B)) >= 1 (B <= n/2)"),
    }


@functools.lru_cache(maxsize=None)
def formulas() -> dict[str, Formula]:
    """The book's closed-form quantities: name -> :class:`Formula`.

    Each is a sympy expression beside the library function it must equal
    (``tests/test_explore.py`` checks both, and the Vega expression the page
    evaluates, at several parameter values).

    Examples
    --------
    >>> {"cellprobe_mixture", "hoeffding_d", "balance_eps"} <= set(formulas())
    True
    >>> f"{formula('window_bound')(p=0.1, delta=0.1, W=65, d=32):.0f}"
    '569'
    """
    from .. import information
    from ..cellprobe import success_bound, worst_case_bound
    from ..geometry.packing import ball_covering_bounds
    from ..instances.index import hoeffding_d, space_bound_bits
    from ..instances.window import window_bound_bits

    p, delta, N, n, d, f, eps, rho, R, W = sp.symbols("p delta N n d f eps rho R W",
                                                      positive=True)
    half = sp.Rational(1, 2)
    table = {
        "index_bits_needed": Formula(
            (1 - _h2(p)) * N, {"p": p, "N": N},
            lambda p, N: information.index_bits_needed(p, int(N)),
            "bits a one-way INDEX_N protocol with error p must send, (1 - H2(p)) N"),
        "space_bound": Formula(
            sp.Piecewise(((1 - _h2(p + delta)) * n * d, p + delta < half), (sp.nan, True)),
            {"p": p, "delta": delta, "n": n, "d": d},
            lambda p, delta, n, d: space_bound_bits(int(n), int(d), p=p, delta=delta),
            "the space barrier of Chapter 3, (1 - H2(p + delta)) n d bits (p + delta < 1/2)"),
        "window_bound": Formula(
            sp.Piecewise(((1 - _h2(p + delta)) * (W - 1) * d, p + delta < half),
                         (sp.nan, True)),
            {"p": p, "delta": delta, "W": W, "d": d},
            lambda p, delta, W, d: window_bound_bits(int(W), int(d), p=p, delta=delta),
            "Chapter 7's in-window bound, (1 - H2(p + delta)) (W - 1) d bits"),
        "hoeffding_d": Formula(
            sp.ceiling(2 / eps**2 * sp.log(n / delta)), {"n": n, "eps": eps, "delta": delta},
            lambda n, eps, delta: hoeffding_d(int(n), eps=eps, delta=delta),
            "Chapter 3's Hoeffding + union-bound dimension, ceil((2/eps^2) ln(n/delta))"),
        "covering_lower": Formula(
            (R / rho) ** d, {"R": R, "rho": rho, "d": d},
            lambda R, rho, d: ball_covering_bounds(int(d), rho, R=R)[0],
            "the volume lower bound (R/rho)^d on the covering number of the ball"),
        "covering_upper": Formula(
            (1 + 2 * R / rho) ** d, {"R": R, "rho": rho, "d": d},
            lambda R, rho, d: ball_covering_bounds(int(d), rho, R=R)[1],
            "the volume upper bound (1 + 2R/rho)^d on the packing number of the ball"),
        "cellprobe_worst_case": Formula(
            sp.Min(1, (1 + d * f) / (d + 1)), {"f": f, "d": d},
            lambda f, d, n=64: worst_case_bound(f * n * d, int(n), int(d)),
            "Chapter 8's ceiling on success on every input, (1 + d f)/(d + 1), f = T/(nd)"),
        "cellprobe_mixture": Formula(
            sp.Min(1, half + f / 2), {"f": f},
            lambda f, n=64, d=16: success_bound(f * n * d, int(n), int(d)),
            "Chapter 8's ceiling on the 50/50 mixture, min(1, 1/2 + f/2), f = T/(nd)"),
        **_formulas_a(),
        **_formulas_b(),
    }
    return {k: dataclasses.replace(v, key=k) for k, v in table.items()}


def formula(key: str) -> Formula:
    """The book's closed-form quantity ``key`` (see :func:`formulas`).

    Examples
    --------
    >>> F = formula("cellprobe_worst_case")
    >>> f"{F(f=0.5, d=16):.4f}"
    '0.5294'
    """
    table = formulas()
    if key not in table:
        raise ValueError(f"key: unknown formula {key!r}; known: {sorted(table)}")
    return table[key]
