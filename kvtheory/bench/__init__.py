r"""The barrier benchmark: any KV-compression method against the proofs' hard instances.

Run every method at every memory budget on every instance, with the bits
counted exactly and the lower bound beside the result::

    import kvtheory as kv
    res = kv.bench.run_bench(n=256, d=24)
    print(res.table("err_additive_max", budget=0.03))
    kv.viz.bench.plot_bench(res)

or from the command line, ``python -m kvtheory bench --help``.

* :mod:`kvtheory.bench.instances`: the instance registry :data:`INSTANCES`;
* :mod:`kvtheory.bench.methods`: the method registry :data:`METHODS` (the
  library's only one: labels, citations, :func:`make_method` for a budget in
  kept tokens), the meaning of a bit budget, and loading a reader's method;
* :mod:`kvtheory.bench.runner`: :func:`run_bench` (isolation of failing
  methods, the ceiling as a referee, seeding; serial or on Dask);
* :mod:`kvtheory.bench.results`: the results schema, :class:`BenchResults`,
  :func:`read_results` and the provenance of a run.
"""

from .instances import (
    DEFAULT_INSTANCES,
    INSTANCES,
    BenchInstance,
    InstanceSpec,
    make_instance,
)
from .methods import (
    DEFAULT_METHODS,
    METHODS,
    MethodSpec,
    exact_bits,
    load_method,
    make_method,
    method_from_class,
)
from .results import COLUMNS, BenchResults, read_results
from .runner import (
    DEFAULT_BUDGETS,
    cell_seeds,
    exceeds_ceiling,
    local_cluster,
    run_bench,
    run_cell,
    score,
)

__all__ = ["INSTANCES", "DEFAULT_INSTANCES", "BenchInstance", "InstanceSpec", "make_instance",
           "METHODS",
           "DEFAULT_METHODS", "MethodSpec", "make_method", "exact_bits", "load_method",
           "method_from_class",
           "COLUMNS", "DEFAULT_BUDGETS", "BenchResults", "cell_seeds", "exceeds_ceiling",
           "local_cluster", "read_results", "run_bench", "run_cell", "score"]
