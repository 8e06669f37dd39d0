"""Result tables: one helper that renders records as HTML and as aligned text.

:class:`Table` (also reached as :func:`table`) takes a list of records (one
mapping per row, as every ``kvtheory.experiments`` runner returns) and shows it

* as an HTML ``<table>`` in Jupyter and in the built book (``_repr_html_``):
  it fits the text column, can be selected and pasted into a spreadsheet,
  and takes its colours from the page (light and dark theme alike);
* as aligned plain text in a terminal (``str``, ``repr`` and IPython's
  ``_repr_pretty_``), e.g. ``print(table)`` or ``python -m kvtheory bench``.

Units and rounding are stated once, in the column header (``bits``,
``3 dp``), not repeated in every cell.

Why no pandas
-------------
The library does not depend on pandas, and a table of a dozen records needs
none of it. pandas' HTML styling (``Styler``) also writes a random id into
every table, which would make each stored notebook output differ from a fresh
run under nbval; the HTML written here is a pure function of the records.
A :class:`Table` is itself a ``str`` (its aligned text), so code that printed
or searched the library's earlier fixed-width tables keeps working unchanged.
"""

from __future__ import annotations

import html
import math
import numbers
import re
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["Table", "table"]

#: Shown for a missing value (``None``, NaN, or a record without the column).
MISSING = "-"

_SPEC_RE = re.compile(r"^[<>=^]?[+\- ]?#?0?\d*[,_]?(?:\.(\d+))?([bcdeEfFgGnosxX%]?)$")

#: Inline styles of the HTML table. Colours come from the page: the book's
#: theme variables (pydata: ``--pst-color-*``, light and dark), then
#: JupyterLab's (``--jp-*``), then a neutral grey; text inherits its colour,
#: so nothing is black on a dark background. Inline, so they beat myst-nb's
#: default output-table rules (black text, light-grey stripes).
_BORDER = "var(--pst-color-border, var(--jp-border-color1, #8c8c8c))"
_STYLE_TABLE = ("border-collapse:collapse;border:none;margin:0.2em 0 0.6em 0;"
                "color:inherit;background:transparent;font-size:0.9em;"
                "font-variant-numeric:tabular-nums;table-layout:auto;width:auto;"
                "max-width:100%")
_STYLE_CAPTION = ("caption-side:top;text-align:left;font-weight:600;color:inherit;"
                  "padding:0 0 0.3em 0")
_STYLE_TH = (f"border:none;border-bottom:1px solid {_BORDER};padding:0.25em 0.55em;"
             "vertical-align:bottom;color:inherit;background:transparent;"
             "font-weight:600;white-space:normal;line-height:1.25")
_STYLE_TD = ("border:none;padding:0.2em 0.55em;color:inherit;background:transparent;"
             "line-height:1.3;vertical-align:top")
_STYLE_UNIT = "font-weight:normal;font-size:0.85em;opacity:0.8;white-space:nowrap"
_STYLE_NOTE = "font-size:0.85em;margin:0 0 0.6em 0;color:inherit"
_STYLE_ROW = "background:transparent;border:none"
#: Every other row a translucent grey: it reads on a light page, on a dark page
#: and on the light card that the book's dark theme draws behind cell outputs.
_STYLE_ROW_STRIPE = "background:rgba(127,127,127,0.12);border:none"

#: A table wider than this (characters of its text form) is marked
#: ``kv-wide``: on a phone the book shows each of its rows as a small card of
#: "label value" lines (``book/_static/kvbook.css``) instead of overflowing.
WIDE_CHARS = 40


def rounding_label(spec: str) -> str:
    """What a format spec rounds to, for a column header (``""`` if nothing).

    >>> rounding_label(".3f"), rounding_label(".1%"), rounding_label(".2e")
    ('3 dp', '1 dp', '3 sf')
    >>> rounding_label(".4g"), rounding_label("d"), rounding_label(",d"), rounding_label(".0f")
    ('4 sf', '', '', 'integer')
    """
    m = _SPEC_RE.match(spec)
    if not m:
        return ""
    digits, kind = m.group(1), m.group(2)
    if digits is None:
        return ""
    n = int(digits)
    if kind in ("f", "F", "%"):
        return "integer" if n == 0 else f"{n} dp"
    if kind in ("e", "E"):
        return f"{n + 1} sf"
    if kind in ("g", "G", ""):
        return f"{max(n, 1)} sf"
    return ""


def _is_missing(v) -> bool:
    if v is None:
        return True
    return isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral) \
        and math.isnan(float(v))


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not _is_bool(v)


def _is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


def _default_format(v) -> str:
    if _is_bool(v):
        return "yes" if v else "no"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        x = float(v)
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return f"{x:.4g}"
    return str(v)


class Table(str):
    """A table of records: HTML in Jupyter and the book, aligned text in a terminal.

    Parameters
    ----------
    records : sequence of mappings
        One mapping per row (e.g. the dicts an experiment runner returns).
    columns : sequence of str, sequence of (key, label) pairs, or mapping, optional
        Which keys to show, in order, and their header labels (a key alone is
        its own label; a ``"\\n"`` in a label breaks it over header lines, to
        keep the text form narrow). Default: every key of the records, in
        order of first appearance.
    units : mapping, optional
        ``{key: unit}``: the unit, shown under the label (e.g. ``"bits"``).
    fmt : mapping, optional
        ``{key: format spec or callable}``: a format spec (``".3f"``, ``",d"``,
        ``".1%"``) whose rounding is then stated in the header (``3 dp``), or a
        callable from a value to its text. Default: integers in full, other
        numbers to 4 significant figures, booleans as yes / no.
    align : mapping, optional
        ``{key: "left" | "right"}``. Default: right for columns of numbers,
        left otherwise.
    title : str, optional
        A caption above the table.
    notes : sequence of str, optional
        Lines under the table (legends of marks such as ``*``).

    Notes
    -----
    A missing value (``None``, NaN, or a key the record lacks) is shown as
    ``-``. The text form separates columns by two spaces and underlines the
    header; it depends only on the records, so notebook outputs are
    reproducible. ``Table`` subclasses ``str`` (the text form): printing,
    searching and concatenating it work as for a string.

    Examples
    --------
    >>> from kvtheory.tables import Table
    >>> t = Table([{"cache": "window", "bits": 4096, "success": 0.51234},
    ...            {"cache": "exact", "bits": 65536, "success": 1.0}],
    ...           units={"bits": "bits"}, fmt={"success": ".3f"}, title="Two caches")
    >>> print(t)
    Two caches
    cache    bits  success
             bits     3 dp
    ------  -----  -------
    window   4096    0.512
    exact   65536    1.000
    >>> t.shape
    (2, 3)
    >>> "<th" in t._repr_html_() and "3 dp" in t._repr_html_()
    True
    """

    def __new__(cls, records, columns=None, *, units=None, fmt=None, align=None,
                title: str | None = None, notes=None):
        recs = _check_records(records)
        keys, labels = _check_columns(columns, recs)
        units = _check_mapping(units, "units", keys)
        fmt = _check_mapping(fmt, "fmt", keys)
        align = _check_mapping(align, "align", keys)
        for k, a in align.items():
            if a not in ("left", "right"):
                raise ValueError(f"align[{k!r}] must be 'left' or 'right', got {a!r}")
        if title is not None and not isinstance(title, str):
            raise TypeError(f"title must be a str or None, got {type(title).__name__}")
        if notes is None:
            notes = ()
        elif isinstance(notes, str):
            notes = (notes,)
        notes = tuple(notes)
        if not all(isinstance(s, str) for s in notes):
            raise TypeError("notes must be a str or a sequence of str")

        cells = [[_format_cell(r.get(k), k, fmt.get(k)) for k in keys] for r in recs]
        sub = []
        for k in keys:
            f = fmt.get(k)
            parts = [units.get(k, "")]
            if isinstance(f, str):
                parts.append(rounding_label(f))
            sub.append(", ".join(p for p in parts if p))
        right = []
        for k in keys:
            if k in align:
                right.append(align[k] == "right")
            else:
                vals = [r.get(k) for r in recs if not _is_missing(r.get(k))]
                right.append(bool(vals) and all(_is_number(v) for v in vals))

        text = _render_text(labels, sub, cells, right, title, notes)
        self = super().__new__(cls, text)
        self._keys = keys
        self._labels = labels
        self._sub = sub
        self._cells = cells
        self._right = right
        self._title = title
        self._notes = notes
        self._records = [dict(r) for r in recs]
        self._rule = "  ".join("-" * max([len(x) for x in lab.split("\n")] + [len(su)]
                                         + [len(row[j]) for row in cells])
                               for j, (lab, su) in enumerate(zip(labels, sub, strict=True)))
        return self

    # -- what a reader can ask of a table --------------------------------
    @property
    def columns(self) -> list[str]:
        """The keys shown, in order."""
        return list(self._keys)

    @property
    def records(self) -> list[dict]:
        """The records, as given (copies)."""
        return [dict(r) for r in self._records]

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)``."""
        return len(self._cells), len(self._keys)

    def cells(self) -> list[list[str]]:
        """The formatted cell texts, row by row (what both renderings show)."""
        return [list(row) for row in self._cells]

    # -- renderings ------------------------------------------------------
    def __repr__(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        return str.__str__(self)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str.__str__(self))

    def _repr_html_(self) -> str:
        def th(j):
            head = "<br>".join(html.escape(x) for x in self._labels[j].split("\n"))
            if self._sub[j]:
                head += f'<br><span style="{_STYLE_UNIT}">{html.escape(self._sub[j])}</span>'
            side = "right" if self._right[j] else "left"
            return f'<th style="{_STYLE_TH};text-align:{side}">{head}</th>'

        def td(j, text):
            side = "right" if self._right[j] else "left"
            wrap = "white-space:nowrap;" if self._right[j] else ""
            label = " ".join(self._labels[j].split())
            if self._sub[j]:
                label += f" ({self._sub[j]})"
            return (f'<td data-label="{html.escape(label)}" '
                    f'style="{_STYLE_TD};{wrap}text-align:{side}">{html.escape(text)}</td>')

        cls = "kv-table kv-wide" if len(self._rule) > WIDE_CHARS else "kv-table"
        out = ['<div class="kv-table" style="max-width:100%">',
               f'<table class="{cls}" style="{_STYLE_TABLE}">']
        if self._title:
            out.append(f'<caption style="{_STYLE_CAPTION}">{html.escape(self._title)}</caption>')
        out.append("<thead><tr>" + "".join(th(j) for j in range(len(self._keys)))
                   + "</tr></thead>")
        out.append("<tbody>")
        for i, row in enumerate(self._cells):
            style = _STYLE_ROW_STRIPE if i % 2 else _STYLE_ROW
            out.append(f'<tr style="{style}">' + "".join(td(j, c) for j, c in enumerate(row))
                       + "</tr>")
        out.append("</tbody></table>")
        for note in self._notes:
            out.append(f'<p style="{_STYLE_NOTE}">{html.escape(note)}</p>')
        out.append("</div>")
        return "\n".join(out)


def table(records, columns=None, **kwargs) -> Table:
    """Shorthand for :class:`Table` (same arguments).

    >>> print(table([{"n": 8, "ok": True}]))
    n  ok
    -  ---
    8  yes
    """
    return Table(records, columns, **kwargs)


# ----------------------------------------------------------------- helpers
def _check_records(records) -> list[Mapping]:
    if isinstance(records, (str, bytes, Mapping, np.ndarray)) \
            or not hasattr(records, "__iter__"):
        raise TypeError("records must be a sequence of mappings (one dict per row), "
                        f"got {type(records).__name__}")
    records = list(records)
    for i, r in enumerate(records):
        if not isinstance(r, Mapping):
            raise TypeError(f"records[{i}] must be a mapping (dict), got {type(r).__name__}")
    return records


def _check_columns(columns, recs) -> tuple[list[str], list[str]]:
    if columns is None:
        if not recs:
            raise ValueError("columns must be given when records is empty")
        keys = list(dict.fromkeys(k for r in recs for k in r))
        labels = [str(k) for k in keys]
    elif isinstance(columns, Mapping):
        keys, labels = list(columns), [columns[k] for k in columns]
    elif isinstance(columns, (str, bytes)) or not isinstance(columns, Sequence):
        raise TypeError("columns must be a sequence of keys or (key, label) pairs, or a "
                        f"mapping key -> label, got {type(columns).__name__}")
    else:
        keys, labels = [], []
        for c in columns:
            if isinstance(c, tuple) and len(c) == 2:
                keys.append(c[0])
                labels.append(c[1])
            else:
                keys.append(c)
                labels.append(str(c))
    if not keys:
        raise ValueError("columns must name at least one column")
    if len(set(keys)) != len(keys):
        raise ValueError(f"columns must not repeat a key, got {keys}")
    for lab in labels:
        if not isinstance(lab, str):
            raise TypeError(f"column labels must be str, got {type(lab).__name__}")
    if recs:
        present = {k for r in recs for k in r}
        absent = [k for k in keys if k not in present]
        if absent:
            raise ValueError(f"columns {absent} appear in no record "
                             f"(keys: {sorted(map(str, present))})")
    return keys, labels


def _check_mapping(m, name, keys) -> dict:
    if m is None:
        return {}
    if not isinstance(m, Mapping):
        raise TypeError(f"{name} must be a mapping column -> value, got {type(m).__name__}")
    unknown = [k for k in m if k not in keys]
    if unknown:
        raise ValueError(f"{name} names columns not shown: {unknown} (columns: {keys})")
    for k, v in m.items():
        if name == "fmt":
            if not (isinstance(v, str) or callable(v)):
                raise TypeError(f"fmt[{k!r}] must be a format spec or a callable, "
                                f"got {type(v).__name__}")
        elif not isinstance(v, str):
            raise TypeError(f"{name}[{k!r}] must be a str, got {type(v).__name__}")
    return dict(m)


def _format_cell(v, key, f) -> str:
    if _is_missing(v):
        return MISSING
    if f is None:
        text = _default_format(v)
    elif callable(f):
        text = f(v)
        if not isinstance(text, str):
            raise TypeError(f"fmt[{key!r}] must return a str, got {type(text).__name__}")
    elif isinstance(v, str):
        text = v  # a label in a numeric column (e.g. "n/a"): shown as is
    else:
        try:
            text = format(v, f)
        except (ValueError, TypeError) as e:
            raise ValueError(f"fmt[{key!r}] = {f!r} cannot format {v!r}: {e}") from None
    return " ".join(text.split("\n"))


def _render_text(labels, sub, cells, right, title, notes) -> str:
    ncol = len(labels)
    parts = [lab.split("\n") for lab in labels]
    nhead = max(len(p) for p in parts)
    widths = [max([len(x) for x in parts[j]] + [len(sub[j])] + [len(row[j]) for row in cells])
              for j in range(ncol)]

    def line(items):
        parts = [(s.rjust(w) if r else s.ljust(w))
                 for s, w, r in zip(items, widths, right, strict=True)]
        return "  ".join(parts).rstrip()

    out = [title] if title else []
    for i in range(nhead):  # multi-line labels: bottom-aligned
        out.append(line([(p[i - (nhead - len(p))] if i >= nhead - len(p) else "")
                         for p in parts]))
    if any(sub):
        out.append(line(sub))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(row) for row in cells)
    out.extend(notes)
    return "\n".join(out)
