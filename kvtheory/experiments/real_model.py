r"""Chapter 10's runs of the language model itself: greedy samples, the
precision check, and the check that the extracted queries, keys and values
reproduce the model's own attention outputs.

Part of :mod:`kvtheory.experiments.real` (which re-exports every name here);
only these functions need the model (the ``real`` extra).
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int
from ..attention import causal_attention

__all__ = ["DEFAULT_PROMPTS", "corpus_kv", "greedy_samples", "precision_check",
           "attention_reproduction"]


#: The prompts whose greedy continuations the chapter shows.
DEFAULT_PROMPTS = (
    "Photosynthesis is the process by which",
    "Once upon a time, there was a little",
    "A good night of sleep helps",
)


def corpus_kv(max_tokens: int = 1024, *, use_cache: bool = True):
    """The K/V cache of the shipped corpus (:func:`kvtheory.data.load_corpus`).

    Returns a :class:`kvtheory.real.RealKV` of the first ``max_tokens``
    tokens; cached on disk after the first call.
    """
    from ..data import load_corpus
    from ..real import extract_kv

    return extract_kv(load_corpus(), max_tokens=max_tokens, use_cache=use_cache)


def greedy_samples(prompts=DEFAULT_PROMPTS, max_new_tokens: int = 20, *,
                   use_cache: bool = True) -> list[tuple[str, str]]:
    """``(prompt, greedy continuation)`` for each prompt (float32 model)."""
    from ..real import generate

    if isinstance(prompts, str):
        raise TypeError("prompts must be a sequence of strings, not one string")
    return [(p, generate(p, max_new_tokens, use_cache=use_cache)) for p in prompts]


def precision_check(text: str | None = None, *, n_tokens: int = 64,
                    use_cache: bool = True) -> dict:
    r"""Next-token distributions of the float32 and float64 passes, compared.

    Runs the model on the first ``n_tokens`` tokens of ``text`` (default: the
    corpus) in both precisions and compares the distributions
    :math:`p^{32}_i,p^{64}_i` of the next token at every position ``i``.

    Returns
    -------
    dict
        ``n`` positions; ``max_abs_dp`` :math:`=\max_{i,x}|p^{32}_i(x)-p^{64}_i(x)|`;
        ``max_kl`` :math:`=\max_i \mathrm{KL}(p^{64}_i\,\|\,p^{32}_i)` in nats;
        ``argmax_agree`` the fraction of positions with the same most likely token;
        ``max_abs_dlogit``.
    """
    from ..data import load_corpus
    from ..real import load_model, load_tokenizer, model_hash
    from ..real.cache import cache_key, cache_load, cache_save

    text = load_corpus() if text is None else text
    if not isinstance(text, str) or not text:
        raise TypeError("text must be a non-empty str")
    n_tokens = check_int(n_tokens, "n_tokens", lo=1, hi=1024)
    key = cache_key("prec", model=model_hash(), text=text, n_tokens=n_tokens)
    hit = cache_load("prec", key) if use_cache else None
    if hit is None:
        ids = load_tokenizer().encode(text)[:n_tokens]
        l32 = load_model(np.float32).forward(ids, all_logits=True).logits.astype(np.float64)
        l64 = load_model(np.float64).forward(ids, all_logits=True).logits
        lp32 = l32 - np.logaddexp.reduce(l32, axis=1, keepdims=True)
        lp64 = l64 - np.logaddexp.reduce(l64, axis=1, keepdims=True)
        p32, p64 = np.exp(lp32), np.exp(lp64)
        hit = {
            "n": np.array(ids.size),
            "max_abs_dp": np.array(np.max(np.abs(p32 - p64))),
            "max_kl": np.array(np.max(np.sum(p64 * (lp64 - lp32), axis=1))),
            "argmax_agree": np.array(np.mean(l32.argmax(1) == l64.argmax(1))),
            "max_abs_dlogit": np.array(np.max(np.abs(l32 - l64))),
        }
        if use_cache:
            cache_save("prec", key, hit)
    out = {k: float(v) for k, v in hit.items()}
    out["n"] = int(out["n"])
    return out


def attention_reproduction(text: str | None = None, *, n_tokens: int = 128,
                           use_cache: bool = True) -> dict:
    """Do the returned Q, K, V reproduce the model's own attention outputs?

    For every layer and query head, recompute the head's output with the
    library's ``kv.causal_attention`` (float64) from ``RealKV.head`` and
    compare it with the output the forward pass computed internally (float32,
    batched, grouped-query, masked). Returns ``max_abs_diff``, ``max_abs_output``
    (for scale) and the number of heads checked.
    """
    from ..data import load_corpus
    from ..real import extract_kv

    text = load_corpus() if text is None else text
    n_tokens = check_int(n_tokens, "n_tokens", lo=1, hi=1024)
    r = extract_kv(text, max_tokens=n_tokens, outputs=True, use_cache=use_cache)
    L, H = r.Q.shape[:2]
    worst, scale = 0.0, 0.0
    for layer in range(L):
        for h in range(H):
            Z = causal_attention(*r.head(layer, h))
            O = r.O[layer, h].astype(np.float64)
            worst = max(worst, float(np.max(np.abs(Z - O))))
            scale = max(scale, float(np.max(np.abs(O))))
    return {"max_abs_diff": worst, "max_abs_output": scale, "heads": L * H, "n": r.n}
