"""Hard instances of the book's lower-bound proofs, and adversaries."""

from . import index, lowdim, nonadaptive, sparsity, window
from .index import run_index_protocol

__all__ = ["index", "run_index_protocol", "sparsity", "window", "lowdim", "nonadaptive"]
