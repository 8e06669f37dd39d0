r"""The benchmark's methods, and how a memory budget picks each one's parameter.

**What a budget means.** A budget is a fraction :math:`f\in(0,1]` of the bits
of the exact cache on the same stream: ``budget_bits = floor(f * B_exact)``,
where :math:`B_{\rm exact}` is ``ExactCache().memory_bits()`` after the
stream's :math:`N` tokens, :math:`N(d+d_v)\cdot64+64` (float64 storage).

**How a parameter is chosen.** Every method has a grid of parameter settings
(sizes, bit widths, storage precisions). For each setting the method is
*dry-run*: a fresh instance absorbs :math:`N` standard Gaussian tokens of the
instance's shape and reports ``memory_bits()``. The benchmark uses the
setting with the largest dry-run memory not above ``budget_bits``; if no
setting fits, the cheapest one (and the result row says
``within_budget = false``). The memory *recorded* is always the one measured
on the real stream, never the dry run; for methods whose memory depends on
the data (SubGen's clusters) the dry run streams the instance's own tokens (seed 0)
instead, and the measured memory on other seeds may still differ:
``within_budget`` tells.

A reader's own method (:func:`method_from_class`) is used either through a
classmethod ``from_budget(budget_bits, n, d, d_v, seed)`` that returns an
instance, or, without one, as a fixed configuration (constructed with no
arguments, or with ``seed=`` if its constructor takes one) at every budget.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import algorithms as alg
from .._validate import check_int
from ..stream import ExactCache, StreamingAttention

__all__ = ["MethodSpec", "METHODS", "DEFAULT_METHODS", "exact_bits", "dry_run_bits",
           "method_from_class", "load_method"]

F16, F32 = np.float16, np.float32
_DT = {F16: "fp16", F32: "fp32", np.float64: "fp64"}


def _sizes(n: int) -> list[int]:
    out, x = [], 1
    while x <= n:
        out += [x] if x < 3 else [x, x + x // 2] if x + x // 2 <= n else [x]
        x *= 2
    return sorted(set(out))


@dataclass(frozen=True)
class MethodSpec:
    """A registry entry.

    Attributes
    ----------
    key : str
        Name used on the command line.
    family : str
        What the method leans on (one short phrase).
    make : callable
        ``make(param, seed) -> StreamingAttention``.
    grid : callable
        ``grid(n, d, d_v) -> list`` of parameter settings.
    describe : callable
        ``describe(param) -> str`` for the ``param`` column.
    from_budget : callable, optional
        ``from_budget(budget_bits, n, d, d_v, seed)``, used instead of the
        grid (readers' methods).
    data_dependent : bool
        Memory depends on the data, not only on the shape (SubGen): the
        dry run uses the instance's own tokens (seed 0) instead of Gaussian
        ones.
    """

    key: str
    family: str
    make: Callable[[Any, int], StreamingAttention]
    grid: Callable[[int, int, int], list]
    describe: Callable[[Any], str] = str
    from_budget: Callable | None = None
    data_dependent: bool = False


def _tokens_grid(n, d, d_v):
    return [(s, dt) for s in _sizes(n) for dt in (F16, F32)]


def _desc_size(label):
    return lambda p: f"{label}={p[0]}, {_DT[p[1]]}"


_SPECS = [
    MethodSpec("window", "recency", lambda p, s: alg.SlidingWindow(p[0], dtype=p[1]),
               _tokens_grid, _desc_size("W")),
    MethodSpec("sink", "recency + first tokens",
               lambda p, s: alg.SinkWindow(min(4, p[0]), p[0], dtype=p[1]),
               _tokens_grid, _desc_size("W")),
    MethodSpec("keynorm", "large keys matter", lambda p, s: alg.KeyNormEviction(p[0], dtype=p[1]),
               _tokens_grid, _desc_size("budget")),
    MethodSpec("h2o", "past attention predicts future attention",
               lambda p, s: alg.HeavyHitterEviction(p[0], dtype=p[1]),
               _tokens_grid, _desc_size("budget")),
    MethodSpec("tova", "the latest query predicts future attention",
               lambda p, s: alg.TOVAEviction(p[0], dtype=p[1]), _tokens_grid, _desc_size("budget")),
    MethodSpec("uniform", "many tokens matter a little",
               lambda p, s: alg.UniformSamplingEstimator(p[0], seed=s, dtype=p[1]),
               _tokens_grid, _desc_size("s")),
    MethodSpec("importance", "large keys and values matter",
               lambda p, s: alg.ImportanceSamplingEstimator(p[0], seed=s, dtype=p[1]),
               _tokens_grid, _desc_size("s")),
    MethodSpec("subgen", "keys cluster",
               lambda p, s: alg.SubGen(p[0], p[1], p[1], seed=s, dtype=F32),
               lambda n, d, dv: [(delta, t) for delta in (0.5, 1.0, 2.0, 4.0)
                                 for t in (2, 8, 32)],
               lambda p: f"delta={p[0]}, t=s={p[1]}", data_dependent=True),
    MethodSpec("quant", "entries need few bits",
               lambda p, s: alg.QuantizedCache(p), lambda n, d, dv: [1, 2, 3, 4, 6, 8, 12, 16],
               lambda p: f"bits={p}"),
    MethodSpec("signbit", "keys are signs, values bits",
               lambda p, s: alg.SignBitCache(capacity=p), lambda n, d, dv: _sizes(n),
               lambda p: f"capacity={p}"),
    MethodSpec("jl-keys", "scores survive projection",
               lambda p, s: alg.JLSketchCache(p[0], target="keys", seed=s, dtype=p[1]),
               lambda n, d, dv: [(m, dt) for m in _sizes(d) for dt in (F16, F32)],
               _desc_size("m")),
    MethodSpec("kivi", "entries need few bits; outlier channels",
               lambda p, s: alg.KIVICache(p[0], group=16, residual=p[1]),
               lambda n, d, dv: [(b, r) for b in (1, 2, 3, 4, 8) for r in (0, 16)],
               lambda p: f"bits={p[0]}, residual={p[1]}"),
    MethodSpec("qjl", "scores survive a sign sketch",
               lambda p, s: alg.QJLCache(p[0], value_bits=p[1], seed=s),
               lambda n, d, dv: [(m, vb) for m in (4, 8, 16, 32, 64, 128, 256)
                                 for vb in (1, 2, 4, 8)],
               lambda p: f"m={p[0]}, value_bits={p[1]}"),
    MethodSpec("rotation", "entries need few bits after rotation",
               lambda p, s: alg.RotatedQuantizedCache(p, seed=s),
               lambda n, d, dv: [1, 2, 3, 4, 6, 8, 12, 16], lambda p: f"bits={p}"),
    MethodSpec("lowrank", "keys and values are low-rank",
               lambda p, s: alg.LowRankCache(p[0], prefix=32, dtype=p[1]),
               lambda n, d, dv: [(r, dt) for r in _sizes(max(d, dv)) for dt in (F16, F32)],
               _desc_size("rank")),
    MethodSpec("exact", "nothing (the reference)", lambda p, s: ExactCache(p),
               lambda n, d, dv: [F16, F32, np.float64], lambda p: _DT[p]),
]

#: The method registry.
METHODS: dict[str, MethodSpec] = {s.key: s for s in _SPECS}

#: Methods run by default (all but the exact cache, which is the reference).
DEFAULT_METHODS: tuple[str, ...] = tuple(k for k in METHODS if k != "exact")

_DRY: dict = {}


def dry_run_bits(make: Callable[[], StreamingAttention], n: int, d: int, d_v: int,
                 key=None, data=None) -> int:
    """``memory_bits()`` of ``make()`` after ``n`` standard Gaussian tokens (seeded).

    Memoised on ``key`` when given. ``data=(K, V)`` streams those tokens
    instead (memoised on ``key`` and a hash of the data).

    Examples
    --------
    >>> import kvtheory as kv
    >>> from kvtheory.bench.methods import dry_run_bits
    >>> dry_run_bits(kv.ExactCache, 10, 4, 4)
    5184
    """
    if data is not None:
        K, V = (np.ascontiguousarray(a, dtype=np.float64) for a in data)
        if key is not None:
            key = (key, hashlib.sha1(K.tobytes() + V.tobytes()).hexdigest())
    if key is not None and (key, n, d, d_v) in _DRY:
        return _DRY[(key, n, d, d_v)]
    if data is None:
        rng = np.random.default_rng(12345)
        K = rng.standard_normal((n, d)) / np.sqrt(d)
        V = rng.standard_normal((n, d_v))
    a = make()
    for k, v in zip(K, V, strict=True):
        a.append(k, v)
    bits = int(a.memory_bits())
    if key is not None:
        _DRY[(key, n, d, d_v)] = bits
    return bits


def exact_bits(n: int, d: int, d_v: int) -> int:
    """Bits of the float64 exact cache after ``n`` tokens: the budgets' unit.

    Examples
    --------
    >>> from kvtheory.bench.methods import exact_bits
    >>> exact_bits(256, 24, 24) == 256 * 48 * 64 + 64
    True
    """
    n, d, d_v = (check_int(x, name, lo=1) for x, name in ((n, "n"), (d, "d"), (d_v, "d_v")))
    return dry_run_bits(ExactCache, n, d, d_v, key="exact/fp64")


def choose(spec: MethodSpec, budget_bits: int, n: int, d: int, d_v: int, data=None):
    """The grid setting of ``spec`` for ``budget_bits`` (see the module docstring).

    ``data=(K, V)``: the instance's tokens, used for the dry run of a
    ``data_dependent`` method. Among settings of equal memory the later one
    in the grid wins (the grids list more tokens at lower precision later).
    Returns ``(param, dry_run_bits)``.
    """
    best, cheapest = None, None
    use = data if spec.data_dependent else None
    for p in spec.grid(n, d, d_v):
        b = dry_run_bits(partial(spec.make, p, 0), n, d, d_v, key=(spec.key, repr(p)),
                         data=use)
        if cheapest is None or b < cheapest[1]:
            cheapest = (p, b)
        if b <= budget_bits and (best is None or b >= best[1]):
            best = (p, b)
    return best if best is not None else cheapest


def _takes_seed(cls) -> bool:
    try:
        return "seed" in inspect.signature(cls).parameters
    except (TypeError, ValueError):       # pragma: no cover
        return False


def method_from_class(cls, key: str | None = None) -> MethodSpec:
    """Wrap a reader's :class:`~kvtheory.StreamingAttention` subclass as a :class:`MethodSpec`.

    If ``cls`` has a ``from_budget(budget_bits, n, d, d_v, seed)`` classmethod
    it is called for each budget; otherwise ``cls()`` (or ``cls(seed=seed)``)
    is used at every budget.

    Raises
    ------
    TypeError
        If ``cls`` is not a StreamingAttention subclass.

    Examples
    --------
    >>> import kvtheory as kv
    >>> from kvtheory.bench.methods import method_from_class
    >>> method_from_class(kv.ExactCache).key
    'ExactCache'
    """
    if not (isinstance(cls, type) and issubclass(cls, StreamingAttention)):
        raise TypeError(f"method must be a StreamingAttention subclass, got {cls!r}")
    key = key or cls.__name__
    if hasattr(cls, "from_budget"):
        fb = cls.from_budget
        return MethodSpec(key, "reader's method", lambda p, s: cls(), lambda n, d, dv: [None],
                          lambda p: "from_budget", from_budget=fb)
    if _takes_seed(cls):
        return MethodSpec(key, "reader's method", lambda p, s: cls(seed=s),
                          lambda n, d, dv: [None], lambda p: "fixed")
    return MethodSpec(key, "reader's method", lambda p, s: cls(), lambda n, d, dv: [None],
                      lambda p: "fixed")


def load_method(spec: str) -> MethodSpec:
    """Load ``"module:Class"`` or ``"path/to/file.py:Class"`` as a :class:`MethodSpec`.

    Raises
    ------
    ValueError
        If ``spec`` is not of that form, the module or file cannot be loaded,
        or it has no such class.
    TypeError
        If the object is not a StreamingAttention subclass.

    Examples
    --------
    >>> from kvtheory.bench.methods import load_method
    >>> load_method("kvtheory.stream:ExactCache").key
    'ExactCache'
    >>> load_method("nosuchmodule:X")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --method nosuchmodule:X: cannot import module 'nosuchmodule' (...)
    """
    if not isinstance(spec, str) or spec.count(":") < 1:
        raise ValueError(f"--method must look like module:Class or file.py:Class, got {spec!r}")
    mod_name, _, cls_name = spec.rpartition(":")
    if not mod_name or not cls_name.isidentifier():
        raise ValueError(f"--method must look like module:Class or file.py:Class, got {spec!r}")
    if mod_name.endswith(".py") or "/" in mod_name or "\\" in mod_name:
        path = Path(mod_name).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"--method {spec}: no such file {str(path)!r}")
        name = f"kvtheory_user_{path.stem}_{abs(hash(str(path)))}"
        module = sys.modules.get(name)
        if module is None:
            imp = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(imp)
            sys.modules[name] = module
            try:
                imp.loader.exec_module(module)
            except Exception as exc:
                del sys.modules[name]
                raise ValueError(f"--method {spec}: error while loading {path.name}: "
                                 f"{type(exc).__name__}: {exc}") from exc
    else:
        try:
            module = importlib.import_module(mod_name)
        except Exception as exc:
            raise ValueError(f"--method {spec}: cannot import module {mod_name!r} ({exc})") from exc
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise ValueError(f"--method {spec}: module {mod_name!r} has no attribute {cls_name!r}")
    return method_from_class(cls)
