r"""Certificates of Chapter 9: the estimators the benchmark's methods rely on."""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = ["bench_qjl_unbiased", "bench_weighted_reservoir_law", "bench_importance_unbiased"]


@register(chapter=9)
def bench_qjl_unbiased(*, wrong: bool = False) -> Certificate:
    r"""QJL's estimator is unbiased: :math:`\sqrt{\pi/2}\,\|k\|\,\mathbb E[\langle s,q\rangle\,
    \mathrm{sign}\langle s,k\rangle]=\langle q,k\rangle` for :math:`s\sim N(0,I)`.

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
    r"""A weighted reservoir of size one holds token :math:`t` w.p. :math:`\omega_t/W_n`.

    Token :math:`u` replaces the content with probability :math:`\omega_u/W_u`,
    :math:`W_u=\omega_1+\dots+\omega_u`. The probability of holding :math:`t`
    after :math:`n` tokens is
    :math:`\frac{\omega_t}{W_t}\prod_{u>t}\bigl(1-\frac{\omega_u}{W_u}\bigr)
    =\frac{\omega_t}{W_t}\prod_{u>t}\frac{W_{u-1}}{W_u}=\frac{\omega_t}{W_n}`
    (telescoping). Checked for :math:`n=4` symbolic positive weights and every
    :math:`t`. ``wrong=True`` uses the replacement probability
    :math:`\omega_u/W_n`, which does not telescope.

    Examples
    --------
    >>> from kvtheory.bounds.bench import bench_weighted_reservoir_law
    >>> bench_weighted_reservoir_law().holds, bench_weighted_reservoir_law(wrong=True).holds
    (True, False)
    """
    n = 4
    w = sp.symbols(f"w1:{n + 1}", positive=True)
    W = [sum(w[: u + 1]) for u in range(n)]
    def take(u):
        return w[u] / (W[-1] if wrong else W[u])
    holds = True
    for t in range(n):
        prob = take(t) * sp.prod([1 - take(u) for u in range(t + 1, n)])
        holds &= sympy_is_zero(prob - w[t] / W[-1])
    return Certificate(
        name="bench_weighted_reservoir_law",
        statement=r"\Pr[\text{slot holds }t]=\omega_t/W_n\ (n=4)",
        holds=bool(holds),
        how="sympy.simplify of each probability minus w_t/W_n is 0 (telescoping)" if holds
            else "sympy.simplify leaves a nonzero difference",
        chapter=9,
    )


@register(chapter=9)
def bench_importance_unbiased(*, wrong: bool = False) -> Certificate:
    r"""Importance sampling with reweighting is unbiased: :math:`\sum_tp_t\,f_t/p_t=\sum_tf_t`.

    With :math:`p_t=\omega_t/W` (the reservoir law), a draw's term
    :math:`f_{t}/p_{t}` (:math:`f_t=e^{\langle q,k_t\rangle}v_t` or
    :math:`e^{\langle q,k_t\rangle}`) has mean :math:`\sum_tf_t`, so the mean
    of :math:`s` draws is an unbiased :math:`\hat N` or :math:`\hat D`.
    Checked for four symbolic tokens. ``wrong=True`` forgets the
    reweighting (the plain mean :math:`\sum_tp_tf_t`).

    Examples
    --------
    >>> from kvtheory.bounds.bench import bench_importance_unbiased
    >>> bench_importance_unbiased().holds, bench_importance_unbiased(wrong=True).holds
    (True, False)
    """
    w = sp.symbols("w1:5", positive=True)
    f = sp.symbols("f1:5", real=True)
    p = [wi / sum(w) for wi in w]
    mean = sum(pi * (fi if wrong else fi / pi) for pi, fi in zip(p, f, strict=True))
    holds = sympy_is_zero(mean - sum(f))
    return Certificate(
        name="bench_importance_unbiased",
        statement=(r"\sum_t p_t f_t=\sum_t f_t" if wrong else
                   r"\sum_t p_t\,(f_t/p_t)=\sum_t f_t,\ p_t=\omega_t/W"),
        holds=holds,
        how="sympy.simplify of the difference is 0" if holds
            else "sympy.simplify leaves a nonzero difference",
        chapter=9,
    )
