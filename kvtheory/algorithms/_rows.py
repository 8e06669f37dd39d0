"""Row-wise helpers shared by the vectorised ``_extend`` hooks."""

from __future__ import annotations

import numpy as np


def row_dots(A: np.ndarray) -> np.ndarray:
    """``A[i] @ A[i]`` for every row, equal bit for bit to the per-row products.

    The loop's ``k @ k`` of a 1-D row is numpy's dot kernel; a stacked
    ``matmul`` of ``(1, d)`` by ``(d, 1)`` matrices calls the same kernel
    once per row, so an ``append`` loop and a vectorised ``extend`` that
    derive anything from a row norm stay identical (``einsum`` or a
    reduction would sum in another order).

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.algorithms._rows import row_dots
    >>> A = np.arange(6.0).reshape(2, 3)
    >>> row_dots(A).tolist() == [float(a @ a) for a in A]
    True
    """
    return np.matmul(A[:, None, :], A[:, :, None])[:, 0, 0]
