"""Pure plotting functions: each returns a :class:`matplotlib.figure.Figure`."""

from . import (
    balance,
    bench,
    cellprobe,
    communication,
    diagrams,
    explore,
    index,
    lowdim,
    real,
    sparsity,
    streaming,
    subgen,
    window,
)
from ._style import BOOK_RC, PALETTE, new_figure
from .balance import (
    plot_balance_explorer,
    plot_balance_index,
    plot_balance_rates,
    plot_error_vs_R,
    plot_walk_discrepancy,
)
from .bench import plot_bench, plot_bench_bars, plot_bench_families
from .cellprobe import plot_nonadaptive_success, plot_reader_budget, plot_worst_case
from .communication import plot_index_protocols, plot_protocol_curve
from .diagrams import (
    draw_cellprobe_reader,
    draw_index_protocol,
    draw_index_stream,
    draw_subgen,
    draw_unmasked_window,
    draw_worked_decode,
)
from .explore import explorer
from .index import plot_barrier, plot_coherence, plot_decode_vs_d
from .lowdim import plot_flattening, plot_query_norm_budget, plot_sign_codes
from .sparsity import plot_eviction_vs_budget, plot_needle_game, plot_top1_profile
from .streaming import plot_cache_vs_weights, plot_exact_memory
from .subgen import (
    plot_cluster_counts,
    plot_error_rates,
    plot_index_instance,
    plot_memory_vs_n,
    plot_subgen_overview,
)
from .window import plot_window_explorer, plot_window_index, plot_window_memory

__all__ = ["BOOK_RC", "PALETTE", "new_figure", "streaming", "plot_exact_memory",
           "plot_cache_vs_weights",
           "communication", "plot_index_protocols", "plot_protocol_curve",
           "index", "plot_decode_vs_d", "plot_coherence", "plot_barrier",
           "sparsity", "plot_top1_profile", "plot_eviction_vs_budget", "plot_needle_game",
           "window", "plot_window_memory", "plot_window_index", "plot_window_explorer",
           "cellprobe", "plot_nonadaptive_success", "plot_reader_budget", "plot_worst_case",
           "lowdim", "plot_sign_codes", "plot_flattening", "plot_query_norm_budget",
           "subgen", "plot_cluster_counts", "plot_error_rates", "plot_memory_vs_n",
           "plot_index_instance", "plot_subgen_overview", "real",
           "balance", "plot_walk_discrepancy", "plot_balance_rates", "plot_error_vs_R",
           "plot_balance_index", "plot_balance_explorer",
           "bench", "plot_bench", "plot_bench_bars", "plot_bench_families", "explore", "explorer",
           "diagrams", "draw_index_protocol", "draw_index_stream", "draw_subgen",
           "draw_unmasked_window", "draw_cellprobe_reader", "draw_worked_decode"]
