"""Compile-time behaviour: weight quantization, exact INT4 import, state quantization, IR round trip."""
import numpy as np
import onnx
import pytest

from netgen import LayerSpec, random_model
from snnc.compiler import Options, compile_model, ir, ir_file
from snnc.compiler.dialect import ModelWriter
from snnc.compiler.scales import fit_bits, pow2_quantize


def float_model(tmp_path, rng, state_quant="none"):
    w = ModelWriter((20,))
    w.dense(rng.normal(0, 0.3, (20, 16)), bits=None, bias=rng.normal(0, 0.05, 16))
    w.lif(beta=0.1, threshold=1.0, state_quant=state_quant)  # float32 0.1 needs 27 binary digits
    w.dense(rng.normal(0, 0.3, (16, 4)), bits=None)
    w.lif(beta=0.8, threshold=1.0, reset="zero", state_quant=state_quant)
    path = tmp_path / "float.onnx"
    onnx.save(w.model(), path)
    return path


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_float_model_quantized_in_range_with_error_reported(tmp_path, bits):
    path = float_model(tmp_path, np.random.default_rng(1))
    net = compile_model(path, Options(bits=bits))
    lo, hi = ir.weight_range(bits)
    for layer in net.layers:
        if isinstance(layer, ir.Dense):
            assert layer.weight_bits <= bits and lo <= layer.weight.min() and layer.weight.max() <= hi
    notes = " ".join(net.notes)
    assert f"float weights quantized to {bits} bits" in notes and "RMS error" in notes
    assert "beta 0.1 rounded to" in notes  # a leak beyond B/2**24 is approximated and said so
    if bits == 1:
        assert all(set(np.unique(layer.weight)) <= {-1, 1} for layer in net.layers if isinstance(layer, ir.Dense))


def test_quantization_error_shrinks_with_bits(tmp_path):
    rng = np.random.default_rng(2)
    w = rng.normal(0, 1, 4096)
    errs = []
    for bits in (2, 4, 8):
        q, s = pow2_quantize(w, bits)
        assert np.log2(s) == int(np.log2(s))  # power-of-two scale
        errs.append(np.sqrt(np.mean((q * s - w) ** 2)))
    assert errs[0] > errs[1] > errs[2] and errs[2] < 0.02


def test_int4_model_keeps_weights_exactly(tmp_path):
    rng = np.random.default_rng(3)
    q1, q2 = rng.integers(-7, 8, (12, 8)), rng.integers(-7, 8, (8, 3))
    w = ModelWriter((12,))
    w.dense(q1, scale=0.125, bits=4)
    w.lif(beta=0.5, threshold=1.0, state_lsb=0.125, state_min=-4, state_max=4)
    w.dense(q2, scale=0.25, bits=4)
    w.lif(beta=0.75, threshold=2.0, state_lsb=0.25, state_min=-8, state_max=8)
    onnx.save(w.model(), tmp_path / "int4.onnx")
    for bits in (4, 8, None):
        net = compile_model(tmp_path / "int4.onnx", Options(bits=bits))
        dense = [layer for layer in net.layers if isinstance(layer, ir.Dense)]
        np.testing.assert_array_equal(dense[0].weight, q1.T)
        np.testing.assert_array_equal(dense[1].weight, q2.T)
        assert not net.notes
    net = compile_model(tmp_path / "int4.onnx", Options(bits=2))  # narrower than the model: requantized
    assert "4-bit weights quantized to 2 bits" in net.notes[0]


@pytest.mark.parametrize("mode", ["uniform", "threshold_centered"])
@pytest.mark.parametrize("state_bits", [2, 3, 4, 8])
def test_state_quantization_option(tmp_path, mode, state_bits):
    path = float_model(tmp_path, np.random.default_rng(4))
    net = compile_model(path, Options(bits=4, state_bits=state_bits, state_quant=mode))
    for lif in net.lifs:
        assert lif.state_quant == mode and len(lif.levels) == 2 ** state_bits
        assert lif.state_bits == state_bits and np.all(np.diff(lif.levels) > 0)
        assert mode == "uniform" or lif.theta in lif.levels


def test_unquantized_state_register_width(tmp_path):
    net = compile_model(float_model(tmp_path, np.random.default_rng(5)), Options(bits=4))
    assert all(lif.state_bits == 16 for lif in net.lifs)
    net = compile_model(float_model(tmp_path, np.random.default_rng(5)), Options(bits=4, state_bits=10))
    assert all((lif.v_min, lif.v_max, lif.state_bits) == (-512, 511, 10) for lif in net.lifs)


def test_register_widths_hold_proven_bounds(tmp_path):
    rng = np.random.default_rng(6)
    onnx.save(random_model(rng, 30, [LayerSpec(20, 8, "threshold_centered", 4, "subtract"),
                                      LayerSpec(5, 4, "none", 8, "zero")]), tmp_path / "n.onnx")
    net = compile_model(tmp_path / "n.onnx")
    dense = net.layers[0]
    w = dense.weight << dense.shift[:, None]
    fits = lambda v, bits: -(1 << (bits - 1)) <= v <= (1 << (bits - 1)) - 1
    assert fits(int(np.where(w > 0, w, 0).sum(axis=1).max() + dense.bias.max()), dense.current_bits)
    assert fits(int(np.where(w < 0, w, 0).sum(axis=1).min() + dense.bias.min()), dense.current_bits)
    assert not fits(int(np.abs(w).sum(axis=1).max()) * 4, dense.current_bits)  # and not wastefully wide
    raw = dense.weight  # the accumulator RAM holds unshifted, bias-free sums, exactly as wide as they need
    assert fits(int(np.where(raw > 0, raw, 0).sum(axis=1).max()), dense.accumulator_bits)
    assert fits(int(np.where(raw < 0, raw, 0).sum(axis=1).min()), dense.accumulator_bits)
    assert not fits(int(np.where(raw > 0, raw, 0).sum(axis=1).max()), dense.accumulator_bits - 1) or \
        not fits(int(np.where(raw < 0, raw, 0).sum(axis=1).min()), dense.accumulator_bits - 1)
    assert net.layers[1].state_bits == 4 and net.layers[3].state_bits == 8


def test_ir_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(7)
    onnx.save(random_model(rng, 0, [LayerSpec(3, 4, "uniform", 3, "zero", conv=True),
                                     LayerSpec(7, 2, "threshold_centered", 4, "subtract"),
                                     LayerSpec(4, 1, "none", 8, "subtract")]), tmp_path / "c.onnx")
    net = compile_model(tmp_path / "c.onnx")
    ir_file.save(net, tmp_path / "ir")
    back = ir_file.load(tmp_path / "ir")
    assert (back.name, back.input_shape, back.notes) == (net.name, net.input_shape, net.notes)
    for a, b in zip(net.layers, back.layers, strict=True):
        assert type(a) is type(b)
        for key, va in a.__dict__.items():
            vb = getattr(b, key)
            if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
                assert va.dtype == vb.dtype
                np.testing.assert_array_equal(va, vb)
            else:
                assert va == vb and type(va) is type(vb), key


def test_fit_bits():
    assert fit_bits(np.array([-1, 1, 1])) == 1
    assert fit_bits(np.array([-1, 0, 1])) == 2
    assert fit_bits(np.array([7, -7])) == 4
    assert fit_bits(np.array([-8])) == 5
