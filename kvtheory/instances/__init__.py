"""Hard instances of the book's lower-bound proofs, and adversaries."""

__all__: list[str] = []
