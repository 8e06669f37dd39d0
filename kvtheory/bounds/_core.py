"""The :class:`Certificate` record and the registry behind :func:`certificates`.

A certificate is one inequality or identity that a proof of the book uses,
checked symbolically with sympy. Every certificate function has the
signature ``f(*, wrong=False) -> Certificate``. With ``wrong=True`` it runs
*the same check* on a deliberately wrong variant of the statement (named in
theory notes: a reversed inequality, a missing factor); the tests assert that
the right statement holds and the wrong one does not, so no check in this
package can pass vacuously.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp

__all__ = ["Certificate", "SCOPES", "register", "certificates", "certificate_functions",
           "sympy_is_zero", "sympy_is_true"]


@dataclass(frozen=True)
class Certificate:
    """The outcome of checking one statement.

    Attributes
    ----------
    name : str
        A stable identifier, e.g. ``"softmax_shift_invariance"``.
    statement : str
        The statement in LaTeX.
    holds : bool
        Whether sympy established it (``False`` also when sympy could not
        decide: a certificate never claims more than was shown).
    how : str
        How it was checked (the sympy route, in a sentence).
    chapter : int
        The chapter whose proof uses it.
    scope : {"general", "spot check"}
        ``"general"``: sympy established the statement for every value of its
        symbols in the stated range (symbolic sizes included).
        ``"spot check"``: sympy checked it exactly, but only at the finitely
        many sizes named in ``how``; the proof's general step is argued in the
        book. The chapters print the scope beside the verdict.
    """

    name: str
    statement: str
    holds: bool
    how: str
    chapter: int
    scope: str = "general"

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {self.scope!r}")

    def __str__(self) -> str:
        verdict = "holds" if self.holds else "FAILS"
        tag = "" if self.scope == "general" else " (spot check)"
        return f"[{verdict}{tag}] {self.name}: {self.how}"

    def _repr_markdown_(self) -> str:
        verdict = "holds" if self.holds else "**fails**"
        tag = "" if self.scope == "general" else ", spot check"
        return f"{verdict}{tag}: ${self.statement}$ ({self.how})"


#: The two scopes a certificate can have (see :class:`Certificate`).
SCOPES = ("general", "spot check")


_REGISTRY: dict[str, tuple[int, Callable[..., Certificate]]] = {}


def register(chapter: int):
    """Decorator adding a certificate function to the book's registry."""
    def deco(func: Callable[..., Certificate]) -> Callable[..., Certificate]:
        name = func.__name__
        if name in _REGISTRY:
            raise ValueError(f"certificate {name!r} is registered twice")
        _REGISTRY[name] = (chapter, func)
        return func
    return deco


def certificate_functions(chapter: int | None = None) -> dict[str, Callable[..., Certificate]]:
    """The registered certificate functions, by name (optionally one chapter's)."""
    return {name: f for name, (ch, f) in sorted(_REGISTRY.items(), key=lambda kv: (kv[1][0], kv[0]))
            if chapter is None or ch == chapter}


def certificates(chapter: int | None = None) -> list[Certificate]:
    """Check and return every certificate of the book (or of one chapter).

    Examples
    --------
    >>> import kvtheory as kv
    >>> certs = kv.bounds.certificates(chapter=1)
    >>> all(c.holds for c in certs)
    True
    """
    if chapter is not None and (isinstance(chapter, bool) or not isinstance(chapter, int)):
        raise TypeError(f"chapter must be an integer or None, got {type(chapter).__name__}")
    return [f() for f in certificate_functions(chapter).values()]


def sympy_is_zero(expr) -> bool:
    """True only if sympy proves ``expr == 0`` (by ``simplify``)."""
    simplified = sp.simplify(expr)
    return bool(simplified == 0)


def sympy_is_true(rel) -> bool:
    """True only if sympy reduces the relation ``rel`` to ``True``."""
    return bool(sp.simplify(rel) is sp.true)
