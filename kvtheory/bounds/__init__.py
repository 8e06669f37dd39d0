r"""Symbolic certificates of every inequality the book's proofs use.

``kvtheory.bounds.certificates()`` checks them all and returns a list of
:class:`Certificate` records; ``certificates(chapter=k)`` restricts to one
chapter. Each certificate function also accepts ``wrong=True``, which runs the
same check on a deliberately wrong variant that must fail.
"""

from ._core import (Certificate, certificate_functions, certificates, register,
                    sympy_is_true, sympy_is_zero)
from .softmax import softmax_shift_invariance

__all__ = ["Certificate", "certificates", "certificate_functions", "register",
           "sympy_is_zero", "sympy_is_true", "softmax_shift_invariance"]
