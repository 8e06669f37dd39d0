"""Experiment runners of the chapters: each returns plain records (dicts / arrays)."""

from . import (
    balance,
    cellprobe,
    communication,
    index,
    lowdim,
    real,
    sparsity,
    streaming,
    subgen,
    window,
)

__all__ = ["communication", "streaming", "index", "sparsity", "window", "cellprobe", "lowdim",
           "subgen", "real", "balance"]
