"""Command line of kvtheory: ``python -m kvtheory <command>``.

Commands
--------
execute [NOTEBOOK ...]
    Re-execute chapters in place (default: every ``book/*.ipynb``) and strip
    stored widget state, so the committed outputs are fresh.
certificates
    Check every sympy certificate of the book and print the verdicts.
bench
    Run the barrier benchmark (Chapter 9): compression methods against the
    lower bounds' hard instances; see ``python -m kvtheory bench --help``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``prog: error: message`` and exit status 2."""

    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _cmd_execute(args) -> int:
    from .notebooks import execute_notebook

    paths = args.notebooks or sorted(Path("book").glob("*.ipynb"))
    if not paths:
        print("python -m kvtheory execute: error: no notebooks found (run from the "
              "repository root)", file=sys.stderr)
        return 2
    for p in paths:
        if not Path(p).is_file() or Path(p).suffix != ".ipynb":
            print(f"python -m kvtheory execute: error: no such notebook {str(p)!r}",
                  file=sys.stderr)
            return 2
    for p in paths:
        seconds = execute_notebook(p, timeout=args.timeout)
        print(f"{p}: executed in {seconds:.1f} s")
    return 0


def _cmd_certificates(args) -> int:
    from .bounds import certificates

    certs = certificates()
    for c in certs:
        print(f"ch{c.chapter:02d} {c}")
    bad = [c for c in certs if not c.holds]
    print(f"{len(certs) - len(bad)} of {len(certs)} certificates hold")
    return 1 if bad else 0


_BENCH_EPILOG = """\
budgets: a budget f is a fraction of the bits of the float64 exact cache on
the same stream; each method runs at the largest setting of its parameter
whose memory fits (or its cheapest, flagged within_budget=false).

output (in --out DIR): results.csv and results.json (one row per method,
budget, instance and seed; the schema is in the docstring of
kvtheory.bench.results and in results.json's "columns"), figure.png (success
or error against memory bits, one panel per instance, with the INDEX lower
bound), table.txt (the printed tables).

your own method: --method path/to/file.py:MyCache (or module:MyCache) loads a
kvtheory.StreamingAttention subclass that implements _append(k, v), _attend(q)
and memory_ledger(); a classmethod from_budget(budget_bits, n, d, d_v, seed)
lets it follow the budgets, otherwise it runs as constructed by MyCache() (or
MyCache(seed=...)). --name gives it a name in the results (two classes of the
same name from different files are told apart automatically as Name@file).

isolation: a method that fails (constructor, from_budget, dry run, _append,
_attend, memory_bits, deep copy, wrong shape, complex or non-finite answer)
gets that cell's status (one line naming the method and the stage); the run
goes on. The failure summary is printed first. Exit status 0, or 1 if every
cell failed, 130 after Ctrl-C (the finished rows are written).

referee: memory_bits() must be a non-negative integer. A row whose success
beats the INDEX ceiling by more than its sampling error, success > c +
3 sqrt(c (1 - c) / n_probes) with c the ceiling at the largest memory the
method reached on any seed of that cell, is flagged in the column
exceeds_ceiling and listed after the run as "memory under-counted?".

provenance: results.json's "config" (and the "# config:" line of results.csv)
records the kvtheory version, git commit, Python and numpy versions,
platform, this command, start and end times, and each method's source file
with its SHA-256.

examples:
  python -m kvtheory bench
  python -m kvtheory bench --methods kivi,qjl,window --instances index,recency --seeds 3
  python -m kvtheory bench --method mycache.py:MyCache --methods window --out my-run
"""


def _csv_list(text: str, name: str, parser, cast=str) -> list:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        parser.error(f"{name} must be a non-empty comma-separated list, got {text!r}")
    try:
        return [cast(t) for t in items]
    except ValueError:
        parser.error(f"{name} must be a comma-separated list of numbers, got {text!r}")


def _add_bench_parser(sub) -> None:
    from .bench import DEFAULT_BUDGETS
    be = sub.add_parser(
        "bench", help="run the barrier benchmark (Chapter 9)",
        description="Run KV-cache compression methods at several memory budgets against the "
                    "hard instances of the book's lower bounds and against benign streams; "
                    "write a tidy table (CSV, JSON), a figure and print a summary.",
        epilog=_BENCH_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    be.add_argument("--methods", default="default", metavar="LIST",
                    help="comma-separated method keys, 'default' (the headline fifteen), 'all' "
                         "(adds the exact cache, reservoir and the kvpress scorers knorm, random, "
                         "snapkv, keydiff), or 'none' (only --method ones); see --list")
    be.add_argument("--method", action="append", default=[], metavar="MODULE:CLASS",
                    help="add a reader's method: module:Class or path/to/file.py:Class "
                         "(repeatable)")
    be.add_argument("--name", action="append", default=[], metavar="NAME",
                    help="name of the i-th --method in the results (repeatable; default the "
                         "class name)")
    be.add_argument("--instances", default="default", metavar="LIST",
                    help="comma-separated instance keys, 'default' or 'all' (default adds the "
                         "scorers' adversaries: knorm-, snapkv-, keydiff-adversary); see --list")
    be.add_argument("--n", type=int, default=256, help="stream length, >= 16 (default 256)")
    be.add_argument("--d", type=int, default=24, help="dimension, >= 4 (default 24)")
    be.add_argument("--budgets", default=",".join(f"{b:g}" for b in DEFAULT_BUDGETS),
                    metavar="LIST",
                    help="comma-separated fractions of the exact cache's bits, in (0, 1] "
                         "(default %(default)s)")
    be.add_argument("--seeds", default="2", metavar="K|LIST",
                    help="number of seeds K (seeds 0..K-1) or a comma-separated list of seeds "
                         "(default 2)")
    be.add_argument("--out", default="bench-results", metavar="DIR",
                    help="output directory, created if needed (default %(default)s)")
    be.add_argument("--jobs", type=int, default=1,
                    help="worker processes of a local Dask pool; 1 runs in this process "
                         "(default %(default)s: on small runs the pool's start-up and "
                         "per-cell overhead cost more than a second core saves)")
    be.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="run the cells on an existing Dask cluster, e.g. tcp://host:8786 "
                         "(--jobs is then ignored); the rows are those of a local run")
    be.add_argument("--resume", action="store_true",
                    help="keep the cells already in DIR/results.csv (same --n and --d) and "
                         "run only the others")
    be.add_argument("--table-budget", type=float, default=None, metavar="F",
                    help="budget of the printed tables (default: the middle budget)")
    be.add_argument("--no-figure", action="store_true", help="do not write figure.png")
    be.add_argument("--quiet", action="store_true", help="no progress bar")
    be.add_argument("--list", action="store_true", help="list methods and instances and exit")
    be.set_defaults(_parser=be)


def _cmd_bench(args, parser) -> int:
    import time

    from .bench import (
        DEFAULT_INSTANCES,
        DEFAULT_METHODS,
        INSTANCES,
        METHODS,
        load_method,
        run_bench,
    )

    if args.list:
        print("methods (key, label: what it leans on; + run by default)")
        for k, s in METHODS.items():
            print(f"  {'+' if s.default else ' '} {k:<11} {s.display}: {s.family}")
        print("instances (key, family: what it is -- what it breaks; + run by default)")
        for k, s in INSTANCES.items():
            mark = "+" if s.default and s.is_available else " "
            note = "" if s.is_available else " [unavailable: needs the 'real' extra and model]"
            print(f"  {mark} {k:<19} {s.family:<7} {s.description} -- {s.breaks}{note}")
        return 0
    if args.methods == "default":
        methods = list(DEFAULT_METHODS)
    elif args.methods == "all":
        methods = list(METHODS)
    elif args.methods == "none":
        methods = []
    else:
        methods = _csv_list(args.methods, "--methods", parser)
        bad = [m for m in methods if m not in METHODS]
        if bad:
            parser.error(f"--methods: unknown method {bad[0]!r}; choose from "
                         f"{', '.join(METHODS)}")
        dup = sorted({m for m in methods if methods.count(m) > 1})
        if dup:
            parser.error(f"--methods: {dup[0]!r} is listed twice")
    if len(args.name) > len(args.method):
        parser.error(f"--name: {len(args.name)} names for {len(args.method)} --method entries")
    for i, spec in enumerate(args.method):
        try:
            ms = load_method(spec)
        except (ValueError, TypeError) as exc:
            parser.error(str(exc))
        if i < len(args.name):
            import dataclasses

            name = args.name[i].strip()
            if not name or name in METHODS:
                parser.error(f"--name {args.name[i]!r}: empty or a registry key")
            ms = dataclasses.replace(ms, key=name)
        if any(getattr(m, "key", m) == ms.key and getattr(m, "cls", None) is ms.cls
               for m in methods):
            parser.error(f"--method {spec}: listed twice")
        methods.append(ms)
    if not methods:
        parser.error("no methods to run: give --methods or --method")
    if args.instances == "default":
        instances = list(DEFAULT_INSTANCES)
    elif args.instances == "all":
        instances = list(INSTANCES)
    else:
        instances = _csv_list(args.instances, "--instances", parser)
        dup = sorted({i for i in instances if instances.count(i) > 1})
        if dup:
            parser.error(f"--instances: {dup[0]!r} is listed twice")
    bad = [i for i in instances if i not in INSTANCES]
    if bad:
        parser.error(f"--instances: unknown instance {bad[0]!r}; choose from "
                     f"{', '.join(INSTANCES)}")
    if args.n < 16:
        parser.error(f"--n must be >= 16, got {args.n}")
    if args.d < 4:
        parser.error(f"--d must be >= 4, got {args.d}")
    budgets = _csv_list(args.budgets, "--budgets", parser, float)
    if any(not (0 < b <= 1) for b in budgets):
        parser.error(f"--budgets must lie in (0, 1], got {args.budgets!r}")
    seeds = _csv_list(args.seeds, "--seeds", parser, int)
    if len(seeds) == 1 and "," not in args.seeds:
        if seeds[0] < 1:
            parser.error(f"--seeds K must be >= 1, got {seeds[0]}")
        seeds = list(range(seeds[0]))
    if any(s < 0 for s in seeds):
        parser.error(f"--seeds must be nonnegative, got {args.seeds!r}")
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    tb = args.table_budget if args.table_budget is not None else sorted(budgets)[len(budgets) // 2]
    if tb not in budgets:
        parser.error(f"--table-budget must be one of --budgets {budgets}, got {tb}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {str(out)!r} exists and is not a directory")

    import shlex

    resume = None
    if args.resume and (out / "results.csv").is_file():
        from .bench import read_results
        try:
            prev = read_results(out / "results.csv")
        except ValueError as exc:
            parser.error(f"--resume: {exc}")
        if (prev.config.get("n"), prev.config.get("d")) != (args.n, args.d):
            parser.error(f"--resume: {out / 'results.csv'} was run at n={prev.config.get('n')}, "
                         f"d={prev.config.get('d')}, not n={args.n}, d={args.d}")
        resume = prev.rows
    t0 = time.perf_counter()
    try:
        res = run_bench(methods, instances, n=args.n, d=args.d, budgets=budgets, seeds=seeds,
                        jobs=args.jobs, progress=not args.quiet,
                        command="python -m kvtheory " + shlex.join(args._argv),
                        scheduler=args.scheduler, resume=resume)
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    wall = time.perf_counter() - t0
    failures = res.failure_summary()
    if failures:                                   # first, before anything else
        print(failures)
        print()
    if res.config.get("interrupted"):
        print(f"interrupted: keeping the {len(res.rows)} rows finished so far")
    out.mkdir(parents=True, exist_ok=True)
    files = [res.to_csv(out / "results.csv"), res.to_json(out / "results.json")]
    text = (res.table("err_additive_max", budget=tb)
            + "\n" + res.table("success", budget=tb, show_bits=False))
    (out / "table.txt").write_text(text)
    files.append(out / "table.txt")
    ok_rows = [r for r in res.rows if r["status"] == "ok"]
    if not args.no_figure and ok_rows:
        import matplotlib
        matplotlib.use("Agg")
        from .viz.bench import plot_bench
        fig = plot_bench(res)
        fig.savefig(out / "figure.png", dpi=100)
        files.append(out / "figure.png")
    print(text)
    print(res.flagged_summary())
    failed = len(res.rows) - len(ok_rows)
    print(f"{len(res.rows)} runs ({failed} failed) in {wall:.1f} s (jobs={args.jobs}); wrote "
          + ", ".join(str(f) for f in files))
    if res.config.get("interrupted"):
        return 130
    return 1 if res.rows and not ok_rows else (1 if not res.rows else 0)


def main(argv=None) -> int:
    from . import __version__

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _Parser(prog="python -m kvtheory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"kvtheory {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="re-execute chapters in place")
    ex.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: book/*.ipynb)")
    ex.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    ex.set_defaults(func=_cmd_execute)
    ce = sub.add_parser("certificates", help="check every certificate")
    ce.set_defaults(func=_cmd_certificates)
    _add_bench_parser(sub)
    args = parser.parse_args(argv)
    args._argv = argv
    if args.command == "bench":
        return _cmd_bench(args, args._parser)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
