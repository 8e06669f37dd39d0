"""kvtheory: the limits of KV-cache compression, executable.

Streaming attention with honest bit accounting, the hard instances of the
lower-bound proofs, and sympy certificates of every bound. Start with
:class:`ExactCache`, :func:`run_stream` and :func:`attention`; the chapters of
the book walk through the rest.
"""

from . import (
                        algorithms,
                        bench,
                        bounds,
                        cellprobe,
                        communication,
                        experiments,
                        game,
                        geometry,
                        information,
                        instances,
                        viz,
                        widgets,
)
from .attention import (
                        additive_error,
                        attention,
                        causal_attention,
                        entrywise_error,
                        l2_error_ratio,
                        logsumexp,
                        naive_softmax,
                        softmax,
)
from .memory import WORD_BITS, MemoryLedger, float_bits
from .stream import KINDS, ExactCache, StreamingAttention, run_stream
from .tables import Table, table

__version__ = "0.1.0"

__all__ = [
    "algorithms", "bench", "bounds", "cellprobe", "communication", "experiments", "game",
    "geometry", "information", "instances", "viz", "widgets",
    "softmax", "naive_softmax", "logsumexp", "attention", "causal_attention",
    "entrywise_error", "additive_error", "l2_error_ratio",
    "WORD_BITS", "MemoryLedger", "float_bits",
    "KINDS", "StreamingAttention", "ExactCache", "run_stream",
    "Table", "table",
]
