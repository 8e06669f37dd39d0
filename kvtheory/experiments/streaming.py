"""Experiments of Chapter 1: the exact cache, its memory, and stable softmax."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_int, check_rng
from ..attention import naive_softmax, softmax
from ..instances import benign
from ..stream import ExactCache, memory_trace

__all__ = ["exact_cache_memory", "exact_memory_curves",
           "softmax_stability_table", "ModelShape", "llama_param_count",
           "SMOLLM2_135M", "LLAMA3_8B", "MODEL_SHAPES", "cache_vs_weights"]


def exact_cache_memory(n: int, d: int, *, dtype=np.float64, every: int = 1,
                       seed=0) -> dict:
    """Stream ``n`` random tokens into an :class:`ExactCache` and record its bits.

    Nothing is computed from the formula: the ledger of the live cache is
    read (through :func:`kvtheory.stream.memory_trace`).

    Parameters
    ----------
    n : int
        Tokens streamed, ``1..200000``.
    d : int
        Head dimension, ``1..4096``.
    dtype : numpy dtype, default float64
        Precision the cache stores its numbers at.
    every : int, default 1
        Record after every ``every``-th token (and after the last).
    seed : int or numpy.random.Generator

    Returns
    -------
    dict
        ``steps`` (1-based token counts), ``bits`` (``memory_bits()`` after
        each recorded step), ``bits_per_number`` and ``d``.

    Raises
    ------
    TypeError, ValueError
        On a bad size; the message names the argument.

    Examples
    --------
    >>> from kvtheory.experiments.streaming import exact_cache_memory
    >>> rec = exact_cache_memory(10, 3, every=5)
    >>> rec["steps"].tolist(), rec["bits"].tolist()
    ([5, 10], [1984, 3904])
    """
    n = check_int(n, "n", lo=1, hi=200_000)
    d = check_int(d, "d", lo=1, hi=4096)
    every = check_int(every, "every", lo=1)
    cache = ExactCache(dtype=dtype)
    K, V = benign.gaussian(n, d, seed=seed, queries=False)
    trace = memory_trace([cache], K, V, np.union1d(np.arange(every, n + 1, every), [n]))
    return {"steps": trace["steps"], "bits": trace["bits"][0],
            "bits_per_number": cache.bits_per_number, "d": d}


def exact_memory_curves(n: int = 2000, ds=(16, 64, 128), *, bits_per_number: int = 64,
                        points: int = 50, seed=0) -> list[dict]:
    """The exact cache's measured memory against ``n``, one record per head dimension.

    Runs :func:`exact_cache_memory` for each ``d`` in ``ds`` at the dtype of
    ``bits_per_number`` bits, recording about ``points`` steps, and adds the
    words-based formula ``2 n d b`` at the same steps for comparison.

    Parameters
    ----------
    n : int, default 2000
        Tokens streamed, ``1..200000``.
    ds : sequence of int
        Head dimensions.
    bits_per_number : {16, 32, 64}
        Precision of the stored numbers.
    points : int, default 50
        About how many steps to record (every ``max(1, n // points)``-th).
    seed : int or numpy.random.Generator

    Returns
    -------
    list of dict
        The records of :func:`exact_cache_memory`, each with ``formula``
        (``2 * steps * d * bits_per_number``) added.

    Raises
    ------
    ValueError
        If ``bits_per_number`` is not 16, 32 or 64, or a size is out of range.

    Examples
    --------
    >>> from kvtheory.experiments.streaming import exact_memory_curves
    >>> rec = exact_memory_curves(n=40, ds=(4,), bits_per_number=16, points=4)[0]
    >>> rec["steps"].tolist(), (rec["bits"] - rec["formula"]).tolist()
    ([10, 20, 30, 40], [64, 64, 64, 64])
    """
    dtype = {16: np.float16, 32: np.float32, 64: np.float64}.get(bits_per_number)
    if dtype is None:
        raise ValueError(f"bits_per_number must be 16, 32 or 64, got {bits_per_number!r}")
    n = check_int(n, "n", lo=1, hi=200_000)
    points = check_int(points, "points", lo=1, hi=100_000)
    if isinstance(ds, (str, bytes)) or not hasattr(ds, "__iter__"):
        raise TypeError("ds must be a sequence of head dimensions")
    ds = [check_int(d, "ds[i]", lo=1, hi=4096) for d in ds]
    if not ds:
        raise ValueError("ds must not be empty")
    rng = check_rng(seed)
    out = []
    for d in ds:
        rec = exact_cache_memory(n, d, dtype=dtype, every=max(1, n // points), seed=rng)
        rec["formula"] = 2 * rec["steps"] * d * bits_per_number
        out.append(rec)
    return out


def softmax_stability_table(scale: float = 1e4) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Naive and stable softmax on score vectors of magnitude ``scale``.

    Returns rows ``(label, naive, stable)`` for large positive, large
    negative and mixed scores.
    """
    cases = [
        ("large positive", np.array([scale, scale - 1.0, scale - 2.0])),
        ("large negative", np.array([-scale, -scale - 1.0, -scale - 2.0])),
        ("mixed signs", np.array([scale, 0.0, -scale])),
    ]
    return [(label, naive_softmax(x), softmax(x)) for label, x in cases]


def llama_param_count(*, vocab: int, d_model: int, d_ff: int, n_layers: int, n_heads: int,
                      n_kv_heads: int, head_dim: int, tied: bool) -> int:
    """Number of weights of a Llama-architecture decoder, counted from its shape.

    Per layer: the query and output projections (``d_model x n_heads head_dim``
    each), the key and value projections (``d_model x n_kv_heads head_dim``
    each, grouped-query attention), the gated MLP (three ``d_model x d_ff``
    matrices) and two RMS-norm weight vectors; plus the token embedding, the
    final norm, and an output head unless it is tied to the embedding.

    Examples
    --------
    >>> from kvtheory.experiments.streaming import llama_param_count
    >>> llama_param_count(vocab=49152, d_model=576, d_ff=1536, n_layers=30, n_heads=9,
    ...                   n_kv_heads=3, head_dim=64, tied=True)
    134515008
    """
    sizes = {"vocab": vocab, "d_model": d_model, "d_ff": d_ff, "n_layers": n_layers,
             "n_heads": n_heads, "n_kv_heads": n_kv_heads, "head_dim": head_dim}
    sizes = {k: check_int(v, k, lo=1) for k, v in sizes.items()}
    dm, hd = sizes["d_model"], sizes["head_dim"]
    attn = 2 * dm * sizes["n_heads"] * hd + 2 * dm * sizes["n_kv_heads"] * hd
    layer = attn + 3 * dm * sizes["d_ff"] + 2 * dm
    embed = sizes["vocab"] * dm
    return sizes["n_layers"] * layer + dm + embed * (1 if tied else 2)


@dataclass(frozen=True)
class ModelShape:
    """The shape of a decoder that decides its KV-cache size and its weight count.

    Attributes
    ----------
    name : str
    n_layers : int
        Transformer layers :math:`L`.
    n_kv_heads : int
        Key/value heads per layer :math:`H` (grouped-query attention caches
        one key and one value per KV head, however many query heads share it).
    head_dim : int
        Head dimension :math:`d`.
    n_params : int
        Number of weights (from :func:`llama_param_count`).
    """

    name: str
    n_layers: int
    n_kv_heads: int
    head_dim: int
    n_params: int

    @property
    def kv_numbers_per_token(self) -> int:
        """Numbers the exact cache adds per token: :math:`2LHd` (a key and a value per head)."""
        return 2 * self.n_layers * self.n_kv_heads * self.head_dim

    def cache_bytes(self, n, *, bits_per_number: int = 16):
        r"""Bytes of the exact cache after ``n`` tokens: :math:`2LHd\,n\,b/8`."""
        return np.asarray(n, dtype=float) * self.kv_numbers_per_token * bits_per_number / 8

    def weight_bytes(self, *, bits_per_number: int = 16) -> float:
        """Bytes of the weights stored at ``bits_per_number`` bits each."""
        return self.n_params * bits_per_number / 8


#: SmolLM2-135M, the model of Chapter 10 (its GGUF metadata: 30 layers, 9 query
#: heads sharing 3 KV heads, head dimension 64, width 576, MLP 1536, vocabulary
#: 49152, tied embeddings; ``tests/test_notation.py`` checks these against the
#: file when the model package is installed).
SMOLLM2_135M = ModelShape("SmolLM2-135M", 30, 3, 64, llama_param_count(
    vocab=49152, d_model=576, d_ff=1536, n_layers=30, n_heads=9, n_kv_heads=3,
    head_dim=64, tied=True))

#: A Llama-3-8B-shaped model: 32 layers, 32 query heads sharing 8 KV heads,
#: head dimension 128, width 4096, MLP 14336, vocabulary 128256, untied output head.
LLAMA3_8B = ModelShape("Llama-3-8B", 32, 8, 128, llama_param_count(
    vocab=128256, d_model=4096, d_ff=14336, n_layers=32, n_heads=32, n_kv_heads=8,
    head_dim=128, tied=False))

#: The two shapes the book uses for real-scale numbers.
MODEL_SHAPES = (SMOLLM2_135M, LLAMA3_8B)


def cache_vs_weights(models=MODEL_SHAPES, *, n_min: int = 1024, n_max: int = 2**20,
                     points: int = 41, bits_per_number: int = 16) -> list[dict]:
    """KV-cache size against weight size at real context lengths, one record per model.

    Both are counted at ``bits_per_number`` bits per number (fp16 by default),
    one sequence, no batching.

    Parameters
    ----------
    models : sequence of ModelShape
    n_min, n_max : int
        Context lengths, log-spaced over ``[n_min, n_max]``.
    points : int, default 41
    bits_per_number : int, default 16

    Returns
    -------
    list of dict
        ``name``, ``n`` (context lengths), ``cache_bytes`` (array),
        ``weight_bytes``, ``bytes_per_token`` (of the cache) and
        ``n_equal`` (the context length at which the cache is as large as the
        weights).

    Examples
    --------
    >>> from kvtheory.experiments.streaming import cache_vs_weights
    >>> rec = cache_vs_weights(points=2)[1]
    >>> rec["name"], rec["bytes_per_token"], round(rec["n_equal"])
    ('Llama-3-8B', 131072, 122532)
    """
    n_min = check_int(n_min, "n_min", lo=1)
    n_max = check_int(n_max, "n_max", lo=n_min + 1)
    points = check_int(points, "points", lo=2, hi=10_000)
    bits_per_number = check_int(bits_per_number, "bits_per_number", lo=1, hi=64)
    models = list(models)
    if not models or not all(isinstance(m, ModelShape) for m in models):
        raise TypeError("models must be a non-empty sequence of ModelShape")
    n = np.unique(np.round(np.geomspace(n_min, n_max, points)).astype(np.int64))
    out = []
    for m in models:
        per_token = m.kv_numbers_per_token * bits_per_number // 8
        weights = m.weight_bytes(bits_per_number=bits_per_number)
        out.append({"name": m.name, "n": n,
                    "cache_bytes": m.cache_bytes(n, bits_per_number=bits_per_number),
                    "weight_bytes": weights, "bytes_per_token": per_token,
                    "n_equal": weights / per_token, "bits_per_number": bits_per_number})
    return out
