r"""Run every (method, budget, instance, seed) and collect a tidy table.

For each cell the runner draws the instance, builds the method at the
parameter its budget selects (:mod:`kvtheory.bench.methods`), streams the
instance's tokens (``step`` when the instance has queries, one ``extend``
otherwise), reads ``memory_bits()``, and then asks every probe query on a
copy of the final state (as Bob does in the INDEX game). A *cell* is one
method on one instance and seed, at every budget; cells run in this process
(``jobs=1``), on a local Dask pool of ``jobs`` processes, or on an existing
Dask cluster (``scheduler=``), with the same rows. Two budgets that select
the same parameter share one run.

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
exceeds_ceiling        bool     the referee (below); null without a ceiling
sec_per_token          float    wall time of the streaming phase per token
status                 str      ``ok``, or one line naming the method, the failing
                                stage and the error
=====================  =======  ===================================================

The referee
-----------
No algorithm keeping :math:`S` bits decodes the planted bits of an INDEX
instance with expected success above the ceiling :math:`1-H_2^{-1}(1-S/N)`.
A row is flagged (``exceeds_ceiling = true``, listed after the run as
"memory under-counted?") iff

.. math:: \hat p > c + 3\sqrt{c(1-c)/m},

with :math:`c` the ceiling at the cell's largest memory and :math:`m` the
number of probes: the success exceeds the ceiling by more than three
standard errors of a binomial rate at the ceiling. A flagged row means the
method's ``memory_bits()`` very likely counts less than it keeps.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import math
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._validate import check_int, check_real
from ..game import Transcript, play
from ..game import score as score_game
from ..information import index_success_ceiling
from ..stream import StreamingAttention
from ..tables import Table
from .instances import DEFAULT_INSTANCES, INSTANCES, BenchInstance, make_instance
from .methods import DEFAULT_METHODS, METHODS, MethodSpec, choose, exact_bits, method_from_class

__all__ = ["COLUMNS", "DEFAULT_BUDGETS", "BenchResults", "run_bench", "run_cell", "score",
           "read_results"]

#: Default budgets (fractions of the exact cache's bits).
DEFAULT_BUDGETS = (0.003, 0.01, 0.03, 0.1, 0.3)

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
    "sec_per_token": "streaming wall time per token, seconds",
    "status": "ok, or one line: the method, the failing stage and the error",
}

_ERR = ("err_entrywise_max", "err_entrywise_mean", "err_additive_max", "err_additive_mean",
        "err_l2_max", "err_l2_mean")


def score(Z_hat, inst: BenchInstance) -> dict:
    """Errors in the book's three notions, and the decoded fraction, of answers ``Z_hat``.

    A thin layer over :func:`kvtheory.game.score` (which scores a whole
    transcript, memory and ceiling included).

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
    tr = Transcript(algorithm="?", kind="?", outputs=np.asarray(Z_hat, dtype=np.float64),
                    memory_bits=0, sec_per_token=float("nan"))
    sc = score_game(tr, inst).as_dict()
    return {k: sc[k] for k in (*_ERR, "success")}


def cell_seeds(seed: int) -> tuple[np.random.Generator, int]:
    r"""The instance's generator and the method's seed of run ``seed``: two independent streams.

    Both are spawned from one :class:`numpy.random.SeedSequence` ``(seed)``, so the
    method never draws from the generator that drew the instance (the method
    cannot replay the instance's randomness).

    Examples
    --------
    >>> from kvtheory.bench.runner import cell_seeds
    >>> rng, method_seed = cell_seeds(0)
    >>> method_seed == cell_seeds(0)[1], method_seed != 0
    (True, True)
    """
    seed = check_int(seed, "seed", lo=0)
    inst_ss, meth_ss = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(inst_ss), int(meth_ss.generate_state(1, dtype=np.uint32)[0])


def tuning_instance(key: str, n: int, d: int) -> BenchInstance:
    """An independent draw of instance ``key`` for data-dependent parameter choice.

    Drawn from ``SeedSequence(0).spawn(3)[2]``, a stream that no run's
    instance or method uses (:func:`cell_seeds` spawns children 0 and 1), so
    the dry run of a data-dependent method (SubGen) never sees the tokens it
    is then evaluated on.
    """
    return make_instance(key, n, d, seed=np.random.default_rng(
        np.random.SeedSequence(0).spawn(3)[2]))


#: The referee's threshold, in standard errors.
REFEREE_SE = 3.0


def exceeds_ceiling(success, ceiling, n_probes) -> bool | None:
    r"""The referee: does ``success`` beat the INDEX ceiling by more than its sampling error?

    Rule: flagged iff :math:`\hat p > c + 3\,\mathrm{SE}`, with
    :math:`\mathrm{SE}=\sqrt{c(1-c)/m}` the standard error of a binomial
    success rate at the ceiling :math:`c` over the :math:`m` probes (the
    probes are the independent draws: the :math:`d_v` bits one probe decodes
    are not independent of each other, so counting probes, not bits, is the
    conservative choice). ``None`` where there is no ceiling.

    Examples
    --------
    >>> from kvtheory.bench.runner import exceeds_ceiling
    >>> exceeds_ceiling(1.0, 0.52, 16), exceeds_ceiling(0.6, 0.52, 16)
    (True, False)
    >>> exceeds_ceiling(0.9, None, 16) is None
    True
    """
    if success is None or ceiling is None or not n_probes:
        return None
    se = math.sqrt(max(ceiling * (1 - ceiling), 0.0) / n_probes)
    return bool(success > ceiling + REFEREE_SE * se + 1e-12)


_STAGES = {"__init__": "constructor", "__new__": "constructor", "attend": "answer",
           "from_budget": "from_budget", "dry_run_bits": "dry run",
           "_append": "_append", "_attend": "_attend", "memory_ledger": "memory_ledger",
           "memory_bits": "memory_bits", "check_memory_bits": "memory_bits",
           "deepcopy": "deep copy", "__deepcopy__": "deep copy", "_check_answer": "answer",
           "make": "constructor", "<lambda>": "constructor"}


def _find_stage(exc: BaseException) -> str:
    """The innermost known hook in ``exc``'s traceback (else ``"run"``)."""
    stage = "run"
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_name
        if name in _STAGES:
            stage = _STAGES[name]
        tb = tb.tb_next
    if stage == "run" and isinstance(exc, TypeError) and "__init__()" in str(exc):
        stage = "constructor"                      # a bad call has no frame of its own
    return stage


def failure_reason(key: str, exc: BaseException, stage: str | None = None) -> str:
    """One line naming the method, the failing stage and the error.

    The stage is the innermost known hook in the traceback (constructor,
    from_budget, dry run, _append, _attend, memory_bits, deep copy, answer),
    or ``stage`` when given.

    Examples
    --------
    >>> from kvtheory.bench.runner import failure_reason
    >>> failure_reason("mine", ValueError("bad  thing"), "constructor")
    'mine: constructor failed: ValueError: bad thing'
    """
    stage = _find_stage(exc) if stage is None else stage
    msg = " ".join(str(exc).split())
    if len(msg) > 240:
        msg = msg[:237] + "..."
    return f"{key}: {stage} failed: {type(exc).__name__}: {msg}"


def _blank_row(spec: MethodSpec, inst: BenchInstance, budget: float, seed: int) -> dict:
    eb = exact_bits(inst.n, inst.d, inst.d_v)
    return {"method": spec.key, "kind": "?", "param": "", "params": {}, "instance": inst.name,
            "family": inst.family, "n": inst.n, "d": inst.d, "d_v": inst.d_v, "seed": seed,
            "budget": budget, "budget_bits": int(math.floor(budget * eb)), "exact_bits": eb,
            "memory_bits": None, "within_budget": None,
            "n_probes": int(inst.probes.shape[0]), **{c: None for c in _ERR},
            "success": None, "info_bits": inst.info_bits, "ceiling": None,
            "ceiling_memory_bits": None, "exceeds_ceiling": None, "sec_per_token": None,
            "status": "ok"}


def param_fields(text: str) -> dict:
    """``"W=16, fp16"`` -> ``{"W": 16, "dtype": "fp16"}``: the ``params`` column.

    Examples
    --------
    >>> from kvtheory.bench.runner import param_fields
    >>> param_fields("delta=0.5, t=s=8")
    {'delta': 0.5, 't': 8, 's': 8}
    >>> param_fields("fp32"), param_fields("from_budget")
    ({'dtype': 'fp32'}, {'setting': 'from_budget'})
    """
    out: dict = {}
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        if "=" in part:
            *names, val = part.split("=")
            try:
                num = float(val)
                v = int(num) if num.is_integer() and "." not in val else num
            except ValueError:
                v = val
            for nm in names:
                out[nm.strip()] = v
        elif part in ("fp16", "fp32", "fp64"):
            out["dtype"] = part
        else:
            out["setting"] = part
    return out


def run_cell(spec: MethodSpec, inst: BenchInstance, *, budget: float, seed: int,
             param=None, failed: str | None = None) -> dict:
    """One row of the table: ``spec`` at ``budget`` on the instance ``inst``.

    The method is seeded with the method half of :func:`cell_seeds` ``(seed)``
    (the instance should come from the other half, as :func:`run_bench`
    draws it). ``param`` overrides the grid choice (the runner passes the
    one it chose); without it a data-dependent method's dry run uses a
    Gaussian stream, never ``inst``'s own tokens.

    Every failure of the method (constructor, ``from_budget``, ``_append``,
    ``_attend``, ``memory_bits()`` not a non-negative integer, deep copy,
    wrong shape, complex answer) becomes the row's ``status``: one line
    naming the method and the stage (:func:`failure_reason`); non-finite
    answers too (the errors are then ``inf`` and those bits count as
    wrong). The benchmark never stops for one method. ``failed``: a reason
    found earlier (the parameter choice), recorded as is.

    Examples
    --------
    >>> from kvtheory.bench import METHODS, make_instance, run_cell
    >>> inst = make_instance("index", 64, 24, seed=0)
    >>> row = run_cell(METHODS["signbit"], inst, budget=0.05, seed=0)
    >>> row["param"], row["memory_bits"], row["within_budget"], row["success"]
    ('capacity=64', 3328, True, 1.0)
    """
    row = _blank_row(spec, inst, budget, seed)
    bb = row["budget_bits"]
    if failed is not None:
        row["status"] = failed
        return row
    _, mseed = cell_seeds(seed)
    try:
        if spec.from_budget is not None:
            alg = spec.from_budget(bb, inst.n, inst.d, inst.d_v, mseed)
            row["param"] = "from_budget"
        else:
            if param is None:
                param = choose(spec, bb, inst.n, inst.d, inst.d_v)[0]
            alg = spec.make(param, mseed)
            row["param"] = spec.describe(param)
        row["params"] = param_fields(row["param"])
        if not isinstance(alg, StreamingAttention):
            raise TypeError(f"the method built a {type(alg).__name__}, "
                            "not a StreamingAttention")
        row["kind"] = alg.kind
        tr = play(alg, inst)                       # stream, hand off, probe on copies
        row["sec_per_token"] = tr.sec_per_token
        bits = tr.memory_bits
        row["memory_bits"], row["within_budget"] = bits, bits <= bb
        sc = score_game(tr, inst).as_dict()
        row["ceiling"], row["ceiling_memory_bits"] = sc["ceiling"], bits
        row.update({k: sc[k] for k in (*_ERR, "success")})
        row["exceeds_ceiling"] = exceeds_ceiling(row["success"], row["ceiling"],
                                                 row["n_probes"])
        if sc["nonfinite_answers"]:
            row["status"] = (f"{spec.key}: non-finite answer (NaN or inf) to "
                             f"{sc['nonfinite_answers']} of {row['n_probes']} probes")
    except Exception as exc:                      # a reader's method may fail: record it
        row["status"] = failure_reason(spec.key, exc)
    return row


# ------------------------------------------------------------------ parallel
def _cell_rows(spec: MethodSpec, inst_key: str, seed: int, n: int, d: int, budgets,
               choices: dict, sink: list | None = None) -> list[dict]:
    """The rows of one cell: ``spec`` at every budget on instance ``inst_key``, seed ``seed``.

    A pure function of its arguments (the instance is drawn here from the
    seed), so a cell gives the same rows in this process, in a local worker
    process or on a remote Dask worker. ``choices`` maps a budget to the
    parameter chosen for it (or a failure). Rows of budgets whose chosen
    parameter repeats are copied from the first (same stream, same memory).
    """
    inst = make_instance(inst_key, n, d, seed=cell_seeds(seed)[0])
    rows = [] if sink is None else sink
    done: dict = {}
    for b in budgets:
        p = choices.get(b)
        if isinstance(p, _Failed):
            rows.append(run_cell(spec, inst, budget=b, seed=seed, failed=p.reason))
            continue
        memo = repr(p) if spec.from_budget is None else None
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


def _lost_cell(spec: MethodSpec, inst_key: str, seed: int, n: int, d: int, budgets,
               exc: BaseException) -> list[dict]:
    """Rows of a cell whose worker failed (it died, or the task could not be shipped)."""
    inst = make_instance(inst_key, n, d, seed=cell_seeds(seed)[0])
    reason = failure_reason(spec.key, exc, "worker")
    return [run_cell(spec, inst, budget=b, seed=seed, failed=reason) for b in budgets]


def _ship_by_value(specs) -> None:
    """Make cloudpickle send readers' classes by value (workers need not import them)."""
    import cloudpickle

    for spec in specs:
        mod = getattr(spec.cls, "__module__", None) if spec.cls is not None else None
        if (mod and mod != "__main__" and not mod.startswith("kvtheory.")
                and mod in sys.modules):
            cloudpickle.register_pickle_by_value(sys.modules[mod])


def _run_dask(tasks, specs, n, d, budgets, choices, *, jobs, scheduler, results, bar) -> None:
    """Run the cells on Dask: a local cluster of ``jobs`` processes, or ``scheduler``."""
    import logging

    from dask.distributed import Client, LocalCluster, as_completed

    _ship_by_value(specs)
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=min(jobs, len(tasks)), threads_per_worker=1,
                               processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR,
                               env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                                    "MKL_NUM_THREADS": "1"})
    client = Client(cluster if cluster is not None else scheduler)
    futures = {}
    try:
        for t in tasks:
            i, s, k = t
            spec = specs[k]
            cell_choices = {b: choices.get((spec.key, i, b)) for b in budgets}
            fut = client.submit(_cell_rows, spec, i, s, n, d, budgets, cell_choices,
                                pure=False, key=f"bench-cell-{spec.key}-{i}-{s}-{k}")
            futures[fut] = t
        try:
            for fut in as_completed(futures):
                t = futures[fut]
                try:
                    results[t] = fut.result()
                except Exception as exc:             # the worker died or could not unpickle
                    results[t] = _lost_cell(specs[t[2]], t[0], t[1], n, d, budgets, exc)
                if bar:
                    bar()
        except KeyboardInterrupt:
            client.cancel(list(futures))
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@dataclass(frozen=True)
class _Failed:
    reason: str


def _referee(rows: list[dict]) -> None:
    """Ceiling at the largest memory of each (method, instance, budget) cell; flag rows."""
    peak: dict = {}
    for r in rows:
        if r["memory_bits"] is not None:
            k = (r["method"], r["instance"], r["budget"])
            peak[k] = max(peak.get(k, 0), r["memory_bits"])
    for r in rows:
        k = (r["method"], r["instance"], r["budget"])
        if r["info_bits"] is not None and k in peak and r["memory_bits"] is not None:
            r["ceiling_memory_bits"] = peak[k]
            r["ceiling"] = float(index_success_ceiling(peak[k], r["info_bits"]))
            r["exceeds_ceiling"] = (exceeds_ceiling(r["success"], r["ceiling"], r["n_probes"])
                                    if r["status"] == "ok" else None)


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
    out, seen = [], {}
    for s in specs:
        if s.key in seen:
            other = seen[s.key]
            if other is s or (s.cls is not None and s.cls is other.cls) or s.cls is None:
                raise ValueError(f"methods: duplicate method {s.key!r} (listed twice)")
            # two different classes of the same name (two readers' files): disambiguate
            src = getattr(s.cls, "__module__", "")
            stem = Path(inspect.getsourcefile(s.cls) or src).stem if s.cls else src
            key, i = f"{s.key}@{stem}", 2
            while key in seen:
                key, i = f"{s.key}@{stem}#{i}", i + 1
            s = replace(s, key=key)
        seen[s.key] = s
        out.append(s)
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_bench(methods=None, instances=None, *, n: int = 256, d: int = 24,
              budgets=DEFAULT_BUDGETS, seeds=(0, 1), jobs: int = 1,
              progress: bool = False, command: str | None = None,
              scheduler: str | None = None, resume=None) -> BenchResults:
    r"""Run the benchmark: every method at every budget on every instance and seed.

    Parameters
    ----------
    methods : list, optional
        Registry keys of :data:`~kvtheory.bench.METHODS`, :class:`MethodSpec`
        objects, or StreamingAttention subclasses (see
        :func:`~kvtheory.bench.methods.method_from_class`); default
        :data:`~kvtheory.bench.DEFAULT_METHODS`. Two different classes with
        the same name get keys ``Name@file``.
    instances : list of str, optional
        Keys of :data:`~kvtheory.bench.INSTANCES`; default
        :data:`~kvtheory.bench.instances.DEFAULT_INSTANCES`.
    n, d : int
        Stream length (``>= 16``) and dimension (``>= 4``).
    budgets : sequence of float
        Fractions of the exact cache's bits, each in ``(0, 1]``.
    seeds : sequence of int
        Seeds; seed ``s`` draws the instance and seeds the method from two
        independent children of ``SeedSequence(s)`` (:func:`cell_seeds`).
    jobs : int
        Worker processes (``1``: run in this process). ``jobs > 1`` starts a
        local Dask cluster of that many single-threaded worker processes (any
        OS); the cells (one method on one instance and seed, at every
        budget) are shipped with cloudpickle, readers' classes by value.
    progress : bool
        Show a progress bar that advances per cell, with the time left
        (tqdm if installed, else a counter on stderr).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``): run the
        cells on that cluster instead (``jobs`` is then ignored). Seeds fix
        the rows: serial, local-parallel and cluster runs give the same rows
        (the timing column ``sec_per_token`` aside).
    resume : sequence of dict, optional
        Rows of an earlier run (e.g. ``read_results(path).rows``): the cells
        (method, instance, seed) they complete for every budget at the same
        ``n`` and ``d`` are not run again, and their rows are kept.
    command : str, optional
        The command line recorded in the provenance (default ``sys.argv``).

    Returns
    -------
    BenchResults
        With the referee applied: the ceiling of every row is taken at the
        largest memory its method reached on any seed of that (instance,
        budget) cell, and ``exceeds_ceiling`` flags success above it by more
        than 3 standard errors (:func:`exceeds_ceiling`). A failing method
        gets rows with a ``status`` and the run goes on; Ctrl-C stops the run
        and keeps the rows finished so far (``config["interrupted"]``).

    Raises
    ------
    ValueError, TypeError
        For unknown methods or instances and out-of-range arguments.

    Examples
    --------
    >>> from kvtheory.bench import run_bench
    >>> res = run_bench(["window", "signbit"], ["index"], n=64, d=24, budgets=[0.05],
    ...                 seeds=[0])
    >>> [(r["method"], f'{r["success"]:.2f}', r["within_budget"], r["exceeds_ceiling"])
    ...  for r in res.rows]
    [('window', '0.56', True, False), ('signbit', '1.00', True, False)]
    """
    started = _now()
    specs = _as_specs(methods)
    if instances is None:
        instances = list(DEFAULT_INSTANCES)
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

    config = {"methods": [s.key for s in specs], "instances": list(instances), "n": n, "d": d,
              "budgets": budgets, "seeds": seeds, "jobs": jobs,
              "referee": f"exceeds_ceiling: success > ceiling + {REFEREE_SE:g} * "
                         "sqrt(ceiling * (1 - ceiling) / n_probes), ceiling at the largest "
                         "memory of the cell over seeds",
              "seeding": "instance and method from SeedSequence(seed).spawn(2); data-dependent "
                         "dry runs on SeedSequence(0).spawn(3)[2]",
              "provenance": provenance(specs, command=command), "started": started,
              "finished": None, "interrupted": False}
    rows: list[dict] = []
    try:
        # parameter choices, once, in this process (instance shapes do not depend on the
        # seed); data-dependent dry runs see an independent draw, never an evaluated one
        choices = {}
        for i in instances:
            tune = tuning_instance(i, n, d)
            for spec in specs:
                if spec.from_budget is not None:
                    continue
                for b in budgets:
                    bb = int(math.floor(b * exact_bits(tune.n, tune.d, tune.d_v)))
                    try:
                        choices[(spec.key, i, b)] = choose(spec, bb, tune.n, tune.d, tune.d_v,
                                                           data=(tune.K, tune.V))[0]
                    except Exception as exc:
                        choices[(spec.key, i, b)] = _Failed(failure_reason(
                            spec.key, exc, f"parameter choice (dry run, {_find_stage(exc)})"))
        # one cell = one method on one instance and seed, at every budget
        tasks = [(i, s, k) for i in instances for s in seeds for k in range(len(specs))]
        results: dict = _resumed_cells(resume, tasks, specs, n, d, budgets)
        todo = [t for t in tasks if t not in results]
        bar = _progress(len(todo)) if progress and todo else None
        try:
            if scheduler is None and (jobs == 1 or len(todo) <= 1):
                for t in todo:
                    part: list = []
                    spec = specs[t[2]]
                    try:
                        _cell_rows(spec, t[0], t[1], n, d, budgets,
                                   {b: choices.get((spec.key, t[0], b)) for b in budgets},
                                   sink=part)
                    finally:
                        results[t] = part            # finished rows survive a Ctrl-C
                    if bar:
                        bar()
            elif todo:
                _run_dask(todo, specs, n, d, budgets, choices, jobs=jobs, scheduler=scheduler,
                          results=results, bar=bar)
        finally:
            if bar:
                bar(close=True)
            rows = [r for t in tasks if t in results for r in results[t]]
    except KeyboardInterrupt:
        config["interrupted"] = True
    _referee(rows)
    config["finished"] = _now()
    return BenchResults(rows=rows, config=config)


def _resumed_cells(resume, tasks, specs, n, d, budgets) -> dict:
    """The cells of ``tasks`` whose rows ``resume`` holds for every budget.

    The caller passes rows of a run at the same ``n`` and ``d`` (the command
    line checks the earlier run's configuration).
    """
    if not resume:
        return {}
    by_cell: dict = {}
    for r in resume:
        by_cell.setdefault((r["method"], r["instance"], r["seed"]), {})[r["budget"]] = r
    out = {}
    for t in tasks:
        got = by_cell.get((specs[t[2]].key, t[0], t[1]), {})
        if all(b in got for b in budgets):
            out[t] = [dict(got[b]) for b in budgets]
    return out


def _progress(total: int):
    try:
        from tqdm import tqdm
        t = tqdm(total=total, desc="bench", unit="cell", file=sys.stderr)

        def step(close=False):
            t.close() if close else t.update(1)
    except ImportError:                            # pragma: no cover
        import time

        state = {"i": 0, "t0": time.perf_counter()}

        def step(close=False):
            if close:
                print(file=sys.stderr)
                return
            state["i"] += 1
            el = time.perf_counter() - state["t0"]
            left = el / state["i"] * (total - state["i"])
            print(f"\rbench: {state['i']}/{total} cells, {left:.0f} s left", end="",
                  file=sys.stderr, flush=True)
    return step
