"""Conceptual diagrams of the book's constructions, drawn with matplotlib.

Each ``draw_<what>`` function draws one schematic picture of a proof's
construction (no data is computed: the few bits and signs shown are fixed
illustrations drawn from a seeded generator, or given by the caller) and
returns the :class:`matplotlib.figure.Figure`. Every function takes
``ax=None`` (a new figure of fixed size, or the Axes to draw into) and
``theme="light"`` or ``"dark"``: the two themes draw exactly the same
elements at the same places and differ only in colours.

=====================================  =========================================
function                               picture
=====================================  =========================================
:func:`draw_index_protocol`            Chapter 2: the one-way INDEX protocol
:func:`draw_index_stream`              Chapter 3: Alice's stream, the hand-off,
                                       Bob's padded step and the softmax spike
:func:`draw_worked_decode`             Chapter 3: one bit decoded (weights, z, tau)
:func:`draw_subgen`                    Chapter 5: clusters, reservoirs, slots
:func:`draw_unmasked_window`           Chapter 7: the window and the outside sum
:func:`draw_cellprobe_reader`          Chapter 8: the non-adaptive cell reader
=====================================  =========================================
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from .._validate import check_int
from ._style import DPI, BookFigure

__all__ = ["THEMES", "draw_index_protocol", "draw_index_stream", "draw_worked_decode",
           "draw_subgen", "draw_unmasked_window", "draw_cellprobe_reader"]

#: Colour roles of the two themes (Okabe-Ito hues; lighter tints on dark).
THEMES = {
    "light": {"bg": "#FFFFFF", "fg": "#1A1A1A", "muted": "#7A7A7A", "panel": "#F2F2F2",
              "cell": "#FFFFFF", "alice": "#0072B2", "bob": "#D55E00", "accent": "#009E73",
              "mark": "#E69F00", "extra": "#CC79A7", "onmark": "#1A1A1A"},
    "dark": {"bg": "#15181D", "fg": "#ECECEC", "muted": "#9AA1A9", "panel": "#262B33",
             "cell": "#1C2026", "alice": "#56B4E9", "bob": "#FF9A5C", "accent": "#3DDBA8",
             "mark": "#F5C242", "extra": "#E8A3CE", "onmark": "#15181D"},
}


# ----------------------------------------------------------------------------- helpers
def _palette(theme):
    if not isinstance(theme, str) or theme not in THEMES:
        raise ValueError(f"theme must be 'light' or 'dark', got {theme!r}")
    return THEMES[theme]


def _canvas(ax, theme, width, height, xlim, ylim):
    """``(fig, ax, colours)``: a blank diagram canvas in data coordinates."""
    col = _palette(theme)
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(width, height), layout="constrained", dpi=DPI,
                               FigureClass=BookFigure)
    else:
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
        fig = ax.figure
    fig.set_facecolor(col["bg"])
    ax.set_facecolor(col["bg"])
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_axis_off()
    return fig, ax, col


def _text(ax, x, y, s, col, *, color="fg", size=9, **kw):
    kw.setdefault("ha", "center")
    kw.setdefault("va", "center")
    return ax.text(x, y, s, color=col[color], fontsize=size, **kw)


def _box(ax, x, y, w, h, col, *, edge="fg", face="panel", lw=1.2, ls="-", round_=True):
    if round_:
        patch = FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                               linewidth=lw, linestyle=ls, edgecolor=col[edge],
                               facecolor=col[face])
    else:
        patch = Rectangle((x, y), w, h, linewidth=lw, linestyle=ls, edgecolor=col[edge],
                          facecolor=col[face])
    ax.add_patch(patch)
    return patch


def _cell(ax, x, y, s, col, *, size=0.5, edge="fg", face="cell", color="fg", fontsize=8):
    ax.add_patch(Rectangle((x, y), size, size, linewidth=0.8, edgecolor=col[edge],
                           facecolor=col[face]))
    if s != "":
        _text(ax, x + size / 2, y + size / 2, s, col, color=color, size=fontsize)


def _arrow(ax, p0, p1, col, *, color="fg", lw=1.4, ls="-", style="-|>", rad=0.0):
    arr = FancyArrowPatch(p0, p1, arrowstyle=style, mutation_scale=12, linewidth=lw,
                          linestyle=ls, color=col[color],
                          connectionstyle=f"arc3,rad={rad}")
    ax.add_patch(arr)
    return arr


def _bits(bits, n, seed, name):
    if bits is None:
        return np.random.default_rng(seed).integers(0, 2, size=n)
    arr = np.asarray(bits)
    if arr.shape != (n,) or not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must be a 0/1 array of shape ({n},), got {arr!r}")
    return arr.astype(int)


# ----------------------------------------------------------------------------- Chapter 2
def draw_index_protocol(N: int = 8, S: int = 3, j: int = 5, *, bits=None, seed: int = 0,
                        ax=None, theme: str = "light"):
    """The one-way INDEX protocol of Chapter 2, as a picture.

    Alice holds ``x`` in {0,1}^N (drawn as ``N`` cells), sends one message
    ``M`` of ``S`` bits to Bob, who holds the index ``j`` (its cell is marked)
    and outputs a guess ``G`` of ``x_j``; both read the public coins ``R``.

    Parameters
    ----------
    N, S : int
        Length of Alice's string (1 to 16) and bits of the message (1 to N).
    j : int
        Bob's index, 1-based (1 to N).
    bits : array of 0/1, shape (N,), optional
        Alice's string; default a fixed draw from ``seed``.
    seed : int
        Seed of the default string.
    ax : matplotlib Axes, optional
        Draw here; default a new 8 x 2.9 inch figure.
    theme : {"light", "dark"}
        Colour theme; both themes draw the same elements.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> fig = draw_index_protocol(N=8, S=3, j=5)
    >>> any(t.get_text() == "Alice" for t in fig.axes[0].texts)
    True
    """
    N = check_int(N, "N", lo=1, hi=16)
    S = check_int(S, "S", lo=1, hi=N)
    j = check_int(j, "j", lo=1, hi=N)
    x = _bits(bits, N, seed, "bits")
    fig, ax, col = _canvas(ax, theme, 8.0, 2.9, (0, 16), (-0.1, 5.8))
    cs = 0.42
    # Alice
    _box(ax, 0.3, 0.6, 6.2, 3.9, col, edge="alice")
    _text(ax, 3.4, 4.05, "Alice", col, color="alice", size=11, weight="bold")
    _text(ax, 3.4, 3.35, r"holds $x\in\{0,1\}^N$", col)
    x0 = 3.4 - N * cs / 2
    for t in range(N):
        _cell(ax, x0 + t * cs, 2.3, str(x[t]), col, size=cs, edge="alice")
    _text(ax, 3.4, 1.45, r"computes $M=M(x,R,A)$", col, size=8.5)
    _text(ax, 3.4, 0.95, "(does not know $j$)", col, color="muted", size=8)
    # message
    _arrow(ax, (6.6, 2.5), (9.6, 2.5), col, lw=1.8)
    m0 = 8.1 - S * cs / 2
    for t in range(S):
        _cell(ax, m0 + t * cs, 2.75, "", col, size=cs, edge="fg", face="mark")
    _text(ax, 8.1, 3.6, r"message $M$: $S$ bits", col, size=9)
    _text(ax, 8.1, 2.05, "one way, once", col, color="muted", size=8)
    # Bob
    _box(ax, 9.7, 0.6, 6.0, 3.9, col, edge="bob")
    _text(ax, 12.7, 4.05, "Bob", col, color="bob", size=11, weight="bold")
    _text(ax, 12.7, 3.35, rf"holds an index $j={j}$", col)
    b0 = 12.7 - N * cs / 2
    for t in range(N):
        mark = t == j - 1
        _cell(ax, b0 + t * cs, 2.3, "?" if mark else "", col, size=cs,
              edge="bob" if mark else "muted", face="panel", color="bob")
    ax.add_patch(Rectangle((b0 + (j - 1) * cs, 2.3), cs, cs, fill=False, linewidth=2.0,
                           edgecolor=col["bob"]))
    _text(ax, 12.7, 1.45, r"outputs a guess $G$ of $x_j$", col, size=8.5)
    _text(ax, 12.7, 0.95, "(never replies)", col, color="muted", size=8)
    # public coins
    _text(ax, 8.1, 5.35, r"public coins $R$ (free)", col, color="accent", size=9)
    _arrow(ax, (7.0, 5.2), (5.0, 4.6), col, color="accent", ls="--", lw=1.1)
    _arrow(ax, (9.2, 5.2), (11.2, 4.6), col, color="accent", ls="--", lw=1.1)
    _text(ax, 8.1, 0.2, r"error $\Pr[G\neq x_j]$, so $S\geq(1-H_2(p))N$", col,
          color="muted", size=8.5)
    return fig


# ----------------------------------------------------------------------------- Chapter 3
def draw_index_stream(n: int = 6, d: int = 4, i_star: int = 4, j_star: int = 2, *,
                      signs=None, bits=None, weights=None, seed: int = 0, ax=None,
                      theme: str = "light"):
    """Chapter 3's reduction: Alice's stream, the hand-off, Bob's padded step.

    Top: Alice's tokens ``t = 1..n``, each with a sign key (``+``/``-`` per
    coordinate, scaled by ``1/sqrt(d)``) and a bit value row ``X_t``; the
    state ``M`` is handed off; Bob's token ``n+1`` has query ``C k_{i*}``,
    key 0 and value 0 (padding). Bottom: the softmax weights of Bob's query,
    a spike on token ``i*`` (default: a schematic profile; pass ``weights``,
    ``n + 1`` numbers, to draw computed ones).

    Parameters
    ----------
    n, d : int
        Alice's tokens (2 to 10) and the dimension drawn (2 to 6).
    i_star, j_star : int
        Bob's token (1 to n) and coordinate (1 to d), 1-based.
    signs : array of +-1, shape (n, d), optional
        Key signs; default a fixed draw from ``seed``.
    bits : array of 0/1, shape (n, d), optional
        Alice's values; default a fixed draw from ``seed``.
    weights : array, shape (n + 1,), optional
        Attention weights of Bob's step (last entry: the padding token).
    seed : int
        Seed of the default signs and bits.
    ax : matplotlib Axes, optional
        Draw here; default a new 8 x 4.2 inch figure.
    theme : {"light", "dark"}
        Colour theme.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> fig = draw_index_stream()
    >>> any("hand-off" in t.get_text() for t in fig.axes[0].texts)
    True
    """
    n = check_int(n, "n", lo=2, hi=10)
    d = check_int(d, "d", lo=2, hi=6)
    i_star = check_int(i_star, "i_star", lo=1, hi=n)
    j_star = check_int(j_star, "j_star", lo=1, hi=d)
    rng = np.random.default_rng(seed)
    if signs is None:
        sg = rng.choice([-1, 1], size=(n, d))
    else:
        sg = np.asarray(signs)
        if sg.shape != (n, d) or not np.isin(sg, (-1, 1)).all():
            raise ValueError(f"signs must be a +-1 array of shape ({n}, {d})")
    if bits is None:
        X = rng.integers(0, 2, size=(n, d))
    else:
        X = np.asarray(bits)
        if X.shape != (n, d) or not np.isin(X, (0, 1)).all():
            raise ValueError(f"bits must be a 0/1 array of shape ({n}, {d})")
    if weights is None:
        w = np.full(n + 1, 0.02)
        w[i_star - 1] = 1.0 - 0.02 * n
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (n + 1,) or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"weights must be n + 1 = {n + 1} non-negative finite numbers")
    cs = 0.36
    colw = 1.15
    width = 1.4 + (n + 1) * colw + 2.4
    fig, ax, col = _canvas(ax, theme, 8.0, 4.2, (0, width), (-0.2, 8.9))
    x_of = [1.6 + t * colw for t in range(n)]
    # Alice's region
    _box(ax, 1.2, 3.0, n * colw + 0.1, 5.1, col, edge="alice", face="bg", lw=1.0)
    _text(ax, 1.2 + n * colw / 2, 7.75, r"Alice streams $(0, k_t, X_t)$, $t=1,\dots,n$", col,
          color="alice", size=9)
    _text(ax, 0.55, 5.95, r"$k_t$", col, size=9)
    _text(ax, 0.55, 4.05, r"$X_t$", col, size=9)
    for t in range(n):
        xt = x_of[t]
        hit = t == i_star - 1
        _text(ax, xt + cs / 2, 7.15, f"{t + 1}", col, color="bob" if hit else "fg", size=8,
              weight="bold" if hit else "normal")
        for l in range(d):
            _cell(ax, xt, 6.75 - (l + 1) * cs - 0.05 * l,
                  "+" if sg[t, l] > 0 else "\u2212", col, size=cs,
                  edge="bob" if hit else "alice", fontsize=7)
            vy = 4.75 - (l + 1) * cs - 0.05 * l
            _cell(ax, xt, vy, str(X[t, l]), col, size=cs, edge="bob" if hit else "alice",
                  face="mark" if (hit and l == j_star - 1) else "cell", fontsize=7,
                  color="onmark" if (hit and l == j_star - 1) else "fg")
    # hand-off
    xh = 1.2 + n * colw + 0.35
    ax.plot([xh, xh], [-0.1, 8.2], color=col["muted"], linestyle="--", linewidth=1.2)
    _text(ax, xh, 8.45, r"hand-off: the state $M$", col, color="muted", size=8.5)
    # Bob's token
    xb = xh + 0.45
    _box(ax, xb - 0.1, 3.0, 2.55, 5.1, col, edge="bob", face="bg", lw=1.0)
    _text(ax, xb + 1.17, 7.75, "Bob's step $n+1$", col, color="bob", size=9)
    _text(ax, xb + 1.17, 6.6, r"query $C\,k_{i^*}$", col, size=8.5)
    _text(ax, xb + 1.17, 5.6, r"key $0$", col, size=8.5)
    _text(ax, xb + 1.17, 4.6, r"value $0$", col, size=8.5)
    _text(ax, xb + 1.17, 3.6, "(padding)", col, color="muted", size=8)
    # weights
    base = 0.35
    scale = 2.1 / max(w.max(), 1e-12)
    xs = [*(x + cs / 2 for x in x_of), xb + 1.17]
    for t, xt in enumerate(xs):
        hit = t == i_star - 1
        ax.add_patch(Rectangle((xt - 0.22, base), 0.44, max(w[t] * scale, 0.02),
                               facecolor=col["bob"] if hit else col["muted"],
                               edgecolor=col["fg"], linewidth=0.6))
    ax.plot([x_of[0] - 0.3, xs[-1] + 0.4], [base, base], color=col["fg"], linewidth=0.8)
    _text(ax, 0.55, 1.4, "softmax\nweights", col, size=8)
    _text(ax, xs[i_star - 1] + 0.35, base + 1.5,
          r"spike on $i^*$: $w_{i^*}\geq\frac{1}{1+\gamma}$", col, color="bob", size=8.5,
          ha="left")
    _text(ax, xb + 1.17, 1.7, rf"Bob reads $\hat z_{{j^*}}$, $j^*={j_star}$: " "\n"
          r"bit $=1$ iff $\hat z_{j^*}>\tau$", col, size=8)
    return fig


def draw_worked_decode(record, *, ax=None, theme: str = "light"):
    """Chapter 3's worked example: the weights of Bob's step and the decoded bit.

    Bars: the exact attention weights of Bob's query over Alice's tokens and
    the padding token, Bob's token ``i*`` highlighted, with the level
    ``1/(1+gamma)`` the proof guarantees dashed. The text beside them compares
    coordinate ``j*`` of the answer with the threshold ``tau``.

    Parameters
    ----------
    record : dict
        The output of :func:`kvtheory.experiments.index.worked_decode`.
    ax : matplotlib Axes, optional
        Draw here; default a new 7 x 3 inch figure.
    theme : {"light", "dark"}
        Colour theme.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from kvtheory.instances.index import make_index_instance
    >>> from kvtheory.experiments.index import worked_decode
    >>> fig = draw_worked_decode(worked_decode(make_index_instance(8, 16, seed=0), 3, 0))
    >>> len(fig.axes[0].patches)
    9
    """
    need = ("weights", "i_star", "j_star", "w_bound", "z_j", "tau", "guess", "truth")
    if not isinstance(record, dict) or any(k not in record for k in need):
        raise ValueError(f"record must be a dict from worked_decode with keys {need}")
    col = _palette(theme)
    w = np.asarray(record["weights"], dtype=float)
    n = w.size - 1
    i_star, j_star = int(record["i_star"]), int(record["j_star"])
    if n < 1 or not 0 <= i_star < n:
        raise ValueError("record['weights'] must have n + 1 entries and i_star < n")
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7.0, 3.0), layout="constrained", dpi=DPI,
                               FigureClass=BookFigure)
    else:
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
        fig = ax.figure
    fig.set_facecolor(col["bg"])
    ax.set_facecolor(col["bg"])
    if np.any(w <= 0) or not np.all(np.isfinite(w)):
        raise ValueError("record['weights'] must be positive and finite")
    floor = 10.0 ** np.floor(np.log10(w.min()) - 0.5)
    ax.set_yscale("log")
    for t in range(n + 1):
        hue = "bob" if t == i_star else ("panel" if t == n else "muted")
        ax.add_patch(Rectangle((t - 0.35, floor), 0.7, w[t] - floor, facecolor=col[hue],
                               edgecolor=col["fg"], linewidth=0.6))
    ax.axhline(record["w_bound"], color=col["accent"], linestyle="--", linewidth=1.1)
    ax.text(n + 0.6, record["w_bound"], r"$1/(1+\gamma)$", color=col["accent"],
            fontsize=10, va="top", ha="left")
    ax.set_xlim(-0.7, n + 5.0)
    ax.set_ylim(floor, 2.0)
    ax.set_xticks(range(n + 1), [*(str(t + 1) for t in range(n)), "pad"])
    ax.set_xlabel("token $t$ (1-based; pad = Bob's padding token)")
    ax.set_ylabel("weight $w_t$ (log scale)")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(col["fg"])
    ax.tick_params(colors=col["fg"], labelsize=9)
    ax.xaxis.label.set_color(col["fg"])
    ax.yaxis.label.set_color(col["fg"])
    rel = ">" if record["z_j"] > record["tau"] else r"\leq"
    ax.text(n + 3.0, np.sqrt(floor * record["w_bound"]),
            rf"$i^*={i_star + 1}$, $j^*={j_star + 1}$" "\n"
            rf"$\hat z_{{j^*}}={record['z_j']:.4f}$ ${rel}$ $\tau={record['tau']:.3f}$" "\n"
            rf"Bob's bit {int(record['guess'])}, Alice's bit {int(record['truth'])}",
            ha="center", va="center", fontsize=9.5, color=col["fg"],
            bbox={"boxstyle": "round", "facecolor": col["panel"], "edgecolor": col["bob"]})
    return fig


# ----------------------------------------------------------------------------- Chapter 5
def draw_subgen(m: int = 3, h: int = 3, ell: int = 4, *, points_per_cluster: int = 7,
                seed: int = 0, ax=None, theme: str = "light"):
    """SubGen's state (Chapter 5): clusters, reservoirs and value-norm slots.

    Left: keys in the plane falling into ``m`` clusters, each a centre
    ``c_j`` with radius ``Delta`` (keys within ``Delta`` of a centre join it,
    others open a new cluster); the ``h`` keys of each cluster's reservoir
    are ringed. Right: the stored state, one row per cluster (centre,
    count ``n_j``, reservoir of ``h`` sampled keys) and the ``ell`` value-norm
    slots, each holding one token sampled with probability proportional to
    ``||v_t||^2``.

    Parameters
    ----------
    m : int
        Number of clusters drawn (1 to 5).
    h : int
        Reservoir size per cluster (1 to 5).
    ell : int
        Number of value-norm slots (1 to 8).
    points_per_cluster : int
        Keys drawn per cluster (at least ``h``, at most 12).
    seed : int
        Seed of the illustrative key positions.
    ax : matplotlib Axes, optional
        Draw here; default a new 8 x 3.6 inch figure.
    theme : {"light", "dark"}
        Colour theme.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> fig = draw_subgen(m=3, h=3, ell=4)
    >>> sum(t.get_text().startswith("cluster ") for t in fig.axes[0].texts)
    3
    """
    m = check_int(m, "m", lo=1, hi=5)
    h = check_int(h, "h", lo=1, hi=5)
    ell = check_int(ell, "ell", lo=1, hi=8)
    ppc = check_int(points_per_cluster, "points_per_cluster", lo=h, hi=12)
    rng = np.random.default_rng(seed)
    fig, ax, col = _canvas(ax, theme, 8.0, 4.2, (0, 17), (-0.3, 9.0))
    hues = ["alice", "bob", "accent", "extra", "mark"]
    radius = 1.1
    angles = np.linspace(0.3, 0.3 + 2 * np.pi, m, endpoint=False)
    centres = np.c_[3.5 + 2.2 * np.cos(angles), 4.5 + 2.3 * np.sin(angles)] if m > 1 \
        else np.array([[3.5, 4.5]])
    _text(ax, 3.5, 8.6, "keys (schematic, 2-D)", col, color="muted", size=8.5)
    for j, c in enumerate(centres):
        hue = hues[j % len(hues)]
        ax.add_patch(Circle(c, radius, fill=False, linestyle="--", linewidth=1.1,
                            edgecolor=col[hue]))
        r = radius * np.sqrt(rng.uniform(0.05, 0.85, ppc))
        a = rng.uniform(0, 2 * np.pi, ppc)
        pts = c + np.c_[r * np.cos(a), r * np.sin(a)]
        ax.scatter(pts[:, 0], pts[:, 1], s=14, color=col[hue], zorder=3, linewidths=0)
        ax.scatter(pts[:h, 0], pts[:h, 1], s=70, facecolors="none", edgecolors=col["fg"],
                   linewidths=0.9, zorder=4)
        ax.scatter([c[0]], [c[1]], marker="x", s=50, color=col["fg"], zorder=5, linewidths=1.5)
        _text(ax, c[0] + radius + 0.2, c[1] - radius + 0.1, rf"$c_{j + 1}$", col, color=hue,
              size=8.5)
    c0 = centres[0]
    ax.plot([c0[0], c0[0] + radius], [c0[1], c0[1]], color=col["fg"], linewidth=0.9)
    _text(ax, c0[0] + radius / 2, c0[1] + 0.3, r"$\Delta$", col, size=9)
    _text(ax, 3.5, 0.25, r"$\times$ centre; ringed keys:", col, color="muted", size=8)
    _text(ax, 3.5, -0.25, "in the reservoir", col, color="muted", size=8)
    # state
    _box(ax, 7.5, 0.0, 9.4, 8.3, col, edge="fg", face="panel", lw=1.0)
    _text(ax, 12.2, 7.85, "the state SubGen keeps", col, size=9.5, weight="bold")
    cs = 0.5
    x_res = 12.7
    _text(ax, 7.8, 7.1, "cluster", col, color="muted", size=8, ha="left")
    _text(ax, 9.9, 7.1, "centre, count", col, color="muted", size=8, ha="left")
    _text(ax, x_res - 0.05, 7.1, rf"reservoir: $h={h}$ keys", col, color="muted", size=8,
          ha="left")
    row_h = min(0.85, 2.7 / m)
    for j in range(m):
        y = 6.7 - (j + 1) * row_h
        hue = hues[j % len(hues)]
        _text(ax, 7.8, y + cs / 2, f"cluster {j + 1}", col, color=hue, size=8.5, ha="left")
        _text(ax, 9.9, y + cs / 2, rf"$c_{j + 1}$, $n_{j + 1}$", col, size=8.5, ha="left")
        for s in range(h):
            _cell(ax, x_res + s * (cs + 0.08), y, "", col, size=cs, edge=hue, face="cell")
            ax.scatter([x_res + s * (cs + 0.08) + cs / 2], [y + cs / 2], s=14,
                       color=col[hue], zorder=3, linewidths=0)
    y_z = 3.6
    _text(ax, 12.2, y_z, r"$\rightarrow$ estimate the normaliser $Z$", col, size=8.5,
          color="muted")
    _text(ax, 7.8, 2.95, rf"value-norm slots: $\ell={ell}$", col, size=8.5, ha="left")
    _text(ax, 7.8, 2.3, r"each a token $(k,v,\|v\|^2)$, sampled $\propto\|v_t\|^2$", col,
          size=8, ha="left", color="muted")
    y = 1.05
    for s in range(ell):
        _cell(ax, 7.9 + s * (cs + 0.08), y, "", col, size=cs, edge="fg", face="mark")
        _text(ax, 7.9 + s * (cs + 0.08) + cs / 2, y + cs / 2, r"$v$", col, size=7,
              color="onmark")
    _text(ax, 7.8, 0.45, r"$\rightarrow$ estimate the numerator $U$", col, size=8.5, ha="left",
          color="muted")
    return fig


# ----------------------------------------------------------------------------- Chapter 7
def draw_unmasked_window(n: int = 8, W: int = 3, *, ax=None, theme: str = "light"):
    """Chapter 7's unmasked-value window at step ``n``.

    The last ``W`` tokens are kept exactly (keys and values, a FIFO); the
    ``n - W`` tokens that have left are summarised by the outside sum
    ``S_out`` (the sum of their values, added to the numerator) and the
    counter ``c_out`` (their count, added to the denominator, each with
    weight ``e^0 = 1``); the token leaving at the next step moves from the
    window to the outside sum.

    Parameters
    ----------
    n : int
        Tokens seen (2 to 14).
    W : int
        Window length (1 to n - 1).
    ax : matplotlib Axes, optional
        Draw here; default a new 8 x 3.2 inch figure.
    theme : {"light", "dark"}
        Colour theme.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> fig = draw_unmasked_window(n=8, W=3)
    >>> any("window" in t.get_text() for t in fig.axes[0].texts)
    True
    """
    n = check_int(n, "n", lo=2, hi=14)
    W = check_int(W, "W", lo=1, hi=n - 1)
    fig, ax, col = _canvas(ax, theme, 8.0, 3.2, (0, 16), (0, 7.0))
    x0 = 1.7
    step = (15.8 - x0) / n
    cs = min(0.8, step * 0.8)
    out = n - W
    for t in range(n):
        x = x0 + t * step
        inside = t >= out
        hue = "alice" if inside else "muted"
        _text(ax, x + cs / 2, 5.85, f"{t + 1}", col, color=hue, size=8)
        _cell(ax, x, 4.8, "k", col, size=cs, edge=hue, face="cell" if inside else "panel",
              color="fg" if inside else "muted", fontsize=8)
        _cell(ax, x, 3.85, "v", col, size=cs, edge=hue, face="cell", color="fg", fontsize=8)
        if not inside:
            ax.plot([x + 0.1, x + cs - 0.1], [4.9, 4.7 + cs], color=col["muted"], linewidth=1)
    x_w = x0 + out * step - 0.15
    _box(ax, x_w, 3.65, (W - 1) * step + cs + 0.3, 2.55, col, edge="alice", face="bg",
         lw=1.6, round_=False)
    ax.patches[-1].set_fill(False)
    _text(ax, x_w + ((W - 1) * step + cs + 0.3) / 2, 6.55,
          rf"window: the last $W={W}$ tokens, kept exactly", col, color="alice", size=8.5)
    _text(ax, 0.05, 4.8 + cs / 2, "key", col, size=8, ha="left")
    _text(ax, 0.05, 3.85 + cs / 2, "value", col, size=8, ha="left")
    # outside sum
    x_o = x0 + (out - 1) * step + cs / 2 if out > 0 else x0
    _box(ax, 0.6, 0.35, 7.6, 1.9, col, edge="accent", face="panel", lw=1.3)
    _text(ax, 4.4, 1.75, r"outside sum: $S_{\rm out}=\sum_{t<i-W+1}v_t$, $c_{\rm out}=i-W$", col,
          size=8.5)
    _text(ax, 4.4, 0.95, r"keys masked: score $0$, weight $e^0=1$ each", col, color="muted",
          size=8)
    _arrow(ax, (x_o, 3.75), (min(x_o, 7.5), 2.3), col, color="accent")
    _text(ax, x0 + out * step / 2 - 0.1, 3.2, f"left the window ({out} tokens)", col, color="muted",
          size=8)
    _box(ax, 8.8, 0.35, 6.9, 1.9, col, edge="fg", face="panel", lw=1.0)
    _text(ax, 12.25, 1.3,
          r"$z_i=\dfrac{\sum_{\mathcal{W}_i}e^{s_t}v_t+S_{\rm out}}"
          r"{\sum_{\mathcal{W}_i}e^{s_t}+c_{\rm out}}$", col, size=9.5)
    x_first = x0 + out * step + cs / 2
    _arrow(ax, (x_first, 3.75), (min(x_first - step + 0.2, 7.9), 2.3), col, color="muted",
           ls=":", rad=0.2)
    _text(ax, x_first + 0.1, 2.9, r"leaves at step $i+1$", col, color="muted", size=8,
          ha="left")
    _text(ax, 0.3, 6.55, rf"step $i={n}$", col, size=8.5, ha="left")
    return fig


# ----------------------------------------------------------------------------- Chapter 8
def draw_cellprobe_reader(n: int = 6, d: int = 4, *, cells=None, planted=(3, 2),
                          region: str = "V", seed: int = 0, ax=None, theme: str = "light"):
    """Chapter 8's non-adaptive cell-probe reader.

    Two ``n x d`` grids of cells, the keys ``K`` and the values ``V``. The
    reader fixes its set ``S`` of cells from the step ``i`` and its seed ``R``
    alone, before reading anything (shaded); one planted cell (star) hides
    the information. The reader learns it only if the planted cell is in
    ``S``.

    Parameters
    ----------
    n, d : int
        Tokens (2 to 10) and dimension (2 to 8) drawn.
    cells : dict, optional
        The reader's set, ``{"K": [(t, l), ...], "V": [(t, l), ...]}``,
        0-based; default a fixed random set from ``seed`` (a third of the
        value cells and one key row).
    planted : tuple of int
        The planted cell ``(t*, l*)``, 1-based.
    region : {"K", "V"}
        Grid of the planted cell ("V": distribution (a), "K": (b)).
    seed : int
        Seed of the default set.
    ax : matplotlib Axes, optional
        Draw here; default a new 8 x 3.4 inch figure.
    theme : {"light", "dark"}
        Colour theme.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> fig = draw_cellprobe_reader()
    >>> any(t.get_text() == "planted cell" for t in fig.axes[0].texts)
    True
    """
    n = check_int(n, "n", lo=2, hi=10)
    d = check_int(d, "d", lo=2, hi=8)
    if region not in ("K", "V"):
        raise ValueError(f"region must be 'K' or 'V', got {region!r}")
    try:
        ts, ls = (int(planted[0]), int(planted[1]))
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"planted must be a pair (t*, l*) of ints, got {planted!r}") from None
    if not (1 <= ts <= n and 1 <= ls <= d):
        raise ValueError(f"planted must lie in 1..{n} x 1..{d}, got {planted!r}")
    if cells is None:
        rng = np.random.default_rng(seed)
        flat = rng.choice(n * d, size=max(1, (n * d) // 3), replace=False)
        cells = {"V": [(int(f // d), int(f % d)) for f in flat],
                 "K": [(int(rng.integers(n)), l) for l in range(d)][:1]}
        row = cells["K"][0][0]
        cells["K"] = [(row, l) for l in range(d)]
    if not isinstance(cells, dict) or set(cells) - {"K", "V"}:
        raise ValueError("cells must be a dict with keys 'K' and/or 'V'")
    chosen = {g: {(int(t), int(l)) for t, l in cells.get(g, [])} for g in ("K", "V")}
    fig, ax, col = _canvas(ax, theme, 8.0, 3.4, (0, 17), (0, 7.2))
    cs = min(0.55, 4.6 / n)
    top = 6.1
    for g, x0 in (("K", 1.0), ("V", 4.3)):
        _text(ax, x0 + d * cs / 2, top + 0.45, rf"${g}$: $n\times d$ cells", col, size=9)
        for t in range(n):
            for l in range(d):
                sel = (t, l) in chosen[g]
                _cell(ax, x0 + l * cs, top - (t + 1) * cs, "", col, size=cs,
                      edge="muted", face="alice" if sel else "cell")
        if g == region:
            xs, ys = x0 + (ls - 1) * cs + cs / 2, top - ts * cs + cs / 2
            ax.scatter([xs], [ys], marker="*", s=150, color=col["mark"], edgecolors=col["fg"],
                       linewidths=0.8, zorder=5)
            yb = top - n * cs - 0.55
            _arrow(ax, (xs, yb + 0.2), (xs, ys - 0.2), col, color="mark", lw=1.1)
            _text(ax, xs, yb, "planted cell", col, color="mark", size=8.5)
            planted_hit = (ts - 1, ls - 1) in chosen[g]
    _text(ax, 0.55, top - n * cs / 2, r"tokens $t$", col, size=8, rotation=90)
    # reader
    _box(ax, 8.6, 3.6, 8.0, 2.9, col, edge="bob", face="panel", lw=1.3)
    _text(ax, 12.6, 6.05, "non-adaptive reader", col, color="bob", size=10, weight="bold")
    _text(ax, 12.6, 5.25, r"from the step $i$ and the seed $R$ only:", col, size=8.5)
    _text(ax, 12.6, 4.6, r"fixes the set $S$ of cells to read,", col, size=8.5)
    _text(ax, 12.6, 4.0, "in one batch, before reading any", col, size=8.5)
    _arrow(ax, (8.5, 4.9), (4.3 + d * cs + 0.15, 4.9), col, color="bob")
    ax.add_patch(Rectangle((8.8, 2.35), 0.5, 0.5, facecolor=col["alice"],
                           edgecolor=col["muted"], linewidth=0.8))
    _text(ax, 9.5, 2.6, r"a cell of $S$ (time $|S|$)", col, size=8.5, ha="left")
    _text(ax, 8.8, 1.55, "the reader learns the planted cell only if it lies in $S$:",
          col, size=8.5, ha="left")
    _text(ax, 8.8, 0.95, r"probability $|S_V|/(nd)$ for a uniform position", col, size=8.5,
          ha="left", color="muted")
    _text(ax, 8.8, 0.35, f"here: {'read' if planted_hit else 'missed'}", col, size=8.5,
          ha="left", color="mark")
    return fig
