"""Experiment runners of the chapters: each returns plain records (dicts / arrays)."""

from . import communication, index, lowdim, nonadaptive, real, sparsity, streaming, subgen, window

__all__ = ["communication", "streaming", "index", "sparsity", "window", "nonadaptive", "lowdim",
           "subgen", "real"]
