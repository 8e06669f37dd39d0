r"""A numpy forward pass of SmolLM2-135M (llama architecture).

Each of the 30 blocks computes, on the residual stream :math:`x\in\mathbb R^{576}`,

.. math::

    h &= \mathrm{RMSNorm}(x),\quad q_j = \mathrm{RoPE}(W_Q^{(j)}h),\
    k_g=\mathrm{RoPE}(W_K^{(g)}h),\ v_g=W_V^{(g)}h,\\
    x &\leftarrow x + W_O\,[\mathrm{Attn}(q_j/\sqrt{64},K_{g(j)},V_{g(j)})]_{j=1..9},\\
    x &\leftarrow x + W_{\rm down}\bigl(\mathrm{SiLU}(W_{\rm gate}\,\mathrm{RMSNorm}(x))
          \odot W_{\rm up}\,\mathrm{RMSNorm}(x)\bigr),

with 9 query heads sharing 3 key/value heads (query head :math:`j` reads
key/value head :math:`g(j)=\lfloor j/3\rfloor`: grouped-query attention), head
dimension 64, RoPE with base :math:`10^5` in the half-split (Hugging Face)
layout, and the output projection tied to the token embedding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validate import as_real_array, check_int
from ._gguf import ModelConfig

__all__ = ["rms_norm", "rope_tables", "apply_rope", "silu", "LlamaModel", "ForwardResult"]


def rms_norm(x, weight, eps: float = 1e-5) -> np.ndarray:
    r"""Root-mean-square normalisation :math:`x\,/\sqrt{\mathrm{mean}(x^2)+\epsilon}\odot w`.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.real.model import rms_norm
    >>> y = rms_norm(np.array([[3.0, 4.0]]), np.ones(2), eps=0.0)
    >>> f"{float(np.sqrt(np.mean(y ** 2))):.3f}"
    '1.000'
    """
    x = np.asarray(x)
    ms = np.mean(x * x, axis=-1, keepdims=True)
    return (x / np.sqrt(ms + eps)) * weight


def rope_tables(positions, head_dim: int, base: float, dtype=np.float32):
    r"""Cosine and sine tables of rotary position embedding, shape ``(n, head_dim)``.

    Frequency :math:`\theta_i=\text{base}^{-2i/d}` for :math:`i<d/2`, repeated
    for both halves of the head (the half-split layout).
    """
    head_dim = check_int(head_dim, "head_dim", lo=2)
    if head_dim % 2:
        raise ValueError(f"head_dim must be even, got {head_dim}")
    pos = np.asarray(positions, dtype=np.float64)
    inv = base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    ang = pos[:, None] * inv[None, :]
    ang = np.concatenate([ang, ang], axis=1)
    return np.cos(ang).astype(dtype), np.sin(ang).astype(dtype)


def apply_rope(x, cos, sin) -> np.ndarray:
    r"""Rotate pairs :math:`(x_i, x_{i+d/2})` by the angles in the tables.

    ``x`` has shape ``(..., n, d)``; the rotation preserves norms, and
    :math:`\langle R_s q, R_t k\rangle` depends on :math:`t-s` only.

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.real.model import rope_tables, apply_rope
    >>> rng = np.random.default_rng(0)
    >>> q, k = rng.normal(size=(2, 1, 8))
    >>> c, s = rope_tables(np.arange(12), 8, 100.0, dtype=np.float64)
    >>> qr = apply_rope(np.repeat(q, 12, 0), c, s)
    >>> kr = apply_rope(np.repeat(k, 12, 0), c, s)
    >>> bool(np.isclose(qr[7] @ kr[4], qr[5] @ kr[2]))   # relative position 3 both
    True
    """
    half = x.shape[-1] // 2
    rot = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rot * sin


def silu(x) -> np.ndarray:
    r""":math:`x\,\sigma(x)`, computed without overflow for large :math:`|x|`."""
    return x / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


@dataclass
class ForwardResult:
    """What one call of :meth:`LlamaModel.forward` returns.

    Attributes
    ----------
    logits : numpy.ndarray, shape (n_out, vocab)
        Next-token logits at the last position (or every position).
    past : list of (K, V)
        Per layer, post-RoPE keys and values of all tokens so far, each of
        shape ``(n_kv_heads, n_total, head_dim)``: the model's KV cache.
    Q, K, V, O : numpy.ndarray or None
        With ``capture=True``: per layer, the post-RoPE queries
        ``(L, n_heads, n, d)``, keys and values ``(L, n_kv_heads, n, d)`` of
        the new tokens, and each head's attention output ``(L, n_heads, n, d)``
        as the model computed it (before the output projection).
    """

    logits: np.ndarray
    past: list = field(repr=False)
    Q: np.ndarray | None = field(default=None, repr=False)
    K: np.ndarray | None = field(default=None, repr=False)
    V: np.ndarray | None = field(default=None, repr=False)
    O: np.ndarray | None = field(default=None, repr=False)


class LlamaModel:
    """The forward pass of a llama-architecture decoder in numpy.

    Parameters
    ----------
    config : ModelConfig
    weights : dict of str to numpy.ndarray
        GGUF tensor names to dequantized ``(out, in)`` matrices, with Q/K
        rows in the Hugging Face order.
    dtype : numpy.float32 or numpy.float64, default float32
        Arithmetic precision of the whole pass.

    Notes
    -----
    Attention is computed batched with a causal mask and the max-shifted
    softmax; the K/V cache of earlier tokens is passed in ``past`` so greedy
    generation costs one row per new token.
    """

    def __init__(self, config: ModelConfig, weights: dict, dtype=np.float32) -> None:
        self.config = c = config
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        cast = lambda a: np.ascontiguousarray(a, dtype=self.dtype)  # noqa: E731
        self.embed = cast(weights["token_embd.weight"])                     # (vocab, D)
        self.out_norm = cast(weights["output_norm.weight"])
        self.lm_head = (cast(weights["output.weight"]) if "output.weight" in weights
                        else self.embed)                                   # tied embedding
        self.layers = []
        for i in range(c.n_layers):
            p = f"blk.{i}."
            self.layers.append({
                "attn_norm": cast(weights[p + "attn_norm.weight"]),
                "ffn_norm": cast(weights[p + "ffn_norm.weight"]),
                # fused (in, out) matrices: one GEMM for q|k|v and one for gate|up
                "wqkv": cast(np.concatenate([weights[p + "attn_q.weight"],
                                             weights[p + "attn_k.weight"],
                                             weights[p + "attn_v.weight"]]).T),
                "wo": cast(weights[p + "attn_output.weight"].T),
                "wgu": cast(np.concatenate([weights[p + "ffn_gate.weight"],
                                            weights[p + "ffn_up.weight"]]).T),
                "wd": cast(weights[p + "ffn_down.weight"].T),
            })

    def astype(self, dtype) -> "LlamaModel":
        """A copy of the model computing in ``dtype`` (same weights)."""
        new = object.__new__(LlamaModel)
        new.config = self.config
        new.dtype = np.dtype(dtype)
        if new.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {new.dtype}")
        new.embed = self.embed.astype(new.dtype)
        new.out_norm = self.out_norm.astype(new.dtype)
        new.lm_head = new.embed if self.lm_head is self.embed else self.lm_head.astype(new.dtype)
        new.layers = [{k: a.astype(new.dtype) for k, a in L.items()} for L in self.layers]
        return new

    def forward(self, ids, *, past=None, capture: bool = False,
                all_logits: bool = False) -> ForwardResult:
        """Run the model on token ids, continuing from ``past`` if given.

        Parameters
        ----------
        ids : array_like of int, shape (n,)
        past : list of (K, V), optional
            The ``past`` of an earlier result: the new tokens follow those.
        capture : bool, default False
            Also return per-head Q, K, V and attention outputs of the new tokens.
        all_logits : bool, default False
            Logits at every new position instead of only the last.

        Raises
        ------
        ValueError
            If ``ids`` is empty, not 1-D, or has ids outside the vocabulary.
        """
        ids = np.asarray(as_real_array(ids, "ids", ndim=1), dtype=np.int64)
        c = self.config
        if ids.size == 0:
            raise ValueError("ids must hold at least one token")
        if ids.min() < 0 or ids.max() >= self.embed.shape[0]:
            raise ValueError(f"ids must lie in [0, {self.embed.shape[0]})")
        n = ids.size
        start = 0 if past is None else past[0][0].shape[1]
        H, G, Hkv, d = c.n_heads, c.group, c.n_kv_heads, c.head_dim
        cos, sin = rope_tables(np.arange(start, start + n), d, c.rope_base, self.dtype)
        # key j visible to query i iff j <= start + i
        mask = np.arange(start + n)[None, :] > (start + np.arange(n))[:, None]
        scale = self.dtype.type(1.0 / np.sqrt(d))
        x = self.embed[ids]
        caps = {k: [] for k in "QKVO"} if capture else None
        new_past = []
        for li, L in enumerate(self.layers):
            h = rms_norm(x, L["attn_norm"], c.rms_eps)
            qkv = h @ L["wqkv"]
            q = qkv[:, :H * d].reshape(n, H, d).transpose(1, 0, 2)
            k = qkv[:, H * d:(H + Hkv) * d].reshape(n, Hkv, d).transpose(1, 0, 2)
            v = qkv[:, (H + Hkv) * d:].reshape(n, Hkv, d).transpose(1, 0, 2)
            q = apply_rope(q, cos, sin)
            k = apply_rope(k, cos, sin)
            if past is not None:
                Kf = np.concatenate([past[li][0], k], axis=1)
                Vf = np.concatenate([past[li][1], v], axis=1)
            else:
                Kf, Vf = np.ascontiguousarray(k), np.ascontiguousarray(v)
            new_past.append((Kf, Vf))
            # grouped-query attention: query head j = g * G + r reads kv head g
            s = (q.reshape(Hkv, G * n, d) * scale) @ Kf.transpose(0, 2, 1)
            s = s.reshape(Hkv, G, n, start + n)
            s[..., mask] = -np.inf
            s -= s.max(axis=-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(axis=-1, keepdims=True)
            o = (s.reshape(Hkv, G * n, start + n) @ Vf).reshape(H, n, d)
            x = x + o.transpose(1, 0, 2).reshape(n, H * d) @ L["wo"]
            h = rms_norm(x, L["ffn_norm"], c.rms_eps)
            gu = h @ L["wgu"]
            x = x + (silu(gu[:, :c.d_ff]) * gu[:, c.d_ff:]) @ L["wd"]
            if capture:
                caps["Q"].append(q)
                caps["K"].append(k)
                caps["V"].append(v)
                caps["O"].append(o)
        x = rms_norm(x if all_logits else x[-1:], self.out_norm, c.rms_eps)
        logits = x @ self.lm_head.T
        res = ForwardResult(logits=logits, past=new_past)
        if capture:
            for key, val in caps.items():
                setattr(res, key, np.stack(val))
        return res
