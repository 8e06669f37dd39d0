"""Chapters get inline figures whatever MPLBACKEND the user's shell sets.

ipykernel selects matplotlib's inline backend only when MPLBACKEND is unset;
with MPLBACKEND=Agg inherited, every figure cell would lose its image and
nbval would fail on it. conftest.py (nbval's kernels), kvtheory.notebooks
(``python -m kvtheory execute``) and the book's extension (the build) drop
the variable from the kernels' environment.
"""

import os
import pathlib

import matplotlib
import nbformat
import pytest

from kvtheory.notebooks import execute_notebook, kernel_environment

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_test_session_has_no_backend_override_and_uses_agg():
    assert "MPLBACKEND" not in os.environ          # so nbval's kernels draw inline
    assert matplotlib.get_backend().lower() == "agg"


def test_kernel_environment_drops_only_the_backend():
    env = kernel_environment({"MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"})
    assert env == {"OMP_NUM_THREADS": "1"}


def test_book_extension_drops_the_backend_too():
    src = (ROOT / "book" / "_ext" / "kvbook.py").read_text()
    assert 'os.environ.pop("MPLBACKEND", None)' in src


def test_execute_draws_inline_figures_under_mplbackend_agg(tmp_path, monkeypatch):
    pytest.importorskip("nbclient")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([0, 1])")]
    path = tmp_path / "fig.ipynb"
    nbformat.write(nb, path)
    execute_notebook(path, timeout=120)
    out = nbformat.read(path, as_version=4).cells[0].outputs
    assert any("image/png" in o.get("data", {}) for o in out), out
