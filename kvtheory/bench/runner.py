r"""Run every (method, budget, instance, seed) and collect a tidy table.

For each cell the runner draws the instance, builds the method at the
parameter its budget selects (:mod:`kvtheory.bench.methods`), streams the
instance's tokens (``step`` when the instance has queries and the method's
state depends on them, one ``extend`` otherwise: :func:`prefill_exact`),
reads ``memory_bits()``, and then asks every probe query on a copy of the
final state (as Bob does in the INDEX game). A *cell* is one
method on one instance and seed, at every budget; cells run in this process
(``jobs=1``), on a local Dask pool of ``jobs`` processes, or on an existing
Dask cluster (``scheduler=``), with the same rows. Two budgets that select
the same parameter share one run.

Results schema: :mod:`kvtheory.bench.results` (:data:`~kvtheory.bench.results.COLUMNS`).

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

import inspect
import math
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._validate import check_int, check_real
from ..game import Transcript, play
from ..game import score as score_game
from ..information import index_success_ceiling
from ..stream import StreamingAttention
from .instances import DEFAULT_INSTANCES, INSTANCES, BenchInstance, make_instance
from .methods import (
    DEFAULT_METHODS,
    METHODS,
    MethodSpec,
    choose,
    exact_bits,
    grid_bits,
    method_from_class,
    pick,
)
from .results import COLUMNS, BenchResults, provenance, read_results

__all__ = ["COLUMNS", "DEFAULT_BUDGETS", "BenchResults", "local_cluster", "run_bench", "run_cell",
           "score", "read_results", "provenance", "prefill_exact"]

#: Default budgets (fractions of the exact cache's bits).
DEFAULT_BUDGETS = (0.003, 0.01, 0.03, 0.1, 0.3)

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
        # stream (one extend when the state ignores the queries), hand off, probe on copies
        tr = play(alg, _as_prefill(inst) if prefill_exact(alg) else inst)
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


def prefill_exact(alg: StreamingAttention) -> bool:
    """Whether the bench may stream an instance's tokens to ``alg`` with one ``extend``.

    An instance with queries is played by ``step``: append, then attend. Its
    intermediate answers are not scored (only the probes after the stream
    are), so for a method whose state ignores the queries the step loop
    and one ``extend`` of the whole stream leave the same state, and the
    benchmark uses the ``extend`` (a prefill: vectorised, and without the
    quadratic cost of attending over everything held at every step). The
    rule: a built-in method (class defined in :mod:`kvtheory`, whose
    ``extend`` leaves the state of the append loop, ``tests/test_extend.py``)
    of ``kind == "oblivious"`` whose prefill is exact (a score-based
    eviction cache says so in ``prefill_exact``; KeyDiff's is not).
    ``tests/test_bench_stream.py`` checks that every such method gives the
    rows of the step loop (timing aside) on every instance with queries:
    identical, except that the four methods whose ``extend`` computes a
    block's projections as one matrix product (rotation, jl-keys, qjl,
    lowrank) may differ in the error columns by the rounding of that product
    (``1e-9`` allowed; at most ``4e-15`` seen). A reader's method is always
    stepped: its ``kind`` is its own claim.

    Examples
    --------
    >>> import kvtheory as kv
    >>> from kvtheory.bench.runner import prefill_exact
    >>> prefill_exact(kv.ExactCache()), prefill_exact(kv.algorithms.TOVAEviction(4))
    (True, False)
    """
    cls = type(alg)
    return (cls.__module__.startswith("kvtheory.") and alg.kind == "oblivious"
            and bool(getattr(alg, "prefill_exact", True)))


def _as_prefill(inst: BenchInstance) -> BenchInstance:
    """``inst`` without its stream queries (played with one ``extend``)."""
    return inst if inst.Q is None else replace(inst, Q=None)


# ------------------------------------------------------------------ parallel
_INSTANCES: dict = {}
#: Instances kept per process (the cells of one instance and seed run back to back).
_KEEP_INSTANCES = 4


def cell_instance(inst_key: str, n: int, d: int, seed: int) -> BenchInstance:
    """Instance ``inst_key`` of run ``seed``, built once per process and shared by its cells.

    Drawn from the instance half of :func:`cell_seeds` ``(seed)``, so it is
    the same in every process. The arrays of a shared instance are made
    read-only: a method that writes into its input fails its own cell (a
    ``status``) instead of changing the instance of the cells after it.
    The last :data:`_KEEP_INSTANCES` instances are kept (a worker runs the
    cells of one instance and seed one after the other).
    """
    key = (inst_key, n, d, seed)
    inst = _INSTANCES.pop(key, None)
    if inst is None:
        inst = make_instance(inst_key, n, d, seed=cell_seeds(seed)[0])
        for a in (inst.K, inst.V, inst.Q, inst.probes):
            if a is not None:
                a.flags.writeable = False
        while len(_INSTANCES) >= _KEEP_INSTANCES:
            _INSTANCES.pop(next(iter(_INSTANCES)))
    _INSTANCES[key] = inst                        # most recently used last
    return inst


def _cell_rows(spec: MethodSpec, inst_key: str, seed: int, n: int, d: int, budgets,
               choices: dict, sink: list | None = None) -> list[dict]:
    """The rows of one cell: ``spec`` at every budget on instance ``inst_key``, seed ``seed``.

    A pure function of its arguments (the instance is drawn here from the
    seed), so a cell gives the same rows in this process, in a local worker
    process or on a remote Dask worker. ``choices`` maps a budget to the
    parameter chosen for it (or a failure). Rows of budgets whose chosen
    parameter repeats are copied from the first (same stream, same memory).
    """
    inst = cell_instance(inst_key, n, d, seed)
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
    inst = cell_instance(inst_key, n, d, seed)
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


_HAS_QUERIES: dict = {}


def _token_by_token(spec: MethodSpec, inst_key: str) -> int:
    """1 if the cell streams token by token (stepped, or without a vectorised ``extend``).

    Such cells are the long ones; Dask starts them first (``priority``), so
    that a long cell does not start last and leave the other workers idle.
    Only the order changes, never the rows.
    """
    try:
        alg = spec.make(spec.grid(16, 4, 4)[0], 0)
        looped = type(alg)._extend is StreamingAttention._extend
        if inst_key not in _HAS_QUERIES:
            _HAS_QUERIES[inst_key] = make_instance(inst_key, 16, 4, seed=0).Q is not None
        stepped = _HAS_QUERIES[inst_key] and not prefill_exact(alg)
    except Exception:                              # a reader's method: no estimate
        return 0
    return int(looped or stepped)


def local_cluster(n_workers: int, **kwargs):
    """A Dask ``LocalCluster`` of ``n_workers`` single-threaded worker processes: the bench's pool.

    ``run_bench(jobs=k)`` runs on one of these; pass its
    ``scheduler_address`` as ``scheduler=`` to share one pool between runs.
    Each worker is one process with one thread and single-threaded BLAS
    (the cells are the parallelism). Unlike Dask's default, the workers do not
    get glibc's ``MALLOC_TRIM_THRESHOLD_`` (Dask sets 64 KiB, to hand memory
    back to the system sooner): a fixed trim threshold also fixes glibc's
    mmap threshold, so every numpy temporary over 128 KiB is mapped afresh
    and its pages faulted in again, and SubGen's budget sample ran 10x
    slower under it on the 2-core machine. A variable already set in the
    environment is passed on as it is. Keyword arguments go to
    ``LocalCluster``. For example (not run as a doctest: it starts two
    processes; ``tests/test_dask.py`` does)::

        with kv.bench.local_cluster(2) as cluster:
            res = kv.bench.run_bench(scheduler=cluster.scheduler_address)
    """
    import logging

    import dask
    from dask.distributed import LocalCluster

    n_workers = check_int(n_workers, "n_workers", lo=1)
    opts = {"threads_per_worker": 1, "processes": True, "dashboard_address": ":0",
            "silence_logs": logging.ERROR,
            "env": {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                    "MKL_NUM_THREADS": "1"}}
    opts.update(kwargs)
    # the Nanny reads its pre-spawn environment when it is built, inside this block
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return LocalCluster(n_workers=n_workers, **opts)


def _run_dask(tasks, specs, n, d, budgets, choices, *, jobs, scheduler, results, bar) -> None:
    """Run the cells on Dask: a local cluster of ``jobs`` processes, or ``scheduler``."""
    from dask.distributed import Client, as_completed

    _ship_by_value(specs)
    cluster = None
    if scheduler is None:
        cluster = local_cluster(min(jobs, len(tasks)))
    client = Client(cluster if cluster is not None else scheduler)
    futures = {}
    try:
        for t in tasks:
            i, s, k = t
            spec = specs[k]
            cell_choices = {b: choices.get((spec.key, i, b)) for b in budgets}
            fut = client.submit(_cell_rows, spec, i, s, n, d, budgets, cell_choices,
                                pure=False, key=f"bench-cell-{spec.key}-{i}-{s}-{k}",
                                priority=_token_by_token(spec, i))
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
                try:                             # the grid's memory once, for every budget
                    table = grid_bits(spec, tune.n, tune.d, tune.d_v, data=(tune.K, tune.V))
                except Exception as exc:
                    failed = _Failed(failure_reason(
                        spec.key, exc, f"parameter choice (dry run, {_find_stage(exc)})"))
                    choices.update({(spec.key, i, b): failed for b in budgets})
                    continue
                for b in budgets:
                    bb = int(math.floor(b * exact_bits(tune.n, tune.d, tune.d_v)))
                    choices[(spec.key, i, b)] = pick(table, bb)[0]
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
