"""`from_snntorch(module, example_input, path)`: an snnTorch model into the snnc dialect
(snnc.frontend.interop), compiled, and checked against snnTorch's own forward pass on
`example_input` (docs/interop.md): with the model as the user gave it (its float weights) and with
the quantized copy that holds the weights snnc uses, in spikes and in classes, layer by layer.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from snnc.compiler import compile_model
from snnc.compiler.contracts import FLOAT_GRID_BITS, MAX_WEIGHT_BITS
from snnc.compiler.errors import SnncError
from snnc.sim import golden


@dataclass(frozen=True)
class ImportReport:
    """What from_snntorch wrote and how well it matches snnTorch's forward pass on the example input.

    spike_agreement, class_agreement: against the quantized copy (the user's model with the weights
    snnc stores), the fraction of output spike bits equal and of samples with the same class
    (argmax of spike counts); what differs there is the neuron arithmetic on the grid.
    original_spike_agreement, original_class_agreement: the same against the model as the user
    gave it (its float weights): what quantization costs as well.  layer_agreement: (neuron,
    fraction of its spikes equal to the original model's) per neuron layer; worst_layer: the neuron
    whose agreement drops the most from the layer before it.  notes: what was folded, dropped,
    rounded or quantized."""

    path: Path
    notes: tuple[str, ...]
    spike_agreement: float
    class_agreement: float
    original_spike_agreement: float
    original_class_agreement: float
    layer_agreement: tuple[tuple[str, float], ...]
    worst_layer: str

    @property
    def exact(self) -> bool:
        return self.spike_agreement == 1.0


def _agreement(got: np.ndarray, want: np.ndarray) -> tuple[float, float]:
    """(spike, class) agreement of outputs [T, B, ...]."""
    flat = lambda s: s.reshape(*s.shape[:2], -1)
    return float((got == want).mean()), float((golden.classify(flat(got)) == golden.classify(flat(want))).mean())


def from_snntorch(module, example_input, path: str | Path, bits: int | None = None,
                  grid_bits: int = FLOAT_GRID_BITS) -> ImportReport:
    """Write `module` (snnTorch, see snnc.frontend.interop) to the dialect file `path`; example_input:
    spikes [T, B, *features] as the model takes them.  Nothing is written unless it compiles."""
    import torch

    from snnc.frontend.interop import node_name, to_dialect
    from snnc.frontend.snntorch_trace import neuron_spikes

    if bits is not None and not (isinstance(bits, int) and 1 <= bits <= MAX_WEIGHT_BITS):
        raise SnncError(f"bits must be 1 to {MAX_WEIGHT_BITS} (or None to keep power-of-two weights), got {bits!r}")
    if not (isinstance(grid_bits, int) and 1 <= grid_bits <= 24):
        raise SnncError(f"grid_bits must be 1 to 24, got {grid_bits!r}")
    x = torch.as_tensor(example_input)
    if x.ndim < 3:
        raise SnncError(f"example_input must be spikes [T, B, *features], got shape {tuple(x.shape)}")
    golden.check_spikes(x.numpy(), tuple(x.shape[2:]))  # 0/1, finite, not empty
    model, chain, original, quantized, notes = to_dialect(module, x, bits, grid_bits)
    with tempfile.TemporaryDirectory() as tmp:  # `path` is written only once the model compiles
        onnx.save(model, Path(tmp) / "model.onnx")
        net = compile_model(Path(tmp) / "model.onnx")
    spikes = x.numpy().reshape(*x.shape[:2], *net.input_shape)
    _, trace = golden.run(net, spikes, trace=True)
    neurons = [s.name for s in chain.steps if s.kind == "neuron"]
    got = [trace.outputs[node_name(n)] for n in neurons]
    want_q = neuron_spikes(quantized, x, chain.per_step, neurons)
    want_o = neuron_spikes(original, x, chain.per_step, neurons)
    layers = tuple((n, float((g.reshape(w.shape) == w).mean())) for n, g, w in zip(neurons, got, want_o))
    drops = [layers[0][1] - 1.0] + [b[1] - a[1] for a, b in zip(layers, layers[1:])]
    path = Path(path)
    try:
        path.write_bytes(model.SerializeToString())  # as named: a symlink is followed, /dev/null written to
    except OSError as e:
        raise SnncError(f"{path}: cannot write the model ({e.strerror})") from None
    out_q, out_o = want_q[-1], want_o[-1]
    return ImportReport(path, tuple(net.notes) + tuple(notes), *_agreement(got[-1].reshape(out_q.shape), out_q),
                        *_agreement(got[-1].reshape(out_o.shape), out_o), layers, neurons[int(np.argmin(drops))])
