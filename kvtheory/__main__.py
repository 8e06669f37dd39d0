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


def _cmd_execute(args) -> int:
    from .notebooks import execute_notebook

    paths = args.notebooks or sorted(Path("book").glob("*.ipynb"))
    if not paths:
        print("execute: no notebooks found (run from the repository root)", file=sys.stderr)
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
kvtheory.bench.runner and in results.json's "columns"), figure.png (success
or error against memory bits, one panel per instance, with the INDEX lower
bound), table.txt (the printed tables).

your own method: --method path/to/file.py:MyCache (or module:MyCache) loads a
kvtheory.StreamingAttention subclass; a classmethod
from_budget(budget_bits, n, d, d_v, seed) lets it follow the budgets,
otherwise it runs as constructed by MyCache() (or MyCache(seed=...)).

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
    import os

    from .bench import DEFAULT_BUDGETS
    be = sub.add_parser(
        "bench", help="run the barrier benchmark (Chapter 9)",
        description="Run KV-cache compression methods at several memory budgets against the "
                    "hard instances of the book's lower bounds and against benign streams; "
                    "write a tidy table (CSV, JSON), a figure and print a summary.",
        epilog=_BENCH_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    be.add_argument("--methods", default="default", metavar="LIST",
                    help="comma-separated method keys, 'default' (all but exact), 'all', or "
                         "'none' (only --method ones); see --list")
    be.add_argument("--method", action="append", default=[], metavar="MODULE:CLASS",
                    help="add a reader's method: module:Class or path/to/file.py:Class "
                         "(repeatable)")
    be.add_argument("--instances", default="all", metavar="LIST",
                    help="comma-separated instance keys or 'all'; see --list")
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
    be.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="worker processes (default %(default)s)")
    be.add_argument("--table-budget", type=float, default=None, metavar="F",
                    help="budget of the printed tables (default: the middle budget)")
    be.add_argument("--no-figure", action="store_true", help="do not write figure.png")
    be.add_argument("--quiet", action="store_true", help="no progress bar")
    be.add_argument("--list", action="store_true", help="list methods and instances and exit")
    be.set_defaults(_parser=be)


def _cmd_bench(args, parser) -> int:
    import time

    from .bench import DEFAULT_METHODS, INSTANCES, METHODS, load_method, run_bench

    if args.list:
        print("methods (key: what it leans on)")
        for k, s in METHODS.items():
            print(f"  {k:<12} {s.family}")
        print("instances (key, family: what it is -- what it breaks)")
        for k, s in INSTANCES.items():
            print(f"  {k:<18} {s.family:<7} {s.description} -- {s.breaks}")
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
    for spec in args.method:
        try:
            methods.append(load_method(spec))
        except (ValueError, TypeError) as exc:
            parser.error(str(exc))
    if not methods:
        parser.error("no methods to run: give --methods or --method")
    instances = (list(INSTANCES) if args.instances == "all"
                 else _csv_list(args.instances, "--instances", parser))
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

    t0 = time.perf_counter()
    res = run_bench(methods, instances, n=args.n, d=args.d, budgets=budgets, seeds=seeds,
                    jobs=args.jobs, progress=not args.quiet)
    wall = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    files = [res.to_csv(out / "results.csv"), res.to_json(out / "results.json")]
    text = (res.table("err_additive_max", budget=tb)
            + "\n" + res.table("success", budget=tb, show_bits=False))
    (out / "table.txt").write_text(text)
    files.append(out / "table.txt")
    if not args.no_figure:
        import matplotlib
        matplotlib.use("Agg")
        from .viz.bench import plot_bench
        fig = plot_bench(res)
        fig.savefig(out / "figure.png", dpi=100)
        files.append(out / "figure.png")
    print(text)
    failed = [r for r in res.rows if r["status"] != "ok"]
    if failed:
        print(f"{len(failed)} runs raised an error; first: {failed[0]['method']} on "
              f"{failed[0]['instance']}: {failed[0]['status']}")
    print(f"{len(res.rows)} runs in {wall:.1f} s (jobs={args.jobs}); wrote "
          + ", ".join(str(f) for f in files))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kvtheory",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="re-execute chapters in place")
    ex.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: book/*.ipynb)")
    ex.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    ex.set_defaults(func=_cmd_execute)
    ce = sub.add_parser("certificates", help="check every certificate")
    ce.set_defaults(func=_cmd_certificates)
    _add_bench_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "bench":
        return _cmd_bench(args, args._parser)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
