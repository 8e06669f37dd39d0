"""Certificates of Chapter 1: properties of softmax the stable form relies on."""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = ["softmax_shift_invariance"]


def _softmax(xs):
    e = [sp.exp(x) for x in xs]
    total = sum(e)
    return [ei / total for ei in e]


@register(chapter=1)
def softmax_shift_invariance(*, wrong: bool = False) -> Certificate:
    r"""Softmax is unchanged by adding a constant to every score.

    This is what licenses the max-shift: subtracting :math:`m=\max_t x_t`
    changes nothing but keeps every exponent :math:`\le 0`. Checked for a
    symbolic :math:`x\in\mathbb R^3` and :math:`c\in\mathbb R`.

    ``wrong=True`` checks the false claim
    :math:`\mathrm{softmax}(cx)=\mathrm{softmax}(x)` (scaling is not
    harmless: it changes the temperature).

    Examples
    --------
    >>> from kvtheory.bounds import softmax_shift_invariance
    >>> softmax_shift_invariance().holds, softmax_shift_invariance(wrong=True).holds
    (True, False)
    """
    xs = sp.symbols("x1:4", real=True)
    c = sp.Symbol("c", real=True)
    moved = [c * x for x in xs] if wrong else [x + c for x in xs]
    holds = all(sympy_is_zero(a - b) for a, b in zip(_softmax(moved), _softmax(xs), strict=True))
    op = r"c\,x" if wrong else r"x + c\mathbf 1"
    return Certificate(
        name="softmax_shift_invariance",
        statement=rf"\mathrm{{softmax}}({op}) = \mathrm{{softmax}}(x),\ x\in\mathbb R^3",
        holds=holds,
        how="sympy.simplify of each coordinate's difference is 0" if holds
            else "sympy.simplify leaves a nonzero difference",
        chapter=1,
    )
