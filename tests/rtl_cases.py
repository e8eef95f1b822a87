"""Random networks with activity for the RTL tests: every LIF layer fires at least once."""
from __future__ import annotations

import numpy as np
import onnx

from netgen import RESETS, STATE_BITS, STATE_MODES, WEIGHT_BITS, LayerSpec, random_model, random_spikes
from snnc.compiler import compile_model
from snnc.sim import golden

LANES = (1, 2, 4, 8)


def case_specs(i: int) -> tuple[list[LayerSpec], int]:
    """The i-th configuration of a deterministic sweep over widths, state modes, resets and lanes."""
    rng = np.random.default_rng(1000 + i)
    n_layers = 1 + i % 3
    specs = [LayerSpec(int(rng.integers(2, 14)), WEIGHT_BITS[(i + k) % 4], STATE_MODES[(i + 2 * k) % 3],
                       STATE_BITS[(i // 3 + k) % 4], RESETS[(i + k) % 2]) for k in range(n_layers)]
    if i % 4 == 3:  # every fourth network starts with a convolution
        specs[0] = LayerSpec(int(rng.integers(1, 4)), specs[0].weight_bits, specs[0].state_mode,
                             specs[0].state_bits, specs[0].reset, conv=True)
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
