"""Event-driven updates (compiler/update_skips.py): an engine's update skips the neuron groups whose
accumulators are all 0 and whose states are at rest, exactly: the RTL equals the golden model spike
for spike and state for state, its activity counters equal the counts the engine model predicts
from the golden run, and it walks fewer steps than a dense update."""
from dataclasses import replace

import numpy as np
import onnx
import pytest

from netgen import LayerSpec, lif_params
from rtl_cases import rtl_equals_golden
from snnc.compiler import compile_model, ir
from snnc.compiler.dialect import ModelWriter
from snnc.compiler.engine_model import EngineModel, network_models
from snnc.compiler.geometry import LayerGeometry
from snnc.compiler.layer_impl import LayerImpl, implement
from snnc.compiler.update_skips import dense_update_reason, steady_levels
from snnc.sim import golden


def sparse_csnn(tmp_path, rng: np.random.Generator, bias: bool = False):
    """2x12x12 -> conv 6 / max pool 2 of currents -> LIF -> conv 6 -> LIF / max pool 2 of spikes ->
    dense 5 -> LIF, threshold-centered 4-bit states, mostly excitatory 4-bit weights."""
    writer = ModelWriter((2, 12, 12))
    spec = LayerSpec(6, 4, "threshold_centered", 4, "subtract", conv=True)
    conv = lambda c_in: rng.integers(-2, 8, (6, c_in, 3, 3))
    attrs = lambda: {**lif_params(rng, spec), "beta": 0.75}
    writer.conv2d(conv(2), 1.0, 4, padding=1, bias=rng.integers(1, 3, 6).astype(float) if bias else None)
    writer.pool("max", 2)
    writer.lif(**attrs())
    writer.conv2d(conv(6), 1.0, 4, padding=1)
    writer.lif(**attrs())
    writer.pool("max", 2)
    writer.flatten()
    writer.dense(rng.integers(-2, 8, (54, 5)), 1.0, 4)
    writer.lif(**attrs())
    onnx.save(writer.model(), tmp_path / "csnn.onnx")
    return compile_model(tmp_path / "csnn.onnx")


def corner_spikes(rng: np.random.Generator, t_steps: int = 7, batch: int = 2) -> np.ndarray:
    """Events in the top-left 5 x 5 pixels only, and a timestep without any: most groups get no input."""
    x = np.zeros((t_steps, batch, 2, 12, 12), np.uint8)
    x[:, :, :, :5, :5] = rng.random((t_steps, batch, 2, 5, 5)) < 0.5
    x[3] = 0
    return x


def test_which_layers_skip_and_why():
    """A dense layer, a readout, a bias or no state that stays without input keeps the update dense,
    and so do fewer than 3 parts per group; every steady level (0, and levels the floored leak
    rounds back to themselves) stays as it is without input and does not fire, by the golden LIF
    step, in both orders, and the levels the golden step moves are not steady."""
    w, zeros = np.ones((6, 4, 1, 1), np.int64), np.zeros(6, np.int64)
    conv = lambda bias=zeros: ir.Conv2d("conv", w, bias, zeros, 4, (4, 3, 3), 1, 0)
    lv = np.array([-8, 0, 4, 8, 12], np.int64)
    lif = ir.LIF("lif", (6, 3, 3), 8, 3, 2, "subtract", "threshold_centered", -8, 12, lv)
    geo = lambda lanes, units, synapse=conv(): LayerGeometry(synapse, LayerImpl.of(synapse, lanes, units))
    assert list(steady_levels(lif)) == [-8, 0, 4] and dense_update_reason(geo(6, 2), lif) is None  # 3/4 of 4 is 3
    assert "2 parts" in dense_update_reason(geo(6, 3), lif)
    assert "bias" in dense_update_reason(geo(6, 2, conv(np.ones(6, np.int64))), lif)
    dense = ir.Dense("fc", w[:, :, 0, 0], zeros, zeros, 4)
    assert "dense layer" in dense_update_reason(geo(6, 2, dense), replace(lif, shape=(6,)))
    moving = replace(lif, theta=8, leak_b=4, state_quant="uniform", v_min=8, v_max=12, levels=np.arange(8, 13))
    assert not len(steady_levels(moving)) and "without input" in dense_update_reason(geo(6, 2), moving)  # no leak
    assert "readout" in dense_update_reason(geo(6, 2), replace(lif, reset="none", output="membrane"))
    rng = np.random.default_rng(0)
    for mode in ("threshold_centered", "uniform", "none"):
        for order in ("snnc", "snntorch"):
            for _ in range(12):
                a = lif_params(rng, LayerSpec(6, 4, mode, int(rng.integers(2, 6)), str(rng.choice(["subtract", "zero"])),
                                              order=order))
                layer = compile_lif(a)
                v = np.asarray(layer.levels if layer.levels is not None else [0, 1, -1], np.int64)[None]
                spikes, after = golden.lif_step(layer, v, np.zeros_like(v))
                kept = (after == v) & (spikes == 0)
                np.testing.assert_array_equal(np.isin(v, steady_levels(layer)), kept if layer.levels is not None
                                              else v == 0, err_msg=str(a))


def compile_lif(attrs: dict) -> ir.LIF:
    """The integer LIF a dialect LIF node with these attributes compiles to."""
    import tempfile
    from pathlib import Path

    writer = ModelWriter((4,))
    writer.dense(np.ones((4, 6), np.int64), attrs["state_lsb"], 4)
    writer.lif(**attrs)
    with tempfile.TemporaryDirectory() as tmp:
        onnx.save(writer.model(), Path(tmp) / "m.onnx")
        return compile_model(Path(tmp) / "m.onnx").lifs[0]


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_verilator_skips_quiet_groups_exactly(seed, tmp_path):
    """Groups without input at rest are skipped (pooled currents, a spike pool, a dense layer),
    and the RTL still equals the golden model in every spike and final state; its counters equal
    the engine model's counts from the golden run, and fewer update steps than a dense walk.  (The
    dense layer stays dense: every input reaches every group.)"""
    rng = np.random.default_rng(seed)
    net = sparse_csnn(tmp_path, rng)
    x = corner_spikes(rng)
    impl = implement(net, ((6, 2), (6, 2), (5, 1)))
    models = network_models(net, impl)
    assert [m.event_driven for m in models] == [True, True, False], [m.dense_update_reason for m in models]
    result = rtl_equals_golden(net, x, impl, tmp_path / "rtl")
    for model in models[:2]:  # the convolutions' corners are quiet
        dense = model.geo.update_steps * x.shape[0]
        assert (result.counters[model.lif.name]["update_steps"] < 0.8 * dense).all(), model.lif.name


def test_a_bias_keeps_the_update_dense(tmp_path):
    net = sparse_csnn(tmp_path, np.random.default_rng(5), bias=True)
    first = EngineModel(LayerGeometry.of_stage(net.stages[0], implement(net, 6)[0]), net.lifs[0])
    assert "bias" in first.dense_update_reason and not first.event_driven
