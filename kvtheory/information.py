r"""Information on the ground floor: binary entropy and the INDEX bound.

In :math:`\mathrm{INDEX}_N` Alice holds :math:`x\in\{0,1\}^N`, Bob holds
:math:`j\in[N]`, Alice sends one message and Bob must output :math:`x_j`.
With :math:`x,j` uniform, a protocol whose messages have at most :math:`S`
bits errs with probability at least :math:`H_2^{-1}(1-S/N)`
(Kremer, Nisan and Ron 1999; entropy form as in Rao and Yehudayoff 2020).
Equivalently, error :math:`\le p` forces :math:`S\ge(1-H_2(p))N`.

These few functions are used by every floor above: the one-way protocols of
Chapter 2 (:mod:`kvtheory.communication`), the INDEX game through attention
(:mod:`kvtheory.game`, :mod:`kvtheory.instances`), the benchmark and the
figures. The module imports nothing from :mod:`kvtheory` but the validators.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_real_array, check_int, check_real

__all__ = ["H2", "H2_inverse", "index_error_floor", "index_success_ceiling",
           "index_bits_needed"]


def H2(p):
    r"""Binary entropy :math:`H_2(p)=-p\log_2p-(1-p)\log_2(1-p)`, with :math:`H_2(0)=H_2(1)=0`.

    Parameters
    ----------
    p : float or array_like
        Probabilities in :math:`[0,1]`.

    Returns
    -------
    float or numpy.ndarray
        Entropy in bits; a float for scalar input.

    Raises
    ------
    ValueError
        If an entry lies outside :math:`[0,1]` or is NaN.

    Examples
    --------
    >>> import kvtheory as kv
    >>> f"{kv.information.H2(0.1):.4f}"
    '0.4690'
    """
    arr = as_real_array(p, "p")
    if np.any((arr < 0) | (arr > 1)):
        raise ValueError("p must lie in [0, 1]")
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(arr * np.log2(arr) + (1 - arr) * np.log2(1 - arr))
    h = np.where((arr == 0) | (arr == 1), 0.0, h)
    return float(h) if h.ndim == 0 else h


def H2_inverse(h, *, tol: float = 1e-13):
    r"""The inverse of :math:`H_2` on :math:`[0,\tfrac12]`.

    Returns the :math:`p\le\frac12` with :math:`H_2(p)=h`, computed by
    bisection (``H2`` is increasing on :math:`[0,\frac12]`) to absolute
    accuracy ``tol``. Vectorised over ``h``.

    Parameters
    ----------
    h : float or array_like
        Entropies in :math:`[0,1]`.
    tol : float, default 1e-13
        Absolute accuracy of the bisection (positive).

    Returns
    -------
    float or numpy.ndarray
        Values in :math:`[0,\frac12]`; a float for scalar input.

    Raises
    ------
    ValueError
        If an entry of ``h`` lies outside :math:`[0,1]` or is NaN, or
        ``tol <= 0``.

    Examples
    --------
    >>> import kvtheory as kv
    >>> f"{kv.information.H2_inverse(1 - 1/3):.3f}"
    '0.174'
    """
    arr = as_real_array(h, "h")
    if np.any((arr < 0) | (arr > 1)):
        raise ValueError("h must lie in [0, 1]")
    tol = check_real(tol, "tol", lo=0, lo_open=True)
    lo = np.zeros_like(arr)
    hi = np.full_like(arr, 0.5)
    while np.max(hi - lo) > tol:
        mid = (lo + hi) / 2
        below = np.asarray(H2(mid)) < arr
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    out = (lo + hi) / 2
    out = np.where(arr == 0, 0.0, np.where(arr == 1, 0.5, out))  # exact at the ends
    return float(out) if out.ndim == 0 else out


def index_error_floor(S, N):
    r"""Least error of any one-way INDEX protocol sending ``S`` bits about ``N``:
    :math:`H_2^{-1}(\max(0,1-S/N))`.

    ``S`` may be an array (vectorised); ``S >= N`` gives 0.

    Examples
    --------
    >>> import kvtheory as kv
    >>> f"{kv.information.index_error_floor(200, 1000):.3f}"
    '0.243'
    """
    S_arr = as_real_array(S, "S")
    if np.any(S_arr < 0):
        raise ValueError("S must be nonnegative")
    N = check_int(N, "N", lo=1)
    return H2_inverse(np.clip(1.0 - S_arr / N, 0.0, 1.0))


def index_success_ceiling(S, N):
    r"""Highest success probability :math:`1-H_2^{-1}(\max(0,1-S/N))` with ``S`` bits.

    Examples
    --------
    >>> import kvtheory as kv
    >>> kv.information.index_success_ceiling(0, 10)
    0.5
    """
    floor = index_error_floor(S, N)
    return 1.0 - floor


def index_bits_needed(p: float, N: int) -> float:
    r"""Bits a protocol with error :math:`\le p` must send: :math:`(1-H_2(p))N`.

    Examples
    --------
    >>> import kvtheory as kv
    >>> f"{kv.information.index_bits_needed(0.2, 1000):.1f}"
    '278.1'
    """
    p = check_real(p, "p", lo=0.0, hi=0.5)
    N = check_int(N, "N", lo=1)
    return (1.0 - H2(p)) * N
