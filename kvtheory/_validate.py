"""Input validation shared by every public function of :mod:`kvtheory`.

All checks raise :class:`TypeError` (wrong kind of object) or
:class:`ValueError` (right kind, wrong value) with a message that names the
argument, so a caller learns at once which input is at fault.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_real_array",
    "check_int",
    "check_real",
    "check_rng",
    "check_choice",
]


def as_real_array(x, name: str, *, ndim: int | tuple[int, ...] | None = None,
                  shape: tuple | None = None, finite: bool = True,
                  dtype=np.float64) -> np.ndarray:
    """Return ``x`` as a real floating array after checking it.

    Parameters
    ----------
    x : array_like
        The input.
    name : str
        The argument's name, used in error messages.
    ndim : int or tuple of int, optional
        Allowed number(s) of dimensions.
    shape : tuple, optional
        Required shape; ``None`` entries match any length.
    finite : bool, default True
        Reject NaN and infinite entries.
    dtype : numpy dtype, default float64
        Floating type of the result. Inputs already of a floating type keep
        their precision when ``dtype`` is ``None``.

    Raises
    ------
    TypeError
        If ``x`` is not numeric (strings, objects, complex numbers, booleans).
    ValueError
        If the shape is wrong or an entry is NaN or infinite.
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a real numeric array, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must be a real numeric array, got dtype {arr.dtype}"
        )
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(
                f"{name} must have {want} dimension(s), got shape {arr.shape}"
            )
    if shape is not None:
        if arr.ndim != len(shape) or any(
            s is not None and s != a for s, a in zip(shape, arr.shape, strict=True)
        ):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if finite and arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def check_int(x, name: str, *, lo: int | None = None, hi: int | None = None) -> int:
    """Return ``x`` as an ``int`` after checking ``lo <= x <= hi``.

    Raises
    ------
    TypeError
        If ``x`` is not an integer (booleans and floats are rejected).
    ValueError
        If ``x`` is out of range.
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(x).__name__}")
    x = int(x)
    if lo is not None and x < lo:
        raise ValueError(f"{name} must be >= {lo}, got {x}")
    if hi is not None and x > hi:
        raise ValueError(f"{name} must be <= {hi}, got {x}")
    return x


def check_real(x, name: str, *, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, hi_open: bool = False) -> float:
    """Return ``x`` as a finite ``float`` inside the given interval.

    ``lo_open`` / ``hi_open`` make the corresponding end exclusive.

    Raises
    ------
    TypeError
        If ``x`` is not a real number.
    ValueError
        If ``x`` is NaN, infinite, or outside the interval.
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    x = float(x)
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if lo is not None and (x <= lo if lo_open else x < lo):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {x}")
    if hi is not None and (x >= hi if hi_open else x > hi):
        raise ValueError(f"{name} must be {'<' if hi_open else '<='} {hi}, got {x}")
    return x


def check_rng(seed, name: str = "seed") -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` from a seed or a generator.

    Accepts a non-negative integer or an existing ``Generator`` (returned as
    is, so a caller can thread one generator through several functions).
    ``None`` is rejected: every random result of this library is reproducible.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise TypeError(
            f"{name} must be an integer or a numpy.random.Generator; "
            "None is not accepted because every result must be reproducible"
        )
    return np.random.default_rng(check_int(seed, name, lo=0))


def check_choice(x, name: str, choices) -> str:
    """Check that ``x`` is one of ``choices`` and return it."""
    if x not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {x!r}")
    return x
