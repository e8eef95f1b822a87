"""Pooling through the stack (docs/spec.md sections 2 and 3): max and average, of currents and of
spikes, k = 2 and 3.  onnxruntime == golden on random conv/pool networks, the frontend's torch
modules == onnxruntime == golden, Verilator == golden (spikes, final states, cycle bounds), and the
importer's one-line refusals."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import helper

from netgen import random_pool_model, random_spikes
from rtl_cases import active_pool_case, rtl_equals_golden
from snnc.compiler.layer_impl import implement
from snnc.compiler import compile_model, ir, ir_file
from snnc.compiler.dialect import ModelWriter
from snnc.compiler.errors import SnncError
from snnc.sim import golden

KINDS = [(kind, on, k) for kind in ("max", "avg") for on in ("currents", "spikes") for k in (2, 3)]


@pytest.mark.parametrize("kind,on,k", KINDS)
def test_onnxruntime_equals_golden(kind, on, k, tmp_path):
    exact = kind == "max" or k == 2
    for start in (0, 40):
        net, x, want, out, _ = active_pool_case(kind, on, k, tmp_path, start)
        pools = [layer for layer in net.layers if isinstance(layer, (ir.MaxPool2d, ir.Crop2d))]
        if kind == "max":
            assert any(isinstance(p, ir.MaxPool2d) for p in pools)
        else:  # folded into a synapse, and the report's notes say so
            assert not any(isinstance(p, ir.MaxPool2d) for p in pools)
            assert any("average pool folded into synapse" in n and "fold_average_pools" in n for n in net.notes)
        if exact:
            np.testing.assert_array_equal(out, want.astype(np.uint8))
        else:  # 1/9 is no power of two: the divisor is rounded, and the notes say by how much
            assert any("is not a power of two and became 512/57" in n and "0.20% error" in n for n in net.notes)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1), kind=st.sampled_from(["max", "avg"]), on=st.sampled_from(["currents", "spikes"]),
       k=st.sampled_from([2, 3, 4]))
def test_random_pool_networks_property(seed, kind, on, k, tmp_path):
    """Any random conv/pool network whose averages are exact (k*k a power of two): golden ==
    onnxruntime, every spike, whatever the grids, leaks, level sets and remainders."""
    rng = np.random.default_rng(seed)
    model = random_pool_model(rng, kind, on, k)
    x = random_spikes(rng, model, 6, 2)
    path = tmp_path / f"prop_{seed}.onnx"
    onnx.save(model, path)
    net = compile_model(path)
    if kind == "avg" and k == 3:
        return  # the rounded divisor: see test_onnxruntime_equals_golden
    want = ort.InferenceSession(str(path)).run(None, {"spikes": x})[0]
    np.testing.assert_array_equal(golden.run(net, x.astype(np.uint8)), want.astype(np.uint8))


def test_average_fold_keeps_weights_exact(tmp_path):
    """Conv -> AvgPool(2) -> LIF on a declared grid: the folded kernel sums the window's shifted
    kernels, the LIF's grid is refined 2 bits and its leak and midpoints stay on state_lsb."""
    w = ModelWriter((1, 6, 6))
    w.conv2d(np.array([[[[1, -2], [3, 4]]]]), 0.25, 4, name="conv")
    w.pool("avg", 2, name="avg")
    w.lif(beta=0.75, threshold=1.0, state_lsb=0.25, state_quant="uniform",
          state_levels=[-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75],
          name="lif")
    path = tmp_path / "avg.onnx"
    onnx.save(w.model(), path)
    net = compile_model(path)
    conv, lif = net.layers[0], net.layers[1]
    assert conv.stride == 2 and conv.weight.shape == (1, 1, 3, 3)
    np.testing.assert_array_equal(conv.weight[0, 0], [[1, -1, -2], [4, 6, 2], [3, 7, 4]])
    assert lif.floor_bits == 2 and lif.theta == 16 and lif.levels[1] - lif.levels[0] == 4
    x = (np.random.default_rng(1).random((12, 5, 1, 6, 6)) < 0.5).astype(np.float32)
    want = ort.InferenceSession(str(path)).run(None, {"spikes": x})[0]
    np.testing.assert_array_equal(golden.run(net, x), want.astype(np.uint8))


def test_ir_with_pools_round_trips(tmp_path):
    net, *_ = active_pool_case("max", "spikes", 2, tmp_path)
    ir_file.save(net, tmp_path / "net")
    again = ir_file.load(tmp_path / "net")
    assert ir_file.fingerprint(again) == ir_file.fingerprint(net)
    assert [type(layer) for layer in again.layers] == [type(layer) for layer in net.layers]


def _pool_model(tmp_path, **attrs):
    w = ModelWriter((1, 6, 6))
    w.conv2d(np.ones((2, 1, 3, 3), np.int64), 0.5, 4, name="conv")
    w.pool("max", 2, name="pool")
    w.lif(beta=1.0, threshold=1.0, state_lsb=0.5, name="lif")
    model = w.model()
    node = next(n for n in model.graph.node if n.name == "pool")
    for key, value in attrs.items():
        for a in list(node.attribute):
            if a.name == key:
                node.attribute.remove(a)
        node.attribute.append(helper.make_attribute(key, value))
    path = tmp_path / "bad.onnx"
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("attrs,message", [
    ({"pads": [1, 1, 1, 1]}, "pooling takes no padding"),
    ({"strides": [1, 1]}, "strides equal to kernel_shape"),
    ({"kernel_shape": [2, 3], "strides": [2, 3]}, "square 2-D windows"),
    ({"ceil_mode": 1}, "pooling takes no padding, ceil_mode"),
])
def test_bad_pool_is_one_line(tmp_path, attrs, message):
    with pytest.raises(SnncError, match=message) as e:
        compile_model(_pool_model(tmp_path, **attrs))
    assert "node 'pool' (MaxPool)" in str(e.value) and "\n" not in str(e.value)


def test_pool_of_the_input_or_output_is_refused(tmp_path):
    w = ModelWriter((1, 6, 6))
    w.pool("max", 2, name="inpool")
    w.conv2d(np.ones((2, 1, 3, 3), np.int64), 0.5, 4)
    w.lif(beta=1.0, threshold=1.0, state_lsb=0.5)
    onnx.save(w.model(), tmp_path / "in.onnx")
    with pytest.raises(SnncError, match="pool the network input before the model"):
        compile_model(tmp_path / "in.onnx")
    w = ModelWriter((1, 6, 6))
    w.conv2d(np.ones((2, 1, 3, 3), np.int64), 0.5, 4)
    w.lif(beta=1.0, threshold=1.0, state_lsb=0.5)
    w.pool("max", 2, name="outpool")
    onnx.save(w.model(), tmp_path / "out.onnx")
    with pytest.raises(SnncError, match="graph output must be the spikes of the last LIF"):
        compile_model(tmp_path / "out.onnx")


RTL_CASES = [("max", "currents", 2, 1), ("max", "spikes", 3, 2), ("avg", "spikes", 2, 3), ("max", "currents", 3, 4),
             pytest.param("max", "spikes", 2, 1, marks=pytest.mark.slow),
             pytest.param("avg", "currents", 2, 2, marks=pytest.mark.slow)]


@pytest.mark.parametrize("kind,on,k,lanes", RTL_CASES)
def test_verilator_equals_golden(kind, on, k, lanes, tmp_path):
    """Every output spike, every neuron's final state, the cycle bounds and the activity counters,
    through the engines' pooled walk (current maxima, spike ORs, crops, edge windows)."""
    net, x, *_ = active_pool_case(kind, on, k, tmp_path, t_steps=6, batch=2)
    rtl_equals_golden(net, x, implement(net, lanes), tmp_path / "rtl")


TORCH_CASES = [("max", "currents", 2), ("max", "spikes", 3), ("avg", "currents", 2), ("avg", "spikes", 2),
               ("max", "spikes", 2), ("avg", "currents", 4)]


@pytest.mark.parametrize("kind,on,k", TORCH_CASES)
def test_frontend_pools_are_exact(kind, on, k, tmp_path, three_way):
    """A quantized CSNN with Pool2d in torch (eval) == onnxruntime == golden, every spike."""
    torch = pytest.importorskip("torch")
    from snnc.frontend import LIF, SNN, Pool2d, QuantConv2d, QuantLinear, UniformQuantizer

    torch.manual_seed(k)
    pool = lambda: Pool2d(kind, k)
    first = [QuantConv2d(2, 4, 3, padding=1, quantizer=UniformQuantizer(4))]
    lif = lambda: LIF(beta=0.75, threshold=0.5, state_quant="threshold_centered", state_bits=4)
    block = first + [pool(), lif()] if on == "currents" else first + [lif(), pool()]
    size = 9 if k == 3 else 8 if k == 2 else 16
    side = size // k
    model = SNN(*block, QuantConv2d(4, 4, 3, padding=1, quantizer=UniformQuantizer(4)), lif(),
                torch.nn.Flatten(start_dim=2), QuantLinear(4 * side * side, 5, quantizer=UniformQuantizer(4)), lif())
    for p in model.parameters():
        p.data = p.data.abs() * 2 - p.data.abs().mean()  # mostly excitatory: every layer spikes
    x = (np.random.default_rng(k).random((10, 3, 2, size, size)) < 0.4).astype(np.float32)
    out = three_way(model, x, tmp_path / "csnn.onnx", input_shape=(2, size, size))
    assert out.any()


def test_frontend_refuses_inexact_average(tmp_path):
    pytest.importorskip("torch")
    from snnc.frontend import LIF, SNN, Pool2d, QuantConv2d, UniformQuantizer, export_onnx

    model = SNN(QuantConv2d(1, 2, 3, quantizer=UniformQuantizer(4)), Pool2d("avg", 3), LIF())
    with pytest.raises(SnncError, match="not exact on a power-of-two grid"):
        export_onnx(model, tmp_path / "m.onnx", 4, (1, 9, 9))
