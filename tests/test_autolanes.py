"""`--lanes auto` (snnc.autolanes): the cost model's choices obey their target, are the best the
model knows, move the right way with the budget, and bad requests are one-line errors."""
import numpy as np
import pytest

from netgen import float_mlp_model
from snnc import autolanes
from snnc.cli import main
from snnc.compiler import compile_model, engine_model
from snnc.compiler.errors import SnncError
from snnc.compiler.layer_impl import implement, with_banks


def _net(tmp_path):
    return compile_model(float_mlp_model(tmp_path / "m.onnx", np.random.default_rng(3)))


def _estimate(net, impl, inputs):
    """Cycles and LUTs of a design by the engine model, summed the way choose_lanes sums them."""
    costs = [autolanes.layer_model(stage, spikes)(li) for stage, spikes, li in zip(net.stages, inputs, impl)]
    return sum(c for c, _ in costs), engine_model.design_luts([]) + sum(lut for _, lut in costs)


def test_budget_choices_are_best_and_monotone(tmp_path):
    net = _net(tmp_path)
    inputs = autolanes.expected_inputs(net, 16, rate=0.3)
    last = None
    for budget in (1300, 1600, 2000, 3000, 5000):
        impl, why = autolanes.choose_lanes(net, inputs, 100e6, max_luts=budget)
        cycles, luts = _estimate(net, impl, inputs)
        assert luts * autolanes.lut_margin() <= budget and f"at most {budget} LUTs" in why[0] and len(why) == 1 + len(net.lifs)
        # no design the model knows is faster within the budget
        for p1 in (1, 2, 4, 7, 10, 20):
            for p2 in (1, 2, 3, 5):
                for one in (frozenset(), frozenset(lif.name for lif in net.lifs)):
                    c, lut = _estimate(net, with_banks(implement(net, ((p1, 1), (p2, 1))), net, one), inputs)
                    assert lut * autolanes.lut_margin() > budget or c >= cycles - 1e-9
        assert last is None or cycles <= last
        last = cycles


def test_latency_target_takes_the_smallest_design(tmp_path):
    net = _net(tmp_path)
    inputs = autolanes.expected_inputs(net, 16, rate=0.3)
    fast, _ = autolanes.choose_lanes(net, inputs, 100e6, max_luts=10_000)
    goal_cycles = _estimate(net, fast, inputs)[0] * 1.5
    impl, _ = autolanes.choose_lanes(net, inputs, 100e6, max_latency_us=goal_cycles / 100)
    cycles, luts = _estimate(net, impl, inputs)
    assert cycles <= goal_cycles and luts <= _estimate(net, fast, inputs)[1]
    only_double, _ = autolanes.choose_lanes(net, inputs, 100e6, max_latency_us=goal_cycles / 100,
                                            accumulators="double")
    assert all(li.banks == 2 for li in only_double) and _estimate(net, only_double, inputs)[1] >= luts


def test_cli_auto_lanes_from_a_sample(tmp_path, capsys):
    model = float_mlp_model(tmp_path / "m.onnx", np.random.default_rng(3))
    x = (np.random.default_rng(1).random((8, 4, 24)) < 0.3).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    assert main(["compile", str(model), "--lanes", "auto", "--max-luts", "2500", "--sample", str(tmp_path / "x.npy"),
                 "-o", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "--lanes auto for at most 2500 LUTs: chose" in out and "lif1:" in out and "lif2:" in out
    assert main(["simulate", str(tmp_path / "b"), "--input", str(tmp_path / "x.npy"), "--output",
                 str(tmp_path / "y.npy"), "--engine", "rtl"]) == 0
    assert main(["simulate", str(tmp_path / "b"), "--input", str(tmp_path / "x.npy"), "--output",
                 str(tmp_path / "g.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), np.load(tmp_path / "g.npy"))


@pytest.mark.parametrize("args,message", [
    (["--lanes", "auto", "--spike-rate", "0.1"], "needs one target"),
    (["--lanes", "auto", "--max-luts", "3000"], "and one input"),
    (["--lanes", "4", "--max-luts", "3000"], "go with --lanes auto"),
    (["--lanes", "auto", "--max-luts", "10", "--spike-rate", "0.1"], "the smallest design"),
    (["--lanes", "auto", "--max-latency-us", "0.01", "--spike-rate", "0.1"], "the fastest design"),
    (["--lanes", "auto", "--max-luts", "3000", "--spike-rate", "1.5"], "rate in (0, 1]"),
    (["--lanes", "auto", "--max-latency-us", "nan", "--spike-rate", "0.1"], "a finite number above 0, got nan"),
    (["--lanes", "auto", "--max-latency-us", "inf", "--spike-rate", "0.1"], "a finite number above 0, got inf"),
    (["--lanes", "auto", "--max-luts", "0", "--spike-rate", "0.1"], "--max-luts must be at least 1"),
    (["--lanes", "auto", "--max-luts", "3000", "--spike-rate", "nan"], "spike rate in (0, 1] or a sample input, got nan"),
    (["--lanes", "auto", "--max-luts", "3000", "--spike-rate", "inf"], "spike rate in (0, 1] or a sample input, got inf"),
    (["--lanes", "auto", "--max-luts", "3000", "--spike-rate", "0"], "spike rate in (0, 1] or a sample input, got 0.0"),
])
def test_bad_auto_requests_are_one_line(tmp_path, capsys, args, message):
    model = float_mlp_model(tmp_path / "m.onnx", np.random.default_rng(3))
    assert main(["compile", str(model), *args, "-o", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "b").exists()


@pytest.mark.parametrize("sample,message", [
    (None, "missing.npy: no such file"),
    (np.zeros((0, 4, 24), np.uint8), "x.npy: empty spike array (shape [0, 4, 24])"),
    (np.full((8, 4, 24), np.nan), "x.npy: spikes must be 0 or 1"),
    (np.zeros((8, 4, 23), np.uint8), "x.npy: spikes must have shape [T, B, 24], got [8, 4, 23]"),
])
def test_bad_auto_samples_are_one_line(tmp_path, capsys, sample, message):
    """A missing, empty, NaN or misshapen --sample file: one line naming it, nothing built."""
    model = float_mlp_model(tmp_path / "m.onnx", np.random.default_rng(3))
    if sample is not None:
        np.save(tmp_path / "x.npy", sample)
    path = tmp_path / ("x.npy" if sample is not None else "missing.npy")
    assert main(["compile", str(model), "--lanes", "auto", "--max-luts", "3000", "--sample", str(path),
                 "-o", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "b").exists(), err


def test_lut_model_matches_the_measured_designs():
    """The engine model's LUT data (compiler/engine_fit.json, written by benchmarks/cost_model.py
    --fit): its coefficients are the least-relative-squares fit of its points not held out, every
    point (held out or not) measures at most the model times the margin a LUT budget keeps, the
    points cover every term and kind of network, and every --max-luts design of an independent
    network measured within its budget."""
    fit = engine_model.engine_fit()
    assert fit["written_by"] == "benchmarks/cost_model.py --fit"
    fitted = [p for p in fit["points"] if not p["held_out"]]
    held = [p for p in fit["points"] if p["held_out"]]
    assert len(fitted) >= 60 and len(held) >= 30
    assert engine_model.fit_lut_coefficients(fitted) == fit["coefficients"]
    for point in fit["points"]:
        model = engine_model.design_luts(point["layers"])
        assert round(model, 1) == point["model"] and point["luts"] <= model * fit["margin"], point
    for points in (fitted, held):  # conv and dense, sparse, one and two banks, levels and none, registers
        layers = [layer for p in points for layer in p["layers"]]
        assert {(layer["sparse"], layer["banks"], layer["levels"] > 0) for layer in layers} >= {
            (s, b, q) for s in (False, True) for b in (1, 2) for q in (False, True)}
        assert sum(layer["register"] for layer in layers) >= 10
        assert {p["kind"] for p in points} >= ({"bench", "varied"} if points is fitted else {"varied", "independent"})
    budgets = [p for p in held if p["kind"] == "independent"]
    assert len({p["budget"] for p in budgets}) >= 3 and all(p["luts"] <= p["budget"] for p in budgets)


def test_the_model_is_the_one_the_network_gets(tmp_path):
    """A network's estimate is the sum of its engines' and the network's part, one or two banks."""
    net = _net(tmp_path)
    for single in (frozenset(), frozenset(lif.name for lif in net.lifs)):
        models = engine_model.network_models(net, with_banks(implement(net, 3), net, single))
        layers = [m.lut_layer() for m in models]
        assert all(layer["banks"] == (1 if single else 2) for layer in layers)
        assert engine_model.network_luts(models) == pytest.approx(
            engine_model.design_luts([]) + sum(m.luts for m in models))
    with pytest.raises(SnncError, match="one target"):
        autolanes.choose_lanes(net, autolanes.expected_inputs(net, 4, rate=0.3), 1e8)
