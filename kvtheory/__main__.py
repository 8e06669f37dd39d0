"""Command line of kvtheory: ``python -m kvtheory <command>``.

Commands
--------
execute [NOTEBOOK ...]
    Re-execute chapters in place (default: every ``book/*.ipynb``) and strip
    stored widget state, so the committed outputs are fresh.
certificates
    Check every sympy certificate of the book and print the verdicts.
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
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
