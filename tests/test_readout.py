"""Membrane readouts (docs/spec.md section 2): the last LIF's stored states as the network's output,
through the golden model, onnxruntime, the RTL, the simulated board and the command line."""
from dataclasses import replace

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from snnc.cli import main
from snnc.compiler import compile_model, ir
from snnc.compiler.dialect import ModelWriter
from snnc.compiler.errors import SnncError
from snnc.compiler.tokens import MembraneTokens
from snnc.sim import golden


def readout_lif(**kw) -> ir.LIF:
    args = dict(name="out", shape=(1,), theta=8, leak_b=7, leak_f=3, reset="none", state_quant="none",
                v_min=-64, v_max=63, membrane_bits=10, state_bits=7, output="membrane")
    return ir.LIF(**{**args, **kw})


def test_the_worked_example():
    """docs/spec.md: currents 8, 8, 0, -20 from rest at beta 7/8 give 8, 15, 13, -9."""
    lif = readout_lif()
    v, got = np.zeros((1, 1), np.int64), []
    for current in (8, 8, 0, -20):
        _, v = golden.lif_step(lif, v, np.full((1, 1), current))
        got.append(int(v[0, 0]))
    assert got == [8, 15, 13, -9]


def small_net(rng, output="membrane", reset="none", beta=0.875, lsb=0.25, state_max=15.75, levels=None):
    w = ModelWriter((12,))
    w.dense(rng.integers(-7, 8, (12, 10)), 0.25, 4, name="fc1")
    w.lif(beta=0.75, threshold=2.0, state_lsb=0.25, state_min=-8, state_max=7.75, name="lif1")
    w.dense(rng.integers(-7, 8, (10, 4)), 0.25, 4, name="fc2")
    bounds = {} if levels is not None else dict(state_min=-state_max - lsb, state_max=state_max)
    w.lif(beta=beta, threshold=2.0, reset=reset, state_lsb=lsb, name="readout", output=output,
          state_quant="none" if levels is None else "uniform", state_levels=levels, **bounds)
    return w.model()


def test_a_beta_zero_readout_outputs_the_current(tmp_path):
    """A final Linear with no neuron after it is a readout with beta 0 and reset none: v = Q(I)."""
    rng = np.random.default_rng(1)
    path = tmp_path / "m.onnx"
    onnx.save(small_net(rng, beta=0.0, state_max=63.75), path)
    net = compile_model(path)
    x = (rng.random((6, 3, 12)) < 0.5).astype(np.uint8)
    out, trace = golden.run(net, x, trace=True)
    fc2 = net.layers[-2]
    current = golden.synaptic_current(fc2, trace.outputs["lif1"].reshape(-1, 10)).reshape(6, 3, 4)
    np.testing.assert_array_equal(out, current)
    assert out.dtype == np.int64 and np.abs(out).max() > 0


@pytest.mark.parametrize("reset", ["none", "subtract", "zero"])
def test_onnxruntime_gives_the_readout_in_real_units(reset, tmp_path):
    rng = np.random.default_rng(2)
    model = small_net(rng, reset=reset)
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    x = (rng.random((10, 4, 12)) < 0.4).astype(np.float32)
    want = ort.InferenceSession(str(path)).run(None, {"spikes": x})[0]
    net = compile_model(path)
    got = golden.run(net, x)
    np.testing.assert_array_equal(got * net.lifs[-1].lsb, want)
    assert len(np.unique(got)) > 4


def test_membrane_tokens_round_trip():
    rng = np.random.default_rng(3)
    plain = MembraneTokens(5, 6, None, 8)
    values = rng.integers(-32, 32, (7, 5))
    np.testing.assert_array_equal(plain.decode(plain.encode(values), 7), values)
    levels = (-8, -2, 0, 1, 2, 3, 5, 9)
    coded = MembraneTokens(3, 3, levels, 3)
    values = rng.choice(levels, (4, 3))
    np.testing.assert_array_equal(coded.decode(coded.encode(values), 4), values)
    with pytest.raises(SnncError, match="expected 4 timesteps"):
        coded.decode(coded.encode(values)[:-1], 4)


def test_classify_by_the_last_or_the_largest_membrane():
    out = np.array([[[9, 0, 1]], [[0, 2, 5]]], np.int32)  # [T=2, B=1, N=3]
    assert golden.classify(out).tolist() == [2]
    assert golden.classify(out, "max").tolist() == [0]
    assert golden.classify(out.astype(np.uint8)).tolist() == [0]  # spikes: the most


def test_a_readout_must_be_last_and_flat():
    hidden = ir.Dense("fc", np.ones((2, 3), np.int64), np.zeros(2, np.int64), np.zeros(2, np.int64), 2)
    lif = readout_lif(shape=(2,))
    fc2 = replace(hidden, name="fc2", weight=np.ones((2, 2), np.int64))
    with pytest.raises(SnncError, match="readout must be the network's last layer"):
        ir.validate(ir.Network("n", (3,), (hidden, lif, fc2, replace(lif, name="out2", output="spikes"))))
    conv = ir.Conv2d("c", np.ones((1, 1, 1, 1), np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64), 2, (1, 2, 2))
    with pytest.raises(SnncError, match="readout must be flat"):
        ir.validate(ir.Network("n", (1, 2, 2), (conv, readout_lif(shape=(1, 2, 2)))))


def test_the_command_line_writes_membranes_from_every_engine(tmp_path, capsys):
    """golden, the RTL and the simulated board write the same int32 membranes, onnxruntime's / lsb."""
    rng = np.random.default_rng(4)
    model_path, x_path = tmp_path / "m.onnx", tmp_path / "x.npy"
    onnx.save(small_net(rng, levels=[v * 0.25 for v in range(-8, 8)]), model_path)
    x = (rng.random((8, 3, 12)) < 0.4).astype(np.float32)
    np.save(x_path, x)
    want = ort.InferenceSession(str(model_path)).run(None, {"spikes": x})[0]
    build = tmp_path / "b"
    assert main(["compile", str(model_path), "--lanes", "2:1", "--board", "arty-a7-35", "--baud", "3000000", "-o", str(build)]) == 0
    outs = {}
    for name, args in (("golden", ["simulate", "--engine", "golden"]), ("rtl", ["simulate", "--engine", "rtl"]),
                       ("board", ["run", "--sim"])):
        y = tmp_path / f"{name}.npy"
        assert main([args[0], str(build), *args[1:], "--input", str(x_path), "--output", str(y)]) == 0
        outs[name] = np.load(y)
        assert "membranes of readout 'readout' (int32, x 0.25 each" in capsys.readouterr().out
    for name, y in outs.items():
        assert y.dtype == np.int32 and y.shape == (8, 3, 4), name
        np.testing.assert_array_equal(y * 0.25, want, err_msg=name)


def test_wide_readout_states_take_two_words_on_the_host_link(tmp_path, capsys):
    """19-bit states (a float readout's grid) go over the UART as two words each; 33-bit ones are refused."""
    rng = np.random.default_rng(5)
    path, x_path = tmp_path / "m.onnx", tmp_path / "x.npy"
    onnx.save(small_net(rng, lsb=2.0 ** -14, state_max=16.0), path)
    np.save(x_path, (rng.random((6, 2, 12)) < 0.4).astype(np.float32))
    build = tmp_path / "b"
    assert main(["compile", str(path), "--board", "arty-a7-35", "--baud", "3000000", "-o", str(build)]) == 0
    for name, args in (("golden", ["simulate"]), ("board", ["run", "--sim"])):
        assert main([args[0], str(build), *args[1:], "--input", str(x_path), "--output", str(tmp_path / f"{name}.npy")]) == 0
    net = compile_model(path)
    assert net.lifs[-1].state_bits > 16
    golden_out, board_out = np.load(tmp_path / "golden.npy"), np.load(tmp_path / "board.npy")
    np.testing.assert_array_equal(board_out, golden_out)
    assert np.abs(golden_out).max() > 1 << 15
    onnx.save(small_net(rng, lsb=2.0 ** -30, state_max=16.0), path)
    capsys.readouterr()
    assert main(["compile", str(path), "--board", "arty-a7-35", "-o", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "readout 'readout'" in err and "do not fit two 16-bit words" in err and err.count("\n") == 1
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("order, alpha, recurrent", [("snnc", None, False), ("snntorch", None, True), ("snnc", 0.5, True),
                                                     ("snntorch", 0.75, False)])
def test_the_front_end_trains_and_exports_a_readout(order, alpha, recurrent, tmp_path):
    """snnc.frontend's LIF(reset="none", output="membrane"), after a LIF with or without a synaptic
    current (alpha), recurrent or not (QuantLinear(recurrent=True)): a loss on its membranes trains
    the weights (the recurrent ones too), and the eval model, its ONNX export and the golden model
    give the same membranes."""
    torch = pytest.importorskip("torch")
    from snnc.frontend import LIF, SNN, QuantLinear, UniformQuantizer, export_onnx

    torch.manual_seed(0)
    m = SNN(QuantLinear(12, 10, quantizer=UniformQuantizer(4), recurrent=recurrent), LIF(beta=0.75, order=order, alpha=alpha),
            QuantLinear(10, 3, quantizer=UniformQuantizer(4)),
            LIF(beta=0.875, reset="none", output="membrane", order=order, state_quant="uniform", state_bits=6))
    x = (torch.rand(12, 8, 12) < 0.5).float()
    loss = torch.nn.functional.cross_entropy(m.train()(x)[-1], torch.arange(8) % 3)
    loss.backward()
    assert m[0].weight.grad.abs().sum() > 0 and m[2].weight.grad.abs().sum() > 0
    assert not recurrent or m[0].weight.grad[:, 12:].abs().sum() > 0
    with torch.no_grad():
        want = m.eval()(x).numpy()
    export_onnx(m, tmp_path / "m.onnx", x.shape[0], check=False)
    got_ort = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"spikes": x.numpy()})[0]
    net = compile_model(tmp_path / "m.onnx")
    got = golden.run(net, x.numpy())
    assert net.lifs[-1].readout and net.lifs[0].synaptic == (alpha is not None) and net.layers[0].recurrent == recurrent
    np.testing.assert_array_equal(got_ort, want)
    np.testing.assert_array_equal(got * net.lifs[-1].lsb, want)
    assert len(np.unique(want)) > 3


def test_the_rows_demo_runs_end_to_end(tmp_path):
    """examples/rows/demo.py at one epoch: trained, compiled for arty-a7-35, PyTorch == golden on the
    test split and the board core's membranes over UART == golden."""
    import subprocess
    import sys
    from pathlib import Path

    demo = Path(__file__).parents[1] / "examples" / "rows" / "demo.py"
    run = subprocess.run([sys.executable, str(demo), "--epochs", "1", "--rtl-samples", "1", "-o", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    table = (tmp_path / "rows.txt").read_text()
    assert "PyTorch membranes identical: True" in table and "membranes identical to golden: True" in table
