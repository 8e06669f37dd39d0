"""The barrier benchmark (Chapter 9): instances, methods, runner, CLI, figure, widget."""

import json
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import kvtheory as kv  # noqa: E402
from kvtheory.__main__ import main  # noqa: E402
from kvtheory.bench import (  # noqa: E402
    COLUMNS,
    INSTANCES,
    METHODS,
    BenchResults,
    load_method,
    make_instance,
    method_from_class,
    read_results,
    run_bench,
    run_cell,
)
from kvtheory.bench.methods import choose, exact_bits  # noqa: E402
from kvtheory.instances.index import decode_bits  # noqa: E402

SMALL = {"n": 32, "d": 8}


# ------------------------------------------------------------ instances
@pytest.mark.parametrize("key", list(INSTANCES))
def test_instances_shapes_and_seeding(key):
    a = make_instance(key, 64, 12, seed=3)
    b = make_instance(key, 64, 12, seed=3)
    assert np.array_equal(a.K, b.K) and np.array_equal(a.probes, b.probes)
    assert a.d == 12 and a.V.shape[0] == a.n and a.probes.shape[1] == 12
    assert a.Q is None or a.Q.shape == a.K.shape
    if a.targets is not None:
        assert np.all((0 <= a.targets) & (a.targets < a.n))
        assert set(np.unique(a.V[a.targets])) <= {0.0, 1.0}
    assert a.family == INSTANCES[key].family
    assert not np.array_equal(make_instance(key, 64, 12, seed=4).V, a.V)


@pytest.mark.parametrize("key", list(INSTANCES))
def test_exact_cache_is_exact_and_decodes(key):
    inst = make_instance(key, 64, 24, seed=0)
    row = run_cell(METHODS["exact"], inst, budget=1.0, seed=0)
    assert row["status"] == "ok" and row["within_budget"]
    assert row["err_additive_max"] < 1e-9 and row["err_l2_max"] < 1e-9
    if inst.targets is not None:
        assert row["success"] >= 0.9
    if inst.info_bits is not None:
        assert row["ceiling"] == 1.0


def test_index_instance_matches_the_chapter3_game():
    inst = make_instance("index", 64, 24, seed=0)
    # probes are C k_{i*} for the targets, Bob's padded step
    C = inst.probes[0] @ inst.K[inst.targets[0]]
    assert np.allclose(inst.probes, C * inst.K[inst.targets]) and inst.pad
    assert inst.info_bits == 64 * 24 and inst.tau == 0.5


def test_make_instance_bad_inputs():
    with pytest.raises(ValueError, match="instance"):
        make_instance("nope", 64, 8)
    with pytest.raises(ValueError, match="n"):
        make_instance("index", 8, 8)
    with pytest.raises(ValueError, match="d"):
        make_instance("index", 64, 2)
    with pytest.raises(TypeError, match="n"):
        make_instance("index", 64.0, 8)


def test_decode_bits_rule_and_bad_input():
    assert decode_bits([0.6, np.nan, 0.2], [1.0, 1.0, 0.0], 0.5).tolist() == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="truth"):
        decode_bits([0.6, 0.1], [1.0], 0.5)


# --------------------------------------------------------------- budgets
def test_exact_bits_and_budget_choice():
    assert exact_bits(100, 8, 8) == 100 * 16 * 64 + 64
    eb = exact_bits(64, 8, 8)
    for key in ("window", "quant", "kivi", "qjl", "lowrank", "uniform"):
        cheapest = choose(METHODS[key], 0, 64, 8, 8)[1]          # nothing fits budget 0
        for f in (0.05, 0.2, 0.6):
            _, bits = choose(METHODS[key], int(f * eb), 64, 8, 8)
            assert bits <= int(f * eb) or (bits == cheapest and cheapest > int(f * eb))
    # the choice is monotone: a larger budget never picks a cheaper setting
    b1 = choose(METHODS["window"], int(0.05 * eb), 64, 8, 8)[1]
    b2 = choose(METHODS["window"], int(0.5 * eb), 64, 8, 8)[1]
    assert b1 <= b2


def test_recorded_memory_is_the_measured_one():
    inst = make_instance("gaussian", 64, 8, seed=0)
    row = run_cell(METHODS["window"], inst, budget=0.25, seed=0)
    W, dt = row["param"].split(", ")
    W = int(W.split("=")[1])
    bits = {"fp16": 16, "fp32": 32}[dt]
    assert row["memory_bits"] == W * 16 * bits + 64
    assert row["within_budget"] == (row["memory_bits"] <= row["budget_bits"])


# ---------------------------------------------------------------- runner
def test_run_bench_rows_schema_and_determinism():
    res = run_bench(["window", "kivi"], ["index", "recency"], budgets=[0.1, 0.3], seeds=[0, 1],
                    **SMALL)
    assert len(res.rows) == 2 * 2 * 2 * 2
    assert all(set(r) == set(COLUMNS) for r in res.rows)
    again = run_bench(["window", "kivi"], ["index", "recency"], budgets=[0.1, 0.3],
                      seeds=[0, 1], jobs=2, **SMALL)
    strip = [{k: v for k, v in r.items() if k != "sec_per_token"} for r in res.rows]
    assert strip == [{k: v for k, v in r.items() if k != "sec_per_token"} for r in again.rows]
    assert all(r["success"] is None for r in res.select(instance="recency"))
    assert all(0 <= r["success"] <= 1 for r in res.select(instance="index"))


def test_results_csv_json_roundtrip(tmp_path):
    res = run_bench(["signbit", "uniform"], ["index", "gaussian"], budgets=[0.1], seeds=[0],
                    **SMALL)
    res.rows[0]["err_entrywise_max"] = math.inf          # JSON writes it as null
    res.to_csv(tmp_path / "r.csv")
    res.to_json(tmp_path / "r.json")
    header = (tmp_path / "r.csv").read_text().splitlines()[0].split(",")
    assert header == list(COLUMNS)
    assert "inf" in (tmp_path / "r.csv").read_text()
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["schema"] == "kvtheory.bench/1" and doc["rows"][0]["err_entrywise_max"] is None
    back = read_results(tmp_path / "r.json")
    assert len(back.rows) == len(res.rows) and back.rows[1] == res.rows[1]
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="path"):
        read_results(tmp_path / "bad.json")


def test_table_and_pivot():
    res = run_bench(["window", "quant"], ["index", "gaussian"], budgets=[0.1], seeds=[0, 1],
                    **SMALL)
    piv = res.pivot("err_additive_max", budget=0.1)
    assert set(piv) == {(m, i) for m in ("window", "quant") for i in ("index", "gaussian")}
    text = res.table("success", budget=0.1)
    assert "window" in text and "-" in text
    with pytest.raises(ValueError, match="value"):
        res.table("nope", budget=0.1)


@pytest.mark.parametrize("kw,exc,match", [
    ({"methods": ["nope"]}, ValueError, "methods"),
    ({"methods": [3]}, TypeError, "methods"),
    ({"methods": ["window", "window"]}, ValueError, "duplicate"),
    ({"instances": ["nope"]}, ValueError, "instances"),
    ({"instances": []}, ValueError, "instances"),
    ({"budgets": [0.0]}, ValueError, "budgets"),
    ({"budgets": [1.5]}, ValueError, "budgets"),
    ({"budgets": []}, ValueError, "budgets"),
    ({"seeds": [-1]}, ValueError, "seeds"),
    ({"seeds": []}, ValueError, "seeds"),
    ({"jobs": 0}, ValueError, "jobs"),
    ({"n": 4}, ValueError, "n"),
])
def test_run_bench_bad_inputs(kw, exc, match):
    args = {"methods": ["window"], "instances": ["index"], "budgets": [0.1], "seeds": [0],
            **SMALL, **kw}
    with pytest.raises(exc, match=match):
        run_bench(**args)


# ---------------------------------------------------------- own methods
class _LastToken(kv.StreamingAttention):
    name, kind = "last token", "oblivious"

    def _append(self, k, v):
        self.v = v

    def _attend(self, q):
        return self.v

    def memory_ledger(self):
        return kv.MemoryLedger().add("value", self.d_v, 64)


class _Budgeted(kv.ExactCache):
    calls = []

    @classmethod
    def from_budget(cls, budget_bits, n, d, d_v, seed):
        cls.calls.append(budget_bits)
        return cls(np.float16)


class _Broken(_LastToken):
    def _attend(self, q):
        raise RuntimeError("boom")


def test_readers_methods_fixed_budgeted_and_broken():
    res = run_bench([_LastToken, _Budgeted, _Broken], ["index"], budgets=[0.1, 0.5],
                    seeds=[0], **SMALL)
    last = res.select(method="_LastToken")
    assert [r["memory_bits"] for r in last] == [8 * 64] * 2 and last[0]["param"] == "fixed"
    assert len(_Budgeted.calls) == 2 and res.select(method="_Budgeted")[0]["param"] == "from_budget"
    broken = res.select(method="_Broken")
    assert all(r["status"] == "RuntimeError: boom" and r["success"] is None for r in broken)
    with pytest.raises(TypeError, match="StreamingAttention"):
        method_from_class(int)


def test_load_method_from_file(tmp_path):
    f = tmp_path / "mine.py"
    f.write_text("import kvtheory as kv\n"
                 "class Mine(kv.ExactCache):\n    name = 'mine'\n"
                 "NotAClass = 3\n")
    spec = load_method(f"{f}:Mine")
    assert spec.key == "Mine"
    with pytest.raises(ValueError, match="no attribute"):
        load_method(f"{f}:Other")
    with pytest.raises(TypeError, match="StreamingAttention"):
        load_method(f"{f}:NotAClass")
    with pytest.raises(ValueError, match="no such file"):
        load_method(f"{tmp_path / 'missing.py'}:Mine")
    with pytest.raises(ValueError, match="module:Class"):
        load_method("nocolon")
    (tmp_path / "bad.py").write_text("raise ImportError('nope')\n")
    with pytest.raises(ValueError, match="error while loading"):
        load_method(f"{tmp_path / 'bad.py'}:X")


# ------------------------------------------------------------------- CLI
def test_cli_bench_writes_outputs(tmp_path, capsys):
    f = tmp_path / "mine.py"
    f.write_text("import kvtheory as kv\nclass Mine(kv.ExactCache):\n    pass\n")
    out = tmp_path / "run"
    code = main(["bench", "--methods", "window,signbit", "--method", f"{f}:Mine",
                 "--instances", "index,gaussian", "--n", "32", "--d", "8", "--budgets",
                 "0.05,0.2", "--seeds", "2", "--jobs", "1", "--out", str(out), "--quiet"])
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"results.csv", "results.json", "figure.png",
                                               "table.txt"}
    doc = json.loads((out / "results.json").read_text())
    assert len(doc["rows"]) == 3 * 2 * 2 * 2
    assert {r["method"] for r in doc["rows"]} == {"window", "signbit", "Mine"}
    assert "wrote" in capsys.readouterr().out


def test_cli_list(capsys):
    assert main(["bench", "--list"]) == 0
    text = capsys.readouterr().out
    assert all(k in text for k in METHODS) and all(k in text for k in INSTANCES)


@pytest.mark.parametrize("argv,match", [
    (["--budgets", "0.5,2"], "--budgets must lie in"),
    (["--budgets", "a,b"], "--budgets must be a comma-separated list of numbers"),
    (["--methods", "kivi,nope"], "unknown method 'nope'"),
    (["--instances", "nope"], "unknown instance 'nope'"),
    (["--n", "3"], "--n must be >= 16"),
    (["--d", "1"], "--d must be >= 4"),
    (["--seeds", "0"], "--seeds K must be >= 1"),
    (["--seeds", "1,-2"], "nonnegative"),
    (["--jobs", "0"], "--jobs must be >= 1"),
    (["--n", "ten"], "invalid int value"),
    (["--method", "nosuchmodule:X"], "cannot import module"),
    (["--methods", "none"], "no methods to run"),
    (["--budgets", "0.1", "--table-budget", "0.2"], "--table-budget"),
])
def test_cli_bad_arguments_exit_2(argv, match, capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", *argv])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert match in err and err.strip().splitlines()[-1].startswith("python -m kvtheory bench:")


def test_cli_other_commands_still_there():
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0


# ---------------------------------------------------------- figure, widget
def test_plot_bench_panels_and_ceiling():
    res = run_bench(["window", "signbit"], ["index", "needle", "gaussian"], budgets=[0.05, 0.3],
                    seeds=[0], **SMALL)
    fig = kv.viz.plot_bench(res, ncols=2)
    axes = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in axes[:3]] == ["index (hard)", "needle (hard)",
                                                   "gaussian (benign)"]
    ceil = [ln for ln in axes[0].lines if ln.get_label() == "lower bound (ceiling)"]
    assert len(ceil) == 1
    x, y = ceil[0].get_data()
    assert np.allclose(y, kv.communication.index_success_ceiling(x, 32 * 8))
    assert not [ln for ln in axes[1].lines if ln.get_label() == "lower bound (ceiling)"]
    assert axes[2].get_yscale() == "log"
    fig2 = kv.viz.plot_bench_bars(res, instance="index", budget=0.3)
    assert len(fig2.axes[0].patches) == 2
    with pytest.raises(ValueError, match="no results"):
        kv.viz.plot_bench_bars(res, instance="lowrank", budget=0.3)


def test_bench_widget_redraws():
    w = kv.widgets.bench_widget(n=32, d=8)
    kids = {c.description: c for c in w.children if hasattr(c, "description")}
    kids["instance"].value = "gaussian"
    kids["budget"].value = 0.1
    ax = w.result.axes[0]
    assert "gaussian at budget 0.1" in ax.get_title()
    assert len(ax.patches) == len(kv.bench.DEFAULT_METHODS)
    assert isinstance(BenchResults([]), BenchResults)
