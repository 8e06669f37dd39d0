r"""Certificates of Chapter 5: the steps of SubGen's guarantee.

One certificate per step of the proof outline of Chapter 5's SubGen guarantee and of
Chapter 5's low-dimensional corollary: the rank bound on the Frobenius norm, the second moment of
the one-slot estimator, the telescoping slot law, the choice of the
reservoir size ``t``, the ratio bound, the within-cluster weight ratio,
the sublinear space, the constants of the vector median of means, and the
entrywise ratio of the chapter's first caveat. Each has a deliberately wrong variant that runs the
same sympy check and fails.
"""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = [
    "subgen_frobenius_rank",
    "subgen_second_moment",
    "subgen_slot_law",
    "subgen_choice_of_t",
    "subgen_ratio_bound",
    "subgen_cluster_weight_ratio",
    "subgen_space_sublinear",
    "subgen_median_of_means",
    "subgen_entrywise_ratio",
]


def _nonneg(expr) -> bool:
    """True only if sympy proves ``expr >= 0`` (after ``factor(together(.))``)."""
    e = sp.factor(sp.together(sp.simplify(expr)))
    return bool(e.is_nonnegative)


def _cert(name, statement, holds, how_true, how_false):
    return Certificate(name=name, statement=statement, holds=holds,
                       how=how_true if holds else how_false, chapter=5)


@register(chapter=5)
def subgen_frobenius_rank(*, wrong: bool = False) -> Certificate:
    r""":math:`\|V\|_F^2=\sum_{i\le r}\sigma_i^2\le r\,\|V\|_{op}^2` for every rank :math:`r`.

    Step 2 of the proof of Chapter 5's SubGen guarantee turns the Frobenius
    norm of the one-slot second moment into the operator norm with this
    bound. General in :math:`r`: with :math:`\sigma_i=\sigma_1/(1+y_i)`,
    :math:`y_i\ge0` (so :math:`0<\sigma_i\le\sigma_1`), sympy factors one
    term of the slack, :math:`\sigma_1^2-\sigma_i^2`, into a product of
    nonnegative factors, and evaluates :math:`\sum_{i=1}^r\sigma_1^2=r\sigma_1^2`
    for a symbolic integer :math:`r`; so
    :math:`r\sigma_1^2-\sum_i\sigma_i^2=\sum_i(\sigma_1^2-\sigma_i^2)\ge0`,
    a sum of nonnegative terms. The singular values of :math:`I_2` and of
    :math:`\begin{pmatrix}2&1\\0&1\\1&0\end{pmatrix}` are checked too.

    ``wrong=True`` checks :math:`\|V\|_F\le\|V\|_{op}` (rank factor dropped):
    the per-term slack becomes :math:`\sigma_1^2/r-\sigma_i^2`, which sympy
    cannot show nonnegative, and :math:`I_2` refutes it: :math:`2>1`.

    Examples
    --------
    >>> from kvtheory.bounds.subgen import subgen_frobenius_rank
    >>> subgen_frobenius_rank().holds, subgen_frobenius_rank(wrong=True).holds
    (True, False)
    """
    r = sp.Symbol("r", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    s1 = sp.Symbol("sigma1", positive=True)
    y = sp.IndexedBase("y", nonnegative=True)
    sig_i = s1 / (1 + y[i])
    share = s1 ** 2 / r if wrong else s1 ** 2         # what each term may use of the bound
    total = sp.Sum(share, (i, 1, r)).doit()
    claimed_total = s1 ** 2 if wrong else r * s1 ** 2
    term_ok = _nonneg(share - sig_i ** 2)
    sum_ok = sympy_is_zero(total - claimed_total)

    def slack(sigmas, rank):
        factor = 1 if wrong else rank
        return factor * sigmas[0] ** 2 - sum(x ** 2 for x in sigmas)

    concrete = True
    for M in (sp.eye(2), sp.Matrix([[2, 1], [0, 1], [1, 0]])):
        svals = sorted((sp.sqrt(e) for e in (M.T * M).eigenvals(multiple=True)),
                       key=lambda x: -float(x))
        concrete &= bool(sp.simplify(slack(svals, M.rank())) >= 0)
    holds = term_ok and sum_ok and concrete
    lhs = (r"\|V\|_F^2\le\|V\|_{op}^2" if wrong
           else r"\|V\|_F^2=\sum_{i\le r}\sigma_i^2\le r\,\|V\|_{op}^2\ (r=\mathrm{rank}\,V)")
    return _cert("subgen_frobenius_rank", lhs, holds,
                 "each term sigma_1^2 - sigma_i^2 factors into nonnegative factors, and "
                 "sum_{i<=r} sigma_1^2 = r sigma_1^2 for symbolic r; also on I_2 and a 3x2 matrix",
                 "fails: sympy cannot show the per-term slack sigma_1^2/r - sigma_i^2 >= 0 "
                 "(I_2 gives 1 - 2 < 0)")


@register(chapter=5)
def subgen_second_moment(*, wrong: bool = False) -> Certificate:
    r"""One slot: :math:`\mathbb EX=N` and :math:`\mathbb E\|X\|^2=\|V\|_F^2\|e^{Kq}\|_2^2`.

    The slot holds token :math:`i` with probability
    :math:`p_i=a_i/F`, :math:`a_i=\|v_i\|^2`, and outputs
    :math:`X=e^{s_i}v_iF/a_i`. General: for a symbolic number :math:`n` of
    tokens, symbolic scores :math:`s_i`, masses :math:`a_i>0` and one symbolic
    coordinate :math:`v_{il}` (so every dimension :math:`d`), sympy simplifies
    :math:`\sum_{i\le n}p_i\,e^{s_i}v_{il}F/a_i-\sum_ie^{s_i}v_{il}` and
    :math:`\sum_ip_i\,e^{2s_i}a_iF^2/a_i^2-F\sum_ie^{2s_i}` to 0 (using
    :math:`\|e^{s}vF/a\|^2=e^{2s}\|v\|^2F^2/a^2` with :math:`\|v_i\|^2=a_i`).

    ``wrong=True`` claims :math:`\mathbb E\|X\|^2=F\sum_ie^{s_i}`, i.e.
    squares of the scores forgotten, and, at :math:`n=3`, :math:`d=2` with
    symbolic entries, that :math:`\mathbb E\|X\|^2=\|N\|^2` (no variance).

    Examples
    --------
    >>> from kvtheory.bounds.subgen import subgen_second_moment
    >>> subgen_second_moment().holds, subgen_second_moment(wrong=True).holds
    (True, False)
    """
    n = sp.Symbol("n", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    s = sp.IndexedBase("s", real=True)
    a = sp.IndexedBase("a", positive=True)
    v = sp.IndexedBase("v", real=True)
    F = sp.Symbol("F", positive=True)
    p = a[i] / F
    EX = sp.Sum(p * sp.exp(s[i]) * v[i] * F / a[i], (i, 1, n))
    N = sp.Sum(sp.exp(s[i]) * v[i], (i, 1, n))
    EX2 = sp.Sum(p * sp.exp(2 * s[i]) * a[i] * F ** 2 / a[i] ** 2, (i, 1, n))
    claim = F * sp.Sum(sp.exp((1 if wrong else 2) * s[i]), (i, 1, n))
    holds = sympy_is_zero(EX - N) and sympy_is_zero(EX2 - claim)
    if wrong:       # the no-variance claim, refuted on a small symbolic case
        nn, dd = 3, 2
        ss = sp.symbols(f"s1:{nn + 1}", real=True)
        vv = [[sp.Symbol(f"v{j}{l}", positive=True) for l in range(dd)] for j in range(nn)]
        aa = [sum(x ** 2 for x in vj) for vj in vv]
        FF = sum(aa)
        NN = [sum(sp.exp(ss[j]) * vv[j][l] for j in range(nn)) for l in range(dd)]
        EX2s = sum((aa[j] / FF) * sum((sp.exp(ss[j]) * vv[j][l] * FF / aa[j]) ** 2
                                      for l in range(dd)) for j in range(nn))
        holds = holds or sympy_is_zero(EX2s - sum(x ** 2 for x in NN))
    rhs = r"F\sum_ie^{s_i}" if wrong else r"\|V\|_F^2\,\|e^{Kq}\|_2^2"
    return _cert("subgen_second_moment",
                 rf"\mathbb E X=N,\ \mathbb E\|X\|_2^2={rhs}\ (\text{{every }}n,\ d)", holds,
                 "sympy.simplify of both differences is 0 for a symbolic number n of tokens",
                 "sympy.simplify leaves a nonzero difference")


@register(chapter=5)
def subgen_slot_law(*, wrong: bool = False) -> Certificate:
    r"""A slot holds token :math:`i` with probability :math:`\|v_i\|^2/F_n` (telescoping).

    Token :math:`i` enters with probability :math:`a_i/F_i` and survives
    each later arrival :math:`u` with probability :math:`1-a_u/F_u`, where
    :math:`a_i=\|v_i\|^2`, :math:`F_i=a_1+\dots+a_i`. General, by induction
    on :math:`n\ge i` with symbols :math:`a_i,F_i,F_n,a>0`:

    1. survival: :math:`1-a/(F_n+a)=F_n/(F_n+a)` (as :math:`F_{n+1}=F_n+a`);
    2. the product :math:`P_n=\prod_{u=i+1}^n(1-a_u/F_u)=F_i/F_n` holds at
       :math:`n=i` (empty product) and is carried from :math:`n` to
       :math:`n+1`: :math:`(F_i/F_n)\cdot F_n/(F_n+a)=F_i/(F_n+a)`;
    3. :math:`(a_i/F_i)\,P_n=a_i/F_n`.

    ``wrong=True`` claims the entry probability :math:`a_i/F_i` is the final
    one (later replacements forgotten); step 3 then leaves a nonzero
    difference.

    Examples
    --------
    >>> from kvtheory.bounds.subgen import subgen_slot_law
    >>> subgen_slot_law().holds, subgen_slot_law(wrong=True).holds
    (True, False)
    """
    ai, Fi, Fn, a = sp.symbols("a_i F_i F_n a", positive=True)
    survival = sympy_is_zero(1 - a / (Fn + a) - Fn / (Fn + a))
    base = sympy_is_zero(sp.Integer(1) - Fi / Fi)
    step = sympy_is_zero((Fi / Fn) * (Fn / (Fn + a)) - Fi / (Fn + a))
    claim = ai / Fi if wrong else ai / Fn
    final = sympy_is_zero((ai / Fi) * (Fi / Fn) - claim)
    holds = survival and base and step and final
    rhs = r"\|v_i\|^2/F_i" if wrong else r"\|v_i\|^2/F_n"
    return _cert("subgen_slot_law",
                 rf"\frac{{a_i}}{{F_i}}\prod_{{u=i+1}}^n\Bigl(1-\frac{{a_u}}{{F_u}}\Bigr)={rhs}",
                 holds, "induction on n: survival factor, base case and step simplify to 0",
                 "sympy.simplify leaves a nonzero difference in the last step")


@register(chapter=5)
def subgen_choice_of_t(*, wrong: bool = False) -> Certificate:
    r"""With :math:`t=3e^{2\Delta r}\varepsilon^{-2}\ln(2m/p)`, the union bound is :math:`\le p`.

    Each of :math:`m` clusters fails with probability
    :math:`\le2e^{-t\varepsilon^2e^{-2\Delta r}/3}`; the check shows that
    :math:`m` times this is :math:`\le p` at the chosen :math:`t`, for all
    :math:`p<2m` (writing :math:`2m=p(1+y)`, :math:`y>0`).

    ``wrong=True`` drops the factor 3 from :math:`t`; the union bound is then
    :math:`p\,(2m/p)^{2/3}>p`.

    Examples
    --------
    >>> from kvtheory.bounds.subgen import subgen_choice_of_t
    >>> subgen_choice_of_t().holds, subgen_choice_of_t(wrong=True).holds
    (True, False)
    """
    eps, delta, r, p, y = sp.symbols("varepsilon Delta r p y", positive=True)
    m = p * (1 + y) / 2
    c = 1 if wrong else 3
    t = c * sp.exp(2 * delta * r) / eps ** 2 * sp.log(2 * m / p)
    union = m * 2 * sp.exp(-t * eps ** 2 * sp.exp(-2 * delta * r) / 3)
    ratio = sp.simplify(sp.expand_log(union / p, force=True))
    holds = _nonneg(1 - ratio)
    coef = "" if wrong else "3"
    return _cert("subgen_choice_of_t",
                 rf"h={coef}e^{{2\Delta r}}\varepsilon^{{-2}}\ln\tfrac{{2m}}p\ \Rightarrow\ "
                 r"2m\,e^{-h\varepsilon^2e^{-2\Delta r}/3}\le p",
                 holds, f"the union bound over p simplifies to {ratio} <= 1",
                 f"the union bound over p simplifies to {ratio}, not <= 1")


@register(chapter=5)
def subgen_ratio_bound(*, wrong: bool = False) -> Certificate:
    r"""Step 4: :math:`\|\hat N/\hat Z-N/Z\|\le\frac{2\varepsilon}{1-\varepsilon}\|w\|_2\|V\|_{op}`.

    In units of :math:`\|w\|_2\|V\|_{op}`, write :math:`\hat Z=Z(1+\theta)`
    with :math:`|\theta|\le\varepsilon`, :math:`\|\hat N-N\|=\varphi Z` and
    :math:`\|N\|=\psi Z` with :math:`0\le\varphi\le\varepsilon`,
    :math:`0\le\psi\le1`. The triangle-inequality bound is
    :math:`B=\varphi/(1+\theta)+\psi|\theta|/(1+\theta)`. The check shows
    :math:`B` increases in :math:`\varphi,\psi`, decreases in :math:`\theta`
    on :math:`[-\varepsilon,0]` (on :math:`[0,\varepsilon]` it is monotone,
    its derivative having the sign of :math:`\psi-\varphi`), and that its
    values at the corners :math:`\theta=\pm\varepsilon`,
    :math:`\varphi=\varepsilon`, :math:`\psi=1` are below the claimed bound,
    for :math:`0<\varepsilon<1`.

    ``wrong=True`` claims :math:`2\varepsilon` (forgetting that
    :math:`\hat Z` may be as small as :math:`(1-\varepsilon)Z`).

    Examples
    --------
    >>> from kvtheory.bounds.subgen import subgen_ratio_bound
    >>> subgen_ratio_bound().holds, subgen_ratio_bound(wrong=True).holds
    (True, False)
    """
    phi, psi, x = sp.symbols("varphi psi x", nonnegative=True)
    yy = sp.Symbol("y", positive=True)
    eps = 1 / (1 + yy)                         # eps in (0, 1)
    claim = 2 * eps if wrong else 2 * eps / (1 - eps)
    # theta = -x in [-eps, 0]  and  theta = +x in [0, eps]
    B_neg = (phi + psi * x) / (1 - x)
    B_pos = (phi + psi * x) / (1 + x)
    u = sp.Symbol("u", positive=True)
    inside = {x: eps * u / (1 + u)}            # a point of (0, eps)
    mono = all(_nonneg(sp.diff(B_neg, var).subs(inside)) for var in (phi, psi, x))
    corner_neg = B_neg.subs({phi: eps, psi: 1, x: eps})
    corner_pos = B_pos.subs({phi: eps, psi: 1, x: eps})
    holds = mono and _nonneg(claim - corner_neg) and _nonneg(claim - corner_pos)
    bound = r"2\varepsilon" if wrong else r"\frac{2\varepsilon}{1-\varepsilon}"
    return _cert("subgen_ratio_bound",
                 rf"\Bigl\|\frac{{\hat N}}{{\hat Z}}-\frac NZ\Bigr\|_2"
                 rf"\le{bound}\,\|w\|_2\|V\|_{{op}}",
                 holds, "monotone in each variable; worst corner equals the bound",
                 "the worst corner theta = -eps exceeds the claimed bound")


@register(chapter=5)
def subgen_cluster_weight_ratio(*, wrong: bool = False) -> Certificate:
    r"""Members of one cluster have weights within a factor :math:`e^{2\Delta r}`.

    Two keys of a cluster are within :math:`2\Delta` (both within
    :math:`\Delta` of the centre), so for :math:`\|q\|\le r`,
    :math:`e^{\langle q,k\rangle}/e^{\langle q,k'\rangle}
    =e^{\langle q,k-k'\rangle}\le e^{2\Delta r}`.
    Checked by maximising :math:`\langle q,k-k'\rangle` over
    :math:`q=r(\cos a,\sin a)`, :math:`k-k'=2\Delta(\cos b,\sin b)` (the
    plane they span) with ``sympy.maximum``, then comparing the claimed
    factor with the exponential of the maximum.

    ``wrong=True`` claims :math:`e^{\Delta r}` (radius used for the diameter).

    Examples
    --------
    >>> from kvtheory.bounds.subgen import subgen_cluster_weight_ratio
    >>> subgen_cluster_weight_ratio().holds, subgen_cluster_weight_ratio(wrong=True).holds
    (True, False)
    """
    r, delta = sp.symbols("r Delta", positive=True)
    g = sp.Symbol("g", real=True)             # g = a - b, the angle between q and k - k'
    inner_max = 2 * delta * r * sp.maximum(sp.cos(g), g, sp.Interval(0, 2 * sp.pi))
    claim = sp.exp(delta * r) if wrong else sp.exp(2 * delta * r)
    holds = _nonneg(sp.log(claim) - inner_max)
    factor = r"e^{\Delta r}" if wrong else r"e^{2\Delta r}"
    return _cert("subgen_cluster_weight_ratio",
                 rf"\|k-k'\|\le2\delta,\ \|q\|\le r\ \Rightarrow"
                 rf"\ e^{{\langle q,k-k'\rangle}}\le{factor}",
                 holds, "the maximum of <q, k - k'> is 2 delta r",
                 "the maximum 2 delta r exceeds the claimed exponent")


@register(chapter=5)
def subgen_space_sublinear(*, wrong: bool = False) -> Certificate:
    r""":math:`\lim_{n\to\infty}d(mt+s)/(nd)=0` for fixed :math:`d,m,s` and :math:`t=c\ln n`.

    The space of SubGen against the exact cache's :math:`nd` words, with the
    reservoir size of Chapter 5's SubGen guarantee growing like :math:`\ln n` (a fortiori for
    fixed :math:`t`).

    ``wrong=True`` lets the number of clusters grow with the stream,
    :math:`m=n/2` (keys that never repeat, as on the Chapter 3 instance):
    the limit is then :math:`t/2\to\infty`, not 0.

    Examples
    --------
    >>> from kvtheory.bounds.subgen import subgen_space_sublinear
    >>> subgen_space_sublinear().holds, subgen_space_sublinear(wrong=True).holds
    (True, False)
    """
    n, d, m, s, c = sp.symbols("n d m s c", positive=True)
    t = c * sp.log(n)
    mm = n / 2 if wrong else m
    lim = sp.limit(d * (mm * t + s) / (n * d), n, sp.oo)
    holds = bool(lim == 0)
    what = r"m=n/2" if wrong else r"m\text{ fixed}"
    return _cert("subgen_space_sublinear",
                 rf"\lim_{{n\to\infty}}\frac{{d(mt+s)}}{{nd}}=0,\ t=c\ln n,\ {what}",
                 holds, f"sympy.limit gives {lim}", f"sympy.limit gives {lim}, not 0")


@register(chapter=5)
def subgen_median_of_means(*, wrong: bool = False) -> Certificate:
    r"""The constants of the vector median of means in Chapter 5's low-dimensional corollary.

    Three algebraic steps, for symbolic :math:`0<\varepsilon<1`, :math:`0<p<1`:

    1. Hoeffding's exponent at :math:`k=8\ln(1/p)` groups, each good with
       probability :math:`\ge\frac34`: :math:`e^{-2k(1/4)^2}=p`;
    2. the selected mean is within :math:`2\varepsilon u` of a good one, which
       is within :math:`\varepsilon u` of :math:`N`: :math:`2\varepsilon+\varepsilon=3\varepsilon`;
    3. step 4's ratio bound with numerator error :math:`3\varepsilon`: its worst
       corner :math:`(3\varepsilon+\varepsilon)/(1-\varepsilon)` equals
       :math:`4\varepsilon/(1-\varepsilon)`.

    (Hoeffding's inequality itself is cited, not certified.)

    ``wrong=True`` takes :math:`k=4\ln(1/p)` groups: the failure bound is then
    :math:`\sqrt p>p`, and step 1 fails.

    Examples
    --------
    >>> from kvtheory.bounds.subgen import subgen_median_of_means
    >>> subgen_median_of_means().holds, subgen_median_of_means(wrong=True).holds
    (True, False)
    """
    y, w = sp.symbols("y w", positive=True)
    p = 1 / (1 + y)                           # p in (0, 1)
    eps = 1 / (1 + w)                         # eps in (0, 1)
    k = (4 if wrong else 8) * sp.log(1 / p)
    tail = sp.simplify(sp.exp(-2 * k * sp.Rational(1, 4) ** 2))
    step1 = _nonneg(p - tail)
    step2 = sympy_is_zero(2 * eps + eps - 3 * eps)
    corner = (3 * eps + 1 * eps) / (1 - eps)
    step3 = sympy_is_zero(corner - 4 * eps / (1 - eps))
    holds = step1 and step2 and step3
    kk = "4" if wrong else "8"
    return _cert("subgen_median_of_means",
                 rf"k={kk}\ln\tfrac1p\Rightarrow e^{{-2k/16}}\le p;\ "
                 r"\|\hat N-N\|\le3\varepsilon u;\ \frac{3\varepsilon+\varepsilon}{1-\varepsilon}"
                 r"=\frac{4\varepsilon}{1-\varepsilon}",
                 holds, "the failure bound e^(-k/8) simplifies to p; 2 + 1 = 3; the corner is "
                 "4 eps/(1 - eps)",
                 "the failure bound e^(-k/8) simplifies to sqrt(p), not <= p")


@register(chapter=5)
def subgen_entrywise_ratio(*, wrong: bool = False) -> Certificate:
    r"""Caveat 1 of Chapter 5: each output coordinate within a factor :math:`1\pm3\varepsilon`.

    :math:`\frac{1+\varepsilon}{1-\varepsilon}\le1+3\varepsilon` and
    :math:`\frac{1-\varepsilon}{1+\varepsilon}\ge1-3\varepsilon` for
    :math:`0<\varepsilon\le\frac13`.

    With :math:`\varepsilon=\frac1{3(1+y)}`, :math:`y\ge0`, sympy factors
    both slacks into nonnegative factors. So numerator and normaliser
    estimates within :math:`1\pm\varepsilon` give each coordinate of the
    output within :math:`1\pm3\varepsilon`.

    ``wrong=True`` allows :math:`\varepsilon\le\frac12`
    (:math:`\varepsilon=\frac1{2(1+y)}`): at :math:`\varepsilon=\frac12` the
    ratio is :math:`3>\frac52`, and the first slack is not shown nonnegative.

    Examples
    --------
    >>> from kvtheory.bounds.subgen import subgen_entrywise_ratio
    >>> subgen_entrywise_ratio().holds, subgen_entrywise_ratio(wrong=True).holds
    (True, False)
    """
    y = sp.Symbol("y", nonnegative=True)
    eps = 1 / ((2 if wrong else 3) * (1 + y))
    upper = _nonneg(1 + 3 * eps - (1 + eps) / (1 - eps))
    lower = _nonneg((1 - eps) / (1 + eps) - (1 - 3 * eps))
    rng = r"\tfrac12" if wrong else r"\tfrac13"
    return _cert("subgen_entrywise_ratio",
                 r"0<\varepsilon\le" + rng + r"\Rightarrow\frac{1+\varepsilon}{1-\varepsilon}"
                 r"\le1+3\varepsilon,\ \frac{1-\varepsilon}{1+\varepsilon}\ge1-3\varepsilon",
                 upper and lower, "both slacks factor into nonnegative factors for eps <= 1/3",
                 "the slack 1 + 3 eps - (1 + eps)/(1 - eps) is not shown >= 0 (it is -1/2 at "
                 "eps = 1/2)")
