"""Random networks with activity for the RTL tests (every LIF layer fires at least once), the
checks every co-simulation test makes of what the RTL measured, and a waveform file's signal names."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from netgen import RESETS, STATE_BITS, STATE_MODES, WEIGHT_BITS, LayerSpec, random_model, random_pool_model, random_spikes
from snnc import energy
from snnc.compiler import compile_model
from snnc.compiler import levels as codec
from snnc.compiler.engine_model import ENGINE_COUNTERS, cycle_budget, network_models
from snnc.compiler.tokens import SpikeTokens
from snnc.sim import golden

LANES = (1, 2, 4, 8)


def case_specs(i: int) -> tuple[list[LayerSpec], int]:
    """The i-th configuration of a deterministic sweep over widths, state modes, resets and lanes."""
    rng = np.random.default_rng(1000 + i)
    n_layers = 1 + i % 3
    specs = [LayerSpec(int(rng.integers(2, 14)), WEIGHT_BITS[(i + k) % 4], STATE_MODES[(i + 2 * k) % 3],
                       STATE_BITS[(i // 3 + k) % 4], RESETS[(i + k) % 3]) for k in range(n_layers)]
    if i % 4 == 3:  # every fourth network starts with a convolution
        specs[0] = LayerSpec(int(rng.integers(1, 4)), specs[0].weight_bits, specs[0].state_mode,
                             specs[0].state_bits, specs[0].reset, conv=True)
    if i % 3 == 1:  # every third (two layers) ends in a membrane readout
        specs[-1] = LayerSpec(**{**specs[-1].__dict__, "output": "membrane"})
    if i % 4 == 1:  # every fourth has a synaptic current in its first layer
        specs[0] = LayerSpec(**{**specs[0].__dict__, "synaptic": True})
    dense = [k for k, spec in enumerate(specs) if not spec.conv and spec.output == "spikes"]
    if (i % 3 == 2 or i % 4 == 0) and dense:  # a recurrent layer: one of the dense spiking ones, in turn
        k = dense[(i // 3) % len(dense)]
        specs[k] = LayerSpec(**{**specs[k].__dict__, "recurrent": True})
    return specs, LANES[(i + i // 4) % 4]  # conv networks (i % 4 == 3) get every lane count too


def active_case(i: int, tmp_path, t_steps: int = 8, batch: int = 2):
    """(net, spikes, lanes, golden output, golden trace) for case i, retrying seeds until every
    layer spikes, so that the comparison is not between silent networks."""
    specs, lanes = case_specs(i)
    for attempt in range(50):
        rng = np.random.default_rng(i * 7919 + attempt)
        model = random_model(rng, int(rng.integers(4, 20)), specs)
        path = tmp_path / f"case{i}.onnx"
        onnx.save(model, path)
        net = compile_model(path)
        x = random_spikes(rng, model, t_steps, batch)
        out, trace = golden.run(net, x, trace=True)
        if all(trace.outputs[lif.name].any() for lif in net.lifs):
            return net, x, lanes, out, trace
    raise AssertionError(f"no active network for case {i}")


def active_pool_case(kind, on, k, tmp_path, start=0, t_steps=8, batch=3):
    """The first seed from `start` whose random pool network spikes in every layer (onnxruntime)."""
    for seed in range(start, start + 200):
        rng = np.random.default_rng(seed * 97 + k)
        model = random_pool_model(rng, kind, on, k)
        x = random_spikes(rng, model, t_steps, batch)
        want = ort.InferenceSession(model.SerializeToString()).run(None, {"spikes": x})[0]
        path = tmp_path / f"pool_{kind}_{on}_{k}_{seed}.onnx"
        onnx.save(model, path)
        net = compile_model(path)
        out, trace = golden.run(net, x.astype(np.uint8), trace=True)
        if all(trace.outputs[lif.name].any() for lif in net.lifs):
            return net, x.astype(np.uint8), want, out, trace
    raise AssertionError("no active network")


def expected_final_states(net, trace):
    """Each layer's stored state after the run (codes with levels), and a synaptic current's as "<layer>.c"."""
    out = {}
    for lif in net.lifs:
        stored = lambda values: (codec.encode(values, lif.levels, lif.floor_bits) if lif.levels is not None else values) \
            .reshape(values.shape[0], -1)
        out[lif.name] = stored(trace.states[lif.name][-1])
        if lif.synaptic:
            out[f"{lif.name}.c"] = stored(trace.currents[lif.name][-1])
    return out


def check_cycles(net, x, impl, trace, result):
    """The engine model (snnc.compiler.engine_model) bounds what the RTL measured: each engine's busy
    cycles from the spikes it was actually given, the whole run by cycle_budget (the board's RUN
    timeout) from the input tokens alone.  The RTL's activity counters equal the golden model's
    counts (snnc.energy.engine_counts), which the energy model uses."""
    inputs = golden.engine_inputs(net, x, trace)
    for b in range(x.shape[1]):
        n_tokens = len(SpikeTokens.for_shape(x.shape[2:]).encode(x[:, b]))
        assert 0 < result.cycles[b] <= cycle_budget(net, impl, n_tokens, x.shape[0])
        for model, spikes in zip(network_models(net, impl), inputs):
            bound = model.busy_bound(int(spikes[:, b].sum()), x.shape[0])  # one bank or two
            assert result.busy[model.lif.name][b] <= bound, (model.lif.name, b, int(result.busy[model.lif.name][b]), bound)
    for lif, counts in zip(net.lifs, energy.engine_counts(net, impl, x, trace)):
        for kind in ENGINE_COUNTERS[1:]:
            np.testing.assert_array_equal(result.counters[lif.name][kind], counts[kind].sum(axis=0),
                                          err_msg=f"{lif.name} {kind}")


def rtl_equals_golden(net, x, impl, work_dir: Path):
    """Run `x` through the RTL (Verilator) and check it against the golden model: every output
    spike, every layer's final stored state (codes with levels) and the cycles and counters
    (check_cycles); every layer must spike.  Returns the RtlResult."""
    from snnc.sim import rtl

    out, trace = golden.run(net, x, trace=True)
    assert all(trace.outputs[lif.name].any() for lif in net.lifs)
    result = rtl.run(net, x, impl, work_dir=work_dir)
    np.testing.assert_array_equal(result.outputs, out.reshape(result.outputs.shape))
    for lif in net.lifs:
        want = trace.final_codes[lif.name] if lif.levels is not None else trace.states[lif.name][-1]
        np.testing.assert_array_equal(result.final_states[lif.name], want.reshape(x.shape[1], -1), err_msg=lif.name)
    check_cycles(net, x, impl, trace, result)
    return result


def waveform_signals(path: Path) -> set[str]:
    """Every signal's full name (scope.scope.name) in an FST (libfst's reader) or VCD file."""
    if path.suffix == ".fst":
        import pylibfst

        fst = pylibfst.lib.fstReaderOpen(str(path).encode())
        assert fst != pylibfst.ffi.NULL, f"{path}: not an FST file"
        try:
            _, signals = pylibfst.get_scopes_signals2(fst)
        finally:
            pylibfst.lib.fstReaderClose(fst)
        return {name.split(" [")[0].replace("\\", "") for name in signals.by_name}
    scopes, names = [], set()
    for line in path.read_text().splitlines():
        words = line.split()
        if words[:1] == ["$scope"]:
            scopes.append(words[2])
        elif words[:1] == ["$upscope"]:
            scopes.pop()
        elif words[:1] == ["$var"]:
            names.add(".".join(scopes + [words[4].replace("\\", "")]))
    return names
