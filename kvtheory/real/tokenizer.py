"""A byte-level BPE tokenizer rebuilt from the vocabulary and merges in the GGUF.

SmolLM2 uses GPT-2's byte-level BPE with one change (llama.cpp calls it the
``smollm`` pre-tokenizer): every digit is split off on its own before the
GPT-2 regular expression runs. The ``tokenizers`` package builds exactly that
from the ``tokenizer.ggml.tokens`` and ``tokenizer.ggml.merges`` arrays, so
nothing is downloaded.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_real_array

__all__ = ["Tokenizer", "build_tokenizer"]

_CONTROL = 3   # GGUF token type of special (control) tokens


class Tokenizer:
    """Encode text to token ids and back.

    Parameters
    ----------
    tokens : list of str
        The vocabulary, in id order, in GPT-2's byte-to-unicode alphabet.
    merges : list of str
        BPE merges ``"left right"``, highest priority first.
    token_type : array_like of int
        GGUF token types; type 3 (control) tokens such as ``<|im_start|>``
        become special tokens that are never split.
    bos, eos : int
        Ids of the begin- and end-of-sequence tokens.

    Examples
    --------
    >>> from kvtheory.real import load_tokenizer
    >>> tok = load_tokenizer()
    >>> ids = tok.encode("Attention is all you need, 2017.")
    >>> tok.decode(ids)
    'Attention is all you need, 2017.'
    >>> [tok.token_str(i) for i in ids[-6:]]      # digits are split one by one
    [' ', '2', '0', '1', '7', '.']
    """

    def __init__(self, tokens, merges, token_type, bos: int, eos: int) -> None:
        from tokenizers import AddedToken, decoders, models, pre_tokenizers
        from tokenizers import Tokenizer as _HFTokenizer

        vocab = {t: i for i, t in enumerate(tokens)}
        pairs = [tuple(m.split(" ", 1)) for m in merges]
        tk = _HFTokenizer(models.BPE(vocab=vocab, merges=pairs, fuse_unk=False,
                                     byte_fallback=False))
        tk.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ])
        tk.decoder = decoders.ByteLevel()
        types = np.asarray(token_type)
        special = [tokens[i] for i in np.flatnonzero(types == _CONTROL)]
        tk.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in special])
        self._tk = tk
        self.vocab_size = len(tokens)
        self.bos = int(bos)
        self.eos = int(eos)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text`` (no BOS is added: SmolLM2 does not use one).

        Raises
        ------
        TypeError
            If ``text`` is not a string.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return np.asarray(self._tk.encode(text, add_special_tokens=False).ids, dtype=np.int64)

    def decode(self, ids) -> str:
        """The text of a sequence of token ids.

        Raises
        ------
        ValueError
            If an id is outside ``[0, vocab_size)``.
        """
        arr = np.asarray(as_real_array(ids, "ids", ndim=1), dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
            raise ValueError(
                f"ids must lie in [0, {self.vocab_size}), got {arr.min()}..{arr.max()}")
        return self._tk.decode(arr.tolist(), skip_special_tokens=False)

    def token_str(self, i: int) -> str:
        """The text of the single token ``i``."""
        return self.decode([int(i)])


def build_tokenizer(vocab: dict) -> Tokenizer:
    """A :class:`Tokenizer` from the ``vocab`` dict of :func:`~kvtheory.real._gguf.read_gguf`."""
    return Tokenizer(vocab["tokens"], vocab["merges"], vocab["token_type"],
                     vocab["bos"], vocab["eos"])
