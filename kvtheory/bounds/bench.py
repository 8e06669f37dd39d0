r"""Certificates of Chapter 9: the estimators the benchmark's methods rely on."""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = ["bench_qjl_unbiased", "bench_weighted_reservoir_law", "bench_importance_unbiased"]


@register(chapter=9)
def bench_qjl_unbiased(*, wrong: bool = False) -> Certificate:
    r"""QJL's estimator is unbiased: :math:`\sqrt{\pi/2}\,\|k\|\,\mathbb E[\langle s,q\rangle\,
    \mathrm{sign}\langle s,k\rangle]=\langle q,k\rangle` for :math:`s\sim\mathcal N(0,I)`.

    By rotation invariance take :math:`k=re_1`, :math:`q=ae_1+be_2`; the
    expectation is :math:`a\,\mathbb E|g_1|+b\,\mathbb E[g_2]\,\mathbb E[\mathrm{sign}\,g_1]`
    with the Gaussian integrals computed by sympy. ``wrong=True`` drops the
    factor :math:`\sqrt{\pi/2}`.

    Examples
    --------
    >>> from kvtheory.bounds.bench import bench_qjl_unbiased
    >>> bench_qjl_unbiased().holds, bench_qjl_unbiased(wrong=True).holds
    (True, False)
    """
    x = sp.Symbol("x", real=True)
    a, b = sp.symbols("a b", real=True)
    r = sp.Symbol("r", positive=True)
    phi = sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)
    e_abs = sp.integrate(sp.Abs(x) * phi, (x, -sp.oo, sp.oo))        # E|g|
    e_g = sp.integrate(x * phi, (x, -sp.oo, sp.oo))                   # E g
    e_sign = sp.integrate(sp.sign(x) * phi, (x, -sp.oo, sp.oo))       # E sign g
    expectation = a * e_abs + b * e_g * e_sign
    factor = 1 if wrong else sp.sqrt(sp.pi / 2)
    holds = sympy_is_zero(factor * r * expectation - a * r)
    return Certificate(
        name="bench_qjl_unbiased",
        statement=(r"\|k\|\,\mathbb E[\langle s,q\rangle\,\mathrm{sign}\langle s,k\rangle]"
                   r"=\langle q,k\rangle" if wrong else
                   r"\sqrt{\pi/2}\,\|k\|\,\mathbb E[\langle s,q\rangle\,"
                   r"\mathrm{sign}\langle s,k\rangle]=\langle q,k\rangle"),
        holds=holds,
        how="sympy integrates E|g|, E g, E sign g and simplifies the difference to 0" if holds
            else "the Gaussian integrals leave a nonzero difference",
        chapter=9,
    )


@register(chapter=9)
def bench_weighted_reservoir_law(*, wrong: bool = False) -> Certificate:
    r"""A weighted reservoir of size one holds token :math:`t` w.p. :math:`\omega_t/W_n`, every n.

    Token :math:`u` replaces the content with probability :math:`\omega_u/W_u`,
    :math:`W_u=\omega_1+\dots+\omega_u`. Let :math:`P_n(t)` be the probability
    that the slot holds :math:`t\le n` after :math:`n` tokens. By induction on
    :math:`n\ge t`: :math:`P_t(t)=\omega_t/W_t` (token :math:`t` is taken), and
    :math:`P_{n+1}(t)=P_n(t)\,(1-\omega_{n+1}/W_{n+1})` (token :math:`n+1` is
    not taken, independently), so the claim :math:`P_n(t)=\omega_t/W_n` passes
    from :math:`n` to :math:`n+1` iff
    :math:`\frac{\omega_t}{W}\bigl(1-\frac{\omega'}{W+\omega'}\bigr)=\frac{\omega_t}{W+\omega'}`
    for all positive :math:`\omega_t, W, \omega'`, which sympy proves with the
    sizes symbolic (so for every :math:`n` and :math:`t`). ``wrong=True``
    uses the replacement probability :math:`\omega_{n+1}/W_n` (the total
    before the new token), which breaks the step.

    Examples
    --------
    >>> from kvtheory.bounds.bench import bench_weighted_reservoir_law
    >>> bench_weighted_reservoir_law().holds, bench_weighted_reservoir_law(wrong=True).holds
    (True, False)
    """
    wt, W, wn = sp.symbols("omega_t W_n omega_n1", positive=True)
    take = wn / (W if wrong else W + wn)
    # the base P_t(t) = w_t / W_t is the definition of the replacement rule; the step:
    holds = bool(sympy_is_zero((wt / W) * (1 - take) - wt / (W + wn)))
    return Certificate(
        name="bench_weighted_reservoir_law",
        statement=(r"\Pr[\text{slot holds }t\text{ after }n]=\omega_t/W_n\ "
                   r"\text{for all }n\ge t\ge1"),
        holds=holds,
        how=("induction on n: sympy.simplify of the step "
             "(w_t/W)(1 - w'/(W + w')) - w_t/(W + w') is 0 for symbolic positive sizes")
            if holds else "the induction step leaves a nonzero difference",
        chapter=9,
    )


@register(chapter=9)
def bench_importance_unbiased(*, wrong: bool = False) -> Certificate:
    r"""Importance sampling with reweighting is unbiased: :math:`\sum_tp_t\,f_t/p_t=\sum_tf_t`.

    With :math:`p_t=\omega_t/W>0` (the reservoir law), a draw's term
    :math:`f_{t}/p_{t}` (:math:`f_t=e^{\langle q,k_t\rangle}v_t` or
    :math:`e^{\langle q,k_t\rangle}`) has mean :math:`\sum_tf_t`, so the mean
    of :math:`s` draws is an unbiased :math:`\hat U` or :math:`\hat Z`.
    Checked for a symbolic number :math:`n` of tokens (sympy sums over an
    indexed family with :math:`p_t>0`). ``wrong=True`` forgets the
    reweighting (the plain mean :math:`\sum_tp_tf_t`).

    Examples
    --------
    >>> from kvtheory.bounds.bench import bench_importance_unbiased
    >>> bench_importance_unbiased().holds, bench_importance_unbiased(wrong=True).holds
    (True, False)
    """
    n = sp.Symbol("n", integer=True, positive=True)
    t = sp.Symbol("t", integer=True, positive=True)
    w = sp.IndexedBase("omega", positive=True)
    f = sp.IndexedBase("f", real=True)
    W = sp.Symbol("W", positive=True)                      # W = sum of the weights
    p = w[t] / W
    term = p * (f[t] if wrong else f[t] / p)
    diff = sp.Sum(term, (t, 1, n)) - sp.Sum(f[t], (t, 1, n))
    holds = sympy_is_zero(sp.simplify(diff.doit()))
    if holds is None:                                      # pragma: no cover
        holds = False
    return Certificate(
        name="bench_importance_unbiased",
        statement=(r"\sum_{t=1}^n p_t f_t=\sum_{t=1}^n f_t" if wrong else
                   r"\sum_{t=1}^n p_t\,(f_t/p_t)=\sum_{t=1}^n f_t,\ p_t=\omega_t/W>0,"
                   r"\ \text{all }n"),
        holds=bool(holds),
        how="sympy.simplify of the difference of the two sums (n symbolic) is 0" if holds
            else "sympy.simplify leaves a nonzero difference",
        chapter=9,
    )
