"""`from_snntorch(module, example_input, path)`: an snnTorch model into the snnc dialect
(snnc.frontend.interop), compiled, and checked against snnTorch's own forward pass on
`example_input` (docs/interop.md): with the model as the user gave it (its float weights) and with
the quantized copy that holds the weights snnc uses, in spikes and in classes, layer by layer (a
readout's membranes in place of the output spikes).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from snnc.compiler import compile_model
from snnc.compiler.contracts import MAX_WEIGHT_BITS
from snnc.compiler.errors import SnncError
from snnc.sim import golden


@dataclass(frozen=True)
class ImportReport:
    """What from_snntorch wrote and how well it matches snnTorch's forward pass on the example input.

    spike_agreement, class_agreement: against the quantized copy (the user's model with the weights
    snnc stores), the fraction of output spike bits equal and of samples with the same class
    (argmax of spike counts); what differs there is the neuron arithmetic on the grid.  For a
    readout, the fraction of output membranes equal within the rounding of both (|snnc - snnTorch|
    at most (lsb + float32 eps * max|v|) / (1 - beta): snnc's floored leak, snnTorch's float32
    steps; exactly with beta 0) and the class of the last step's membrane; membrane_error: the
    largest |snnc - snnTorch| there, real units.
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
    membrane_error: float | None = None

    @property
    def exact(self) -> bool:
        return self.spike_agreement == 1.0


def _agreement(got: np.ndarray, want: np.ndarray, tolerance: float = 0.0) -> tuple[float, float]:
    """(value, class) agreement of outputs [T, B, ...]: spikes equal, or membranes within `tolerance`."""
    flat = lambda s: s.reshape(*s.shape[:2], -1)
    equal = got == want if got.dtype == np.uint8 else np.abs(got - want) <= tolerance
    return float(equal.mean()), float((golden.classify(flat(got)) == golden.classify(flat(want))).mean())


def readout_tolerance(net, beta: float, reach: float, n_steps: int) -> float:
    """How far a readout's membrane (real units) may be from snnTorch's after n_steps: each step snnc
    floors the leak onto its grid (under an LSB), rounds beta to B/2**F (|beta - B/2**F| times |v|)
    and snnTorch rounds in float32 (an ulp of |v|); each error decays with beta after it, so the sum
    stays below a step's / (1 - beta) (a synaptic current's, decaying with alpha, feed it 1 / (1 - alpha)
    times over).  reach: the largest |v|.  0 for beta 0 (no state carried)."""
    lif = net.lifs[-1]
    beta_q = float(lif.leaks.max()) / 2 ** lif.leak_f
    if beta == 0:
        return 0.0
    per_step = lif.lsb * (beta_q < 1) + (abs(beta - beta_q) + np.finfo(np.float32).eps) * reach
    lasting = lambda leak: n_steps if leak == 1 else min(n_steps, 1 / (1 - leak))  # steps an error lasts
    if lif.synaptic:  # the current's own errors (its leak floored, float32) feed the membrane for as long
        per_step *= 1 + lasting(lif.alpha_b / 2 ** lif.leak_f)
    return per_step * lasting(beta_q)


def to_dialect_betas(model) -> float:
    """The beta the dialect model gives its last LIF (the largest of a per-channel leak)."""
    attrs = {a.name: a for a in [n for n in model.graph.node if n.op_type in ("LIF", "RLIF")][-1].attribute}
    return max([attrs["beta"].f] + list(attrs["betas"].floats if "betas" in attrs else []))


def from_snntorch(module, example_input, path: str | Path, bits: int | None = None,
                  grid_bits: int | None = None, output: str = "auto") -> ImportReport:
    """Write `module` (snnTorch, see snnc.frontend.interop) to the dialect file `path`; example_input:
    spikes [T, B, *features] as the model takes them.  output: "spikes", "membrane" (the last
    neuron's membrane is the output, a readout) or "auto" (membrane for a last Leaky with
    reset_mechanism "none" or a last Linear).  Nothing is written unless it compiles."""
    import torch

    from snnc.frontend.interop import node_name, to_dialect
    from snnc.frontend.snntorch_trace import layer_outputs

    if bits is not None and not (isinstance(bits, int) and 1 <= bits <= MAX_WEIGHT_BITS):
        raise SnncError(f"bits must be 1 to {MAX_WEIGHT_BITS} (or None to keep power-of-two weights), got {bits!r}")
    if grid_bits is not None and not (isinstance(grid_bits, int) and 1 <= grid_bits <= 24):
        raise SnncError(f"grid_bits must be 1 to 24, got {grid_bits!r}")
    x = torch.as_tensor(example_input)
    if x.ndim < 3:
        raise SnncError(f"example_input must be spikes [T, B, *features], got shape {tuple(x.shape)}")
    golden.check_spikes(x.numpy(), tuple(x.shape[2:]))  # 0/1, finite, not empty
    model, chain, original, quantized, notes = to_dialect(module, x, bits, grid_bits, output)
    with tempfile.TemporaryDirectory() as tmp:  # `path` is written only once the model compiles
        onnx.save(model, Path(tmp) / "model.onnx")
        net = compile_model(Path(tmp) / "model.onnx")
    spikes = x.numpy().reshape(*x.shape[:2], *net.input_shape)
    _, trace = golden.run(net, spikes, trace=True)
    neurons = [s.name for s in chain.steps if s.kind == "neuron"]
    readout = net.lifs[-1]
    current_readout = readout.readout and not any(node_name(n) == readout.name for n in neurons)
    if current_readout:  # the last Linear's currents
        neurons.append([s.name for s in chain.steps if s.kind == "synapse"][-1])
    got = [trace.outputs[node_name(n) + ("_readout" if current_readout and n == neurons[-1] else "")] for n in neurons]
    if readout.readout:
        got[-1] = got[-1] * readout.lsb
    want_q = layer_outputs(quantized, x, chain.per_step, neurons, readout.readout)
    want_o = layer_outputs(original, x, chain.per_step, neurons, readout.readout)
    tolerance = readout_tolerance(net, to_dialect_betas(model), float(np.abs(want_q[-1]).max(initial=0)), x.shape[0])
    layers = tuple((n, _agreement(g.reshape(w.shape), w, tolerance)[0]) for n, g, w in zip(neurons, got, want_o))
    drops = [layers[0][1] - 1.0] + [b[1] - a[1] for a, b in zip(layers, layers[1:])]
    path = Path(path)
    try:
        path.write_bytes(model.SerializeToString())  # as named: a symlink is followed, /dev/null written to
    except OSError as e:
        raise SnncError(f"{path}: cannot write the model ({e.strerror})") from None
    out_q, out_o = want_q[-1], want_o[-1]
    error = float(np.abs(got[-1].reshape(out_q.shape) - out_q).max()) if readout.readout else None
    return ImportReport(path, tuple(net.notes) + tuple(notes), *_agreement(got[-1].reshape(out_q.shape), out_q, tolerance),
                        *_agreement(got[-1].reshape(out_o.shape), out_o, tolerance), layers,
                        neurons[int(np.argmin(drops))], error)
