"""Tests of the conceptual diagrams (kvtheory.viz.diagrams)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

import kvtheory as kv
from kvtheory.viz import diagrams as dg

DRAWERS = {
    "draw_index_protocol": (dg.draw_index_protocol,
                            ["Alice", "Bob", r"holds $x\in\{0,1\}^N$", r"message $M$: $S$ bits",
                             r"outputs a guess $G$ of $x_j$", r"public coins $R$ (free)"]),
    "draw_index_stream": (dg.draw_index_stream,
                          [r"hand-off: the state $M$", "Bob's step $n+1$", r"query $C\,k_{i^*}$",
                           r"key $0$", r"value $0$", "(padding)", "softmax\nweights"]),
    "draw_subgen": (dg.draw_subgen,
                    ["cluster 1", "cluster 2", "cluster 3", r"$\Delta$",
                     "the state SubGen keeps", r"value-norm slots: $\ell=4$",
                     r"reservoir: $h=3$ keys"]),
    "draw_unmasked_window": (dg.draw_unmasked_window,
                             [r"window: the last $W=3$ tokens, kept exactly",
                              r"keys masked: score $0$, weight $e^0=1$ each", r"step $i=8$"]),
    "draw_cellprobe_reader": (dg.draw_cellprobe_reader,
                              ["non-adaptive reader", "planted cell", r"$K$: $n\times d$ cells",
                               r"$V$: $n\times d$ cells"]),
}


def _geometry(fig):
    """Everything drawn except colours: texts, patch shapes, lines, markers."""
    (ax,) = fig.axes
    texts = [(t.get_text(), tuple(np.round(t.get_position(), 6)), t.get_fontsize())
             for t in ax.texts]
    patches = []
    for p in ax.patches:
        box = tuple(np.round(p.get_extents().bounds, 4))
        patches.append((type(p).__name__, box, p.get_linestyle(), p.get_linewidth()))
    lines = [np.round(ln.get_xydata(), 6).tobytes() for ln in ax.lines]
    offsets = [np.round(c.get_offsets(), 6).tobytes() for c in ax.collections]
    return texts, patches, lines, offsets, ax.get_xlim(), ax.get_ylim()


def _colours(fig):
    (ax,) = fig.axes
    out = [to_hex(fig.get_facecolor()), to_hex(ax.get_facecolor())]
    out += [to_hex(t.get_color()) for t in ax.texts]
    for p in ax.patches:
        out += [to_hex(p.get_edgecolor()), to_hex(p.get_facecolor())]
    out += [to_hex(ln.get_color()) for ln in ax.lines]
    for c in ax.collections:
        out += [to_hex(x) for x in c.get_facecolors()] + [to_hex(x) for x in c.get_edgecolors()]
    return out


@pytest.mark.parametrize("name", sorted(DRAWERS))
def test_themes_differ_only_in_colours(name):
    draw, labels = DRAWERS[name]
    light, dark = draw(theme="light"), draw(theme="dark")
    try:
        assert _geometry(light) == _geometry(dark)
        cl, cd = _colours(light), _colours(dark)
        assert len(cl) == len(cd)
        assert cl != cd
        assert cl[0] == "#ffffff" and cd[0] != "#ffffff"       # light: white background
        texts = {t.get_text() for t in light.axes[0].texts}
        missing = [lab for lab in labels if lab not in texts]
        assert not missing, f"{name} lacks labelled elements {missing}"
        assert len(light.axes[0].patches) >= 3
    finally:
        plt.close(light)
        plt.close(dark)


@pytest.mark.parametrize("name", sorted(DRAWERS))
def test_deterministic_and_exported(name):
    draw, _ = DRAWERS[name]
    a, b = draw(), draw()
    try:
        assert _geometry(a) == _geometry(b)
        assert _colours(a) == _colours(b)
        assert getattr(kv.viz, name) is draw
        assert name in kv.viz.__all__
    finally:
        plt.close(a)
        plt.close(b)


@pytest.mark.parametrize("name", sorted(DRAWERS))
def test_draws_into_given_axes_and_validates(name):
    draw, _ = DRAWERS[name]
    fig, (ax0, ax1) = plt.subplots(1, 2)
    try:
        assert draw(ax=ax1) is fig
        assert len(ax1.texts) > 0 and len(ax0.texts) == 0
        with pytest.raises(ValueError, match="theme"):
            draw(theme="blue")
        with pytest.raises(TypeError, match="ax"):
            draw(ax="not an axes")
    finally:
        plt.close("all")


def test_parameters_are_checked_and_shown():
    with pytest.raises(ValueError, match="S"):
        dg.draw_index_protocol(N=4, S=5)
    with pytest.raises(ValueError, match="j"):
        dg.draw_index_protocol(N=4, j=0)
    with pytest.raises(TypeError, match="N"):
        dg.draw_index_protocol(N=4.0)
    with pytest.raises(ValueError, match="bits"):
        dg.draw_index_protocol(N=3, S=2, j=1, bits=[0, 1, 2])
    with pytest.raises(ValueError, match="weights"):
        dg.draw_index_stream(n=3, i_star=1, weights=[0.5, 0.5])
    with pytest.raises(ValueError, match="signs"):
        dg.draw_index_stream(n=2, d=2, i_star=1, signs=[[1, 0], [1, 1]])
    with pytest.raises(ValueError, match="W"):
        dg.draw_unmasked_window(n=4, W=4)
    with pytest.raises(ValueError, match="planted"):
        dg.draw_cellprobe_reader(n=4, d=2, planted=(5, 1))
    with pytest.raises(ValueError, match="region"):
        dg.draw_cellprobe_reader(region="Q")
    with pytest.raises(ValueError, match="points_per_cluster"):
        dg.draw_subgen(h=4, points_per_cluster=3)
    fig = dg.draw_index_protocol(N=6, S=2, j=3, bits=[1, 0, 1, 1, 0, 0])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("1") == 3 and texts.count("0") == 3 and r"holds an index $j=3$" in texts
    fig2 = dg.draw_subgen(m=4, h=2, ell=5)
    assert sum(t.get_text().startswith("cluster ") for t in fig2.axes[0].texts) == 4
    plt.close("all")


def test_stream_weights_set_the_bar_heights():
    w = np.array([0.1, 0.2, 0.6, 0.1])
    fig = dg.draw_index_stream(n=3, d=2, i_star=3, j_star=1, weights=w)
    bars = [p for p in fig.axes[0].patches
            if type(p).__name__ == "Rectangle" and abs(p.get_width() - 0.44) < 1e-9]
    heights = np.array([p.get_height() for p in bars])
    np.testing.assert_allclose(heights / heights.max(), w / w.max())
    plt.close(fig)


def test_cellprobe_reports_whether_the_planted_cell_is_read():
    hit = dg.draw_cellprobe_reader(n=3, d=2, cells={"V": [(0, 0)]}, planted=(1, 1))
    miss = dg.draw_cellprobe_reader(n=3, d=2, cells={"V": [(0, 0)]}, planted=(2, 2))
    assert "here: read" in [t.get_text() for t in hit.axes[0].texts]
    assert "here: missed" in [t.get_text() for t in miss.axes[0].texts]
    plt.close("all")


def test_worked_decode_record_and_picture():
    from kvtheory.experiments.index import worked_decode
    from kvtheory.instances.index import make_index_instance

    inst = make_index_instance(8, 16, seed=0)
    rec = worked_decode(inst, 3, 2)
    assert rec["correct"] and rec["guess"] == inst.X[3, 2]
    np.testing.assert_allclose(rec["weights"].sum(), 1.0)
    np.testing.assert_allclose(rec["w_star"], 1.0 / (1.0 + rec["leaked_mass"]), rtol=1e-12)
    assert rec["w_star"] >= rec["w_bound"]
    # the exact cache's answer is exact attention over Alice's tokens and the padding token
    np.testing.assert_allclose(rec["z"], rec["weights"][:-1] @ inst.X, atol=1e-12)
    every = [worked_decode(inst, i, j)["correct"] for i in range(8) for j in range(16)]
    assert all(every)
    with pytest.raises(ValueError, match="i_star"):
        worked_decode(inst, 8, 0)
    with pytest.raises(TypeError, match="inst"):
        worked_decode("instance", 0, 0)
    light = dg.draw_worked_decode(rec, theme="light")
    dark = dg.draw_worked_decode(rec, theme="dark")
    assert _geometry(light) == _geometry(dark) and _colours(light) != _colours(dark)
    heights = [p.get_height() + p.get_y() for p in light.axes[0].patches]
    np.testing.assert_allclose(heights, rec["weights"])
    texts = " ".join(t.get_text() for t in light.axes[0].texts)
    assert "Bob's bit 0, Alice's bit 0" in texts and r"\tau=0.500" in texts
    assert kv.viz.draw_worked_decode is dg.draw_worked_decode
    with pytest.raises(ValueError, match="record"):
        dg.draw_worked_decode({"weights": [1.0]})
    plt.close("all")


@pytest.mark.parametrize("args", [("bits", 8, 4), ("bits", 8, 0), ("bits", 6, 6),
                                  ("majority", 8, 2), ("majority", 9, 3), ("majority", 5, 1)])
def test_worked_protocol_chain_matches_exact_errors(args):
    from kvtheory.communication import index_protocol_error
    from kvtheory.experiments.communication import worked_protocol

    protocol, N, S = args
    rec = worked_protocol(protocol, N, S)
    chain = np.array(rec["chain"])
    assert np.all(np.diff(chain) <= 1e-12)                  # each step of the proof loses or ties
    assert chain[0] == S and abs(rec["H_M"] - S) < 1e-12     # deterministic, full-rank messages
    if protocol == "bits":
        assert abs(rec["error"] - index_protocol_error("bits", N, S)) < 1e-12
        assert abs(chain[1] - chain[3]) < 1e-12    # steps 2-3 tight: independent coordinates
    elif S * 3 == N:
        assert abs(rec["error"] - kv.communication.majority_block_error(3)) < 1e-12
        assert chain[2] < chain[1] - 0.5                    # step 2 loses for majorities


def test_worked_protocol_validates():
    from kvtheory.experiments.communication import worked_protocol

    with pytest.raises(ValueError, match="protocol"):
        worked_protocol("parity", 8, 2)
    with pytest.raises(ValueError, match="N"):
        worked_protocol("bits", 13, 2)
    with pytest.raises(ValueError, match="S"):
        worked_protocol("majority", 8, 3)
    with pytest.raises(ValueError, match="block"):
        worked_protocol("majority", 8, 2, block=2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_worked_estimate_is_consistent(seed):
    from kvtheory.experiments.subgen import worked_estimate

    r = worked_estimate(seed=seed)
    assert r["m"] == 3 and r["counts"].tolist() == [10, 10, 10]
    np.testing.assert_allclose(r["Z_j"].sum(), r["Z"], rtol=1e-12)
    np.testing.assert_allclose(r["z"], kv.attention(r["q"], r["keys"], r["values"]), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(r["q"]), 2.0)
    np.testing.assert_allclose(r["z_hat"], r["U_hat"] / r["Z_hat"], rtol=1e-12)
    assert r["ratio"] <= r["step4_bound"] + 1e-12           # step 4 of the proof, on this draw
    same = worked_estimate(seed=seed)
    np.testing.assert_array_equal(same["z_hat"], r["z_hat"])
    with pytest.raises(ValueError, match="delta"):
        worked_estimate(delta=2.0)


def test_worked_unmasked_matches_the_definition():
    from kvtheory.experiments.window import worked_unmasked

    recs = worked_unmasked()
    assert [r["window"] for r in recs] == [[1], [1, 2], [2, 3], [3, 4]]
    assert [r["c_out"] for r in recs] == [0, 0, 1, 2]
    np.testing.assert_allclose([r["S_out"][0] for r in recs], [0.0, 0.0, 2.0, 1.0])
    for r in recs:
        assert r["gap"] < 1e-12
        np.testing.assert_allclose(r["numerator"] / r["denominator"], r["z"], rtol=1e-12)
    rng = np.random.default_rng(3)
    Q, K, V = rng.normal(size=(3, 12, 2))
    assert max(r["gap"] for r in worked_unmasked(Q, K, V, W=3)) < 1e-12
    with pytest.raises(ValueError, match="Q, K and V"):
        worked_unmasked(Q, K)
