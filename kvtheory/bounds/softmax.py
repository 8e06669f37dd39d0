"""Certificates of Chapter 1: properties of softmax the stable form relies on."""

from __future__ import annotations

import sympy as sp

from ._core import Certificate, register, sympy_is_zero

__all__ = ["softmax_shift_invariance"]


def _softmax_coordinate(move):
    """Coordinate 1 of softmax of ``(move(x_1), ..., move(x_n))`` for symbolic ``n``."""
    n = sp.Symbol("n", integer=True, positive=True)
    t = sp.Symbol("t", integer=True, positive=True)
    x = sp.IndexedBase("x", real=True)
    return sp.exp(move(x[1])) / sp.Sum(sp.exp(move(x[t])), (t, 1, n))


def _proved_zero(expr) -> bool:
    """``sympy_is_zero`` of the expanded expression; sympy failing counts as not proved."""
    try:
        return sympy_is_zero(sp.expand(expr))
    except Exception:                    # noqa: BLE001 - undecided is never a proof
        return False


@register(chapter=1)
def softmax_shift_invariance(*, wrong: bool = False) -> Certificate:
    r"""Softmax is unchanged by adding a constant to every score.

    This is what licenses the max-shift: subtracting :math:`m=\max_t x_t`
    changes nothing but keeps every exponent :math:`\le 0`. Checked for
    :math:`x\in\mathbb R^n` with symbolic :math:`n` (the denominator a
    symbolic sum :math:`\sum_{t=1}^n`) and :math:`c\in\mathbb R`, on the
    first coordinate, which stands for every coordinate by symmetry.

    ``wrong=True`` checks the false claim
    :math:`\mathrm{softmax}(cx)=\mathrm{softmax}(x)` (scaling is not
    harmless: it changes the temperature).

    Examples
    --------
    >>> from kvtheory.bounds import softmax_shift_invariance
    >>> softmax_shift_invariance().holds, softmax_shift_invariance(wrong=True).holds
    (True, False)
    """
    c = sp.Symbol("c", real=True)
    move = (lambda z: c * z) if wrong else (lambda z: z + c)
    holds = _proved_zero(_softmax_coordinate(move) - _softmax_coordinate(lambda z: z))
    op = r"c\,x" if wrong else r"x + c\mathbf 1"
    return Certificate(
        name="softmax_shift_invariance",
        statement=rf"\mathrm{{softmax}}({op}) = \mathrm{{softmax}}(x),\ x\in\mathbb R^n",
        holds=holds,
        how="sympy: e^(x_1+c) / sum_t e^(x_t+c) - e^(x_1) / sum_t e^(x_t) simplifies to 0 "
            "for symbolic n" if holds
            else "sympy does not reduce the difference to 0 for symbolic n",
        chapter=1,
    )
