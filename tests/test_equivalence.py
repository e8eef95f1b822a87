"""onnxruntime on the exported file == golden model on the compiled IR, every spike (docs/spec.md sections 2 and 3)."""
import numpy as np
import onnx
import onnxruntime as ort
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgen import RESETS, STATE_BITS, STATE_MODES, WEIGHT_BITS, LayerSpec, random_model, random_spikes
from snnc.compiler import compile_model
from snnc.sim import golden

layer_specs = st.builds(LayerSpec, n_out=st.integers(1, 12), weight_bits=st.sampled_from(WEIGHT_BITS),
                        state_mode=st.sampled_from(STATE_MODES), state_bits=st.sampled_from(STATE_BITS),
                        reset=st.sampled_from(RESETS), synaptic=st.booleans(), recurrent=st.booleans())


@st.composite
def networks(draw):
    specs = draw(st.lists(layer_specs, min_size=1, max_size=4))
    if draw(st.booleans()) and draw(st.booleans()):  # a quarter of the networks start with a conv layer
        specs[0] = LayerSpec(**{**specs[0].__dict__, "n_out": min(specs[0].n_out, 4), "conv": True})
    if not specs[-1].conv and draw(st.integers(0, 2)) == 0:  # a third end in a membrane readout
        specs[-1] = LayerSpec(**{**specs[-1].__dict__, "output": "membrane"})
    seed = draw(st.integers(0, 2**32 - 1))
    return specs, seed, draw(st.integers(1, 12)), draw(st.integers(1, 4)), draw(st.integers(1, 16))


def run_both(tmp_path, specs, seed, t_steps, batch, in_features):
    rng = np.random.default_rng(seed)
    model = random_model(rng, in_features, specs)
    onnx.checker.check_model(model, full_check=True)
    path = tmp_path / "net.onnx"
    onnx.save(model, path)
    x = random_spikes(rng, model, t_steps, batch)
    expected = ort.InferenceSession(str(path)).run(None, {"spikes": x})[0]
    net = compile_model(path)
    got = golden.run(net, x)
    if net.lifs[-1].readout:  # integer membranes; the model's are in real units
        assert got.dtype == np.int64
        got = got * net.lifs[-1].lsb
    return net, expected, got.reshape(expected.shape)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(networks())
def test_onnxruntime_equals_golden(tmp_path, case):
    specs, seed, t_steps, batch, in_features = case
    net, expected, got = run_both(tmp_path, specs, seed, t_steps, batch, in_features)
    assert not net.notes, f"an exact model must compile without approximation: {net.notes}"
    np.testing.assert_array_equal(got, expected if net.lifs[-1].readout else expected.astype(np.uint8))


def test_every_configuration_is_covered(tmp_path):
    """Deterministic sweep: each weight width x state mode x state width x reset mode at least once,
    with enough activity that the comparison is not between two silent networks."""
    total_spikes = 0
    for i, (wb, mode, sb, reset) in enumerate(
            (wb, m, sb, r) for wb in WEIGHT_BITS for m in STATE_MODES for sb in STATE_BITS for r in RESETS):
        output = "membrane" if i % 4 == 3 else "spikes"
        specs = [LayerSpec(10, wb, mode, sb, reset, synaptic=i % 3 == 1, recurrent=i % 2 == 0),
                 LayerSpec(6, WEIGHT_BITS[i % 4], STATE_MODES[i % 3], 4, reset, output=output, synaptic=i % 5 == 2)]
        net, expected, got = run_both(tmp_path, specs, i, 10, 3, 16)
        if output == "membrane":
            np.testing.assert_array_equal(got, expected)
            continue
        np.testing.assert_array_equal(got, expected.astype(np.uint8))
        total_spikes += int(expected.sum())
    assert total_spikes > 500
