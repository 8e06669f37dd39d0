"""Re-execute the book's chapters in place, so stored outputs come from the
pinned environment, and strip anything that must not be committed.

Used by ``python -m kvtheory execute``.
"""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["execute_notebook", "strip_widget_state", "kernel_environment"]


def kernel_environment(env=None) -> dict:
    """The environment for a chapter's kernel: ``env`` (default ``os.environ``)
    without ``MPLBACKEND``.

    ipykernel selects matplotlib's inline backend only when ``MPLBACKEND`` is
    unset; a shell that exports ``MPLBACKEND=Agg`` would otherwise make every
    figure cell lose its image (and nbval fail on it).

    Examples
    --------
    >>> from kvtheory.notebooks import kernel_environment
    >>> kernel_environment({"MPLBACKEND": "Agg", "HOME": "/h"})
    {'HOME': '/h'}
    """
    import os

    env = os.environ if env is None else env
    return {k: v for k, v in env.items() if k != "MPLBACKEND"}


def strip_widget_state(nb) -> None:
    """Remove saved widget state from notebook metadata (it is large and
    machine-specific; nbval cannot use it)."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)


def _sliced_get_msg(get_msg, step: float = 1.0):
    """``channel.get_msg`` that waits in slices of ``step`` seconds.

    Seen here: an asyncio ZMQ poll sometimes misses the wake-up of a message
    that has arrived, and nbclient then sat idle until the cell's whole
    timeout (600 s) ran out before reading the reply that was already there.
    Polling again every ``step`` seconds reads it at once; the overall
    ``timeout`` is unchanged.
    """
    from queue import Empty

    async def sliced(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            wait = step if left is None else max(0.0, min(step, left))
            try:
                return await get_msg(timeout=wait)
            except Empty:
                if left is not None and left <= step:
                    raise

    return sliced


def _client_class():
    from nbclient import NotebookClient

    class SlicedPollClient(NotebookClient):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            for channel in (kc.shell_channel, kc.iopub_channel):
                channel.get_msg = _sliced_get_msg(channel.get_msg)
            return kc

    return SlicedPollClient


def execute_notebook(path, *, timeout: int = 600, kernel_name: str = "python3") -> float:
    """Execute the notebook at ``path`` top to bottom and save it in place.

    Widget state is recorded during execution (nbclient's output-widget
    hooks need it) and stripped before saving. Returns the wall time in
    seconds. Raises nbclient's ``CellExecutionError`` if a cell fails (the
    file is then left untouched).
    """
    import os

    import nbformat
    _SlicedPollClient = _client_class()

    # Same single-threaded BLAS as the test run (conftest.py), so stored
    # outputs are produced under the conditions nbval checks them in.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

    path = Path(path)
    if not path.is_file() or path.suffix != ".ipynb":
        raise ValueError(f"path must be an existing .ipynb file, got {path}")
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {"name": kernel_name, "display_name": "Python 3",
                                 "language": "python"}
    client = _SlicedPollClient(nb, timeout=timeout, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=True, record_timing=False,
                            # nbclient drops outputs that arrive later than
                            # iopub_timeout without an error; be generous.
                            iopub_timeout=120, raise_on_iopub_timeout=True)
    t0 = time.perf_counter()
    client.execute(env=kernel_environment())      # inline figures whatever MPLBACKEND says
    elapsed = time.perf_counter() - t0
    strip_widget_state(nb)
    nbformat.write(nb, path)
    return elapsed
