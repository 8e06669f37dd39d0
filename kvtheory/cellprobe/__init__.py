r"""The cell-probe model of Chapter 8: reading a verbatim cache cell by cell.

The time lower bound speaks about algorithms that keep every token verbatim
and, at each step, *read* some cells of the stored :math:`K,V`. This package
makes that model executable, in four modules behind this one public face:

* :mod:`~kvtheory.cellprobe.oracle`: :class:`CellOracle`, the stored cache,
  handing out only the cells a reader pays for, one batch for a non-adaptive
  reader;
* :mod:`~kvtheory.cellprobe.planted`: the planted-cell distributions
  (:func:`sample_planted_value`, :func:`sample_planted_key`), the ceilings
  :func:`success_bound` and :func:`worst_case_bound`, and the insertion-time
  :data:`STRUCTURES` the model excludes;
* :mod:`~kvtheory.cellprobe.readers`: the readers, non-adaptive and adaptive,
  and :func:`make_reader`;
* :mod:`~kvtheory.cellprobe.run`: the :class:`Reader` interface, the output
  rule :func:`decode_view` and the runner :func:`run_reader`.

Import it as ``from kvtheory import cellprobe as cp``.

Examples
--------
>>> from kvtheory import cellprobe as cp
>>> batch = cp.sample_planted_value(64, 16, trials=2000, seed=0)
>>> run = cp.run_reader(cp.UniformCells(), batch, budget=512)
>>> f"{run.rate:.3f} vs ceiling {cp.success_bound(512, 64, 16):.3f}"
'0.748 vs ceiling 0.750'
"""

from .oracle import AdaptivityError, BudgetExceededError, CellOracle
from .planted import (
    PROBLEMS,
    STRUCTURES,
    PlantedCellBatch,
    build_structure,
    planted_key_scale,
    sample_planted_key,
    sample_planted_value,
    success_bound,
    worst_case_bound,
)
from .readers import (
    ADAPTIVE_READERS,
    NONADAPTIVE_READERS,
    AdaptiveScan,
    ArgmaxPointer,
    ColumnSampling,
    HedgedReader,
    KeyMaxScan,
    LSHBucketSearch,
    PointerRows,
    PrefixCells,
    RowSampling,
    SummaryReader,
    UniformCells,
    make_reader,
)
from .run import Reader, ReaderRun, decode_view, run_reader

__all__ = [
    "PROBLEMS", "STRUCTURES", "BudgetExceededError", "AdaptivityError", "CellOracle",
    "planted_key_scale", "success_bound", "worst_case_bound", "PlantedCellBatch",
    "sample_planted_value", "sample_planted_key", "build_structure", "decode_view",
    "Reader", "UniformCells", "RowSampling", "ColumnSampling", "PrefixCells", "HedgedReader",
    "PointerRows", "SummaryReader", "AdaptiveScan", "KeyMaxScan", "ArgmaxPointer",
    "LSHBucketSearch", "NONADAPTIVE_READERS", "ADAPTIVE_READERS", "make_reader",
    "ReaderRun", "run_reader",
]
