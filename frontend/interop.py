"""Models from other frameworks into the snnc dialect (docs/interop.md).

`from_snntorch(module, example_input, path)` writes an `nn.Sequential` of `nn.Linear`, `nn.Conv2d`,
`nn.MaxPool2d` / `nn.AvgPool2d`, `nn.Flatten` and snnTorch `Leaky` (init_hidden=True, the default
reset_delay=True) as a dialect file whose LIFs run snnTorch's order (docs/spec.md section 2), then
checks it: the snnc golden model against snnTorch's own forward pass on `example_input`.

snnTorch computes in float32; snnc on an integer grid per LIF.  The grid is a power of two: the
finer of the weight step and 2**(floor(log2 theta) - grid_bits).  Weights are kept where they
already are integers times a power of two within 8 bits, else quantized to `bits` (symmetric,
power-of-two scale); theta, biases and the `state_quant` levels are rounded onto the grid, and the
notes say by how much.  Per-neuron thresholds become the layer's largest, each neuron's weights
and bias scaled by max/theta.  The comparison runs snnTorch with the weights snnc uses, so what it
measures is the neuron arithmetic: snnc floors the leak onto the grid where snnTorch keeps
beta * v in float32.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from snnc.compiler.contracts import FLOAT_GRID_BITS, FLOAT_STATE_CLAMP, MAX_WEIGHT_BITS, float_state_grid
from snnc.compiler.dialect import ModelWriter
from snnc.compiler.errors import SnncError
from snnc.compiler.scales import fit_bits, pow2_exact, pow2_quantize



@dataclass(frozen=True)
class ImportReport:
    """What from_snntorch wrote and how well it matches: spike_agreement, the fraction of output
    spike bits equal to snnTorch's; class_agreement, of samples with the same class (argmax of
    spike counts); notes, what was rounded or quantized."""

    path: Path
    notes: tuple[str, ...]
    spike_agreement: float
    class_agreement: float

    @property
    def exact(self) -> bool:
        return self.spike_agreement == 1.0


def _layers(module: nn.Module) -> list[nn.Module]:
    if isinstance(module, nn.Sequential):
        return [layer for child in module for layer in _layers(child)]
    return [module]


def _scalar(value, what: str, where: str) -> float:
    t = torch.as_tensor(value, dtype=torch.float64).flatten()
    if t.numel() and not torch.all(torch.isfinite(t)):
        raise SnncError(f"{where}: {what} must be finite, got {t[~torch.isfinite(t)][0].item()}")
    if t.numel() == 0 or not torch.all(t == t[0]):
        raise SnncError(f"{where}: per-neuron {what} is not supported (snnc's LIF has one {what} per layer)")
    return float(t[0])


def _weights(layer: nn.Module, bits: int | None, where: str, notes: list[str],
             ratio: np.ndarray) -> tuple[np.ndarray, float, int]:
    """(integer codes, power-of-two scale, width) of a synapse's weights times `ratio` per output."""
    w = layer.weight.detach().double().numpy() * ratio
    if not np.all(np.isfinite(w)):
        raise SnncError(f"{where}: weights must be finite")
    if bits is None:  # already integers times a power of two?
        exact = pow2_exact(w)
        if exact is None:
            raise SnncError(f"{where}: weights are not integers times a power of two; give bits=N to quantize them")
        return exact[0], exact[1], fit_bits(exact[0])
    q, scale = pow2_quantize(w, bits)
    err = np.abs(q * scale - w)
    notes.append(f"{where}: weights quantized to {bits} bits (scale 2**{int(math.log2(scale))}), max abs error "
                 f"{err.max(initial=0.0):.4g}")
    return q, scale, bits


def _thresholds(lif: nn.Module, channels: int, linear: bool, where: str) -> np.ndarray:
    """The Leaky's threshold per output channel of the synapse before it ([channels], float64):
    one value per channel (per neuron after a Linear; a conv's channel shares one)."""
    t = torch.as_tensor(lif.threshold, dtype=torch.float64).flatten().numpy()
    if not np.all(np.isfinite(t)) or t.size == 0:
        raise SnncError(f"{where}: threshold must be finite")
    fits = t.size == 1 or t.size % channels == 0 and not (linear and t.size != channels)
    if fits and np.all(t == t[0]):
        return np.full(channels, t[0])
    if not fits or np.any(np.ptp(t.reshape(channels, -1), axis=1) > 0):
        raise SnncError(f"{where}: per-neuron thresholds must be one per output channel of the synapse before it "
                        f"({channels} channels, {t.size} values)")
    if getattr(lif, "state_quant", False):
        raise SnncError(f"{where}: per-neuron thresholds with state_quant are not supported (its levels are absolute)")
    return t.reshape(channels, -1)[:, 0]


def _leaky_attrs(lif: nn.Module, theta: float, lsb_weights: float, grid_bits: int, where: str,
                 notes: list[str]) -> dict:
    """The dialect LIF attributes of an snnTorch Leaky with threshold theta, on its grid."""
    if not getattr(lif, "init_hidden", False):
        raise SnncError(f"{where}: Leaky needs init_hidden=True inside nn.Sequential")
    if not getattr(lif, "reset_delay", True):
        raise SnncError(f"{where}: reset_delay=False is not snnTorch's default order; only reset_delay=True is supported")
    if getattr(lif, "inhibition", False):
        raise SnncError(f"{where}: inhibition is not supported")
    if _scalar(getattr(lif, "graded_spikes_factor", 1.0), "graded_spikes_factor", where) != 1.0:
        raise SnncError(f"{where}: graded spikes are not supported (graded_spikes_factor must be 1)")
    reset = {"subtract": "subtract", "zero": "zero"}.get(lif.reset_mechanism)
    if reset is None:
        raise SnncError(f"{where}: reset_mechanism '{lif.reset_mechanism}' is not supported (subtract or zero)")
    beta = _scalar(lif.beta, "beta", where)
    beta = min(max(beta, 0.0), 1.0)  # snnTorch clamps beta to [0, 1] in its forward
    if theta <= 0:
        raise SnncError(f"{where}: threshold must be > 0, got {theta:g}")
    lsb = min(lsb_weights, float_state_grid(theta, grid_bits))
    on_grid = lambda x: np.round(np.asarray(x, np.float64) / lsb) * lsb
    theta_q = float(on_grid(theta))
    if theta_q != theta:
        notes.append(f"{where}: threshold {theta:g} rounded to the grid 2**{int(math.log2(lsb))}: {theta_q:.9g}")
    attrs = dict(beta=beta, threshold=theta_q, reset=reset, state_lsb=lsb, order="snntorch")
    quant = getattr(lif, "state_quant", False)
    if quant:
        cells = [c.cell_contents for c in (getattr(quant, "__closure__", None) or ())
                 if isinstance(c.cell_contents, torch.Tensor)]
        if len(cells) != 1:
            raise SnncError(f"{where}: state_quant is not snntorch.functional.quant.state_quant (no level table found)")
        levels = np.sort(cells[0].detach().double().numpy().ravel())
        levels_q = on_grid(levels)
        if np.any(np.diff(levels_q) <= 0):
            raise SnncError(f"{where}: state_quant levels fall together on the grid 2**{int(math.log2(lsb))} "
                            f"(a larger grid_bits separates them)")
        if np.any(levels_q != levels):
            notes.append(f"{where}: {len(levels)} state_quant levels rounded to the grid 2**{int(math.log2(lsb))}, "
                         f"max abs error {np.abs(levels_q - levels).max():.3g}")
        steps = np.diff(levels_q)
        attrs.update(state_quant="uniform" if np.allclose(steps, steps[0], rtol=1e-3) else "threshold_centered",
                     state_levels=levels_q)
    else:
        bound = float(on_grid(FLOAT_STATE_CLAMP * theta_q))
        attrs.update(state_min=-bound, state_max=bound)
        notes.append(f"{where}: snnTorch's unbounded float state clamped to +-{FLOAT_STATE_CLAMP} theta")
    return attrs


def to_dialect(module: nn.Module, input_shape: tuple[int, ...], bits: int | None = None,
               grid_bits: int = FLOAT_GRID_BITS) -> tuple[onnx.ModelProto, nn.Module, list[str]]:
    """(the dialect model, a copy of `module` with the weights the model uses, notes)."""
    import snntorch as snn
    from snntorch import utils

    utils.reset(module)  # a trained model's hidden states hang on its last graph: they cannot be copied
    reference = copy.deepcopy(module).eval()
    layers, writer, notes = _layers(reference), ModelWriter(tuple(input_shape)), []
    scale = None  # the weight step of the synapse waiting for its LIF
    for i, layer in enumerate(layers):
        where = f"layer {i} ({type(layer).__name__})"
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            lif = next((x for x in layers[i + 1:] if not isinstance(x, (nn.MaxPool2d, nn.AvgPool2d, nn.Flatten))), None)
            thetas = np.ones(layer.weight.shape[0])
            if isinstance(lif, snn.Leaky):  # per-neuron thresholds: each neuron's input times max(theta) / theta
                thetas = _thresholds(lif, layer.weight.shape[0], isinstance(layer, nn.Linear), f"layer {layers.index(lif)} (Leaky)")
                if np.any(thetas <= 0):
                    raise SnncError(f"layer {layers.index(lif)} (Leaky): threshold must be > 0, got {thetas.min():g}")
            ratio = (thetas.max() / thetas).reshape((-1,) + (1,) * (layer.weight.ndim - 1))
            q, scale, width = _weights(layer, bits, where, notes, ratio)
            with torch.no_grad():  # snnTorch runs with the very weights snnc stores
                layer.weight.copy_(torch.from_numpy(q * scale / ratio).to(layer.weight.dtype))
            bias = None if layer.bias is None else layer.bias.detach().double().numpy() * ratio.reshape(-1)
            if np.any(ratio != 1):
                notes.append(f"{where}: per-neuron thresholds made {thetas.max():g} by scaling each neuron's weights and bias")
            if isinstance(layer, nn.Linear):
                writer.dense(q.T, scale, width, bias, name=f"fc{i}")
            else:
                stride, pad = set(layer.stride), set(layer.padding) if not isinstance(layer.padding, str) else {None}
                if len(stride) != 1 or len(pad) != 1 or None in pad or set(layer.dilation) != {1} or layer.groups != 1:
                    raise SnncError(f"{where}: only square stride and padding, no dilation, no groups are supported")
                writer.conv2d(q, scale, width, bias, stride=stride.pop(), padding=pad.pop(), name=f"conv{i}")
        elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
            k = {layer.kernel_size} if isinstance(layer.kernel_size, int) else set(layer.kernel_size)
            s = {layer.stride} if isinstance(layer.stride, int) else set(layer.stride)
            if len(k) != 1 or k != s or layer.padding not in (0, (0, 0)):
                raise SnncError(f"{where}: pools need a square window equal to the stride and no padding")
            writer.pool("max" if isinstance(layer, nn.MaxPool2d) else "avg", k.pop(), name=f"pool{i}")
        elif isinstance(layer, nn.Flatten):
            writer.flatten(name=f"flatten{i}")
        elif isinstance(layer, snn.Leaky) and type(layer) is snn.Leaky:
            if scale is None:
                raise SnncError(f"{where}: a Leaky must follow a Linear or Conv2d")
            writer.lif(**_leaky_attrs(layer, float(thetas.max()), scale, grid_bits, where, notes), name=f"lif{i}")
        else:
            raise SnncError(f"{where}: not supported (Linear, Conv2d, MaxPool2d, AvgPool2d, Flatten, snntorch.Leaky)")
    return writer.model(), reference, notes


@torch.no_grad()
def snntorch_forward(module: nn.Module, spikes: torch.Tensor) -> np.ndarray:
    """snnTorch's own run of a Sequential over time: spikes [T, B, ...] -> output spikes uint8 [T, B, ...]."""
    from snntorch import utils

    utils.reset(module)
    out = []
    try:
        for t in range(spikes.shape[0]):
            y = module(spikes[t].float())
            out.append((y[0] if isinstance(y, tuple) else y).numpy())
    except RuntimeError as e:  # torch's shape and type errors: the module does not run on these spikes
        raise SnncError(f"snnTorch's own forward pass fails on example_input: {str(e).splitlines()[0][:200]}") from None
    return np.stack(out).astype(np.uint8)


def from_snntorch(module: nn.Module, example_input: torch.Tensor, path: str | Path, bits: int | None = None,
                  grid_bits: int = FLOAT_GRID_BITS) -> ImportReport:
    """Write `module` (snnTorch, see the module docstring) to the dialect file `path`; example_input:
    spikes [T, B, *features].  Returns how well snnc's golden model matches snnTorch's forward on it."""
    import tempfile

    from snnc.compiler import compile_model
    from snnc.sim import golden

    if bits is not None and not (isinstance(bits, int) and 1 <= bits <= MAX_WEIGHT_BITS):
        raise SnncError(f"bits must be 1 to {MAX_WEIGHT_BITS} (or None to keep power-of-two weights), got {bits!r}")
    if not (isinstance(grid_bits, int) and 1 <= grid_bits <= 24):
        raise SnncError(f"grid_bits must be 1 to 24, got {grid_bits!r}")
    x = torch.as_tensor(example_input)
    if x.ndim < 3:
        raise SnncError(f"example_input must be spikes [T, B, *features], got shape {tuple(x.shape)}")
    spikes = golden.check_spikes(x.numpy(), tuple(x.shape[2:]))  # 0/1, finite, not empty
    model, reference, notes = to_dialect(module, tuple(x.shape[2:]), bits, grid_bits)
    with tempfile.TemporaryDirectory() as tmp:  # `path` is written only once the model compiles
        onnx.save(model, Path(tmp) / "model.onnx")
        got = golden.run(compile_model(Path(tmp) / "model.onnx"), spikes)
    want = snntorch_forward(reference, x)
    got = got.reshape(want.shape)
    path = Path(path)
    try:
        path.write_bytes(model.SerializeToString())  # as named: a symlink is followed, /dev/null written to
    except OSError as e:
        raise SnncError(f"{path}: cannot write the model ({e.strerror})") from None
    return ImportReport(path, tuple(notes), float((got == want).mean()),
                        float((golden.classify(got.reshape(*got.shape[:2], -1)) ==
                               golden.classify(want.reshape(*want.shape[:2], -1))).mean()))
