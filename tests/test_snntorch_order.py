"""snnTorch's update order (docs/spec.md section 2, LIF attribute order = "snntorch"): the golden
model against the section's formulas worked by hand, onnxruntime running the dialect's LIF
function against the golden model on random networks, and the RTL against both in Verilator."""
from dataclasses import replace

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from netgen import RESETS, STATE_MODES, LayerSpec, random_model, random_spikes
from rtl_cases import check_cycles, expected_final_states
from snnc.compiler.layer_impl import implement
from snnc.compiler import compile_model, ir, ir_file
from snnc.compiler.errors import SnncError
from snnc.sim import golden


def neuron(reset: str, order: str = "snntorch") -> ir.LIF:
    """theta 4, beta 1/2, state clamped to [-8, 7]."""
    return ir.LIF("n", (1,), 4, 1, 1, reset, "none", -8, 7, order=order)


@pytest.mark.parametrize("reset, spikes, states", [
    # I:         5  0   0   3  9  0
    ("subtract", [1, 0, 0, 0, 1, 0], [5, -2, -1, 2, 7, -1]),
    ("zero",     [1, 0, 0, 0, 1, 0], [5, 0, 0, 3, 7, 0]),
])
def test_golden_follows_the_worked_example(reset, spikes, states):
    """t0: v=0, p=0: u = 5, v = 5 > 4 fires.  t1 (subtract): p=1, u = floor(5/2) + 0 - 4 = -2;
    (zero): u = floor(0/2) + 0 = 0.  t4: u = floor(2/2) + 9 = 10 clamps to 7 > 4: fires.  t5
    (subtract): p=1, u = floor(7/2) - 4 = -1; (zero): 0."""
    lif, v, got_s, got_v = neuron(reset), np.zeros(1, np.int64), [], []
    for i in (5, 0, 0, 3, 9, 0):
        s, v = golden.lif_step(lif, v, np.array([i]))
        got_s.append(int(s[0]))
        got_v.append(int(v[0]))
    assert (got_s, got_v) == (spikes, states)


def test_a_state_exactly_at_theta_fires_in_snnc_order_only():
    v = np.zeros(1, np.int64)
    s_snnc, _ = golden.lif_step(neuron("subtract", "snnc"), v, np.array([4]))
    s_torch, v_torch = golden.lif_step(neuron("subtract"), v, np.array([4]))
    assert (int(s_snnc[0]), int(s_torch[0]), int(v_torch[0])) == (1, 0, 4)


def torch_order_specs(i: int) -> list[LayerSpec]:
    """Widths, level sets and resets in turn; clamped states get room above theta (a clamp at
    theta never fires in this order: it fires strictly above)."""
    rng = np.random.default_rng(500 + i)
    return [LayerSpec(int(rng.integers(2, 12)), (2, 4, 8)[(i + k) % 3], STATE_MODES[(i + k) % 3],
                      (2, 3, 4)[(i + 2 * k) % 3] + (STATE_MODES[(i + k) % 3] == "none") * 4, RESETS[(i + k) % 2],
                      order="snntorch") for k in range(1 + i % 3)]


@pytest.mark.parametrize("i", range(24))
def test_onnxruntime_equals_golden(i, tmp_path):
    rng = np.random.default_rng(i)
    model = random_model(rng, int(rng.integers(3, 16)), torch_order_specs(i))
    onnx.save(model, tmp_path / "m.onnx")
    net = compile_model(tmp_path / "m.onnx")
    assert all(lif.order == "snntorch" for lif in net.lifs)
    x = random_spikes(rng, model, 12, 3)
    want = ort.InferenceSession(model.SerializeToString()).run(None, {"spikes": x})[0]
    np.testing.assert_array_equal(golden.run(net, x.astype(np.uint8)), want.astype(np.uint8))


def test_an_unknown_order_is_refused(tmp_path):
    model = random_model(np.random.default_rng(0), 4, [LayerSpec(3, 4, "none", 4, "subtract")])
    node = next(n for n in model.graph.node if n.op_type == "LIF")
    node.attribute.append(onnx.helper.make_attribute("order", "norse"))
    onnx.save(model, tmp_path / "m.onnx")
    with pytest.raises(SnncError, match="order must be one of snnc, snntorch, got 'norse'"):
        compile_model(tmp_path / "m.onnx")


def active_torch_case(i: int, tmp_path):
    for attempt in range(60):
        rng = np.random.default_rng(9000 + 31 * i + attempt)
        model = random_model(rng, int(rng.integers(4, 16)), torch_order_specs(i))
        onnx.save(model, tmp_path / f"t{i}.onnx")
        net = compile_model(tmp_path / f"t{i}.onnx")
        x = random_spikes(rng, model, 10, 2).astype(np.uint8)
        out, trace = golden.run(net, x, trace=True)
        if all(trace.outputs[lif.name].any() for lif in net.lifs):
            return net, x, out, trace
    raise AssertionError(f"no active snnTorch-order network for case {i}")


@pytest.mark.parametrize("i, lanes", [(0, 1), (2, 4), (4, 3), *(pytest.param(*c, marks=pytest.mark.slow) for c in ((1, 2), (5, 2)))])
def test_verilator_equals_golden(i, lanes, tmp_path):
    from snnc.sim import rtl

    net, x, out, trace = active_torch_case(i, tmp_path)
    result = rtl.run(net, x, impl := implement(net, lanes), work_dir=tmp_path / "rtl")
    np.testing.assert_array_equal(result.outputs, out.reshape(result.outputs.shape))
    for name, states in expected_final_states(net, trace).items():
        np.testing.assert_array_equal(result.final_states[name], states, err_msg=f"final states of {name}")
    check_cycles(net, x, impl, trace, result)


def test_the_ir_keeps_the_order(tmp_path):
    net, *_ = active_torch_case(1, tmp_path)
    ir_file.save(net, tmp_path / "net")
    assert [lif.order for lif in ir_file.load(tmp_path / "net").lifs] == ["snntorch"] * len(net.lifs)
    with pytest.raises(SnncError, match="order must be one of"):
        ir.validate(replace(net, layers=tuple(replace(lay, order="x") if isinstance(lay, ir.LIF) else lay
                                              for lay in net.layers)))


@pytest.mark.parametrize("state_quant, reset", [("threshold_centered", "subtract"), ("uniform", "zero"),
                                                ("none", "subtract"), ("threshold_centered", "zero")])
def test_frontend_lif_in_snntorch_order_is_exact(state_quant, reset, tmp_path, three_way):
    """snnc.frontend's LIF(order="snntorch") in eval: torch == onnxruntime == golden, every spike."""
    torch = pytest.importorskip("torch")
    from snnc.frontend import LIF, SNN, QuantLinear, make_quantizer

    torch.manual_seed(0)
    lif = lambda: LIF(beta=0.875, threshold=1.0, reset=reset, state_quant=state_quant, state_bits=4, order="snntorch")
    model = SNN(QuantLinear(20, 16, quantizer=make_quantizer("uniform", 4)), lif(),
                QuantLinear(16, 6, quantizer=make_quantizer("uniform", 4)), lif())
    with torch.no_grad():
        for layer in model.synapses():
            layer.weight.mul_(3.0)  # enough current to fire
    x = (np.random.default_rng(1).random((16, 8, 20)) < 0.5).astype(np.float32)
    spikes = three_way(model, x, tmp_path / "m.onnx")
    assert spikes.sum() > 0 and compile_model(tmp_path / "m.onnx").lifs[0].order == "snntorch"
