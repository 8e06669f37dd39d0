"""A small text corpus shipped with kvtheory, written for the book.

The passages are original prose, released with the project (no third-party
text), so the book's experiments on real KV caches run offline.

* ``lighthouses``: an expository essay on the history of lighthouses;
* ``orchard``: a short story.
"""

from __future__ import annotations

from importlib import resources

from .._validate import check_choice

__all__ = ["TEXTS", "load_text", "load_corpus"]

#: Names of the shipped texts, in corpus order.
TEXTS = ("lighthouses", "orchard")


def load_text(name: str) -> str:
    """The text ``name`` (one of :data:`TEXTS`).

    Raises
    ------
    ValueError
        If ``name`` is not a shipped text.

    Examples
    --------
    >>> from kvtheory.data import load_text
    >>> load_text("lighthouses").splitlines()[0]
    'The Keepers of the Light'
    """
    check_choice(name, "name", set(TEXTS))
    return resources.files(__package__).joinpath(f"{name}.txt").read_text(encoding="utf-8")


def load_corpus() -> str:
    """All shipped texts joined by blank lines, in the order of :data:`TEXTS`.

    Examples
    --------
    >>> from kvtheory.data import load_corpus
    >>> len(load_corpus().split()) > 1500
    True
    """
    return "\n\n".join(load_text(t).strip() for t in TEXTS)
