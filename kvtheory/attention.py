r"""Softmax attention, computed stably, and the book's error notions.

Every function here works in the max-shifted (log-sum-exp) form, so scores of
:math:`\pm 10^4` give correct finite results where the textbook formula
overflows to ``inf`` and then ``nan``.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_real_array, check_int

__all__ = [
    "softmax",
    "naive_softmax",
    "logsumexp",
    "attention",
    "causal_attention",
    "entrywise_error",
    "additive_error",
    "l2_error_ratio",
]


def softmax(x, axis: int = -1) -> np.ndarray:
    r"""Softmax along ``axis``, in the max-shifted form.

    .. math:: \mathrm{softmax}(x)_t = \frac{e^{x_t - m}}{\sum_u e^{x_u - m}},
              \qquad m = \max_u x_u .

    The shift by :math:`m` leaves the result unchanged (numerator and
    denominator both gain the factor :math:`e^{-m}`) and keeps every
    exponent :math:`\le 0`, so nothing overflows.

    Parameters
    ----------
    x : array_like
        Finite real scores, at least one-dimensional.
    axis : int, default -1
        The axis that is normalised.

    Returns
    -------
    numpy.ndarray
        Nonnegative weights summing to 1 along ``axis``.

    Raises
    ------
    TypeError
        If ``x`` is not numeric.
    ValueError
        If ``x`` is empty along ``axis`` or holds NaN or inf.

    Examples
    --------
    >>> import kvtheory as kv
    >>> w = kv.softmax([1e4, 1e4 - 1.0])
    >>> [f"{v:.4f}" for v in w]
    ['0.7311', '0.2689']
    """
    x = as_real_array(x, "x", dtype=None)
    if x.ndim == 0:
        raise ValueError("x must be at least one-dimensional, got a scalar")
    axis = check_int(axis, "axis", lo=-x.ndim, hi=x.ndim - 1)
    if x.shape[axis] == 0:
        raise ValueError("x must be non-empty along axis")
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def naive_softmax(x) -> np.ndarray:
    r"""Softmax by the textbook formula :math:`e^{x_t}/\sum_u e^{x_u}`, unshifted.

    Kept only to show what goes wrong: at scores near :math:`10^3` the
    exponentials overflow, and the ratio ``inf / inf`` is ``nan``. Use
    :func:`softmax` for real work. Floating-point warnings are suppressed so
    the failure shows as values, not as noise.

    Examples
    --------
    >>> import kvtheory as kv
    >>> kv.naive_softmax([1e4, 0.0]).tolist()
    [nan, 0.0]
    """
    x = as_real_array(x, "x", ndim=1)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(x)
        return e / np.sum(e)


def logsumexp(x, axis: int = -1) -> np.ndarray:
    r"""Stable :math:`\log\sum_t e^{x_t}` along ``axis``.

    Examples
    --------
    >>> import kvtheory as kv
    >>> f"{float(kv.logsumexp([1e4, 1e4])):.6f}"
    '10000.693147'
    """
    x = as_real_array(x, "x", dtype=None)
    if x.ndim == 0:
        raise ValueError("x must be at least one-dimensional, got a scalar")
    axis = check_int(axis, "axis", lo=-x.ndim, hi=x.ndim - 1)
    if x.shape[axis] == 0:
        raise ValueError("x must be non-empty along axis")
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return np.squeeze(out, axis=axis)


def _check_qkv(q, K, V, *, finite_kv: bool = True):
    K = as_real_array(K, "K", ndim=2, finite=finite_kv)
    V = as_real_array(V, "V", ndim=2, finite=finite_kv)
    q = as_real_array(q, "q", ndim=(1, 2))
    n, d = K.shape
    if n == 0:
        raise ValueError("K must hold at least one key (shape (n, d) with n >= 1)")
    if V.shape[0] != n:
        raise ValueError(
            f"V must have one row per key: K has {n} rows, V has {V.shape[0]}"
        )
    if q.shape[-1] != d:
        raise ValueError(
            f"q must have the keys' dimension {d} in its last axis, got shape {q.shape}"
        )
    return q, K, V


def _softmax_rows_inplace(scores: np.ndarray) -> np.ndarray:
    """Max-shifted softmax of finite ``scores`` along the last axis, overwriting them."""
    if scores.ndim == 1:
        scores -= scores.max()
        np.exp(scores, out=scores)
        scores /= scores.sum()
    else:
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
    return scores


def _attention_trusted(q: np.ndarray, K: np.ndarray, V: np.ndarray) -> np.ndarray:
    """:func:`attention` for inputs already validated (float64, finite, matching shapes).

    The hot path of the caches: the scores ``K @ q``, the stable softmax
    computed in place, and ``w @ V``; no copy of ``K`` or ``V`` and no
    re-check of their entries. Scores that overflow (finite but huge keys
    and query) raise ``ValueError`` as :func:`softmax` does.
    """
    scores = K @ q if q.ndim == 1 else q @ K.T
    if not (np.isfinite(scores.max()) and np.isfinite(scores.min())):
        raise ValueError("x must be finite (no NaN or inf): the scores <q, k_t> overflowed")
    out = _softmax_rows_inplace(scores) @ V
    if not np.isfinite(out).all():
        raise ValueError("the attention output is not finite (a stored value overflowed "
                         "its precision)")
    return out


def attention(q, K, V) -> np.ndarray:
    r"""Softmax attention :math:`\mathrm{Attn}(q,K,V)=\mathrm{softmax}(Kq)^\top V`.

    The scaling :math:`1/\sqrt d` is absorbed into ``q`` (the book's
    convention), so the scores are plain inner products
    :math:`s_t=\langle q,k_t\rangle`.

    Parameters
    ----------
    q : array_like, shape (d,) or (m, d)
        One query, or ``m`` queries attended independently.
    K : array_like, shape (n, d)
        Keys, one per row; ``n >= 1``.
    V : array_like, shape (n, dv)
        Values, one per row.

    Returns
    -------
    numpy.ndarray, shape (dv,) or (m, dv)
        The attention output(s).

    Raises
    ------
    TypeError
        If an input is not a real numeric array.
    ValueError
        On mismatched shapes, an empty ``K``, or NaN/inf entries.

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> K = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> V = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> z = kv.attention(np.array([1e4, 0.0]), K, V)
    >>> z.tolist()
    [1.0, 0.0]
    """
    # K and V are checked for finiteness through the result: a NaN or inf entry of K
    # makes some score <q, k_t> non-finite (q is finite), and one of V makes the
    # output non-finite (0 * inf is NaN). Only then are the inputs scanned, to name the
    # culprit; so finite inputs are read once, at the memory-bandwidth limit.
    q, K, V = _check_qkv(q, K, V, finite_kv=False)
    scores = K @ q if q.ndim == 1 else q @ K.T          # (n,) or (m, n)
    if not (np.isfinite(scores.max()) and np.isfinite(scores.min())):
        _check_qkv(q, K, V)                             # names K if K is the culprit
        raise ValueError("x must be finite (no NaN or inf): the scores <q, k_t> overflowed")
    out = _softmax_rows_inplace(scores) @ V
    if not np.isfinite(out).all():
        _check_qkv(q, K, V)                             # names V if V is the culprit
        raise ValueError("the attention output overflowed (values too large to average)")
    return out


def causal_attention(Q, K, V, *, block: int = 1024) -> np.ndarray:
    r"""Batch causal attention: row ``i`` attends to tokens ``0..i``.

    This is the reference that a streaming algorithm must reproduce: the
    output at step ``i`` uses the current token and every earlier one.

    Parameters
    ----------
    Q, K : array_like, shape (n, d)
        Queries and keys.
    V : array_like, shape (n, dv)
        Values.
    block : int, default 1024
        Rows computed at once; bounds the working memory at
        ``block * n`` floats.

    Returns
    -------
    numpy.ndarray, shape (n, dv)

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> rng = np.random.default_rng(0)
    >>> Q, K, V = rng.normal(size=(3, 5, 4))
    >>> Z = kv.causal_attention(Q, K, V)
    >>> bool(np.allclose(Z[2], kv.attention(Q[2], K[:3], V[:3])))
    True
    """
    Q = as_real_array(Q, "Q", ndim=2)
    K = as_real_array(K, "K", ndim=2)
    V = as_real_array(V, "V", ndim=2)
    block = check_int(block, "block", lo=1)
    n, d = K.shape
    if n == 0:
        raise ValueError("K must hold at least one key")
    if Q.shape != (n, d):
        raise ValueError(f"Q must have the shape of K {K.shape}, got {Q.shape}")
    if V.shape[0] != n:
        raise ValueError(f"V must have {n} rows like K, got {V.shape[0]}")
    out = np.empty((n, V.shape[1]))
    cols = np.arange(n)
    for start in range(0, n, block):
        stop = min(n, start + block)
        S = Q[start:stop] @ K[:stop].T
        S[cols[None, :stop] > np.arange(start, stop)[:, None]] = -np.inf
        S -= S.max(axis=1, keepdims=True)
        E = np.exp(S)
        out[start:stop] = (E @ V[:stop]) / E.sum(axis=1, keepdims=True)
    return out


def _pair(z_hat, z):
    z_hat = as_real_array(z_hat, "z_hat", dtype=None)
    z = as_real_array(z, "z", dtype=None)
    if z_hat.shape != z.shape:
        raise ValueError(
            f"z_hat and z must have the same shape, got {z_hat.shape} and {z.shape}"
        )
    if z.size == 0:
        raise ValueError("z must be non-empty")
    return z_hat.astype(np.float64), z.astype(np.float64)


def entrywise_error(z_hat, z) -> float:
    r"""Smallest :math:`\eta` with :math:`|\hat z_l-z_l|\le\eta|z_l|` for all ``l``.

    This is the notion :math:`(\mathrm E_\eta)`. Where :math:`z_l=0` the
    entry contributes 0 if :math:`\hat z_l=0` and :math:`+\infty` otherwise
    (no finite :math:`\eta` works), never ``nan``.

    Examples
    --------
    >>> import kvtheory as kv
    >>> kv.entrywise_error([1.1, 0.0], [1.0, 0.0])  # doctest: +ELLIPSIS
    0.100000...
    >>> kv.entrywise_error([0.1], [0.0])
    inf
    """
    z_hat, z = _pair(z_hat, z)
    diff = np.abs(z_hat - z)
    scale = np.abs(z)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(scale > 0, diff / np.where(scale > 0, scale, 1.0),
                         np.where(diff > 0, np.inf, 0.0))
    return float(np.max(ratio))


def additive_error(z_hat, z) -> float:
    r"""The notion :math:`(\mathrm A_\alpha)`: :math:`\max_l|\hat z_l-z_l|`.

    Examples
    --------
    >>> import kvtheory as kv
    >>> f"{kv.additive_error([0.5, 0.2], [0.4, 0.4]):.2f}"
    '0.20'
    """
    z_hat, z = _pair(z_hat, z)
    return float(np.max(np.abs(z_hat - z)))


def l2_error_ratio(z_hat, q, K, V) -> float:
    r"""SubGen's error ratio :math:`\|\hat z-z\|_2 / (\|\mathrm{softmax}(Kq)\|_2\|V\|_{op})`.

    An output meets :math:`(\mathrm S_\varepsilon)` iff this ratio is at most
    :math:`\varepsilon`. ``V`` must not be all zero (the ratio would be 0/0).

    Examples
    --------
    >>> import numpy as np, kvtheory as kv
    >>> K = np.zeros((4, 2)); V = np.eye(4, 2)
    >>> z = kv.attention(np.ones(2), K, V)
    >>> kv.l2_error_ratio(z, np.ones(2), K, V)
    0.0
    """
    q, K, V = _check_qkv(q, K, V)
    if q.ndim != 1:
        raise ValueError(f"q must be a single query of shape (d,), got {q.shape}")
    z_hat = as_real_array(z_hat, "z_hat", shape=(V.shape[1],))
    op = float(np.linalg.norm(V, 2))
    if op == 0.0:
        raise ValueError("V must not be all zero: the ratio is undefined (0/0)")
    w = softmax(K @ q)
    z = w @ V
    return float(np.linalg.norm(z_hat - z) / (np.linalg.norm(w) * op))
