r"""Certificates of Chapter 7: the unmasked-window update and the in-window bound.

The update identity is checked for symbolic sizes: for a fixed query with
scores :math:`s_t`, the numerator and denominator of :math:`U_{i+1}` arise
from those of :math:`U_i` by adding the new token and, once :math:`i\ge W`,
moving the leaving token :math:`i-W+1` from the weighted window sum
(weight :math:`e^{s_t}`) to the unweighted outside sum (weight 1). This is
the induction step of the exactness proof of the unmasked-window algorithm.
"""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = ["unmasked_window_update", "window_index_conditions"]


def _peel_last(S):
    """``Sum(f, (t, a, b))`` as ``Sum(f, (t, a, b - 1)) + f(b)`` (the definition of a sum)."""
    f, (t, a, b) = S.function, S.limits[0]
    return sp.Sum(f, (t, a, b - 1)) + f.subs(t, b)


def _peel_first(S):
    """``Sum(f, (t, a, b))`` as ``f(a) + Sum(f, (t, a + 1, b))``."""
    f, (t, a, b) = S.function, S.limits[0]
    return f.subs(t, a) + sp.Sum(f, (t, a + 1, b))


@register(chapter=7)
def unmasked_window_update(*, wrong: bool = False) -> Certificate:
    r"""One step of the unmasked-window algorithm, :math:`U_i\to U_{i+1}`, for all :math:`i, W`.

    With :math:`s_t, v_t` undefined functions of the position :math:`t` (so
    every score and value sequence at once), write the numerator and
    denominator of :math:`U_i` from the model's definition as sums with
    symbolic limits,
    :math:`N_i=\sum_{t=\max(1,i-W+1)}^{i}e^{s_t}v_t+\sum_{t=1}^{i-W}v_t`,
    :math:`D_i=\sum_{t=\max(1,i-W+1)}^{i}e^{s_t}+\max(0,i-W)`, and check
    two cases for symbolic integers.

    * :math:`i\ge W` (:math:`i=W+k`, :math:`k\ge0`, :math:`W\ge1`): with
      :math:`\ell=i-W+1` the leaving token,
      :math:`N_{i+1}=N_i-e^{s_\ell}v_\ell+v_\ell+e^{s_{i+1}}v_{i+1}` and
      :math:`D_{i+1}=D_i-e^{s_\ell}+1+e^{s_{i+1}}`.
    * :math:`1\le i<W` (:math:`W=i+1+j`, :math:`j\ge0`): nothing leaves,
      :math:`N_{i+1}=N_i+e^{s_{i+1}}v_{i+1}`, :math:`D_{i+1}=D_i+e^{s_{i+1}}`.

    Each sum's first or last term is split off (the definition of a finite
    sum; every sum involved has at least one term), and ``sympy.simplify``
    must reduce each difference to 0. ``wrong=True`` lets the leaving token
    keep its weight :math:`e^{s_\ell}` in the outside sum
    (:math:`N_{i+1}=N_i+e^{s_{i+1}}v_{i+1}` also for :math:`i\ge W`), which
    the same check refutes.

    Examples
    --------
    >>> from kvtheory.bounds import unmasked_window_update as cert
    >>> c = cert()
    >>> c.holds, c.scope, cert(wrong=True).holds
    (True, 'general', False)
    """
    t = sp.Symbol("t", integer=True)
    k, j = sp.symbols("k j", integer=True, nonnegative=True)
    W, i = sp.symbols("W i", integer=True, positive=True)
    s, v = sp.Function("s"), sp.Function("v")
    ev, e = sp.exp(s(t)) * v(t), sp.exp(s(t))

    # case i >= W: i = W + k; windows start at k + 1 (step i) and k + 2 (step i + 1)
    iw = W + k
    ell = k + 1
    num_i = _peel_first(sp.Sum(ev, (t, k + 1, iw))) + sp.Sum(v(t), (t, 1, k))
    den_i = _peel_first(sp.Sum(e, (t, k + 1, iw))) + k
    num_next = _peel_last(sp.Sum(ev, (t, k + 2, iw + 1))) + _peel_last(sp.Sum(v(t), (t, 1, k + 1)))
    den_next = _peel_last(sp.Sum(e, (t, k + 2, iw + 1))) + (k + 1)
    new_ev, new_e = ev.subs(t, iw + 1), e.subs(t, iw + 1)
    if wrong:
        num_upd, den_upd = num_i + new_ev, den_i + new_e
    else:
        num_upd = num_i - ev.subs(t, ell) + v(ell) + new_ev
        den_upd = den_i - e.subs(t, ell) + 1 + new_e
    late = sympy_is_zero(num_next - num_upd) and sympy_is_zero(den_next - den_upd)

    # case 1 <= i < W: W = i + 1 + j; both windows start at 1, nothing is outside
    num_i2, den_i2 = sp.Sum(ev, (t, 1, i)), sp.Sum(e, (t, 1, i))
    num_n2 = _peel_last(sp.Sum(ev, (t, 1, i + 1)))
    den_n2 = _peel_last(sp.Sum(e, (t, 1, i + 1)))
    early = (sympy_is_zero(num_n2 - (num_i2 + ev.subs(t, i + 1)))
             and sympy_is_zero(den_n2 - (den_i2 + e.subs(t, i + 1))))

    holds = bool(late and early)
    move = r"e^{s_\ell}v_\ell" if wrong else r"v_\ell"
    return Certificate(
        name="unmasked_window_update",
        statement=rf"i\ge W:\ N_{{i+1}}=N_i-e^{{s_\ell}}v_\ell+{move}+e^{{s_{{i+1}}}}v_{{i+1}},"
                  r"\ D_{i+1}=D_i-e^{s_\ell}+1+e^{s_{i+1}};\ "
                  r"i<W:\ N_{i+1}=N_i+e^{s_{i+1}}v_{i+1},\ D_{i+1}=D_i+e^{s_{i+1}}",
        holds=holds,
        how="sympy.simplify of N_{i+1} - update and D_{i+1} - update is 0 for symbolic "
            "i, W and sequences s, v, in both cases i >= W and i < W" if holds
            else f"sympy.simplify leaves a nonzero difference (case i >= W: "
                 f"{'0' if late else 'nonzero'}; case i < W: {'0' if early else 'nonzero'})",
        chapter=7,
    )


@register(chapter=7)
def window_index_conditions(*, wrong: bool = False) -> Certificate:
    r"""Chapter 3's conditions with :math:`n=W-1` tokens in one window.

    sympy solves :math:`(W-1)e^{-C(1-\kappa)}=\gamma` for :math:`C` and
    checks :math:`C=\frac{\ln(W-1)+\ln(1/\gamma)}{1-\kappa}`, and checks
    that :math:`d=\frac2{\kappa^2}\ln\frac{W-1}\delta` gives
    :math:`(W-1)e^{-\kappa^2d/2}=\delta`. ``wrong=True`` uses
    :math:`d=\frac1{\kappa^2}\ln\frac{W-1}\delta`, which leaves the
    left side :math:`\sqrt{(W-1)\delta}\ne\delta`.

    Examples
    --------
    >>> from kvtheory.bounds import window_index_conditions as cert
    >>> cert().holds, cert(wrong=True).holds
    (True, False)
    """
    Wm1, C, gamma, eps, delta = sp.symbols("w C gamma kappa delta", positive=True)
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
        statement=rf"n=W-1:\ C=\frac{{\ln(W-1)+\ln(1/\gamma)}}{{1-\kappa}},\ "
                  rf"d=\frac{{{num}}}{{\kappa^2}}\ln\frac{{W-1}}{{\delta}}\Rightarrow"
                  r"(W-1)e^{-\kappa^2d/2}=\delta",
        holds=holds,
        how="sympy.solve for C and sympy.simplify of the union bound at d" if holds
            else f"C condition {'holds' if c_ok else 'fails'}; the union bound at d "
                 f"{'holds' if d_ok else 'fails'}",
        chapter=7,
    )
