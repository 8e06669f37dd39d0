r"""Certificates of Chapter 11: the algebra of the balancing guarantee.

One certificate per algebraic step of the chapter's proofs: the error
transfer from the two sums to the attention output, the kernel scale
:math:`\lambda` and the norm product it gives, the halving identity, the
binary-counter level count (a spot check), the sum over the levels, the
block size that reaches a target error, the sampling budget from Chebyshev's
inequality, and the vacuity on the INDEX instance. Each has a deliberately
wrong variant that runs the same check and fails. The walk's own guarantee is
cited, not certified; probabilistic steps (Chebyshev, union bounds) are
cited too.
"""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = [
    "balance_error_transfer",
    "balance_scale_lambda",
    "balance_halving_identity",
    "balance_level_count",
    "balance_level_sum",
    "balance_block_for_eps",
    "balance_sampling_budget",
    "balance_index_vacuity",
]


def _cert(name, statement, holds, how_true, how_false, scope="general"):
    return Certificate(name=name, statement=statement, holds=holds,
                       how=how_true if holds else how_false, chapter=11, scope=scope)


def _all_coeffs_positive(expr, gens) -> bool:
    """True if the expanded polynomial in ``gens`` has only positive coefficients."""
    poly = sp.Poly(sp.expand(expr), *gens)
    coeffs = poly.coeffs()
    return bool(coeffs) and all(bool(sp.simplify(c) > 0) for c in coeffs)


@register(chapter=11)
def balance_error_transfer(*, wrong: bool = False) -> Certificate:
    r"""Coordinatewise error transfer: :math:`|\hat z_l-z_l|\le\frac{2\varepsilon}{1-\varepsilon}`.

    With :math:`|Z_{\mathcal S}-Z|=\theta Z`, :math:`|U_{\mathcal S,l}-U_l|=\varphi Z`,
    :math:`|z_l|=\psi` and :math:`0\le\theta,\varphi\le\varepsilon<1`,
    :math:`0\le\psi\le1`, the proof bounds :math:`|\hat z_l-z_l|` by
    :math:`(\varphi+\psi\theta)/(1-\theta)`. Writing
    :math:`\varphi=\varepsilon x`, :math:`\theta=\varepsilon u`,
    :math:`x,u,\psi\in[0,1]`, the check shows the slack
    :math:`\frac{2\varepsilon}{1-\varepsilon}
    -\frac{\varepsilon x+\psi\varepsilon u}{1-\varepsilon u}`
    is decreasing in :math:`x` and :math:`\psi` and equals
    :math:`\frac{\varepsilon(1+\varepsilon)(1-u)}{(1-\varepsilon)(1-\varepsilon u)}\ge0`
    at :math:`x=\psi=1` (with :math:`u=1/(1+a)`, :math:`\varepsilon=1/(1+b)`,
    :math:`a,b\ge0`, numerator and denominator expand to polynomials with
    coefficients of one sign).

    ``wrong=True`` claims :math:`2\varepsilon` (forgetting that :math:`Z_{\mathcal S}`
    may be as small as :math:`(1-\varepsilon)Z`).

    Examples
    --------
    >>> from kvtheory.bounds.balance import balance_error_transfer
    >>> balance_error_transfer().holds, balance_error_transfer(wrong=True).holds
    (True, False)
    """
    eps, x, u, psi = sp.symbols("varepsilon x u psi", nonnegative=True)
    claim = 2 * eps if wrong else 2 * eps / (1 - eps)
    slack = claim - (eps * x + psi * eps * u) / (1 - eps * u)
    dec = (sp.simplify(sp.diff(slack, x) + eps / (1 - eps * u)) == 0
           and sp.simplify(sp.diff(slack, psi) + eps * u / (1 - eps * u)) == 0)
    corner = sp.factor(sp.together(slack.subs({x: 1, psi: 1})))
    # on 0 <= u <= 1, 0 < eps < 1: substitute u = 1/(1+a), eps = 1/(1+b), a, b >= 0
    a, b = sp.symbols("a b", nonnegative=True)
    sub = sp.together(corner.subs({u: 1 / (1 + a), eps: 1 / (1 + b)}))
    num, den = (sp.expand(part) for part in sp.fraction(sub))
    sign = 1 if sp.Poly(den, a, b).coeffs()[0] > 0 else -1
    nonneg = (sympy_is_zero(num) or _all_coeffs_positive(sign * num, (a, b))) \
        and _all_coeffs_positive(sign * den, (a, b))
    holds = bool(dec) and nonneg
    bound = r"2\varepsilon" if wrong else r"\frac{2\varepsilon}{1-\varepsilon}"
    return _cert("balance_error_transfer",
                 rf"|Z_{{\mathcal S}}-Z|\le\varepsilon Z,\ |U_{{\mathcal S,l}}-U_l|\le\varepsilon Z"
                 rf"\ \Rightarrow\ |\hat z_l-z_l|\le{bound}",
                 holds, f"decreasing in x and psi; slack at x = psi = 1 is {corner}",
                 f"the slack at x = psi = 1, {corner}, is negative for u near 1")


@register(chapter=11)
def balance_scale_lambda(*, wrong: bool = False) -> Certificate:
    r"""The kernel scale: :math:`\min_\lambda(\lambda^2r_k^2+r_q^2/\lambda^2)=2R=2r_qr_k`.

    The bound
    :math:`\|\psi_i\|\,\|\varphi(q/\lambda)\|\le\sqrt2\,e^{(\lambda^2r_k^2+r_q^2/\lambda^2)/2}`
    is smallest when the exponent is. With :math:`x=\lambda^2`, the check
    shows the identity
    :math:`xr_k^2+r_q^2/x-2r_qr_k=(\sqrt x\,r_k-r_q/\sqrt x)^2` (so the
    exponent is at least :math:`2R`) and that it vanishes at :math:`x=r_q/r_k`.

    ``wrong=True`` claims the minimum is :math:`R` (so the product would be
    :math:`\sqrt2e^{R/2}`).

    Examples
    --------
    >>> from kvtheory.bounds.balance import balance_scale_lambda
    >>> balance_scale_lambda().holds, balance_scale_lambda(wrong=True).holds
    (True, False)
    """
    x, rk, rq = sp.symbols("x r_k r_q", positive=True)
    f = x * rk ** 2 + rq ** 2 / x
    m = rq * rk if wrong else 2 * rq * rk
    square = (sp.sqrt(x) * rk - rq / sp.sqrt(x)) ** 2
    identity = sympy_is_zero(f - m - square)
    attained = sympy_is_zero(f.subs(x, rq / rk) - m)
    holds = identity and attained
    val = "R" if wrong else "2R"
    return _cert("balance_scale_lambda",
                 rf"\min_{{\lambda>0}}\bigl(\lambda^2r_k^2+r_q^2/\lambda^2\bigr)={val},"
                 r"\ \lambda^2=r_q/r_k",
                 holds, "f - 2R is the square (sqrt(x) r_k - r_q/sqrt(x))^2, zero at x = r_q/r_k",
                 "f - R is not a perfect square vanishing at x = r_q/r_k (f there is 2R)")


@register(chapter=11)
def balance_halving_identity(*, wrong: bool = False) -> Certificate:
    r"""Keeping one point of a pair at double weight errs by :math:`\omega\sigma(f(a)-f(b))`.

    For a pair :math:`(a,b)` of weight :math:`\omega` and a linear functional
    :math:`f`, keeping :math:`a` (:math:`\sigma=+1`) or :math:`b`
    (:math:`\sigma=-1`) at weight :math:`2\omega` changes the sum by
    :math:`\omega\sigma(f(a)-f(b))`; checked for both signs, symbolic
    :math:`\omega,f(a),f(b)`.

    ``wrong=True`` keeps the survivor at weight :math:`\omega` (no doubling):
    the change then has a nonzero mean part :math:`-\omega(f(a)+f(b))/2`.

    Examples
    --------
    >>> from kvtheory.bounds.balance import balance_halving_identity
    >>> balance_halving_identity().holds, balance_halving_identity(wrong=True).holds
    (True, False)
    """
    w, fa, fb = sp.symbols("omega f_a f_b", real=True)
    k = 1 if wrong else 2
    ok = True
    for sigma, kept in ((1, fa), (-1, fb)):
        change = k * w * kept - w * (fa + fb)
        ok &= sympy_is_zero(change - w * sigma * (fa - fb))
    weight = r"\omega" if wrong else r"2\omega"
    return _cert("balance_halving_identity",
                 rf"{weight}f(\text{{kept}})-\omega(f(a)+f(b))=\omega\sigma(f(a)-f(b))",
                 ok, "sympy.simplify of the difference is 0 for sigma = +1 and -1",
                 "sympy.simplify leaves a nonzero difference")


@register(chapter=11)
def balance_level_count(*, wrong: bool = False) -> Certificate:
    r"""The binary counter of blocks: occupied levels and kept tokens.

    After :math:`n` tokens with :math:`M=\lfloor n/B\rfloor` full blocks,
    the merge-and-reduce cache holds one block at each level :math:`j`
    whose bit :math:`j` of :math:`M` is set (simulated exactly: push a
    level-0 block, merge while the level is taken), so at most
    :math:`\lfloor\log_2M\rfloor+1` blocks, the highest at level
    :math:`\lfloor\log_2M\rfloor=\lfloor\log_2(n/B)\rfloor`. Checked for
    every :math:`M=1,\dots,4096`: a spot check (the general statement is
    the binary representation of :math:`M`).

    ``wrong=True`` claims at most :math:`\lfloor\log_2M\rfloor` blocks,
    which :math:`M=1` refutes.

    Examples
    --------
    >>> from kvtheory.bounds.balance import balance_level_count
    >>> balance_level_count().holds, balance_level_count(wrong=True).holds
    (True, False)
    """
    ok = True
    occupied: set[int] = set()
    for M in range(1, 4097):
        j = 0
        while j in occupied:              # merge two level-j blocks into one at j + 1
            occupied.remove(j)
            j += 1
        occupied.add(j)
        L = M.bit_length() - 1                   # floor(log2 M), exactly
        bits = {i for i in range(L + 1) if (M >> i) & 1}
        cap = L if wrong else L + 1
        ok &= occupied == bits and len(occupied) <= cap and max(occupied) == L
    cap = r"\lfloor\log_2M\rfloor" if wrong else r"\lfloor\log_2M\rfloor+1"
    return _cert("balance_level_count",
                 rf"\#\text{{blocks}}=\mathrm{{popcount}}(M)\le{cap},\ "
                 r"\text{top level}=\lfloor\log_2M\rfloor",
                 ok, "the simulated counter matches the binary digits for M = 1..4096",
                 "M = 1 has one block but floor(log2 M) = 0", scope="spot check")


@register(chapter=11)
def balance_level_sum(*, wrong: bool = False) -> Certificate:
    r"""The halvings' total weight: :math:`\sum_{j<L}\frac{n}{B2^{j+1}}2^j=\frac{nL}{2B}`.

    Level :math:`j` sees :math:`\lfloor n/(B2^{j+1})\rfloor\le n/(B2^{j+1})`
    halvings, each of weight :math:`2^j`; every level contributes
    :math:`n/(2B)`. Checked with ``sympy.summation`` for symbolic
    :math:`n,B,L`.

    ``wrong=True`` claims the total is :math:`n/(2B)` (as if the weights'
    growth and the halvings' decay did not cancel level by level, a
    geometric series).

    Examples
    --------
    >>> from kvtheory.bounds.balance import balance_level_sum
    >>> balance_level_sum().holds, balance_level_sum(wrong=True).holds
    (True, False)
    """
    n, B, L = sp.symbols("n B L", positive=True, integer=True)
    j = sp.Symbol("j", integer=True, nonnegative=True)
    total = sp.summation(n / (B * 2 ** (j + 1)) * 2 ** j, (j, 0, L - 1))
    claim = n / (2 * B) if wrong else n * L / (2 * B)
    holds = sympy_is_zero(total - claim)
    rhs = r"\frac{n}{2B}" if wrong else r"\frac{nL}{2B}"
    return _cert("balance_level_sum",
                 rf"\sum_{{j=0}}^{{L-1}}\frac{{n}}{{B2^{{j+1}}}}2^j={rhs}",
                 holds, f"sympy.summation gives {sp.simplify(total)}",
                 f"sympy.summation gives {sp.simplify(total)}, not n/(2B)")


@register(chapter=11)
def balance_block_for_eps(*, wrong: bool = False) -> Certificate:
    r"""Solving :math:`\varepsilon=\sqrt2\,e^{2R}L\beta/B` for the block size.

    ``sympy.solve`` gives the unique positive solution
    :math:`B=\sqrt2\,e^{2R}L\beta/\varepsilon`, and the check confirms it
    equals the claimed formula.

    ``wrong=True`` claims :math:`B=\sqrt2\,e^{2R}L\beta/\varepsilon^2`
    (the sampling-type dependence).

    Examples
    --------
    >>> from kvtheory.bounds.balance import balance_block_for_eps
    >>> balance_block_for_eps().holds, balance_block_for_eps(wrong=True).holds
    (True, False)
    """
    eps, R, L, beta, B = sp.symbols("varepsilon R L beta B", positive=True)
    sol = sp.solve(sp.Eq(eps, sp.sqrt(2) * sp.exp(2 * R) * L * beta / B), B)
    claim = sp.sqrt(2) * sp.exp(2 * R) * L * beta / (eps ** 2 if wrong else eps)
    holds = len(sol) == 1 and sympy_is_zero(sol[0] - claim)
    den = r"\varepsilon^2" if wrong else r"\varepsilon"
    return _cert("balance_block_for_eps",
                 rf"\varepsilon=\frac{{\sqrt2e^{{2R}}L\beta}}B\iff "
                 rf"B=\frac{{\sqrt2e^{{2R}}L\beta}}{{{den}}}",
                 holds, f"sympy.solve gives B = {sol[0] if sol else None}",
                 f"sympy.solve gives B = {sol[0] if sol else None}, not the claim")


@register(chapter=11)
def balance_sampling_budget(*, wrong: bool = False) -> Certificate:
    r"""Uniform sampling: :math:`s=e^{4R}/(\varepsilon^2\delta)` makes Chebyshev's bound delta.

    With :math:`s` draws with replacement, :math:`\hat Z=\frac ns\sum e^{\langle q,k_I\rangle}`
    has variance at most :math:`n^2e^{2R}/s` and :math:`Z\ge ne^{-R}`, so
    Chebyshev's inequality (cited) bounds
    :math:`\Pr[|\hat Z-Z|>\varepsilon Z]` by :math:`e^{4R}/(s\varepsilon^2)`.
    The check shows this equals :math:`\delta` at the claimed :math:`s`.

    ``wrong=True`` takes :math:`s=e^{2R}/(\varepsilon^2\delta)`: the bound is
    then :math:`e^{2R}\delta>\delta`.

    Examples
    --------
    >>> from kvtheory.bounds.balance import balance_sampling_budget
    >>> balance_sampling_budget().holds, balance_sampling_budget(wrong=True).holds
    (True, False)
    """
    R, eps, delta, n = sp.symbols("R varepsilon delta n", positive=True)
    s = sp.exp((2 if wrong else 4) * R) / (eps ** 2 * delta)
    var_bound = n ** 2 * sp.exp(2 * R) / s
    cheb = var_bound / (eps * n * sp.exp(-R)) ** 2
    holds = sympy_is_zero(cheb - delta)
    e = "2R" if wrong else "4R"
    return _cert("balance_sampling_budget",
                 rf"s=\frac{{e^{{{e}}}}}{{\varepsilon^2\delta}}\ \Rightarrow\ "
                 r"\frac{n^2e^{2R}/s}{(\varepsilon ne^{-R})^2}\le\delta",
                 holds, "the Chebyshev bound simplifies to delta",
                 f"the Chebyshev bound simplifies to {sp.simplify(cheb)}, not delta")


@register(chapter=11)
def balance_index_vacuity(*, wrong: bool = False) -> Certificate:
    r"""On the INDEX instance the guarantee asks for more than :math:`n` tokens per block.

    There :math:`R=C\ge\ln(n/\gamma)`, so with :math:`\beta\ge1`,
    :math:`L\ge1`, :math:`0<\varepsilon,\gamma\le1`, :math:`n\ge1` the needed
    block :math:`\sqrt2e^{2R}L\beta/\varepsilon` exceeds :math:`n`. Writing
    :math:`C=\ln(n/\gamma)+h`, :math:`e^{2h}=1+y`, :math:`n=1+a`,
    :math:`1/\gamma=1+g`, :math:`1/\varepsilon=1+e`, :math:`L=1+l`,
    :math:`\beta=1+t` (all new symbols :math:`\ge0`), the check expands
    :math:`\sqrt2e^{2C}L\beta/\varepsilon-n` into a polynomial whose
    coefficients are all positive (the constant term is :math:`\sqrt2-1`).

    ``wrong=True`` drops the factor :math:`e^{2R}` (the block size a
    bounded-score stream would need): :math:`\sqrt2L\beta/\varepsilon-n`
    is then negative for large :math:`n`.

    Examples
    --------
    >>> from kvtheory.bounds.balance import balance_index_vacuity
    >>> balance_index_vacuity().holds, balance_index_vacuity(wrong=True).holds
    (True, False)
    """
    a, y, g, e, l, t = sp.symbols("a y g e l t", nonnegative=True)
    n = 1 + a
    e2C = (n * (1 + g)) ** 2 * (1 + y)            # e^{2C} = (n/gamma)^2 e^{2h}
    factor = 1 if wrong else e2C
    need = sp.sqrt(2) * factor * (1 + l) * (1 + t) * (1 + e)
    holds = _all_coeffs_positive(need - n, (a, y, g, e, l, t))
    what = r"\sqrt2L\beta/\varepsilon" if wrong else r"\sqrt2e^{2R}L\beta/\varepsilon"
    return _cert("balance_index_vacuity",
                 rf"R=C\ge\ln\tfrac n\gamma\ \Rightarrow\ {what}>n",
                 holds, "need - n expands to a polynomial with positive coefficients",
                 "need - n has a negative coefficient (the -n term survives)")
