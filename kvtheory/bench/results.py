r"""The benchmark's results: the table of rows, its schema, files and provenance.

:func:`kvtheory.bench.run_bench` returns a :class:`BenchResults`; this module
holds the results schema (:data:`COLUMNS`), the writers and the reader
(:meth:`BenchResults.to_csv`, :meth:`BenchResults.to_json`,
:func:`read_results`), the summary tables, and the provenance header
(:func:`provenance`) recorded with every run. Execution (serial and Dask)
is in :mod:`kvtheory.bench.runner`.

Results schema
--------------
One row per (method, budget, instance, seed); CSV with ``# `` comment lines
(schema and the run's configuration with its provenance, as JSON) and a
header line, or JSON ``{"schema": "kvtheory.bench/2", "columns": {...},
"config": {...}, "rows": [...]}``. In JSON a non-finite number (an infinite
entrywise error) is written as ``null``; in CSV as ``inf``; a missing value is
``null`` / empty. :func:`read_results` reads both.

=====================  =======  ===================================================
column                 type     meaning
=====================  =======  ===================================================
method                 str      registry key (or the class name of a reader's method;
                                ``Name@file`` when two classes share a name)
kind                   str      ``oblivious`` / ``adaptive`` / ``query-aware``
param                  str      the parameter setting the budget selected
params                 object   the same as structured fields, e.g. ``{"W": 16,
                                "dtype": "fp16"}``
instance               str      instance key
family                 str      ``hard`` or ``benign``
n                      int      tokens streamed (before the probes)
d, d_v                 int      key and value dimensions
seed                   int      run seed; the instance and the method are drawn from
                                two independent children of ``SeedSequence(seed)``
budget                 float    fraction of the exact cache's bits
budget_bits            int      ``floor(budget * exact_bits)``
exact_bits             int      bits of the float64 exact cache on this stream
memory_bits            int      ``memory_bits()`` after the stream (measured)
within_budget          bool     ``memory_bits <= budget_bits``
n_probes               int      probe queries asked
err_entrywise_max      float    worst over probes of ``kv.entrywise_error``
err_entrywise_mean     float    mean over probes (``inf`` if any probe is ``inf``)
err_additive_max       float    worst ``kv.additive_error``
err_additive_mean      float    mean ``kv.additive_error``
err_l2_max             float    worst ``kv.l2_error_ratio``
err_l2_mean            float    mean ``kv.l2_error_ratio``
success                float    fraction of planted bits decoded (decoding instances)
info_bits              int      planted bits of an INDEX instance (else null)
ceiling                float    ``index_success_ceiling(ceiling_memory_bits, info_bits)``
ceiling_memory_bits    int      the largest ``memory_bits`` the method reached on any
                                seed of this (instance, budget) cell: the bound speaks
                                of the number of states over all inputs
exceeds_ceiling        bool     the referee (:mod:`kvtheory.bench.runner`); null
                                without a ceiling
sec_per_token          float    wall time of the streaming phase per token (a method
                                whose state ignores the queries streams an instance's
                                tokens with one ``extend``: its prefill time)
status                 str      ``ok``, or one line naming the method, the failing
                                stage and the error
=====================  =======  ===================================================
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..tables import Table

__all__ = ["COLUMNS", "BenchResults", "read_results", "provenance"]

#: Column names and meanings (the schema above).
COLUMNS = {
    "method": "registry key (or class name of a reader's method)",
    "kind": "oblivious / adaptive / query-aware",
    "param": "parameter setting selected by the budget (text)",
    "params": "the same setting as structured fields (JSON object; in CSV a JSON string)",
    "instance": "instance key",
    "family": "hard or benign",
    "n": "tokens streamed before the probes",
    "d": "key dimension",
    "d_v": "value dimension",
    "seed": "run seed: instance and method from SeedSequence(seed).spawn(2)",
    "budget": "fraction of the exact cache's bits",
    "budget_bits": "floor(budget * exact_bits)",
    "exact_bits": "bits of the float64 exact cache on this stream",
    "memory_bits": "memory_bits() after the stream",
    "within_budget": "memory_bits <= budget_bits",
    "n_probes": "probe queries asked",
    "err_entrywise_max": "worst entrywise error over probes",
    "err_entrywise_mean": "mean entrywise error over probes",
    "err_additive_max": "worst additive error over probes",
    "err_additive_mean": "mean additive error over probes",
    "err_l2_max": "worst l2 error ratio over probes",
    "err_l2_mean": "mean l2 error ratio over probes",
    "success": "fraction of planted bits decoded (null if none planted)",
    "info_bits": "planted bits of an INDEX instance (null otherwise)",
    "ceiling": "index_success_ceiling(ceiling_memory_bits, info_bits) (null otherwise)",
    "ceiling_memory_bits": "largest memory_bits of the method on any seed of this cell",
    "exceeds_ceiling": "referee: success > ceiling + 3 * sqrt(ceiling * (1 - ceiling) / "
                       "n_probes) (memory under-counted?); null without a ceiling",
    "sec_per_token": "streaming wall time per token, seconds (one extend for a method "
                     "whose state ignores the queries)",
    "status": "ok, or one line: the method, the failing stage and the error",
}


def provenance(specs=(), *, command: str | None = None) -> dict:
    """Where a result came from: versions, commit, platform, command, method sources.

    Returns a dict with ``kvtheory``, ``git_commit`` (``None`` outside a git
    checkout), ``git_dirty``, ``python``, ``numpy``, ``platform``, ``command``
    and ``methods``: ``{key: {"class", "source", "sha256"}}`` (the file that
    defines each method's class and its SHA-256).
    """
    import hashlib
    import inspect
    import platform
    import shlex
    import subprocess

    from .. import __version__

    root = Path(__file__).resolve().parents[2]
    commit = dirty = None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=5,
                                check=True).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                     "--untracked-files=no"], capture_output=True, text=True,
                                    timeout=5, check=True).stdout.strip())
    except Exception:                              # no git, or not a checkout
        commit = dirty = None
    methods = {}
    for spec in specs:
        entry = {"class": None, "source": None, "sha256": None}
        try:
            cls = spec.cls
            if cls is None:
                cls = type(spec.make(spec.grid(16, 4, 4)[0], 0))
            entry["class"] = f"{cls.__module__}.{cls.__qualname__}"
            src = inspect.getsourcefile(cls)
            if src:
                entry["source"] = str(src)
                entry["sha256"] = hashlib.sha256(Path(src).read_bytes()).hexdigest()
        except Exception as exc:                   # the method cannot even be built
            entry["error"] = " ".join(str(exc).split())[:200]
        methods[spec.key] = entry
    return {"kvtheory": __version__, "git_commit": commit, "git_dirty": dirty,
            "python": platform.python_version(), "numpy": np.__version__,
            "platform": platform.platform(),
            "command": command if command is not None else shlex.join(sys.argv),
            "methods": methods}


_SCHEMA = "kvtheory.bench/2"
_READABLE = ("kvtheory.bench/1", _SCHEMA)


@dataclass
class BenchResults:
    """The rows of a benchmark run and the configuration that produced them.

    ``config`` holds the run's arguments, ``provenance`` (see
    :func:`provenance`), ``started``/``finished`` (UTC, ISO 8601) and
    ``interrupted`` (Ctrl-C: the rows finished so far).
    """

    rows: list[dict]
    config: dict = field(default_factory=dict)

    # ------------------------------------------------------------ summaries
    def failures(self) -> list[dict]:
        """Rows whose ``status`` is not ``ok``."""
        return [r for r in self.rows if r["status"] != "ok"]

    def failure_summary(self) -> str:
        """One line per failing method: how many of its cells failed, and the first reason."""
        per: dict = {}
        for r in self.rows:
            tot, bad, first = per.get(r["method"], (0, 0, None))
            if r["status"] != "ok":
                bad, first = bad + 1, first or r["status"]
            per[r["method"]] = (tot + 1, bad, first)
        lines = [f"FAILED {m}: {bad} of {tot} cells; first: {first}"
                 for m, (tot, bad, first) in per.items() if bad]
        return "\n".join(lines)

    def flagged(self) -> list[dict]:
        """Rows the referee flagged (``exceeds_ceiling``): memory under-counted?"""
        return [r for r in self.rows if r.get("exceeds_ceiling")]

    def flagged_summary(self) -> str:
        """The flagged rows, one line each, under the heading "memory under-counted?"."""
        fl = self.flagged()
        if not fl:
            return "memory under-counted? none: no success above its ceiling + 3 SE"
        lines = [f"memory under-counted? {len(fl)} rows beat the INDEX ceiling by more than "
                 "3 standard errors:"]
        for r in fl:
            lines.append(f"  {r['method']} on {r['instance']} (budget {r['budget']:g}, seed "
                         f"{r['seed']}): success {r['success']:.2f} > ceiling "
                         f"{r['ceiling']:.2f} at {r['ceiling_memory_bits']} reported bits")
        return "\n".join(lines)

    # ------------------------------------------------------------ writers
    def _header_lines(self) -> list[str]:
        return [f"# schema: {_SCHEMA}", "# config: " + json.dumps(self.config, default=str)]

    def to_csv(self, path) -> Path:
        """Write the table as CSV: ``# `` comment lines (schema, config with provenance),
        then a header line; ``inf`` for infinite, empty for null, ``params`` as JSON."""
        path = Path(path)
        with path.open("w", newline="") as fh:
            for line in self._header_lines():
                fh.write(line + "\n")
            w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
            w.writeheader()
            for r in self.rows:
                w.writerow({k: ("" if r.get(k) is None else
                                json.dumps(r[k]) if isinstance(r[k], dict) else r[k])
                            for k in COLUMNS})
        return path

    def to_json(self, path) -> Path:
        """Write ``{"schema", "columns", "config", "rows"}`` (non-finite numbers as null)."""
        def clean(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v
        doc = {"schema": _SCHEMA, "columns": COLUMNS, "config": self.config,
               "rows": [{k: clean(r.get(k)) for k in COLUMNS} for r in self.rows]}
        path = Path(path)
        path.write_text(json.dumps(doc, indent=1, allow_nan=False, default=str))
        return path

    def select(self, **where) -> list[dict]:
        """Rows whose columns equal the given values, e.g. ``select(method="kivi")``."""
        return [r for r in self.rows if all(r.get(k) == v for k, v in where.items())]

    def pivot(self, value: str = "err_additive_max", *, budget: float) -> dict:
        """``{(method, instance): mean over seeds of value}`` at one budget (ok rows)."""
        acc: dict = {}
        for r in self.rows:
            if r["budget"] == budget and r["status"] == "ok" and r[value] is not None:
                acc.setdefault((r["method"], r["instance"]), []).append(float(r[value]))
        return {k: float(np.mean(v)) for k, v in acc.items()}

    def table(self, value: str = "err_additive_max", *, budget: float, fmt: str = "{:.2f}",
              show_bits: bool = True, width: int = 10, instances=None) -> Table:
        """A table method x instance of ``value`` (seed mean) at ``budget``.

        A :class:`kvtheory.Table`: an HTML table in Jupyter and the book,
        aligned text under ``print`` (the command line prints it so).
        Instance names are shown in full, broken at hyphens into header lines
        of at most ``width`` characters in the text form. With ``show_bits``
        two last columns give each method's measured ``memory_bits`` and its
        memory as a fraction of the exact cache (means over instances and
        seeds), marked ``*`` if any run exceeded its budget (explained under
        the table); every entry of a cell with such a run is starred too.
        ``-``: no value (nothing planted, or no successful run); ``!``: the
        referee flagged a row. ``instances``: the instance columns to show
        (default: all; a page column holds about seven, so the book shows the
        hard and the benign instances as two tables).
        """
        if value not in COLUMNS:
            raise ValueError(f"value must be one of {sorted(COLUMNS)}, got {value!r}")
        piv = self.pivot(value, budget=budget)
        methods = list(dict.fromkeys(r["method"] for r in self.rows))
        insts = list(dict.fromkeys(r["instance"] for r in self.rows))
        if instances is not None:
            unknown = [i for i in instances if i not in insts]
            if unknown or isinstance(instances, str):
                raise ValueError(f"instances must be a list of instances of the run "
                                 f"{insts}, got {instances!r}")
            insts = list(instances)
        columns = [("method", "method")] + [(i, "\n".join(_wrap(i, width))) for i in insts]
        if show_bits:
            columns += [("mem_bits", "memory"), ("mem_frac", "mem/exact")]
        any_over = any_flag = any_missing = False
        records = []
        for m in methods:
            rec = {"method": m}
            for i in insts:
                v = piv.get((m, i))
                cell = self.select(method=m, instance=i, budget=budget)
                flag = any(r.get("exceeds_ceiling") for r in cell)
                over = v is not None and any(r["within_budget"] is False for r in cell)
                any_flag |= flag
                any_over |= over
                any_missing |= v is None
                rec[i] = (("-" if v is None else fmt.format(v)) + ("*" if over else "")
                          + ("!" if flag else ""))
            if show_bits:
                rs = [r for r in self.select(method=m, budget=budget)
                      if r["status"] == "ok" and r["instance"] in insts]
                if rs:
                    frac = np.mean([r["memory_bits"] / r["exact_bits"] for r in rs])
                    bits = np.mean([r["memory_bits"] for r in rs])
                    over = "*" if not all(r["within_budget"] for r in rs) else ""
                    any_over |= over == "*"
                    rec["mem_bits"] = f"{bits:.0f}"
                    rec["mem_frac"] = f"{frac:.4f}{over}"
                else:
                    rec["mem_bits"] = rec["mem_frac"] = "-"
            records.append(rec)
        notes = []
        if any_over:
            notes.append("* some run used more memory than the budget: no setting of the "
                         "method's parameter fits it (the cheapest one ran)")
        if any_flag:
            notes.append("! the referee flagged a run: success above the INDEX ceiling + 3 SE "
                         "(memory under-counted?)")
        if any_missing:
            notes.append("- no value: nothing planted (benign instance, for success) or no "
                         "successful run")
        return Table(records, columns, units={"mem_bits": "bits"} if show_bits else None,
                     align={k: "right" for k, _ in columns[1:]},
                     title=f"{value} at budget {budget:g} (mean over seeds)", notes=notes)

def _wrap(name: str, width: int) -> list[str]:
    """Split ``name`` at hyphens into lines of at most ``width`` characters (when possible)."""
    parts = name.split("-")
    lines, cur = [], ""
    for i, p in enumerate(parts):
        piece = p + ("-" if i < len(parts) - 1 else "")
        if cur and len(cur) + len(piece) > width:
            lines.append(cur)
            cur = piece
        else:
            cur += piece
    lines.append(cur)
    return lines


_INT = {"n", "d", "d_v", "seed", "budget_bits", "exact_bits", "memory_bits", "n_probes",
        "info_bits", "ceiling_memory_bits"}
_BOOL = {"within_budget", "exceeds_ceiling"}
_STR = {"method", "kind", "param", "instance", "family", "status"}


def _from_csv_cell(col: str, text: str):
    if text == "":
        return None
    if col in _STR:
        return text
    if col == "params":
        return json.loads(text)
    if col in _BOOL:
        return text == "True"
    if col in _INT:
        return int(text)
    return float(text)


def read_results(path) -> BenchResults:
    """Read a results file written by :meth:`BenchResults.to_json` or :meth:`~BenchResults.to_csv`.

    The format is taken from the content: a JSON document
    (``kvtheory.bench/1`` or ``/2``), or a CSV file with the ``# schema:`` /
    ``# config:`` comment header and the column header.

    Raises
    ------
    ValueError
        If the file is neither, naming what was expected.
    """
    path = Path(path)
    text = path.read_text()
    head = text.lstrip()[:1]
    if head == "{":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"path {str(path)!r}: not valid JSON ({exc}); expected a "
                             "results.json or results.csv of python -m kvtheory bench") from exc
        if not isinstance(doc, dict) or doc.get("schema") not in _READABLE:
            raise ValueError(f"path {str(path)!r} is not a kvtheory.bench result file "
                             f"(schema {doc.get('schema') if isinstance(doc, dict) else None!r})")
        rows = doc["rows"]
        for r in rows:
            for c in COLUMNS:
                r.setdefault(c, None)
        return BenchResults(rows=rows, config=doc.get("config", {}))
    lines = text.splitlines()
    config, body = {}, []
    for ln in lines:
        if ln.startswith("# config: "):
            config = json.loads(ln[len("# config: "):])
        elif not ln.startswith("#"):
            body.append(ln)
    if not body or body[0].split(",")[0] != "method":
        raise ValueError(f"path {str(path)!r} is neither a kvtheory.bench JSON result nor a "
                         "results CSV (expected a header line starting with 'method')")
    reader = csv.DictReader(io.StringIO("\n".join(body)))
    rows = [{c: _from_csv_cell(c, r.get(c, "") or "") for c in COLUMNS} for r in reader]
    return BenchResults(rows=rows, config=config)
