"""The PyTorch front end: quantizers, LIF, pruning, PTQ, export; torch == onnxruntime == golden."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from snnc.compiler import SnncError, compile_model
from snnc.frontend import (LIF, SNN, BinaryQuantizer, PruningSchedule, QuantConv2d, QuantLinear, SigmoidSumQuantizer,
                           TernaryQuantizer, UniformQuantizer, export_onnx, magnitude_prune, make_quantizer,
                           post_training_quantize, sparsity)
from snnc.frontend.quantizers import WeightQuantizer


def is_pow2(x: float) -> bool:
    return x > 0 and math.frexp(x)[0] == 0.5


# --- quantizers -----------------------------------------------------------------------------
@pytest.mark.parametrize("quantizer", [UniformQuantizer(8), UniformQuantizer(4), UniformQuantizer(2),
                                       TernaryQuantizer(), BinaryQuantizer(), SigmoidSumQuantizer(4)])
def test_quantizer_codes_are_exact_on_a_power_of_two_scale(quantizer: WeightQuantizer):
    w = torch.randn(32, 16) * 0.3
    quantizer.eval()
    w_q, q, scale = quantizer(w)
    assert is_pow2(scale)
    assert torch.equal(q, torch.round(q))
    top = 1 if quantizer.bits <= 2 else 2 ** (quantizer.bits - 1) - 1
    assert q.abs().max() <= top
    torch.testing.assert_close(w_q, q * scale, rtol=0, atol=0)
    if isinstance(quantizer, BinaryQuantizer):
        assert set(q.unique().tolist()) == {-1.0, 1.0}
    if isinstance(quantizer, TernaryQuantizer):
        assert set(q.unique().tolist()) == {-1.0, 0.0, 1.0}


def test_uniform_scale_minimises_error_among_powers_of_two():
    w = torch.randn(1000) * 0.05
    _, q, scale = UniformQuantizer(4)(w)
    err = float(((q * scale - w) ** 2).sum())
    for s in (scale / 2, scale * 2):
        alt = torch.clamp(torch.round(w / s), -7, 7) * s
        assert err <= float(((alt - w) ** 2).sum())


def test_straight_through_gradient_is_identity():
    w = torch.randn(8, 8, requires_grad=True)
    UniformQuantizer(4)(w)[0].sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))


@pytest.mark.parametrize("bits", [3, 1])
def test_sigmoid_sum_quantizer_anneals_to_the_staircase(bits):
    """The soft forward (a 1-bit one asked for) anneals to the staircase with a true derivative."""
    w = (torch.rand(2000) - 0.5) * 2
    qz = SigmoidSumQuantizer(bits, t_start=1.0, t_end=1000.0, hard_forward=False).train()
    _, q, scale = qz(w)
    hard = q * scale
    qz.anneal(0.0)
    soft_start = qz(w)[0]
    qz.anneal(1.0)
    soft_end = qz(w)[0]
    assert (soft_end - hard).abs().mean() < 0.05 * (soft_start - hard).abs().mean()
    w.requires_grad_(True)
    qz.anneal(0.0)
    qz(w)[0].sum().backward()
    assert w.grad.abs().sum() > 0 and not torch.equal(w.grad, torch.ones_like(w))  # a true derivative, not STE
    qz.eval()
    torch.testing.assert_close(qz(w.detach())[0], hard, rtol=0, atol=0)
    if bits == 1:  # the binary quantizer's codes and scale
        q_binary, scale_binary = BinaryQuantizer().codes(w.detach())
        assert torch.equal(q, q_binary) and scale == scale_binary


def test_binary_sigmoid_sum_computes_the_codes_with_the_sigmoids_gradient():
    """At 1 bit the training forward is the binary staircase itself (from temperature 0.25), and
    the gradient the derivative of 2 sigmoid(t w / s) - 1, at every temperature of the anneal."""
    w = ((torch.rand(500) - 0.5) * 2).requires_grad_(True)
    qz = make_quantizer("sigmoid", 1).train()
    assert qz.hard_forward and qz.t_start == 0.25 and not SigmoidSumQuantizer(4).hard_forward
    for fraction in (0.0, 0.5, 1.0):
        qz.anneal(fraction)
        w.grad = None
        w_q, q, scale = qz(w)
        torch.testing.assert_close(w_q.detach(), q * scale, rtol=0, atol=0)
        w_q.sum().backward()
        s = torch.sigmoid(qz.temperature * w.detach() / scale)
        torch.testing.assert_close(w.grad, 2 * qz.temperature * s * (1 - s))


def test_make_quantizer_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown weight quantizer"):
        make_quantizer("lsq")


# --- LIF ------------------------------------------------------------------------------------
@pytest.mark.parametrize("surrogate", ["fast_sigmoid", "atan"])
def test_surrogate_gradients_reach_the_weights(surrogate):
    torch.manual_seed(0)
    m = SNN(QuantLinear(10, 6, quantizer=UniformQuantizer(4)), LIF(surrogate=surrogate, state_quant="threshold_centered"))
    x = (torch.rand(8, 4, 10) < 0.5).float()
    m.train()
    m(x).sum().backward()
    assert m[0].weight.grad.abs().sum() > 0


def test_training_forward_equals_eval_forward_on_the_grid():
    torch.manual_seed(1)
    m = SNN(QuantLinear(12, 8, quantizer=UniformQuantizer(4)), LIF(beta=0.75, state_quant="uniform", state_bits=3),
            QuantLinear(8, 4, quantizer=UniformQuantizer(4)), LIF(beta=0.5, reset="zero"))
    for p in m.parameters():
        p.data *= 4
    x = (torch.rand(10, 16, 12) < 0.5).float()
    train_out = m.train()(x)
    with torch.no_grad():
        eval_out = m.eval()(x)
    assert torch.equal(train_out.detach(), eval_out)


def test_lif_rejects_bad_parameters():
    with pytest.raises(ValueError, match="beta"):
        LIF(beta=1.5)
    with pytest.raises(ValueError, match="state_quant"):
        LIF(state_quant="log")


def test_lif_levels_follow_the_compiler_level_sets():
    lif = LIF(threshold=1.0, state_quant="threshold_centered", state_bits=4)
    lv = lif.integer_levels()
    assert len(lv) == 16 and np.all(np.diff(lv) > 0)
    theta = round(lif.theta_q / lif.lsb)
    assert theta in lv
    gaps = np.diff(lv)
    assert gaps[list(lv).index(theta) - 1] < gaps[0]  # crowded near theta


# --- equivalence: torch eval == onnxruntime == golden ---------------------------------------
QUANTIZERS = [("uniform", 8), ("uniform", 4), ("uniform", 2), ("ternary", 2), ("binary", 1), ("sigmoid", 4), ("sigmoid", 1)]
STATES = [("none", 4), ("uniform", 2), ("uniform", 4), ("threshold_centered", 2), ("threshold_centered", 3),
          ("threshold_centered", 4), ("threshold_centered", 8), ("uniform", 8)]


@st.composite
def random_snn(draw):
    n_layers = draw(st.integers(1, 3))
    conv = draw(st.booleans())
    layers, shape = [], None
    if conv:
        c, h = draw(st.integers(1, 2)), draw(st.integers(4, 6))
        shape = (c, h, h)
        co, k = draw(st.integers(1, 3)), draw(st.sampled_from([1, 3]))
        stride, pad = draw(st.integers(1, 2)), draw(st.integers(0, 1))
        kind, bits = draw(st.sampled_from(QUANTIZERS))
        layers.append(QuantConv2d(c, co, k, stride, pad, bias=draw(st.booleans()), quantizer=make_quantizer(kind, bits)))
        ho = (h + 2 * pad - k) // stride + 1
        n_in = co * ho * ho
    else:
        n_in = draw(st.integers(3, 24))
        shape = (n_in,)
    first_dense = not conv
    for i in range(n_layers):
        if i > 0 or first_dense:
            if i > 0 and conv and i == 1:
                layers.append(nn.Flatten(start_dim=2))
            n_out = draw(st.integers(2, 16))
            kind, bits = draw(st.sampled_from(QUANTIZERS))
            layers.append(QuantLinear(n_in, n_out, bias=draw(st.booleans()), quantizer=make_quantizer(kind, bits)))
            n_in = n_out
        sq, sb = draw(st.sampled_from(STATES))
        layers.append(LIF(beta=draw(st.sampled_from([0.0, 0.5, 0.8, 0.875, 0.95, 1.0])),
                          threshold=draw(st.sampled_from([0.5, 1.0, 1.7, 3.0])),
                          reset=draw(st.sampled_from(["subtract", "zero"])), state_quant=sq, state_bits=sb))
    if conv and n_layers == 1:  # the dialect's output is [T, B, N]: close a lone conv with a dense layer
        layers += [nn.Flatten(start_dim=2), QuantLinear(n_in, 4, quantizer=UniformQuantizer(4)), LIF()]
    return SNN(*layers), shape, draw(st.integers(0, 2 ** 31))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=random_snn())
def test_random_models_torch_onnxruntime_golden_agree(tmp_path, case, three_way):
    model, shape, seed = case
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    for p in model.parameters():  # larger weights than the default init, so neurons fire and reset
        p.data = torch.randn(p.shape, generator=gen) * 1.2
    x = (np.random.default_rng(seed).random((12, 5, *shape)) < 0.4).astype(np.float32)
    three_way(model, x, tmp_path / "m.onnx", shape)


# --- pruning and PTQ ------------------------------------------------------------------------
@pytest.mark.parametrize("scope", ["global", "layer"])
def test_magnitude_pruning_reaches_target_and_survives_fine_tuning(scope, tmp_path):
    torch.manual_seed(0)
    m = SNN(QuantLinear(30, 20, quantizer=UniformQuantizer(4)), LIF(state_quant="threshold_centered"),
            QuantLinear(20, 5, quantizer=UniformQuantizer(4)), LIF())
    magnitude_prune(m, 0.8, scope)
    assert abs(sparsity(m) - 0.8) < 1e-3
    if scope == "layer":
        for syn in m.synapses():
            assert abs(float((syn.weight_mask == 0).float().mean()) - 0.8) < 0.01
    kept = [syn.weight_mask.clone() for syn in m.synapses()]
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    for _ in range(3):
        m.train()
        loss = m((torch.rand(6, 8, 30) < 0.5).float()).sum() + sum(s.weight.sum() for s in m.synapses())
        opt.zero_grad()
        loss.backward()
        opt.step()
    for syn, mask in zip(m.synapses(), kept):
        assert torch.equal(syn.weight_mask, mask)
        _, _, q, _ = syn.quantized_weight()
        assert torch.all(q[mask == 0] == 0)
    import onnx
    from onnx import numpy_helper
    export_onnx(m, tmp_path / "p.onnx", 6)
    ints = [numpy_helper.to_array(t) for t in onnx.load(str(tmp_path / "p.onnx")).graph.initializer if t.name.endswith("_W_q")]
    assert sum(int((a == 0).sum()) for a in ints) >= 0.8 * sum(a.size for a in ints)


def test_pruning_schedule_is_monotone_and_reaches_final():
    s = PruningSchedule(0.9, start=10, end=110)
    values = [s.sparsity_at(t) for t in range(0, 150, 5)]
    assert values[0] == 0 and values[-1] == pytest.approx(0.9)
    assert all(a <= b for a, b in zip(values, values[1:]))
    assert s.sparsity_at(60) > 0.9 * 0.5  # the cubic schedule prunes early


def test_post_training_quantization_copies_and_quantizes(tmp_path, three_way):
    torch.manual_seed(3)
    float_model = SNN(QuantLinear(16, 12), LIF(), QuantLinear(12, 4), LIF())
    q = post_training_quantize(float_model, "uniform", 4, "threshold_centered", 4)
    assert all(s.quantizer is None for s in float_model.synapses())
    assert all(lif.state_quant == "none" for lif in float_model.lifs())
    assert all(isinstance(s.quantizer, UniformQuantizer) and s.quantizer.bits == 4 for s in q.synapses())
    for p in q.parameters():
        p.data *= 6
    three_way(q, (np.random.default_rng(0).random((10, 6, 16)) < 0.5).astype(np.float32), tmp_path / "q.onnx")


def test_float_model_exports_float_weights_for_the_compiler(tmp_path):
    torch.manual_seed(4)
    m = SNN(QuantLinear(8, 4), LIF())
    export_onnx(m, tmp_path / "f.onnx", 4)
    net = compile_model(tmp_path / "f.onnx")  # the compiler quantizes float weights (default 8 bits)
    assert net.layers[0].weight_bits == 8


# --- export errors --------------------------------------------------------------------------
class OddScaleQuantizer(WeightQuantizer):
    bits = 4

    def codes(self, w):
        return torch.clamp(torch.round(w.detach() / 0.3), -7, 7), 0.3


@pytest.mark.parametrize("model, message", [
    (lambda: SNN(QuantLinear(4, 3), nn.ReLU(), LIF()), r"layer '1' \(ReLU\): not expressible"),
    (lambda: SNN(QuantLinear(4, 3, quantizer=OddScaleQuantizer()), LIF()), r"layer '0' \(QuantLinear\): weight scale 0.3 is not a power of two"),
    (lambda: SNN(QuantLinear(4, 3), LIF(), LIF()), r"layer '2' \(LIF\): must follow"),
    (lambda: SNN(QuantLinear(4, 3)), "must end with a LIF"),
    (lambda: SNN(QuantConv2d(1, 2, 3), LIF()), "give input_shape"),
    (lambda: SNN(QuantLinear(4, 3), LIF(), nn.Flatten(), QuantLinear(3, 2), LIF()), r"layer '2' \(Flatten\)"),
])
def test_export_errors_name_the_layer(tmp_path, model, message):
    out = tmp_path / "bad.onnx"
    with pytest.raises(SnncError, match=message):
        export_onnx(model(), out, 4)
    assert list(tmp_path.iterdir()) == []
