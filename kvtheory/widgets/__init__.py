"""ipywidgets front ends over :mod:`kvtheory.viz` (need a live kernel)."""

from ._core import figure_widget
from .balance import balance_widget
from .bench import bench_widget
from .cellprobe import cellprobe_widget
from .communication import index_protocol_widget
from .index import barrier_widget
from .lowdim import lowdim_widget
from .real import real_head_widget
from .sparsity import eviction_widget
from .streaming import exact_memory_widget
from .subgen import subgen_widget
from .window import window_widget

__all__ = ["figure_widget", "exact_memory_widget", "index_protocol_widget",
           "barrier_widget", "eviction_widget",
           "window_widget", "cellprobe_widget", "lowdim_widget",
           "subgen_widget", "real_head_widget", "bench_widget", "balance_widget"]
