r"""Run every (method, budget, instance, seed) and collect a tidy table.

For each cell the runner draws the instance, builds the method at the
parameter its budget selects (:mod:`kvtheory.bench.methods`), streams the
instance's tokens (``step`` when the instance has queries, ``append``
otherwise), reads ``memory_bits()``, and then asks every probe query on a
copy of the final state (as Bob does in the INDEX game). Cells of one
(instance, seed) run in one task; tasks run in parallel processes
(:mod:`concurrent.futures`) when ``jobs > 1``. Two budgets that select the
same parameter share one run.

Results schema
--------------
One row per (method, budget, instance, seed); CSV with a header line, or JSON
``{"schema": "kvtheory.bench/1", "columns": {...}, "config": {...},
"rows": [...]}``. In JSON a non-finite number (an infinite entrywise error)
is written as ``null``; in CSV as ``inf``; a missing value is ``null`` /
empty.

=====================  =======  ===================================================
column                 type     meaning
=====================  =======  ===================================================
method                 str      registry key (or the class name of a reader's method)
kind                   str      ``oblivious`` / ``adaptive`` / ``query-aware``
param                  str      the parameter setting the budget selected
instance               str      instance key
family                 str      ``hard`` or ``benign``
n                      int      tokens streamed (before the probes)
d, d_v                 int      key and value dimensions
seed                   int      seed of the instance and of the method
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
ceiling                float    ``index_success_ceiling(memory_bits, info_bits)``
sec_per_token          float    wall time of the streaming phase per token
status                 str      ``ok``, or the error the method raised
=====================  =======  ===================================================
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._validate import check_int, check_real
from ..attention import additive_error, attention, entrywise_error, l2_error_ratio
from ..communication import index_success_ceiling
from ..instances.index import decode_bits
from ..stream import StreamingAttention
from .instances import INSTANCES, BenchInstance, make_instance
from .methods import DEFAULT_METHODS, METHODS, MethodSpec, choose, exact_bits, method_from_class

__all__ = ["COLUMNS", "DEFAULT_BUDGETS", "BenchResults", "run_bench", "run_cell", "score",
           "read_results"]

#: Default budgets (fractions of the exact cache's bits).
DEFAULT_BUDGETS = (0.003, 0.01, 0.03, 0.1, 0.3)

#: Column names and meanings (the schema above).
COLUMNS = {
    "method": "registry key (or class name of a reader's method)",
    "kind": "oblivious / adaptive / query-aware",
    "param": "parameter setting selected by the budget",
    "instance": "instance key",
    "family": "hard or benign",
    "n": "tokens streamed before the probes",
    "d": "key dimension",
    "d_v": "value dimension",
    "seed": "seed of the instance and the method",
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
    "ceiling": "index_success_ceiling(memory_bits, info_bits) (null otherwise)",
    "sec_per_token": "streaming wall time per token, seconds",
    "status": "ok, or the error the method raised",
}

_ERR = ("err_entrywise_max", "err_entrywise_mean", "err_additive_max", "err_additive_mean",
        "err_l2_max", "err_l2_mean")


def _stream(alg: StreamingAttention, inst: BenchInstance) -> float:
    t0 = time.perf_counter()
    if inst.Q is None:
        for k, v in zip(inst.K, inst.V, strict=True):
            alg.append(k, v)
    else:
        for q, k, v in zip(inst.Q, inst.K, inst.V, strict=True):
            alg.step(q, k, v)
    return (time.perf_counter() - t0) / inst.n


def _probe(alg: StreamingAttention, inst: BenchInstance) -> np.ndarray:
    Z = np.empty((inst.probes.shape[0], inst.d_v))
    zk, zv = np.zeros(inst.d), np.zeros(inst.d_v)
    for j, q in enumerate(inst.probes):
        a = copy.deepcopy(alg)
        Z[j] = a.step(q, zk, zv) if inst.pad else a.attend(q)
    return Z


def score(Z_hat, inst: BenchInstance) -> dict:
    """Errors in the book's three notions, and the decoded fraction, of answers ``Z_hat``.

    Parameters
    ----------
    Z_hat : numpy.ndarray, shape ``(m, d_v)``
        An algorithm's answers to the ``m`` probes of ``inst``.
    inst : BenchInstance

    Returns
    -------
    dict
        The ``err_*`` columns and ``success`` (``None`` where nothing is planted).
    """
    K, V = inst.reference()
    ent, add, l2 = [], [], []
    for q, z_hat in zip(inst.probes, Z_hat, strict=True):
        z = attention(q, K, V)
        ent.append(entrywise_error(z_hat, z))
        add.append(additive_error(z_hat, z))
        l2.append(l2_error_ratio(z_hat, q, K, V))
    out = {"err_entrywise_max": max(ent), "err_entrywise_mean": float(np.mean(ent)),
           "err_additive_max": max(add), "err_additive_mean": float(np.mean(add)),
           "err_l2_max": max(l2), "err_l2_mean": float(np.mean(l2)), "success": None}
    if inst.targets is not None:
        truth = inst.V[inst.targets]
        out["success"] = float(np.mean(decode_bits(Z_hat, truth, inst.tau) == truth))
    return out


def run_cell(spec: MethodSpec, inst: BenchInstance, *, budget: float, seed: int,
             param=None) -> dict:
    """One row of the table: ``spec`` at ``budget`` on the instance ``inst``.

    ``param`` overrides the grid choice (the runner passes the one it chose).
    A method that raises gets a row with ``status`` set to the error and
    null errors; the benchmark never stops for one method.

    Examples
    --------
    >>> from kvtheory.bench import METHODS, make_instance, run_cell
    >>> inst = make_instance("index", 64, 24, seed=0)
    >>> row = run_cell(METHODS["signbit"], inst, budget=0.05, seed=0)
    >>> row["param"], row["memory_bits"], row["within_budget"], row["success"]
    ('capacity=64', 3328, True, 1.0)
    """
    eb = exact_bits(inst.n, inst.d, inst.d_v)
    bb = int(math.floor(budget * eb))
    row = {"method": spec.key, "kind": "?", "param": "", "instance": inst.name,
           "family": inst.family, "n": inst.n, "d": inst.d, "d_v": inst.d_v, "seed": seed,
           "budget": budget, "budget_bits": bb, "exact_bits": eb, "memory_bits": None,
           "within_budget": None, "n_probes": int(inst.probes.shape[0]),
           **{c: None for c in _ERR}, "success": None, "info_bits": inst.info_bits,
           "ceiling": None, "sec_per_token": None, "status": "ok"}
    try:
        if spec.from_budget is not None:
            alg = spec.from_budget(bb, inst.n, inst.d, inst.d_v, seed)
            row["param"] = "from_budget"
        else:
            if param is None:
                param = choose(spec, bb, inst.n, inst.d, inst.d_v, data=(inst.K, inst.V))[0]
            alg = spec.make(param, seed)
            row["param"] = spec.describe(param)
        if not isinstance(alg, StreamingAttention):
            raise TypeError(f"the method built a {type(alg).__name__}, "
                            "not a StreamingAttention")
        row["kind"] = alg.kind
        row["sec_per_token"] = _stream(alg, inst)
        bits = int(alg.memory_bits())
        row["memory_bits"], row["within_budget"] = bits, bits <= bb
        if inst.info_bits is not None:
            row["ceiling"] = float(index_success_ceiling(bits, inst.info_bits))
        row.update(score(_probe(alg, inst), inst))
    except Exception as exc:                      # a reader's method may fail: record it
        row["status"] = f"{type(exc).__name__}: {exc}"
    return row


# ------------------------------------------------------------------ parallel
_CTX: dict = {}


def _task(inst_key: str, seed: int) -> list[dict]:
    specs, n, d, budgets, choices = (_CTX[k] for k in ("specs", "n", "d", "budgets", "choices"))
    inst = make_instance(inst_key, n, d, seed=seed)
    rows, done = [], {}
    for spec in specs:
        for b in budgets:
            p = choices.get((spec.key, inst_key, b))
            memo = (spec.key, repr(p)) if spec.from_budget is None else None
            if memo is not None and memo in done:
                row = dict(done[memo])
                row["budget"] = b
                row["budget_bits"] = int(math.floor(b * row["exact_bits"]))
                if row["memory_bits"] is not None:
                    row["within_budget"] = row["memory_bits"] <= row["budget_bits"]
            else:
                row = run_cell(spec, inst, budget=b, seed=seed, param=p)
                if memo is not None:
                    done[memo] = row
            rows.append(row)
    return rows


@dataclass
class BenchResults:
    """The rows of a benchmark run and the configuration that produced them."""

    rows: list[dict]
    config: dict = field(default_factory=dict)

    def to_csv(self, path) -> Path:
        """Write the table as CSV (header line, ``inf`` for infinite, empty for null)."""
        path = Path(path)
        with path.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
            w.writeheader()
            for r in self.rows:
                w.writerow({k: ("" if r[k] is None else r[k]) for k in COLUMNS})
        return path

    def to_json(self, path) -> Path:
        """Write ``{"schema", "columns", "config", "rows"}`` (non-finite numbers as null)."""
        def clean(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v
        doc = {"schema": "kvtheory.bench/1", "columns": COLUMNS, "config": self.config,
               "rows": [{k: clean(r[k]) for k in COLUMNS} for r in self.rows]}
        path = Path(path)
        path.write_text(json.dumps(doc, indent=1, allow_nan=False))
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
              show_bits: bool = True) -> str:
        """A text table method x instance of ``value`` (seed mean) at ``budget``.

        With ``show_bits`` two last columns give each method's measured
        ``memory_bits`` and its memory as a fraction of the exact cache (means
        over instances and seeds), marked ``*`` if any run exceeded its budget.
        """
        if value not in COLUMNS:
            raise ValueError(f"value must be one of {sorted(COLUMNS)}, got {value!r}")
        piv = self.pivot(value, budget=budget)
        methods = list(dict.fromkeys(r["method"] for r in self.rows))
        insts = list(dict.fromkeys(r["instance"] for r in self.rows))
        w = max(8, *(len(m) for m in methods))
        cols = [i[:12] for i in insts]
        out = io.StringIO()
        out.write(f"{value} at budget {budget:g} (mean over seeds)\n")
        out.write(f"{'method':<{w}} " + " ".join(f"{c:>12}" for c in cols)
                  + ("    mem bits  mem/exact" if show_bits else "") + "\n")
        for m in methods:
            cells = []
            for i in insts:
                v = piv.get((m, i))
                cells.append(f"{'-' if v is None else fmt.format(v):>12}")
            line = f"{m:<{w}} " + " ".join(cells)
            if show_bits:
                rs = [r for r in self.select(method=m, budget=budget) if r["status"] == "ok"]
                if rs:
                    frac = np.mean([r["memory_bits"] / r["exact_bits"] for r in rs])
                    bits = np.mean([r["memory_bits"] for r in rs])
                    over = "*" if not all(r["within_budget"] for r in rs) else " "
                    line += f"  {bits:10.0f}  {frac:9.4f}{over}"
            out.write(line + "\n")
        return out.getvalue()


def read_results(path) -> BenchResults:
    """Read a JSON file written by :meth:`BenchResults.to_json`.

    Raises
    ------
    ValueError
        If the file is not a kvtheory benchmark result.
    """
    doc = json.loads(Path(path).read_text())
    if not isinstance(doc, dict) or doc.get("schema") != "kvtheory.bench/1":
        raise ValueError(f"path {str(path)!r} is not a kvtheory.bench/1 result file")
    return BenchResults(rows=doc["rows"], config=doc.get("config", {}))


def _as_specs(methods) -> list[MethodSpec]:
    if methods is None:
        return [METHODS[k] for k in DEFAULT_METHODS]
    if isinstance(methods, (str, MethodSpec)) or isinstance(methods, type):
        methods = [methods]
    specs = []
    for m in methods:
        if isinstance(m, MethodSpec):
            specs.append(m)
        elif isinstance(m, str):
            if m not in METHODS:
                raise ValueError(f"methods: unknown method {m!r}; choose from {sorted(METHODS)}")
            specs.append(METHODS[m])
        elif isinstance(m, type):
            specs.append(method_from_class(m))
        else:
            raise TypeError("methods must be registry keys, MethodSpec objects or "
                            f"StreamingAttention subclasses, got {type(m).__name__}")
    keys = [s.key for s in specs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"methods: duplicate method names in {keys}")
    return specs


def run_bench(methods=None, instances=None, *, n: int = 256, d: int = 24,
              budgets=DEFAULT_BUDGETS, seeds=(0, 1), jobs: int = 1,
              progress: bool = False) -> BenchResults:
    r"""Run the benchmark: every method at every budget on every instance and seed.

    Parameters
    ----------
    methods : list, optional
        Registry keys of :data:`~kvtheory.bench.METHODS`, :class:`MethodSpec`
        objects, or StreamingAttention subclasses (see
        :func:`~kvtheory.bench.methods.method_from_class`); default
        :data:`~kvtheory.bench.DEFAULT_METHODS`.
    instances : list of str, optional
        Keys of :data:`~kvtheory.bench.INSTANCES`; default all.
    n, d : int
        Stream length (``>= 16``) and dimension (``>= 4``).
    budgets : sequence of float
        Fractions of the exact cache's bits, each in ``(0, 1]``.
    seeds : sequence of int
        Seeds; each gives a fresh draw of every instance and method.
    jobs : int
        Worker processes (``1``: run in this process). Needs the ``fork``
        start method for ``jobs > 1`` (Linux); elsewhere runs serially.
    progress : bool
        Show a progress bar (tqdm if installed, else a counter on stderr).

    Returns
    -------
    BenchResults

    Raises
    ------
    ValueError, TypeError
        For unknown methods or instances and out-of-range arguments.

    Examples
    --------
    >>> from kvtheory.bench import run_bench
    >>> res = run_bench(["window", "signbit"], ["index"], n=64, d=24, budgets=[0.05],
    ...                 seeds=[0])
    >>> [(r["method"], f'{r["success"]:.2f}', r["within_budget"]) for r in res.rows]
    [('window', '0.55', True), ('signbit', '1.00', True)]
    """
    specs = _as_specs(methods)
    if instances is None:
        instances = list(INSTANCES)
    if isinstance(instances, str):
        instances = [instances]
    for i in instances:
        if i not in INSTANCES:
            raise ValueError(f"instances: unknown instance {i!r}; choose from {sorted(INSTANCES)}")
    if not instances:
        raise ValueError("instances must not be empty")
    n = check_int(n, "n", lo=16)
    d = check_int(d, "d", lo=4)
    budgets = [check_real(b, "budgets", lo=0, hi=1, lo_open=True) for b in budgets]
    if not budgets:
        raise ValueError("budgets must not be empty")
    seeds = [check_int(s, "seeds", lo=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must not be empty")
    jobs = check_int(jobs, "jobs", lo=1)

    # parameter choices, once, in this process (instance shapes do not depend on the seed)
    choices = {}
    for i in instances:
        inst = make_instance(i, n, d, seed=0)
        for spec in specs:
            if spec.from_budget is None:
                for b in budgets:
                    bb = int(math.floor(b * exact_bits(inst.n, inst.d, inst.d_v)))
                    choices[(spec.key, i, b)] = choose(spec, bb, inst.n, inst.d, inst.d_v,
                                                       data=(inst.K, inst.V))[0]
    _CTX.update(specs=specs, n=n, d=d, budgets=budgets, choices=choices)
    tasks = [(i, s) for i in instances for s in seeds]
    config = {"methods": [s.key for s in specs], "instances": list(instances), "n": n, "d": d,
              "budgets": budgets, "seeds": seeds, "jobs": jobs}
    bar = _progress(len(tasks)) if progress else None
    results: dict = {}
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    if jobs == 1 or ctx is None or len(tasks) == 1:
        for t in tasks:
            results[t] = _task(*t)
            if bar:
                bar()
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=ctx) as ex:
            futs = {ex.submit(_task, *t): t for t in tasks}
            for f in as_completed(futs):
                results[futs[f]] = f.result()
                if bar:
                    bar()
    if bar:
        bar(close=True)
    rows = [r for t in tasks for r in results[t]]
    return BenchResults(rows=rows, config=config)


def _progress(total: int):
    try:
        from tqdm import tqdm
        t = tqdm(total=total, desc="bench", unit="task", file=sys.stderr)

        def step(close=False):
            t.close() if close else t.update(1)
    except ImportError:                            # pragma: no cover
        state = {"i": 0}

        def step(close=False):
            if close:
                print(file=sys.stderr)
                return
            state["i"] += 1
            print(f"\rbench: {state['i']}/{total} tasks", end="", file=sys.stderr, flush=True)
    return step
