"""Test-session set-up shared by the unit tests and the nbval chapter runs."""

import os

# Small matrix products dominate the chapters; a threaded BLAS only adds
# contention on small machines. Kernels started by nbval inherit this.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
