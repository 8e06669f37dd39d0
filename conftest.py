"""Test-session set-up shared by the unit tests and the nbval chapter runs."""

import os

# Small matrix products dominate the chapters; a threaded BLAS only adds
# contention on small machines. Kernels started by nbval inherit this.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# Chapters draw figures with the inline backend that ipykernel selects, unless
# MPLBACKEND names another: a shell with MPLBACKEND=Agg would make every
# figure cell of the nbval run lose its image. The kernels nbval starts
# inherit this process's environment, so drop the variable here, and use the
# non-interactive Agg backend for the unit tests themselves (once, for all
# test files).
os.environ.pop("MPLBACKEND", None)

import matplotlib  # noqa: E402

matplotlib.use("Agg")


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test leaves open, so that a long run never holds
    more than one test's figures (matplotlib warns past 20)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
