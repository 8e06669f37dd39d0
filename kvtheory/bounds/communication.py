r"""Certificates of Chapter 2: the facts about binary entropy the INDEX bound uses.

The proof of the one-way INDEX bound (:math:`S` bits force error
:math:`\ge H_2^{-1}(1-S/N)`) needs: :math:`H_2` is strictly concave
(:func:`binary_entropy_concave`), hence Jensen's step
:math:`\frac1N\sum_j H_2(p_j)\le H_2(\bar p)` (:func:`index_jensen_step`);
:math:`H_2` is increasing on :math:`[0,\frac12]` with :math:`H_2(\frac12)=1`,
so :math:`1-H_2` is positive and decreasing there
(:func:`one_minus_entropy_positive_decreasing`) and the bound can be solved
for the error (:func:`index_bound_rearranged`). Finally
:math:`H_2(u/2)\ge u` (:func:`entropy_half_chord`) shows that sending plain
bits never beats the bound.

Each function takes ``wrong=True`` to run the same sympy check on a
deliberately wrong variant, which must fail.
"""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = ["binary_entropy_concave", "one_minus_entropy_positive_decreasing",
           "entropy_half_chord", "index_jensen_step", "index_bound_rearranged"]


def _H2(x, *, wrong_sign: bool = False):
    """Binary entropy in bits as a sympy expression (``wrong_sign`` flips it)."""
    h = -(x * sp.log(x) + (1 - x) * sp.log(1 - x)) / sp.log(2)
    return -h if wrong_sign else h


def _is_negative(expr) -> bool:
    """True only if sympy decides that ``expr`` is negative (undecided counts as False)."""
    return sp.simplify(expr).is_negative is True


def _is_positive(expr) -> bool:
    """True only if sympy decides that ``expr`` is positive (undecided counts as False)."""
    return sp.simplify(expr).is_positive is True


@register(chapter=2)
def binary_entropy_concave(*, wrong: bool = False) -> Certificate:
    r"""Strict concavity of binary entropy: :math:`H_2''(p)<0` on :math:`(0,1)`.

    sympy differentiates :math:`H_2` twice, substitutes
    :math:`p=u/(1+u)` (a bijection :math:`(0,\infty)\to(0,1)`) with
    :math:`u>0`, and decides the sign of the result, which simplifies to
    :math:`-(1+u)^2/(u\ln 2)`.

    ``wrong=True`` checks convexity, :math:`H_2''>0`, by the same route.

    Examples
    --------
    >>> from kvtheory.bounds import binary_entropy_concave
    >>> binary_entropy_concave().holds, binary_entropy_concave(wrong=True).holds
    (True, False)
    """
    p = sp.Symbol("p", positive=True)
    u = sp.Symbol("u", positive=True)
    second = sp.simplify(sp.diff(_H2(p), p, 2))
    on_interval = second.subs(p, u / (1 + u))
    holds = _is_negative(-on_interval if wrong else on_interval)
    rel = ">" if wrong else "<"
    return Certificate(
        name="binary_entropy_concave",
        statement=rf"H_2''(p) = -\frac{{1}}{{p(1-p)\ln 2}} {rel} 0 \text{{ on }} (0,1)",
        holds=holds,
        how=f"sympy: H2'' at p = u/(1+u), u > 0, simplifies to {sp.simplify(on_interval)}"
            + ("" if holds else ", whose sign is not the claimed one"),
        chapter=2,
    )


@register(chapter=2)
def one_minus_entropy_positive_decreasing(*, wrong: bool = False) -> Certificate:
    r""":math:`1-H_2` is positive and decreasing on :math:`(0,\frac12)`; :math:`1-H_2(0.1)=0.531`.

    Three sympy checks: (i) :math:`\frac{d}{dp}(1-H_2(p))=\log_2\frac{p}{1-p}`
    is negative at :math:`p=1/(2+u)`, :math:`u>0` (every point of
    :math:`(0,\frac12)`); (ii) :math:`1-H_2(\frac12)=0`, so by (i)
    :math:`1-H_2(p)>1-H_2(\frac12)=0` on :math:`(0,\frac12)`; (iii) the value
    at :math:`0.1` rounds to :math:`0.531`.

    ``wrong=True`` runs the same checks on :math:`1+H_2` (entropy written
    with the wrong sign, :math:`p\log_2p+(1-p)\log_2(1-p)`), which is
    increasing and equals :math:`1.469` at :math:`0.1`.

    Examples
    --------
    >>> from kvtheory.bounds import one_minus_entropy_positive_decreasing as cert
    >>> cert().holds, cert(wrong=True).holds
    (True, False)
    """
    p = sp.Symbol("p", positive=True)
    u = sp.Symbol("u", positive=True)
    g = 1 - _H2(p, wrong_sign=wrong)
    slope = sp.diff(g, p).subs(p, 1 / (2 + u))
    decreasing = _is_negative(slope)
    zero_at_half = sympy_is_zero(g.subs(p, sp.Rational(1, 2)))
    value = float(sp.N(g.subs(p, sp.Rational(1, 10)), 15))
    value_ok = round(value, 3) == 0.531
    holds = decreasing and zero_at_half and value_ok
    return Certificate(
        name="one_minus_entropy_positive_decreasing",
        statement=r"1-H_2(p) > 0,\ \tfrac{d}{dp}(1-H_2(p)) < 0 \text{ on } (0,\tfrac12),\ "
                  r"1-H_2(0.1) = 0.531",
        holds=holds,
        how=(f"sympy: derivative at p = 1/(2+u) negative: {decreasing}; "
             f"1 - H2(1/2) = 0: {zero_at_half}; value at 0.1 = {value:.3f}"),
        chapter=2,
    )


@register(chapter=2)
def entropy_half_chord(*, wrong: bool = False) -> Certificate:
    r""":math:`H_2(u/2)\ge u` for :math:`u\in[0,1]`.

    With :math:`f(u)=H_2(u/2)-u`: sympy shows :math:`f(0)=f(1)=0` (a limit
    at 0) and :math:`f''<0` on :math:`(0,1)` (at :math:`u=t/(1+t)`,
    :math:`t>0`). A strictly concave function that vanishes at both ends of
    an interval is positive inside it. Consequence:
    :math:`H_2^{-1}(h)\le h/2`, so sending :math:`S` plain bits (error
    :math:`\frac12(1-S/N)`) never beats :math:`H_2^{-1}(1-S/N)`.

    ``wrong=True`` runs the same three checks on :math:`f(u)=u-H_2(u/2)`
    (the claim :math:`H_2(u/2)\le u`): the ends still vanish but the
    second derivative is positive, so the check fails.

    Examples
    --------
    >>> from kvtheory.bounds import entropy_half_chord
    >>> entropy_half_chord().holds, entropy_half_chord(wrong=True).holds
    (True, False)
    """
    v = sp.Symbol("u", positive=True)
    t = sp.Symbol("t", positive=True)
    f = _H2(v / 2) - v
    if wrong:
        f = -f
    left = sp.limit(f, v, 0, "+")
    right = sp.simplify(f.subs(v, 1))
    ends_zero = bool(left == 0) and sympy_is_zero(right)
    concave = _is_negative(sp.diff(f, v, 2).subs(v, t / (1 + t)))
    holds = ends_zero and concave
    rel = r"\le" if wrong else r"\ge"
    return Certificate(
        name="entropy_half_chord",
        statement=rf"H_2(u/2) {rel} u \text{{ for }} u\in[0,1]",
        holds=holds,
        how=(f"sympy: f = {'u - H2(u/2)' if wrong else 'H2(u/2) - u'} vanishes at 0 and 1: "
             f"{ends_zero}; f'' < 0 on (0,1): {concave}"),
        chapter=2,
    )


@register(chapter=2)
def index_jensen_step(*, wrong: bool = False) -> Certificate:
    r"""Jensen's step of the INDEX proof: :math:`\frac1N\sum_j H_2(p_j)\le H_2(\bar p)`.

    It is enough to show that :math:`H_2` lies above each of its chords
    (the :math:`N`-point form follows by induction on :math:`N`). For
    :math:`a,b\in(0,1)` let
    :math:`\varphi(t)=H_2((1-t)a+tb)-(1-t)H_2(a)-tH_2(b)`. Then
    :math:`\varphi(0)=\varphi(1)=0`, and sympy proves the identity
    :math:`\varphi''(t)=-(b-a)^2/(x(1-x)\ln 2)` with
    :math:`x=(1-t)a+tb\in(0,1)`, so :math:`\varphi''\le0` and
    :math:`\varphi\ge0` on :math:`[0,1]`.

    ``wrong=True`` runs the same checks for the convex direction
    (:math:`\frac1N\sum_jH_2(p_j)\ge H_2(\bar p)`, i.e. :math:`-\varphi`);
    the identity then fails.

    Examples
    --------
    >>> from kvtheory.bounds import index_jensen_step
    >>> index_jensen_step().holds, index_jensen_step(wrong=True).holds
    (True, False)
    """
    a, b = sp.symbols("a b", positive=True)
    t = sp.Symbol("t", real=True)
    x = (1 - t) * a + t * b
    phi = _H2(x) - (1 - t) * _H2(a) - t * _H2(b)
    if wrong:
        phi = -phi
    ends = sympy_is_zero(phi.subs(t, 0)) and sympy_is_zero(phi.subs(t, 1))
    claimed = -(b - a) ** 2 / (x * (1 - x) * sp.log(2))
    identity = sympy_is_zero(sp.diff(phi, t, 2) - claimed)
    holds = ends and identity
    rel = r"\ge" if wrong else r"\le"
    return Certificate(
        name="index_jensen_step",
        statement=rf"\frac1N\sum_{{j}} H_2(p_j) {rel} H_2\Big(\frac1N\sum_j p_j\Big)",
        holds=holds,
        how=(f"sympy: chord gap phi vanishes at t = 0, 1: {ends}; "
             f"phi'' = -(b-a)^2/(x(1-x) ln 2) <= 0: {identity}"),
        chapter=2,
    )


@register(chapter=2)
def index_bound_rearranged(*, wrong: bool = False) -> Certificate:
    r"""Solving the bound for the error: :math:`S\ge(1-H_2(p))N\iff p\ge H_2^{-1}(1-S/N)`.

    For :math:`p\in[0,\frac12]`. Two sympy checks: (i)
    ``reduce_inequalities`` turns :math:`(1-h)N\le S` (with :math:`N>0`)
    into :math:`h\ge 1-S/N`; (ii) :math:`H_2'(p)=\log_2\frac{1-p}{p}` is
    positive at :math:`p=1/(2+u)`, :math:`u>0`, i.e. on all of
    :math:`(0,\frac12)`, so :math:`H_2(p)\ge 1-S/N` iff
    :math:`p\ge H_2^{-1}(1-S/N)` with the inverse on :math:`[0,\frac12]`.

    ``wrong=True`` takes the inverse on the other branch
    :math:`[\frac12,1]` (check (ii) at :math:`p=1-1/(2+u)`), where
    :math:`H_2` decreases and the rearrangement is invalid.

    Examples
    --------
    >>> from kvtheory.bounds import index_bound_rearranged
    >>> index_bound_rearranged().holds, index_bound_rearranged(wrong=True).holds
    (True, False)
    """
    S, N = sp.symbols("S N", positive=True)
    h = sp.Symbol("h", real=True)
    p = sp.Symbol("p", positive=True)
    u = sp.Symbol("u", positive=True)
    solved = sp.reduce_inequalities((1 - h) * N <= S, [h])
    algebra = (isinstance(solved, sp.GreaterThan) and solved.lhs == h
               and sympy_is_zero(solved.rhs - (1 - S / N)))
    point = 1 - 1 / (2 + u) if wrong else 1 / (2 + u)
    increasing = _is_positive(sp.diff(_H2(p), p).subs(p, point))
    holds = algebra and increasing
    branch = r"[\tfrac12,1]" if wrong else r"[0,\tfrac12]"
    return Certificate(
        name="index_bound_rearranged",
        statement=(rf"S \ge (1-H_2(p))N \iff p \ge H_2^{{-1}}(1-S/N),\ "
                   rf"H_2^{{-1}}\text{{ on }}{branch}"),
        holds=holds,
        how=(f"sympy: (1-h)N <= S reduces to h >= 1 - S/N: {algebra}; "
             f"H2 increasing on the branch: {increasing}"),
        chapter=2,
    )
