r"""Certificates of Chapter 4: codes, packings and the low-dimensional bound.

Theorem 4.1 (``thm-code-bound``) runs the INDEX reduction on a code of unit
keys; Corollary 4.2 (``cor-lowdim-unified``) uses the greedy sign code and the
Gilbert--Varshamov bound; Proposition 4.3 (``prop-query-norm``) lets the query
norm grow; Lemmas 4.5 and 4.6 (``lem-covering-packing``,
``lem-threshold-clustering``) bound packings of the ball. Each function checks
one step with sympy and, with ``wrong=True``, runs the same check on a
deliberately wrong variant, which must fail.
"""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = [
    "lowdim_hamming_ball_entropy",
    "lowdim_spherical_code_angle",
    "lowdim_code_weight_bound",
    "lowdim_circle_coherence",
    "lowdim_packing_volume",
    "lowdim_threshold_for_e_to_d",
]

_HAMMING_D_MAX = 64


def _cert(name, statement, holds, how_true, how_false):
    return Certificate(name=name, statement=statement, holds=bool(holds),
                       how=how_true if holds else how_false, chapter=4)


@register(chapter=4)
def lowdim_hamming_ball_entropy(*, wrong: bool = False) -> Certificate:
    r"""Hamming balls are small: :math:`V(d,k)\le2^{dH_2(k/d)}` for :math:`k\le d/2`.

    Since :math:`2^{dH_2(k/d)}=d^d/(k^k(d-k)^{d-k})`, the claim is the integer
    inequality :math:`V(d,k)\,k^k(d-k)^{d-k}\le d^d`, checked exactly (sympy
    integers) for every :math:`1\le d\le64` and :math:`0\le k\le d/2`. It gives
    the Gilbert--Varshamov size :math:`2^d/V(d,D-1)\ge2^{d(1-H_2((D-1)/d))}`.

    ``wrong=True`` drops the hypothesis :math:`k\le d/2` and checks all
    :math:`k\le d`; the same integer test fails (at :math:`k=d`,
    :math:`V=2^d>1`).

    Examples
    --------
    >>> from kvtheory.bounds.lowdim import lowdim_hamming_ball_entropy
    >>> lowdim_hamming_ball_entropy().holds, lowdim_hamming_ball_entropy(wrong=True).holds
    (True, False)
    """
    first_bad = None
    checked = 0
    for d in range(1, _HAMMING_D_MAX + 1):
        D = sp.Integer(d)
        V = sp.Integer(0)
        for k in range(0, d + 1):
            V += sp.binomial(D, k)
            if not wrong and 2 * k > d:
                break
            K = sp.Integer(k)
            checked += 1
            if not V * K**K * (D - K) ** (D - K) <= D**D:       # exact integers
                first_bad = (d, k)
                break
        if first_bad:
            break
    scope = r"k\le d" if wrong else r"k\le d/2"
    return _cert(
        "lowdim_hamming_ball_entropy",
        rf"V(d,k)=\sum_{{i\le k}}\binom di\le2^{{dH_2(k/d)}},\ {scope},\ d\le{_HAMMING_D_MAX}",
        first_bad is None,
        f"exact integer check V k^k (d-k)^(d-k) <= d^d on all {checked} pairs (d, k)",
        f"exact integer check fails at (d, k) = {first_bad}",
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
    r"""Theorem 4.1's weight step.

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
    r"""Proposition 4.3's circle.

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
    r"""Lemma 4.5's volume step.

    :math:`m(\delta/2)^d\le(R+\delta/2)^d\Rightarrow m\le(1+2R/\delta)^d`.

    Dividing by :math:`(\delta/2)^d>0`, the bound on :math:`m` is
    :math:`(R+\delta/2)^d/(\delta/2)^d`; sympy simplifies its difference from
    the claimed :math:`(1+2R/\delta)^d` to 0 (symbols :math:`R,\delta,d>0`).

    ``wrong=True`` claims :math:`m\le(1+R/\delta)^d` (balls of radius
    :math:`\delta` instead of :math:`\delta/2`); the difference does not
    vanish.

    Examples
    --------
    >>> from kvtheory.bounds.lowdim import lowdim_packing_volume
    >>> lowdim_packing_volume().holds, lowdim_packing_volume(wrong=True).holds
    (True, False)
    """
    R, delta, d = sp.symbols("R delta d", positive=True)
    derived = (R + delta / 2) ** d / (delta / 2) ** d
    claimed = (1 + (1 if wrong else 2) * R / delta) ** d
    holds = sympy_is_zero(sp.powsimp(derived - claimed, force=True))
    return _cert(
        "lowdim_packing_volume",
        r"m(\delta/2)^d\le(R+\delta/2)^d\Rightarrow m\le" + sp.latex(claimed),
        holds,
        "sympy.simplify of (R+delta/2)^d/(delta/2)^d minus the claim is 0",
        "sympy.simplify leaves a nonzero difference",
    )


@register(chapter=4)
def lowdim_threshold_for_e_to_d(*, wrong: bool = False) -> Certificate:
    r"""Lemma 4.6's choice of threshold.

    :math:`1+2/\delta=e\iff\delta=\frac2{e-1}`, so :math:`(1+2/\delta)^d=e^d`.

    sympy solves :math:`1+2/\delta=e` for :math:`\delta>0` and compares the
    unique root with the claimed value.

    ``wrong=True`` claims :math:`\delta=\frac1{e-1}`; it is not the root
    (it gives :math:`1+2/\delta=2e-1`).

    Examples
    --------
    >>> from kvtheory.bounds.lowdim import lowdim_threshold_for_e_to_d
    >>> lowdim_threshold_for_e_to_d().holds, lowdim_threshold_for_e_to_d(wrong=True).holds
    (True, False)
    """
    delta = sp.Symbol("delta", positive=True)
    claimed = (1 if wrong else 2) / (sp.E - 1)
    sols = sp.solve(sp.Eq(1 + 2 / delta, sp.E), delta)
    holds = len(sols) == 1 and sympy_is_zero(sols[0] - claimed)
    return _cert(
        "lowdim_threshold_for_e_to_d",
        r"1+\frac2\delta=e\iff\delta=" + sp.latex(claimed),
        holds,
        "sympy.solve returns exactly the claimed delta",
        f"sympy.solve returns {sols}, not the claimed delta",
    )
