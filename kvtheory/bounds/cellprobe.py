r"""Certificates of Chapter 8: the time barrier for non-adaptive readers.

Each function checks one algebraic step of the proof of the time-barrier
theorem of Chapter 8 with sympy, for symbolic sizes (every certificate here is
general), and, with ``wrong=True``, runs the same check on a deliberately
wrong variant. The probabilistic steps (Yao's averaging over the seed, the
hit probability of a fixed set) are the ones the proof argues; the
certificates check their algebra.
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
    >>> from kvtheory.bounds.cellprobe import nonadaptive_hit_probability as c
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
    >>> from kvtheory.bounds.cellprobe import nonadaptive_yao_step as c
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
    r"""Success :math:`\ge1-p` on every input of (a) forces
    :math:`\mathbb E|S|\ge(1-p(1+\tfrac1d))\,nd`, and no more.

    The proof of part (a) ends with the inequality
    :math:`1-p\le\frac{\mathbb E|S|}{nd}+\frac{p}d`
    (a planted input is found by reading it, or guessed in one of :math:`d`
    columns on at most a :math:`p` share of the seeds). The
    check, for symbolic :math:`n,d,p`:

    1. sympy solves the inequality's equality case for :math:`\mathbb E|S|`
       and compares with the claimed threshold :math:`T_0`;
    2. tightness: the hedged reader (read everything with probability
       :math:`\lambda`, else output :math:`e_{l'}/(n+1)` for a uniform column with
       probability :math:`\beta=d/(d+1)` and 0 otherwise) succeeds with
       :math:`\lambda+(1-\lambda)(1-\beta)` on the all-zero input and
       :math:`\lambda+(1-\lambda)\beta/d` on
       every planted input; sympy checks the two are equal, solves
       "equal to :math:`1-p`" for :math:`\lambda`, and checks
       :math:`\lambda\,nd=T_0`, so no larger threshold is true.

    ``wrong=True`` claims :math:`T_0=(1-p)\,nd`: step 1 gives a
    different value, and the hedged reader meets every input with
    :math:`p\cdot n` fewer cells in expectation.

    Examples
    --------
    >>> from kvtheory.bounds.cellprobe import nonadaptive_budget_from_success as c
    >>> c().holds, c(wrong=True).holds
    (True, False)
    """
    err = sp.Symbol("p", nonnegative=True)          # the failure probability p
    p = sp.Symbol("lambda", nonnegative=True)       # the hedged reader's read probability
    T0 = (1 - err) * _n * _d if wrong else (1 - err * (1 + 1 / _d)) * _n * _d
    (solved,) = sp.solve(sp.Eq(1 - err, _T / (_n * _d) + err / _d), _T)
    symbolic = sympy_is_zero(solved - T0)
    b = _d / (_d + 1)
    s_zero = p + (1 - p) * (1 - b)
    s_planted = p + (1 - p) * b / _d
    balanced = sympy_is_zero(s_zero - s_planted)
    (p_star,) = sp.solve(sp.Eq(s_planted, 1 - err), p)
    tight = sympy_is_zero(p_star * _n * _d - T0)
    holds = symbolic and balanced and tight
    claim = r"(1-p)\,nd" if wrong else r"\bigl(1-p(1+\tfrac1d)\bigr)nd"
    gap = sp.factor(sp.simplify(T0 - p_star * _n * _d))
    return Certificate(
        name="nonadaptive_budget_from_success",
        statement=(r"1-p\le\tfrac{\mathbb E|S|}{nd}+\tfrac{p}{d}"
                   rf"\iff\mathbb E|S|\ge {claim},\ \text{{attained}}"),
        holds=holds,
        how=("sympy.solve gives E|S| = (1 - p(1 + 1/d)) n d, equal to the claim; the "
             "hedged reader succeeds equally on every input and meets 1 - p with "
             "exactly that many cells")
            if holds else
            (f"sympy.solve gives E|S| = {sp.factor(solved)}, not the claim; the hedged "
             f"reader meets every input with {gap} fewer cells than claimed"),
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
    >>> from kvtheory.bounds.cellprobe import planted_key_weight as c
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
    r"""On (b), :math:`|z_l-v_{t^*l}|\le2(1-w)` and every output within :math:`\alpha` has
    :math:`v_{t^*l}\hat z_l\ge1-\tfrac{2\gamma}{1+\gamma}-\alpha`.

    With :math:`w=w_{t^*}=\tfrac1{1+\gamma}`, a value sign
    :math:`v=v_{t^*l}\in\{\pm1\}` and the average :math:`m=m_l\in[-1,1]`
    of coordinate :math:`l` over the other tokens,
    :math:`z_l=wv+(1-w)m`; an output with :math:`|\hat z_l-z_l|\le\alpha` is
    :math:`\hat z_l=z_l+e`, :math:`|e|\le\alpha`. The check, for symbolic
    :math:`\gamma>0`, :math:`\alpha\ge0`:

    1. sympy simplifies :math:`2(1-w)-\tfrac{2\gamma}{1+\gamma}` to 0;
    2. :math:`\pm(z_l-v)` and :math:`v\hat z_l` are affine in :math:`(m,e)`
       (sympy checks the degree), so over the box
       :math:`[-1,1]\times[-\alpha,\alpha]` their extremes lie at the
       corners; at each corner and for both signs of :math:`v`, sympy proves
       :math:`2(1-w)\mp(z_l-v)\ge0` and
       :math:`v\hat z_l-(1-\tfrac{2\gamma}{1+\gamma}-\alpha)\ge0`.

    So :math:`\alpha+\tfrac{2\gamma}{1+\gamma}<1` makes every admissible
    output carry the signs of :math:`v_{t^*}`. ``wrong=True`` claims the
    margin :math:`1-\tfrac{\gamma}{1+\gamma}-\alpha` (the factor 2
    dropped); at the corner :math:`v=1`, :math:`m=-1`, :math:`e=-\alpha`
    sympy finds it short by :math:`\gamma/(1+\gamma)`.

    Examples
    --------
    >>> from kvtheory.bounds.cellprobe import planted_key_sign_condition as c
    >>> c().holds, c(wrong=True).holds
    (True, False)
    """
    g = sp.Symbol("gamma", positive=True)
    a = sp.Symbol("alpha", nonnegative=True)
    m, e, v = sp.symbols("m e v", real=True)
    w = 1 / (1 + g)
    z = w * v + (1 - w) * m
    zhat = z + e
    factor = 1 if wrong else 2
    claimed = 1 - factor * g / (1 + g) - a
    identity = sympy_is_zero(2 * (1 - w) - 2 * g / (1 + g))
    exprs = [2 * (1 - w) - (z - v), 2 * (1 - w) + (z - v), v * zhat - claimed]
    affine = all(sp.Poly(sp.expand(ex.subs(v, s)), m, e).total_degree() <= 1
                 for ex in exprs for s in (1, -1))
    worst = None
    ok = identity and affine
    for s in (1, -1):
        for mm in (-1, 1):
            for ee in (-a, a):
                for ex in exprs:
                    val = sp.simplify(ex.subs({v: s, m: mm, e: ee}))
                    if val.is_nonnegative is not True:
                        ok = False
                        worst = worst if worst is not None else (s, mm, ee, val)
    lhs = r"\tfrac{\gamma}{1+\gamma}" if wrong else r"\tfrac{2\gamma}{1+\gamma}"
    return Certificate(
        name="planted_key_sign_condition",
        statement=(r"|z_l-v_{t^*l}|\le2(1-w)=\tfrac{2\gamma}{1+\gamma},\ "
                   r"|\hat z_l-z_l|\le\alpha\implies v_{t^*l}\hat z_l\ge1-" + lhs
                   + r"-\alpha"),
        holds=ok,
        how=("sympy: the bounds are affine in (m, e) and hold at all 8 corners of "
             "[-1,1] x [-alpha,alpha] for v = +-1 (tight at v = 1, m = -1, e = -alpha)")
            if ok else
            (f"sympy: at v = {worst[0]}, m = {worst[1]}, e = {worst[2]} the margin is "
             f"{worst[3]}, negative for gamma > 0" if worst else
             "sympy could not establish the identity or the affine form"),
        chapter=8,
    )
