r"""Certificates of Chapter 6: the hard instance is already 1-sparse.

With self-queries :math:`q_t=Cu_t` and codewords at inner product
:math:`\le1-\mu`, the token itself carries weight at least
:math:`f(t)=\frac1{1+te^{-C\mu}}` at step :math:`t`. The proof of the corollary of Chapter 6
uses that :math:`f` decreases in :math:`t` (so the last step is the worst) and
that :math:`f(n')=\frac1{1+\gamma}` when :math:`C=\ln(n'/\gamma)/\mu`; with random
keys it needs all pairs near-orthogonal, which the dimension
:math:`d=\frac{2}{\kappa^2}\ln\frac{n^2}{2\delta}` guarantees.
"""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = ["sparsity_profile_decreasing", "sparsity_profile_at_last_step",
           "sparsity_all_pairs_dimension"]

_t, _C, _mu, _n, _g, _eps, _delta = sp.symbols("t C mu n g kappa delta", positive=True)


def _profile(t, C, mu):
    return 1 / (1 + t * sp.exp(-C * mu))


@register(chapter=6)
def sparsity_profile_decreasing(*, wrong: bool = False) -> Certificate:
    r""":math:`f(t)=\frac1{1+te^{-C\mu}}` is decreasing in :math:`t>0`.

    Checked by asking sympy for the sign of :math:`f'(t)` with all symbols
    positive. ``wrong=True`` checks the false claim that :math:`f` increases
    (:math:`f'(t)>0`).

    Examples
    --------
    >>> from kvtheory.bounds import sparsity_profile_decreasing as cert
    >>> cert().holds, cert(wrong=True).holds
    (True, False)
    """
    deriv = sp.simplify(sp.diff(_profile(_t, _C, _mu), _t))
    claim = deriv > 0 if wrong else deriv < 0
    holds = bool(sp.simplify(claim) is sp.true)
    word = "increasing" if wrong else "decreasing"
    return Certificate(
        name="sparsity_profile_decreasing",
        statement=rf"\frac{{1}}{{1+te^{{-C\mu}}}}\ \text{{is {word} in }} t>0",
        holds=holds,
        how=f"sympy decides the sign of f'(t) = {sp.sstr(deriv)}" if holds
            else "sympy refutes the sign claim on f'(t)",
        chapter=6,
    )


@register(chapter=6)
def sparsity_profile_at_last_step(*, wrong: bool = False) -> Certificate:
    r"""With :math:`C=\ln(n'/\gamma)/\mu`, :math:`f(n')\ge\frac1{1+\gamma}` for :math:`0<\gamma<1`.

    :math:`\gamma` is written :math:`\frac1{1+g}` with :math:`g>0`, so sympy
    knows :math:`0<\gamma<1`; the check is that sympy simplifies
    :math:`f(n')-\frac1{1+\gamma}\ge0` to True. ``wrong=True`` drops
    :math:`\gamma` from the query scale, :math:`C=\ln(n')/\mu`: then
    :math:`f(n')=\frac12<\frac1{1+\gamma}` and the same check fails.

    Examples
    --------
    >>> from kvtheory.bounds import sparsity_profile_at_last_step as cert
    >>> cert().holds, cert(wrong=True).holds
    (True, False)
    """
    gamma = 1 / (1 + _g)
    C = sp.log(_n) / _mu if wrong else sp.log(_n / gamma) / _mu
    gap = sp.simplify(_profile(_n, C, _mu) - 1 / (1 + gamma))
    holds = bool(sp.simplify(gap >= 0) is sp.true)
    scale = r"\ln(n')/\mu" if wrong else r"\ln(n'/\gamma)/\mu"
    return Certificate(
        name="sparsity_profile_at_last_step",
        statement=rf"C={scale}\ \Rightarrow\ "
                  r"\frac{1}{1+n'e^{-C\mu}}\ge\frac{1}{1+\gamma}",
        holds=holds,
        how=f"sympy simplifies f(n') - 1/(1+gamma) to {sp.sstr(gap)} and decides its sign",
        chapter=6,
    )


@register(chapter=6)
def sparsity_all_pairs_dimension(*, wrong: bool = False) -> Certificate:
    r"""All :math:`\binom n2\le\frac{n^2}2` pairs are near-orthogonal when
    :math:`d=\frac2{\kappa^2}\ln\frac{n^2}{2\delta}`.

    The union bound over pairs needs :math:`\frac{n^2}{2}e^{-\kappa^2d/2}\le\delta`;
    sympy checks that this :math:`d` gives equality. ``wrong=True`` uses
    Chapter 3's single-query dimension :math:`\frac2{\kappa^2}\ln\frac n\delta`,
    which leaves :math:`\frac{n^2}{2}e^{-\kappa^2d/2}=\frac{n\delta}2\ne\delta`.

    Examples
    --------
    >>> from kvtheory.bounds import sparsity_all_pairs_dimension as cert
    >>> cert().holds, cert(wrong=True).holds
    (True, False)
    """
    arg = _n / _delta if wrong else _n**2 / (2 * _delta)
    d = 2 / _eps**2 * sp.log(arg)
    lhs = _n**2 / 2 * sp.exp(-_eps**2 * d / 2)
    holds = sympy_is_zero(sp.expand_log(lhs - _delta, force=True))
    frac = r"\frac{n}{\delta}" if wrong else r"\frac{n^2}{2\delta}"
    return Certificate(
        name="sparsity_all_pairs_dimension",
        statement=rf"d=\frac{{2}}{{\kappa^2}}\ln{frac}\ \Rightarrow\ "
                  r"\frac{n^2}{2}e^{-\kappa^2 d/2}=\delta",
        holds=holds,
        how="sympy.simplify of n^2/2 e^{-eps^2 d/2} - delta is 0" if holds
            else "sympy.simplify leaves a nonzero difference",
        chapter=6,
    )
