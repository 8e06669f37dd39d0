r"""Certificates of Chapter 3: the algebraic steps of the proof of the space barrier.

Chapter 3's space-barrier theorem (``thm-space-barrier``) reduces INDEX to
attention with random sign keys; its first-moment refinement
(``prop-first-moment``) weakens the condition on :math:`d`. Each function
below checks one algebraic step symbolically with sympy, for symbolic sizes
(every certificate here has ``scope="general"``), and with ``wrong=True``
runs the same check on a deliberately wrong variant. The probabilistic
inequalities of the proof (Hoeffding's inequality, the union bound, Markov's
inequality, data processing in the INDEX bound) are cited, not certified.
"""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = [
    "barrier_hoeffding_d",
    "barrier_query_scale",
    "barrier_weight_monotone",
    "barrier_separation",
    "barrier_threshold_between",
    "barrier_additive_threshold",
    "barrier_binomial_identity",
    "barrier_case_split",
    "barrier_eta_range",
]

_n, _delta, _eps, _gamma, _C, _d = sp.symbols("n delta kappa gamma C d", positive=True)
_eta = sp.Symbol("eta", positive=True)


def _cert(name, statement, holds, how_true, how_false):
    return Certificate(name=name, statement=statement, holds=bool(holds),
                       how=how_true if holds else how_false, chapter=3)


@register(chapter=3)
def barrier_hoeffding_d(*, wrong: bool = False) -> Certificate:
    r"""Step (a): :math:`d^*=\frac{2}{\kappa^2}\ln\frac n\delta` solves
    :math:`ne^{-\kappa^2d/2}=\delta`, and the left side decreases in :math:`d`,
    so every :math:`d\ge d^*` makes the union bound :math:`\le\delta`.

    ``wrong=True`` tries :math:`d^*=\frac{1}{\kappa^2}\ln\frac n\delta`
    (the factor 2 of Hoeffding's exponent forgotten): the left side is then
    :math:`\sqrt{n\delta}`, not :math:`\delta`.

    Examples
    --------
    >>> from kvtheory.bounds.index import barrier_hoeffding_d
    >>> barrier_hoeffding_d().holds, barrier_hoeffding_d(wrong=True).holds
    (True, False)
    """
    factor = 1 if wrong else 2
    d_star = factor / _eps**2 * sp.log(_n / _delta)
    lhs = _n * sp.exp(-_eps**2 * _d / 2)
    solves = sympy_is_zero(sp.expand_log(lhs.subs(_d, d_star), force=True) - _delta)
    decreasing = bool(sp.simplify(sp.diff(lhs, _d)).is_negative)
    return _cert(
        "barrier_hoeffding_d",
        rf"n e^{{-\kappa^2 d/2}}\le\delta\ \text{{for}}\ d\ge"
        rf"\tfrac{{{factor}}}{{\kappa^2}}\ln\tfrac n\delta",
        solves and decreasing,
        "substituting d* gives exactly delta (simplify), and d/dd of n e^{-eps^2 d/2} < 0",
        "substituting d* does not give delta (simplify leaves a nonzero difference)",
    )


@register(chapter=3)
def barrier_query_scale(*, wrong: bool = False) -> Certificate:
    r"""Step (b): :math:`C^*=\frac{\ln n+\ln(1/\gamma)}{1-\kappa}` is the
    solution of :math:`ne^{-C(1-\kappa)}=\gamma` (sympy ``solve``), so
    :math:`w_{i^*}\ge\frac1{1+\gamma}` at this query scale.

    ``wrong=True`` claims :math:`C^*=\ln(n/\gamma)` (the factor
    :math:`1/(1-\kappa)` for the partners' scores forgotten).

    Examples
    --------
    >>> from kvtheory.bounds.index import barrier_query_scale
    >>> barrier_query_scale().holds, barrier_query_scale(wrong=True).holds
    (True, False)
    """
    eps = sp.Symbol("kappa", positive=True)
    claimed = sp.log(_n / _gamma) if wrong else (sp.log(_n) + sp.log(1 / _gamma)) / (1 - eps)
    sols = sp.solve(sp.Eq(_n * sp.exp(-_C * (1 - eps)), _gamma), _C)
    holds = len(sols) == 1 and sympy_is_zero(
        sp.expand_log(sols[0] - claimed, force=True))
    return _cert(
        "barrier_query_scale",
        r"n e^{-C(1-\kappa)}=\gamma\iff C=" + sp.latex(claimed),
        holds,
        "sympy.solve returns exactly the claimed C",
        "sympy.solve returns a different C",
    )


@register(chapter=3)
def barrier_weight_monotone(*, wrong: bool = False) -> Certificate:
    r"""Step (b): :math:`w_{i^*}=\frac{e^C}{e^C+\sum_{t\ne i^*}e^{C\rho_t}+1}`
    decreases in each :math:`\rho_t`, so its worst case on :math:`G` is
    :math:`\rho_t=\kappa`, giving
    :math:`w_{i^*}\ge\frac{e^C}{e^C+ne^{C\kappa}}=\frac1{1+ne^{-C(1-\kappa)}}`.

    Checked: the sign of :math:`\partial w/\partial\rho` (sympy, positive
    symbols: :math:`R>0` stands for the other terms of the denominator), and the
    final identity. ``wrong=True`` claims the worst case is the other end,
    i.e. that :math:`w` *increases* in :math:`\rho_t`; the same sign check fails.

    Examples
    --------
    >>> from kvtheory.bounds.index import barrier_weight_monotone
    >>> barrier_weight_monotone().holds, barrier_weight_monotone(wrong=True).holds
    (True, False)
    """
    rho = sp.Symbol("rho", real=True)
    R = sp.Symbol("R", positive=True)
    w = sp.exp(_C) / (sp.exp(_C) + sp.exp(_C * rho) + R)
    deriv = sp.simplify(sp.diff(w, rho))
    sign_ok = bool(deriv.is_positive) if wrong else bool(deriv.is_negative)
    worst = sp.exp(_C) / (sp.exp(_C) + _n * sp.exp(_C * _eps))
    identity = sympy_is_zero(worst - 1 / (1 + _n * sp.exp(-_C * (1 - _eps))))
    direction = "increases" if wrong else "decreases"
    return _cert(
        "barrier_weight_monotone",
        rf"w_{{i^*}}\ \text{{{direction} in}}\ \rho_t,\ \text{{so}}\ "
        r"w_{i^*}\ge\frac{1}{1+n e^{-C(1-\kappa)}}",
        sign_ok and identity,
        f"sympy: dw/drho = {deriv} has the claimed sign; the worst case simplifies",
        f"sympy cannot give dw/drho = {deriv} the claimed sign",
    )


def _ab():
    a = (1 - _eta) / (1 + _gamma)
    b = (1 + _eta) * _gamma / (1 + _gamma)
    return a, b


@register(chapter=3)
def barrier_separation(*, wrong: bool = False) -> Certificate:
    r"""Step (d): with :math:`a=\frac{1-\eta}{1+\gamma}`, :math:`b=\frac{(1+\eta)\gamma}{1+\gamma}`,
    :math:`a-b=\frac{1+\eta}{1+\gamma}\bigl(\frac{1-\eta}{1+\eta}-\gamma\bigr)`, so
    :math:`a>b\iff\gamma<\frac{1-\eta}{1+\eta}`.

    Checked as the identity :math:`a-b=\frac{1+\eta}{1+\gamma}(G-\gamma)` for the
    claimed threshold :math:`G` (the factor is positive, so the signs agree).
    ``wrong=True`` claims :math:`G=\frac{1+\eta}{1-\eta}`.

    Examples
    --------
    >>> from kvtheory.bounds.index import barrier_separation
    >>> barrier_separation().holds, barrier_separation(wrong=True).holds
    (True, False)
    """
    a, b = _ab()
    G = (1 + _eta) / (1 - _eta) if wrong else (1 - _eta) / (1 + _eta)
    factor = (1 + _eta) / (1 + _gamma)
    holds = sympy_is_zero(a - b - factor * (G - _gamma)) and bool(factor.is_positive)
    return _cert(
        "barrier_separation",
        r"a>b\iff\gamma<" + sp.latex(G),
        holds,
        "a - b = (1+eta)/(1+gamma) * (G - gamma) exactly, with a positive factor",
        "a - b is not a positive multiple of (G - gamma)",
    )


@register(chapter=3)
def barrier_threshold_between(*, wrong: bool = False) -> Certificate:
    r"""Step (d): :math:`\tau=\frac{(1-\eta)+\gamma(1+\eta)}{2(1+\gamma)}=\frac{a+b}2`,
    so :math:`a-\tau=\tau-b=\frac{a-b}2>0` and :math:`b<\tau<a`; checked
    symbolically, and with exact rationals at :math:`\eta=\frac12,\gamma=\frac1{10}`
    (:math:`b=0.136<\tau=0.295<a=0.455`).

    ``wrong=True`` uses :math:`\tau=\frac12`, which is above :math:`a` there.

    Examples
    --------
    >>> from kvtheory.bounds.index import barrier_threshold_between
    >>> barrier_threshold_between().holds, barrier_threshold_between(wrong=True).holds
    (True, False)
    """
    a, b = _ab()
    tau = sp.Rational(1, 2) if wrong else ((1 - _eta) + _gamma * (1 + _eta)) / (2 * (1 + _gamma))
    symbolic = sympy_is_zero(a - tau - (a - b) / 2) and sympy_is_zero(tau - b - (a - b) / 2)
    at = {_eta: sp.Rational(1, 2), _gamma: sp.Rational(1, 10)}
    numeric = bool(b.subs(at) < tau.subs(at) < a.subs(at))
    return _cert(
        "barrier_threshold_between",
        r"b<\tau<a\ \text{for}\ \tau=" + sp.latex(tau),
        symbolic and numeric,
        "a - tau = tau - b = (a - b)/2 (simplify); b < tau < a at eta=1/2, gamma=1/10",
        "tau is not the midpoint of [b, a] (and lies outside it at eta=1/2, gamma=1/10)",
    )


@register(chapter=3)
def barrier_additive_threshold(*, wrong: bool = False) -> Certificate:
    r"""Step (d), additive notion:
    :math:`\frac1{1+\gamma}-\alpha>\frac12>\frac\gamma{1+\gamma}+\alpha`
    :math:`\iff\alpha<A:=\frac{1-\gamma}{2(1+\gamma)}`.

    Checked as the two identities :math:`\frac1{1+\gamma}-\alpha-\frac12=A-\alpha`
    and :math:`\frac12-\frac\gamma{1+\gamma}-\alpha=A-\alpha` for the claimed
    :math:`A`. ``wrong=True`` claims :math:`A=\frac{1-\gamma}{1+\gamma}` (the
    factor 2 dropped).

    Examples
    --------
    >>> from kvtheory.bounds.index import barrier_additive_threshold
    >>> barrier_additive_threshold().holds, barrier_additive_threshold(wrong=True).holds
    (True, False)
    """
    alpha = sp.Symbol("alpha", positive=True)
    A = (1 - _gamma) / (1 + _gamma) if wrong else (1 - _gamma) / (2 * (1 + _gamma))
    half = sp.Rational(1, 2)
    holds = (sympy_is_zero(1 / (1 + _gamma) - alpha - half - (A - alpha))
             and sympy_is_zero(half - _gamma / (1 + _gamma) - alpha - (A - alpha)))
    return _cert(
        "barrier_additive_threshold",
        r"\tfrac1{1+\gamma}-\alpha>\tfrac12>\tfrac\gamma{1+\gamma}+\alpha\iff\alpha<"
        + sp.latex(A),
        holds,
        "both margins around 1/2 equal A - alpha exactly (simplify)",
        "a margin around 1/2 differs from A - alpha",
    )


@register(chapter=3)
def barrier_binomial_identity(*, wrong: bool = False) -> Certificate:
    r"""The first-moment refinement of Chapter 3: for :math:`h\sim\mathrm{Bin}(d,\frac12)`,
    :math:`\mathbb Ee^{-2Ch/d}=\bigl(\frac{1+e^{-2C/d}}2\bigr)^d`, and
    :math:`\frac{e^C}{e^C+\sum_te^{C\rho_t}+1}=\frac1{1+M}` with
    :math:`M=\sum_te^{-C(1-\rho_t)}+e^{-C}`.

    Both for symbolic sizes. The expectation is the finite sum
    :math:`\sum_{k=0}^d\binom dk2^{-d}u^k` with :math:`u=e^{-2C/d}`; sympy
    evaluates it for a symbolic integer :math:`d\ge1` by the binomial theorem,
    with :math:`u` written as :math:`1/(1+w)`, :math:`w\ge0` (every
    :math:`u\in(0,1]`, which covers :math:`e^{-2C/d}` for :math:`C,d>0`), and
    the difference to the closed form simplifies to 0. The weight identity is
    checked with the partners' sum :math:`\sum_{t=1}^{m}e^{C\rho_t}` as a
    symbolic sum over any number :math:`m` of partners.
    ``wrong=True`` claims :math:`\bigl(\frac{1+e^{-C/d}}2\bigr)^d` (the factor 2
    in :math:`\rho_t=1-2h_t/d` dropped), i.e. :math:`\sqrt u` in place of
    :math:`u`; the same check leaves a nonzero difference.

    Examples
    --------
    >>> from kvtheory.bounds.index import barrier_binomial_identity
    >>> barrier_binomial_identity().holds, barrier_binomial_identity(wrong=True).holds
    (True, False)
    """
    C = sp.Symbol("C", positive=True)
    d = sp.Symbol("d", integer=True, positive=True)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    w = sp.Symbol("w", nonnegative=True)
    u = 1 / (1 + w)                              # u = e^{-2C/d}, any value in (0, 1]
    mean = sp.Sum(sp.binomial(d, k) * u**k, (k, 0, d)).doit() / 2**d
    claimed = ((1 + (sp.sqrt(u) if wrong else u)) / 2) ** d
    ok = sympy_is_zero(mean - claimed)
    m = sp.Symbol("m", integer=True, positive=True)
    t = sp.Symbol("t", integer=True, positive=True)
    rho = sp.IndexedBase("rho")
    partners = sp.Sum(sp.exp(C * rho[t]), (t, 1, m))
    weight = sp.exp(C) / (sp.exp(C) + partners + 1)
    M = sp.Sum(sp.exp(-C * (1 - rho[t])), (t, 1, m)) + sp.exp(-C)
    ok = ok and sympy_is_zero(sp.expand(1 / weight - (1 + M)))
    inner = r"e^{-C/d}" if wrong else r"e^{-2C/d}"
    return _cert(
        "barrier_binomial_identity",
        rf"\mathbb E e^{{-2Ch/d}}=\Bigl(\tfrac{{1+{inner}}}{{2}}\Bigr)^d,\ "
        r"w_{i^*}=\tfrac1{1+M}",
        ok,
        "binomial theorem for symbolic d (sympy Sum.doit) and the weight identity "
        "for any number of partners simplify to 0",
        "the binomial sum for symbolic d differs from the claimed closed form",
    )


@register(chapter=3)
def barrier_case_split(*, wrong: bool = False) -> Certificate:
    r"""The regime of Chapter 3's space-barrier theorem: if :math:`d\ge c\ln n`
    then :math:`e^{d/c}\ge n`, so :math:`\min\{n,e^{d/c}\}=n` and the low-dimensional bound
    :math:`d\min\{n,e^{\Theta(d)}\}` (Chapter 4) is :math:`nd`.

    Checked by writing :math:`d=c\ln n+s` with :math:`s\ge0` and proving
    :math:`\ln(e^{d/c}/n)=s/c\ge0`. ``wrong=True`` assumes only
    :math:`d\ge\frac c2\ln n`; then :math:`\ln(e^{d/c}/n)=s/c-\frac12\ln n`, which
    sympy cannot show nonnegative (it is negative for small :math:`s`).

    Examples
    --------
    >>> from kvtheory.bounds.index import barrier_case_split
    >>> barrier_case_split().holds, barrier_case_split(wrong=True).holds
    (True, False)
    """
    c = sp.Symbol("c", positive=True)
    s = sp.Symbol("s", nonnegative=True)
    n = sp.Symbol("n", positive=True)
    lead = c / 2 if wrong else c
    d = lead * sp.log(n) + s
    log_ratio = sp.simplify(sp.expand_log(sp.log(sp.exp(d / c) / n), force=True))
    holds = bool(log_ratio.is_nonnegative)
    return _cert(
        "barrier_case_split",
        rf"d\ge {sp.latex(lead)}\ln n\ \Rightarrow\ \min\{{n,e^{{d/c}}\}}=n",
        holds,
        f"ln(e^(d/c)/n) = {log_ratio} >= 0 for s >= 0",
        f"ln(e^(d/c)/n) = {log_ratio} is not provably >= 0",
    )


@register(chapter=3)
def barrier_eta_range(*, wrong: bool = False) -> Certificate:
    r"""The constants: for every :math:`\gamma>0` and :math:`\eta\ge0`, the
    separation condition :math:`\gamma<\frac{1-\eta}{1+\eta}` holds exactly when
    :math:`\eta<\frac{1-\gamma}{1+\gamma}`; at the book's :math:`\gamma=\frac1{10}`
    that is :math:`0\le\eta<\frac9{11}`.

    Checked for symbolic :math:`\gamma,\eta` as the identity
    :math:`\frac{1-\eta}{1+\eta}-\gamma=\frac{1+\gamma}{1+\eta}\bigl(E-\eta\bigr)`
    for the claimed bound :math:`E` (the factor is positive, so both sides
    have the same sign), and at :math:`\gamma=\frac1{10}` with
    ``solve_univariate_inequality``. ``wrong=True`` claims
    :math:`E=\frac{1+\gamma}{1-\gamma}` (the fraction inverted; at
    :math:`\gamma=\frac1{10}` every :math:`\eta\in[0,1)`); the identity fails.

    Examples
    --------
    >>> from kvtheory.bounds.index import barrier_eta_range
    >>> barrier_eta_range().holds, barrier_eta_range(wrong=True).holds
    (True, False)
    """
    eta = sp.Symbol("eta", nonnegative=True)
    gamma = sp.Symbol("gamma", positive=True)
    E = (1 + gamma) / (1 - gamma) if wrong else (1 - gamma) / (1 + gamma)
    factor = (1 + gamma) / (1 + eta)
    identity = (sympy_is_zero((1 - eta) / (1 + eta) - gamma - factor * (E - eta))
                and bool(factor.is_positive))
    x = sp.Symbol("eta", real=True)
    solved = sp.solve_univariate_inequality(sp.Rational(1, 10) < (1 - x) / (1 + x), x,
                                            relational=False, domain=sp.Interval.Ropen(0, 1))
    at_book = sp.Interval.Ropen(0, sp.Rational(9, 11))
    holds = identity and bool(solved == at_book)
    return _cert(
        "barrier_eta_range",
        r"\gamma<\tfrac{1-\eta}{1+\eta}\iff\eta<" + sp.latex(E)
        + r";\ \gamma=\tfrac1{10}:\ \eta\in" + sp.latex(at_book),
        holds,
        "(1-eta)/(1+eta) - gamma = (1+gamma)/(1+eta) * (E - eta) for symbolic gamma, eta; "
        f"at gamma = 1/10 solve_univariate_inequality gives {solved}",
        "(1-eta)/(1+eta) - gamma is not a positive multiple of (E - eta)",
    )
