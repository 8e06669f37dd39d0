r"""Near-orthogonality of random keys: measured coherence against Hoeffding.

For i.i.d. uniform sign keys :math:`k_t\in\{\pm1/\sqrt d\}^d`, each inner
product :math:`\rho=\langle k_a,k_b\rangle` (:math:`a\ne b`) is a mean of
:math:`d` fair signs, so Hoeffding's inequality gives
:math:`\Pr[\rho\ge\varepsilon]\le e^{-\varepsilon^2d/2}`. A union bound over
:math:`E` such events makes the maximum exceed

.. math:: \varepsilon_E(d)=\sqrt{2\ln(E/\delta)/d}

with probability at most :math:`\delta`. Which maximum matters must be said:

* ``pairs="partners"``: :math:`\max_{t\ne i^*}\rho_t`, the :math:`n-1` partners
  of one target :math:`i^*`, as in the proof of Chapter 3's space-barrier
  theorem (:math:`E=n-1`);
* ``pairs="all"``: :math:`\max_{a<b}\langle k_a,k_b\rangle` over all
  :math:`n(n-1)/2` pairs, as needed when every token must be singled out
  (Chapter 6);
* ``two_sided=True`` bounds :math:`|\rho|` instead, doubling :math:`E`.

Gaussian keys (i.i.d. normal, normalised to the unit sphere) are offered for
comparison; the sign-key prediction is drawn for them too, as a reference
curve rather than a proved bound.
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import as_real_array, check_choice, check_int, check_real, check_rng

__all__ = ["random_keys", "max_coherence", "coherence_prediction", "union_events"]


def random_keys(n: int, d: int, *, kind: str = "sign", seed=0) -> np.ndarray:
    r"""``n`` i.i.d. unit keys in :math:`\mathbb R^d`.

    Parameters
    ----------
    n, d : int
        Number and dimension of the keys.
    kind : {"sign", "gaussian"}
        ``"sign"``: uniform in :math:`\{\pm1/\sqrt d\}^d`; ``"gaussian"``:
        standard normal vectors divided by their norms (uniform on the sphere).
    seed : int or numpy.random.Generator

    Returns
    -------
    numpy.ndarray, shape (n, d)

    Examples
    --------
    >>> from kvtheory.geometry.nearorth import random_keys
    >>> import numpy as np
    >>> K = random_keys(5, 16, kind="gaussian", seed=0)
    >>> bool(np.allclose(np.linalg.norm(K, axis=1), 1.0))
    True
    """
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    check_choice(kind, "kind", {"sign", "gaussian"})
    rng = check_rng(seed)
    if kind == "sign":
        return rng.choice(np.array([-1.0, 1.0]), size=(n, d)) / math.sqrt(d)
    G = rng.standard_normal((n, d))
    return G / np.linalg.norm(G, axis=1, keepdims=True)


def union_events(n: int, *, pairs: str = "partners", two_sided: bool = False) -> int:
    """Number of tail events the union bound sums over (see the module notes).

    Examples
    --------
    >>> from kvtheory.geometry.nearorth import union_events
    >>> union_events(1000), union_events(1000, pairs="all", two_sided=True)
    (999, 999000)
    """
    n = check_int(n, "n", lo=2)
    check_choice(pairs, "pairs", {"partners", "all"})
    if not isinstance(two_sided, bool):
        raise TypeError("two_sided must be a bool")
    events = n - 1 if pairs == "partners" else n * (n - 1) // 2
    return 2 * events if two_sided else events


def coherence_prediction(n: int, d, *, delta: float = 0.1, pairs: str = "partners",
                         two_sided: bool = False):
    r"""Hoeffding + union-bound level :math:`\sqrt{2\ln(E/\delta)/d}` (vectorised in ``d``).

    The measured maximum exceeds it with probability at most ``delta``
    (for sign keys).

    Examples
    --------
    >>> from kvtheory.geometry.nearorth import coherence_prediction
    >>> [f"{x:.2f}" for x in coherence_prediction(1000, [64, 128, 256])]
    ['0.54', '0.38', '0.27']
    """
    events = union_events(n, pairs=pairs, two_sided=two_sided)
    delta = check_real(delta, "delta", lo=0, hi=1, lo_open=True, hi_open=True)
    d_arr = as_real_array(d, "d")
    if np.any(d_arr < 1):
        raise ValueError("d must be >= 1")
    out = np.sqrt(2.0 * math.log(events / delta) / d_arr)
    return float(out) if out.ndim == 0 else out


def max_coherence(keys, *, pairs: str = "partners", i_star: int = 0,
                  two_sided: bool = False) -> float:
    r"""Measured maximum inner product of distinct keys.

    Parameters
    ----------
    keys : array_like, shape (n, d)
        The keys, ``n >= 2``.
    pairs : {"partners", "all"}
        ``"partners"``: :math:`\max_{t\ne i^*}\langle k_t,k_{i^*}\rangle`;
        ``"all"``: the maximum over all pairs :math:`a<b`.
    i_star : int
        The target for ``pairs="partners"``.
    two_sided : bool
        Take absolute values first.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from kvtheory.geometry.nearorth import max_coherence
    >>> K = np.array([[1.0, 0.0], [0.6, 0.8], [-0.8, 0.6]])
    >>> max_coherence(K), max_coherence(K, pairs="all", two_sided=True)
    (0.6, 0.8)
    """
    K = as_real_array(keys, "keys", ndim=2)
    n = K.shape[0]
    if n < 2:
        raise ValueError("keys must have at least 2 rows")
    check_choice(pairs, "pairs", {"partners", "all"})
    if not isinstance(two_sided, bool):
        raise TypeError("two_sided must be a bool")
    if pairs == "partners":
        i_star = check_int(i_star, "i_star", lo=0, hi=n - 1)
        rho = np.delete(K @ K[i_star], i_star)
    else:
        G = K @ K.T
        rho = G[np.triu_indices(n, k=1)]
    if two_sided:
        rho = np.abs(rho)
    return float(np.max(rho))
