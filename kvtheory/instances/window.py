r"""The in-window INDEX instance: :math:`\Omega(dW)` bits for window attention (Chapter 7).

Alice's :math:`W-1` tokens and Bob's one token fill a single window of length
:math:`W`, and inside one window sliding-window attention is full attention.
So the Chapter 3 game with :math:`n=W-1` applies verbatim:
an algorithm that answers Bob's query keeps
:math:`(1-H_2(p+\delta))(W-1)d` bits.

For the unmasked-value model the game may also be played at a
late step: ``prefix_tokens`` tokens with zero key and value come first. They
leave the window and keep weight :math:`e^0=1` each; Bob's query scale
:math:`C` is raised to :math:`\frac{\ln n+\ln(1/\gamma)}{1-\kappa}` with
:math:`n` the whole stream's length, which absorbs their known mass.
"""

from __future__ import annotations

from typing import Callable

from .._validate import check_int
from ..stream import StreamingAttention
from .index import (
    IndexResult,
    default_C,
    make_index_instance,
    run_index_protocol,
    space_bound_bits,
)

__all__ = ["window_index", "window_instance", "window_bound_bits"]


def window_index(make_algorithm: Callable[[], StreamingAttention], W: int, d: int, *,
                 trials: int = 200, seed=0, prefix_tokens: int = 0, C: float | None = None,
                 gamma: float = 0.1, eps: float = 0.5, eta: float = 0.0,
                 notion: str = "entrywise") -> IndexResult:
    r"""Play INDEX inside one window of length ``W`` against an algorithm.

    A thin layer over :func:`~kvtheory.instances.index.run_index_protocol`
    with ``n = W - 1`` Alice tokens (Bob's token is the window's last), and
    ``prefix_tokens`` all-zero tokens before them.

    Parameters
    ----------
    make_algorithm : callable
        Returns a fresh :class:`~kvtheory.StreamingAttention`.
    W : int
        The model's window length, ``W >= 2``.
    d : int
        Dimension; Alice holds ``(W - 1) * d`` bits.
    trials : int
        Bob's queries.
    seed : int or numpy.random.Generator
    prefix_tokens : int
        Zero tokens streamed first (the long stream of the unmasked-value bound).
    C : float, optional
        Bob's query scale; default
        :math:`\frac{\ln(W-1+\text{prefix})+\ln(1/\gamma)}{1-\kappa}`.
    gamma, eps, eta, notion
        As in :func:`~kvtheory.instances.index.run_index_protocol`.

    Returns
    -------
    IndexResult

    Examples
    --------
    >>> import functools, kvtheory as kv
    >>> from kvtheory.instances.window import window_index
    >>> swa = functools.partial(kv.algorithms.SlidingWindow, W=32)
    >>> res = window_index(swa, W=32, d=24, trials=50, prefix_tokens=100)
    >>> res.success_rate, res.info_bits
    (1.0, 744)
    """
    W = check_int(W, "W", lo=2)
    d = check_int(d, "d", lo=1)
    prefix_tokens = check_int(prefix_tokens, "prefix_tokens", lo=0)
    if C is None:
        C = default_C(W - 1 + prefix_tokens, gamma=gamma, eps=eps)
    return run_index_protocol(make_algorithm, W - 1, d, trials=trials, seed=seed, C=C,
                              gamma=gamma, eps=eps, eta=eta, notion=notion,
                              prefix_tokens=prefix_tokens)


def window_instance(W: int, d: int, probes, *, seed=0, prefix_tokens: int = 0,
                    C: float | None = None, gamma: float = 0.1, eps: float = 0.5,
                    cells=None):
    r"""The in-window INDEX game as a :class:`kvtheory.game.Instance`.

    ``prefix_tokens`` zero tokens, then ``W - 1`` of Alice's tokens; Bob's
    padded probes target Alice's tokens ``probes`` (indices in ``[0, W-1)``).
    ``C`` defaults as in :func:`window_index`.

    Examples
    --------
    >>> from kvtheory.instances.window import window_instance
    >>> inst = window_instance(32, 8, [0, 30], prefix_tokens=100)
    >>> inst.n, inst.targets.tolist(), inst.info_bits
    (131, [100, 130], 248)
    """
    W = check_int(W, "W", lo=2)
    prefix_tokens = check_int(prefix_tokens, "prefix_tokens", lo=0)
    if C is None:
        C = default_C(W - 1 + prefix_tokens, gamma=gamma, eps=eps)
    inst = make_index_instance(W - 1, d, seed=seed, C=C, gamma=gamma, eps=eps)
    return inst.as_instance(probes, cells=cells, prefix_tokens=prefix_tokens,
                            name="window-index")


def window_bound_bits(W: int, d: int, *, p: float = 0.1, delta: float = 0.1) -> float:
    r"""The in-window lower bound :math:`(1-H_2(p+\delta))(W-1)d` bits.

    Examples
    --------
    >>> from kvtheory.instances.window import window_bound_bits
    >>> f"{window_bound_bits(65, 32):.0f}"
    '569'
    """
    W = check_int(W, "W", lo=2)
    return space_bound_bits(W - 1, d, p=p, delta=delta)
