"""snnc compile -> Verilog (lint-clean), simulate --engine rtl == golden, report with synthesis."""
import json
import subprocess

import numpy as np
import pytest

from snnc.cli import main
from netgen import float_mlp_model as float_model
from rtl_cases import waveform_signals
from snnc.sim import rtl
from snnc.sim.rtl import VERILATOR_WAIVERS, verilator_env


def report_json(capsys, build, *extra):
    assert main(["report", str(build), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_compile_lint_simulate_report(tmp_path, capsys, monkeypatch):
    model = float_model(tmp_path / "m.onnx", np.random.default_rng(0))
    build = tmp_path / "b"
    assert main(["compile", str(model), "--bits", "4", "--state-bits", "4", "--state-quant", "threshold-centered",
                 "--lanes", "4", "-o", str(build)]) == 0
    capsys.readouterr()
    verilog = build / "snnc_top.v"
    env = {**__import__("os").environ, **verilator_env()}
    lint = subprocess.run(["verilator", "--lint-only", *VERILATOR_WAIVERS, str(verilog)], capture_output=True,
                          text=True, env=env)
    assert lint.returncode == 0 and "%Error" not in lint.stderr, lint.stderr[-2000:]

    x = (np.random.default_rng(1).random((10, 6, 24)) < 0.4).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    monkeypatch.chdir(tmp_path)  # paths as a user types them, relative to where they are
    for engine in ("golden", "rtl"):
        assert main(["simulate", "b", "--input", "x.npy", "--output", f"{engine}.npy", "--engine", engine]) == 0
    golden_out, rtl_out = np.load(tmp_path / "golden.npy"), np.load(tmp_path / "rtl.npy")
    np.testing.assert_array_equal(rtl_out, golden_out)
    assert golden_out.sum() > 0
    capsys.readouterr()

    rep = report_json(capsys, build)
    assert [d["state_bits_per_neuron"] for d in rep["design"]["layers"]] == [4, 4]
    assert rep["design"]["ram_bits"]["state"] == 4 * (20 + 8)  # 20 and 5 neurons, padded to groups of 4 lanes
    res = rep["synthesis"]["resources"]
    assert res["LUT"] > 0 and res["FF"] > 0 and res["DSP48"] == 0 and rep["synthesis"]["lut_levels"] > 0
    assert rep["simulation"]["samples"] == 6 and rep["simulation"]["mean_cycles_per_inference"] > 10 * 6
    clock = rep["design"]["clock"]  # from the synthesized netlist (docs/rtl.md, "Clock")
    assert 50 < clock["estimated_mhz"] < 400 and clock["target_mhz"] == 100 and clock["hops"] >= 1
    assert clock["meets_target"] == (clock["estimated_mhz"] >= 100) and clock["deepest_path"]
    assert rep["simulation"]["mean_latency_us"] == rep["simulation"]["mean_cycles_per_inference"] / 100
    assert main(["report", str(build)]) == 0
    text = capsys.readouterr().out
    assert "LUT levels" in text and "per inference" in text and "state 4 bits/neuron" in text
    assert f"estimated clock: {clock['estimated_mhz']} MHz" in text

    fast = report_json(capsys, build, "--clock-mhz", "1000")  # a target it cannot meet: a warning, and the
    assert fast["design"]["clock"]["meets_target"] is False  # latency and energy at that clock
    assert "below the target 1000 MHz; deepest path: " in fast["design"]["clock"]["warning"]
    assert fast["simulation"]["mean_latency_us"] == rep["simulation"]["mean_latency_us"] / 10
    assert fast["energy"]["clock_hz"] == 1e9
    assert main(["report", str(build), "--clock-mhz", "0"]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_state_memory_per_neuron(tmp_path, capsys):
    model = float_model(tmp_path / "m.onnx", np.random.default_rng(2))
    widths = {}
    for quant in ("uniform", "threshold-centered", "none"):
        build = tmp_path / quant
        assert main(["compile", str(model), "--bits", "4", "--state-quant", quant, "-o", str(build)]
                    + (["--state-bits", "4"] if quant != "none" else [])) == 0
        capsys.readouterr()
        widths[quant] = [d["state_bits_per_neuron"] for d in report_json(capsys, build, "--no-synth")["design"]["layers"]]
    assert widths == {"uniform": [4, 4], "threshold-centered": [4, 4], "none": [16, 16]}


def test_unknown_simulator_is_a_user_error(tmp_path, capsys, monkeypatch):
    model = float_model(tmp_path / "m.onnx", np.random.default_rng(3))
    assert main(["compile", str(model), "-o", str(tmp_path / "b")]) == 0
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 24), np.uint8))
    monkeypatch.setattr(rtl, "simulator_available", lambda name: False)
    code = main(["simulate", str(tmp_path / "b"), "--input", str(tmp_path / "x.npy"), "--output",
                 str(tmp_path / "y.npy"), "--engine", "rtl", "--simulator", "icarus"])
    err = capsys.readouterr().err
    assert code == 1 and "icarus is not installed" in err and not (tmp_path / "y.npy").exists()


@pytest.mark.parametrize("lanes,want,units", [("3,1", "3,1", [3, 1]), ("4:1,2:2", "4:1,2", [1, 2])])
def test_lanes_per_layer(tmp_path, capsys, lanes, want, units):
    """P lanes per layer, and P:U (U LIF update units): the report shows both, RTL == golden."""
    model = float_model(tmp_path / "m.onnx", np.random.default_rng(4))
    assert main(["compile", str(model), "--bits", "4", "--lanes", lanes, "-o", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    rep = report_json(capsys, tmp_path / "b", "--no-synth")
    assert [d["lanes"] for d in rep["design"]["layers"]] == [int(p.split(":")[0]) for p in want.split(",")]
    assert rep["design"]["lanes"] == want and [d["update_units"] for d in rep["design"]["layers"]] == units
    x = (np.random.default_rng(5).random((6, 3, 24)) < 0.4).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    for engine in ("golden", "rtl"):
        assert main(["simulate", str(tmp_path / "b"), "--input", str(tmp_path / "x.npy"),
                     "--output", str(tmp_path / f"{engine}.npy"), "--engine", engine]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "rtl.npy"), np.load(tmp_path / "golden.npy"))
    capsys.readouterr()
    assert main(["compile", str(model), "--lanes", "3,1,2", "-o", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "one per layer (2 layers: lif1, lif2)" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("simulator, suffix", [("verilator", ".fst"), ("icarus", ".vcd"),
                                               *(pytest.param(*c, marks=pytest.mark.slow)
                                                 for c in (("verilator", ".vcd"), ("icarus", ".fst")))])
def test_simulate_writes_a_trace(simulator, suffix, tmp_path, capsys):
    """snnc simulate --engine rtl --trace t.fst|t.vcd: the simulator's own tracer writes the run's
    waveform, which libfst (or a VCD parse) reads, with each layer engine's busy signal in it; the
    outputs are the untraced run's; a GTKWave layout (t.gtkw) groups each engine's signals."""
    if not rtl.simulator_available(simulator):
        pytest.skip("Icarus Verilog (iverilog) not installed")
    if simulator == "verilator" and suffix == ".fst" and not rtl.lz4_headers():
        pytest.skip("Verilator's FST writer needs the lz4 headers (liblz4-dev)")
    model = float_model(tmp_path / "m.onnx", np.random.default_rng(4))
    assert main(["compile", str(model), "--bits", "4", "--lanes", "2", "-o", str(tmp_path / "b")]) == 0
    x = (np.random.default_rng(5).random((6, 2, 24)) < 0.4).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    trace = tmp_path / f"t{suffix}"
    args = ["simulate", str(tmp_path / "b"), "--input", str(tmp_path / "x.npy"), "--engine", "rtl",
            "--simulator", simulator]
    assert main([*args, "--output", str(tmp_path / "y.npy"), "--trace", str(trace)]) == 0
    assert main([*args, "--output", str(tmp_path / "plain.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), np.load(tmp_path / "plain.npy"))
    signals = waveform_signals(trace)
    for i in range(2):
        assert {f"snnc_top.layer{i}.busy", f"snnc_top.layer{i}.scatter.busy", f"snnc_top.layer{i}.update.busy"} <= signals
    layout = (tmp_path / "t.gtkw").read_text()
    assert f'[dumpfile] "{trace}"' in layout and "-layer1 (lif2)" in layout
    assert {line for line in layout.splitlines() if line.startswith("snnc_top.")} <= signals
    if suffix == ".vcd":  # a window of timesteps 2 and 3 of each sample: the same signals, a part of the times
        window = tmp_path / "w.vcd"
        assert main([*args, "--output", str(tmp_path / "w.npy"), "--trace", str(window), "--trace-steps", "2:4"]) == 0
        times = lambda p: [int(line[1:]) for line in p.read_text().splitlines() if line.startswith("#")]
        full, cut = times(trace), times(window)
        assert waveform_signals(window) == signals and set(cut) <= set(full) and 0 < len(cut) < len(full) / 2
        assert window.stat().st_size < trace.stat().st_size / 2 and min(cut) > 0
        if simulator == "icarus":  # a standard header (Verilator's $rootio scope is its own): pyvcd parses it whole
            import vcd.reader

            with open(window, "rb") as f:
                assert sum(1 for _ in vcd.reader.tokenize(f)) > 100


def test_trace_needs_the_rtl_and_a_known_format(tmp_path, capsys):
    model = float_model(tmp_path / "m.onnx", np.random.default_rng(4))
    assert main(["compile", str(model), "--bits", "4", "-o", str(tmp_path / "b")]) == 0
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 24), np.uint8))
    base = ["simulate", str(tmp_path / "b"), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]
    capsys.readouterr()
    rtl_trace = ["--engine", "rtl", "--trace"]
    for extra, message in ((["--trace", str(tmp_path / "t.vcd")], "--trace records the RTL's waveform: it goes with "
                            "--engine rtl"), ([*rtl_trace, str(tmp_path / "t.lxt")], "the waveform file must end in "
                                              ".fst or .vcd"),
                           ([*rtl_trace, str(tmp_path / "t.fst"), "--trace-steps", "0:1"], "name a .vcd"),
                           ([*rtl_trace, str(tmp_path / "t.vcd"), "--trace-steps", "1:5"], "0 <= A < B <= 2"),
                           ([*rtl_trace, str(tmp_path / "t.vcd"), "--trace-steps", "x"], "--trace-steps must be A:B")):
        assert main([*base, *extra]) == 1
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and not (tmp_path / "y.npy").exists()


class Bar:
    """A stand-in for tqdm that records what sim.rtl.shown does with it."""

    made: list = []

    def __init__(self, total, desc):
        self.total, self.desc, self.n, self.refreshes, self.closed = total, desc, 0, 0, False
        Bar.made.append(self)

    def refresh(self):
        self.refreshes += 1

    def close(self):
        self.closed = True


def test_the_rtl_run_shows_progress_on_a_terminal(tmp_path, capsys):
    """sim.rtl.run with a bar factory: one bar for the Verilator build, one counting the samples the
    bench has finished; snnc simulate piped (no terminal) shows none."""
    from snnc.compiler import build_folder

    model = float_model(tmp_path / "m.onnx", np.random.default_rng(6))
    assert main(["compile", str(model), "--bits", "4", "-o", str(tmp_path / "b")]) == 0
    net, settings = build_folder.load(tmp_path / "b")
    x = (np.random.default_rng(7).random((5, 3, 24)) < 0.4).astype(np.uint8)
    Bar.made = []
    rtl.run(net, x, settings.layers, work_dir=tmp_path / "fresh", progress=Bar)
    assert [(b.desc, b.total) for b in Bar.made] == [("building the verilator model", None),
                                                     ("simulating (verilator)", 3)]
    assert all(b.closed for b in Bar.made) and Bar.made[1].n == 3 and Bar.made[0].refreshes > 0
    np.save(tmp_path / "x.npy", x)
    capsys.readouterr()
    assert main(["simulate", str(tmp_path / "b"), "--input", str(tmp_path / "x.npy"), "--output",
                 str(tmp_path / "y.npy"), "--engine", "rtl"]) == 0
    assert capsys.readouterr().err == ""
