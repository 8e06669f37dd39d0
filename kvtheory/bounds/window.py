r"""Certificates of Chapter 7: the unmasked-window update and the in-window bound.

The update identity is checked on symbolic sequences: for a fixed query with
scores :math:`s_t`, the numerator and denominator of :math:`U_{i+1}` arise from
those of :math:`U_i` by moving the leaving token :math:`i-W+1` from the
weighted window sum (weight :math:`e^{s_t}`) to the unweighted outside sum
(weight 1) and adding the new token. This is the induction step of the
exactness proof of the unmasked-window algorithm.
"""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = ["unmasked_window_update", "window_index_conditions"]


def _U_parts(s, v, i, W):
    """Numerator and denominator of U_i (1-based i) for scores s and values v."""
    lo = max(1, i - W + 1)
    num = sum(sp.exp(s[t]) * v[t] for t in range(lo, i + 1)) + sum(v[t] for t in range(1, lo))
    den = sum(sp.exp(s[t]) for t in range(lo, i + 1)) + max(0, i - W)
    return num, den


@register(chapter=7)
def unmasked_window_update(*, wrong: bool = False, W: int = 3, i: int = 6) -> Certificate:
    r"""One step of the unmasked-window algorithm, :math:`U_i\to U_{i+1}` (W = 3, i = 6).

    With symbolic scores :math:`s_1..s_{i+1}` and values :math:`v_1..v_{i+1}`
    and :math:`\ell=i-W+1` the leaving token, sympy checks

    .. math::
        N_{i+1}=N_i-e^{s_\ell}v_\ell+v_\ell+e^{s_{i+1}}v_{i+1},\qquad
        D_{i+1}=D_i-e^{s_\ell}+1+e^{s_{i+1}},

    where :math:`N_i,D_i` are the numerator and denominator of :math:`U_i`
    written out from the model's definition. ``wrong=True`` lets the leaving token
    keep its weight :math:`e^{s_\ell}` in the outside sum
    (:math:`N_{i+1}=N_i+e^{s_{i+1}}v_{i+1}`, :math:`D_{i+1}=D_i+e^{s_{i+1}}`),
    which the same check refutes.

    Examples
    --------
    >>> from kvtheory.bounds import unmasked_window_update as cert
    >>> cert().holds, cert(wrong=True).holds
    (True, False)
    """
    s = [None] + list(sp.symbols(f"s1:{i + 2}", real=True))
    v = [None] + list(sp.symbols(f"v1:{i + 2}", real=True))
    num_i, den_i = _U_parts(s, v, i, W)
    num_next, den_next = _U_parts(s, v, i + 1, W)
    ell = i - W + 1
    if wrong:
        num_upd = num_i + sp.exp(s[i + 1]) * v[i + 1]
        den_upd = den_i + sp.exp(s[i + 1])
    else:
        num_upd = num_i - sp.exp(s[ell]) * v[ell] + v[ell] + sp.exp(s[i + 1]) * v[i + 1]
        den_upd = den_i - sp.exp(s[ell]) + 1 + sp.exp(s[i + 1])
    holds = sympy_is_zero(num_next - num_upd) and sympy_is_zero(den_next - den_upd)
    move = r"e^{s_\ell}v_\ell" if wrong else r"v_\ell"
    return Certificate(
        name="unmasked_window_update",
        statement=rf"N_{{i+1}}=N_i-e^{{s_\ell}}v_\ell+{move}+e^{{s_{{i+1}}}}v_{{i+1}}"
                  rf"\ (W={W},\ i={i})",
        holds=holds,
        how=f"sympy.simplify of N_{i + 1} - update and D_{i + 1} - update is 0 "
            f"(symbolic s, v; W={W}, i={i})" if holds
            else "sympy.simplify leaves a nonzero difference",
        chapter=7,
    )


@register(chapter=7)
def window_index_conditions(*, wrong: bool = False) -> Certificate:
    r"""Chapter 3's conditions with :math:`n=W-1` tokens in one window.

    sympy solves :math:`(W-1)e^{-C(1-\varepsilon)}=\gamma` for :math:`C` and
    checks :math:`C=\frac{\ln(W-1)+\ln(1/\gamma)}{1-\varepsilon}`, and checks
    that :math:`d=\frac2{\varepsilon^2}\ln\frac{W-1}\delta` gives
    :math:`(W-1)e^{-\varepsilon^2d/2}=\delta`. ``wrong=True`` uses
    :math:`d=\frac1{\varepsilon^2}\ln\frac{W-1}\delta`, which leaves the
    left side :math:`\sqrt{(W-1)\delta}\ne\delta`.

    Examples
    --------
    >>> from kvtheory.bounds import window_index_conditions as cert
    >>> cert().holds, cert(wrong=True).holds
    (True, False)
    """
    Wm1, C, gamma, eps, delta = sp.symbols("w C gamma epsilon delta", positive=True)
    sol = sp.solve(sp.Eq(Wm1 * sp.exp(-C * (1 - eps)), gamma), C)
    target_C = (sp.log(Wm1) + sp.log(1 / gamma)) / (1 - eps)
    c_ok = len(sol) == 1 and sympy_is_zero(sp.expand_log(sol[0] - target_C, force=True))
    factor = 1 if wrong else 2
    d = factor / eps**2 * sp.log(Wm1 / delta)
    lhs = Wm1 * sp.exp(-eps**2 * d / 2)
    d_ok = sympy_is_zero(sp.expand_log(lhs - delta, force=True))
    holds = bool(c_ok and d_ok)
    num = "1" if wrong else "2"
    return Certificate(
        name="window_index_conditions",
        statement=rf"n=W-1:\ C=\frac{{\ln(W-1)+\ln(1/\gamma)}}{{1-\varepsilon}},\ "
                  rf"d=\frac{{{num}}}{{\varepsilon^2}}\ln\frac{{W-1}}{{\delta}}\Rightarrow"
                  r"(W-1)e^{-\varepsilon^2d/2}=\delta",
        holds=holds,
        how="sympy.solve for C and sympy.simplify of the union bound at d" if holds
            else f"C condition {'holds' if c_ok else 'fails'}; the union bound at d "
                 f"{'holds' if d_ok else 'fails'}",
        chapter=7,
    )
