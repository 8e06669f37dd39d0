"""kvtheory.tables: records as an HTML table and as aligned text."""

from __future__ import annotations

import html.parser
import math

import numpy as np
import pytest

import kvtheory as kv
from kvtheory.tables import Table, rounding_label, table

RECS = [{"cache": "window", "bits": 4096, "success": 0.51234, "under": True},
        {"cache": "exact <full>", "bits": 65536, "success": 1.0, "under": False}]


class _Cells(html.parser.HTMLParser):
    """The text of every th / td of an HTML table, row by row."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("th", "td"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self.rows[-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def _html_cells(t: Table) -> list[list[str]]:
    p = _Cells()
    p.feed(t._repr_html_())
    return p.rows


def test_public_names():
    assert kv.Table is Table and kv.table is table
    assert isinstance(kv.table(RECS), Table)


def test_text_alignment_numbers_right_text_left():
    t = Table(RECS, ["cache", "bits", "success"], fmt={"success": ".3f"})
    lines = str(t).splitlines()
    assert lines[0] == "cache          bits  success"
    assert lines[1] == "                        3 dp"
    assert lines[2] == "------------  -----  -------"
    assert lines[3] == "window         4096    0.512"
    assert lines[4] == "exact <full>  65536    1.000"
    # every line is as wide as the rule (or shorter: no trailing blanks)
    assert all(len(line) <= len(lines[2]) and line == line.rstrip() for line in lines)
    # repr, str and IPython's pretty printer show the same text
    assert repr(t) == str(t) == t
    from IPython.lib.pretty import pretty
    assert pretty(t) == str(t)


def test_units_and_rounding_in_header_not_cells():
    t = Table(RECS, [("bits", "memory"), ("success", "success rate")],
              units={"bits": "bits", "success": "%"}, fmt={"success": ".1%"})
    lines = str(t).splitlines()
    assert lines[0].split() == ["memory", "success", "rate"]
    assert lines[1].split() == ["bits", "%,", "1", "dp"]
    assert lines[3].split() == ["4096", "51.2%"]
    head = _html_cells(t)[0]
    assert head == ["memorybits", "success rate%, 1 dp"]


@pytest.mark.parametrize("spec,label", [(".3f", "3 dp"), (".0f", "integer"), (".2e", "3 sf"),
                                        (".4g", "4 sf"), (",d", ""), ("d", ""), (".1%", "1 dp"),
                                        (">10.2f", "2 dp"), ("not a spec", "")])
def test_rounding_label(spec, label):
    assert rounding_label(spec) == label


def test_rounding_is_applied_and_deterministic():
    recs = [{"x": 1 / 3, "y": np.float64(2 / 3), "n": np.int64(12345)}]
    t = Table(recs, fmt={"x": ".2f", "y": ".3e", "n": ",d"})
    assert t.cells() == [["0.33", "6.667e-01", "12,345"]]
    assert Table(recs, fmt={"x": ".2f", "y": ".3e", "n": ",d"}) == t
    assert Table(recs, fmt={"x": ".2f", "y": ".3e", "n": ",d"})._repr_html_() == t._repr_html_()


def test_defaults_missing_bool_and_callable():
    recs = [{"a": None, "b": float("nan"), "c": True, "d": 2.0},
            {"a": 3, "c": np.bool_(False), "d": math.inf}]
    t = Table(recs, ["a", "b", "c", "d"], fmt={"d": lambda v: f"<{v:g}>"})
    assert t.cells() == [["-", "-", "yes", "<2>"], ["3", "-", "no", "<inf>"]]
    assert t.shape == (2, 4) and t.columns == ["a", "b", "c", "d"]
    assert Table([{"x": 0.000123456}]).cells() == [["0.0001235"]]


def test_html_escapes_everything():
    recs = [{"name": "<script>alert('x')</script>", "v & w": 1}]
    t = Table(recs, [("name", "a <b>"), "v & w"], units={"v & w": "<unit>"},
              title="T <&>", notes=["note <i>"])
    h = t._repr_html_()
    assert "<script>" not in h and "<b>" not in h and "<i>" not in h and "<unit>" not in h
    assert "&lt;script&gt;" in h and "a &lt;b&gt;" in h and "T &lt;&amp;&gt;" in h
    assert _html_cells(t) == [["a <b>", "v & w<unit>"], ["<script>alert('x')</script>", "1"]]


def test_html_structure_and_theme_colours():
    t = Table(RECS, ["cache", "success"], fmt={"success": ".3f"}, title="Caches",
              notes=["* a note"])
    h = t._repr_html_()
    assert h.count("<tr") == 3 and "<caption" in h and "* a note" in h
    assert "color:inherit" in h and "--pst-color-border" in h  # no hard-coded text colour
    assert "color:black" not in h.replace(" ", "") and "#000" not in h
    rows = _html_cells(t)
    assert rows[1:] == [["window", "0.512"], ["exact <full>", "1.000"]]
    assert 'text-align:right">0.512' in h and 'text-align:left">window' in h


def test_title_and_notes_in_text():
    t = Table(RECS, ["cache"], title="Caches", notes=["* first", "! second"])
    lines = str(t).splitlines()
    assert lines[0] == "Caches" and lines[-2:] == ["* first", "! second"]


def test_align_override_and_string_in_numeric_column():
    t = Table([{"x": 1.5}, {"x": "n/a"}], fmt={"x": ".1f"}, align={"x": "right"})
    assert str(t).splitlines() == ["   x", "1 dp", "----", " 1.5", " n/a"]
    assert t.cells() == [["1.5"], ["n/a"]]


def test_is_a_string_for_old_callers():
    t = Table(RECS, ["cache"])
    assert isinstance(t, str) and "window" in t and t.splitlines()[0] == "cache"
    assert (t + "\n").endswith("\n")


def test_empty_records_need_columns():
    t = Table([], ["a", "b"])
    assert t.shape == (0, 2) and str(t).splitlines() == ["a  b", "-  -"]
    with pytest.raises(ValueError, match="columns"):
        Table([])


@pytest.mark.parametrize("args,kwargs,exc,match", [
    ("not records", {}, TypeError, "records"),
    ({"a": 1}, {}, TypeError, "records"),
    (np.zeros(3), {}, TypeError, "records"),
    ([{"a": 1}, [1, 2]], {}, TypeError, r"records\[1\]"),
    ([{"a": 1}], {"columns": ["b"]}, ValueError, "appear in no record"),
    ([{"a": 1}], {"columns": "a"}, TypeError, "columns"),
    ([{"a": 1}], {"columns": ["a", "a"]}, ValueError, "repeat"),
    ([{"a": 1}], {"columns": []}, ValueError, "at least one"),
    ([{"a": 1}], {"columns": [("a", 3)]}, TypeError, "labels"),
    ([{"a": 1}], {"units": {"b": "s"}}, ValueError, "units names columns"),
    ([{"a": 1}], {"units": ["s"]}, TypeError, "units"),
    ([{"a": 1}], {"units": {"a": 3}}, TypeError, r"units\['a'\]"),
    ([{"a": 1}], {"fmt": {"a": 3}}, TypeError, r"fmt\['a'\]"),
    ([{"a": "x"}], {"fmt": {"a": lambda v: 3}}, TypeError, "return a str"),
    ([{"a": 1.5}], {"fmt": {"a": "d"}}, ValueError, r"fmt\['a'\] = 'd' cannot format 1.5"),
    ([{"a": 1}], {"align": {"a": "middle"}}, ValueError, "align"),
    ([{"a": 1}], {"title": 3}, TypeError, "title"),
    ([{"a": 1}], {"notes": [3]}, TypeError, "notes"),
])
def test_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Table(args, **kwargs)


def test_records_are_copied():
    recs = [{"a": 1}]
    t = Table(recs)
    recs[0]["a"] = 2
    assert t.records == [{"a": 1}] and t.cells() == [["1"]]


def test_multiline_labels_keep_text_narrow():
    t = Table([{"a": 1, "b": 2}], [("a", "window-\nindex"), ("b", "b")])
    assert str(t).splitlines() == ["window-", "  index  b", "-------  -", "      1  2"]
    assert "window-<br>index" in t._repr_html_()


def test_wide_tables_and_cell_labels_for_phones():
    narrow = Table([{"a": 1}])
    wide = Table([{"name": "x" * 30, "value": 1.0, "other": 2.0}], fmt={"value": ".3f"})
    assert 'class="kv-table"' in narrow._repr_html_()
    assert 'class="kv-table kv-wide"' in wide._repr_html_()
    assert 'data-label="value (3 dp)"' in wide._repr_html_()
