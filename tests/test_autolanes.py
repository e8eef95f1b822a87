"""`--lanes auto` (snnc.autolanes): the cost model's choices obey their target, are the best the
model knows, move the right way with the budget, and bad requests are one-line errors."""
from dataclasses import replace

import numpy as np
import pytest

from netgen import float_mlp_model, prune
from snnc import autolanes
from snnc.cli import main
from snnc.compiler import compile_model, ir
from snnc.compiler.errors import SnncError
from snnc.compiler.geometry import network_geometry


def _net(tmp_path):
    return compile_model(float_mlp_model(tmp_path / "m.onnx", np.random.default_rng(3)))


def _estimate(net, lanes, inputs, single=frozenset()):
    """Cycles and LUTs of a design by the model, summed the way choose_lanes sums them."""
    costs = [autolanes.layer_model(stage, spikes)(g.lanes, g.units, stage.lif.name in single)
             for stage, spikes, g in zip(net.stages, inputs, network_geometry(net, lanes))]
    return sum(c for c, _ in costs), autolanes.LUT_NETWORK + sum(lut for _, lut in costs)


def test_budget_choices_are_best_and_monotone(tmp_path):
    net = _net(tmp_path)
    inputs = autolanes.expected_inputs(net, 16, rate=0.3)
    last = None
    for budget in (1300, 1600, 2000, 3000, 5000):
        lanes, single, why = autolanes.choose_lanes(net, inputs, 100e6, max_luts=budget)
        cycles, luts = _estimate(net, lanes, inputs, single)
        assert luts * autolanes.LUT_MARGIN <= budget and f"at most {budget} LUTs" in why[0] and len(why) == 1 + len(net.lifs)
        # no design the model knows is faster within the budget
        for p1 in (1, 2, 4, 7, 10, 20):
            for p2 in (1, 2, 3, 5):
                for one in (frozenset(), frozenset(lif.name for lif in net.lifs)):
                    c, lut = _estimate(net, ((p1, 1), (p2, 1)), inputs, one)
                    assert lut * autolanes.LUT_MARGIN > budget or c >= cycles - 1e-9
        assert last is None or cycles <= last
        last = cycles


def test_latency_target_takes_the_smallest_design(tmp_path):
    net = _net(tmp_path)
    inputs = autolanes.expected_inputs(net, 16, rate=0.3)
    fast, fast_single, _ = autolanes.choose_lanes(net, inputs, 100e6, max_luts=10_000)
    goal_cycles = _estimate(net, fast, inputs, fast_single)[0] * 1.5
    lanes, single, _ = autolanes.choose_lanes(net, inputs, 100e6, max_latency_us=goal_cycles / 100)
    cycles, luts = _estimate(net, lanes, inputs, single)
    assert cycles <= goal_cycles and luts <= _estimate(net, fast, inputs, fast_single)[1]
    only_double, single, _ = autolanes.choose_lanes(net, inputs, 100e6, max_latency_us=goal_cycles / 100,
                                                    accumulators="double")
    assert not single and _estimate(net, only_double, inputs)[1] >= luts


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


# Yosys synth_xilinx LUT + LUTRAM of 784-128-10 (W4, S4 threshold-centered), benchmarks/lanes.py
MEASURED = {"1": 844, "4": 1715, "4:1": 1163, "16:1,10:1": 2066, "32:1,10:1": 3164, "128:2,10:1": 8509,
            "1/single": 724, "16:1,10:1/single": 1394, "5:1,1:1/single": 852, "32:4,5:1/single": 2217,
            "64:4,4:1/single": 2667, "64:4,3:1/single": 2652, "64:2,5:1/single": 2623}
# the same, 80% pruned by magnitude, both layers' weights sparse (benchmarks/lanes.py, second table)
MEASURED_SPARSE = {"1": 931, "2": 1201, "4:1": 1297, "8:1": 1979, "16:1": 2888, "2:1,1:1/single": 846}


def test_lut_model_matches_the_measured_designs(tmp_path):
    """The coefficients reproduce the Yosys counts they were fitted to within LUT_MARGIN (docs/rtl.md)."""
    from snnc.compiler import levels
    from snnc.compiler.dialect import ModelWriter
    from snnc.compiler.geometry import parse_lanes

    rng, w = np.random.default_rng(0), ModelWriter((784,))
    for n_in, n_out in ((784, 128), (128, 10)):
        theta = max(8, int(np.sqrt(n_in) * 3))
        lv = levels.integerize_levels(levels.threshold_centered_levels(4, theta), 1.0)
        w.dense(rng.integers(-7, 8, (n_in, n_out)), 1.0, 4)
        w.lif(beta=15 / 16, threshold=float(theta), state_lsb=1.0, state_quant="threshold_centered",
              state_levels=lv.astype(float))
    import onnx
    onnx.save(w.model(), tmp_path / "m.onnx")
    net = compile_model(tmp_path / "m.onnx")
    inputs = autolanes.expected_inputs(net, 16, rate=0.13)
    sparse = ir.validate(replace(net, layers=tuple(
        replace(layer, weight=prune(layer.weight, 0.2, None, by_magnitude=True), weight_format="sparse")
        if isinstance(layer, ir.Dense) else layer for layer in net.layers)))
    for design, measured in ((net, MEASURED), (sparse, MEASURED_SPARSE)):
        for text, luts in measured.items():
            single = frozenset(lif.name for lif in net.lifs) if text.endswith("/single") else frozenset()
            lanes = parse_lanes(text.removesuffix("/single"))
            assert all((g.sparse is not None) == (design is sparse) for g in network_geometry(design, lanes))
            _, model = _estimate(design, lanes, inputs, single)
            assert abs(model - luts) <= (autolanes.LUT_MARGIN - 1) * luts, (text, model, luts)
    with pytest.raises(SnncError, match="one target"):
        autolanes.choose_lanes(net, inputs, 1e8)
