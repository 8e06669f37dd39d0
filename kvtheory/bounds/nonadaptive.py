r"""Certificates of Chapter 8: the time barrier for non-adaptive readers.

Each function checks one step of the proof of Theorem 8.2 with sympy and,
with ``wrong=True``, runs the same check on a deliberately wrong variant.
"""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = ["nonadaptive_hit_probability", "nonadaptive_yao_step",
           "nonadaptive_budget_from_success", "planted_key_weight",
           "planted_key_sign_condition"]

_n, _d, _T = sp.symbols("n d T", positive=True)


@register(chapter=8)
def nonadaptive_hit_probability(*, wrong: bool = False) -> Certificate:
    r"""A fixed set of :math:`T` cells holds a uniform planted cell w.p. :math:`T/(nd)`.

    Checked as an exact sum: the planted cell is each of the :math:`nd`
    cells with probability :math:`1/(nd)`, and the indicator of "in
    :math:`S`" is 1 on :math:`T` of them, so
    :math:`\Pr[\text{hit}]=\sum_{j=1}^{T}\frac1{nd}`; sympy evaluates the sum
    and compares it with the claim. ``wrong=True`` claims :math:`T/n` (the
    factor :math:`1/d` forgotten: as if a reader needed only to find the
    token).

    Examples
    --------
    >>> from kvtheory.bounds.nonadaptive import nonadaptive_hit_probability as c
    >>> c().holds, c(wrong=True).holds
    (True, False)
    """
    j = sp.Symbol("j", integer=True, positive=True)
    T = sp.Symbol("T", integer=True, positive=True)
    exact = sp.summation(1 / (_n * _d), (j, 1, T))
    claim = T / _n if wrong else T / (_n * _d)
    holds = sympy_is_zero(exact - claim)
    return Certificate(
        name="nonadaptive_hit_probability",
        statement=(r"\Pr[(t^*,l^*)\in S]=\sum_{j=1}^{|S|}\tfrac1{nd}="
                   + (r"\tfrac{|S|}{n}" if wrong else r"\tfrac{|S|}{nd}")),
        holds=holds,
        how="sympy.summation of 1/(nd) over |S| cells, minus the claim, simplifies to 0"
            if holds else "sympy.summation of 1/(nd) over |S| cells differs from the claim",
        chapter=8,
    )


@register(chapter=8)
def nonadaptive_yao_step(*, wrong: bool = False) -> Certificate:
    r"""Yao's principle, easy direction: worst-case success is at most the average.

    For a randomised reader let :math:`s_0,s_1` be its success probabilities
    on two inputs. Its success on every input is :math:`\min(s_0,s_1)`, and
    :math:`\min(s_0,s_1)\le\tfrac12(s_0+s_1)`, the success on the 50/50
    mixture, which in turn averages deterministic readers (fixed seed
    :math:`R`). Checked in both orders :math:`s_1=s_0+u` and
    :math:`s_0=s_1+u` with :math:`u\ge0`: sympy must prove
    :math:`\tfrac12(s_0+s_1)-\min(s_0,s_1)\ge0` in each. ``wrong=True``
    checks the reversed claim with :math:`\max` (average bounds the best
    input), which fails.

    Examples
    --------
    >>> from kvtheory.bounds.nonadaptive import nonadaptive_yao_step as c
    >>> c().holds, c(wrong=True).holds
    (True, False)
    """
    s, u = sp.Symbol("s", real=True), sp.Symbol("u", nonnegative=True)
    pick = sp.Max if wrong else sp.Min
    ok = True
    for s0, s1 in ((s, s + u), (s + u, s)):
        gap = sp.simplify((s0 + s1) / 2 - pick(s0, s1))
        ok = ok and bool(gap.is_nonnegative is True)
    word = r"\max" if wrong else r"\min"
    return Certificate(
        name="nonadaptive_yao_step",
        statement=rf"{word}(s_0,s_1)\le\tfrac12(s_0+s_1)",
        holds=ok,
        how="sympy proves the gap nonnegative in both orders (it simplifies to u/2)" if ok
            else "sympy finds the gap -u/2 in one order: not nonnegative",
        chapter=8,
    )


@register(chapter=8)
def nonadaptive_budget_from_success(*, wrong: bool = False) -> Certificate:
    r"""Success :math:`\ge 1-\mathrm{err}` forces :math:`T\ge(1-2\,\mathrm{err})nd`.

    The ceiling :math:`\tfrac12+\tfrac{T}{2nd}` is attained (the reader that
    outputs 0 unless it sees the planted 1), so the smallest budget with
    success :math:`1-\mathrm{err}` solves
    :math:`\tfrac12+\tfrac{T}{2nd}=1-\mathrm{err}`. The check: sympy solves
    that equation for :math:`T` and compares with the claimed threshold
    :math:`T_0(\mathrm{err})`, and tests the claim at the concrete point
    :math:`\mathrm{err}=\tfrac14`, :math:`T=nd/2`, where the ceiling is
    :math:`0.75=1-\mathrm{err}`. ``wrong=True`` claims
    :math:`T_0=(1-\mathrm{err})nd`; it is refuted at that point: a reader
    with :math:`T=nd/2<0.75\,nd` succeeds with probability 0.75.

    Examples
    --------
    >>> from kvtheory.bounds.nonadaptive import nonadaptive_budget_from_success as c
    >>> c().holds, c(wrong=True).holds
    (True, False)
    """
    err = sp.Symbol("err", nonnegative=True)
    ceiling = sp.Rational(1, 2) + _T / (2 * _n * _d)
    T0 = (1 - err) * _n * _d if wrong else (1 - 2 * err) * _n * _d
    (solved,) = sp.solve(sp.Eq(ceiling, 1 - err), _T)
    symbolic = sympy_is_zero(solved - T0)
    at = {err: sp.Rational(1, 4), _T: _n * _d / 2}
    success_there = ceiling.subs(at)
    needs = sp.simplify(_T.subs(at) - T0.subs(at))          # >= 0 iff T meets the claim
    counterexample = bool(sp.simplify(success_there - (1 - at[err])) >= 0) and \
        bool(needs.is_negative is True)
    holds = symbolic and not counterexample
    claim = r"(1-\mathrm{err})\,nd" if wrong else r"(1-2\,\mathrm{err})\,nd"
    return Certificate(
        name="nonadaptive_budget_from_success",
        statement=rf"\tfrac12+\tfrac{{T}}{{2nd}}\ge1-\mathrm{{err}}\iff T\ge {claim}",
        holds=holds,
        how=("sympy.solve gives T = (1 - 2 err) n d, equal to the claim; at err = 1/4 "
             "the budget T = nd/2 meets it") if holds else
            (f"sympy.solve gives T = {sp.factor(solved)}, not the claim; at err = 1/4, "
             f"T = nd/2 succeeds with {success_there} yet violates it"),
        chapter=8,
    )


@register(chapter=8)
def planted_key_weight(*, wrong: bool = False) -> Certificate:
    r"""At :math:`L=\ln(n/\gamma)` the planted token gets weight :math:`1/(1+\gamma)`.

    The planted token scores :math:`L`; the other :math:`n` tokens (the
    :math:`n-1` other cached tokens and the current one, all with key 0)
    score 0, so :math:`w_{t^*}=e^L/(e^L+n)`. sympy substitutes
    :math:`L=\ln(n/\gamma)` and simplifies the difference with
    :math:`1/(1+\gamma)`. ``wrong=True`` forgets the current token (counts
    :math:`n-1` others), which leaves a nonzero difference.

    Examples
    --------
    >>> from kvtheory.bounds.nonadaptive import planted_key_weight as c
    >>> c().holds, c(wrong=True).holds
    (True, False)
    """
    g = sp.Symbol("gamma", positive=True)
    L = sp.log(_n / g)
    others = _n - 1 if wrong else _n
    w = sp.exp(L) / (sp.exp(L) + others)
    holds = sympy_is_zero(w - 1 / (1 + g))
    return Certificate(
        name="planted_key_weight",
        statement=(r"\frac{e^{L}}{e^{L}+" + ("n-1" if wrong else "n")
                   + r"}=\frac1{1+\gamma}\ \text{at}\ L=\ln(n/\gamma)"),
        holds=holds,
        how="sympy.simplify of the difference is 0" if holds
            else "sympy.simplify leaves a nonzero difference",
        chapter=8,
    )


@register(chapter=8)
def planted_key_sign_condition(*, wrong: bool = False) -> Certificate:
    r"""Sign condition: :math:`\alpha+\tfrac{2\gamma}{1+\gamma}<1` fixes every output's signs.

    With :math:`w=w_{t^*}=\tfrac1{1+\gamma}` and values in :math:`[-1,1]`,
    :math:`z_l=w\,v_{t^*l}+(1-w)m_l` with :math:`|m_l|\le1`, so
    :math:`v_{t^*l}z_l\ge 1-2(1-w)` and an output within :math:`\alpha`
    has :math:`v_{t^*l}\hat z_l\ge 1-2(1-w)-\alpha`. The condition, solved for
    :math:`\alpha`, reads :math:`\alpha<\alpha_{\max}(\gamma)`; the check asks
    sympy to prove :math:`1-2(1-w)-\alpha_{\max}(\gamma)\ge0` for every
    :math:`\gamma>0`, so that every admissible :math:`\alpha` leaves the worst
    case strictly positive. ``wrong=True`` checks the condition
    :math:`\alpha+\tfrac{\gamma}{1+\gamma}<1` (the factor 2 dropped): the
    margin becomes :math:`-\gamma/(1+\gamma)<0`.

    Examples
    --------
    >>> from kvtheory.bounds.nonadaptive import planted_key_sign_condition as c
    >>> c().holds, c(wrong=True).holds
    (True, False)
    """
    g = sp.Symbol("gamma", positive=True)
    a = sp.Symbol("alpha", real=True)
    w = 1 / (1 + g)
    factor = 1 if wrong else 2
    condition = a + factor * g / (1 + g) < 1
    (alpha_max,) = sp.solve(sp.Eq(condition.lhs, condition.rhs), a)
    margin = sp.simplify(1 - 2 * (1 - w) - alpha_max)
    holds = bool(margin.is_nonnegative is True)
    lhs = r"\alpha+\tfrac{\gamma}{1+\gamma}" if wrong else r"\alpha+\tfrac{2\gamma}{1+\gamma}"
    return Certificate(
        name="planted_key_sign_condition",
        statement=(lhs + r"<1\implies v_{t^*l}\hat z_l>0\ \text{for all}\ l"),
        holds=holds,
        how=f"sympy: worst-case margin at the largest admissible alpha is {margin}, >= 0"
            if holds else f"sympy: worst-case margin is {margin}, negative for gamma > 0",
        chapter=8,
    )
