"""Every code block in an exercise solution of the book runs.

The rule (what this file checks, chapter by chapter):

1. **Where solutions are.** In every chapter ``book/NN_*.ipynb``, a solution
   is the markdown between ``{solution-start} ex-...`` and ``{solution-end}``
   (the form the book uses), or the body of a ``{solution}`` directive. Every
   fenced code block inside it that is marked as Python (```` ```python ````,
   ```` ```{code-cell} ````, ```` ```ipython3 ````) is a *solution block*.
2. **What a block may assume.** A block runs in a fresh namespace holding
   exactly what the chapter's setup gives a reader: the chapter's first code
   cell (its imports and seeds; IPython ``%`` lines dropped) and then the
   chapter's own top-level ``def`` and ``class`` statements (for instance
   Chapter 9's ``StrideCache``), taken from its code cells with :mod:`ast`.
   Nothing else the chapter computes is visible: a solution that needs a
   result builds it itself, at a small size.
3. **Fragments.** A block whose first line is ``# fragment`` (followed by the
   reason) is shown to the reader as a piece of a larger program and is not
   run; it must still compile, and the fragments are counted (see
   :func:`test_fragments_are_few_and_compile`).
4. **Speed.** Solutions use small sizes; the whole file runs well under a
   minute. Figures a block draws are closed, printed output is captured.

Chapter 10's setup needs the optional real model; without it, that chapter's
blocks are skipped (as its nbval run is).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\n]*)$")
_PY = re.compile(r"^(python3?|ipython3?|py|\{code-cell\}(\s+(python3?|ipython3?))?)$")
FRAGMENT = "# fragment"


def _solution_texts(markdown: str) -> list[tuple[str, str]]:
    """The ``(label, body)`` of every solution in one markdown cell."""
    out = []
    for m in re.finditer(r"\{solution-start\}\s*(\S+)(.*?)\{solution-end\}", markdown, re.S):
        out.append((m.group(1), m.group(2)))
    directive = re.compile(r"^(`{3,}|:{3,})\{solution\}\s*(\S+)\n(.*?)^\1\s*$", re.S | re.M)
    for m in directive.finditer(markdown):
        out.append((m.group(2), m.group(3)))
    return out


def _code_blocks(text: str) -> list[str]:
    """The Python fenced code blocks of a piece of markdown, in order."""
    blocks, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = _FENCE.match(lines[i].strip())
        if not m or not m.group("info"):
            i += 1
            continue
        fence, info = m.group("fence"), m.group("info").strip()
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            j += 1
        myst = info.startswith("{code-cell}")
        body = [ln for ln in lines[i + 1 : j] if not (myst and ln.startswith(":"))]
        if _PY.match(info):
            blocks.append("\n".join(body).strip("\n") + "\n")
        i = j + 1
    return blocks


def _chapter(path: Path):
    nb = json.loads(path.read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    setup = "\n".join(ln for ln in code[0].splitlines() if not ln.lstrip().startswith(("%", "!")))
    defs = []
    for src in code[1:]:
        src = "\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        defs += [ast.get_source_segment(src, n) for n in tree.body
                 if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    blocks = []
    for c in nb["cells"]:
        if c["cell_type"] != "markdown":
            continue
        for label, body in _solution_texts("".join(c["source"])):
            blocks += [(label, k, b) for k, b in enumerate(_code_blocks(body))]
    return setup, defs, blocks


def _all_blocks():
    for path in CHAPTERS:
        _, _, blocks = _chapter(path)
        for label, k, block in blocks:
            yield path, label, k, block


RUNNABLE = [(p, lab, k, b) for p, lab, k, b in _all_blocks() if not b.startswith(FRAGMENT)]
FRAGMENTS = [(p, lab, k, b) for p, lab, k, b in _all_blocks() if b.startswith(FRAGMENT)]

_SETUP_CACHE: dict[Path, dict] = {}


def _setup_namespace(path: Path) -> dict:
    if path not in _SETUP_CACHE:
        setup, defs, _ = _chapter(path)
        if path.name.startswith("10_"):
            from kvtheory import real

            if not real.available():
                pytest.skip("Chapter 10 needs the optional model")
        ns: dict = {"__name__": f"solutions_{path.stem}"}
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(setup, f"{path.name}:setup", "exec"), ns)
            for src in defs:
                exec(compile(src, f"{path.name}:definitions", "exec"), ns)
        _SETUP_CACHE[path] = ns
    return dict(_SETUP_CACHE[path])        # a fresh namespace per block


def test_solution_blocks_are_found():
    """The extractor sees the book's solution code (guards against a silent 0)."""
    labels = {lab for _, lab, _, _ in RUNNABLE}
    assert len(RUNNABLE) >= 10
    assert {"ex-02-5", "ex-09-3", "ex-03-5"} <= labels
    print(f"\n{len(RUNNABLE)} solution code blocks run, {len(FRAGMENTS)} fragments")


@pytest.mark.parametrize(
    "path, label, k, block", RUNNABLE, ids=[f"{lab}-{k}" for _, lab, k, _ in RUNNABLE]
)
def test_solution_block_runs(path, label, k, block):
    import matplotlib.pyplot as plt

    ns = _setup_namespace(path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, f"{path.name}:{label}[{k}]", "exec"), ns)
    plt.close("all")
    assert "nan" not in out.getvalue().split(), f"{label} printed nan:\n{out.getvalue()}"


def test_fragments_are_few_and_compile():
    """Fragments are the exception: each compiles, and there are at most three."""
    for path, label, k, block in FRAGMENTS:
        compile(block, f"{path.name}:{label}[{k}]", "exec")
    assert len(FRAGMENTS) <= 3, [lab for _, lab, _, _ in FRAGMENTS]


def test_extractor_on_a_sample():
    md = (
        "```{solution-start} ex-00-1\n:class: dropdown\n```\nText.\n```python\nx = 1\n```\n"
        "```text\nnot code\n```\n```{code-cell} python\n:tags: [x]\ny = 2\n```\n"
        "```{solution-end}\n```\n"
        "````{solution} ex-00-2\n```python\nz = 3\n```\n````\n"
    )
    sols = _solution_texts(md)
    assert [lab for lab, _ in sols] == ["ex-00-1", "ex-00-2"]
    assert _code_blocks(sols[0][1]) == ["x = 1\n", "y = 2\n"]
    assert _code_blocks(sols[1][1]) == ["z = 3\n"]
