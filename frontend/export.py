"""Export an `SNN` to the snnc ONNX dialect (docs/spec.md section 3).

Quantized synapses become INT4/INT8 initializers with a power-of-two DequantizeLinear scale; float
synapses stay float (then `snnc compile --bits N` quantizes them).  Each LIF becomes an `snnc.LIF`
node with its grid (`state_lsb`), its rounded beta and threshold, and its level set or clamp range,
the values the model computed with in eval mode.  The file carries the `snnc.LIF` model-local
function, so onnxruntime runs it; with `check=True` the export runs it on random spikes and
refuses to finish unless onnxruntime reproduces the model's spikes exactly.
"""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from snnc.compiler.dialect import ModelWriter
from snnc.compiler.errors import SnncError
from snnc.compiler.scales import weight_range

from .layers import SNN, Pool2d, QuantConv2d, QuantLinear, QuantSynapse
from .lif import LIF



def _is_pow2(x: float) -> bool:
    return x > 0 and math.frexp(x)[0] == 0.5


def _input_shape(model: SNN, input_shape: tuple[int, ...] | None) -> tuple[int, ...]:
    first = model[0] if len(model) else None
    if input_shape is not None:
        return tuple(input_shape)
    if isinstance(first, QuantLinear):
        return (first.in_features,)
    raise SnncError("export_onnx: give input_shape (C, H, W) for a model that starts with a convolution")


def _check_structure(model: SNN) -> None:
    layers = list(model.named_children())
    if not layers or not isinstance(layers[-1][1], LIF):
        raise SnncError("export_onnx: the model must end with a LIF layer")
    for i, (name, layer) in enumerate(layers):
        if isinstance(layer, LIF):
            before = layers[i - 2][1] if i > 1 and isinstance(layers[i - 1][1], Pool2d) else layers[i - 1][1] if i else None
            if not isinstance(before, QuantSynapse):
                raise SnncError(f"layer '{name}' (LIF): must follow a QuantLinear or QuantConv2d (and its Pool2d)")
        elif isinstance(layer, nn.Flatten):
            if layer.start_dim != 2 or layer.end_dim != -1:
                raise SnncError(f"layer '{name}' (Flatten): only Flatten(start_dim=2) keeps the [T, B] axes")
        elif isinstance(layer, Pool2d):
            before = layers[i - 1][1] if i else None
            if not isinstance(before, (QuantConv2d, LIF)) or i + 1 == len(layers):
                raise SnncError(f"layer '{name}' (Pool2d): pools the currents of a QuantConv2d or the spikes of a "
                                "LIF, and a LIF must come after it")
            if layer.divisor & (layer.divisor - 1) and layer.kind == "avg":
                raise SnncError(f"layer '{name}' (Pool2d): an average over {layer.divisor} values is not exact on a "
                                "power-of-two grid; use kernel 2 or 4, or max pooling")
        elif isinstance(layer, QuantLinear) and layer.recurrent and not (
                i + 1 < len(layers) and isinstance(layers[i + 1][1], LIF) and layers[i + 1][1].output == "spikes"):
            raise SnncError(f"layer '{name}' (QuantLinear): a recurrent synapse must feed its spiking LIF directly")
        elif not isinstance(layer, QuantSynapse):
            raise SnncError(f"layer '{name}' ({type(layer).__name__}): not expressible in the snnc dialect "
                            "(use QuantLinear, QuantConv2d, Pool2d, nn.Flatten(start_dim=2), LIF)")


def _synapse_arrays(name: str, syn: QuantSynapse):
    """(weights, scale or None, bits or None, bias or None) as numpy, integers when quantized."""
    with torch.no_grad():
        w, b, q, scale = syn.quantized_weight()
    bias = None if b is None else b.detach().double().numpy()
    if q is None:
        return w.detach().double().numpy(), None, None, bias
    if not _is_pow2(scale):
        raise SnncError(f"layer '{name}' ({type(syn).__name__}): weight scale {scale:g} is not a power of "
                        "two, so the dialect cannot hold its weights exactly")
    q = q.detach().numpy().astype(np.int64)
    bits = 4 if np.abs(q).max(initial=0) <= weight_range(4)[1] else 8
    return q, scale, bits, bias


def _write_lif(writer: ModelWriter, name: str, lif: LIF, own: dict) -> None:
    """own: a recurrent synapse's weights of the LIF's own spikes (ModelWriter.lif's recurrent*), or {}."""
    common = dict(name=name, order=lif.order, output=lif.output, alpha=lif.alpha, **own)
    if not lif.quantized:
        writer.lif(lif.beta, lif.threshold, lif.reset, **common)
        return
    lsb, lv = lif.lsb, lif.integer_levels()
    if lv is None:
        lo, hi = lif.state_bounds()
        writer.lif(lif.beta, lif.theta_q, lif.reset, state_lsb=lsb, state_min=lo, state_max=hi, **common)
    else:
        writer.lif(lif.beta, lif.theta_q, lif.reset, state_lsb=lsb, state_quant=lif.state_quant,
                   state_levels=lv * lsb, **common)


def model_to_onnx(model: SNN, timesteps: int, input_shape: tuple[int, ...] | None = None) -> onnx.ModelProto:
    """The dialect model of `model` as it computes in eval mode."""
    _check_structure(model)
    shape = _input_shape(model, input_shape)
    was_training = model.training
    model.eval()
    with torch.no_grad():  # one pass to let every LIF learn its grid from its synapse
        model(torch.zeros(timesteps, 1, *shape))
    writer = ModelWriter(shape, name="snnc_export")
    own = {}  # a recurrent QuantLinear's last columns, for the LIF after it
    for name, layer in model.named_children():
        if isinstance(layer, QuantSynapse):
            w, scale, bits, bias = _synapse_arrays(name, layer)
            if isinstance(layer, QuantLinear) and layer.recurrent:
                n_in = layer.in_features
                own = dict(recurrent=w[:, n_in:].T, recurrent_scale=scale if scale is not None else 1.0,
                           recurrent_bits=bits)
                w = w[:, :n_in]
            if isinstance(layer, QuantLinear):
                writer.dense(w.T, scale if scale is not None else 1.0, bits, bias, name=name)
            else:
                writer.conv2d(w, scale if scale is not None else 1.0, bits, bias, layer.stride, layer.padding, name=name)
        elif isinstance(layer, nn.Flatten):
            writer.flatten(name=name)
        elif isinstance(layer, Pool2d):
            writer.pool(layer.kind, layer.kernel, name=name)
        else:
            _write_lif(writer, name, layer, own)
            own = {}
    model.train(was_training)
    proto = writer.model()
    onnx.helper.set_model_props(proto, {"snnc.timesteps": str(timesteps)})
    return proto


def export_onnx(model: SNN, path: str | Path, timesteps: int, input_shape: tuple[int, ...] | None = None,
                check: bool = True, seed: int = 0) -> Path:
    """Write `model` to `path` in the snnc dialect.  Checks the file with onnx.checker (full check)
    and, for a fully quantized model with check=True, that onnxruntime's spikes on random input
    [timesteps, 4, *input_shape] equal the model's own in eval mode.  Returns the path."""
    path = Path(path)
    proto = model_to_onnx(model, timesteps, input_shape)
    onnx.checker.check_model(proto, full_check=True)
    exact = all(lif.quantized for lif in model.lifs()) and all(s.quantizer is not None for s in model.synapses())
    if check and exact:
        _check_against_onnxruntime(model, proto, timesteps, seed)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:  # write then rename, so a failed export leaves no half-written file
        onnx.save(proto, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _check_against_onnxruntime(model: SNN, proto: onnx.ModelProto, timesteps: int, seed: int) -> None:
    import onnxruntime as ort

    shape = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim[2:]]
    x = (np.random.default_rng(seed).random((timesteps, 4, *shape)) < 0.3).astype(np.float32)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {proto.graph.input[0].name: x})[0]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    model.train(was_training)
    if not np.array_equal(got, want):
        raise SnncError(f"export_onnx: onnxruntime disagrees with the model on {int((got != want).sum())} "
                        "spikes; the model has values the dialect cannot hold exactly")
