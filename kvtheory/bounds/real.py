"""Certificates of Chapter 10: the identities behind the measurements on real caches.

Both are proved by sympy for symbolic sizes (any number of tokens, any kept
set, any head dimension), with indexed symbols and ``sympy.Sum`` over symbolic
ranges; each is also re-checked with explicit symbols at a few small sizes.
"""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = ["real_subset_attention_identity", "real_mean_key_invariance"]

#: The explicit sizes ``(n, |S|)`` and ``(n, d)`` re-checked beside the symbolic proofs.
_SUBSET_SIZES = ((2, 1), (3, 1), (4, 2), (5, 3))
_SHIFT_SIZES = ((2, 1), (3, 2), (4, 2))


def _attn(scores, values):
    e = [sp.exp(s) for s in scores]
    return sum(ei * v for ei, v in zip(e, values, strict=True)) / sum(e)


def _subset_symbolic(wrong: bool) -> bool:
    """``z - zhat - sum_{t>k} w_t (v_t - zhat) == 0`` for symbolic ``n`` and ``k``."""
    n, k = sp.symbols("n k", integer=True, positive=True)
    t = sp.Idx("t")
    s = sp.IndexedBase("s", real=True)
    v = sp.IndexedBase("v", real=True)

    def S(f, lo, hi):
        return sp.Sum(f, (t, lo, hi))

    # the four partial sums over S = {1..k} and its complement {k+1..n}
    a, b = sp.symbols("a b", positive=True)
    A, B = sp.symbols("A B", real=True)
    parts = {S(sp.exp(s[t]), 1, k): a, S(sp.exp(s[t]) * v[t], 1, k): A,
             S(sp.exp(s[t]), k + 1, n): b, S(sp.exp(s[t]) * v[t], k + 1, n): B}
    z = (A + B) / (a + b)                      # attention over all n tokens
    zhat = A / a                               # attention over S only
    w_t = sp.exp(s[t]) / (a + b)
    rhs = S(w_t * (v[t] if wrong else v[t] - zhat), k + 1, n)
    rhs = sp.factor_terms(rhs.expand()).subs(parts)   # linearity of the finite sum
    return sympy_is_zero(z - zhat - rhs)


def _subset_explicit(n: int, k: int, wrong: bool) -> bool:
    s = sp.symbols(f"s1:{n + 1}", real=True)
    v = sp.symbols(f"v1:{n + 1}", real=True)
    z, zhat = _attn(s, v), _attn(s[:k], v[:k])
    total = sum(sp.exp(x) for x in s)
    rhs = sum(sp.exp(s[t]) / total * (v[t] if wrong else v[t] - zhat) for t in range(k, n))
    return sympy_is_zero(z - zhat - rhs)


@register(chapter=10)
def real_subset_attention_identity(*, wrong: bool = False) -> Certificate:
    r"""Attention over a kept subset :math:`S` errs by :math:`\sum_{t\notin S}w_t(v_t-\hat z)`.

    With :math:`w=\mathrm{softmax}(s)`, :math:`z=\sum_tw_tv_t` and
    :math:`\hat z` the attention over :math:`S` only,
    :math:`z-\hat z=\sum_{t\notin S}w_t\,(v_t-\hat z)`: this gives the mass
    bound :math:`\|z-\hat z\|\le(1-w(S))\max_{t\notin S}\|v_t-\hat z\|`.

    Proved for symbolic sizes: after relabelling the tokens (attention does
    not depend on their order) :math:`S=\{1,\dots,k\}` with symbolic
    :math:`1\le k<n`; scores and values are indexed symbols, the sums are
    ``sympy.Sum`` over symbolic ranges, and sympy's own ``expand`` splits the
    sum over :math:`t\notin S` (linearity) before ``simplify`` reduces the
    difference to 0. The statement is coordinatewise, so scalar values
    suffice. Re-checked with explicit symbols at :math:`(n,|S|)\in
    \{(2,1),(3,1),(4,2),(5,3)\}`.

    ``wrong=True`` checks :math:`z-\hat z=\sum_{t\notin S}w_tv_t`, which
    forgets that the kept weights are renormalised.

    Examples
    --------
    >>> from kvtheory.bounds.real import real_subset_attention_identity as f
    >>> f().holds, f().scope, f(wrong=True).holds
    (True, 'general', False)
    """
    general = _subset_symbolic(wrong)
    spots = all(_subset_explicit(n, k, wrong) for n, k in _SUBSET_SIZES)
    holds = general and spots
    term = r"w_t v_t" if wrong else r"w_t (v_t - \hat z)"
    return Certificate(
        name="real_subset_attention_identity",
        statement=rf"z - \hat z = \sum_{{t\notin S}} {term}\ \text{{for all }} n,\ "
                  rf"\emptyset\ne S\subsetneq[n]",
        holds=holds,
        how=("sympy.simplify of the difference is 0 for symbolic n and |S| "
             "(and at n = 2..5 with explicit symbols)") if holds
            else "sympy.simplify leaves a nonzero difference",
        chapter=10,
    )


def _shift_symbolic(wrong: bool) -> bool:
    """``Attn(q, K + 1c^T, V) == Attn(q, K, V)`` for symbolic ``n`` and ``d``."""
    n, d = sp.symbols("n d", integer=True, positive=True)
    t, l = sp.Idx("t"), sp.Idx("l")
    q = sp.IndexedBase("q", real=True)
    c = sp.IndexedBase("c", real=True)
    K = sp.IndexedBase("k", real=True)
    v = sp.IndexedBase("v", real=True)

    def score(row, shift):
        return sp.Sum(q[l] * (K[row, l] + shift), (l, 1, d))

    def attn_all(shift):              # every key shifted by ``shift``
        e = sp.exp(score(t, shift))
        return sp.Sum(e * v[t], (t, 1, n)) / sp.Sum(e, (t, 1, n))

    def attn_first(shift):            # the first key shifted, keys 2..n not
        e1, e = sp.exp(score(1, shift)), sp.exp(score(t, 0))
        return (e1 * v[1] + sp.Sum(e * v[t], (t, 2, n))) / (e1 + sp.Sum(e, (t, 2, n)))

    def normal(x):        # split exp of a sum, pull t-free factors out of the t-sum
        return sp.factor_terms(x.expand(power_exp=True))

    attn = attn_first if wrong else attn_all
    return sympy_is_zero(normal(attn(c[l])) - normal(attn(0)))


def _shift_explicit(n: int, d: int, wrong: bool) -> bool:
    q = sp.symbols(f"q1:{d + 1}", real=True)
    c = sp.symbols(f"c1:{d + 1}", real=True)
    K = [sp.symbols(f"k{t}_1:{d + 1}", real=True) for t in range(n)]
    v = sp.symbols(f"v1:{n + 1}", real=True)

    def score(k):
        return sum(a * b for a, b in zip(q, k, strict=True))

    moved = [[kl + cl for kl, cl in zip(k, c, strict=True)] if (t == 0 or not wrong) else list(k)
             for t, k in enumerate(K)]
    return sympy_is_zero(_attn([score(k) for k in moved], v) - _attn([score(k) for k in K], v))


@register(chapter=10)
def real_mean_key_invariance(*, wrong: bool = False) -> Certificate:
    r"""Adding one vector :math:`c` to every key changes no attention output.

    :math:`\langle q,k_t+c\rangle=\langle q,k_t\rangle+\langle q,c\rangle`
    shifts all scores of a query equally, and softmax ignores a common
    shift. So only the *centred* keys matter, and the book measures their
    spectrum.

    Proved for symbolic sizes: :math:`n` tokens and head dimension
    :math:`d` symbolic, :math:`q,c,k_t` and the (scalar, coordinatewise)
    values indexed symbols, inner products as ``sympy.Sum`` over
    :math:`l=1..d`; sympy expands the exponential of the shifted score into
    :math:`e^{\langle q,k_t\rangle}e^{\langle q,c\rangle}`, pulls the
    :math:`t`-free factor out of both sums and simplifies the difference to
    0. Re-checked with explicit symbols at :math:`(n,d)\in\{(2,1),(3,2),(4,2)\}`.

    ``wrong=True`` adds :math:`c` to the first key only, which does change
    the output.

    Examples
    --------
    >>> from kvtheory.bounds.real import real_mean_key_invariance as f
    >>> f().holds, f().scope, f(wrong=True).holds
    (True, 'general', False)
    """
    general = _shift_symbolic(wrong)
    spots = all(_shift_explicit(n, d, wrong) for n, d in _SHIFT_SIZES)
    holds = general and spots
    what = r"k_1 + c" if wrong else r"k_t + c\ \forall t"
    return Certificate(
        name="real_mean_key_invariance",
        statement=rf"\mathrm{{Attn}}(q, K', V) = \mathrm{{Attn}}(q, K, V),\ K': {what},"
                  r"\ \text{for all } n, d",
        holds=holds,
        how=("sympy.simplify of the difference is 0 for symbolic n and d "
             "(and at (n, d) = (2, 1), (3, 2), (4, 2) with explicit symbols)") if holds
            else "sympy.simplify leaves a nonzero difference",
        chapter=10,
    )
