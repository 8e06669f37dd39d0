r"""Certificates of Chapter 4: codes, packings and the low-dimensional bound.

The code-based bound (``thm-code-bound``) runs the INDEX reduction on a code of unit
keys; the low-dimensional corollary (``cor-lowdim-unified``) uses the greedy sign code and the
Gilbert--Varshamov bound; the query-norm proposition (``prop-query-norm``) lets
the query norm grow; the covering/packing and threshold-clustering lemmas
(``lem-covering-packing``, ``lem-threshold-clustering``) bound packings of the
ball. Each function checks one step with sympy and, with ``wrong=True``, runs the same check on a
deliberately wrong variant, which must fail.
"""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = [
    "lowdim_hamming_ball_entropy",
    "lowdim_query_norm_budget",
    "lowdim_spherical_code_angle",
    "lowdim_code_weight_bound",
    "lowdim_circle_coherence",
    "lowdim_packing_volume",
    "lowdim_threshold_for_e_to_d",
]

def _cert(name, statement, holds, how_true, how_false):
    return Certificate(name=name, statement=statement, holds=bool(holds),
                       how=how_true if holds else how_false, chapter=4)


@register(chapter=4)
def lowdim_hamming_ball_entropy(*, wrong: bool = False) -> Certificate:
    r"""Hamming balls are small: :math:`V(d,k)\le2^{dH_2(k/d)}` for :math:`k\le d/2`.

    General in :math:`d` and :math:`k`: the three algebraic steps of the
    proof in Chapter 4, with symbolic integers :math:`0\le i\le k\le d` and
    :math:`\lambda=k/d`:

    1. the binomial theorem :math:`\sum_{i=0}^d\binom di\lambda^i(1-\lambda)^{d-i}=1`,
       which sympy evaluates for symbolic :math:`d` on its branch
       :math:`\lambda/(1-\lambda)\le1`, i.e. :math:`\lambda\le\frac12`
       (written :math:`\lambda=\frac1{2(1+y)}`, :math:`y\ge0`);
    2. for :math:`i\le k` the term ratio
       :math:`\lambda^i(1-\lambda)^{d-i}/(\lambda^k(1-\lambda)^{d-k})=((1-\lambda)/\lambda)^{k-i}`
       with base :math:`(1-\lambda)/\lambda\ge1`, so it is :math:`\ge1`;
    3. :math:`\log_2(\lambda^k(1-\lambda)^{d-k})=-dH_2(k/d)` at :math:`\lambda=k/d`.

    Then :math:`V(d,k)\,2^{-dH_2(k/d)}\le\sum_{i\le k}\binom di\lambda^i(1-\lambda)^{d-i}\le1`
    (a partial sum of nonnegative terms). It gives the Gilbert--Varshamov
    size :math:`2^d/V(d,D-1)\ge2^{d(1-H_2((D-1)/d))}`.

    ``wrong=True`` drops the hypothesis :math:`k\le d/2` (any
    :math:`\lambda\in(0,1)`): sympy can then show neither the binomial sum
    nor the base :math:`(1-\lambda)/\lambda\ge1` (false for
    :math:`\lambda>\frac12`; at :math:`k=d`, :math:`V=2^d>1`).

    Examples
    --------
    >>> from kvtheory.bounds.lowdim import lowdim_hamming_ball_entropy
    >>> lowdim_hamming_ball_entropy().holds, lowdim_hamming_ball_entropy(wrong=True).holds
    (True, False)
    """
    d = sp.Symbol("d", integer=True, positive=True)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    i = sp.Symbol("i", integer=True, nonnegative=True)
    if wrong:
        w = sp.Symbol("w", positive=True)
        lam = 1 / (1 + w)                       # any lambda in (0, 1)
    else:
        y = sp.Symbol("y", nonnegative=True)
        lam = 1 / (2 * (1 + y))                 # lambda in (0, 1/2]
    total = sp.Sum(sp.binomial(d, i) * lam ** i * (1 - lam) ** (d - i), (i, 0, d)).doit()
    total = sp.piecewise_fold(sp.simplify(total))
    binomial_ok = sympy_is_zero(total - 1)
    base = sp.factor(sp.together((1 - lam) / lam - 1))
    ratio_ok = (sympy_is_zero(lam ** i * (1 - lam) ** (d - i) / (lam ** k * (1 - lam) ** (d - k))
                              - ((1 - lam) / lam) ** (k - i))
                and bool(base.is_nonnegative))
    kd = sp.Symbol("kappa", positive=True)      # kappa = k/d in (0, 1)
    H2 = -(kd * sp.log(kd, 2) + (1 - kd) * sp.log(1 - kd, 2))
    entropy_ok = sympy_is_zero(sp.expand_log(sp.log(kd ** (kd * d) * (1 - kd) ** (d - kd * d), 2)
                                             + d * H2, force=True))
    holds = binomial_ok and ratio_ok and entropy_ok
    scope = r"k\le d" if wrong else r"k\le d/2"
    return _cert(
        "lowdim_hamming_ball_entropy",
        rf"V(d,k)=\sum_{{i\le k}}\binom di\le2^{{dH_2(k/d)}},\ {scope}",
        holds,
        "for symbolic d, k: binomial sum = 1 at lambda <= 1/2, "
        "term ratio ((1-lambda)/lambda)^(k-i) >= 1, and lambda^k (1-lambda)^(d-k) = 2^(-d H2(k/d))",
        f"sympy cannot show the binomial sum is 1 ({binomial_ok}) or the term ratio >= 1 "
        f"({ratio_ok}) without k <= d/2",
    )


@register(chapter=4)
def lowdim_query_norm_budget(*, wrong: bool = False) -> Certificate:
    r"""The low-dimensional corollary's budget is :math:`O(d)`, independent of :math:`n`.

    With the greedy sign code of coherence :math:`\frac12` (gap
    :math:`\mu\ge\frac12`) and :math:`n'=\min\{n-1,|\mathcal C|\}\le2^d`,
    :math:`1\le n'`, :math:`0<\gamma<1`:

    .. math:: C=\frac{\ln(n'/\gamma)}{\mu}\le2\ln\frac{n'}\gamma
              \le2\Bigl(d\ln2+\ln\frac1\gamma\Bigr).

    General: with :math:`L=\ln(n'/\gamma)>0`, :math:`\mu=\frac12+x`,
    :math:`x\ge0`, sympy factors :math:`2L-L/\mu` into nonnegative factors;
    with :math:`n'=2^d/(1+z)`, :math:`z\ge0`, it simplifies the second gap to
    :math:`2\ln(1+z)\ge0`.

    ``wrong=True`` claims :math:`C\le\ln(n'/\gamma)` (the factor 2 dropped,
    as if :math:`\mu=1`); the first gap is then :math:`L(1-1/\mu)`, which
    sympy cannot show nonnegative (it is negative for every :math:`\mu<1`).

    Examples
    --------
    >>> from kvtheory.bounds.lowdim import lowdim_query_norm_budget
    >>> lowdim_query_norm_budget().holds, lowdim_query_norm_budget(wrong=True).holds
    (True, False)
    """
    L, d, g = sp.symbols("L d gamma", positive=True)
    x, z = sp.symbols("x z", nonnegative=True)
    mu = sp.Rational(1, 2) + x
    factor = 1 if wrong else 2
    gap1 = sp.factor(sp.together(factor * L - L / mu))
    first = bool(gap1.is_nonnegative)
    n_prime = 2 ** d / (1 + z)
    gap2 = sp.simplify(sp.expand_log(2 * (d * sp.log(2) + sp.log(1 / g))
                                     - 2 * sp.log(n_prime / g), force=True))
    second = bool(sympy_is_zero(gap2 - 2 * sp.log(1 + z)))
    holds = first and second
    rhs = r"\ln\tfrac{n'}\gamma" if wrong else r"2\ln\tfrac{n'}\gamma"
    return _cert(
        "lowdim_query_norm_budget",
        r"\mu\ge\tfrac12,\ n'\le2^d\ \Rightarrow\ \frac{\ln(n'/\gamma)}{\mu}\le " + rhs
        + r"\le2\bigl(d\ln2+\ln\tfrac1\gamma\bigr)",
        holds,
        f"2L - L/mu factors as {gap1} >= 0 (mu = 1/2 + x); "
        "the second gap simplifies to 2 ln(1+z) >= 0",
        f"the gap {gap1} is not shown >= 0 (negative for mu < 1)",
    )


@register(chapter=4)
def lowdim_spherical_code_angle(*, wrong: bool = False) -> Certificate:
    r"""Spherical codes of size :math:`e^d`.

    :math:`(1/\sin\theta)^{d-1}=e^d\iff\sin\theta=e^{-d/(d-1)}`.

    Both sides are positive, so the equation is equivalent to
    :math:`(d-1)\ln(1/s)=d`; sympy solves it for :math:`s>0` (one solution)
    and the claimed value is compared with the solution, and substituted back
    into the logarithmic form. As :math:`d\to\infty`, :math:`s\to1/e`.

    ``wrong=True`` claims :math:`\sin\theta=1/e` exactly (the limit, not the
    solution); the same comparison fails.

    Examples
    --------
    >>> from kvtheory.bounds.lowdim import lowdim_spherical_code_angle
    >>> lowdim_spherical_code_angle().holds, lowdim_spherical_code_angle(wrong=True).holds
    (True, False)
    """
    s = sp.Symbol("s", positive=True)
    u = sp.Symbol("u", positive=True)          # d = 1 + u > 1
    d = 1 + u
    claimed = sp.exp(-1) if wrong else sp.exp(-d / (d - 1))
    sols = sp.solve(sp.Eq((d - 1) * (-sp.log(s)), d), s)
    unique = len(sols) == 1 and sympy_is_zero(sols[0] - claimed)
    back = sympy_is_zero(sp.expand_log((d - 1) * (-sp.log(claimed)), force=True) - d)
    limit_ok = sympy_is_zero(sp.limit(claimed, u, sp.oo) - sp.exp(-1))
    return _cert(
        "lowdim_spherical_code_angle",
        r"(1/\sin\theta)^{d-1}=e^d\iff\sin\theta=" + sp.latex(claimed.subs(u, sp.Symbol("d") - 1)),
        unique and back and limit_ok,
        "sympy.solve gives the claimed sin(theta) as the only positive root; "
        "substituting it back gives d; its limit is 1/e",
        "the claimed sin(theta) is not the root sympy.solve returns",
    )


@register(chapter=4)
def lowdim_code_weight_bound(*, wrong: bool = False) -> Certificate:
    r"""The weight step of Chapter 4's code-based bound.

    :math:`C\ge\ln(n'/\gamma)/\mu\Rightarrow w_{i^*}\ge\frac1{1+\gamma}`.

    Three sympy checks, with :math:`n',\gamma,\mu,C>0`, :math:`\mu\le1`:

    1. :math:`\frac{e^C}{e^C+(n'-1)e^{C(1-\mu)}+1}\ge\frac1{1+n'e^{-C\mu}}`:
       the denominators differ by :math:`e^{C(1-\mu)}-1`, which is 0 at
       :math:`C(1-\mu)=0` and increasing;
    2. :math:`n'e^{-C\mu}` decreases in :math:`C`;
    3. at :math:`C_0=\ln(n'/\gamma)/\mu`, :math:`n'e^{-C_0\mu}-\gamma` is
       shown :math:`\le0` (it simplifies to 0).

    ``wrong=True`` takes :math:`C_0=\ln(n'/\gamma)` (the factor :math:`1/\mu`
    forgotten); check 3 then leaves :math:`n'^{1-\mu}\gamma^\mu-\gamma`, which
    sympy cannot show :math:`\le0` (it is :math:`2.43` at :math:`n'=64`,
    :math:`\gamma=0.1`, :math:`\mu=1/2`).

    Examples
    --------
    >>> from kvtheory.bounds.lowdim import lowdim_code_weight_bound
    >>> lowdim_code_weight_bound().holds, lowdim_code_weight_bound(wrong=True).holds
    (True, False)
    """
    n, g, mu, C = sp.symbols("n' gamma mu C", positive=True)
    t = sp.Symbol("t", nonnegative=True)                 # t = C (1 - mu) >= 0
    # 1. the exact weight dominates the simple form: compare denominators
    den_exact = sp.exp(C) + (n - 1) * sp.exp(C) * sp.exp(-C * mu) + 1
    den_simple = sp.exp(C) * (1 + n * sp.exp(-C * mu))
    step1 = (sympy_is_zero(den_simple - den_exact - (sp.exp(C * (1 - mu)) - 1))
             and sympy_is_zero((sp.exp(t) - 1).subs(t, 0))
             and bool(sp.diff(sp.exp(t) - 1, t).is_positive))
    # 2. monotone in C
    step2 = bool(sp.diff(n * sp.exp(-C * mu), C).is_negative)
    # 3. the threshold
    C0 = sp.log(n / g) if wrong else sp.log(n / g) / mu
    gap = sp.simplify(n * sp.exp(-C0 * mu) - g)
    step3 = sympy_is_zero(gap) or bool(gap.is_nonpositive)
    witness = float(gap.subs({n: 64, g: sp.Rational(1, 10), mu: sp.Rational(1, 2)}))
    return _cert(
        "lowdim_code_weight_bound",
        r"C\ge " + sp.latex(C0) + r"\Rightarrow w_{i^*}\ge\frac{e^C}{e^C+(n'-1)e^{C(1-\mu)}+1}"
        r"\ge\frac{1}{1+n'e^{-C\mu}}\ge\frac1{1+\gamma}",
        step1 and step2 and step3,
        "denominators differ by e^t - 1 >= 0 (t = C(1-mu)); n' e^{-C mu} decreases in C; "
        "n' e^{-C0 mu} - gamma simplifies to 0",
        f"n' e^(-C0 mu) - gamma = {gap} is not shown <= 0 "
        f"(it is {witness:.2f} at n'=64, gamma=0.1, mu=1/2)",
    )


@register(chapter=4)
def lowdim_circle_coherence(*, wrong: bool = False) -> Certificate:
    r"""The circle of Chapter 4's query-norm proposition.

    :math:`1-\cos\frac{2\pi}m\sim\frac{2\pi^2}{m^2}` as :math:`m\to\infty`.

    Checked as :math:`\lim_{m\to\infty}\frac{1-\cos(2\pi/m)}{2\pi^2/m^2}=1`
    (sympy ``limit``). So :math:`m` keys on a circle need a query norm of
    about :math:`\frac{m^2}{2\pi^2}\ln\frac m\gamma`.

    ``wrong=True`` claims :math:`\sim\pi^2/m^2`; the limit is then 2, not 1.

    Examples
    --------
    >>> from kvtheory.bounds.lowdim import lowdim_circle_coherence
    >>> lowdim_circle_coherence().holds, lowdim_circle_coherence(wrong=True).holds
    (True, False)
    """
    m = sp.Symbol("m", positive=True)
    approx = (sp.pi**2 if wrong else 2 * sp.pi**2) / m**2
    lim = sp.limit((1 - sp.cos(2 * sp.pi / m)) / approx, m, sp.oo)
    return _cert(
        "lowdim_circle_coherence",
        r"1-\cos\tfrac{2\pi}{m}\sim " + sp.latex(approx),
        sympy_is_zero(lim - 1),
        "sympy.limit of the ratio is 1",
        f"sympy.limit of the ratio is {lim}, not 1",
    )


@register(chapter=4)
def lowdim_packing_volume(*, wrong: bool = False) -> Certificate:
    r"""The volume step of Chapter 4's covering/packing lemma.

    :math:`m(\Delta/2)^d\le(R+\Delta/2)^d\Rightarrow m\le(1+2R/\Delta)^d`.

    Dividing by :math:`(\Delta/2)^d>0`, the bound on :math:`m` is
    :math:`(R+\Delta/2)^d/(\Delta/2)^d`; sympy simplifies its difference from
    the claimed :math:`(1+2R/\Delta)^d` to 0 (symbols :math:`R,\Delta,d>0`).

    ``wrong=True`` claims :math:`m\le(1+R/\Delta)^d` (balls of radius
    :math:`\Delta` instead of :math:`\Delta/2`); the difference does not
    vanish.

    Examples
    --------
    >>> from kvtheory.bounds.lowdim import lowdim_packing_volume
    >>> lowdim_packing_volume().holds, lowdim_packing_volume(wrong=True).holds
    (True, False)
    """
    R, delta, d = sp.symbols("R Delta d", positive=True)
    derived = (R + delta / 2) ** d / (delta / 2) ** d
    claimed = (1 + (1 if wrong else 2) * R / delta) ** d
    holds = sympy_is_zero(sp.powsimp(derived - claimed, force=True))
    return _cert(
        "lowdim_packing_volume",
        r"m(\Delta/2)^d\le(R+\Delta/2)^d\Rightarrow m\le" + sp.latex(claimed),
        holds,
        "sympy.simplify of (R+delta/2)^d/(delta/2)^d minus the claim is 0",
        "sympy.simplify leaves a nonzero difference",
    )


@register(chapter=4)
def lowdim_threshold_for_e_to_d(*, wrong: bool = False) -> Certificate:
    r"""The threshold choice of Chapter 4's threshold-clustering lemma.

    :math:`1+2/\Delta=e\iff\Delta=\frac2{e-1}`, so :math:`(1+2/\Delta)^d=e^d`.

    sympy solves :math:`1+2/\Delta=e` for :math:`\Delta>0` and compares the
    unique root with the claimed value.

    ``wrong=True`` claims :math:`\Delta=\frac1{e-1}`; it is not the root
    (it gives :math:`1+2/\Delta=2e-1`).

    Examples
    --------
    >>> from kvtheory.bounds.lowdim import lowdim_threshold_for_e_to_d
    >>> lowdim_threshold_for_e_to_d().holds, lowdim_threshold_for_e_to_d(wrong=True).holds
    (True, False)
    """
    delta = sp.Symbol("Delta", positive=True)
    claimed = (1 if wrong else 2) / (sp.E - 1)
    sols = sp.solve(sp.Eq(1 + 2 / delta, sp.E), delta)
    holds = len(sols) == 1 and sympy_is_zero(sols[0] - claimed)
    return _cert(
        "lowdim_threshold_for_e_to_d",
        r"1+\frac2\Delta=e\iff\Delta=" + sp.latex(claimed),
        holds,
        "sympy.solve returns exactly the claimed delta",
        f"sympy.solve returns {sols}, not the claimed delta",
    )
