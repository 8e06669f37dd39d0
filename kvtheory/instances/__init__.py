"""Hard instances of the book's lower-bound proofs, adversaries, and the benign streams
they are set against (:mod:`.benign`). Every hard instance can be turned into a
:class:`kvtheory.game.Instance` (``as_instance``) and played with :func:`kvtheory.game.play`."""

from . import benign, index, lowdim, sparsity, window
from .index import run_index_protocol

__all__ = ["benign", "index", "run_index_protocol", "sparsity", "window", "lowdim"]
