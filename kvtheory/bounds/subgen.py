r"""Certificates of Chapter 5: the steps of SubGen's guarantee.

One certificate per step of the proof outline of Theorem 5.3 and of
Corollary 5.4: the rank bound on the Frobenius norm, the second moment of
the one-slot estimator, the telescoping slot law, the choice of the
reservoir size ``t``, the ratio bound, the within-cluster weight ratio and
the sublinear space. Each has a deliberately wrong variant that runs the
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
    r""":math:`\|V\|_F^2=\sum_i\sigma_i^2\le\mathrm{rank}(V)\,\|V\|_{op}^2`.

    Step 2 of the proof turns the Frobenius norm of the one-slot second
    moment into the operator norm of the guarantee with this bound. Checked
    two ways: symbolically for rank 3, writing :math:`\sigma_i=\sigma_1/(1+y_i)`
    with :math:`y_i\ge0` (so :math:`\sigma_i\le\sigma_1`), and exactly on the
    matrices :math:`I_2` and :math:`\begin{pmatrix}2&1\\0&1\\1&0\end{pmatrix}`
    from their singular values.

    ``wrong=True`` checks :math:`\|V\|_F\le\|V\|_{op}` (rank factor dropped),
    which :math:`I_2` refutes: :math:`\sqrt2>1`.

    Examples
    --------
    >>> from kvtheory.bounds.subgen import subgen_frobenius_rank
    >>> subgen_frobenius_rank().holds, subgen_frobenius_rank(wrong=True).holds
    (True, False)
    """
    s1 = sp.Symbol("sigma1", positive=True)
    ys = sp.symbols("y2:4", nonnegative=True)
    sig = [s1] + [s1 / (1 + y) for y in ys]

    def slack(sigmas, rank):
        factor = 1 if wrong else rank
        return factor * sigmas[0] ** 2 - sum(x ** 2 for x in sigmas)

    symbolic = _nonneg(slack(sig, 3))
    concrete = True
    for M in (sp.eye(2), sp.Matrix([[2, 1], [0, 1], [1, 0]])):
        svals = sorted((sp.sqrt(e) for e in (M.T * M).eigenvals(multiple=True)),
                       key=lambda x: -float(x))
        concrete &= bool(sp.simplify(slack(svals, M.rank())) >= 0)
    holds = symbolic and concrete
    lhs = r"\|V\|_F^2\le\|V\|_{op}^2" if wrong else r"\|V\|_F^2\le\mathrm{rank}(V)\,\|V\|_{op}^2"
    return _cert("subgen_frobenius_rank", lhs, holds,
                 "nonnegative for rank 3 with sigma_i <= sigma_1, and on I_2 and a 3x2 matrix",
                 "fails: sympy cannot show the slack >= 0 (I_2 gives 1 - 2 < 0)")


@register(chapter=5)
def subgen_second_moment(*, wrong: bool = False) -> Certificate:
    r"""One slot: :math:`\mathbb EX=N` and :math:`\mathbb E\|X\|^2=\|V\|_F^2\|e^{Kq}\|_2^2`.

    The slot holds token :math:`i` with probability
    :math:`p_i=\|v_i\|^2/F` and outputs :math:`X=e^{s_i}v_i/p_i`. Checked
    exactly for :math:`n=3` tokens in :math:`d=2` with symbolic scores and
    value entries.

    ``wrong=True`` claims :math:`\mathbb E\|X\|^2=\|\mathbb EX\|^2=\|N\|^2`,
    i.e. that the estimator has no variance.

    Examples
    --------
    >>> from kvtheory.bounds.subgen import subgen_second_moment
    >>> subgen_second_moment().holds, subgen_second_moment(wrong=True).holds
    (True, False)
    """
    n, d = 3, 2
    s = sp.symbols(f"s1:{n + 1}", real=True)
    v = [[sp.Symbol(f"v{i}{l}", positive=True) for l in range(d)] for i in range(n)]
    a = [sum(x ** 2 for x in vi) for vi in v]
    F = sum(a)
    N = [sum(sp.exp(s[i]) * v[i][l] for i in range(n)) for l in range(d)]
    EX = [sum((a[i] / F) * sp.exp(s[i]) * v[i][l] * F / a[i] for i in range(n))
          for l in range(d)]
    EX2 = sum((a[i] / F) * sum((sp.exp(s[i]) * v[i][l] * F / a[i]) ** 2 for l in range(d))
              for i in range(n))
    claim = sum(x ** 2 for x in N) if wrong else F * sum(sp.exp(2 * si) for si in s)
    mean_ok = all(sympy_is_zero(x - y) for x, y in zip(EX, N, strict=True))
    holds = mean_ok and sympy_is_zero(EX2 - claim)
    rhs = r"\|N\|_2^2" if wrong else r"\|V\|_F^2\,\|e^{Kq}\|_2^2"
    return _cert("subgen_second_moment",
                 rf"\mathbb E X=N,\ \mathbb E\|X\|_2^2={rhs}\ (n=3,\ d=2)", holds,
                 "sympy.simplify of both differences is 0",
                 "sympy.simplify leaves a nonzero difference")


@register(chapter=5)
def subgen_slot_law(*, wrong: bool = False) -> Certificate:
    r"""A slot holds token :math:`i` with probability :math:`\|v_i\|^2/F_n` (telescoping).

    Token :math:`i` enters with probability :math:`a_i/F_i` and survives
    each later arrival :math:`u` with probability :math:`1-a_u/F_u=F_{u-1}/F_u`,
    where :math:`a_i=\|v_i\|^2`, :math:`F_i=a_1+\dots+a_i`. Checked for
    symbolic positive :math:`a_1..a_5` and every :math:`i`.

    ``wrong=True`` claims the entry probability :math:`a_i/F_i` is the final
    one (later replacements forgotten).

    Examples
    --------
    >>> from kvtheory.bounds.subgen import subgen_slot_law
    >>> subgen_slot_law().holds, subgen_slot_law(wrong=True).holds
    (True, False)
    """
    n = 5
    a = sp.symbols(f"a1:{n + 1}", positive=True)
    F = [sum(a[: i + 1]) for i in range(n)]
    holds = True
    for i in range(n):
        prob = a[i] / F[i]
        for u in range(i + 1, n):
            prob *= 1 - a[u] / F[u]
        claim = a[i] / F[i] if wrong else a[i] / F[-1]
        holds &= sympy_is_zero(prob - claim)
    rhs = r"\|v_i\|^2/F_i" if wrong else r"\|v_i\|^2/F_n"
    return _cert("subgen_slot_law",
                 rf"\frac{{a_i}}{{F_i}}\prod_{{u>i}}\Bigl(1-\frac{{a_u}}{{F_u}}\Bigr)={rhs}\ (n=5)",
                 holds, "sympy.simplify of the difference is 0 for i = 1..5",
                 "sympy.simplify leaves a nonzero difference")


@register(chapter=5)
def subgen_choice_of_t(*, wrong: bool = False) -> Certificate:
    r"""With :math:`t=3e^{2\delta r}\varepsilon^{-2}\ln(2m/p)`, the union bound is :math:`\le p`.

    Each of :math:`m` clusters fails with probability
    :math:`\le2e^{-t\varepsilon^2e^{-2\delta r}/3}`; the check shows that
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
    eps, delta, r, p, y = sp.symbols("varepsilon delta r p y", positive=True)
    m = p * (1 + y) / 2
    c = 1 if wrong else 3
    t = c * sp.exp(2 * delta * r) / eps ** 2 * sp.log(2 * m / p)
    union = m * 2 * sp.exp(-t * eps ** 2 * sp.exp(-2 * delta * r) / 3)
    ratio = sp.simplify(sp.expand_log(union / p, force=True))
    holds = _nonneg(1 - ratio)
    coef = "" if wrong else "3"
    return _cert("subgen_choice_of_t",
                 rf"t={coef}e^{{2\delta r}}\varepsilon^{{-2}}\ln\tfrac{{2m}}p\ \Rightarrow\ "
                 r"2m\,e^{-t\varepsilon^2e^{-2\delta r}/3}\le p",
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
    r"""Members of one cluster have weights within a factor :math:`e^{2\delta r}`.

    Two keys of a cluster are within :math:`2\delta` (both within
    :math:`\delta` of the centre), so for :math:`\|q\|\le r`,
    :math:`e^{\langle q,k\rangle}/e^{\langle q,k'\rangle}
    =e^{\langle q,k-k'\rangle}\le e^{2\delta r}`.
    Checked by maximising :math:`\langle q,k-k'\rangle` over
    :math:`q=r(\cos a,\sin a)`, :math:`k-k'=2\delta(\cos b,\sin b)` (the
    plane they span) with ``sympy.maximum``, then comparing the claimed
    factor with the exponential of the maximum.

    ``wrong=True`` claims :math:`e^{\delta r}` (radius used for the diameter).

    Examples
    --------
    >>> from kvtheory.bounds.subgen import subgen_cluster_weight_ratio
    >>> subgen_cluster_weight_ratio().holds, subgen_cluster_weight_ratio(wrong=True).holds
    (True, False)
    """
    r, delta = sp.symbols("r delta", positive=True)
    g = sp.Symbol("g", real=True)             # g = a - b, the angle between q and k - k'
    inner_max = 2 * delta * r * sp.maximum(sp.cos(g), g, sp.Interval(0, 2 * sp.pi))
    claim = sp.exp(delta * r) if wrong else sp.exp(2 * delta * r)
    holds = _nonneg(sp.log(claim) - inner_max)
    factor = r"e^{\delta r}" if wrong else r"e^{2\delta r}"
    return _cert("subgen_cluster_weight_ratio",
                 rf"\|k-k'\|\le2\delta,\ \|q\|\le r\ \Rightarrow"
                 rf"\ e^{{\langle q,k-k'\rangle}}\le{factor}",
                 holds, "the maximum of <q, k - k'> is 2 delta r",
                 "the maximum 2 delta r exceeds the claimed exponent")


@register(chapter=5)
def subgen_space_sublinear(*, wrong: bool = False) -> Certificate:
    r""":math:`\lim_{n\to\infty}d(mt+s)/(nd)=0` for fixed :math:`d,m,s` and :math:`t=c\ln n`.

    The space of SubGen against the exact cache's :math:`nd` words, with the
    reservoir size of Theorem 5.3 growing like :math:`\ln n` (a fortiori for
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
