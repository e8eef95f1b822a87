"""snnTorch models into the snnc dialect (docs/interop.md).

`to_dialect(module, example_input)` traces the model (snntorch_trace: any nn.Module, a Sequential
called per step or a class with its own time loop) into a chain of `nn.Linear`, `nn.Conv2d` (with
a BatchNorm after either folded in), `nn.MaxPool2d` / `nn.AvgPool2d` (or their functional forms),
flattening, Dropout and Identity (dropped) and snnTorch `Leaky` or `Lapicque` (the default
reset_delay=True), and writes it as a dialect model whose LIFs run snnTorch's order (docs/spec.md
section 2).  `snnc.interop.from_snntorch` writes it and checks it against snnTorch's own forward.

snnTorch computes in float32; snnc on an integer grid per LIF.  The grid is a power of two: the
finer of the weight step and 2**(floor(log2 theta) - grid_bits), grid_bits by default
FLOAT_GRID_BITS for a Leaky with state_quant, FLOAT_STATE_GRID_BITS for a float state (contracts).  Weights are kept where they
already are integers times a power of two within 8 bits, else quantized to `bits` (symmetric,
power-of-two scale); theta, biases and the `state_quant` levels are rounded onto the grid, and the
notes say by how much.  Per-neuron thresholds become the layer's largest, each neuron's weights
and bias scaled by max/theta.  A Lapicque neuron is a Leaky with beta = 1 - dt/(R C) whose input
is scaled by dt/C (folded into the weights).  Learned parameters are read as they are (no
gradients).  The quantized copy is the model with the weights snnc uses.

Readouts: with output="membrane" (the default for a last Leaky with reset_mechanism="none") the
last neuron's membrane is the network's output; a model that ends in a Linear outputs its currents,
a readout with beta 0.  A readout's state is clamped at the largest |v| its input can drive it to.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import onnx
import torch
from torch import nn

from snnc.compiler.contracts import FLOAT_GRID_BITS, FLOAT_STATE_CLAMP, FLOAT_STATE_GRID_BITS, float_state_grid
from snnc.compiler.dialect import ModelWriter
from snnc.compiler.errors import SnncError
from snnc.compiler.scales import fit_bits, pow2_exact, pow2_quantize

from .snntorch_trace import Chain, reset_state, trace


def _scalar(value, what: str, where: str) -> float:
    t = torch.as_tensor(value).detach().double().flatten()
    if t.numel() and not torch.all(torch.isfinite(t)):
        raise SnncError(f"{where}: {what} must be finite, got {t[~torch.isfinite(t)][0].item()}")
    if t.numel() == 0 or not torch.all(t == t[0]):
        raise SnncError(f"{where}: per-neuron {what} is not supported (snnc's LIF has one {what} per layer)")
    return float(t[0])


def _weights(w: np.ndarray, bits: int | None, where: str, notes: list[str]) -> tuple[np.ndarray, float, int]:
    """(integer codes, power-of-two scale, width) of a synapse's weights w (float64)."""
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


def _per_channel(value, what: str, channels: int, linear: bool, where: str) -> np.ndarray:
    """A neuron parameter per output channel of the synapse before it ([channels], float64): one
    value, or one per channel (per neuron after a Linear; a conv's channel shares one, its tensor
    shaped [C, 1, 1] or [C, H, W] as it broadcasts over the channels)."""
    t = torch.as_tensor(value).detach().double().flatten().numpy()
    if not np.all(np.isfinite(t)) or t.size == 0:
        raise SnncError(f"{where}: {what} must be finite")
    fits = t.size == 1 or t.size % channels == 0 and not (linear and t.size != channels)
    if fits and np.all(t == t[0]):
        return np.full(channels, t[0])
    if not fits or np.any(np.ptp(t.reshape(channels, -1), axis=1) > 0):
        raise SnncError(f"{where}: per-neuron {what} must be one per output channel of the synapse before it "
                        f"({channels} channels, {t.size} values): the hardware holds one per channel")
    return t.reshape(channels, -1)[:, 0]


def _thresholds(lif: nn.Module, channels: int, linear: bool, where: str) -> np.ndarray:
    """The Leaky's threshold per output channel ([channels], float64); per-neuron ones cannot
    come with state_quant (its levels are absolute)."""
    t = _per_channel(lif.threshold, "thresholds", channels, linear, where)
    if np.ptp(t) > 0 and getattr(lif, "state_quant", False):
        raise SnncError(f"{where}: per-neuron thresholds with state_quant are not supported (its levels are absolute)")
    return t


OUTPUTS = ("auto", "spikes", "membrane")


def layer_grid_bits(lif: nn.Module | None, grid_bits: int | None) -> int:
    """A LIF's grid resolution: grid_bits as given, else by default FLOAT_GRID_BITS where state_quant
    levels hold the state and FLOAT_STATE_GRID_BITS for a float state (or a Linear's readout)."""
    if grid_bits is not None:
        return grid_bits
    return FLOAT_GRID_BITS if lif is not None and getattr(lif, "state_quant", False) else FLOAT_STATE_GRID_BITS


def _leaky_attrs(lif: nn.Module, theta: float, lsb_weights: float, grid_bits: int, where: str,
                 notes: list[str], channels: int, linear: bool, reach: float, readout: bool = False) -> dict:
    """The dialect LIF attributes of an snnTorch Leaky (or Synaptic) with threshold theta, on its
    grid; reach: the largest |current| of one step (a float state's clamp holds what it drives a
    synaptic current or a readout without reset to); readout: the membrane is the output."""
    if not getattr(lif, "reset_delay", True):
        raise SnncError(f"{where}: reset_delay=False is not snnTorch's default order; only reset_delay=True is supported")
    if getattr(lif, "inhibition", False):
        raise SnncError(f"{where}: inhibition is not supported")
    if _scalar(getattr(lif, "graded_spikes_factor", 1.0), "graded_spikes_factor", where) != 1.0:
        raise SnncError(f"{where}: graded spikes are not supported (graded_spikes_factor must be 1)")
    reset = {"subtract": "subtract", "zero": "zero", "none": "none"}.get(lif.reset_mechanism)
    if reset is None:
        raise SnncError(f"{where}: reset_mechanism '{lif.reset_mechanism}' is not supported (subtract, zero or none)")
    import snntorch as snn

    alpha = None
    if isinstance(lif, (snn.Synaptic, snn.RLeaky, snn.RSynaptic)) and reset == "zero":
        # their zero reset zeroes the whole new membrane, the step's input too
        raise SnncError(f"{where}: {type(lif).__name__}'s zero reset also discards the step's input; subtract or none")
    if isinstance(lif, (snn.Synaptic, snn.RSynaptic)):
        alpha = min(max(_scalar(lif.alpha, "alpha", where), 0.0), 1.0)  # clamped as snnTorch's forward
    if isinstance(lif, snn.Lapicque):
        if reset == "zero":  # its zero reset drops the step's input too: v = f(I) - reset * f(I)
            raise SnncError(f"{where}: Lapicque's zero reset also discards the step's input; only subtract is supported")
        beta = _lapicque_gain(lif, where)[1]
    else:
        betas = np.clip(_per_channel(lif.beta, "beta", channels, linear, where), 0.0, 1.0)  # as snnTorch's forward
        beta = float(betas[0]) if np.ptp(betas) == 0 else betas
    if theta <= 0:
        raise SnncError(f"{where}: threshold must be > 0, got {theta:g}")
    lsb = min(lsb_weights, float_state_grid(theta, grid_bits))
    on_grid = lambda x: np.round(np.asarray(x, np.float64) / lsb) * lsb
    theta_q = float(on_grid(theta))
    if theta_q != theta:
        notes.append(f"{where}: threshold {theta:g} rounded to the grid 2**{int(math.log2(lsb))}: {theta_q:.9g}")
    attrs = dict(beta=beta, threshold=theta_q, reset=reset, state_lsb=lsb, order="snntorch", alpha=alpha)
    quant = getattr(lif, "state_quant", False)
    if quant:
        cells = [c.cell_contents for c in (getattr(quant, "__closure__", None) or ())
                 if isinstance(c.cell_contents, torch.Tensor)]
        if len(cells) != 1:
            raise SnncError(f"{where}: state_quant is not snntorch.functional.quant.state_quant (no level table found)")
        levels32 = np.sort(cells[0].detach().float().numpy().ravel())
        levels, levels_q = levels32.astype(np.float64), matched_levels(levels32, lsb) * lsb
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
        gain = lambda leak: FLOAT_STATE_CLAMP if leak >= 1 else 1 / (1 - leak)  # v_n <= reach / (1 - leak)
        if alpha is not None:  # the synaptic current (stored on the same clamp) reaches reach / (1 - alpha)
            reach = reach * gain(alpha)
            bound = max(bound, float(on_grid(reach)))
        if readout and reset == "none":  # and a membrane that never resets, reach / (1 - beta)
            bound = max(bound, float(on_grid(reach * gain(float(np.max(beta))))))
        attrs.update(state_min=-bound, state_max=bound)
        notes.append(f"{where}: snnTorch's unbounded float state clamped to +-{bound / theta_q:g} theta")
    if readout:
        attrs["output"] = "membrane"
    return attrs


def _recurrent(lif: nn.Module | None, n: int, where: str) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(R float64 [n, n], row i weighting each neuron's spike of the step before into neuron i; its
    bias or None) of an RLeaky or RSynaptic, None for any other neuron: all_to_all's Linear, or the
    one-to-one V (one value, or one per neuron) as a diagonal."""
    import snntorch as snn

    if not isinstance(lif, (snn.RLeaky, snn.RSynaptic)):
        return None
    rec = lif.recurrent
    if isinstance(rec, nn.Linear):
        w = rec.weight.detach().double().numpy()
        if w.shape != (n, n):
            raise SnncError(f"{where}: its recurrent Linear is {list(w.shape)}, the layer has {n} neurons")
        return w, None if rec.bias is None else rec.bias.detach().double().numpy()
    if not hasattr(rec, "V"):
        raise SnncError(f"{where}: a convolutional recurrence (conv2d_channels, kernel_size) is not supported; "
                        "all_to_all with linear_features, or one-to-one (all_to_all=False)")
    v = torch.as_tensor(rec.V).detach().double().flatten().numpy()
    if v.size not in (1, n):
        raise SnncError(f"{where}: V has {v.size} values, the layer has {n} neurons")
    return np.diag(np.broadcast_to(v, (n,))), None


def _current_readout(reach: float, lsb_weights: float, grid_bits: int) -> dict:
    """The dialect LIF of a model's last Linear, whose currents are its output: beta 0, reset none,
    on the grid of the largest |current| and clamped there."""
    lsb = min(lsb_weights, float_state_grid(reach, grid_bits))
    bound = math.ceil(reach / lsb) * lsb
    return dict(beta=0.0, threshold=bound, reset="none", state_lsb=lsb, state_min=-bound, state_max=bound,
                order="snntorch", output="membrane")


def node_name(qualified: str) -> str:
    """A model's module name as a dialect node name: letters, digits and _ ("0" -> "layer0", "block.fc" -> "block_fc")."""
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in qualified)
    return f"layer{name}" if not name or name[0].isdigit() else name


def _folded(synapse: nn.Module, bn: nn.Module | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(weight, bias) float64 of a Linear or Conv2d with the BatchNorm after it folded in (inference:
    y = (x - mean) / sqrt(var + eps) * gamma + beta)."""
    w = synapse.weight.detach().double().numpy()
    b = None if synapse.bias is None else synapse.bias.detach().double().numpy()
    if bn is None:
        return w, b
    if not bn.track_running_stats or bn.running_mean is None:
        raise SnncError(f"{bn}: a BatchNorm without running statistics cannot be folded")
    gamma = bn.weight.detach().double().numpy() if bn.affine else np.ones(w.shape[0])
    shift = bn.bias.detach().double().numpy() if bn.affine else np.zeros(w.shape[0])
    g = gamma / np.sqrt(bn.running_var.detach().double().numpy() + bn.eps)
    mean = bn.running_mean.detach().double().numpy()
    return w * g.reshape((-1,) + (1,) * (w.ndim - 1)), ((b if b is not None else 0.0) - mean) * g + shift


def _lapicque_gain(lif: nn.Module, where: str) -> tuple[float, float]:
    """(input gain dt/C, beta 1 - dt/(R C)) of a Lapicque neuron: its step is
    v = I * R * (1/(R C)) * dt + (1 - dt/(R C)) * v."""
    dt, r, c = (_scalar(getattr(lif, k), k, where) for k in ("time_step", "R", "C"))
    if not (dt > 0 and r > 0 and c > 0):
        raise SnncError(f"{where}: Lapicque needs time_step, R and C above 0")
    return dt / c, 1.0 - dt / (r * c)


def _copy_recurrent(neuron: nn.Module, weight: np.ndarray, real) -> None:
    """The quantized copy's recurrent weights: its Linear's (its bias moved to the synapse before),
    or the one-to-one V's diagonal."""
    rec = neuron.recurrent
    if isinstance(rec, nn.Linear):
        rec.weight = nn.Parameter(real(weight))
        if rec.bias is not None:
            rec.bias = nn.Parameter(real(np.zeros(len(weight))))
    else:
        v = real(np.diag(weight).copy())
        rec.V = nn.Parameter(v) if isinstance(rec.V, nn.Parameter) else v


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)


def matched_levels(levels32: np.ndarray, lsb: float) -> np.ndarray:
    """snnTorch's state_quant levels (float32, ascending) as integer levels in LSB units whose
    decision boundaries, floor((L_k + L_{k+1}) / 2) (docs/spec.md section 2), are snnTorch's own on
    the grid: the last grid value that StateQuant, in float32 with ties to the first (lower) level,
    sends to level k.  A membrane on the grid exactly at a real midpoint (a spike count of weights
    from rest, say) then goes where snnTorch sends it.  Each level stays within about 2 LSB of
    snnTorch's; the first is rounded whichever way keeps the set closest."""
    real = levels32.astype(np.float64) / lsb
    bounds = []
    for lo, hi in zip(levels32[:-1], levels32[1:]):
        mid = math.floor((float(lo) + float(hi)) / 2 / lsb)
        grid = np.arange(mid - 3, mid + 4)
        v = (grid * lsb).astype(np.float32)
        upper = np.abs(hi - v) < np.abs(lo - v)  # float32, as StateQuant: ties keep the lower level
        bounds.append(int(grid[~upper].max()) if (~upper).any() else mid - 4)
    best = None
    for first in (math.floor(real[0]), math.ceil(real[0])):
        lv = [first]
        for k, b in enumerate(bounds):  # L_{k+1} = 2 B_k + e - L_k, e in {0, 1}: floor((L_k + L_{k+1})/2) = B_k
            lv.append(min((2 * b + e - lv[-1] for e in (0, 1)), key=lambda n: abs(n - real[k + 1])))
        lv = np.array(lv, np.int64)
        valid = np.all(np.diff(lv) > 0) and np.all(lv[:-1] <= bounds) and np.all(np.array(bounds) < lv[1:])
        if valid and (best is None or np.abs(lv - real).max() < np.abs(best - real).max()):
            best = lv
    return best if best is not None else np.round(real).astype(np.int64)


def readout_kind(chain: Chain, output: str) -> bool:
    """Whether the model's output is a membrane (a readout): output "membrane", a chain that ends in
    a Linear, or "auto" with a last Leaky whose reset_mechanism is "none"."""
    if output not in OUTPUTS:
        raise SnncError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    last = [s for s in chain.steps if s.kind in ("synapse", "neuron")][-1]
    if last.kind == "synapse":
        if output == "spikes":
            raise SnncError(f"{last.label}: the model ends in a Linear, whose output is currents, not spikes")
        return True
    return output == "membrane" or output == "auto" and last.module.reset_mechanism == "none"


def to_dialect(module: nn.Module, example_input: torch.Tensor, bits: int | None = None,
               grid_bits: int | None = None, output: str = "auto"
               ) -> tuple[onnx.ModelProto, Chain, nn.Module, nn.Module, list[str]]:
    """(the dialect model, the chain of layers, the model as the user gave it and the copy with
    the weights the dialect model uses, both in eval mode, notes).  output: see readout_kind."""
    import snntorch as snn

    reset_state(module)  # a trained model's hidden states hang on its last graph: they cannot be copied
    original = copy.deepcopy(module).eval()
    quantized = copy.deepcopy(module).eval()
    chain = trace(original, example_input)
    readout = readout_kind(chain, output)
    steps, notes = chain.steps, []
    writer = ModelWriter(chain.input_shape)
    by_name = dict(quantized.named_modules())
    scale = None  # the weight step of the synapse waiting for its LIF
    own_q = None  # its recurrent weights (integer [n, n]), for an RLeaky or RSynaptic
    for i, step in enumerate(steps):
        where = step.label
        later = [s for s in steps[i + 1:] if s.kind in ("synapse", "neuron")]
        if step.kind == "synapse":
            layer = step.module
            bn = steps[i + 1].module if i + 1 < len(steps) and steps[i + 1].kind == "batchnorm" else None
            w, bias = _folded(layer, bn)
            linear = isinstance(layer, nn.Linear)
            if bn is not None:
                notes.append(f"{where}: {steps[i + 1].name} (BatchNorm) folded into its weights and bias")
            lif = later[0].module if later and later[0].kind == "neuron" else None
            gain = _lapicque_gain(lif, later[0].name)[0] if isinstance(lif, snn.Lapicque) else 1.0
            thetas = np.ones(w.shape[0])
            if lif is not None:  # per-neuron thresholds: each neuron's input times max(theta) / theta
                thetas = _thresholds(lif, w.shape[0], linear, later[0].name)
                if np.any(thetas <= 0):
                    raise SnncError(f"{later[0].name}: threshold must be > 0, got {thetas.min():g}")
            ratio = (thetas.max() / thetas).reshape((-1,) + (1,) * (w.ndim - 1))
            n_in, own = w.shape[1], _recurrent(lif, w.shape[0], later[0].label if later else where)
            if own is not None:  # one weight matrix over the inputs and the layer's own spikes (one scale)
                w = np.hstack([w, own[0]])
                bias = own[1] if bias is None else bias + (0 if own[1] is None else own[1])
            q, scale, width = _weights(w * gain * ratio, bits, where, notes)
            bias = None if bias is None else bias * gain * ratio.reshape(-1)
            reach = float(np.max(np.abs(q * scale).reshape(q.shape[0], -1).sum(axis=1)
                                 + (0 if bias is None else np.abs(bias))))
            q, own_q = (q[:, :n_in], q[:, n_in:]) if own is not None else (q, None)  # reach counted both
            bits_here = layer_grid_bits(lif, grid_bits)
            grid = min(scale, float_state_grid(float(thetas.max()) if later else reach, bits_here))
            if bias is not None:  # on the LIF's grid, as snnc stores it (the copy then holds it too)
                rounded = np.round(bias / grid) * grid
                bias, error = rounded, np.abs(rounded - bias).max()
                if error:
                    notes.append(f"{where}: biases rounded to the grid 2**{int(math.log2(grid))}, max abs error {error:.3g}")
            copy_layer = by_name[step.name]
            real = lambda x: torch.from_numpy(x).to(layer.weight.dtype)
            with torch.no_grad():  # snnTorch runs the copy with the very weights and biases snnc stores
                copy_layer.weight = nn.Parameter(real(q * scale / ratio / gain))
                if bias is not None:  # the whole bias (a recurrent Linear's included) on the synapse
                    copy_layer.bias = nn.Parameter(real(bias / ratio.reshape(-1) / gain))
                if own_q is not None:
                    _copy_recurrent(by_name[later[0].name], own_q * scale / ratio, real)
            if bn is not None:
                _replace(quantized, steps[i + 1].name, nn.Identity())
            if np.any(ratio != 1):
                notes.append(f"{where}: per-neuron thresholds made {thetas.max():g} by scaling each neuron's weights and bias")
            if isinstance(layer, nn.Linear):
                writer.dense(q.T, scale, width, bias, name=node_name(step.name))
                if not later:  # the model's last Linear: its currents are the output
                    writer.lif(**_current_readout(reach, scale, bits_here), name=node_name(step.name) + "_readout")
                    notes.append(f"{where}: its currents are the output, a readout (beta 0)")
            else:
                writer.conv2d(q, scale, width, bias, stride=_conv_stride(layer, where),
                              padding=_conv_padding(layer, where), name=node_name(step.name))
        elif step.kind == "pool":
            kind, kernel, stride, padding = step.pool or (
                "max" if isinstance(step.module, nn.MaxPool2d) else "avg", step.module.kernel_size,
                step.module.stride, step.module.padding)
            k, s = _square(kernel, where, "kernel"), _square(stride or kernel, where, "stride")
            if k != s or _square(padding, where, "padding") != 0:
                raise SnncError(f"{where}: pools need a square window equal to the stride and no padding")
            writer.pool(kind, k, name=node_name(step.name))
        elif step.kind == "flatten":
            writer.flatten(name=node_name(step.name))
        elif step.kind == "neuron":
            if scale is None:
                raise SnncError(f"{where}: a neuron must follow a Linear or Conv2d")
            last = not any(s.kind in ("neuron", "synapse") for s in steps[i + 1:])  # the output layer
            if own_q is not None and readout and last:
                raise SnncError(f"{where}: a recurrent layer's output must be spikes, not a membrane readout")
            writer.lif(**_leaky_attrs(step.module, float(thetas.max()), scale, bits_here, where, notes,
                                      len(thetas), linear, reach, readout and last),
                       name=node_name(step.name), recurrent=None if own_q is None else own_q.T, recurrent_scale=scale,
                       recurrent_bits=width)
        elif step.kind == "dropped":
            notes.append(f"{where}: dropped (a no-op at inference)")
        elif step.kind == "batchnorm" and (i == 0 or steps[i - 1].kind != "synapse"):
            raise SnncError(f"{where}: a BatchNorm must follow a Linear or Conv2d (it is folded into it)")
    return writer.model(), chain, original, quantized, notes


def _square(value, where: str, what: str) -> int:
    values = {value} if isinstance(value, int) else set(value)
    if len(values) != 1:
        raise SnncError(f"{where}: only a square {what} is supported, got {value}")
    return values.pop()


def _conv_stride(layer: nn.Conv2d, where: str) -> int:
    if set(layer.dilation) != {1} or layer.groups != 1:
        raise SnncError(f"{where}: dilation and groups are not supported")
    return _square(layer.stride, where, "stride")


def _conv_padding(layer: nn.Conv2d, where: str) -> int:
    """A square zero padding: numbers, 'valid' (0) or 'same' at stride 1 with odd square kernels,
    as the NIR importer takes them."""
    if layer.padding_mode != "zeros":
        raise SnncError(f"{where}: padding_mode '{layer.padding_mode}' is not supported (zeros)")
    if layer.padding == "valid":
        return 0
    if layer.padding == "same":
        kh, kw = layer.kernel_size
        if _square(layer.stride, where, "stride") != 1 or kh != kw or kh % 2 == 0:
            raise SnncError(f"{where}: padding 'same' is supported with stride 1 and an odd square kernel, "
                            f"got kernel {layer.kernel_size}")
        return kh // 2
    return _square(layer.padding, where, "padding")


def from_snntorch(*args, **kwargs):
    """snnc.interop.from_snntorch, by the name the front end has always given it (it compiles and
    runs the golden model, so it lives downstream of them)."""
    from snnc.interop import from_snntorch as check

    return check(*args, **kwargs)
