"""Certificates of Chapter 10: the identities behind the measurements on real caches."""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = ["real_subset_attention_identity", "real_mean_key_invariance"]


def _attn(scores, values):
    e = [sp.exp(s) for s in scores]
    return sum(ei * v for ei, v in zip(e, values, strict=True)) / sum(e)


@register(chapter=10)
def real_subset_attention_identity(*, wrong: bool = False) -> Certificate:
    r"""Attention over a kept subset :math:`S` errs by :math:`\sum_{t\notin S}w_t(v_t-\hat z)`.

    With :math:`w=\mathrm{softmax}(s)`, :math:`z=\sum_tw_tv_t` and
    :math:`\hat z` the attention over :math:`S` only,
    :math:`z-\hat z=\sum_{t\notin S}w_t\,(v_t-\hat z)`: this gives the mass
    bound :math:`\|z-\hat z\|\le(1-w(S))\max_{t\notin S}\|v_t-\hat z\|`.
    Checked for symbolic scores and values, :math:`n=4`, :math:`S=\{1,2\}`
    (coordinatewise, so scalar values suffice).

    ``wrong=True`` checks :math:`z-\hat z=\sum_{t\notin S}w_tv_t`, which
    forgets that the kept weights are renormalised.

    Examples
    --------
    >>> from kvtheory.bounds.real import real_subset_attention_identity as f
    >>> f().holds, f(wrong=True).holds
    (True, False)
    """
    s = sp.symbols("s1:5", real=True)
    v = sp.symbols("v1:5", real=True)
    z = _attn(s, v)
    zhat = _attn(s[:2], v[:2])
    total = sum(sp.exp(x) for x in s)
    w = [sp.exp(x) / total for x in s]
    rhs = sum(w[t] * (v[t] if wrong else v[t] - zhat) for t in (2, 3))
    holds = sympy_is_zero(z - zhat - rhs)
    term = r"w_t v_t" if wrong else r"w_t (v_t - \hat z)"
    return Certificate(
        name="real_subset_attention_identity",
        statement=rf"z - \hat z = \sum_{{t\notin S}} {term},\ n=4,\ S=\{{1,2\}}",
        holds=holds,
        how="sympy.simplify of the difference is 0" if holds
            else "sympy.simplify leaves a nonzero difference",
        chapter=10,
    )


@register(chapter=10)
def real_mean_key_invariance(*, wrong: bool = False) -> Certificate:
    r"""Adding one vector :math:`c` to every key changes no attention output.

    :math:`\langle q,k_t+c\rangle=\langle q,k_t\rangle+\langle q,c\rangle`
    shifts all scores of a query equally, and softmax ignores a common
    shift. So only the *centred* keys matter, and the book measures their
    spectrum. Checked for symbolic :math:`q,c\in\mathbb R^2`, three keys
    and values.

    ``wrong=True`` adds :math:`c` to the first key only, which does change
    the output.

    Examples
    --------
    >>> from kvtheory.bounds.real import real_mean_key_invariance as f
    >>> f().holds, f(wrong=True).holds
    (True, False)
    """
    q = sp.symbols("q1:3", real=True)
    c = sp.symbols("c1:3", real=True)
    K = [sp.symbols(f"k{t}_1:3", real=True) for t in range(3)]
    v = sp.symbols("v1:4", real=True)

    def score(k):
        return sum(a * b for a, b in zip(q, k, strict=True))

    moved = [[kl + cl for kl, cl in zip(k, c, strict=True)] if (t == 0 or not wrong) else list(k)
             for t, k in enumerate(K)]
    holds = sympy_is_zero(_attn([score(k) for k in moved], v) - _attn([score(k) for k in K], v))
    what = r"k_1 + c" if wrong else r"k_t + c\ \forall t"
    return Certificate(
        name="real_mean_key_invariance",
        statement=rf"\mathrm{{Attn}}(q, K', V) = \mathrm{{Attn}}(q, K, V),\ K': {what}",
        holds=holds,
        how="sympy.simplify of the difference is 0" if holds
            else "sympy.simplify leaves a nonzero difference",
        chapter=10,
    )
